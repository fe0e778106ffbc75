"""Binary labels: two classes, one probability; the target is float32 0/1.

    labels:
      churned: {type: binary, column: churn}                  # 0/1 or true/false (yes/no)
      spam: {type: binary, column: kind, positive: spam}      # `spam` is 1, every other value 0

The classes are `[negative, positive]`, or `[not P, P]` when `positive` is P.
"""

from __future__ import annotations

from modelctl.util.lazy import numpy as np

from modelctl.errors import DataError, EvaluationError
from modelctl.features.labels import scores as checks
from modelctl.features.labels.base import LabelType
from modelctl.features.values import strings
from modelctl.registry import args

TRUE = {"1", "true", "yes"}
FALSE = {"0", "false", "no"}


class BinaryLabel(LabelType):
    """Two classes; see the module docstring."""

    name = "binary"
    default_loss = "binary_crossentropy"
    single_class = True
    positive_class = 1
    metrics = ("accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "log_loss", "confusion_matrix")
    plots = ("confusion_matrix", "roc", "pr", "calibration")

    @classmethod
    def output_units(cls, options: dict) -> int:
        return 1

    @classmethod
    def schema(cls) -> dict:
        return {"positive": args.any_of([{"type": ["string", "integer", "boolean"]}, {"type": "null"}],
                                        "The value counted as positive; null for 1/true.", None)}

    def default_classes(self, options: dict) -> list[str]:
        positive = options.get("positive")
        return ["negative", "positive"] if positive is None else [f"not {positive}", str(positive)]

    def encode_texts(self, codes: np.ndarray, texts: np.ndarray, numbers: np.ndarray) -> np.ndarray:
        positive = self.item.options.get("positive")
        if positive is not None:
            return (texts == strings(np.array([positive], dtype=object))[0, 0]).astype(np.float32)[codes]
        lowered = np.array([text.lower() for text in texts.tolist()], dtype=object)
        bad = ~np.isin(lowered, list(TRUE | FALSE))[codes]
        if bad.any():
            row = int(np.argmax(bad))
            raise DataError(f"binary label '{self.item.name}' has value {texts[codes[row]]!r}; expected 0/1 or "
                            "true/false, or set `positive` to the value counted as positive", column=self.column,
                            example=numbers[row])
        return np.isin(lowered, list(TRUE)).astype(np.float32)[codes]

    @staticmethod
    def predictions(label: str, score: np.ndarray, classes: list[str]) -> dict:
        probability = float(np.ravel(score)[0])
        return {label: classes[1] if probability > 0.5 else classes[0], f"{label}_probability": probability}


    @classmethod
    def shaped_scores(cls, y_true: np.ndarray, y_score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Both (n,): y_true 0 or 1, y_score the probability of the positive class; (n, 1) is read as (n,)."""
        true, score = checks.column(y_true), checks.column(y_score)
        if true is None or score is None:
            hint = ""
            if y_score.ndim == 2 and y_score.shape[1] == 2:
                hint = (" (two columns of scores are label type 'categorical'; binary takes the positive class's "
                        "probability only)")
            raise EvaluationError(f"y_true and y_score must have shape (n,) or (n, 1) for label type 'binary'; "
                                  f"received y_true shape {y_true.shape} and y_score shape {y_score.shape}{hint}")
        return true, score.astype(np.float64)

    @classmethod
    def score_count(cls, y_score: np.ndarray) -> int:
        return 2

    @classmethod
    def binary_problems(cls, y_true: np.ndarray, y_score: np.ndarray, classes: list[str]):
        """One problem, named after the positive class."""
        yield classes[1], y_true, y_score

    @classmethod
    def class_probabilities(cls, row: np.ndarray) -> np.ndarray:
        probability = float(np.ravel(row)[0])
        return np.array([1.0 - probability, probability])


__all__ = ["BinaryLabel"]
