"""What every feature type is: the base class its module subclasses.

A feature type is one class holding everything about one kind of model input:

| method | what it gives | asked by |
| --- | --- | --- |
| `schema()` | the properties a feature of this type may write (its schema fragment) | `modelctl schema`, `validate` |
| `fitter(item)` | a `Fit` gathering statistics or a vocabulary from the training split | `modelctl.data.fitting` |
| `encode(...)` | the raw values the model takes for a batch of source columns | the data pipeline, `predict` |
| `spec_fitted(...)` | what `model_input` needs, from the spec and a `SourceView`, unfitted | `summary`, `validate --deep` |
| `model_input(name, fitted)` | the core model's input (shape, dtype) | `summary`, `train`, `export`, `predict` |
| `raw_shape(fitted)` | the shape and dtype of one raw example | `raw_input`, the training dataset |
| `layers(name, fitted, seed)` | the Keras preprocessing layers baked into the model | `train`, `export` |
| `read_document(path)` | one raw example from a file, for types with `documents` | `predict` |
| `describe(...)`, `preview(...)` | what `modelctl data` shows | `modelctl data` |

`fitted` is the feature's entry in a run's fitted preprocessing (`type` plus
what the type needs); its layout is kept from release to release, so that old
runs still evaluate, export and predict. Keras and TensorFlow are imported
inside the methods that need them, never when a module is imported.
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any, ClassVar, Mapping

from modelctl.util.lazy import numpy as np

from modelctl.registry.schema_parts import prop


def filled(properties: Mapping[str, dict], written: Mapping[str, Any]) -> dict:
    """`written` with the `default` of each of `properties` it leaves out, the keys of a written closed mapping
    filled the same way (a copy). The schema a feature or label type states is where its defaults are written
    once; its code reads them through this.

    Args:
        properties: property name -> JSON Schema fragment (`FeatureType.schema()`, `LabelType.schema()`).
        written: the spec's mapping (or the part of it these properties describe).
    """
    result = copy.deepcopy(dict(written))
    for key, rule in properties.items():
        if key not in result and "default" in rule:
            result[key] = copy.deepcopy(rule["default"])
        if isinstance(result.get(key), dict) and "properties" in rule:
            result[key] = filled(rule["properties"], result[key])
    return result


@dataclasses.dataclass(frozen=True)
class InputSpec:
    """One model input. `note` says where a width learned from the data came from ("" when the spec gives it);
    `placeholder` marks a width assumed because the data could not be read."""

    name: str
    shape: tuple
    dtype: str = "float32"
    note: str = dataclasses.field(default="", compare=False)
    placeholder: bool = dataclasses.field(default=False, compare=False)


class SourceView:
    """What `FeatureType.spec_fitted` may learn of the training source without fitting: its header and a
    column's distinct values. The data layer gives the implementation (`modelctl.model.inputs`).

    Attributes:
        path: the source's `path` as the spec writes it, for notes; None when it has none.
    """

    path: str | None = None

    def matching(self, feature: str, pattern: str) -> list[str]:
        """The source columns the glob `pattern` of `feature` matches, in file order.

        Raises:
            InputShapeError: the header cannot be read, or nothing matches.
        """
        raise NotImplementedError

    def vocabulary(self, column: str, limit: int | None = None) -> list[str] | None:
        """The distinct values of `column` over the whole source, the most frequent first; the first `limit`, or
        all. None when the source or the column cannot be read."""
        raise NotImplementedError


class Fit:
    """Gathers what a feature learns from the training split, batch by batch and pass by pass.

        fit = feature_type.fitter(item)
        while not fit.done:
            for values in training_values():      # what `encode` gives, kept examples only
                fit.add(values)
            fit.end_pass()
        fit.fitted()                              # the feature's JSON-ready fitted entry

    The base class learns nothing: it is done after one pass and its `fitted` comes from the spec alone.

    Args:
        item: the feature's `Columns` (name, type, source columns and spec options).
        fitted: a function of `item` giving the fitted entry.
    """

    def __init__(self, item, fitted=None):
        self.item = item
        self._fitted = fitted
        self.passes = 0

    @property
    def done(self) -> bool:
        """Whether another pass over the training split is needed."""
        return self.passes > 0

    def add(self, values: np.ndarray) -> None:
        """Take a batch of the training split's encoded values."""

    def end_pass(self) -> None:
        """Finish a pass over the training split."""
        self.passes += 1

    def fitted(self) -> dict:
        """The feature's fitted entry, JSON-ready (`type` first)."""
        return self._fitted(self.item)


class FeatureType:
    """One kind of model input; subclasses set `name` and override what differs.

    Attributes:
        name: the value of `type` in the spec (`numeric`).
        description: one sentence for the schema and docs.
        column_type: the type a CSV or TSV column this feature reads is read as (`float`), or None to infer it.
        documents: file extensions (lower case, with the dot) `predict` reads as one example each; empty for a
            feature read only from table columns.
        document_noun: one such file, for messages (`an image`).
        documents_noun: several such files, for messages (`images`).
        summarized: whether `modelctl data` gathers the count, mean, spread and range of the raw values (numbers).
        reads_named_files: whether a table column holds the names of files the feature reads; the prepared-data
            cache does not fingerprint those files, so it is not used then.
        by_column: whether the raw vector holds one value per source column (`fitted["columns"]`), so that
            `modelctl explain` measures and reports each column apart.
        one_category: whether the raw value is one category (a string) of a fitted vocabulary.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    column_type: ClassVar[str | None] = None
    documents: ClassVar[frozenset[str]] = frozenset()
    document_noun: ClassVar[str] = ""
    documents_noun: ClassVar[str] = ""
    summarized: ClassVar[bool] = False
    reads_named_files: ClassVar[bool] = False
    by_column: ClassVar[bool] = False
    one_category: ClassVar[bool] = False

    def schema(self) -> dict:
        """Property name -> JSON Schema fragment of what a feature of this type may write besides `type`,
        `column` and `description`."""
        return {}

    def with_defaults(self, options: Mapping[str, Any]) -> dict:
        """A feature's spec mapping with the default of each key of `schema()` it leaves out (a copy)."""
        return filled(self.schema(), options)

    def fitter(self, item) -> Fit:
        """A `Fit` for the feature `item` (a `Columns`); the base learns nothing (see `spec_entry`)."""
        return Fit(item, self.spec_entry)

    def spec_entry(self, item) -> dict:
        """The fitted entry of a feature that learns nothing from the data: `type`, `column` and the spec's
        options."""
        return {**{key: value for key, value in item.options.items() if key != "description"},
                "type": self.name, "column": item.columns[0]}

    def encode(self, item, feature: dict, batch: dict[str, np.ndarray], *, numbers: np.ndarray, on_bad_rows: str,
               skipped: dict[str, int]) -> tuple[np.ndarray, np.ndarray | None]:
        """The raw values the model takes for a batch of source columns.

        Args:
            item: the feature's `Columns`.
            feature: the fitted entry, or the spec's options before fitting.
            batch: source column -> values.
            numbers: each example's 1-based number, for messages.
            on_bad_rows: `error` raises on a value that cannot be read; `skip` drops its example.
            skipped: reason -> count of skipped examples; filled in place.

        Returns:
            The values (one per example), and which examples are kept (None keeps all).
        """
        raise NotImplementedError

    def spec_fitted(self, name: str, options: dict, source: SourceView) -> tuple[dict, str]:
        """What `model_input` needs of a feature without fitting on the training split, and a note saying where
        a width learned from the data came from ("" when the spec gives it). Default: the spec's options.

        Args:
            name: the feature's name.
            options: the spec's mapping for the feature.
            source: the training source's header and column values (`SourceView`).
        """
        return {**options, "type": self.name}, ""

    def model_input(self, name: str, fitted: dict):
        """The `InputSpec` the core model takes: what the preprocessing layers give."""
        raise NotImplementedError

    def raw_shape(self, fitted: dict) -> tuple[tuple, str]:
        """(shape without the batch axis, dtype) of the raw values the assembled model takes."""
        raise NotImplementedError

    def raw_input(self, name: str, fitted: dict):
        """The `keras.Input` the feature's raw values come in through, named after the feature."""
        import keras

        shape, dtype = self.raw_shape(fitted)
        return keras.Input(shape=shape, dtype=dtype, name=name)

    def layers(self, name: str, fitted: dict, seed: int = 0) -> list:
        """The Keras layers that turn the raw input into what the core model takes, in order (default none)."""
        return []

    def read_document(self, path: Path):
        """One raw example from a file with one of `documents`' extensions (see `predict`)."""
        raise NotImplementedError

    def describe(self, fitted: dict, summary: dict | None = None) -> dict:
        """What `modelctl data` shows of the fitted feature, besides its type (default its column); `summary` is
        the statistics of its raw values when the type is `summarized`, else None."""
        return {"column": fitted.get("column")}

    def preview(self, fitted: dict, values: np.ndarray) -> np.ndarray:
        """Raw values of a few examples as the fitted steps that run outside Keras leave them (default as
        they are)."""
        return values

    def attributions(self, attributions: np.ndarray, values: np.ndarray, fitted: dict, *, raw=None) -> dict:
        """One example's attributions to this feature (`modelctl explain`), mapped back to what the spec reads,
        as a JSON-ready dict with its `kind` and `total` (their sum); default the total alone:
        `{"kind": "total", "total": 0.05, "attribution": 0.05}`.

        Args:
            attributions: shaped as the feature's input to the core model (or its raw input, for SHAP values).
            values: the example's value at that input.
            fitted: the feature's entry of the fitted preprocessing.
            raw: the example's raw value; default None.
        """
        total = float(np.asarray(attributions, dtype=np.float64).sum())
        return {"kind": "total", "total": total, "attribution": total}


def augmentation_property() -> dict:
    """The `augmentation` property numeric and image features share."""
    return prop({"type": "array", "items": {"$ref": "#/$defs/augmentation_layer"}},
                "Random layers applied to training batches only, the identity at inference: random_flip, "
                "random_rotation, random_zoom, random_translation, random_contrast, random_brightness, "
                "and the dropout and noise layers.", [])


def one_column(batch: dict[str, np.ndarray], item) -> np.ndarray:
    """The values of a feature that reads one column."""
    return batch[item.columns[0]]


__all__ = ["FeatureType", "Fit", "InputSpec", "SourceView", "augmentation_property", "filled", "one_column"]
