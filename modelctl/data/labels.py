"""Labels as the model's targets: class names learned or declared, values encoded per label type.

| type | target | classes |
| --- | --- | --- |
| binary | float32 0/1 | [negative, positive] |
| categorical | int32 class index | declared, 0..num_classes-1 for an integer column, else learned (sorted) |
| multi_label | float32 multi-hot | declared, else learned (sorted) from the `separator`-joined cells |
| regression | float32 value | none |

Class names are kept as strings in the run and shipped with the model.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

from modelctl.data.columns import Columns, strings
from modelctl.data.errors import DataError

_TRUE = {"1", "true", "yes"}
_FALSE = {"0", "false", "no"}


class LabelEncoder:
    """Turns one label's column into targets.

    Args:
        item: the label's columns and spec options (`type`, `classes`, `num_classes`, `positive`, `separator`).
        classes: class names from an earlier fit (a run being resumed or evaluated); default None.
    """

    def __init__(self, item: Columns, classes: list[str] | None = None):
        self.item = item
        self.kind = item.kind
        self.column = item.columns[0]
        options = item.options
        self.classes = classes
        if classes is None and options.get("classes"):
            self.classes = [str(name) for name in options["classes"]]
        if self.kind == "binary" and self.classes is None:
            positive = options.get("positive")
            self.classes = ["negative", "positive"] if positive is None else [f"not {positive}", str(positive)]

    @property
    def needs_fit(self) -> bool:
        return self.kind in ("categorical", "multi_label") and self.classes is None

    def fit(self, batches: Iterable[dict[str, np.ndarray]]) -> None:
        """Learn the classes from the training split's batches (categorical and multi-label without `classes`)."""
        if not self.needs_fit:
            return
        found: set[str] = set()
        integers = True
        for batch in batches:
            values = batch[self.column]
            integers = integers and values.dtype.kind in "iu"
            texts = strings(values)[:, 0]
            if self.kind == "multi_label":
                separator = self.item.options.get("separator", "|")
                found.update(part for text in texts for part in text.split(separator) if part)
            else:
                found.update(texts)
        count = self.item.options.get("num_classes")
        if self.kind == "categorical" and integers and count:
            self.classes = [str(index) for index in range(count)]
            return
        self.classes = sorted(found, key=lambda name: (int(name), name) if name.lstrip("-").isdigit() else (0, name)) \
            if found and all(name.lstrip("-").isdigit() for name in found) else sorted(found)
        if count and len(self.classes) != count:
            raise DataError(f"label '{self.item.name}' declares num_classes {count} but the training split holds "
                            f"{len(self.classes)} classes in column '{self.column}': {self.classes[:20]}; give "
                            "`classes` or correct `num_classes`")

    def encode(self, values: np.ndarray, numbers: np.ndarray) -> np.ndarray:
        """Targets for a batch of the label column; `numbers` are the examples' 1-based numbers, for messages.

        Raises:
            DataError: a missing label, a value outside the classes, a non-numeric regression target.
        """
        if self.kind == "regression":
            if values.dtype == object:
                raise DataError(f"regression label '{self.item.name}' reads column '{self.column}', which "
                                "holds text; expected numbers")
            targets = values.astype(np.float32)
            self._no_missing(np.isnan(targets.reshape(len(targets), -1)).any(axis=1), numbers)
            return targets
        texts = strings(values)[:, 0]
        self._no_missing(texts == "", numbers)
        if self.kind == "binary":
            return self._binary(texts, numbers)
        if self.kind == "multi_label":
            separator = self.item.options.get("separator", "|")
            index = {name: position for position, name in enumerate(self.classes)}
            targets = np.zeros((len(texts), len(self.classes)), dtype=np.float32)
            for row, text in enumerate(texts):
                for part in filter(None, text.split(separator)):
                    if part not in index:
                        self._outside(part, numbers[row])
                    targets[row, index[part]] = 1.0
            return targets
        index = {name: position for position, name in enumerate(self.classes)}
        targets = np.empty(len(texts), dtype=np.int32)
        for row, text in enumerate(texts):
            position = index.get(text)
            if position is None:
                self._outside(text, numbers[row])
            targets[row] = position
        return targets

    def _binary(self, texts: np.ndarray, numbers: np.ndarray) -> np.ndarray:
        positive = self.item.options.get("positive")
        if positive is not None:
            return (texts == strings(np.array([positive], dtype=object))[0, 0]).astype(np.float32)
        lowered = np.char.lower(texts.astype(str))
        bad = ~np.isin(lowered, list(_TRUE | _FALSE))
        if bad.any():
            row = int(np.argmax(bad))
            raise DataError(f"example {numbers[row]}: binary label '{self.item.name}' has value "
                            f"{texts[row]!r} in column '{self.column}'; expected 0/1 or true/false, or set "
                            "`positive` to the value counted as positive")
        return np.isin(lowered, list(_TRUE)).astype(np.float32)

    def _no_missing(self, missing: np.ndarray, numbers: np.ndarray) -> None:
        if missing.any():
            row = int(np.argmax(missing))
            raise DataError(f"example {numbers[row]}: label '{self.item.name}' is missing in column "
                            f"'{self.column}'")

    def _outside(self, value: str, example: int) -> None:
        shown = ", ".join(repr(name) for name in self.classes[:20])
        raise DataError(f"example {example}: label '{self.item.name}' has value {value!r} in column "
                        f"'{self.column}', which is not one of its classes: {shown}"
                        + (" ..." if len(self.classes) > 20 else ""))

    def spec(self):
        """The target's shape and dtype, for `tf.TensorSpec`."""
        if self.kind == "categorical":
            return (), "int32"
        if self.kind == "multi_label":
            return (len(self.classes),), "float32"
        return (), "float32"
