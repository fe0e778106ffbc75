"""Multi-label labels: any number of classes at once; the target is a float32 multi-hot vector.

    labels:
      tags: {type: multi_label, column: tags, separator: "|"}     # cells such as `news|sport`

Classes are declared (`classes`) or learned from the training split (sorted);
a prediction names every class whose probability is above 0.5, joined by `|`.
"""

from __future__ import annotations

from modelctl.util.lazy import numpy as np

from modelctl.features.base import filled
from modelctl.features.labels.base import LabelType, classes_property
from modelctl.registry import args


class MultiLabel(LabelType):
    """Any number of classes at once; see the module docstring."""

    name = "multi_label"
    default_loss = "binary_crossentropy"
    learns_classes = True
    members = ("label", "labels")
    metrics = ("precision", "recall", "f1", "roc_auc", "pr_auc", "subset_accuracy", "hamming_loss")
    default_metrics = ("f1", "subset_accuracy", "hamming_loss")
    plots = ("roc", "pr", "calibration")

    @classmethod
    def schema(cls) -> dict:
        return {"classes": classes_property(),
                "separator": args.string("Separator between labels in one cell.", "|")}

    def __init__(self, item, classes: list[str] | None = None):
        self.separator = filled(self.schema(), item.options)["separator"]
        super().__init__(item, classes)

    def parts(self, text: str) -> list[str]:
        return [part for part in text.split(self.separator) if part]

    def encode_texts(self, codes: np.ndarray, texts: np.ndarray, numbers: np.ndarray) -> np.ndarray:
        index = {name: position for position, name in enumerate(self.classes)}
        table = np.zeros((len(texts), len(self.classes)), dtype=np.float32)
        for row, text in enumerate(texts.tolist()):
            for part in self.parts(text):
                if part not in index:
                    self._outside(part, numbers[int(np.argmax(codes == row))])
                table[row, index[part]] = 1.0
        return table[codes]

    def target_bytes(self) -> int:
        return 4 * len(self.classes or [])

    def spec(self) -> tuple[tuple, str]:
        return (len(self.classes),), "float32"

    @staticmethod
    def predictions(label: str, score: np.ndarray, classes: list[str]) -> dict:
        row = {label: "|".join(name for name, probability in zip(classes, score) if probability > 0.5)}
        row.update({f"{label}_{name}": float(probability) for name, probability in zip(classes, score)})
        return row


    @classmethod
    def calibration(cls, y_true: np.ndarray, y_score: np.ndarray) -> tuple[np.ndarray, np.ndarray, str, str]:
        """Every label pooled."""
        return y_true.ravel(), y_score.ravel(), "predicted probability (every label)", "fraction of positives"


__all__ = ["MultiLabel"]
