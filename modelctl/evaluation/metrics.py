"""Metrics of a model's scores on held-out examples, as one JSON-ready dict.

`compute_metrics(label_type, y_true, y_score)` checks the arrays (shapes in
`modelctl.evaluation.inputs`), computes the metrics named in `names` (the spec's
`evaluation.metrics`; empty picks the label type's defaults, `DEFAULTS[label_type]`
for the built-in ones) and returns plain Python
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

Which metrics fit a label type, which it reports by default, and how its scores split
into binary problems are said by its class (`modelctl.features.label_type(name)`:
`metrics`, `default_metrics`, `binary_problems`); nothing here names a label type.
Metrics appear in the order of `METRICS`; "notes" is always there, empty when every
value is defined. A class (categorical) or label (multi_label) without a positive
example has a null `pr_auc`, and one without a positive or without a negative example
a null `roc_auc`; the macro average is then over the other classes, and "notes" says
which were left out (scikit-learn returns NaN for that ROC AUC average).

Every value comes from `sklearn.metrics`, imported on the first call:

    accuracy, subset_accuracy     accuracy_score of the predicted labels (the label type's `predicted`)
    precision, recall, f1         precision_recall_fscore_support(zero_division=0), over every
                                  class or label (`labels=`), with average None, "macro", "weighted"
    roc_auc, pr_auc               roc_auc_score, average_precision_score of each binary problem
                                  (one-vs-rest for categorical); macro is their plain mean
    log_loss                      log_loss(labels=every class); scores used as given
    top_k_accuracy                top_k_accuracy_score(labels=every class); with two classes,
                                  scikit-learn's binary rule (class 1 when its score is above 0.5)
    confusion_matrix              confusion_matrix(labels=every class)
    mse, rmse, mae, r2, mape      mean_squared_error, root_mean_squared_error, mean_absolute_error,
                                  r2_score, mean_absolute_percentage_error; several outputs are
                                  averaged ("uniform_average"), so rmse is the mean of their RMSEs
    hamming_loss                  hamming_loss of the predicted labels
"""

from __future__ import annotations

import functools
import math
import warnings
from typing import Callable

import numpy as np

from modelctl.errors import did_you_mean, one_of
from modelctl.evaluation.errors import EvaluationError
from modelctl.evaluation.inputs import CheckedScores, binary_problems, check_scores, kind_of
from modelctl.features import LABEL_TYPES, label_type as _label_type
from modelctl.spec.schema import EVALUATION_METRICS

NAMES = tuple(EVALUATION_METRICS)
"""Every metric name `compute_metrics` knows, in report order: those the schema lets `evaluation.metrics` name."""

METRICS: dict[str, tuple[str, ...]] = {
    name: tuple(kind for kind in LABEL_TYPES if name in _label_type(kind).metrics) for name in NAMES}
"""Every metric name `compute_metrics` knows, with the built-in label types it fits (their `metrics`), in
report order."""

DEFAULTS: dict[str, tuple[str, ...]] = {kind: _label_type(kind).reported_metrics() for kind in LABEL_TYPES}
"""The metrics each built-in label type reports when `names` is empty (its `default_metrics`): every one that
fits, except for multi_label."""


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
    kind = kind_of(label_type)
    if not names:
        return [name for name in NAMES if name in kind.reported_metrics()]
    if isinstance(names, str):
        raise EvaluationError(f"names must be a list of metric names; received the string {names!r}")
    fits = [name for name in NAMES if name in kind.metrics]
    problems = []
    for index, name in enumerate(names):
        if not isinstance(name, str) or name not in NAMES:
            problems.append(f"Unknown metric {name!r}. Expected one of {one_of(NAMES)}.{did_you_mean(name, fits)}")
        elif name not in fits:
            problems.append(f"Metric '{name}' does not fit label type '{label_type}'. Metrics that fit "
                            f"'{label_type}': {one_of(fits)}.")
        elif name in names[:index]:
            problems.append(f"Metric '{name}' is named more than once.")
    if problems:
        raise EvaluationError("\n".join(problems))
    return [name for name in NAMES if name in names]


def compute_metrics(label_type: str, y_true: np.ndarray, y_score: np.ndarray, *, class_names: list[str] | None = None,
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
    context = _Context(check_scores(label_type, y_true, y_score, class_names=class_names), int(top_k))
    result: dict = {"label_type": label_type, "examples": context.data.examples}
    if context.data.kind.classifies:
        result["classes"] = list(context.data.classes)
    for name in chosen:
        result[name] = _COMPUTE[name](context)
    result["notes"] = context.notes
    return _plain(result)


class _Context:
    """The prepared arrays and what several metrics share, computed at most once."""

    def __init__(self, data: CheckedScores, top_k: int):
        self.data = data
        self.top_k = top_k
        self.notes: dict[str, str] = {}

    @functools.cached_property
    def labels(self) -> list[int]:
        """Every class or label index, so that one absent from the data still gets its row and column."""
        return list(range(len(self.data.classes)))

    @functools.cached_property
    def y_pred(self) -> np.ndarray:
        return self.data.kind.predicted(self.data.y_score)

    @functools.cached_property
    def class_scores(self) -> dict[str, dict]:
        """Precision, recall and F1: per class, macro and weighted, as `compute_metrics` lays them out."""
        sk = _sklearn()
        by_average = {average: sk.precision_recall_fscore_support(self.data.y_true, self.y_pred, labels=self.labels,
                                                                  average=average, zero_division=0)[:3]
                      for average in (None, "macro", "weighted")}
        result = {}
        for index, name in enumerate(("precision", "recall", "f1")):
            per_class = by_average[None][index].tolist()
            scores = {"macro": by_average["macro"][index], "weighted": by_average["weighted"][index],
                      "per_class": dict(zip(self.data.classes, per_class))}
            positive = self.data.kind.positive_class
            result[name] = scores if positive is None else {"positive": per_class[positive], **scores}
        return result


def _sklearn():
    """`sklearn.metrics`, imported on first use: it takes seconds to load, and importing this package
    (as `modelctl validate` does) must not wait for it."""
    from sklearn import metrics

    return metrics


def _why_undefined(data: CheckedScores, truth: np.ndarray, needs_negative: bool) -> str | None:
    single = data.kind.single_class
    if not truth.any():
        return "no example in y_true" if single else "0 for every example"
    if needs_negative and truth.all():
        return "the class of every example" if single else "1 for every example"
    return None


def _area(metric: str, needs_negative: bool) -> Callable[[_Context], float | dict | None]:
    """roc_auc (`needs_negative`) or pr_auc of each binary problem, checked for the examples it needs first:
    scikit-learn would return NaN with a warning, or raise, where a note says why it is undefined."""

    def area(truth: np.ndarray, score: np.ndarray) -> float:
        sk = _sklearn()
        return (sk.roc_auc_score if metric == "roc_auc" else sk.average_precision_score)(truth, score)

    def compute(context: _Context):
        data = context.data
        if data.kind.positive_class is not None:
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
            kind, kinds = data.kind.members
            rest = (f"the macro average is over the other {len(defined)} {kinds if len(defined) > 1 else kind}" if defined
                    else "so is the macro average")
            context.notes[metric] = f"undefined for {kind} {', '.join(left_out)}; {rest}"
        # The plain mean over the defined classes: scikit-learn's macro average when every class is defined.
        return {"macro": float(np.mean(defined)) if defined else None, "per_class": per_class}

    return compute


def _log_loss(context: _Context) -> float:
    data = context.data
    if data.y_score.ndim == 2:  # one score per class: a distribution that should sum to 1
        sums = data.y_score.sum(axis=1)
        off = np.flatnonzero(~np.isclose(sums, 1.0, rtol=math.sqrt(np.finfo(np.float64).eps)))
        if off.size:
            context.notes["log_loss"] = (f"the scores of {off.size} example(s) do not sum to 1 (example {off[0]} "
                                         f"sums to {sums[off[0]]:g}); they are used as given")
    with warnings.catch_warnings():
        # The note above says it, with the example at fault.
        warnings.filterwarnings("ignore", message=r"The y_\w+ values do not sum to one", category=UserWarning)
        return _sklearn().log_loss(data.y_true, data.y_score, labels=context.labels)


def _top_k(context: _Context) -> dict:
    data = context.data
    k = min(context.top_k, len(data.classes))
    # scikit-learn reads two classes as a binary problem, which takes the second class's probability only.
    score = data.y_score[:, 1] if len(data.classes) == 2 else data.y_score
    with warnings.catch_warnings():
        # k equal to the number of classes (top_k lowered to it) scores 1.0, as "k" in the result shows.
        warnings.filterwarnings("ignore", message="'k' .* greater than or equal to 'n_classes'")
        value = _sklearn().top_k_accuracy_score(data.y_true, score, k=k, labels=context.labels)
    return {"k": k, "value": value}


def _r2(context: _Context) -> float | None:
    if context.data.examples < 2:
        context.notes["r2"] = f"undefined with fewer than 2 examples; received {context.data.examples}"
        return None
    return _sklearn().r2_score(context.data.y_true, context.data.y_score)


_COMPUTE: dict[str, Callable[[_Context], object]] = {
    "accuracy": lambda c: _sklearn().accuracy_score(c.data.y_true, c.y_pred),
    "precision": lambda c: c.class_scores["precision"],
    "recall": lambda c: c.class_scores["recall"],
    "f1": lambda c: c.class_scores["f1"],
    "roc_auc": _area("roc_auc", needs_negative=True),
    "pr_auc": _area("pr_auc", needs_negative=False),
    "log_loss": _log_loss,
    "top_k_accuracy": _top_k,
    "confusion_matrix": lambda c: _sklearn().confusion_matrix(c.data.y_true, c.y_pred, labels=c.labels).tolist(),
    "mse": lambda c: _sklearn().mean_squared_error(c.data.y_true, c.data.y_score),
    "rmse": lambda c: _sklearn().root_mean_squared_error(c.data.y_true, c.data.y_score),
    "mae": lambda c: _sklearn().mean_absolute_error(c.data.y_true, c.data.y_score),
    "r2": _r2,
    "mape": lambda c: _sklearn().mean_absolute_percentage_error(c.data.y_true, c.data.y_score),
    "subset_accuracy": lambda c: _sklearn().accuracy_score(c.data.y_true, c.y_pred),
    "hamming_loss": lambda c: _sklearn().hamming_loss(c.data.y_true, c.y_pred),
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
