"""Regression metrics, with scikit-learn's definitions.

Every function takes `y_true` and `y_pred` of shape (n, k), already checked by
`modelctl.evaluation.inputs.prepare`, computes the metric for each of the k outputs
and returns their plain mean (scikit-learn's `multioutput="uniform_average"`). So for
several outputs `rmse` is the mean of the outputs' RMSEs, not the root of `mse`, as
`sklearn.metrics.root_mean_squared_error` computes it.
"""

from __future__ import annotations

import numpy as np

MAPE_EPSILON = np.finfo(np.float64).eps


def mse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean squared error."""
    return float(np.mean(np.mean((y_true - y_pred) ** 2, axis=0)))


def rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Root mean squared error of each output, averaged over outputs."""
    return float(np.mean(np.sqrt(np.mean((y_true - y_pred) ** 2, axis=0))))


def mae(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean absolute error."""
    return float(np.mean(np.mean(np.abs(y_true - y_pred), axis=0)))


def r2(y_true: np.ndarray, y_pred: np.ndarray) -> float | None:
    """Coefficient of determination; None with fewer than 2 examples, where it is undefined.

    An output whose targets are all equal scores 1.0 when predicted exactly and 0.0
    otherwise (scikit-learn's `force_finite=True`).
    """
    if y_true.shape[0] < 2:
        return None
    residual = np.sum((y_true - y_pred) ** 2, axis=0)
    spread = np.sum((y_true - np.mean(y_true, axis=0)) ** 2, axis=0)
    scores = np.ones(y_true.shape[1])
    defined = (residual != 0) & (spread != 0)
    scores[defined] = 1 - residual[defined] / spread[defined]
    scores[(residual != 0) & (spread == 0)] = 0.0
    return float(np.mean(scores))


def mape(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean absolute percentage error as a fraction (0.1 is 10 %).

    Each error is divided by `max(|y_true|, MAPE_EPSILON)` (the float64 machine epsilon),
    so a zero target gives a huge but finite term, as in scikit-learn.
    """
    ratios = np.abs(y_pred - y_true) / np.maximum(np.abs(y_true), MAPE_EPSILON)
    return float(np.mean(np.mean(ratios, axis=0)))
