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

from modelctl.data.columns import Columns, factorize, strings
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
        self._found: set[str] = set()
        self._integers = True
        self._seen: dict[str, int] = {}

    @property
    def needs_fit(self) -> bool:
        return self.kind in ("categorical", "multi_label") and self.classes is None

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
        if self.kind == "multi_label":
            separator = self.item.options.get("separator", "|")
            self._found.update(part for text in texts.tolist() for part in text.split(separator) if part)
        else:
            self._found.update(texts.tolist())

    def finish(self) -> None:
        """Set the classes from what `observe` gathered.

        Raises:
            DataError: `num_classes` differs from the number of classes found.
        """
        if not self.needs_fit:
            return
        found = self._found
        count = self.item.options.get("num_classes")
        if self.kind == "categorical" and self._integers and count:
            self.classes = [str(index) for index in range(count)]
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
        separator = self.item.options.get("separator", "|")
        known = set(self.classes or [])
        for value, example in self._seen.items():
            parts = [part for part in value.split(separator) if part] if self.kind == "multi_label" else [value]
            wrong = next((part for part in parts if part not in known), None)
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
        if self.kind == "regression":
            if values.dtype == object:
                raise DataError(f"regression label '{self.item.name}' reads column '{self.column}', which "
                                "holds text; expected numbers")
            targets = values.astype(np.float32)
            self._no_missing(np.isnan(targets.reshape(len(targets), -1)).any(axis=1), numbers)
            return targets
        codes, texts = factorize(values)
        self._no_missing((texts == "")[codes], numbers)
        if self.kind == "binary":
            return self._binary(codes, texts, numbers)
        index = {name: position for position, name in enumerate(self.classes)}
        if self.kind == "multi_label":
            separator = self.item.options.get("separator", "|")
            table = np.zeros((len(texts), len(self.classes)), dtype=np.float32)
            for row, text in enumerate(texts.tolist()):
                for part in filter(None, text.split(separator)):
                    if part not in index:
                        self._outside(part, numbers[int(np.argmax(codes == row))])
                    table[row, index[part]] = 1.0
            return table[codes]
        found = np.array([index.get(text, -1) for text in texts.tolist()], dtype=np.int32)
        outside = (found < 0)[codes]
        if outside.any():
            row = int(np.argmax(outside))
            self._outside(texts[codes[row]], numbers[row])
        return found[codes]

    def _binary(self, codes: np.ndarray, texts: np.ndarray, numbers: np.ndarray) -> np.ndarray:
        positive = self.item.options.get("positive")
        if positive is not None:
            return (texts == strings(np.array([positive], dtype=object))[0, 0]).astype(np.float32)[codes]
        lowered = np.array([text.lower() for text in texts.tolist()], dtype=object)
        bad = ~np.isin(lowered, list(_TRUE | _FALSE))[codes]
        if bad.any():
            row = int(np.argmax(bad))
            raise DataError(f"example {numbers[row]}: binary label '{self.item.name}' has value "
                            f"{texts[codes[row]]!r} in column '{self.column}'; expected 0/1 or true/false, or set "
                            "`positive` to the value counted as positive")
        return np.isin(lowered, list(_TRUE)).astype(np.float32)[codes]

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

    def target_bytes(self) -> int:
        """Bytes of one example's target (0 while a multi-label's classes are not known)."""
        return 4 * len(self.classes or []) if self.kind == "multi_label" else 4

    def spec(self):
        """The target's shape and dtype, for `tf.TensorSpec`."""
        if self.kind == "categorical":
            return (), "int32"
        if self.kind == "multi_label":
            return (len(self.classes),), "float32"
        return (), "float32"

