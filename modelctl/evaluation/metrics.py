"""Metrics of a model's scores on held-out examples, as one JSON-ready dict.

`compute_metrics(label_type, y_true, y_score)` checks the arrays (shapes in
`modelctl.evaluation.inputs`), computes the metrics named in `names` (the spec's
`evaluation.metrics`; empty picks `DEFAULTS[label_type]`) and returns plain Python
values: floats, ints, strings, lists and dicts, with None wherever a value is
undefined (never NaN). The keys depend on the label type and the names asked for,
never on the data:

    {
      "label_type": "categorical",
      "examples": 150,                                 # n
      "classes": ["setosa", "versicolor", "virginica"],  # classification only: class or label names
      "accuracy": 0.96,
      "precision": {"macro": 0.96, "weighted": 0.96,
                    "per_class": {"setosa": 1.0, "versicolor": 0.94, "virginica": 0.94}},
                                   # binary adds "positive": the value of the second class
      "recall": {...}, "f1": {...},  # laid out as precision
      "roc_auc": {"macro": 0.99, "per_class": {"setosa": 1.0, ...}},
                                   # binary: one float; categorical: one-vs-rest
      "pr_auc": {...},             # average precision, laid out as roc_auc
      "log_loss": 0.12,
      "top_k_accuracy": {"k": 3, "value": 1.0},  # k = min(top_k, number of classes)
      "confusion_matrix": [[50, 0, 0], [0, 47, 3], [0, 3, 47]],
                                   # rows: true class, columns: predicted, in "classes" order
      "mse": ..., "rmse": ..., "mae": ..., "r2": ..., "mape": ...,  # regression
      "subset_accuracy": ..., "hamming_loss": ...,                  # multi_label
      "notes": {"roc_auc": "undefined for class 'virginica' (no example in y_true); ..."}
    }

Metrics appear in the order of `METRICS`; "notes" is always there, empty when every
value is defined. A class (categorical) or label (multi_label) without a positive
example has a null `pr_auc`, and one without a positive or without a negative example
a null `roc_auc`; the macro average is then over the other classes, and "notes" says
which were left out (scikit-learn returns NaN for that ROC AUC average). Every metric
follows scikit-learn's definition; see `classification`, `regression` and `curves`.
"""

from __future__ import annotations

import functools
import math
from typing import Callable

import numpy as np

from modelctl.errors import did_you_mean, one_of
from modelctl.evaluation import classification, curves, regression
from modelctl.evaluation.errors import EvaluationError
from modelctl.evaluation.inputs import Prepared, binary_problems, check_label_type, prepare

_CLASSIFIERS = ("binary", "categorical", "multi_label")
_SINGLE_LABEL = ("binary", "categorical")

METRICS: dict[str, tuple[str, ...]] = {
    "accuracy": _SINGLE_LABEL,
    "precision": _CLASSIFIERS,
    "recall": _CLASSIFIERS,
    "f1": _CLASSIFIERS,
    "roc_auc": _CLASSIFIERS,
    "pr_auc": _CLASSIFIERS,
    "log_loss": _SINGLE_LABEL,
    "top_k_accuracy": ("categorical",),
    "confusion_matrix": _SINGLE_LABEL,
    "mse": ("regression",),
    "rmse": ("regression",),
    "mae": ("regression",),
    "r2": ("regression",),
    "mape": ("regression",),
    "subset_accuracy": ("multi_label",),
    "hamming_loss": ("multi_label",),
}
"""Every metric name `compute_metrics` knows, with the label types it fits, in report order."""

DEFAULTS: dict[str, tuple[str, ...]] = {
    **{label_type: tuple(name for name, fits in METRICS.items() if label_type in fits)
       for label_type in ("binary", "categorical", "regression")},
    "multi_label": ("f1", "subset_accuracy", "hamming_loss"),
}
"""The metrics reported when `names` is empty: every one that fits, except for multi_label."""


def metric_names(label_type: str, names: list[str] | None = None) -> list[str]:
    """The metrics `compute_metrics` reports for `label_type` and `names`, in `METRICS` order.

    Args:
        label_type: "binary", "categorical", "multi_label" or "regression".
        names: metric names from `METRICS`, each fitting `label_type`, none twice; None or
            empty (the default) picks `DEFAULTS[label_type]`.

    Raises:
        EvaluationError: an unknown label type, or every name that is unknown, repeated or
            does not fit the label type, one per line.
    """
    check_label_type(label_type)
    if not names:
        return list(DEFAULTS[label_type])
    if isinstance(names, str):
        raise EvaluationError(f"names must be a list of metric names; received the string {names!r}")
    fits = [name for name, types in METRICS.items() if label_type in types]
    problems = []
    for index, name in enumerate(names):
        if not isinstance(name, str) or name not in METRICS:
            problems.append(f"Unknown metric {name!r}. Expected one of {one_of(METRICS)}.{did_you_mean(name, fits)}")
        elif label_type not in METRICS[name]:
            problems.append(f"Metric '{name}' does not fit label type '{label_type}'. Metrics that fit "
                            f"'{label_type}': {one_of(fits)}.")
        elif name in names[:index]:
            problems.append(f"Metric '{name}' is named more than once.")
    if problems:
        raise EvaluationError("\n".join(problems))
    return [name for name in METRICS if name in names]


def compute_metrics(label_type: str, y_true: np.ndarray, y_score: np.ndarray, class_names: list[str] | None = None,
                    names: list[str] | None = None, top_k: int = 5) -> dict:
    """Compute metrics of `y_score` against `y_true`, laid out as the module docstring shows.

    Args:
        label_type: "binary", "categorical", "multi_label" or "regression".
        y_true: true labels or targets; shapes and values in `modelctl.evaluation.inputs`.
        y_score: the model's outputs (probabilities for classification label types).
        class_names: names of the classes (binary: 2, categorical: C), of the labels
            (multi_label: L) or of the outputs (regression: k), all different; None (the
            default) names them "0", "1", ...
        names: metrics to report (see `metric_names`); None or empty (the default) picks
            `DEFAULTS[label_type]`.
        top_k: k of `top_k_accuracy`, an int >= 1 (default 5), lowered to the number of
            classes.

    Raises:
        EvaluationError: a bad label type, metric name, `top_k`, shape or value; the
            message says what was received and what is allowed.
    """
    chosen = metric_names(label_type, names)
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1:
        raise EvaluationError(f"Invalid value for argument `top_k`. Expected an integer >= 1. "
                              f"Received: top_k={top_k!r}")
    context = _Context(prepare(label_type, y_true, y_score, class_names), int(top_k))
    result: dict = {"label_type": label_type, "examples": context.data.examples}
    if label_type != "regression":
        result["classes"] = list(context.data.classes)
    for name in chosen:
        result[name] = _COMPUTE[name](context)
    result["notes"] = context.notes
    return _plain(result)


class _Context:
    """The prepared arrays and what several metrics share, computed at most once."""

    def __init__(self, data: Prepared, top_k: int):
        self.data = data
        self.top_k = top_k
        self.notes: dict[str, str] = {}

    @functools.cached_property
    def y_pred(self) -> np.ndarray:
        return classification.predictions(self.data.label_type, self.data.y_score)

    @functools.cached_property
    def counts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return classification.class_counts(self.data.label_type, self.data.y_true, self.y_pred,
                                           len(self.data.classes))

    @functools.cached_property
    def scores(self) -> dict[str, np.ndarray]:
        return classification.precision_recall_f1(*self.counts)


def _class_metric(name: str) -> Callable[[_Context], dict]:
    def compute(context: _Context) -> dict:
        values = context.scores[name]
        macro, weighted = classification.averages(values, context.counts[2])
        result = {"macro": macro, "weighted": weighted,
                  "per_class": dict(zip(context.data.classes, values.tolist()))}
        if context.data.label_type == "binary":
            result = {"positive": float(values[1]), **result}
        return result

    return compute


def _why_undefined(data: Prepared, truth: np.ndarray, needs_negative: bool) -> str | None:
    single = data.label_type == "categorical"
    if not truth.any():
        return "no example in y_true" if single else "0 for every example"
    if needs_negative and truth.all():
        return "the class of every example" if single else "1 for every example"
    return None


def _area(metric: str, area: Callable[[np.ndarray, np.ndarray], float], needs_negative: bool
          ) -> Callable[[_Context], float | dict | None]:
    def compute(context: _Context):
        data = context.data
        if data.label_type == "binary":
            if data.y_true.any() and not (needs_negative and data.y_true.all()):
                return area(data.y_true, data.y_score)
            present = data.classes[int(data.y_true[0])]
            context.notes[metric] = f"undefined: every example in y_true is of class '{present}'"
            return None
        per_class, left_out = {}, []
        for name, truth, score in binary_problems(data):
            reason = _why_undefined(data, truth, needs_negative)
            per_class[name] = None if reason else area(truth, score)
            if reason:
                left_out.append(f"'{name}' ({reason})")
        defined = [value for value in per_class.values() if value is not None]
        if left_out:
            kind, kinds = ("class", "classes") if data.label_type == "categorical" else ("label", "labels")
            rest = (f"the macro average is over the other {len(defined)} {kinds if len(defined) > 1 else kind}" if defined
                    else "so is the macro average")
            context.notes[metric] = f"undefined for {kind} {', '.join(left_out)}; {rest}"
        return {"macro": float(np.mean(defined)) if defined else None, "per_class": per_class}

    return compute


def _log_loss(context: _Context) -> float:
    data = context.data
    if data.label_type == "categorical":
        sums = data.y_score.sum(axis=1)
        off = np.flatnonzero(~np.isclose(sums, 1.0, rtol=math.sqrt(np.finfo(np.float64).eps)))
        if off.size:
            context.notes["log_loss"] = (f"the scores of {off.size} example(s) do not sum to 1 (example {off[0]} "
                                         f"sums to {sums[off[0]]:g}); they are used as given")
    return classification.log_loss(data.label_type, data.y_true, data.y_score)


def _top_k(context: _Context) -> dict:
    k = min(context.top_k, len(context.data.classes))
    return {"k": k, "value": classification.top_k_accuracy(context.data.y_true, context.data.y_score, k)}


def _r2(context: _Context) -> float | None:
    value = regression.r2(context.data.y_true, context.data.y_score)
    if value is None:
        context.notes["r2"] = f"undefined with fewer than 2 examples; received {context.data.examples}"
    return value


def _regression(function: Callable[[np.ndarray, np.ndarray], float]) -> Callable[[_Context], float]:
    return lambda context: function(context.data.y_true, context.data.y_score)


_COMPUTE: dict[str, Callable[[_Context], object]] = {
    "accuracy": lambda c: float(np.mean(c.y_pred == c.data.y_true)),
    "precision": _class_metric("precision"),
    "recall": _class_metric("recall"),
    "f1": _class_metric("f1"),
    "roc_auc": _area("roc_auc", curves.roc_auc, needs_negative=True),
    "pr_auc": _area("pr_auc", curves.average_precision, needs_negative=False),
    "log_loss": _log_loss,
    "top_k_accuracy": _top_k,
    "confusion_matrix": lambda c: classification.confusion(c.data.y_true, c.y_pred, len(c.data.classes)).tolist(),
    "mse": _regression(regression.mse),
    "rmse": _regression(regression.rmse),
    "mae": _regression(regression.mae),
    "r2": _r2,
    "mape": _regression(regression.mape),
    "subset_accuracy": lambda c: classification.subset_accuracy(c.data.y_true, c.y_pred),
    "hamming_loss": lambda c: classification.hamming_loss(c.data.y_true, c.y_pred),
}


def _plain(value: object) -> object:
    """`value` with numpy scalars and arrays turned into Python ones and NaN or infinity into None."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(item) for item in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value
