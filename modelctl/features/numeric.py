"""Numeric features: numbers from one or more columns, read as one float32 vector per example.

    features:
      age: {type: numeric, preprocessing: [standardize], missing: {strategy: mean}}
      pixels: {type: numeric, columns: "pixel_*", shape: [8, 8, 1], preprocessing: [{rescale: 0.0625}]}

The raw value is the float32 vector of the feature's columns (missing values
NaN until filled). The spec's `missing` strategy and `preprocessing` steps are
fitted on the training split by `modelctl.features.numeric_steps.NumericFit` and applied
inside the model by a `NumericPreprocessing` layer named `<name>_preprocess`,
followed by the `augmentation` layers; the core model takes the preprocessed
vector, reshaped to `shape` when it is given.
"""

from __future__ import annotations

from modelctl.util.lazy import numpy as np

from modelctl.errors import DataError
from modelctl.features import numeric_steps as numeric
from modelctl.features.base import FeatureType, Fit, InputSpec, SourceView, augmentation_property
from modelctl.registry import args
from modelctl.registry.schema_parts import closed, keyed_steps


def preprocessing_steps() -> dict:
    """Schema of each numeric preprocessing step, by name (images take `rescale`)."""
    from modelctl.registry.schema_parts import prop

    return {
        "standardize": prop({"type": ["object", "null"], "additionalProperties": False, "properties": {}},
                            "Subtract the training mean and divide by the training standard deviation.", None),
        "min_max": prop({"type": ["object", "null"], "additionalProperties": False, "properties": {}},
                        "Scale to [0, 1] with the training minimum and maximum.", None),
        "log": prop({"type": ["object", "null"], "additionalProperties": False, "properties": {}},
                    "Natural logarithm of `1 + x` (values must be > -1).", None),
        "clip": closed({"min": args.number("Lower bound; null for none.", None),
                        "max": args.number("Upper bound; null for none.", None)},
                       "Clip values into [min, max]."),
        "rescale": args.number("Multiply by this factor (for example 1/255 for 8-bit pixels)."),
    }


class NumericFit(Fit):
    """The numeric steps of one feature, fitted in as few passes as `modelctl.features.numeric_steps.NumericFit` needs;
    its width is the training values' (columns, or the product of a declared shape)."""

    def __init__(self, item):
        super().__init__(item)
        self.steps: numeric.NumericFit | None = None
        self.drop = NumericFeature().with_defaults(item.options)["missing"]["strategy"] == "drop"

    @property
    def done(self) -> bool:
        return self.passes > 0 if self.steps is None else self.steps.done

    def add(self, values: np.ndarray) -> None:
        if self.steps is None:
            self.steps = numeric.NumericFit(self.item.options, int(values.shape[1]))
            if self.steps.done:
                return
        if self.drop:
            values = values[~np.isnan(values).any(axis=1)]
        self.steps.add(values)

    def end_pass(self) -> None:
        super().end_pass()
        if self.steps is not None and not self.steps.done:
            self.steps.end_pass()

    def fitted(self) -> dict:
        options = self.item.options
        if self.steps is None:
            width = len(self.item.columns)
            steps = numeric.fit_numeric(options, width, lambda: iter(()))
        else:
            width, steps = self.steps.width, self.steps.steps
        return {"type": "numeric", "columns": list(self.item.columns), "width": width,
                "shape": options.get("shape"), "augmentation": options.get("augmentation") or [], "steps": steps}


class NumericFeature(FeatureType):
    """Numbers from one or more columns; see the module docstring."""

    name = "numeric"
    description = "Numbers from one or more columns."
    column_type = "float"
    summarized = True
    by_column = True

    def schema(self) -> dict:
        return {
            "columns": args.any_of([{"type": "string", "minLength": 1},
                                    {"type": "array", "items": {"type": "string"}, "minItems": 1},
                                    {"type": "null"}],
                                   "Several columns read as one vector: a list of names or a glob such as "
                                   "`pixel_*` (in file order).", None),
            "shape": args.shape("Shape each example is reshaped to, such as [8, 8, 1]; null keeps a vector.",
                                None),
            "preprocessing": keyed_steps(preprocessing_steps(), "preprocessing step",
                                         "Steps applied in order; statistics come from the training split."),
            "missing": numeric.missing_schema(),
            "augmentation": augmentation_property(),
        }

    def fitter(self, item) -> Fit:
        return NumericFit(item)

    def encode(self, item, feature, batch, *, numbers, on_bad_rows, skipped):
        matrix = numeric_matrix(batch, item)
        missing = np.isnan(matrix).any(axis=1)
        strategy = self.with_defaults(item.options)["missing"]["strategy"]
        if strategy == "drop":
            return matrix, ~missing
        if strategy == "error" and missing.any():
            row = int(np.argmax(missing))
            columns = [column for column, absent in zip(item.columns, np.isnan(matrix[row])) if absent]
            raise DataError(f"numeric feature '{item.name}' has a missing value; set `missing: {{strategy: mean}}` "
                            "(or median, constant, drop) to fill or drop missing values",
                            column=columns[0] if columns else item.columns[0], example=numbers[row])
        return matrix, None

    def spec_fitted(self, name: str, options: dict, source: SourceView) -> tuple[dict, str]:
        columns = options.get("columns")
        if options.get("shape") or columns is None or isinstance(columns, list):
            width = len(columns) if isinstance(columns, list) else 1
        else:
            width = len(source.matching(name, columns))
        return {"type": self.name, "shape": options.get("shape"), "width": width}, ""

    def model_input(self, name: str, fitted: dict):
        return InputSpec(name, tuple(fitted["shape"]) if fitted.get("shape") else (fitted["width"],))

    def raw_shape(self, fitted: dict) -> tuple[tuple, str]:
        return (fitted["width"],), "float32"

    def layers(self, name: str, fitted: dict, seed: int = 0) -> list:
        from modelctl.features.layers import NumericPreprocessing, augmentation_layers

        return [NumericPreprocessing(fitted["steps"], fitted.get("shape"), name=f"{name}_preprocess")] \
            + augmentation_layers(name, fitted.get("augmentation") or [], seed)

    def describe(self, fitted: dict, summary: dict | None = None) -> dict:
        return {"columns": fitted["columns"], "width": fitted["width"], **(summary or {}),
                "steps": [step["op"] for step in fitted["steps"]]}

    def preview(self, fitted: dict, values: np.ndarray) -> np.ndarray:
        return numeric.apply_numeric(fitted["steps"], values.reshape(len(values), -1))

    def attributions(self, attributions: np.ndarray, values: np.ndarray, fitted: dict, *, raw=None) -> dict:
        """`{"kind": "columns", "total": 0.4, "columns": {"petal_length": 0.31, ...}}`: one value a source column."""
        flat = np.asarray(attributions, dtype=np.float64).reshape(-1)
        columns = fitted.get("columns") if len(fitted.get("columns") or []) == len(flat) else None
        return {"kind": "columns", "total": float(flat.sum()),
                "columns": {str(column): float(value)
                            for column, value in zip(columns or [f"{index}" for index in range(len(flat))], flat)}}


def numeric_matrix(batch: dict[str, np.ndarray], item) -> np.ndarray:
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
        parts.append(values.reshape(len(values), -1))
    if len(parts) == 1:
        return parts[0].astype(np.float32)
    matrix = np.empty((len(parts[0]), sum(part.shape[1] for part in parts)), dtype=np.float32)
    start = 0
    for part in parts:
        matrix[:, start:start + part.shape[1]] = part
        start += part.shape[1]
    return matrix


def _first_text(values: np.ndarray) -> object:
    return next((value for value in values if isinstance(value, str)), values[0] if len(values) else None)


__all__ = ["NumericFeature", "NumericFit", "numeric_matrix", "preprocessing_steps"]
