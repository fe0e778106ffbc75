"""The model's input tensors: declared under `model.inputs`, or derived from the data features.

A feature's shape is what its preprocessing hands to the first layer: the
number of numeric columns (or the declared `shape`), `[height, width,
channels]` for images, `[sequence_length]` token ids for text, the one-hot
width of a categorical feature with a fixed vocabulary.
"""

from __future__ import annotations

import csv
import dataclasses
import fnmatch
import glob
from pathlib import Path

from modelctl.errors import ModelctlError


@dataclasses.dataclass(frozen=True)
class InputSpec:
    name: str
    shape: tuple
    dtype: str = "float32"


class InputShapeError(ModelctlError):
    """The shape of a model input cannot be known from the spec alone."""

    def __init__(self, feature: str, message: str):
        self.feature = feature
        super().__init__(message)


def model_inputs(spec: dict, base_dir: Path) -> list[InputSpec]:
    """Input specs in the order the model takes them."""
    model = spec.get("model") or {}
    declared = model.get("inputs") or {}
    if declared:
        return [InputSpec(name, tuple(value["shape"]), value.get("dtype", "float32"))
                for name, value in declared.items()]
    data = spec.get("data") or {}
    source = data.get("source") or (data.get("sources") or {}).get("train") or {}
    return [feature_input(name, feature, source, base_dir) for name, feature in (data.get("features") or {}).items()]


def feature_input(name: str, feature: dict, source: dict, base_dir: Path) -> InputSpec:
    kind = feature["type"]
    if kind == "numeric":
        if feature.get("shape"):
            return InputSpec(name, tuple(feature["shape"]))
        columns = feature.get("columns")
        if columns is None:
            return InputSpec(name, (1,))
        if isinstance(columns, list):
            return InputSpec(name, (len(columns),))
        return InputSpec(name, (len(_matching_columns(name, columns, source, base_dir)),))
    if kind == "image":
        height, width = feature["size"]
        return InputSpec(name, (height, width, feature.get("channels", 3)))
    if kind == "text":
        mode = feature.get("output_mode", "int")
        if mode == "int":
            if not feature.get("sequence_length"):
                raise InputShapeError(name, f"text feature '{name}' gives token ids but has no sequence_length")
            return InputSpec(name, (feature["sequence_length"],), "int64")
        return InputSpec(name, (feature.get("max_tokens", 20000),))
    if kind == "categorical":
        vocabulary = feature.get("vocabulary")
        if feature.get("output_mode", "one_hot") == "index":
            return InputSpec(name, (1,), "int64")
        if vocabulary:
            return InputSpec(name, (len(vocabulary) + feature.get("num_oov_indices", 1),))
        raise InputShapeError(name, f"the one-hot width of categorical feature '{name}' is known only once its "
                                    "vocabulary is learned from the data; give `vocabulary` or declare "
                                    "model.inputs to build the model without data")
    raise InputShapeError(name, f"feature '{name}' has unknown type {kind!r}")


def _matching_columns(name: str, pattern: str, source: dict, base_dir: Path) -> list[str]:
    header = _csv_header(source, base_dir)
    if header is None:
        raise InputShapeError(name, f"feature '{name}' selects columns '{pattern}', which can be matched only "
                                    "against a CSV or TSV header; list the columns or give `shape`")
    matched = [column for column in header if fnmatch.fnmatchcase(column, pattern)]
    if not matched:
        raise InputShapeError(name, f"no column of {source.get('path')} matches '{pattern}'")
    return matched


def _csv_header(source: dict, base_dir: Path) -> list[str] | None:
    if source.get("format") not in ("csv", "tsv"):
        return None
    if source.get("column_names"):
        return list(source["column_names"])
    pattern = source.get("path", "")
    full = pattern if Path(pattern).is_absolute() else str(base_dir / pattern)
    files = sorted(glob.glob(full))
    if not files:
        return None
    delimiter = source.get("delimiter", "," if source["format"] == "csv" else "\t")
    with open(files[0], newline="", encoding="utf-8") as file:
        return next(csv.reader(file, delimiter=delimiter), [])
