"""Threshold curves of one binary problem: ROC, precision-recall and reliability.

Each function takes `y_true` (n,) of 0 and 1 and `score` (n,) of floats, already
checked by `modelctl.evaluation.inputs.prepare`. The definitions are those of
scikit-learn's `roc_curve`/`roc_auc_score`, `precision_recall_curve`/
`average_precision_score` and `calibration.calibration_curve(strategy="uniform")`,
without sample weights:

- ROC AUC is the trapezoidal area under (false positive rate, true positive rate);
  it needs both classes in `y_true`.
- Average precision is the step sum `sum_n (R_n - R_{n-1}) P_n` over thresholds; it
  needs at least one positive in `y_true`.
"""

from __future__ import annotations

import numpy as np


def threshold_counts(y_true: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """False and true positives when every distinct score, highest first, is the threshold.

    Returns:
        (fps, tps, thresholds), each of shape (number of distinct scores,).
    """
    order = np.argsort(score, kind="stable")[::-1]
    score = score[order]
    positives = y_true[order].astype(np.float64)
    last = np.r_[np.flatnonzero(np.diff(score)), score.size - 1]
    tps = np.cumsum(positives)[last]
    fps = 1 + last - tps
    return fps, tps, score[last]


def has_both_classes(y_true: np.ndarray) -> bool:
    """Whether `y_true` holds at least one 0 and one 1 (so ROC AUC is defined)."""
    return bool(y_true.any() and not y_true.all())


def roc_curve(y_true: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(false positive rates, true positive rates) from (0, 0) to (1, 1); `y_true` must hold both classes."""
    fps, tps, _ = threshold_counts(y_true, score)
    fps, tps = np.r_[0.0, fps], np.r_[0.0, tps]
    return fps / fps[-1], tps / tps[-1]


def roc_auc(y_true: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve; `y_true` must hold both classes."""
    fpr, tpr = roc_curve(y_true, score)
    return float(np.trapezoid(tpr, fpr))


def precision_recall_curve(y_true: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(precision, recall) with recall decreasing to the final point (precision 1, recall 0).

    `y_true` must hold at least one positive.
    """
    fps, tps, _ = threshold_counts(y_true, score)
    predicted = tps + fps
    precision = np.divide(tps, predicted, out=np.zeros_like(tps), where=predicted != 0)
    recall = tps / tps[-1]
    return np.r_[precision[::-1], 1.0], np.r_[recall[::-1], 0.0]


def average_precision(y_true: np.ndarray, score: np.ndarray) -> float:
    """Average precision (area under the precision-recall step curve); `y_true` must hold a positive."""
    precision, recall = precision_recall_curve(y_true, score)
    return float(max(0.0, -np.sum(np.diff(recall) * precision[:-1])))


def reliability(y_true: np.ndarray, probability: np.ndarray, bins: int = 10
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reliability diagram of `bins` equal-width bins over [0, 1] (default 10).

    Returns:
        (mean probability, fraction of positives, number of examples) of each non-empty
        bin, in increasing order of probability.
    """
    edges = np.linspace(0.0, 1.0, bins + 1)
    ids = np.searchsorted(edges[1:-1], probability)
    total = np.bincount(ids, minlength=bins)
    sums = np.bincount(ids, weights=probability, minlength=bins)
    hits = np.bincount(ids, weights=y_true.astype(np.float64), minlength=bins)
    filled = total > 0
    return sums[filled] / total[filled], hits[filled] / total[filled], total[filled]
