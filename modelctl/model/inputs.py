"""The model's input tensors: declared under `model.inputs`, or derived from the data features.

A feature's shape is what its preprocessing hands to the first layer: the
number of numeric columns (or the declared `shape`), `[height, width,
channels]` for images, `[sequence_length]` token ids or a `max_tokens` bag of
words for text, the one-hot width of a categorical feature's vocabulary.
`feature_input` computes it from a fitted feature, for training and for the
model built without training alike.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from modelctl.data.columns import column_vocabulary, matching, source_columns
from modelctl.errors import ModelctlError


@dataclasses.dataclass(frozen=True)
class InputSpec:
    """One model input. `note` says where a width learned from the data came from ("" when the spec gives it);
    `placeholder` marks a width assumed because the data could not be read."""

    name: str
    shape: tuple
    dtype: str = "float32"
    note: str = dataclasses.field(default="", compare=False)
    placeholder: bool = dataclasses.field(default=False, compare=False)


class InputShapeError(ModelctlError):
    """The shape of a model input cannot be known from the spec alone."""

    def __init__(self, feature: str, message: str):
        self.feature = feature
        super().__init__(message)


PLACEHOLDER_VALUES = 10
"""Values a categorical feature's vocabulary is taken to have when the model is built without its data."""


def model_inputs(spec: dict, base_dir: Path) -> list[InputSpec]:
    """Input specs in the order the model takes them, from the spec alone plus what the data's headers and
    categorical columns tell (see `spec_fitted`)."""
    model = spec.get("model") or {}
    declared = model.get("inputs") or {}
    if declared:
        return [InputSpec(name, tuple(value["shape"]), value.get("dtype", "float32"))
                for name, value in declared.items()]
    data = spec.get("data") or {}
    source = data.get("source") or (data.get("sources") or {}).get("train") or {}
    inputs = []
    for name, feature in (data.get("features") or {}).items():
        fitted, note = spec_fitted(name, feature, source, base_dir)
        inputs.append(dataclasses.replace(feature_input(name, fitted), note=note,
                                          placeholder=fitted.get("placeholder", False)))
    return inputs


def feature_input(name: str, fitted: dict) -> InputSpec:
    """The input the core model takes for a feature: what its preprocessing hands on. Training and the model
    built without training (`summary`, `validate --deep`) both shape inputs here.

    Args:
        name: the feature's name.
        fitted: the fitted feature (`Prepared.fitted["features"][name]`, or `spec_fitted`): `type`, and for
            numeric `width` and `shape`; image `size` and `channels`; categorical `vocabulary`,
            `num_oov_indices` and `output_mode`; text `output_mode`, `sequence_length` and `max_tokens`.
    """
    kind = fitted["type"]
    if kind == "numeric":
        return InputSpec(name, tuple(fitted["shape"]) if fitted.get("shape") else (fitted["width"],))
    if kind == "image":
        return InputSpec(name, (*fitted["size"], fitted["channels"]))
    if kind == "categorical":
        if fitted["output_mode"] == "index":
            return InputSpec(name, (1,), "int64")
        return InputSpec(name, (len(fitted["vocabulary"]) + fitted["num_oov_indices"],))
    if kind == "text":
        if fitted["output_mode"] == "int":
            return InputSpec(name, (fitted["sequence_length"],), "int64")
        return InputSpec(name, (fitted["max_tokens"],))  # bag-of-words vectors are padded to max_tokens
    raise InputShapeError(name, f"feature '{name}' has unknown type {kind!r}")


def spec_fitted(name: str, feature: dict, source: dict, base_dir: Path) -> tuple[dict, str]:
    """What `feature_input` needs of a feature, without fitting on the training split: the spec's values, the
    source's header for a glob of columns, and for a categorical feature without `vocabulary` the distinct
    values of its column in the whole source (a placeholder of `PLACEHOLDER_VALUES` values when the source
    cannot be read).

    Returns:
        The fitted feature, and a note saying where a learned width came from ("" when the spec gives it).

    Raises:
        InputShapeError: a glob of columns cannot be matched, or matches nothing.
    """
    kind = feature["type"]
    if kind == "numeric":
        columns = feature.get("columns")
        if feature.get("shape") or columns is None or isinstance(columns, list):
            width = len(columns) if isinstance(columns, list) else 1
        else:
            width = len(_matching_columns(name, columns, source, base_dir))
        return {"type": kind, "shape": feature.get("shape"), "width": width}, ""
    if kind == "image":
        return {"type": kind, "size": list(feature["size"]), "channels": feature.get("channels", 3)}, ""
    if kind == "text":
        return {"type": kind, "output_mode": feature.get("output_mode", "int"),
                "sequence_length": feature.get("sequence_length"), "max_tokens": feature.get("max_tokens", 20000)}, ""
    fitted = {"type": kind, "vocabulary": feature.get("vocabulary"),
              "num_oov_indices": feature.get("num_oov_indices", 1),
              "output_mode": feature.get("output_mode", "one_hot")}
    if fitted["vocabulary"] or fitted["output_mode"] == "index":
        return fitted, ""
    column = feature.get("column") or name
    learned = column_vocabulary(source, base_dir, column, feature.get("max_tokens"))
    if learned:
        return {**fitted, "vocabulary": learned}, (
            f"categorical feature '{name}': one-hot width {len(learned) + fitted['num_oov_indices']} from the "
            f"{len(learned)} values of column '{column}' in {source.get('path')}; training learns the vocabulary "
            "from the training split")
    return {**fitted, "vocabulary": [""] * PLACEHOLDER_VALUES, "placeholder": True}, (
        f"categorical feature '{name}': its vocabulary is learned from the data, which cannot be read here; the "
        f"model is built with a placeholder of {PLACEHOLDER_VALUES} values (one-hot width "
        f"{PLACEHOLDER_VALUES + fitted['num_oov_indices']}), so the first layer's parameters are approximate. "
        "Give `vocabulary` for the exact width")


def _matching_columns(name: str, pattern: str, source: dict, base_dir: Path) -> list[str]:
    header = source_columns(source, base_dir)
    if header is None:
        raise InputShapeError(name, f"feature '{name}' selects columns '{pattern}', which can be matched only "
                                    "against the header of a CSV or TSV file or a Parquet schema; list the columns "
                                    "or give `shape`")
    matched = matching(pattern, header)
    if not matched:
        raise InputShapeError(name, f"no column of {source.get('path')} matches '{pattern}'")
    return matched
