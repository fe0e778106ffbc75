"""The model's input tensors: declared under `model.inputs`, or derived from the data features.

A feature's shape is what its preprocessing hands to the first layer, as its
feature type says (`modelctl.features`): the number of numeric columns (or the
declared `shape`), `[height, width, channels]` for images, `[sequence_length]`
token ids or a `max_tokens` bag of words for text, the one-hot width of a
categorical feature's vocabulary. `feature_input` asks it of a fitted feature,
for training and for the model built without training alike.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from modelctl.data.columns import matching, source_columns
from modelctl.errors import ModelctlError
from modelctl.features import feature_type


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
    """The input the core model takes for a feature: what its preprocessing hands on (`FeatureType.model_input`).
    Training and the model built without training (`summary`, `validate --deep`) both shape inputs here.

    Args:
        name: the feature's name.
        fitted: the fitted feature (`Prepared.fitted["features"][name]`, or `spec_fitted`); its `type` picks the
            feature type.
    """
    return feature_type(fitted["type"]).model_input(name, fitted)


def spec_fitted(name: str, feature: dict, source: dict, base_dir: Path) -> tuple[dict, str]:
    """What `feature_input` needs of a feature, without fitting on the training split (`FeatureType.spec_fitted`):
    the spec's values, the source's header for a glob of columns, and for a categorical feature without
    `vocabulary` the distinct values of its column in the whole source.

    Returns:
        The fitted feature, and a note saying where a learned width came from ("" when the spec gives it).

    Raises:
        InputShapeError: a glob of columns cannot be matched, or matches nothing.
    """
    return feature_type(feature["type"]).spec_fitted(name, feature, source, base_dir)


def matching_columns(name: str, pattern: str, source: dict, base_dir: Path) -> list[str]:
    """The columns of `source` the glob `pattern` of feature `name` matches, from its header.

    Raises:
        InputShapeError: the source's header cannot be read, or nothing matches.
    """
    header = source_columns(source, base_dir)
    if header is None:
        raise InputShapeError(name, f"feature '{name}' selects columns '{pattern}', which can be matched only "
                                    "against the header of a CSV or TSV file or a Parquet schema; list the columns "
                                    "or give `shape`")
    matched = matching(pattern, header)
    if not matched:
        raise InputShapeError(name, f"no column of {source.get('path')} matches '{pattern}'")
    return matched
