"""Checking true labels and model scores once, and bringing them into one shape per label type.

`prepare()` is called by every public function of this package. It accepts:

    label type    y_true                               y_score
    binary        (n,) or (n, 1), values 0 or 1        (n,) or (n, 1), probability of class 1
    categorical   (n,) or (n, 1), class indices 0..C-1 (n, C), C >= 2, class probabilities
    multi_label   (n, L), values 0 or 1                (n, L), probability of each label
    regression    (n,) or (n, k), any finite number    the same shape ((n,) and (n, 1) match)

and returns them as `Prepared` arrays of shape (n,) / (n,) for binary, (n,) / (n, C)
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
from modelctl.features import LABEL_TYPES

CLASSIFICATION = ("binary", "categorical", "multi_label")


@dataclasses.dataclass(frozen=True)
class Prepared:
    """Checked inputs.

    Args:
        label_type: one of `LABEL_TYPES`.
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


def binary_problems(data: Prepared):
    """Yield (name, 0/1 truth (n,), score (n,)) of each binary problem in `data`.

    binary: one, named after the positive class; categorical: one-vs-rest per class;
    multi_label: one per label. Not for regression.
    """
    if data.label_type == "binary":
        yield data.classes[1], data.y_true, data.y_score
        return
    for index, name in enumerate(data.classes):
        if data.label_type == "categorical":
            yield name, (data.y_true == index).astype(np.int64), data.y_score[:, index]
        else:
            yield name, data.y_true[:, index], data.y_score[:, index]


def check_label_type(label_type: object) -> str:
    """Return `label_type` when it is one of `LABEL_TYPES`, else raise `EvaluationError`."""
    if label_type not in LABEL_TYPES:
        raise EvaluationError(f"Invalid label type {label_type!r}. Expected one of {one_of(LABEL_TYPES)}."
                              f"{did_you_mean(label_type, LABEL_TYPES)}")
    return label_type


def prepare(label_type: str, y_true: object, y_score: object, class_names: list[str] | None = None) -> Prepared:
    """Check `y_true` and `y_score` against `label_type` and return them as `Prepared`.

    Args:
        label_type: "binary", "categorical", "multi_label" or "regression".
        y_true: true labels or targets (see the module docstring for the shapes).
        y_score: the model's outputs for the same examples.
        class_names: names of the classes (binary: 2, categorical: C), labels (multi_label:
            L) or outputs (regression: k), all different; None (the default) names them
            "0", "1", ...

    Raises:
        EvaluationError: an unknown label type, a shape or value that does not fit it, or
            class names that do not match the scores.
    """
    check_label_type(label_type)
    y_true = _numbers("y_true", y_true)
    y_score = _numbers("y_score", y_score)
    if y_true.ndim == 0 or y_true.shape[0] == 0:
        raise EvaluationError(f"y_true holds no examples; received shape {y_true.shape}")
    if y_score.ndim == 0 or y_score.shape[0] != y_true.shape[0]:
        raise EvaluationError(f"y_true and y_score must hold the same number of examples; received shapes "
                              f"{y_true.shape} and {y_score.shape}")
    y_true, y_score = _SHAPERS[label_type](y_true, y_score)
    _finite("y_score", y_score)
    if label_type == "regression":
        _finite("y_true", y_true)
    else:
        _probabilities(label_type, y_score)
        y_true = _labels(label_type, y_true, 2 if label_type == "binary" else y_score.shape[1])
    count = 2 if label_type == "binary" else y_score.shape[1]
    return Prepared(label_type, y_true, y_score, _names(label_type, class_names, count))


def _numbers(name: str, values: object) -> np.ndarray:
    array = np.asarray(values)
    if array.dtype == np.bool_:
        array = array.astype(np.int64)
    if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise EvaluationError(f"{name} must hold real numbers; received an array of dtype {array.dtype}")
    return array


def _shape_error(label_type: str, expected: str, y_true: np.ndarray, y_score: np.ndarray) -> EvaluationError:
    return EvaluationError(f"{expected} for label type '{label_type}'; received y_true shape {y_true.shape} "
                           f"and y_score shape {y_score.shape}")


def _column(array: np.ndarray) -> np.ndarray | None:
    """`array` as (n,) when it is (n,) or (n, 1), else None."""
    if array.ndim == 1:
        return array
    if array.ndim == 2 and array.shape[1] == 1:
        return array[:, 0]
    return None


def _binary(y_true: np.ndarray, y_score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    true, score = _column(y_true), _column(y_score)
    if true is None or score is None:
        hint = ""
        if y_score.ndim == 2 and y_score.shape[1] == 2:
            hint = (" (two columns of scores are label type 'categorical'; binary takes the positive class's "
                    "probability only)")
        raise EvaluationError(f"y_true and y_score must have shape (n,) or (n, 1) for label type 'binary'; "
                              f"received y_true shape {y_true.shape} and y_score shape {y_score.shape}{hint}")
    return true, score.astype(np.float64)


def _categorical(y_true: np.ndarray, y_score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if y_score.ndim != 2 or y_score.shape[1] < 2:
        raise EvaluationError(f"y_score must have shape (n, C) with C >= 2 for label type 'categorical'; "
                              f"received shape {y_score.shape}")
    true = _column(y_true)
    if true is None:
        hint = " (one-hot labels: pass y_true.argmax(axis=1))" if y_true.shape == y_score.shape else ""
        raise EvaluationError(f"y_true must hold class indices of shape (n,) for label type 'categorical'; "
                              f"received shape {y_true.shape}{hint}")
    return true, y_score.astype(np.float64)


def _multi_label(y_true: np.ndarray, y_score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if y_true.ndim != 2 or y_true.shape != y_score.shape:
        raise _shape_error("multi_label", "y_true and y_score must have the same shape (n, L)", y_true, y_score)
    return y_true, y_score.astype(np.float64)


def _regression(y_true: np.ndarray, y_score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    true, score = _column(y_true), _column(y_score)
    if true is not None and score is not None:
        return true[:, None].astype(np.float64), score[:, None].astype(np.float64)
    if y_true.ndim != 2 or y_true.shape != y_score.shape:
        raise _shape_error("regression", "y_true and y_score must have the same shape (n,) or (n, k)",
                           y_true, y_score)
    return y_true.astype(np.float64), y_score.astype(np.float64)


_SHAPERS = {"binary": _binary, "categorical": _categorical, "multi_label": _multi_label,
            "regression": _regression}


def _first(mask: np.ndarray) -> str:
    index = tuple(int(i) for i in np.argwhere(mask)[0])
    return str(index[0]) if len(index) == 1 else str(index)


def _finite(name: str, array: np.ndarray) -> None:
    bad = ~np.isfinite(array)
    if bad.any():
        raise EvaluationError(f"{name} must hold finite numbers; received {int(bad.sum())} NaN or infinite "
                              f"value(s), the first at index {_first(bad)}")


def _probabilities(label_type: str, y_score: np.ndarray) -> None:
    low, high = float(y_score.min()), float(y_score.max())
    if low < 0 or high > 1:
        raise EvaluationError(f"y_score must hold probabilities in [0, 1] for label type '{label_type}'; received "
                              f"values from {low:g} to {high:g} (apply a sigmoid or softmax to a model's logits)")


def _labels(label_type: str, y_true: np.ndarray, count: int) -> np.ndarray:
    if label_type == "categorical":
        allowed = f"class indices 0 to {count - 1}"
        bad = (y_true != np.round(y_true)) | (y_true < 0) | (y_true > count - 1)
    else:
        allowed = "0 or 1"
        bad = (y_true != 0) & (y_true != 1)
    if bad.any():
        raise EvaluationError(f"y_true must hold {allowed} for label type '{label_type}'; received "
                              f"{y_true[bad].flat[0].item()!r} at index {_first(bad)}")
    return y_true.astype(np.int64)


def _names(label_type: str, class_names: list[str] | None, count: int) -> list[str]:
    if class_names is None:
        return [str(index) for index in range(count)]
    what = {"regression": "output", "multi_label": "label"}.get(label_type, "class")
    names = list(class_names)
    if len(names) != count or not all(isinstance(name, str) for name in names):
        raise EvaluationError(f"class_names must be {count} strings, one per {what} of the scores; "
                              f"received {names!r}")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise EvaluationError(f"class_names must all differ; received {one_of(repeated)} more than once")
    return names
