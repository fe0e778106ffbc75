"""Every evaluation metric: worked out by hand on small cases, and against scikit-learn on random and edge-case
predictions (class order, absent classes, averages and undefined values)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn import metrics as sk

from modelctl.errors import ModelctlError
from modelctl.evaluation import DEFAULTS, METRICS, EvaluationError, compute_metrics, metric_names

TOP_K = 2


def _probabilities(rng: np.random.Generator, y_true: np.ndarray, classes: int, boost: float = 1.0) -> np.ndarray:
    scores = rng.dirichlet(np.ones(classes), size=y_true.size)
    scores[np.arange(y_true.size), y_true] += boost * rng.random(y_true.size)
    return scores / scores.sum(axis=1, keepdims=True)


def _binary_random():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 120)
    return "binary", y, np.clip(0.35 * y + 0.65 * rng.random(120), 0, 1), ["cat", "dog"]


def _binary_ties():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 80)
    return "binary", y, np.round(np.clip(0.3 * y + 0.7 * rng.random(80), 0, 1), 1).reshape(-1, 1), None


def _binary_perfect():
    y = np.array([0, 1] * 10)
    return "binary", y, y.astype(float), ["no", "yes"]


def _binary_only_positives():
    return "binary", np.ones(12, dtype=int), np.linspace(0.05, 0.95, 12), None


def _binary_no_positives():
    return "binary", np.zeros(12, dtype=int), np.linspace(0.05, 0.95, 12), None


def _categorical_random():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, 150)
    return "categorical", y, _probabilities(rng, y, 3), ["setosa", "versicolor", "virginica"]


def _categorical_missing_class():
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 60)
    return "categorical", y, _probabilities(rng, y, 3, boost=0.3), ["a", "b", "c"]


def _categorical_perfect():
    y = np.array([0, 1, 2] * 7)
    return "categorical", y, np.eye(3)[y], None


def _categorical_ties():
    rng = np.random.default_rng(5)
    y = rng.integers(0, 4, 40)
    scores = np.tile([0.4, 0.2, 0.2, 0.2], (40, 1))
    scores[::3] = [0.1, 0.3, 0.3, 0.3]
    return "categorical", y, scores, ["w", "x", "y", "z"]


def _multi_label_random():
    rng = np.random.default_rng(6)
    y = rng.integers(0, 2, (100, 4))
    return "multi_label", y, np.clip(0.4 * y + 0.6 * rng.random((100, 4)), 0, 1), ["red", "green", "blue", "gold"]


def _multi_label_constant_labels():
    rng = np.random.default_rng(7)
    y = rng.integers(0, 2, (50, 4))
    y[:, 2], y[:, 3] = 0, 1
    return "multi_label", y, rng.random((50, 4)), None


def _multi_label_perfect():
    y = np.array([[1, 0, 1], [0, 1, 1], [0, 0, 0], [1, 1, 0]] * 5)
    return "multi_label", y, y.astype(float), ["p", "q", "r"]


def _regression_one_output():
    rng = np.random.default_rng(8)
    y = rng.normal(3.0, 2.0, 90)
    return "regression", y, y + rng.normal(0, 0.7, 90), None


def _regression_two_outputs():
    rng = np.random.default_rng(9)
    y = rng.normal(0.0, [1.0, 10.0], (70, 2))
    return "regression", y, y + rng.normal(0, [0.5, 3.0], (70, 2)), ["price", "volume"]


def _regression_perfect():
    y = np.linspace(-2, 2, 25)
    return "regression", y.reshape(-1, 1), y.copy(), None


def _regression_zero_targets():
    y = np.array([0.0, 1.0, -2.0, 0.0, 4.0, 3.5])
    return "regression", y, y + np.array([0.1, -0.2, 0.3, 0.0, -1.0, 0.5]), None


def _regression_constant_targets():
    y = np.column_stack([np.full(10, 2.0), np.full(10, 5.0), np.arange(10.0)])
    pred = y + np.column_stack([np.zeros(10), np.linspace(-1, 1, 10), np.linspace(0, 1, 10)])
    return "regression", y, pred, None


def _regression_one_example():
    return "regression", np.array([1.5]), np.array([1.0]), None


CASES = {function.__name__[1:]: function for function in [
    _binary_random, _binary_ties, _binary_perfect, _binary_only_positives, _binary_no_positives,
    _categorical_random, _categorical_missing_class, _categorical_perfect, _categorical_ties,
    _multi_label_random, _multi_label_constant_labels, _multi_label_perfect,
    _regression_one_output, _regression_two_outputs, _regression_perfect, _regression_zero_targets,
    _regression_constant_targets, _regression_one_example,
]}


def _nan_to_none(value):
    return None if value is None or np.isnan(value) else float(value)


def _mean_or_none(values):
    defined = [value for value in values if value is not None]
    return float(np.mean(defined)) if defined else None


def _areas(metric, label_type, y, s, classes):
    """Expected roc_auc or pr_auc, from scikit-learn."""
    if label_type == "binary":
        if metric == "roc_auc":
            return _nan_to_none(sk.roc_auc_score(y, s))
        return float(sk.average_precision_score(y, s)) if y.any() else None
    truth = np.eye(len(classes), dtype=int)[y] if label_type == "categorical" else y
    per_class = []
    for column in range(len(classes)):
        t, score = truth[:, column], s[:, column]
        if metric == "roc_auc":
            per_class.append(_nan_to_none(sk.roc_auc_score(t, score)) if 0 < t.sum() < t.size else None)
        else:
            per_class.append(float(sk.average_precision_score(t, score)) if t.any() else None)
    if None not in per_class:
        if label_type == "categorical":
            macro = (sk.roc_auc_score(y, s, multi_class="ovr", labels=range(len(classes))) if metric == "roc_auc"
                     else sk.average_precision_score(y, s))
        else:
            scorer = sk.roc_auc_score if metric == "roc_auc" else sk.average_precision_score
            macro = scorer(y, s, average="macro")
        assert macro == pytest.approx(_mean_or_none(per_class), rel=1e-12)
    else:
        macro = _mean_or_none(per_class)
    return {"macro": macro, "per_class": dict(zip(classes, per_class))}


def _expected(metric, label_type, y, s, classes):
    """What `compute_metrics` must report for `metric`, computed with scikit-learn."""
    if label_type == "regression":
        y, s = (y.reshape(-1, 1) if y.ndim == 1 else y), (s.reshape(-1, 1) if s.ndim == 1 else s)
        if metric == "r2":
            return _nan_to_none(sk.r2_score(y, s)) if y.shape[0] > 1 else None
        return {"mse": sk.mean_squared_error, "rmse": sk.root_mean_squared_error, "mae": sk.mean_absolute_error,
                "mape": sk.mean_absolute_percentage_error}[metric](y, s)
    s = s.ravel() if label_type == "binary" else s
    labels = list(range(len(classes)))
    y_pred = s.argmax(axis=1) if label_type == "categorical" else (s > 0.5).astype(int)
    if metric in ("precision", "recall", "f1"):
        index = ("precision", "recall", "f1").index(metric)
        kwargs = {"labels": None if label_type == "multi_label" else labels, "zero_division": 0}
        result = {"macro": sk.precision_recall_fscore_support(y, y_pred, average="macro", **kwargs)[index],
                  "weighted": sk.precision_recall_fscore_support(y, y_pred, average="weighted", **kwargs)[index],
                  "per_class": dict(zip(classes, sk.precision_recall_fscore_support(y, y_pred, average=None,
                                                                                    **kwargs)[index]))}
        if label_type == "binary":
            scorer = {"precision": sk.precision_score, "recall": sk.recall_score, "f1": sk.f1_score}[metric]
            result["positive"] = scorer(y, y_pred, zero_division=0)
        return result
    if metric in ("roc_auc", "pr_auc"):
        return _areas(metric, label_type, y, s, classes)
    return {
        "accuracy": lambda: sk.accuracy_score(y, y_pred),
        "log_loss": lambda: sk.log_loss(y, s, labels=labels),
        "top_k_accuracy": lambda: {"k": min(TOP_K, len(classes)),
                                   "value": sk.top_k_accuracy_score(y, s, k=min(TOP_K, len(classes)), labels=labels)},
        "confusion_matrix": lambda: sk.confusion_matrix(y, y_pred, labels=labels).tolist(),
        "subset_accuracy": lambda: sk.accuracy_score(y, y_pred),
        "hamming_loss": lambda: sk.hamming_loss(y, y_pred),
    }[metric]()


def _assert_close(actual, expected, where="$"):
    if isinstance(expected, dict):
        assert isinstance(actual, dict) and set(actual) == set(expected), where
        for key in expected:
            _assert_close(actual[key], expected[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), where
        for index, (left, right) in enumerate(zip(actual, expected)):
            _assert_close(left, right, f"{where}[{index}]")
    elif expected is None:
        assert actual is None, f"{where}: expected None, got {actual!r}"
    elif isinstance(expected, (int, np.integer)) and not isinstance(expected, bool):
        assert actual == expected and type(actual) is int, f"{where}: {actual!r} != {expected!r}"
    else:
        assert type(actual) is float, f"{where}: {actual!r} is not a float"
        assert actual == pytest.approx(float(expected), rel=1e-9, abs=1e-12), where


def _pairs():
    for case, build in CASES.items():
        label_type = build()[0]
        for metric, fits in METRICS.items():
            if label_type in fits:
                yield pytest.param(case, metric, id=f"{case}-{metric}")


@pytest.mark.parametrize(("case", "metric"), list(_pairs()))
def test_metric_matches_scikit_learn(case, metric):
    label_type, y_true, y_score, class_names = CASES[case]()
    result = compute_metrics(label_type, y_true, y_score, class_names=class_names, names=[metric], top_k=TOP_K)
    count = 2 if label_type == "binary" else np.shape(y_score)[-1]
    classes = class_names or [str(i) for i in range(count)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = _expected(metric, label_type, np.asarray(y_true), np.asarray(y_score, dtype=float), classes)
    _assert_close(result[metric], expected, f"$.{metric}")


@pytest.mark.parametrize("case", list(CASES))
def test_default_layout_is_stable_and_json_ready(case):
    label_type, y_true, y_score, class_names = CASES[case]()
    result = compute_metrics(label_type, y_true, y_score, class_names=class_names)
    head = ["label_type", "examples"] + ([] if label_type == "regression" else ["classes"])
    assert list(result) == head + list(DEFAULTS[label_type]) + ["notes"]
    assert result["examples"] == len(y_true)
    json.dumps(result, allow_nan=False)
    for name in ("precision", "recall", "f1"):
        if name in result:
            expected_keys = ["positive"] * (label_type == "binary") + ["macro", "weighted", "per_class"]
            assert list(result[name]) == expected_keys


def test_defaults_per_label_type():
    assert DEFAULTS == {
        "binary": ("accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "log_loss", "confusion_matrix"),
        "categorical": ("accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "log_loss", "top_k_accuracy",
                        "confusion_matrix"),
        "multi_label": ("f1", "subset_accuracy", "hamming_loss"),
        "regression": ("mse", "rmse", "mae", "r2", "mape"),
    }


def test_metric_names_follow_the_schema():
    from modelctl.spec.data_schema import LABEL_TYPES
    from modelctl.spec.schema import EVALUATION_METRICS

    assert list(METRICS) == EVALUATION_METRICS
    assert set(DEFAULTS) == set(LABEL_TYPES)


def test_names_select_metrics_in_table_order():
    _, y_true, y_score, _ = _categorical_random()
    result = compute_metrics("categorical", y_true, y_score, names=["log_loss", "accuracy"])
    assert list(result) == ["label_type", "examples", "classes", "accuracy", "log_loss", "notes"]
    assert metric_names("regression", []) == list(DEFAULTS["regression"])


def test_binary_threshold_is_strictly_above_one_half():
    result = compute_metrics("binary", [0, 1, 1], [0.5, 0.5000001, 0.9], names=["confusion_matrix"])
    assert result["confusion_matrix"] == [[1, 0], [0, 2]]


def test_labels_may_be_floats_or_booleans_and_columns():
    expected = compute_metrics("binary", np.array([0, 1, 1, 0]), np.array([0.2, 0.7, 0.4, 0.1]))
    assert compute_metrics("binary", np.array([[0.0], [1.0], [1.0], [0.0]]), np.array([[0.2], [0.7], [0.4], [0.1]])
                           ) == expected
    assert compute_metrics("binary", np.array([False, True, True, False]), [0.2, 0.7, 0.4, 0.1]) == expected


def test_notes_say_what_is_undefined():
    _, y_true, y_score, names = _categorical_missing_class()
    notes = compute_metrics("categorical", y_true, y_score, class_names=names)["notes"]
    assert notes == {
        "roc_auc": "undefined for class 'c' (no example in y_true); the macro average is over the other 2 classes",
        "pr_auc": "undefined for class 'c' (no example in y_true); the macro average is over the other 2 classes",
    }
    _, y_true, y_score, _ = _multi_label_constant_labels()
    notes = compute_metrics("multi_label", y_true, y_score, names=["roc_auc", "pr_auc"])["notes"]
    assert notes == {
        "roc_auc": "undefined for label '2' (0 for every example), '3' (1 for every example); the macro average is "
                   "over the other 2 labels",
        "pr_auc": "undefined for label '2' (0 for every example); the macro average is over the other 3 labels",
    }
    assert compute_metrics("binary", [1, 1], [0.3, 0.8], class_names=["neg", "pos"], names=["roc_auc"])["notes"] == {
        "roc_auc": "undefined: every example in y_true is of class 'pos'"}
    assert compute_metrics("regression", [1.0], [2.0], names=["r2"])["notes"] == {
        "r2": "undefined with fewer than 2 examples; received 1"}
    assert compute_metrics("categorical", [0, 1], [[0.5, 0.6], [0.2, 0.8]], names=["log_loss"])["notes"] == {
        "log_loss": "the scores of 1 example(s) do not sum to 1 (example 0 sums to 1.1); they are used as given"}


def _approx(value):
    if isinstance(value, dict):
        return {key: _approx(item) for key, item in value.items()}
    return pytest.approx(value, rel=1e-12) if isinstance(value, float) else value


def test_binary_values_worked_out_by_hand():
    # Predictions (score > 0.5): 0 1 1 1 0 against truth 0 0 0 1 1.
    result = compute_metrics("binary", [0, 0, 0, 1, 1], [0.2, 0.7, 0.6, 0.9, 0.3], class_names=["no", "yes"])
    assert result == _approx({
        "label_type": "binary", "examples": 5, "classes": ["no", "yes"],
        "accuracy": 2 / 5,
        # "no": 1 right of 2 predicted, 3 true; "yes": 1 right of 3 predicted, 2 true.
        "precision": {"positive": 1 / 3, "macro": (1 / 2 + 1 / 3) / 2, "weighted": (3 * 1 / 2 + 2 * 1 / 3) / 5,
                      "per_class": {"no": 1 / 2, "yes": 1 / 3}},
        "recall": {"positive": 1 / 2, "macro": (1 / 3 + 1 / 2) / 2, "weighted": 2 / 5,
                   "per_class": {"no": 1 / 3, "yes": 1 / 2}},
        "f1": {"positive": 2 / 5, "macro": 2 / 5, "weighted": 2 / 5, "per_class": {"no": 2 / 5, "yes": 2 / 5}},
        # Positive scores 0.9 and 0.3 against negative 0.2, 0.7, 0.6: 0.9 ranks above 3, 0.3 above 1.
        "roc_auc": 4 / 6,
        # Highest score first: 0.9 (+) gives precision 1 at recall 1/2, 0.3 (+) precision 2/4 at recall 1.
        "pr_auc": 1 / 2 * 1 + 1 / 2 * 2 / 4,
        "log_loss": float(-np.mean(np.log([0.8, 0.3, 0.4, 0.9, 0.3]))),
        "confusion_matrix": [[1, 2], [1, 1]],
        "notes": {},
    })


def test_categorical_values_worked_out_by_hand():
    scores = [[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7], [0.35, 0.15, 0.5]]
    # Predictions (highest score): 0 1 2 2 against truth 0 1 2 1.
    result = compute_metrics("categorical", [0, 1, 2, 1], scores, class_names=["a", "b", "c"], top_k=2,
                             names=["accuracy", "f1", "roc_auc", "log_loss", "top_k_accuracy", "confusion_matrix"])
    assert result == _approx({
        "label_type": "categorical", "examples": 4, "classes": ["a", "b", "c"],
        "accuracy": 3 / 4,
        "f1": {"macro": (1 + 2 / 3 + 2 / 3) / 3, "weighted": (1 + 2 * 2 / 3 + 2 / 3) / 4,
               "per_class": {"a": 1.0, "b": 2 / 3, "c": 2 / 3}},
        # One-vs-rest: "b" scores 0.7 and 0.15 against 0.1 and 0.2, so 3 of 4 pairs are ranked right.
        "roc_auc": {"macro": (1 + 3 / 4 + 1) / 3, "per_class": {"a": 1.0, "b": 3 / 4, "c": 1.0}},
        "log_loss": float(-np.mean(np.log([0.8, 0.7, 0.7, 0.15]))),
        # The last example's two highest scores are "c" and "a"; it is "b".
        "top_k_accuracy": {"k": 2, "value": 3 / 4},
        "confusion_matrix": [[1, 0, 0], [0, 1, 1], [0, 0, 1]],
        "notes": {},
    })


def test_two_class_categorical_top_k():
    y_true, y_score = [0, 1, 1], [[0.6, 0.4], [0.3, 0.7], [0.8, 0.2]]
    result = compute_metrics("categorical", y_true, y_score, top_k=1, names=["accuracy", "top_k_accuracy"])
    assert result["accuracy"] == result["top_k_accuracy"]["value"] == pytest.approx(2 / 3)
    assert compute_metrics("categorical", y_true, y_score, names=["top_k_accuracy"])["top_k_accuracy"] == {
        "k": 2, "value": 1.0}


def test_multi_label_values_worked_out_by_hand():
    # Predictions (score > 0.5): [1 1] [0 0] [1 1] [1 0] against truth [1 0] [0 1] [1 1] [1 0].
    result = compute_metrics("multi_label", [[1, 0], [0, 1], [1, 1], [1, 0]],
                             [[0.9, 0.6], [0.2, 0.4], [0.7, 0.8], [0.8, 0.1]], class_names=["red", "blue"])
    assert result == _approx({
        "label_type": "multi_label", "examples": 4, "classes": ["red", "blue"],
        # "red": 3 right, none wrong; "blue": 1 right, 1 false positive, 1 missed.
        "f1": {"macro": (1 + 1 / 2) / 2, "weighted": (3 * 1 + 2 * 1 / 2) / 5, "per_class": {"red": 1.0, "blue": 1 / 2}},
        "subset_accuracy": 2 / 4,
        "hamming_loss": 2 / 8,
        "notes": {},
    })


def test_regression_values_worked_out_by_hand():
    y_true = [[1.0, 10.0], [2.0, 10.0], [3.0, 10.0], [4.0, 10.0]]
    y_score = [[1.5, 12.0], [2.0, 8.0], [2.0, 10.0], [4.0, 10.0]]
    # Errors: 0.5, 0, -1, 0 and 2, -2, 0, 0; each metric is the mean over the two outputs.
    result = compute_metrics("regression", y_true, y_score, class_names=["price", "volume"])
    assert result == _approx({
        "label_type": "regression", "examples": 4,
        "mse": (1.25 / 4 + 8 / 4) / 2,
        "rmse": (math.sqrt(1.25 / 4) + math.sqrt(8 / 4)) / 2,
        "mae": (1.5 / 4 + 4 / 4) / 2,
        # Output 1: 1 - 1.25 / 5; output 2 has constant targets and is not predicted exactly: 0.
        "r2": (1 - 1.25 / 5 + 0.0) / 2,
        "mape": ((0.5 / 1 + 1 / 3) / 4 + (2 / 10 + 2 / 10) / 4) / 2,
        "notes": {},
    })


Y3 = np.array([0, 1, 2, 1])
P3 = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7], [0.3, 0.3, 0.4]])

ERRORS = {
    "label type": (dict(label_type="binray", y_true=[0, 1], y_score=[0.2, 0.8]),
                   "Invalid label type 'binray'. Expected one of 'binary', 'categorical', 'multi_label' or "
                   "'regression'. Did you mean 'binary'?"),
    "metric of another label type": (
        dict(label_type="binary", y_true=[0, 1], y_score=[0.2, 0.8], names=["rmse"]),
        "Metric 'rmse' does not fit label type 'binary'. Metrics that fit 'binary': 'accuracy', 'precision', "
        "'recall', 'f1', 'roc_auc', 'pr_auc', 'log_loss' or 'confusion_matrix'."),
    "every bad name": (
        dict(label_type="multi_label", y_true=[[0, 1]], y_score=[[0.2, 0.8]], names=["hamming_los", "f1", "f1"]),
        "Unknown metric 'hamming_los'. Expected one of 'accuracy', 'precision', 'recall', 'f1', 'roc_auc', "
        "'pr_auc', 'log_loss', 'top_k_accuracy', 'confusion_matrix', 'mse', 'rmse', 'mae', 'r2', 'mape', "
        "'subset_accuracy' or 'hamming_loss'. Did you mean 'hamming_loss'?\nMetric 'f1' is named more than once."),
    "top_k": (dict(label_type="categorical", y_true=Y3, y_score=P3, top_k=0),
              "Invalid value for argument `top_k`. Expected an integer >= 1. Received: top_k=0"),
    "example counts": (dict(label_type="binary", y_true=[0, 1, 1], y_score=[0.2, 0.8]),
                       "y_true and y_score must hold the same number of examples; received shapes (3,) and (2,)"),
    "no examples": (dict(label_type="binary", y_true=[], y_score=[]),
                    "y_true holds no examples; received shape (0,)"),
    "strings": (dict(label_type="binary", y_true=["a", "b"], y_score=[0.2, 0.8]),
                "y_true must hold real numbers; received an array of dtype <U1"),
    "binary with two score columns": (
        dict(label_type="binary", y_true=[0, 1], y_score=[[0.8, 0.2], [0.3, 0.7]]),
        "y_true and y_score must have shape (n,) or (n, 1) for label type 'binary'; received y_true shape (2,) and "
        "y_score shape (2, 2) (two columns of scores are label type 'categorical'; binary takes the positive "
        "class's probability only)"),
    "categorical scores of one column": (
        dict(label_type="categorical", y_true=[0, 1], y_score=[0.2, 0.8]),
        "y_score must have shape (n, C) with C >= 2 for label type 'categorical'; received shape (2,)"),
    "one-hot labels": (dict(label_type="categorical", y_true=np.eye(3)[Y3], y_score=P3),
                       "y_true must hold class indices of shape (n,) for label type 'categorical'; received shape "
                       "(4, 3) (one-hot labels: pass y_true.argmax(axis=1))"),
    "multi_label shapes": (
        dict(label_type="multi_label", y_true=[[0, 1, 1]], y_score=[[0.2, 0.8]]),
        "y_true and y_score must have the same shape (n, L) for label type 'multi_label'; received y_true shape "
        "(1, 3) and y_score shape (1, 2)"),
    "regression shapes": (
        dict(label_type="regression", y_true=[[1.0, 2.0]], y_score=[1.0]),
        "y_true and y_score must have the same shape (n,) or (n, k) for label type 'regression'; received y_true "
        "shape (1, 2) and y_score shape (1,)"),
    "NaN score": (dict(label_type="regression", y_true=[1.0, 2.0], y_score=[1.0, float("nan")]),
                  "y_score must hold finite numbers; received 1 NaN or infinite value(s), the first at index (1, 0)"),
    "logits": (dict(label_type="binary", y_true=[0, 1], y_score=[-2.5, 3.0]),
               "y_score must hold probabilities in [0, 1] for label type 'binary'; received values from -2.5 to 3 "
               "(apply a sigmoid or softmax to a model's logits)"),
    "binary label 2": (dict(label_type="binary", y_true=[0, 2], y_score=[0.2, 0.8]),
                       "y_true must hold 0 or 1 for label type 'binary'; received 2 at index 1"),
    "class index out of range": (
        dict(label_type="categorical", y_true=[0, 1, 3, 1], y_score=P3),
        "y_true must hold class indices 0 to 2 for label type 'categorical'; received 3 at index 2"),
    "class names count": (dict(label_type="categorical", y_true=Y3, y_score=P3, class_names=["a", "b"]),
                          "class_names must be 3 strings, one per class of the scores; received ['a', 'b']"),
    "repeated class names": (
        dict(label_type="categorical", y_true=Y3, y_score=P3, class_names=["a", "b", "a"]),
        "class_names must all differ; received 'a' more than once"),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_errors_say_what_was_received(case):
    kwargs, message = ERRORS[case]
    with pytest.raises(EvaluationError) as raised:
        compute_metrics(**kwargs)
    assert str(raised.value) == message
    assert isinstance(raised.value, ModelctlError) and raised.value.exit_code == 1


def test_scikit_learn_loads_only_when_metrics_are_computed():
    code = (
        "import sys\n"
        "heavy = lambda: sorted({m.split('.')[0] for m in sys.modules} & {'tensorflow', 'keras', 'sklearn', "
        "'matplotlib'})\n"
        "import modelctl.evaluation as e\n"
        "from modelctl.cli.app import app\n"
        "try:\n"
        "    app(['validate', sys.argv[1]], standalone_mode=False)\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(heavy())\n"
        "e.compute_metrics('binary', [0, 1], [0.3, 0.6])\n"
        "print(heavy())\n"
    )
    spec = Path(__file__).parent / "specs" / "valid" / "graph.yaml"
    output = subprocess.run([sys.executable, "-c", code, str(spec)], capture_output=True, text=True, check=True)
    assert output.stdout.splitlines()[-2:] == ["[]", "['sklearn']"]
