"""A request's examples as the raw values the model takes, with a 400 naming the field for anything else.

TensorFlow Serving's two request formats are read:

    {"instances": [{"sepal_length": 5.1, "sepal_width": 3.5, ...}, ...]}          # row format
    {"inputs": {"sepal_length": [5.1, 4.9], "sepal_width": [3.5, 3.0], ...}}     # columnar format

An example gives each feature under its name, or under the source columns it
was trained from (a row of the training table, as `modelctl predict` reads
it). By the kind of its feature type:

- numbers (numeric features): a number, a list of the feature's width (nested
  to its shape or flat), or one number per column; null is a missing value;
- files (image features): `{"b64": "..."}` as TensorFlow Serving writes binary
  values, a base64 string or a `data:` URL, decoded here (never a server path),
  of at most `max_pixels` pixels (checked from the header, before decoding);
- text (categorical, text and other features): a string, `{"b64": "..."}` (UTF-8
  text, as TensorFlow Serving decodes it for every string input), or a number
  written as text the way a CSV cell is read (3.0 -> '3'); null is the empty
  string.

A number outside float32's range (the model's type) is refused at its path, as
is a lone UTF-16 surrogate in a string, and a key of the body that is none of
TensorFlow Serving's (`signature_nme`). A feature given both whole and by its
columns, or both in `context` and in an example, is refused rather than one
silently winning. A request of more than `max_rows` examples is refused with
413 before any of them is checked.

A model with one feature also takes bare values: `{"instances": [[5.1, 3.5,
1.4, 0.2]]}`, `{"inputs": [...]}`. Each request's values are checked when it
is read (`InputReader.read` gives them as source columns); the columns of a
batch of requests are then encoded together by each feature's type
(`InputReader.values`), exactly as `modelctl predict` encodes a table's
columns, so the server answers what `predict` answers on the same rows.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import io
import math
import re

import numpy as np

from modelctl.errors import ModelctlError, did_you_mean, json_path, one_of
from modelctl.serve.errors import RequestError

NUMBERS, FILES, TEXT = "numbers", "files", "text"
"""How a feature's values are written in a request (see the module docstring)."""

_MODES = {1: "L", 3: "RGB", 4: "RGBA"}
"""Pillow's mode for each number of channels an image feature decodes to."""

_DATA_URL = re.compile(r"^data:[^,;]*(;[^,;]*)*;base64,", re.IGNORECASE)

FLOAT32_MAX = float(np.finfo(np.float32).max)
"""The largest number a float32 input holds; a larger one would reach the model as infinity."""

SIGNATURE = "serving_default"
"""The one signature a served model has (TensorFlow Serving's default name)."""

DEFAULT_MAX_ROWS = 10_000
"""Most examples in one request, unless the server is told otherwise (`--max-rows`)."""

PIXELS_PER_INPUT = 16
MIN_MAX_PIXELS = 1024 * 1024
"""The default pixel limit of an image: `PIXELS_PER_INPUT` times the model's input size, and at least
`MIN_MAX_PIXELS` (a megapixel decodes in milliseconds)."""

_OBJECT_REPR = re.compile(r"<[\w.]+ object at 0x[0-9a-fA-F]+>")


@dataclasses.dataclass(frozen=True)
class Field:
    """One feature as a request gives it.

    Args:
        name: the feature's name.
        type: its feature type (`numeric`).
        kind: `numbers`, `files` or `text`.
        columns: the source columns it was trained from, in order.
        width: numbers per example (`numbers` features), else 1.
        shape: the shape of one example's numbers when the spec gives one, else None.
        required: for `numbers`, whether a missing value is refused (the feature's `missing.strategy` is
            `error` or `drop`).
        choices: the values the model knows (a categorical feature's vocabulary), else None.
        channels: for `files`, the color channels images are decoded to (1, 3 or 4), else None.
        size: for `files`, the (height, width) images are resized to, else None.
    """

    name: str
    type: str
    kind: str
    columns: tuple[str, ...]
    width: int = 1
    shape: tuple | None = None
    required: bool = False
    choices: tuple[str, ...] | None = None
    channels: int | None = None
    size: tuple[int, int] | None = None

    def describe(self) -> str:
        """What a value of this feature is, for messages."""
        if self.kind == NUMBERS:
            return "a number" if self.width == 1 else f"a list of {self.width} numbers"
        if self.kind == FILES:
            return "an image as {\"b64\": \"...\"}, a base64 string or a data: URL"
        return "a string (or {\"b64\": \"...\"} of UTF-8 text)"

    def as_dict(self) -> dict:
        """What the metadata route and the page say about the feature."""
        described = {"type": self.type, "kind": self.kind, "columns": list(self.columns)}
        if self.kind == NUMBERS:
            described.update(width=self.width, shape=list(self.shape) if self.shape else None,
                             missing_allowed=not self.required)
        if self.choices is not None:
            described["choices"] = list(self.choices)
        return described


def fields(features: dict, fitted) -> dict[str, Field]:
    """Feature name -> `Field`, from the spec's features and the fitted preprocessing (`modelctl.runs.Fitted`)."""
    from modelctl.features import feature_type

    found = {}
    for name, options in features.items():
        entry = fitted.features[name].entry
        kind_of = feature_type(entry.get("type", options["type"]))
        columns = tuple(entry.get("columns") or [entry.get("column") or options.get("column") or name])
        kind = NUMBERS if kind_of.column_type == "float" else FILES if kind_of.reads_named_files else TEXT
        strategy = (options.get("missing") or {}).get("strategy", "error")
        width = int(entry.get("width", len(columns))) if kind == NUMBERS else 1
        vocabulary = entry.get("vocabulary") if kind_of.name == "categorical" else None
        found[name] = Field(name, kind_of.name, kind, columns, width, tuple(entry["shape"]) if entry.get("shape")
                            else None, strategy in ("error", "drop"), tuple(vocabulary) if vocabulary else None,
                            int(entry.get("channels", 3)) if kind == FILES else None,
                            tuple(entry["size"]) if kind == FILES and entry.get("size") else None)
    return found


class InputReader:
    """Reads requests for one model.

    Args:
        features: the spec's `data.features`.
        fitted: the fitted preprocessing (`modelctl.runs.Fitted`, or the JSON of a run's).
        max_rows: most examples in one request (default `DEFAULT_MAX_ROWS`); more are refused with 413.
        max_pixels: most pixels in one image; default None: `PIXELS_PER_INPUT` times the model's input size, at
            least `MIN_MAX_PIXELS` (see `pixel_limit`).
    """

    def __init__(self, features: dict, fitted, *, max_rows: int = DEFAULT_MAX_ROWS,
                 max_pixels: int | None = None):
        from modelctl.data.columns import ColumnPlan
        from modelctl.runs import Fitted

        self.features = features
        self.fitted = fitted = Fitted.from_json(fitted, source="the fitted preprocessing given")
        self.max_rows = max_rows
        self.fields = fields(features, fitted)
        self.max_pixels = max_pixels if max_pixels is not None else pixel_limit(self.fields)
        resolved = {name: {**features[name], "columns": list(field.columns)} if field.kind == NUMBERS
                    else {**features[name], "column": field.columns[0]} for name, field in self.fields.items()}
        self.source_columns = list(dict.fromkeys(column for field in self.fields.values()
                                                 for column in field.columns))
        self.plan = ColumnPlan({"features": resolved}, self.source_columns, "request")
        self.keys = list(dict.fromkeys([*self.fields, *self.source_columns]))

    def read(self, body: dict, rows_key: str = "instances") -> tuple[dict[str, np.ndarray], int, str]:
        """The source columns of a request body's examples (checked; `values` encodes them), their count, and the
        format (`row` or `columnar`).

        Args:
            body: the parsed JSON body.
            rows_key: the key of the row format (`instances`; `examples` for classify and regress).

        Raises:
            RequestError: anything the model cannot take, naming the field; 413 for more than `max_rows`
                examples.
        """
        if not isinstance(body, dict):
            raise RequestError("$", f"expected a JSON object with '{rows_key}' or 'inputs'; received "
                                    f"{_kind(body)}")
        known = sorted({rows_key, "inputs", "context", "signature_name"})
        unknown = next((key for key in body if key not in known), None)
        if unknown is not None:  # a misspelt key would otherwise be ignored, and its values with it
            raise RequestError(json_path([unknown]), f"'{unknown}' is not a key of the request. Expected "
                                                     f"{one_of(known)}.{did_you_mean(unknown, known)}")
        given = [key for key in (rows_key, "inputs") if key in body]
        if len(given) != 1:
            what = "both" if given else "neither"
            raise RequestError("$", f"expected exactly one of '{rows_key}' (row format) or 'inputs' (columnar "
                                    f"format); received {what}")
        signature = body.get("signature_name", SIGNATURE)
        if signature == "":  # the default, as TensorFlow Serving reads it
            signature = SIGNATURE
        if not isinstance(signature, str):
            raise RequestError("$.signature_name", f"expected a signature's name (a string) such as '{SIGNATURE}'; "
                                                   f"received {_kind(signature)}")
        if signature != SIGNATURE:
            shown = repr(signature) if len(signature) <= 40 else repr(signature[:40]) + "..."
            raise RequestError("$.signature_name", f"no signature {shown}; this model's only signature is "
                                                   f"'{SIGNATURE}'")
        try:
            if given[0] == "inputs":
                rows = self._columnar(body["inputs"])
                return self.columns(rows, self._columnar_path), len(rows), "columnar"
            rows = self._rows(body[rows_key], rows_key, body.get("context"))
            return self.columns(rows, lambda index, key: json_path([rows_key, index, key])), len(rows), "row"
        except RecursionError:
            raise RequestError("$", "the body is nested too deeply") from None

    def _check_count(self, count: int, key: str) -> None:
        if count > self.max_rows:
            raise RequestError(json_path([key]), f"{count} examples, over the limit of {self.max_rows} per request "
                                                 "(the server's --max-rows); send them in several requests", 413)

    def _rows(self, instances, key: str, context=None) -> list[dict]:
        if not isinstance(instances, list) or not instances:
            raise RequestError(json_path([key]), f"expected a non-empty list of examples; received "
                                                 f"{_kind(instances)}")
        self._check_count(len(instances), key)
        if context is not None and not isinstance(context, dict):
            raise RequestError("$.context", f"expected an object of feature values shared by every example; "
                                            f"received {_kind(context)}")
        rows = []
        for index, instance in enumerate(instances):
            if len(self.fields) == 1 and (not isinstance(instance, dict) or set(instance) == {"b64"}):
                instance = {next(iter(self.fields)): instance}
            elif not isinstance(instance, dict):
                raise RequestError(json_path([key, index]), f"expected an object of feature values (features "
                                                            f"{one_of(self.fields)}); received {_kind(instance)}")
            if context:
                both = next((name for name in instance if name in context), None)
                if both is not None:
                    raise RequestError(json_path([key, index, both]), f"'{both}' is given both in 'context' and in "
                                                                      "the example; give it in one of them")
                instance = {**context, **instance}
            rows.append(instance)
        return rows

    def _columnar(self, inputs) -> list[dict]:
        if len(self.fields) == 1 and not isinstance(inputs, dict):
            inputs = {next(iter(self.fields)): inputs}
        if not isinstance(inputs, dict) or not inputs:
            raise RequestError("$.inputs", f"expected an object of feature -> list of values (features "
                                           f"{one_of(self.fields)}); received {_kind(inputs)}")
        count = None
        for key, values in inputs.items():
            if not isinstance(values, list) or not values:
                raise RequestError(json_path(["inputs", key]), f"expected a non-empty list with one value per "
                                                               f"example; received {_kind(values)}")
            if count is None:
                count = len(values)
                self._check_count(count, "inputs")
            elif len(values) != count:
                raise RequestError(json_path(["inputs", key]), f"expected {count} values (one per example, as "
                                                               f"the first input has); received {len(values)}")
        return [{key: values[index] for key, values in inputs.items()} for index in range(count)]

    @staticmethod
    def _columnar_path(index: int, key: str) -> str:
        return json_path(["inputs", key, index])

    def values(self, columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The model's raw values for checked source columns (of one request or of several concatenated), each
        feature encoded by its type as `modelctl predict` encodes a table's columns.

        Raises:
            RequestError: a value the feature's type refuses while encoding.
        """
        from modelctl.data.columns import encode_features

        count = len(next(iter(columns.values())))
        try:
            values, _ = encode_features(self.plan.features, self.fitted, columns, numbers=np.arange(1, count + 1),
                                        on_bad_rows="error", skipped={})
        except ModelctlError as error:
            raise RequestError("$", str(error)) from None
        return values

    def columns(self, rows: list[dict], where) -> dict[str, np.ndarray]:
        """The source columns of `rows` (key -> JSON value each), every value checked; `where(index, key)` is a
        value's path.

        Raises:
            RequestError: an unknown key, a missing feature, a feature given twice, a value of the wrong type or
                shape.
        """
        count = len(rows)
        batch = {column: None for column in self.source_columns}
        numbers = {column: np.empty(count, dtype=np.float64) for field in self.fields.values()
                   if field.kind == NUMBERS for column in field.columns}
        objects = {column: np.empty(count, dtype=object) for field in self.fields.values()
                   if field.kind != NUMBERS for column in field.columns}
        for index, row in enumerate(rows):
            self._check_keys(row, index, where)
            for field in self.fields.values():
                if field.kind == NUMBERS:
                    self._numbers(field, row, index, where=where, numbers=numbers)
                else:
                    key = self._key(field, row, index, where=where)
                    objects[field.columns[0]][index] = _value(field, row[key], where(index, key),
                                                              max_pixels=self.max_pixels)
        batch.update(numbers)
        batch.update(objects)
        return batch

    def _check_keys(self, row: dict, index: int, where) -> None:
        unknown = [key for key in row if key not in self.fields and key not in self.source_columns]
        if unknown:
            key = unknown[0]
            raise RequestError(where(index, key), f"'{key}' is not a feature of the model. Expected "
                                                  f"{one_of(self.keys)}.{did_you_mean(key, self.keys)}")

    def _key(self, field: Field, row: dict, index: int, *, where) -> str:
        if field.name in row and field.columns[0] != field.name and field.columns[0] in row:
            raise RequestError(where(index, field.columns[0]), _given_twice(field, field.columns[0]))
        for key in (field.name, field.columns[0]):
            if key in row:
                return key
        also = f" (or its column '{field.columns[0]}')" if field.columns[0] != field.name else ""
        raise RequestError(where(index, field.name), f"missing feature '{field.name}'{also}: expected "
                                                     f"{field.describe()}")

    def _numbers(self, field: Field, row: dict, index: int, *, where, numbers: dict) -> None:
        if len(field.columns) != field.width:  # one column holding a vector (an NPZ array), which JSON rows lack
            raise RequestError(where(index, field.name), f"feature '{field.name}' reads {field.width} numbers from "
                                                         "one column, which a JSON request cannot give")
        if field.name in row and field.columns != (field.name,):
            both = next((column for column in field.columns if column in row), None)
            if both is not None:
                raise RequestError(where(index, both), _given_twice(field, both))
        if field.name in row:
            path, value = where(index, field.name), row[field.name]
            flat = _flatten(value) if isinstance(value, list) else [value]
            if len(flat) != field.width or (field.width > 1 and not isinstance(value, list)) or \
                    not _fits_shape(value, field):
                shape = f" (shape {list(field.shape)}, or flat)" if field.shape else ""
                received = (f"a list of {len(flat)} numbers" if len(flat) != field.width
                            else f"a list of shape {_shape(value)}") if isinstance(value, list) else _kind(value)
                raise RequestError(path, f"expected {field.describe()}{shape} for feature '{field.name}'; "
                                         f"received {received}")
            scalar = not isinstance(value, list)
            for offset, (column, item) in enumerate(zip(field.columns, flat)):
                numbers[column][index] = _number(field, item, lambda: path if scalar else f"{path}[{offset}]")
            return
        missing = [column for column in field.columns if column not in row]
        if missing:
            columns = (f"columns {', '.join(field.columns)}" if len(field.columns) > 1
                       else f"column '{field.columns[0]}'")
            shown = field.name if len(missing) == len(field.columns) else missing[0]
            raise RequestError(where(index, shown), f"missing feature '{field.name}': expected {field.describe()} "
                                                    f"under '{field.name}', or its {columns}")
        for column in field.columns:
            numbers[column][index] = _number(field, row[column], lambda: where(index, column))


def pixel_limit(found: dict[str, Field]) -> int:
    """The default `max_pixels` for a model's fields: `PIXELS_PER_INPUT` times its largest image input, and at
    least `MIN_MAX_PIXELS`."""
    sizes = [field.size[0] * field.size[1] for field in found.values() if field.kind == FILES and field.size]
    return max([MIN_MAX_PIXELS, *(PIXELS_PER_INPUT * size for size in sizes)])


def _given_twice(field: Field, column: str) -> str:
    return (f"feature '{field.name}' is given both whole ('{field.name}') and by its column '{column}'; give it "
            "one way")


def _flatten(value) -> list:
    flat = []
    for item in value:
        if isinstance(item, list):
            flat.extend(_flatten(item))
        else:
            flat.append(item)
    return flat


def _shape(value) -> list[int] | None:
    """The shape of a nested list of scalars, or None when it is ragged."""
    if not isinstance(value, list):
        return []
    inner = [_shape(item) for item in value]
    if any(shape is None or shape != inner[0] for shape in inner):
        return None
    return [len(value), *(inner[0] if inner else [])]


def _fits_shape(value, field: Field) -> bool:
    """Whether a list is flat, or nested exactly as the feature's shape (a `[[5.1], [3.5]]` for a flat feature of
    two numbers is neither)."""
    if not isinstance(value, list) or not any(isinstance(item, list) for item in value):
        return True
    return field.shape is not None and _shape(value) == list(field.shape)


def _number(field: Field, value, where) -> float:
    """One number of a `numbers` feature; `where()` gives its path, asked only for a message."""
    if type(value) is float and -FLOAT32_MAX <= value <= FLOAT32_MAX:
        return value
    path = where()
    if value is None:
        if field.required:
            raise RequestError(path, f"a missing value (null), and feature '{field.name}' takes no missing values "
                                     "(its missing.strategy is error or drop); expected a number")
        return math.nan
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RequestError(path, f"expected a number for feature '{field.name}'; received {_kind(value)}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise RequestError(path, f"expected a finite number for feature '{field.name}'; received {_kind(value)}")
    if abs(number) > FLOAT32_MAX:
        raise RequestError(path, f"{_kind(value)} is outside the range of the model's float32 inputs (at most "
                                 f"{FLOAT32_MAX:.6g} in size) for feature '{field.name}'")
    return number


def _value(field: Field, value, path: str, *, max_pixels: int):
    """One value of a `files` or `text` feature, as the feature type's `encode` reads a table cell."""
    if field.kind == FILES:
        return _image(field, value, path, max_pixels=max_pixels)
    if value is None:
        return ""
    if isinstance(value, dict) and set(value) == {"b64"}:
        return _b64_text(field, value["b64"], f"{path}.b64")
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise RequestError(path, f"expected {field.describe()} for feature '{field.name}'; received {_kind(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise RequestError(path, f"expected a string for feature '{field.name}'; received {value!r}")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**63:
        raise RequestError(path, f"expected a string for feature '{field.name}'; received a number too large")
    if isinstance(value, str):
        _check_unicode(value, path, field)
    return value


def _check_unicode(text: str, path: str, field: Field) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        character = text[error.start]
        raise RequestError(path, f"feature '{field.name}': not valid Unicode text: a lone UTF-16 surrogate "
                                 f"(\\u{ord(character):04x}) at character {error.start}") from None


def _b64_text(field: Field, value, path: str) -> str:
    if not isinstance(value, str):
        raise RequestError(path, f"expected base64 text for feature '{field.name}'; received {_kind(value)}")
    try:
        return base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):  # UnicodeDecodeError is a ValueError
        raise RequestError(path, f"feature '{field.name}': not base64 of UTF-8 text; expected "
                                 f"{field.describe()}") from None


def _image(field: Field, value, path: str, *, max_pixels: int) -> io.BytesIO:
    """The bytes of an image value, checked to decode (so the feature's decoder cannot fail on them), after its
    header showed it is at most `max_pixels` pixels."""
    if isinstance(value, dict) and set(value) == {"b64"}:
        value, path = value["b64"], f"{path}.b64"
    if not isinstance(value, str):
        raise RequestError(path, f"expected {field.describe()} for feature '{field.name}'; received {_kind(value)}")
    text = _DATA_URL.sub("", value, count=1)
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise RequestError(path, f"feature '{field.name}': not valid base64; expected {field.describe()}") from None
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if width * height > max_pixels:
                raise RequestError(path, f"feature '{field.name}': an image of {width}x{height} pixels "
                                         f"({width * height:,}), over the limit of {max_pixels:,} (the server's "
                                         f"--max-pixels); the model reads {_size(field)}", 413)
            image.load()
            image.convert(_MODES.get(field.channels, "RGB"))  # as the feature's decoder will
    except RequestError:
        raise
    except Exception as error:  # Pillow raises many kinds of error on bytes that are not an image
        raise RequestError(path, f"feature '{field.name}': cannot be decoded as an image ({type(error).__name__}: "
                                 f"{without_reprs(str(error))[:200]})") from None
    return io.BytesIO(data)


def _size(field: Field) -> str:
    return f"{field.size[1]}x{field.size[0]} images" if field.size else "smaller images"


def without_reprs(text: str) -> str:
    """`text` without Python object representations (`<_io.BytesIO object at 0x7f...>`), which say nothing to a
    client and show the server's memory layout."""
    return _OBJECT_REPR.sub("the data", text)


def _kind(value) -> str:
    """A JSON value's kind, for messages: `a string ('abc')`, `a number (3)`, `a list of 2 items`, `null`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, (int, float)):
        return f"a number ({value!r})" if len(repr(value)) < 40 else "a number"
    if isinstance(value, str):
        return f"a string ({value[:40]!r})" if len(value) <= 40 else "a string"
    if isinstance(value, list):
        return f"a list of {len(value)} item{'s' * (len(value) != 1)}"
    if isinstance(value, dict):
        return f"an object with keys {one_of(list(value)[:8])}" if value else "an empty object"
    return type(value).__name__


__all__ = ["DEFAULT_MAX_ROWS", "FILES", "FLOAT32_MAX", "Field", "InputReader", "MIN_MAX_PIXELS", "NUMBERS",
           "PIXELS_PER_INPUT", "SIGNATURE", "TEXT", "fields", "pixel_limit", "without_reprs"]
