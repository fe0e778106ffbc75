"""Which source columns each feature and label reads, and how a batch of them becomes model-ready arrays.

    plan = ColumnPlan(spec["data"], source.columns, where=source.where)
    plan.read                       # every source column the spec needs, in order
    plan.features["pixels"].columns # ['pixel_0', ..., 'pixel_63']

A feature reads `columns` (a list or a glob, numeric features only), else
`column`, else the column of its own name. A label reads `column`. A column
that is not in the source is an error that lists the source's columns.

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
from typing import Sequence

import numpy as np

from modelctl.data.errors import DataError
from modelctl.data.sources import listing
from modelctl.errors import did_you_mean


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
        kind = options["type"]
        written = options.get("columns") if role == "feature" else None
        if isinstance(written, str):
            matched = [column for column in self.available if fnmatch.fnmatchcase(column, written)]
            if not matched:
                problems.append(f"{role} '{name}': no column matches {written!r}. Available columns: "
                                f"{listing(self.available)}.")
            return Columns(name, kind, tuple(matched), options)
        if isinstance(written, list):
            found = [self._column(column, f"{role} '{name}'", problems) for column in written]
            return Columns(name, kind, tuple(column for column in found if column), options)
        column = options.get("column") or name
        found = self._column(column, f"{role} '{name}'", problems)
        return Columns(name, kind, (found,) if found else (), options)

    def _column(self, column: str, owner: str, problems: list[str]) -> str | None:
        if column in self.available:
            return column
        problems.append(f"{owner}: no column {column!r}. Available columns: {listing(self.available)}."
                        f"{did_you_mean(column, self.available)}")
        return None


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


__all__ = ["ColumnPlan", "Columns", "decode_images", "numeric_matrix", "strings"]
