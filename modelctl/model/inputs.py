"""The model's input tensors: declared under `model.inputs`, or derived from the data features.

A feature's shape is what its preprocessing hands to the first layer, as its
feature type says (`modelctl.features`): the number of numeric columns (or the
declared `shape`), `[height, width, channels]` for images, `[sequence_length]`
token ids or a `max_tokens` bag of words for text, the one-hot width of a
categorical feature's vocabulary. `feature_input` asks it of a fitted feature,
for training and for the model built without training alike. `InputSpec` is
defined with the feature types (`modelctl.features.base`) and importable from here.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from modelctl.data.columns import column_vocabulary, matching, source_columns
from modelctl.errors import ModelctlError
from modelctl.features import feature_type, fitted_type
from modelctl.features.base import InputSpec, SourceView
from modelctl.spec.typed import Spec


class InputShapeError(ModelctlError):
    """The shape of a model input cannot be known from the spec alone."""

    def __init__(self, feature: str, message: str):
        self.feature = feature
        super().__init__(message)


def model_inputs(spec: Spec, base_dir: Path) -> list[InputSpec]:
    """Input specs in the order the model takes them, from the spec (`Document.spec`) alone plus what the data's
    headers and categorical columns tell (see `spec_fitted`)."""
    declared = spec.model.inputs
    if declared:
        return [InputSpec(name, tuple(value.shape), value.dtype) for name, value in declared.items()]
    if spec.data is None:
        return []
    source = spec.data.source_of("train")
    inputs = []
    for name, feature in spec.data.features.items():
        entry, note = spec_fitted(name, feature, source=source, base_dir=base_dir)
        inputs.append(dataclasses.replace(feature_input(name, entry), note=note,
                                          placeholder=entry.get("placeholder", False)))
    return inputs


def feature_input(name: str, entry: dict) -> InputSpec:
    """The input the core model takes for a feature: what its preprocessing hands on (`FeatureType.model_input`).
    Training and the model built without training (`summary`, `validate --deep`) both shape inputs here.

    Args:
        name: the feature's name.
        entry: the fitted feature (`modelctl.runs.FittedFeature.entry`, or `spec_fitted`); its `type` picks the
            feature type.
    """
    return fitted_type(entry).model_input(name, entry)


def fitted_inputs(fitted) -> list[InputSpec]:
    """The inputs the core model takes after fitting, in feature order: what each feature's preprocessing gives.

    Args:
        fitted: the fitted preprocessing (`modelctl.runs.Fitted`).
    """
    return [feature_input(name, feature.entry) for name, feature in fitted.features.items()]


def spec_fitted(name: str, feature: dict, *, source: dict, base_dir: Path) -> tuple[dict, str]:
    """What `feature_input` needs of a feature, without fitting on the training split (`FeatureType.spec_fitted`):
    the spec's values, the source's header for a glob of columns, and for a categorical feature without
    `vocabulary` the distinct values of its column in the whole source.

    Returns:
        The fitted feature, and a note saying where a learned width came from ("" when the spec gives it).

    Raises:
        InputShapeError: a glob of columns cannot be matched, or matches nothing.
    """
    return feature_type(feature["type"]).spec_fitted(name, feature, SpecSource(source, base_dir))


class SpecSource(SourceView):
    """A spec's training source as `FeatureType.spec_fitted` sees it: its header and its columns' values.

    Args:
        source: the spec's `data.source` (or `data.sources.train`) mapping.
        base_dir: the folder relative paths are read from.
    """

    def __init__(self, source: dict, base_dir: Path):
        self.source = source
        self.base_dir = base_dir
        self.path = source.get("path")

    def matching(self, feature: str, pattern: str) -> list[str]:
        return matching_columns(feature, pattern, self.source, base_dir=self.base_dir)

    def vocabulary(self, column: str, limit: int | None = None) -> list[str] | None:
        return column_vocabulary(self.source, self.base_dir, column=column, limit=limit)


def matching_columns(name: str, pattern: str, source: dict, *, base_dir: Path) -> list[str]:
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


__all__ = ["InputShapeError", "InputSpec", "SpecSource", "feature_input", "fitted_inputs", "matching_columns",
           "model_inputs",
           "spec_fitted"]
