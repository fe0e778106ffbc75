"""Regression labels: a number (or several); the target is float32 as read.

    labels:
      price: {type: regression, column: price}
"""

from __future__ import annotations

from modelctl.util.lazy import numpy as np

from modelctl.errors import DataError
from modelctl.features.labels.base import LabelType


class RegressionLabel(LabelType):
    """A number; see the module docstring."""

    name = "regression"
    default_loss = "mean_squared_error"
    summarized = True

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


__all__ = ["RegressionLabel"]
