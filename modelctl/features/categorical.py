"""Categorical features: one value from a set, looked up in a vocabulary.

    features:
      color: {type: categorical}                                  # vocabulary learned from the training split
      size: {type: categorical, vocabulary: [S, M, L], output_mode: index}

The raw value is a string of shape (1,) (numbers are written as text: 3.0
becomes '3'; a missing value is the empty string). The vocabulary is the
spec's, or the training split's values, the most frequent first (the first
`max_tokens`). Inside the model a `StringLookup` layer named `<name>_lookup`
gives a one-hot vector of `len(vocabulary) + num_oov_indices` values, or an
integer index (`output_mode: index`) for an embedding layer.
"""

from __future__ import annotations

from modelctl.util.lazy import numpy as np

from modelctl.features.base import FeatureType, Fit, InputSpec, SourceView, one_column
from modelctl.features.values import add_counts, strings, value_counts, vocabulary_of
from modelctl.registry import args

PLACEHOLDER_VALUES = 10
"""Values a categorical feature's vocabulary is taken to have when the model is built without its data."""


class VocabularyFit(Fit):
    """Counts each value of the training split, for a vocabulary the spec does not give."""

    def __init__(self, item):
        super().__init__(item)
        self.counts: dict[str, int] | None = None if item.options.get("vocabulary") else {}

    def add(self, values: np.ndarray) -> None:
        if self.counts is not None:
            add_counts(self.counts, value_counts(values[:, 0]))

    def fitted(self) -> dict:
        options = CategoricalFeature().with_defaults(self.item.options)
        vocabulary = [str(value) for value in options["vocabulary"]] if self.counts is None else \
            vocabulary_of(self.counts, options.get("max_tokens"))
        return {"type": "categorical", "column": self.item.columns[0], "vocabulary": vocabulary,
                "num_oov_indices": options["num_oov_indices"], "output_mode": options["output_mode"]}


class CategoricalFeature(FeatureType):
    """One value from a set; see the module docstring."""

    name = "categorical"
    description = "One value from a fixed set."
    one_category = True

    def schema(self) -> dict:
        return {
            "vocabulary": args.any_of([{"type": "array", "items": {"type": ["string", "integer"]}, "minItems": 1},
                                       {"type": "null"}],
                                      "Fixed vocabulary; null learns it from the training split.", None),
            "max_tokens": args.integer("Largest vocabulary learned; null for no limit.", None, minimum=1),
            "num_oov_indices": args.integer("Buckets for values not in the vocabulary.", 1, minimum=0),
            "output_mode": args.choice(["one_hot", "index"], "One-hot vector, or an integer index for an "
                                       "embedding layer.", "one_hot"),
        }

    def fitter(self, item) -> Fit:
        return VocabularyFit(item)

    def encode(self, item, feature, batch, *, numbers, on_bad_rows, skipped):
        return strings(one_column(batch, item)), None

    def spec_fitted(self, name: str, options: dict, source: SourceView) -> tuple[dict, str]:
        """The spec's vocabulary; without one, the distinct values of the feature's column in the whole source
        (a placeholder of `PLACEHOLDER_VALUES` values when the source cannot be read)."""
        options = self.with_defaults(options)
        fitted = {"type": self.name, "vocabulary": options["vocabulary"],
                  "num_oov_indices": options["num_oov_indices"], "output_mode": options["output_mode"]}
        if fitted["vocabulary"] or fitted["output_mode"] == "index":
            return fitted, ""
        column = options.get("column") or name
        learned = source.vocabulary(column, options.get("max_tokens"))
        if learned:
            return {**fitted, "vocabulary": learned}, (
                f"categorical feature '{name}': one-hot width {len(learned) + fitted['num_oov_indices']} from the "
                f"{len(learned)} values of column '{column}' in {source.path}; training learns the "
                "vocabulary from the training split")
        return {**fitted, "vocabulary": [""] * PLACEHOLDER_VALUES, "placeholder": True}, (
            f"categorical feature '{name}': its vocabulary is learned from the data, which cannot be read here; "
            f"the model is built with a placeholder of {PLACEHOLDER_VALUES} values (one-hot width "
            f"{PLACEHOLDER_VALUES + fitted['num_oov_indices']}), so the first layer's parameters are "
            "approximate. Give `vocabulary` for the exact width")

    def model_input(self, name: str, fitted: dict):
        if fitted["output_mode"] == "index":
            return InputSpec(name, (1,), "int64")
        return InputSpec(name, (len(fitted["vocabulary"]) + fitted["num_oov_indices"],))

    def raw_shape(self, fitted: dict) -> tuple[tuple, str]:
        return (1,), "string"

    def layers(self, name: str, fitted: dict, seed: int = 0) -> list:
        import keras

        return [keras.layers.StringLookup(vocabulary=fitted["vocabulary"], num_oov_indices=fitted["num_oov_indices"],
                                          output_mode="one_hot" if fitted["output_mode"] == "one_hot" else "int",
                                          name=f"{name}_lookup")]

    def describe(self, fitted: dict, summary: dict | None = None) -> dict:
        return {"column": fitted["column"], "vocabulary_size": len(fitted["vocabulary"]),
                "vocabulary": fitted["vocabulary"][:10]}

    def attributions(self, attributions: np.ndarray, values: np.ndarray, fitted: dict, *, raw=None) -> dict:
        """`{"kind": "value", "total": 0.12, "value": "red", "attribution": 0.12}`: the example's category."""
        total = float(np.asarray(attributions, dtype=np.float64).sum())
        value = raw.reshape(-1)[0] if isinstance(raw, np.ndarray) else raw
        return {"kind": "value", "total": total, "value": None if value is None else str(value), "attribution": total}


__all__ = ["CategoricalFeature", "PLACEHOLDER_VALUES", "VocabularyFit"]
