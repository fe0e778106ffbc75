"""Regression labels: a number (or several); the target is float32 as read.

    labels:
      price: {type: regression, column: price}
"""

from __future__ import annotations

from modelctl.util.lazy import numpy as np

from modelctl.errors import DataError
from modelctl.features.labels import scores as checks
from modelctl.features.labels.base import LabelType


class RegressionLabel(LabelType):
    """A number; see the module docstring."""

    name = "regression"
    default_loss = "mean_squared_error"
    summarized = True
    classifies = False
    members = ("output", "outputs")
    metrics = ("mse", "rmse", "mae", "r2", "mape")
    plots = ("residuals",)

    @classmethod
    def output_units(cls, options: dict) -> int:
        return 1

    def encode(self, values: np.ndarray, numbers: np.ndarray) -> np.ndarray:
        if values.dtype == object:
            raise DataError(f"regression label '{self.item.name}' reads column '{self.column}', which "
                            "holds text; expected numbers")
        targets = values.astype(np.float32)
        self._no_missing(np.isnan(targets.reshape(len(targets), -1)).any(axis=1), numbers)
        return targets

    @staticmethod
    def score(values: np.ndarray, truth: np.ndarray) -> tuple[str, float]:
        return "mae", float(np.mean(np.abs(values.reshape(len(truth), -1)[:, 0] - truth.reshape(-1))))

    @staticmethod
    def predictions(label: str, score: np.ndarray, classes: list[str]) -> dict:
        flat = np.ravel(score)
        return {label: float(flat[0]) if flat.size == 1 else [float(value) for value in flat]}


    @classmethod
    def shaped_scores(cls, y_true: np.ndarray, y_score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Both (n, k) float64; (n,) and (n, 1) are read as (n, 1)."""
        true, score = checks.column(y_true), checks.column(y_score)
        if true is not None and score is not None:
            return true[:, None].astype(np.float64), score[:, None].astype(np.float64)
        if y_true.ndim != 2 or y_true.shape != y_score.shape:
            raise checks.shape_error(cls.name, "y_true and y_score must have the same shape (n,) or (n, k)",
                                     y_true, y_score=y_score)
        return y_true.astype(np.float64), y_score.astype(np.float64)

    @classmethod
    def checked_scores(cls, y_true: np.ndarray, y_score: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
        """Finite numbers, any value."""
        y_true, y_score = cls.shaped_scores(y_true, y_score)
        checks.finite("y_score", y_score)
        checks.finite("y_true", y_true)
        return y_true, y_score, cls.score_count(y_score)


__all__ = ["RegressionLabel"]
