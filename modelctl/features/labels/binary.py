"""Binary labels: two classes, one probability; the target is float32 0/1.

    labels:
      churned: {type: binary, column: churn}                  # 0/1 or true/false (yes/no)
      spam: {type: binary, column: kind, positive: spam}      # `spam` is 1, every other value 0

The classes are `[negative, positive]`, or `[not P, P]` when `positive` is P.
"""

from __future__ import annotations

import numpy as np

from modelctl.errors import DataError
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


__all__ = ["BinaryLabel"]
