"""Checks of true labels and model scores that several label types share (see `LabelType.checked_scores`).

Nothing is coerced silently: a shape or value that does not fit is an `EvaluationError` naming what was
received. Classifiers predict 1 where a score is above `THRESHOLD` (0.5, as Keras's `binary_accuracy`).
"""

from __future__ import annotations

from modelctl.util.lazy import numpy as np

from modelctl.errors import EvaluationError

THRESHOLD = 0.5
"""A score above it predicts 1 (binary, multi_label)."""


def column(array: np.ndarray) -> np.ndarray | None:
    """`array` as (n,) when it is (n,) or (n, 1), else None."""
    if array.ndim == 1:
        return array
    if array.ndim == 2 and array.shape[1] == 1:
        return array[:, 0]
    return None


def shape_error(label_type: str, expected: str, y_true: np.ndarray, *, y_score: np.ndarray) -> EvaluationError:
    return EvaluationError(f"{expected} for label type '{label_type}'; received y_true shape {y_true.shape} "
                           f"and y_score shape {y_score.shape}")


def first(mask: np.ndarray) -> str:
    """The index of the first True of `mask`, as shown in messages: `3` or `(3, 1)`."""
    index = tuple(int(i) for i in np.argwhere(mask)[0])
    return str(index[0]) if len(index) == 1 else str(index)


def finite(name: str, array: np.ndarray) -> None:
    """Raise `EvaluationError` when `array` holds NaN or infinity."""
    bad = ~np.isfinite(array)
    if bad.any():
        raise EvaluationError(f"{name} must hold finite numbers; received {int(bad.sum())} NaN or infinite "
                              f"value(s), the first at index {first(bad)}")


def probabilities(label_type: str, y_score: np.ndarray) -> None:
    """Raise `EvaluationError` when a score is outside [0, 1]."""
    low, high = float(y_score.min()), float(y_score.max())
    if low < 0 or high > 1:
        raise EvaluationError(f"y_score must hold probabilities in [0, 1] for label type '{label_type}'; received "
                              f"values from {low:g} to {high:g} (apply a sigmoid or softmax to a model's logits)")


def allowed_labels(label_type: str, y_true: np.ndarray, bad: np.ndarray, *, allowed: str) -> np.ndarray:
    """`y_true` as int64, or `EvaluationError` at the first `bad` value, saying the `allowed` ones."""
    if bad.any():
        raise EvaluationError(f"y_true must hold {allowed} for label type '{label_type}'; received "
                              f"{y_true[bad].flat[0].item()!r} at index {first(bad)}")
    return y_true.astype(np.int64)


__all__ = ["THRESHOLD", "allowed_labels", "column", "finite", "first", "probabilities", "shape_error"]
