"""Checking true labels and model scores once, and bringing them into one shape per label type.

`check_scores()` is called by every public function of this package. What it accepts is
said by the label type's class (`modelctl.features.label_type(name)`, its
`checked_scores`); for the built-in ones:

    label type    y_true                               y_score
    binary        (n,) or (n, 1), values 0 or 1        (n,) or (n, 1), probability of class 1
    categorical   (n,) or (n, 1), class indices 0..C-1 (n, C), C >= 2, class probabilities
    multi_label   (n, L), values 0 or 1                (n, L), probability of each label
    regression    (n,) or (n, k), any finite number    the same shape ((n,) and (n, 1) match)

and returns them as `CheckedScores` arrays of shape (n,) / (n,) for binary, (n,) / (n, C)
for categorical, (n, L) / (n, L) for multi_label and (n, k) / (n, k) for regression.
Labels may be stored as floats or booleans as long as their values are the allowed ones
(`1.0` is class 1, `1.5` is an error). Scores of classification label types must be
probabilities in [0, 1]: a model whose last layer outputs logits needs a sigmoid or
softmax applied first. Nothing is coerced silently: every other input is an
`EvaluationError` naming the shapes or values received.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from modelctl.errors import did_you_mean, one_of
from modelctl.evaluation.errors import EvaluationError
from modelctl.features import LABEL_TYPES, label_type, label_types


@dataclasses.dataclass(frozen=True)
class CheckedScores:
    """Checked inputs.

    Args:
        label_type: a label type's name (one of `modelctl.features.label_types()`).
        y_true: int64 labels (classification) or float64 targets (regression), shaped as
            the module docstring says.
        y_score: float64 scores, shaped as the module docstring says.
        classes: class names (binary: 2, categorical: C), label names (multi_label: L) or
            output names (regression: k).
    """

    label_type: str
    y_true: np.ndarray
    y_score: np.ndarray
    classes: list[str]

    @property
    def examples(self) -> int:
        return int(self.y_true.shape[0])

    @property
    def kind(self):
        """The `LabelType` class of `label_type`."""
        return label_type(self.label_type)


def binary_problems(data: CheckedScores):
    """Yield (name, 0/1 truth (n,), score (n,)) of each binary problem in `data`, as its label type splits them.

    binary: one, named after the positive class; categorical: one-vs-rest per class;
    multi_label: one per label. Not for regression.
    """
    yield from data.kind.binary_problems(data.y_true, data.y_score, data.classes)


def check_label_type(name: object) -> str:
    """Return `name` when it names a label type (`modelctl.features.label_types()`), else raise
    `EvaluationError`."""
    known = label_types()
    if not isinstance(name, str) or name not in known:
        raise EvaluationError(f"Invalid label type {name!r}. Expected one of {one_of(known)}."
                              f"{did_you_mean(name, known)}")
    return name


def kind_of(name: object):
    """The `LabelType` class of a label type name, or `EvaluationError` (see `check_label_type`)."""
    return label_type(check_label_type(name))


def drawn_by(plot: str) -> tuple[str, ...]:
    """The names of the label types whose `plots` hold `plot` (a key of `PLOT_FILES`), in `label_types()`
    order."""
    return tuple(name for name in label_types() if plot in label_type(name).plots)


def check_scores(name: str, y_true: object, y_score: object, *,
                 class_names: list[str] | None = None) -> CheckedScores:
    """Check `y_true` and `y_score` against the label type `name` and return them as `CheckedScores`.

    Args:
        name: a label type: "binary", "categorical", "multi_label" or "regression".
        y_true: true labels or targets (see the module docstring for the shapes).
        y_score: the model's outputs for the same examples.
        class_names: names of the classes (binary: 2, categorical: C), labels (multi_label:
            L) or outputs (regression: k), all different; None (the default) names them
            "0", "1", ...

    Raises:
        EvaluationError: an unknown label type, a shape or value that does not fit it, or
            class names that do not match the scores.
    """
    kind = kind_of(name)
    y_true = _numbers("y_true", y_true)
    y_score = _numbers("y_score", y_score)
    if y_true.ndim == 0 or y_true.shape[0] == 0:
        raise EvaluationError(f"y_true holds no examples; received shape {y_true.shape}")
    if y_score.ndim == 0 or y_score.shape[0] != y_true.shape[0]:
        raise EvaluationError(f"y_true and y_score must hold the same number of examples; received shapes "
                              f"{y_true.shape} and {y_score.shape}")
    y_true, y_score, count = kind.checked_scores(y_true, y_score)
    return CheckedScores(name, y_true, y_score, _names(kind.members[0], class_names, count))


def _numbers(name: str, values: object) -> np.ndarray:
    array = np.asarray(values)
    if array.dtype == np.bool_:
        array = array.astype(np.int64)
    if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise EvaluationError(f"{name} must hold real numbers; received an array of dtype {array.dtype}")
    return array


def _names(what: str, class_names: list[str] | None, count: int) -> list[str]:
    if class_names is None:
        return [str(index) for index in range(count)]
    names = list(class_names)
    if len(names) != count or not all(isinstance(name, str) for name in names):
        raise EvaluationError(f"class_names must be {count} strings, one per {what} of the scores; "
                              f"received {names!r}")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise EvaluationError(f"class_names must all differ; received {one_of(repeated)} more than once")
    return names


__all__ = ["LABEL_TYPES", "CheckedScores", "binary_problems", "check_label_type", "check_scores", "drawn_by",
           "kind_of"]
