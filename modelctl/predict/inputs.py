"""Reading `modelctl predict`'s inputs: rows of tables, image and text documents, folders of them, standard input.

    examples = read_inputs(features, fitted, ["new.csv", "photos/"], options=InputOptions(ids="order_id"))
    examples.values, examples.names, examples.ids       # raw values by feature, where each example came from
    examples.skipped, examples.outside_vocabulary       # what `on_bad_input: skip` dropped; unknown categories

Inputs are read the way training read them, each by its kind: rows of a CSV,
TSV, Parquet or NPZ file (each feature from the columns it was trained on, or
from a column named as the feature itself, as `modelctl serve` takes it), or
image files, `.txt` files and folders of them for a model with one image or text
feature; `-` is a table on standard input (CSV unless told). Several inputs, of
one kind or mixed, give their examples in the order given, each named by its
file (`FILE row N`, the header being row 1). An example that cannot be read (a
corrupt image, an empty text document, a word in a numeric column) stops the
read, or with `on_bad_input="skip"` is counted by its reason and left out.
"""

from __future__ import annotations

import dataclasses
import sys
import tempfile
from pathlib import Path
from typing import BinaryIO

from modelctl.util.lazy import numpy as np

from modelctl.data.columns import ColumnPlan, encode_features, open_typed
from modelctl.data.errors import DataError
from modelctl.data.sources import listing, located, open_source
from modelctl.errors import UsageError, did_you_mean
from modelctl.runs import Fitted

STDIN = "-"
"""The input that stands for standard input."""

ON_BAD_INPUT = ("error", "skip")
"""The values of `InputOptions.on_bad_input`."""

DELIMITERS = (";", "\t", "|", ",")
"""Field separators a header read as one column is checked for, to say which one the file seems to use."""


@dataclasses.dataclass(frozen=True)
class InputOptions:
    """How inputs are read.

    Args:
        ids: a column of the tables passed through to each prediction (an order or customer id); default None.
            Inputs that are documents or folders have no such column and are refused with it.
        on_bad_input: `error` (default) stops at the first example that cannot be read, naming it; `skip` leaves
            it out and counts it under its reason.
        delimiter: the field separator of CSV and TSV inputs (one character); default None: `,` for CSV, a tab
            for TSV.
        stdin_format: the table format of `-`, standard input (default `csv`).
    """

    ids: str | None = None
    on_bad_input: str = "error"
    delimiter: str | None = None
    stdin_format: str = "csv"

    def __post_init__(self):
        if self.on_bad_input not in ON_BAD_INPUT:
            raise UsageError(f"invalid value for --on-bad-input. Expected one of {', '.join(ON_BAD_INPUT)}. "
                             f"Received: {self.on_bad_input}")
        if self.delimiter is not None and len(self.delimiter) != 1:
            raise UsageError(f"invalid value for --delimiter. Expected one character. Received: {self.delimiter!r}")


@dataclasses.dataclass
class Examples:
    """Raw examples read from the inputs.

    Args:
        values: feature name -> the examples' raw values, as the model takes them.
        names: where each example came from: `FILE row N`, a document's path, `stdin row N`.
        ids: each example's value of `InputOptions.ids` as text; None without that option.
        id_column: the column `ids` come from (`InputOptions.ids`), or None.
        skipped: reason -> examples left out (`on_bad_input="skip"`), such as `{"empty text document": 1}`.
        outside_vocabulary: feature name -> value -> count of the categorical values that are not in the
            feature's vocabulary (the model reads them as its out-of-vocabulary bucket).
    """

    values: dict[str, np.ndarray]
    names: list[str]
    ids: list[str] | None = None
    id_column: str | None = None
    skipped: dict[str, int] = dataclasses.field(default_factory=dict)
    outside_vocabulary: dict[str, dict[str, int]] = dataclasses.field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.names)


def _tables() -> dict[str, str]:
    """File extension -> the source format that reads such a file as a table (`meta["suffixes"]` of the
    source formats' registry, plug-ins included)."""
    from modelctl.registry.sources import table_suffixes

    return table_suffixes()


def _document_types() -> list:
    """The feature types `predict` reads from files of their own (image, text), by their plural noun."""
    from modelctl.features import feature_type, feature_types

    return sorted((kind for kind in map(feature_type, feature_types()) if kind.documents),
                  key=lambda kind: kind.documents_noun)


def _described(kind) -> str:
    """`images (.bmp, .gif, ...)`."""
    return f"{kind.documents_noun} ({', '.join(sorted(kind.documents))})"


def _allowed() -> str:
    """What predict reads, for messages."""
    kinds = _document_types()
    return (f"tables ({', '.join(_tables())}), {', '.join(_described(kind) for kind in kinds)} and folders of "
            f"{' or '.join(kind.documents_noun for kind in kinds)}")


def read_inputs(features: dict, fitted, inputs: list[str], *, options: InputOptions = InputOptions(),
                stdin: BinaryIO | None = None) -> Examples:
    """The raw examples of `inputs`, each named by where it came from (see the module docstring).

    - a table (`.csv`, `.tsv`, `.parquet`, `.npz`, or `-`): one example per row, each feature from its trained
      columns or from a column of its own name; named `FILE row N` (`stdin row N`);
    - an image (`.png`, `.jpg`, `.jpeg`, `.bmp`, `.gif`) or a text document (`.txt`): one example, for a model
      whose only feature is an image or a text; named by its path;
    - a folder: the images or text documents inside it (subfolders included, sorted by path), for such a model.

    Args:
        features: the spec's `data.features`.
        fitted: the run's fitted preprocessing (`modelctl.runs.Fitted`, or the JSON of a run's).
        inputs: the files and folders, in order; `-` reads a table from `stdin`.
        options: the id column, what to do with a bad example, the delimiter (`InputOptions`).
        stdin: where `-` is read from; default None: the process's standard input.

    Raises:
        UsageError: no inputs, a missing file, a file of another kind, inputs of a kind the model does not take,
            `-` given twice, no example left after skipping.
        DataError: a missing column, a bad value, an image that cannot be decoded, an empty text document.
    """
    if not inputs:
        raise UsageError("give the inputs to predict: a CSV, TSV, Parquet or NPZ file, image or text files, or - "
                         "for a table on standard input")
    if inputs.count(STDIN) > 1:
        raise UsageError("- (standard input) is given more than once; it can be read once")
    if STDIN in inputs and options.stdin_format not in set(_tables().values()):
        formats = sorted(set(_tables().values()))
        raise UsageError(f"invalid value for --stdin-format. Expected one of {', '.join(formats)}. Received: "
                         f"{options.stdin_format}")
    # Every input is checked before any is read, so a misfit at the end does not wait for a long table.
    planned = [(STDIN, None) if item == STDIN else _plan_input(Path(item), features, options) for item in inputs]
    read = _Read(features, Fitted.from_json(fitted, source="the fitted preprocessing given"), options)
    with tempfile.TemporaryDirectory(prefix="modelctl-predict-") as folder:
        for path, files in planned:
            if path == STDIN:
                copy = Path(folder) / f"stdin.{options.stdin_format}"
                copy.write_bytes((stdin or sys.stdin.buffer).read())
                read.table(copy, options.stdin_format, shown="stdin")
            elif files is None:
                read.table(path, _tables()[path.suffix.lower()], shown=str(path))
            else:
                read.documents(path, files)
    return read.examples()


def _kind(path: Path):
    """`table` for a table, the feature type whose documents the file is (image, text), or None for any other
    file, by its extension."""
    suffix = path.suffix.lower()
    if suffix in _tables():
        return "table"
    return next((kind for kind in _document_types() if suffix in kind.documents), None)


def _plan_input(path: Path, features: dict, options: InputOptions) -> tuple[Path, list[Path] | None]:
    """`(path, None)` for a table; `(path, files)` for an image or text file (itself) or a folder (those inside).

    Raises:
        UsageError: a missing path, a file of another kind, or documents for a model that does not take them.
    """
    from modelctl.features import feature_type

    if not path.exists():
        raise UsageError(f"{path}: no such file or folder")
    kind = None if path.is_dir() else _kind(path)
    if kind == "table":
        return path, None
    if not path.is_dir() and kind is None:
        received = f"a '{path.suffix}' file" if path.suffix else "a file without an extension"
        raise UsageError(f"{path}: predict reads {_allowed()}; received {received}")
    what = "a folder" if path.is_dir() else f"{kind.document_noun} file"
    readers = " or ".join(sorted(reader.name for reader in _document_types()))
    if len(features) != 1:
        raise UsageError(f"{path}: {what} holds examples of one {readers} feature, and the model takes "
                         f"{len(features)} features ({', '.join(features)}); give them as columns of a CSV, TSV, "
                         "Parquet or NPZ file")
    (name, feature), = features.items()
    wanted = feature_type(feature["type"])
    if not wanted.documents:
        raise UsageError(f"{path}: {what} holds {readers} examples, and the model's feature '{name}' is "
                         f"{feature['type']}; give it as a column of a CSV, TSV, Parquet or NPZ file")
    if options.ids is not None:
        raise UsageError(f"{path}: --id {options.ids} names a column of the tables, and {what} has no columns; "
                         "its examples are named by their paths")
    described = _described(wanted)
    if not path.is_dir():
        if path.suffix.lower() not in wanted.documents:
            raise UsageError(f"{path}: {what}, and the model's feature '{name}' is {feature['type']}; give "
                             f"{described}, folders of them, or a CSV, TSV, Parquet or NPZ file with a column per "
                             "feature")
        return path, [path]
    files = sorted(child for child in path.rglob("*") if child.is_file() and child.suffix.lower() in wanted.documents)
    if not files:
        raise UsageError(f"{path}: no {described} in this folder, and the model's feature '{name}' is "
                         f"{feature['type']}")
    return path, files


class _Read:
    """The examples of the inputs read so far, in order, and what was left out."""

    def __init__(self, features: dict, fitted: Fitted, options: InputOptions):
        self.features = _as_trained(features, fitted)
        self.fitted = fitted
        self.options = options
        self.mode = options.on_bad_input
        self.parts: list[dict[str, np.ndarray]] = []
        self.names: list[str] = []
        self.ids: list[str] = []
        self.skipped: dict[str, int] = {}

    def table(self, path: Path, source_format: str, *, shown: str) -> None:
        """Read the rows of one table; `shown` names it in the examples' names (`stdin` for a copy of standard
        input, which errors name the same way)."""
        try:
            self._table(path, source_format, shown=shown)
        except DataError as error:
            if shown != "stdin" or error.file is None:
                raise
            raise DataError(error.problem, file="stdin", row=error.row, column=error.column) from None

    def _table(self, path: Path, source_format: str, *, shown: str) -> None:
        from modelctl.features.values import strings

        options = {"format": source_format, "path": str(path.resolve())}
        if self.options.delimiter is not None and source_format in ("csv", "tsv"):
            options["delimiter"] = self.options.delimiter
        header = open_source(options, path.parent)
        features = _by_name(self.features, header.columns)
        where = "stdin" if shown == "stdin" else path
        try:
            plan = ColumnPlan({"features": features}, header.columns, where)
        except DataError as error:
            raise DataError(f"{error.problem}{_delimiter_hint(header.columns, source_format)}", file=where) \
                from None
        ids = self.options.ids
        if ids is not None and ids not in header.columns:
            raise DataError(f"--id: no column {ids!r}. Available columns: {listing(header.columns)}."
                            f"{did_you_mean(ids, header.columns)}", file=where)
        source = open_typed(options, path.parent, features)
        reader_skipped: dict[str, int] = {}
        offset, kept_numbers, id_values = 0, [], []
        with located(source):
            for batch in source.batches(list(dict.fromkeys([*plan.read, *([ids] if ids else [])])), 4096,
                                        on_bad_rows=self.mode):
                size = len(next(iter(batch.values())))
                numbers = np.arange(offset + 1, offset + size + 1)
                values, keep = encode_features(plan.features, self.fitted, batch, numbers=numbers,
                                               on_bad_rows=self.mode, skipped=self.skipped)
                self.parts.append({name: value[keep] for name, value in values.items()})
                kept_numbers.append(numbers[keep])
                if ids:
                    id_values += strings(batch[ids][keep])[:, 0].tolist()
                offset += size
        for reason, count in source.skipped.items():
            reader_skipped[reason] = reader_skipped.get(reason, 0) + count
        if offset == 0 and not source.skipped:
            raise DataError("has no rows", file=where)
        self._add_skipped(reader_skipped)
        numbers = np.concatenate(kept_numbers) if kept_numbers else np.zeros(0, dtype=int)
        self.names += _row_names(source, path, shown, numbers=numbers)
        self.ids += id_values

    def documents(self, path: Path, files: list[Path]) -> None:
        """Read image or text `files` (of `path`, a file or a folder) as one example each, for the model's one
        feature."""
        from modelctl.features import feature_type

        (name, feature), = self.features.items()
        reader = feature_type(feature["type"])
        read, kept = [], []
        for file in files:
            try:
                value = reader.read_document(file)
                if file.stat().st_size == 0 or (isinstance(value, str) and not value.strip()):
                    raise DataError(f"is empty; {reader.document_noun} needs content to predict on", file=file)
            except DataError as error:
                if self.mode == "error":
                    raise
                noun = reader.document_noun.split(" ", 1)[-1]  # without its article: `image`, `text document`
                reason = f"{noun} {error.problem.split(';')[0]}"
                self.skipped[reason] = self.skipped.get(reason, 0) + 1
                continue
            read.append(value)
            kept.append(file)
        if not kept:
            return
        plan = ColumnPlan({"features": {name: {**feature, "column": "value"}}}, ["value"], path)
        try:
            values, keep = encode_features(plan.features, self.fitted, {"value": np.array(read, dtype=object)},
                                           numbers=np.arange(1, len(kept) + 1), on_bad_rows=self.mode,
                                           skipped=self.skipped)
        except DataError as error:
            if error.example is None or error.file is not None:
                raise
            raise DataError(error.problem, file=kept[error.example - 1]) from error
        self.parts.append({key: value[keep] for key, value in values.items()})
        self.names += [str(file) for file, kept_one in zip(kept, keep) if kept_one]

    def _add_skipped(self, counts: dict[str, int]) -> None:
        for reason, count in counts.items():
            self.skipped[reason] = self.skipped.get(reason, 0) + count

    def examples(self) -> Examples:
        if not self.names:
            left = "; ".join(f"{count} {reason}" for reason, count in self.skipped.items())
            raise UsageError(f"no example left to predict: every one was skipped ({left})")
        parts = [part for part in self.parts if len(next(iter(part.values())))]
        values = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
        return Examples(values, self.names, self.ids if self.options.ids else None, self.options.ids,
                        self.skipped, outside_vocabulary(self.features, self.fitted, values))


def _as_trained(features: dict, fitted: Fitted) -> dict:
    """`features` with each glob of columns (`columns: "f*"`) replaced by the columns it matched in training, so
    that a table without one of them is an error naming it, and a column the glob matches only here is not read."""
    trained = {}
    for name, feature in features.items():
        columns = fitted.features[name].columns if name in fitted.features else None
        glob = isinstance(feature.get("columns"), str)
        trained[name] = {**feature, "columns": list(columns)} if glob and columns else feature
    return trained


def _by_name(features: dict, available: list[str]) -> dict:
    """`features` with each feature of one column that the table lacks, while it has a column named as the
    feature, reading that column instead: a table may name a feature's values by the feature (as a request to
    `modelctl serve` may) or by the column it was trained from."""
    from modelctl.data.columns import written_columns

    renamed = {}
    for name, feature in features.items():
        written = written_columns(name, feature, "feature")
        single = len(written) == 1 and not written[0][2]
        if single and written[0][1] not in available and name in available:
            feature = {key: value for key, value in feature.items() if key not in ("column", "columns")}
            feature["column"] = name
        renamed[name] = feature
    return renamed


def _delimiter_hint(columns: list[str], source_format: str) -> str:
    """A sentence for a table whose header was read as one column holding another separator, else ""."""
    if source_format not in ("csv", "tsv") or len(columns) != 1:
        return ""
    found = [separator for separator in DELIMITERS if separator in columns[0]]
    if not found:
        return ""
    shown = "\\t" if found[0] == "\t" else found[0]
    return (f" The header was read as one column; it looks separated by {shown!r}: pass --delimiter "
            f"{shown!r}" if found[0] != "\t" else " The header was read as one column; it looks separated by "
            "tabs: give the file a .tsv extension or pass --delimiter with a tab")


def _row_names(source, path: Path, shown: str, *, numbers: np.ndarray) -> list[str]:
    """`SHOWN row N` for the examples numbered `numbers` (1-based) of the table `path`, N counted as data
    errors count rows (a CSV's header is row 1); `SHOWN example N` once the reader skipped rows, after which
    rows can no longer be told."""
    if source.skipped:
        return [f"{shown} example {number}" for number in numbers.tolist()]
    if not len(numbers):
        return []
    count = int(numbers[-1])
    first = source.row_of(path, 1)
    if source.row_of(path, count) == count + first - 1:
        return [f"{shown} row {number + first - 1}" for number in numbers.tolist()]
    return [f"{shown} row {source.row_of(path, number)}" for number in numbers.tolist()]


def outside_vocabulary(features: dict, fitted: Fitted, values: dict[str, np.ndarray]) -> dict[str, dict[str, int]]:
    """Feature name -> value -> count of the values of each categorical feature (`FeatureType.one_category`)
    that are not in its fitted vocabulary; features without such values are left out."""
    from modelctl.features import feature_type

    found = {}
    for name, feature in features.items():
        vocabulary = fitted.features[name].entry.get("vocabulary") if name in fitted.features else None
        if not feature_type(feature["type"]).one_category or vocabulary is None or name not in values:
            continue
        known = set(map(str, vocabulary))
        counts: dict[str, int] = {}
        for value in np.asarray(values[name]).reshape(-1).tolist():
            if value not in known:
                counts[value] = counts.get(value, 0) + 1
        if counts:
            found[name] = counts
    return found


__all__ = ["DELIMITERS", "Examples", "InputOptions", "ON_BAD_INPUT", "STDIN", "outside_vocabulary", "read_inputs"]
