"""SHAP values of tabular models, through the `shap` library's KernelExplainer (the `explain` extra).

    explained = shap_values(model, features, fitted, examples=5, seed=42)
    explained[0].inputs["measurements"]      # one SHAP value per column

Only tables are explained this way, models whose every feature is numeric or categorical: KernelExplainer
masks columns of one matrix of numbers, a category being the index of its value among the split's values. The
output explained for each example is the one integrated gradients explain
(`modelctl.explain.gradients.target_columns`); the background that masked columns take their values from is
`BACKGROUND` examples of the same split, drawn with the seed. The SHAP values of an example sum to its output
minus the mean output over the background (`baseline_score`).

KernelExplainer draws its coalitions with NumPy's global generator; it is seeded for the call and its
state put back afterwards, so the same run, split and seed give the same values.
"""

from __future__ import annotations

from modelctl.util.lazy import numpy as np

from modelctl.explain.errors import ExplainError
from modelctl.explain.gradients import Explained, target_columns

BACKGROUND = 20
"""Examples the masked columns take their values from."""

EXTRA = "explain"
"""The extra that brings `shap`."""

def tabular(kind: str) -> bool:
    """Whether SHAP values are computed for a feature type: one whose raw values are columns of numbers
    (`by_column`, numeric) or one category (`one_category`, categorical)."""
    from modelctl.features import feature_type

    found = feature_type(kind)
    return found.by_column or found.one_category


def require_shap() -> None:
    """Raise `MissingExtra` naming the `explain` extra when `shap` is not installed."""
    from modelctl.util.lazy import MissingExtra, installed

    if not installed("shap"):
        raise MissingExtra("shap", "modelctl explain --method shap", extra=EXTRA)


def shap_values(model, features: dict, fitted, *, examples: int, seed: int = 0,
                samples: int | str = "auto") -> list[Explained]:
    """SHAP values of the first `examples` examples of `features` (see the module docstring).

    Args:
        model: the run's model (raw features in).
        features: feature name -> raw values of the split (the background is drawn from them too).
        fitted: the run's fitted preprocessing (`modelctl.runs.Fitted`).
        examples: how many examples to explain, from the first.
        seed: seed of the background draw and of KernelExplainer's coalitions; default 0.
        samples: model evaluations per example (`nsamples`); default "auto" (shap's `2 * columns + 2048`).

    Raises:
        MissingExtra: shap is not installed.
        ExplainError: a feature that is neither numeric nor categorical.
    """
    require_shap()
    others = {name: feature.type for name, feature in fitted.features.items() if not tabular(feature.type)}
    if others:
        listed = ", ".join(f"'{name}' ({kind})" for name, kind in others.items())
        raise ExplainError(f"--method shap explains tables of numeric and categorical features; this model also "
                           f"takes {listed}. Use --method integrated_gradients or --method permutation")
    import shap

    from modelctl.features import feature_type
    from modelctl.model.preprocessing import predict_raw

    names = list(fitted.features)
    # A category becomes the index of its value among those of the split, so that one matrix of numbers holds
    # every column; `outputs` turns the indices back into the strings the model takes.
    tables = {name: np.unique(features[name].astype(str)) for name in names
              if feature_type(fitted.features[name].type).one_category}
    parts = [np.searchsorted(tables[name], features[name].astype(str)).astype(np.float64) if name in tables
             else features[name].reshape(len(features[name]), -1).astype(np.float64) for name in names]
    widths = [part.shape[1] for part in parts]
    matrix = np.concatenate(parts, axis=1)
    bounds = np.cumsum([0, *widths])

    def raw(rows: np.ndarray, index: int, name: str) -> np.ndarray:
        block = rows[:, bounds[index]:bounds[index + 1]]
        if name in tables:
            return tables[name][np.rint(block).astype(int)].astype(object)
        return block.astype(np.float32).reshape((len(rows), *features[name].shape[1:]))

    def outputs(rows: np.ndarray) -> np.ndarray:
        scores = predict_raw(model, {name: raw(rows, index, name) for index, name in enumerate(names)},
                             batch_size=8192)
        if isinstance(scores, dict):
            scores = next(iter(scores.values()))
        return np.asarray(scores, dtype=np.float64).reshape(len(rows), -1)

    generator = np.random.default_rng(seed)
    background = matrix[generator.choice(len(matrix), min(BACKGROUND, len(matrix)), replace=False)]
    chosen = matrix[:examples]
    scores = outputs(chosen)
    columns = target_columns(scores, fitted.first_label.type)
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        explainer = shap.KernelExplainer(outputs, background)
        values = explainer.shap_values(chosen, nsamples=samples, silent=True)
    finally:
        np.random.set_state(state)
    values = np.stack(values, axis=-1) if isinstance(values, list) else np.asarray(values)
    if values.ndim == 2:
        values = values[..., None]
    expected = np.asarray(explainer.expected_value, dtype=np.float64).reshape(-1)
    explained = []
    for row, column in enumerate(columns):
        inputs = {name: values[row, bounds[index]:bounds[index + 1], column] for index, name in enumerate(names)}
        explained.append(Explained(row=row, column=int(column), score=float(scores[row, column]),
                                   baseline_score=float(expected[column]), inputs=inputs,
                                   values={name: features[name][row] for name in names}))
    return explained


__all__ = ["BACKGROUND", "EXTRA", "require_shap", "shap_values", "tabular"]
