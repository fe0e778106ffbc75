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

import numpy as np

from modelctl.errors import DataError
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

    Args:
        item: the label's columns and spec options (`type`, `classes`, `num_classes`, `positive`, `separator`).
        classes: class names from an earlier fit (a run being resumed or evaluated); default None.
    """

    name: ClassVar[str] = ""
    learns_classes: ClassVar[bool] = False
    single_class: ClassVar[bool] = False
    summarized: ClassVar[bool] = False
    default_loss: ClassVar[str] = ""

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

    def _no_missing(self, missing: np.ndarray, numbers: np.ndarray) -> None:
        if missing.any():
            row = int(np.argmax(missing))
            raise DataError(f"label '{self.item.name}' is missing", column=self.column, example=numbers[row])

    def _outside(self, value: str, example: int) -> None:
        shown = ", ".join(repr(name) for name in self.classes[:20])
        raise DataError(f"label '{self.item.name}' has value {value!r}, which is not one of its classes: {shown}"
                        + (" ..." if len(self.classes) > 20 else ""), column=self.column, example=example)

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


__all__ = ["LabelType", "classes_property"]
