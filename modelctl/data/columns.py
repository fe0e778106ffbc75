"""Which source columns each feature and label reads, and how a batch of them becomes model-ready arrays.

    plan = ColumnPlan(spec["data"], source.columns, where=source.where)
    plan.read                       # every source column the spec needs, in order
    plan.features["pixels"].columns # ['pixel_0', ..., 'pixel_63']

A feature reads `columns` (a list or a glob, numeric features only), else
`column`, else the column of its own name. A label reads `column`. A column
that is not in the source is an error that lists the source's columns;
`check_columns` reports it at the spec line that names it, from the header
alone, when a spec is validated.

The raw values a model takes, per feature type:

| type | raw value given to the model |
| --- | --- |
| numeric | float32 vector of the feature's columns (missing values NaN until filled) |
| categorical | string of shape (1,) |
| text | string, one per example (shape ()) |
| image | float32 (height, width, channels) pixels in [0, 255], decoded and resized |
"""

from __future__ import annotations

import dataclasses
import fnmatch
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from modelctl.data.errors import DataError
from modelctl.data.sources import listing, open_source
from modelctl.errors import Diagnostic, did_you_mean


@dataclasses.dataclass(frozen=True)
class Columns:
    """The source columns of one feature or label.

    Args:
        name: the feature's or label's name in the spec.
        kind: the feature type (numeric, categorical, text, image) or label type.
        columns: the source columns read, in order.
        options: the spec's mapping for the feature or label.
    """

    name: str
    kind: str
    columns: tuple[str, ...]
    options: dict


class ColumnPlan:
    """The columns a spec's `data` section reads from a source.

    Args:
        data: the spec's `data` section.
        available: the source's columns, in file order.
        where: the source's path, for messages.
        weight: the column holding each example's weight (`training.sample_weight`); default None.

    Raises:
        DataError: listing every feature or label whose column is not in the source.
    """

    def __init__(self, data: dict, available: Sequence[str], where: Path | str, weight: str | None = None):
        self.available = list(available)
        self.where = where
        problems: list[str] = []
        self.features = {name: self._resolve(name, feature, "feature", problems)
                         for name, feature in (data.get("features") or {}).items()}
        self.labels = {name: self._resolve(name, label, "label", problems)
                       for name, label in (data.get("labels") or {}).items()}
        self.weight = self._column(weight, "training.sample_weight", problems) if weight else None
        if problems:
            raise DataError("\n".join(problems), file=where)
        needed = [column for item in [*self.features.values(), *self.labels.values()] for column in item.columns]
        if self.weight:
            needed.append(self.weight)
        self.read = list(dict.fromkeys(needed))

    def _resolve(self, name: str, options: dict, role: str, problems: list[str]) -> Columns:
        found: list[str] = []
        for _, written, is_glob in written_columns(name, options, role):
            if not is_glob:
                column = self._column(written, f"{role} '{name}'", problems)
                found += [column] if column else []
                continue
            matched = matching(written, self.available)
            if not matched:
                problems.append(f"{role} '{name}': no column matches {written!r}. Available columns: "
                                f"{listing(self.available)}.")
            found += matched
        return Columns(name, options["type"], tuple(found), options)

    def _column(self, column: str, owner: str, problems: list[str]) -> str | None:
        if column in self.available:
            return column
        problems.append(f"{owner}: no column {column!r}. Available columns: {listing(self.available)}."
                        f"{did_you_mean(column, self.available)}")
        return None


def written_columns(name: str, options: dict, role: str) -> list[tuple[tuple, str, bool]]:
    """(spec path, written name or glob, whether it is a glob) of each column a feature or label reads.

    Args:
        name: the feature's or label's name.
        options: its mapping in the spec.
        role: `feature` or `label`.
    """
    base = ("data", f"{role}s", name)
    written = options.get("columns") if role == "feature" else None
    if isinstance(written, str):
        return [(base + ("columns",), written, True)]
    if isinstance(written, list):
        return [(base + ("columns", index), column, False) for index, column in enumerate(written)]
    if options.get("column"):
        return [(base + ("column",), options["column"], False)]
    return [(base, name, False)]


def matching(pattern: str, available: Sequence[str]) -> list[str]:
    """The columns a glob such as `pixel_*` matches, in file order."""
    return [column for column in available if fnmatch.fnmatchcase(column, pattern)]


HEADER_FORMATS = ("csv", "tsv", "parquet")
"""Source formats whose columns are read cheaply: a CSV or TSV header, a Parquet schema."""


def source_columns(source: dict, base_dir: Path) -> list[str] | None:
    """The columns of a CSV, TSV or Parquet source, opened as training opens it (the first file's header and
    first rows, or its Parquet schema); None for another format, or a source whose files are missing or cannot
    be read (reading the data reports that)."""
    if not isinstance(source, dict) or source.get("format") not in HEADER_FORMATS:
        return None
    try:
        return list(open_source(source, base_dir).columns)
    except DataError:
        return None


def learned_vocabulary(columns: Iterable[np.ndarray], limit: int | None = None) -> list[str]:
    """The vocabulary a categorical feature learns from batches of its column: each value but the empty one
    (missing), as text (see `strings`), the most frequent first and ties in order; the first `limit`, or all."""
    counts: dict[str, int] = {}
    for values in columns:
        for value in strings(values)[:, 0]:
            if value:
                counts[value] = counts.get(value, 0) + 1
    ordered = sorted(counts, key=lambda value: (-counts[value], value))
    return ordered[:limit] if limit else ordered


def column_vocabulary(source: dict, base_dir: Path, column: str, limit: int | None = None) -> list[str] | None:
    """`learned_vocabulary` of one column over every row of a source (rows that cannot be read are skipped);
    None when the source or the column cannot be read."""
    try:
        opened = open_source(source, base_dir)
        if column not in opened.columns:
            return None
        return learned_vocabulary((batch[column] for batch in opened.batches([column], on_bad_rows="skip")), limit)
    except DataError:
        return None


def check_columns(document) -> list[Diagnostic]:
    """Diagnostics for every column the spec's features, labels and sample weight name that its CSV, TSV or
    Parquet sources lack, at the spec line that names it (see `source_columns`: no source is read through)."""
    spec = document.data
    data = spec.get("data") if isinstance(spec.get("data"), dict) else {}
    sources = [data.get("source"), *(data.get("sources") or {}).values()]
    weight = (spec.get("training") or {}).get("sample_weight") if isinstance(spec.get("training"), dict) else None
    found: dict[tuple, Diagnostic] = {}
    for source in sources:
        available = source_columns(source, document.base_dir)
        if available is None:
            continue
        for path, message, at_key in column_problems(data, available, source["path"], weight):
            found.setdefault(path, document.diagnostic(path, message, key=at_key))
    return list(found.values())


def column_problems(data: dict, available: Sequence[str], where: str,
                    weight: str | None = None) -> list[tuple[tuple, str, bool]]:
    """(spec path, message, whether the path is a key) of each column the features, labels and sample weight
    name that is not in `available`, the columns of the source `where` (its path as the spec writes it).

    A feature without `column` or `columns` reads the column of its own name; its problem is placed at its key."""
    entries = [(path, written, is_glob, path == ("data", f"{role}s", name))
               for role, items in (("feature", data.get("features")), ("label", data.get("labels")))
               for name, options in (items if isinstance(items, dict) else {}).items() if isinstance(options, dict)
               for path, written, is_glob in written_columns(name, options, role)]
    if isinstance(weight, str):
        entries.append((("training", "sample_weight"), weight, False, False))
    problems = []
    for path, written, is_glob, own_name in entries:
        if is_glob and not matching(written, available):
            problems.append((path, f"no column of {where} matches '{written}'. Columns: {listing(available)}.",
                             False))
        elif not is_glob and written not in available:
            hint = "; without `column`, a feature reads the column of its own name" if own_name else ""
            problems.append((path, f"'{written}' is not a column of {where}{hint}. Expected one of "
                                   f"{listing(available)}.{did_you_mean(written, available)}", own_name))
    return problems


def numeric_matrix(batch: dict[str, np.ndarray], item: Columns) -> np.ndarray:
    """The feature's columns side by side as float32, one row per example (missing values NaN).

    Raises:
        DataError: a column holds text (a string column cannot be numeric).
    """
    parts = []
    for column in item.columns:
        values = batch[column]
        if values.dtype == object:
            raise DataError(f"numeric feature '{item.name}' reads column '{column}', which holds text such as "
                            f"{_first_text(values)!r}; give the column a numeric type or make the feature "
                            "categorical")
        values = values.astype(np.float32)
        parts.append(values.reshape(len(values), -1))
    return np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]


def strings(values: np.ndarray) -> np.ndarray:
    """Values as a (n, 1) array of str; a missing value becomes the empty string, 3.0 becomes '3'."""
    def text(value) -> str:
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return ""
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            return str(int(value))
        if isinstance(value, bytes):
            return value.decode("utf-8", "replace")
        return str(value)

    return np.array([text(value) for value in values.tolist()], dtype=object).reshape(-1, 1)


def _first_text(values: np.ndarray) -> object:
    return next((value for value in values if isinstance(value, str)), values[0] if len(values) else None)


def decode_images(paths: np.ndarray, size: Sequence[int], channels: int, on_bad: str,
                  skipped: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Decode and resize image files (bilinear) to float32 pixels in [0, 255].

    Args:
        paths: file paths, one per example.
        size: (height, width).
        channels: 1 (grayscale), 3 (RGB) or 4 (RGBA).
        on_bad: `error` raises on a file that cannot be decoded; `skip` drops it and counts it in `skipped`.

    Returns:
        (images of shape (n, height, width, channels), zeros where a file was skipped; boolean mask of the
        decoded examples).
    """
    from PIL import Image, UnidentifiedImageError

    mode = {1: "L", 3: "RGB", 4: "RGBA"}[channels]
    height, width = size
    images = np.zeros((len(paths), height, width, channels), dtype=np.float32)
    keep = np.ones(len(paths), dtype=bool)
    for position, path in enumerate(paths.tolist()):
        try:
            with Image.open(path) as image:
                picture = image.convert(mode)
                if picture.size != (width, height):
                    picture = picture.resize((width, height), Image.Resampling.BILINEAR)
                pixels = np.asarray(picture, dtype=np.float32)
        except (UnidentifiedImageError, OSError, ValueError) as error:
            if on_bad == "error":
                raise DataError(f"cannot be decoded as an image: {error}", file=path) from None
            keep[position] = False
            skipped["image cannot be decoded"] = skipped.get("image cannot be decoded", 0) + 1
            continue
        images[position] = pixels.reshape(height, width, channels)
    return images, keep


__all__ = ["ColumnPlan", "Columns", "HEADER_FORMATS", "check_columns", "column_problems", "column_vocabulary",
           "decode_images", "learned_vocabulary", "matching", "numeric_matrix", "source_columns", "strings",
           "written_columns"]
