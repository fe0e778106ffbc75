"""What every label type is: the base class its module subclasses.

| type | target | classes |
| --- | --- | --- |
| binary | float32 0/1 | [negative, positive] |
| categorical | int32 class index | declared, 0..num_classes-1 for an integer column, else learned (sorted) |
| multi_label | float32 multi-hot | declared, else learned (sorted) from the `separator`-joined cells |
| regression | float32 value | none |

An instance turns one label's column into targets: it learns the classes from
the training split when the spec does not declare them, checks every value
(a missing label, a value outside the classes), encodes batches, and turns
the model's scores back into predictions. Class names are kept as strings in
the run and shipped with the model.
"""

from __future__ import annotations

from typing import ClassVar, Iterable

from modelctl.util.lazy import numpy as np

from modelctl.errors import DataError
from modelctl.features.labels import scores as checks
from modelctl.features.values import Columns, factorize
from modelctl.registry import args


def classes_property() -> dict:
    """The `classes` property categorical and multi-label labels share."""
    return args.any_of([{"type": "array", "items": {"type": ["string", "integer"]}, "minItems": 2,
                         "uniqueItems": True}, {"type": "null"}],
                       "Class names in index order; null learns them from the training split (sorted).", None)


class LabelType:
    """Turns one label's column into targets; subclasses set `name` and override what differs.

    Attributes:
        name: the value of `type` in the spec.
        learns_classes: whether classes not declared are learned from the training split.
        single_class: whether each example has exactly one class (a split can be stratified by it, classes
            balanced by `training.class_weight: balanced`, and `modelctl data` counts examples per class).
        summarized: whether `modelctl data` gathers the mean, spread and range of the targets (numbers).
        default_loss: the loss a label of this type is trained with when the spec names none.

    What evaluation (`modelctl.evaluation`) asks of a label type, none of it needing an instance:

        classifies: whether scores are probabilities of classes and `y_true` names classes (default True);
            False for numbers (regression).
        members: the word for what the names of its scores name, singular and plural ("class", "classes";
            "label", "labels"; "output", "outputs").
        positive_class: the index of the class whose binary problem stands for the whole label (binary: 1);
            None (the default) when each class or label is its own problem (one-vs-rest).
        metrics: the names of `modelctl.evaluation.METRICS` that fit it.
        default_metrics: those reported when the spec names none; None (the default) is every one of `metrics`.
        plots: the figures of `modelctl.evaluation.plots.PLOT_FILES` that fit it, besides learning curves.

    Args:
        item: the label's columns and spec options (`type`, `classes`, `num_classes`, `positive`, `separator`).
        classes: class names from an earlier fit (a run being resumed or evaluated); default None.
    """

    name: ClassVar[str] = ""
    learns_classes: ClassVar[bool] = False
    single_class: ClassVar[bool] = False
    summarized: ClassVar[bool] = False
    default_loss: ClassVar[str] = ""
    classifies: ClassVar[bool] = True
    members: ClassVar[tuple[str, str]] = ("class", "classes")
    positive_class: ClassVar[int | None] = None
    metrics: ClassVar[tuple[str, ...]] = ()
    default_metrics: ClassVar[tuple[str, ...] | None] = None
    plots: ClassVar[tuple[str, ...]] = ()

    def __init__(self, item: Columns, classes: list[str] | None = None):
        self.item = item
        self.kind = item.kind
        self.column = item.columns[0]
        options = item.options
        self.classes = classes
        if classes is None and options.get("classes"):
            self.classes = [str(name) for name in options["classes"]]
        if self.classes is None:
            self.classes = self.default_classes(options)
        self._found: set[str] = set()
        self._integers = True
        self._seen: dict[str, int] = {}

    @classmethod
    def schema(cls) -> dict:
        """Property name -> JSON Schema fragment of what a label of this type may write besides `type`, `column`
        and `description`."""
        return {}

    @classmethod
    def output_units(cls, options: dict) -> int | None:
        """The units of the model output a label with these spec options needs: the number of classes when the
        spec declares them (`classes` or `num_classes`), else None (learned from the data)."""
        classes = options.get("classes")
        if isinstance(classes, list):
            return len(classes)
        return options.get("num_classes") if isinstance(options.get("num_classes"), int) else None

    def default_classes(self, options: dict) -> list[str] | None:
        """The classes of a label that neither declares nor learns them (default None)."""
        return None

    @property
    def needs_fit(self) -> bool:
        return self.learns_classes and self.classes is None

    def parts(self, text: str) -> list[str]:
        """The classes one cell names (default: the cell itself)."""
        return [text]

    def fit(self, batches: Iterable[dict[str, np.ndarray]]) -> None:
        """Learn the classes from the training split's batches (categorical and multi-label without `classes`)."""
        for batch in batches:
            self.observe(batch[self.column])
        self.finish()

    def observe(self, values: np.ndarray) -> None:
        """Gather the classes of one batch of the training split's label column (see `finish`)."""
        if not self.needs_fit:
            return
        self._integers = self._integers and values.dtype.kind in "iu"
        _, texts = factorize(values)
        self._found.update(part for text in texts.tolist() for part in self.parts(text) if part)

    def counted_classes(self, count: int | None) -> list[str] | None:
        """Classes set by `num_classes` alone, before those found are looked at (default none)."""
        return None

    def finish(self) -> None:
        """Set the classes from what `observe` gathered.

        Raises:
            DataError: `num_classes` differs from the number of classes found.
        """
        if not self.needs_fit:
            return
        found = self._found
        count = self.item.options.get("num_classes")
        counted = self.counted_classes(count)
        if counted is not None:
            self.classes = counted
            return
        self.classes = sorted(found, key=lambda name: (int(name), name) if name.lstrip("-").isdigit() else (0, name)) \
            if found and all(name.lstrip("-").isdigit() for name in found) else sorted(found)
        if count and len(self.classes) != count:
            raise DataError(f"label '{self.item.name}' declares num_classes {count} but the training split holds "
                            f"{len(self.classes)} classes in column '{self.column}': {self.classes[:20]}; give "
                            "`classes` or correct `num_classes`")

    def survey(self, values: np.ndarray, numbers: np.ndarray) -> None:
        """Check a batch of the label column before the classes are known: what `encode` would raise is raised
        now, except a value outside classes still to be learned, which `check_seen` reports afterwards.

        Raises:
            DataError: a missing label, a value outside known classes, a non-numeric regression target.
        """
        if not self.needs_fit:
            self.encode(values, numbers)
            return
        codes, texts = factorize(values)
        self._no_missing((texts == "")[codes], numbers)
        present, first = np.unique(codes, return_index=True)
        for value, position in zip(texts[present].tolist(), first.tolist()):
            self._seen.setdefault(value, int(numbers[position]))

    def check_seen(self) -> None:
        """After `finish`: raise for the first example (by number) whose value `survey` saw outside the classes."""
        outside = []
        known = set(self.classes or [])
        for value, example in self._seen.items():
            wrong = next((part for part in self.parts(value) if part not in known), None)
            if wrong is not None:
                outside.append((example, wrong))
        self._seen = {}
        if outside:
            example, value = min(outside)
            self._outside(value, example)

    def encode(self, values: np.ndarray, numbers: np.ndarray) -> np.ndarray:
        """Targets for a batch of the label column; `numbers` are the examples' 1-based numbers, for messages.

        Each distinct value is looked up once (see `factorize`).

        Raises:
            DataError: a missing label, a value outside the classes, a non-numeric regression target.
        """
        codes, texts = factorize(values)
        self._no_missing((texts == "")[codes], numbers)
        return self.encode_texts(codes, texts, numbers)

    def encode_texts(self, codes: np.ndarray, texts: np.ndarray, numbers: np.ndarray) -> np.ndarray:
        """Targets from the distinct values `texts` and each example's code into them: the class index."""
        index = {name: position for position, name in enumerate(self.classes)}
        found = np.array([index.get(text, -1) for text in texts.tolist()], dtype=np.int32)
        outside = (found < 0)[codes]
        if outside.any():
            row = int(np.argmax(outside))
            self._outside(texts[codes[row]], numbers[row])
        return found[codes]

    def known(self, values: np.ndarray) -> np.ndarray:
        """Which of a batch's values `encode` takes (each of its classes known), as a boolean mask; every value
        of a label without classes. Only asked once the classes are known (`needs_fit` is False)."""
        if self.classes is None:
            return np.ones(len(values), dtype=bool)
        known = set(self.classes)
        codes, texts = factorize(values)
        return np.array([bool(text) and all(part in known for part in self.parts(text))
                         for text in texts.tolist()], dtype=bool)[codes]

    def _no_missing(self, missing: np.ndarray, numbers: np.ndarray) -> None:
        if missing.any():
            row = int(np.argmax(missing))
            raise DataError(f"label '{self.item.name}' is missing", column=self.column, example=numbers[row])

    def _outside(self, value: str, example: int) -> None:
        shown = ", ".join(repr(name) for name in self.classes[:20])
        raise DataError(f"label '{self.item.name}' has value {value!r}, which is not one of its classes: {shown}"
                        + (" ..." if len(self.classes) > 20 else ""), column=self.column, example=example)

    def trained_targets(self, targets):
        """The targets Keras trains on, from a batch of those `encode` gave, as a tensor (default: as they are).
        Categorical labels with `encoding: one_hot` turn class indices into one-hot vectors here, so that every
        other reader of targets (evaluation, export checks) keeps class indices."""
        return targets

    def target_bytes(self) -> int:
        """Bytes of one example's target (0 while a multi-label's classes are not known)."""
        return 4

    def spec(self) -> tuple[tuple, str]:
        """The target's shape and dtype, for `tf.TensorSpec`."""
        return (), "float32"

    @staticmethod
    def score(values: np.ndarray, truth: np.ndarray) -> tuple[str, float]:
        """(metric name, value) of a model's outputs for a batch against its targets, for checking an exported
        model; default the accuracy of outputs thresholded at 0.5, every class of an example right."""
        predicted = (values.reshape(len(truth), -1) > 0.5).astype(np.float64)
        return "accuracy", float(np.mean(np.all(predicted == truth.reshape(len(truth), -1), axis=1)))

    @staticmethod
    def predictions(label: str, score: np.ndarray, classes: list[str]) -> dict:
        """One example's prediction columns from the model's score for it: the class (or value) under `label`,
        and its probabilities."""
        raise NotImplementedError

    # Evaluation ---------------------------------------------------------------------------------------------

    @classmethod
    def reported_metrics(cls) -> tuple[str, ...]:
        """The metrics reported when the spec names none: `default_metrics`, else every one of `metrics`."""
        return cls.metrics if cls.default_metrics is None else cls.default_metrics

    @classmethod
    def shaped_scores(cls, y_true: np.ndarray, y_score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`y_true` and `y_score` in this type's shapes (default: both (n, L), one column per label).

        Raises:
            EvaluationError: shapes that do not fit this label type.
        """
        if y_true.ndim != 2 or y_true.shape != y_score.shape:
            raise checks.shape_error(cls.name, "y_true and y_score must have the same shape (n, L)", y_true,
                                     y_score=y_score)
        return y_true, y_score.astype(np.float64)

    @classmethod
    def score_count(cls, y_score: np.ndarray) -> int:
        """The number of classes, labels or outputs that shaped scores stand for (default: their columns)."""
        return int(y_score.shape[1])

    @classmethod
    def checked_truth(cls, y_true: np.ndarray, count: int) -> np.ndarray:
        """Shaped true labels as int64 (default: 0 or 1 each).

        Raises:
            EvaluationError: a value that names no class.
        """
        return checks.allowed_labels(cls.name, y_true, (y_true != 0) & (y_true != 1), allowed="0 or 1")

    @classmethod
    def checked_scores(cls, y_true: np.ndarray, y_score: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
        """(y_true, y_score, count): numeric arrays with the same number of examples, shaped and checked for this
        type (`shaped_scores`, finite probabilities, `checked_truth`), and their `score_count`.

        Raises:
            EvaluationError: a shape or value that does not fit this label type.
        """
        y_true, y_score = cls.shaped_scores(y_true, y_score)
        checks.finite("y_score", y_score)
        checks.probabilities(cls.name, y_score)
        count = cls.score_count(y_score)
        return cls.checked_truth(y_true, count), y_score, count

    @classmethod
    def predicted(cls, y_score: np.ndarray) -> np.ndarray:
        """Predicted labels of checked scores (default: 1 where a score is above 0.5, of `y_score`'s shape)."""
        return (y_score > checks.THRESHOLD).astype(np.int64)

    @classmethod
    def binary_problems(cls, y_true: np.ndarray, y_score: np.ndarray, classes: list[str]):
        """Yield (name, 0/1 truth (n,), score (n,)) of each binary problem of checked arrays (default: one per
        label column)."""
        for index, name in enumerate(classes):
            yield name, y_true[:, index], y_score[:, index]

    @classmethod
    def calibration(cls, y_true: np.ndarray, y_score: np.ndarray) -> tuple[np.ndarray, np.ndarray, str, str]:
        """(0/1 truth, probability, what the probability is, what the truth's mean is) of checked arrays, for a
        reliability diagram (default: every score pooled)."""
        return y_true.ravel(), y_score.ravel(), "predicted probability", "fraction of positives"

    @classmethod
    def class_probabilities(cls, row: np.ndarray) -> np.ndarray:
        """One probability per class from the model's scores of one example (default: the scores as they are)."""
        return np.asarray(row, dtype=np.float64)


__all__ = ["LabelType", "classes_property"]
