"""The fitted preprocessing of a run (`preprocessing.json`), as one typed record.

    fitted = Fitted.from_json(value, source=path)    # schema-checked: RunError names every problem
    fitted.labels["species"].classes                 # ['setosa', 'versicolor', 'virginica']
    fitted.labels["species"].type                    # 'categorical'
    fitted.features["measurements"].type             # 'numeric'
    fitted.features["measurements"].entry           # what the numeric type fitted (statistics), read by it alone
    fitted.to_json()                                 # the JSON written back, unchanged

It holds what was learned from the training split: for each feature its type and what that type fitted
(statistics, vocabularies: the entry is owned by the feature type, `modelctl.features`, and passed to it
whole), and for each label its type, column and classes, in the order of `data.labels` (the model's output
order). It is written by training (from the data pipeline's fit) into the run folder, copied into every
exported artifact's metadata, and read back by every command that uses a trained model.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from modelctl.runs.checked import checked
from modelctl.util.canonical import canonical_sha256

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["features", "labels"],
    "properties": {
        "features": {"type": "object", "additionalProperties": {
            "type": "object", "required": ["type"],
            "properties": {"type": {"type": "string"},
                           "columns": {"type": ["array", "null"], "items": {"type": "string"}},
                           "width": {"type": ["integer", "null"], "minimum": 0}}}},
        "labels": {"type": "object", "additionalProperties": {
            "type": "object", "required": ["type"],
            "properties": {"type": {"type": "string"},
                           "column": {"type": ["string", "null"]},
                           "classes": {"type": ["array", "null"], "items": {"type": "string"}}}}},
    },
}
"""What `preprocessing.json` (and the `preprocessing` of an artifact's metadata) must hold; each feature and
label entry may hold more, which its type reads."""


@dataclasses.dataclass(frozen=True)
class FittedEntry:
    """One feature or label as fitted.

    Args:
        name: its name in `data.features` or `data.labels` (a label's is its model output's).
        entry: what its type fitted (`type` plus statistics, a vocabulary, classes ...), passed whole to that type
            (`modelctl.features.fitted_type`, `label_type`), which alone reads the rest.
    """

    name: str
    entry: dict

    @property
    def type(self) -> str:
        """The type's name: a feature type (`numeric`, `text`, ... or a plug-in's) or a label type (`binary`,
        `categorical`, `multi_label`, `regression`)."""
        return self.entry["type"]


class FittedFeature(FittedEntry):
    """One feature as fitted."""

    @property
    def columns(self) -> list[str] | None:
        """The source columns the feature reads, when it reads named columns; else None."""
        return self.entry.get("columns")

    @property
    def width(self) -> int | None:
        """How many values a row of the feature holds, when the feature type records it; else None."""
        return self.entry.get("width")


class FittedLabel(FittedEntry):
    """One label as fitted: its type, column and classes."""

    @property
    def column(self) -> str | None:
        """The source column the label is read from."""
        return self.entry.get("column")

    @property
    def classes(self) -> list[str] | None:
        """The class names in output order (classification), or None (regression)."""
        classes = self.entry.get("classes")
        return None if classes is None else list(classes)


@dataclasses.dataclass(frozen=True)
class Fitted:
    """The fitted preprocessing of a run: features and labels in spec order (see the module docstring)."""

    features: dict[str, FittedFeature]
    labels: dict[str, FittedLabel]

    @classmethod
    def from_json(cls, value: object, *, source: str | Path) -> "Fitted":
        """The record of a JSON value (a run's `preprocessing.json`, an artifact's `preprocessing`).

        Args:
            value: the parsed JSON.
            source: what it was read from, for messages (a file, or `<artifact>: metadata`).

        Raises:
            RunError: `value` does not fit `SCHEMA`; every problem is named.
        """
        if isinstance(value, Fitted):
            return value
        checked(value, SCHEMA, source=source)
        return cls({name: FittedFeature(name, dict(entry)) for name, entry in value["features"].items()},
                   {name: FittedLabel(name, dict(entry)) for name, entry in value["labels"].items()})

    def to_json(self) -> dict:
        """The JSON value of this record, as `from_json` read it."""
        return {"features": {name: dict(feature.entry) for name, feature in self.features.items()},
                "labels": {name: dict(label.entry) for name, label in self.labels.items()}}

    @property
    def label_names(self) -> list[str]:
        """The labels' names in output order."""
        return list(self.labels)

    @property
    def first_label(self) -> FittedLabel | None:
        """The first label (the one verification, stratification and explanations use), or None."""
        return next(iter(self.labels.values()), None)

    @property
    def sha256(self) -> str:
        """The SHA-256 of the record's canonical JSON: the same fit gives the same hash."""
        return canonical_sha256(self.to_json())


__all__ = ["SCHEMA", "Fitted", "FittedEntry", "FittedFeature", "FittedLabel"]
