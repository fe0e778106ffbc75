"""Categorical labels: one class of several; the target is the int32 class index.

    labels:
      species: {type: categorical, column: species}                 # classes learned, sorted
      digit: {type: categorical, column: digit, num_classes: 10}    # an integer column: classes 0..9

Classes are declared (`classes`), `0..num_classes-1` for an integer column
with `num_classes`, or learned from the training split (sorted, numbers by
value).
"""

from __future__ import annotations

from modelctl.util.lazy import numpy as np

from modelctl.features.labels.base import LabelType, classes_property
from modelctl.registry import args


class CategoricalLabel(LabelType):
    """One class of several; see the module docstring."""

    name = "categorical"
    default_loss = "sparse_categorical_crossentropy"
    learns_classes = True
    single_class = True

    @classmethod
    def schema(cls) -> dict:
        return {"num_classes": args.integer("Number of classes; null counts them.", None, minimum=2),
                "classes": classes_property()}

    def counted_classes(self, count: int | None) -> list[str] | None:
        if self._integers and count:
            return [str(index) for index in range(count)]
        return None

    def spec(self) -> tuple[tuple, str]:
        return (), "int32"

    @staticmethod
    def score(values: np.ndarray, truth: np.ndarray) -> tuple[str, float]:
        return "accuracy", float(np.mean(values.argmax(axis=-1) == truth))

    @staticmethod
    def predictions(label: str, score: np.ndarray, classes: list[str]) -> dict:
        row = {label: classes[int(np.argmax(score))]}
        row.update({f"{label}_{name}": float(probability) for name, probability in zip(classes, score)})
        return row


__all__ = ["CategoricalLabel"]
