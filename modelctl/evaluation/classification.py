"""Counting metrics of classifiers, with scikit-learn's definitions.

Every function takes arrays already checked by `modelctl.evaluation.inputs.prepare`.
Predictions come from the scores: binary and multi_label predict 1 where the score is
above `THRESHOLD` (0.5, as Keras's `binary_accuracy`), categorical predicts the class of
the highest score (the first one on ties).

Precision, recall and F1 follow `sklearn.metrics.precision_recall_fscore_support` with
`zero_division=0`: precision = tp / predicted, recall = tp / actual,
F1 = 2 tp / (2 tp + fp + fn), each 0 where its denominator is 0. The macro average
is the plain mean over classes (every class, present or not); the weighted average
weighs each class by its number of true examples, and is the plain mean when no class
has any.
"""

from __future__ import annotations

import numpy as np

THRESHOLD = 0.5


def predictions(label_type: str, y_score: np.ndarray) -> np.ndarray:
    """Predicted labels: class indices (n,) for categorical, 0/1 of `y_score`'s shape otherwise."""
    if label_type == "categorical":
        return np.argmax(y_score, axis=1)
    return (y_score > THRESHOLD).astype(np.int64)


def confusion(y_true: np.ndarray, y_pred: np.ndarray, classes: int) -> np.ndarray:
    """Confusion matrix (classes, classes) of counts; rows are true classes, columns predicted ones."""
    return np.bincount(y_true * classes + y_pred, minlength=classes * classes).reshape(classes, classes)


def class_counts(label_type: str, y_true: np.ndarray, y_pred: np.ndarray, classes: int
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(true positives, predicted, actual) per class (binary, categorical) or label (multi_label)."""
    if label_type == "multi_label":
        return (y_true & y_pred).sum(axis=0), y_pred.sum(axis=0), y_true.sum(axis=0)
    matrix = confusion(y_true, y_pred, classes)
    return np.diag(matrix), matrix.sum(axis=0), matrix.sum(axis=1)


def _divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    numerator = numerator.astype(np.float64)
    return np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator != 0)


def precision_recall_f1(tp: np.ndarray, predicted: np.ndarray, actual: np.ndarray) -> dict[str, np.ndarray]:
    """Per-class precision, recall and F1 under the module docstring's definitions."""
    return {
        "precision": _divide(tp, predicted),
        "recall": _divide(tp, actual),
        "f1": _divide(2 * tp, actual + predicted),
    }


def averages(values: np.ndarray, actual: np.ndarray) -> tuple[float, float]:
    """(macro, weighted) averages of per-class `values`, weighted by `actual` counts."""
    macro = float(np.mean(values))
    weighted = float(np.average(values, weights=actual)) if actual.sum() > 0 else macro
    return macro, weighted


def log_loss(label_type: str, y_true: np.ndarray, y_score: np.ndarray) -> float:
    """Mean negative log-likelihood of the true class (binary or categorical).

    Probabilities are clipped to [eps, 1 - eps] with eps the float64 machine epsilon and
    are not renormalised, as `sklearn.metrics.log_loss` does.
    """
    probabilities = np.column_stack([1 - y_score, y_score]) if label_type == "binary" else y_score
    eps = np.finfo(np.float64).eps
    chosen = np.clip(probabilities, eps, 1 - eps)[np.arange(y_true.size), y_true]
    return float(-np.mean(np.log(chosen)))


def top_k_accuracy(y_true: np.ndarray, y_score: np.ndarray, k: int) -> float:
    """Fraction of examples whose true class is among the `k` highest scores.

    Ties are broken as `sklearn.metrics.top_k_accuracy_score` breaks them: among equal
    scores the class with the higher index ranks first.
    """
    ranked = np.argsort(y_score, axis=1, kind="mergesort")[:, ::-1][:, :k]
    return float(np.mean((ranked == y_true[:, None]).any(axis=1)))


def subset_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Fraction of examples whose every label is predicted right (multi_label)."""
    return float(np.mean((y_true == y_pred).all(axis=1)))


def hamming_loss(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Fraction of (example, label) pairs predicted wrong (multi_label)."""
    return float(np.mean(y_true != y_pred))
