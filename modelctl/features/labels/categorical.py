"""Categorical labels: one class of several; the target is the int32 class index.

    labels:
      species: {type: categorical, column: species}                 # classes learned, sorted
      digit: {type: categorical, column: digit, num_classes: 10}    # an integer column: classes 0..9
      kind: {type: categorical, column: kind, encoding: one_hot}    # Keras gets one-hot vectors

Classes are declared (`classes`), `0..num_classes-1` for an integer column
with `num_classes`, or learned from the training split (sorted, numbers by
value). A declared class the training split never holds is an error: the
model could not learn it.

`encoding` says what Keras trains on: `index` (the default) gives each
example's class index, for `sparse_categorical_crossentropy`; `one_hot` gives
a one-hot vector, for `categorical_crossentropy` (with `label_smoothing`),
the focal and hinge losses and `categorical_accuracy`. The targets the data
pipeline holds are class indices either way (evaluation reads them); they
become one-hot vectors as training batches (`trained_targets`).
"""

from __future__ import annotations

from modelctl.util.lazy import numpy as np

from modelctl.errors import DataError, EvaluationError
from modelctl.features.labels import scores as checks
from modelctl.features.labels.base import LabelType, classes_property
from modelctl.features.values import factorize
from modelctl.registry import args


class CategoricalLabel(LabelType):
    """One class of several; see the module docstring."""

    name = "categorical"
    default_loss = "sparse_categorical_crossentropy"
    learns_classes = True
    single_class = True
    metrics = ("accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "log_loss", "top_k_accuracy",
               "confusion_matrix")
    plots = ("confusion_matrix", "roc", "pr", "calibration")

    def __init__(self, item, classes: list[str] | None = None):
        super().__init__(item, classes)
        self._declared_found: set[str] | None = None if self.needs_fit else set()

    @classmethod
    def schema(cls) -> dict:
        from modelctl.registry.compatibility import ENCODINGS

        return {"num_classes": args.integer("Number of classes; null counts them.", None, minimum=2),
                "classes": classes_property(),
                "encoding": args.choice(list(ENCODINGS), "What Keras trains on: `index`, each example's class "
                                                         "index (for sparse_categorical_crossentropy), or "
                                                         "`one_hot`, a one-hot vector (for categorical_crossentropy "
                                                         "and label_smoothing).", ENCODINGS[0])}

    def observe(self, values: np.ndarray) -> None:
        if self._declared_found is not None:  # declared classes: which of them the training split holds
            _, texts = factorize(values)
            self._declared_found.update(texts.tolist())
            return
        super().observe(values)

    def finish(self) -> None:
        """Set the classes learned; with declared classes, check that the training split holds each.

        Raises:
            DataError: `num_classes` differs from the classes found; a declared class without training examples.
        """
        if self._declared_found is None:
            found = set(self._found)
            counted = self.needs_fit and self._integers and bool(self.item.options.get("num_classes"))
            super().finish()
            declared = self.classes if counted else []
        else:
            found, self._declared_found = self._declared_found, set()
            declared = self.classes
        empty = [name for name in declared if name not in found] if found else []
        if empty:
            shown = ", ".join(repr(name) for name in empty[:10]) + (" ..." if len(empty) > 10 else "")
            raise DataError(f"label '{self.item.name}': {len(empty)} of its {len(self.classes)} classes have no "
                            f"example in the training split: {shown}; the model cannot learn them. Remove them "
                            "from `classes` (or lower `num_classes`), or give the training split examples of each "
                            "(`data.split.stratify: true` keeps every class in every split)", column=self.column)

    def trained_targets(self, targets):
        if (self.item.options.get("encoding") or "index") != "one_hot":
            return targets
        from modelctl.util.tf import tensorflow

        return tensorflow().one_hot(targets, len(self.classes), dtype="float32")

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


    @classmethod
    def shaped_scores(cls, y_true: np.ndarray, y_score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """y_true (n,) class indices ((n, 1) is read as (n,)), y_score (n, C) with C >= 2 class probabilities."""
        if y_score.ndim != 2 or y_score.shape[1] < 2:
            raise EvaluationError(f"y_score must have shape (n, C) with C >= 2 for label type 'categorical'; "
                                  f"received shape {y_score.shape}")
        true = checks.column(y_true)
        if true is None:
            hint = " (one-hot labels: pass y_true.argmax(axis=1))" if y_true.shape == y_score.shape else ""
            raise EvaluationError(f"y_true must hold class indices of shape (n,) for label type 'categorical'; "
                                  f"received shape {y_true.shape}{hint}")
        return true, y_score.astype(np.float64)

    @classmethod
    def checked_truth(cls, y_true: np.ndarray, count: int) -> np.ndarray:
        bad = (y_true != np.round(y_true)) | (y_true < 0) | (y_true > count - 1)
        return checks.allowed_labels(cls.name, y_true, bad, allowed=f"class indices 0 to {count - 1}")

    @classmethod
    def predicted(cls, y_score: np.ndarray) -> np.ndarray:
        """The class of the highest score (the first one on ties)."""
        return np.argmax(y_score, axis=1)

    @classmethod
    def binary_problems(cls, y_true: np.ndarray, y_score: np.ndarray, classes: list[str]):
        """One-vs-rest, one problem per class."""
        for index, name in enumerate(classes):
            yield name, (y_true == index).astype(np.int64), y_score[:, index]

    @classmethod
    def calibration(cls, y_true: np.ndarray, y_score: np.ndarray) -> tuple[np.ndarray, np.ndarray, str, str]:
        """That of the top class: the confidence of the predicted class against whether it is right."""
        truth = (np.argmax(y_score, axis=1) == y_true).astype(np.int64)
        return truth, y_score.max(axis=1), "confidence of the predicted class", "fraction right"


__all__ = ["CategoricalLabel"]
