"""Binary labels: two classes, one probability; the target is float32 0/1.

    labels:
      churned: {type: binary, column: churn}                  # 0/1, true/false or yes/no
      spam: {type: binary, column: kind, positive: spam}      # `spam` is 1; the one other value is 0
      left: {type: binary, column: status, positive: left, negative: stayed}

A binary label takes exactly two values, and both are named by the data: the
classes are `[negative, positive]` as the column writes them. Without
`positive`, the column holds one pair of 0/1, false/true or no/yes (in any
case), and the second of the pair is positive. With `positive: P`, the other
value of the training split is the negative one, or `negative: N` names it.

Nothing else becomes a class: a third value (`Churn` beside `churn`), a
`positive` value the training split lacks, or a split with one value only is
an error naming the file and row; a value outside the two classes in any split
(evaluation data included) is an error at its row, or is skipped and counted
under `data.on_bad_rows: skip` where the classes are known before reading.
"""

from __future__ import annotations

from modelctl.util.lazy import numpy as np

from modelctl.errors import DataError, EvaluationError
from modelctl.features.labels import scores as checks
from modelctl.features.labels.base import LabelType
from modelctl.features.values import factorize, strings
from modelctl.registry import args

PAIRS = (("0", "1"), ("false", "true"), ("no", "yes"))
"""The pairs a binary label without `positive` may hold, negative first (compared in lower case)."""

TRUE = {pair[1] for pair in PAIRS}
FALSE = {pair[0] for pair in PAIRS}

LEGACY = ["negative", "positive"]
"""The classes runs fitted before classes were named by the data kept for a label without `positive`; such a
run still reads any of the pairs' values."""


def _text(value: object) -> str:
    return strings(np.array([value], dtype=object))[0, 0]


class BinaryLabel(LabelType):
    """Two classes; see the module docstring."""

    name = "binary"
    default_loss = "binary_crossentropy"
    learns_classes = True
    single_class = True
    positive_class = 1
    metrics = ("accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "log_loss", "confusion_matrix")
    plots = ("confusion_matrix", "roc", "pr", "calibration")

    def __init__(self, item, classes: list[str] | None = None):
        super().__init__(item, classes)
        self._counts: dict[str, int] = {}

    @classmethod
    def output_units(cls, options: dict) -> int:
        return 1

    @classmethod
    def schema(cls) -> dict:
        value = {"type": ["string", "integer", "boolean"]}
        return {"positive": args.any_of([value, {"type": "null"}],
                                        "The value counted as positive (1); null for a 0/1, false/true or no/yes "
                                        "column, whose second value is positive.", None),
                "negative": args.any_of([value, {"type": "null"}],
                                        "The value counted as negative (0), with `positive`; null takes the one "
                                        "other value of the training split.", None)}

    def default_classes(self, options: dict) -> list[str] | None:
        positive, negative = options.get("positive"), options.get("negative")
        if positive is not None and negative is not None:
            return [_text(negative), _text(positive)]
        return None

    def observe(self, values: np.ndarray) -> None:
        if not self.needs_fit:
            return
        codes, texts = factorize(values)
        for text, count in zip(texts.tolist(), np.bincount(codes, minlength=len(texts)).tolist()):
            if text:
                self._counts[text] = self._counts.get(text, 0) + count

    def finish(self) -> None:
        """Name the two classes from the values of the training split.

        Raises:
            DataError: `positive` never occurs, one value only, more than two values, values that are no pair.
        """
        if not self.needs_fit:
            return
        counts = self._counts
        positive = self.item.options.get("positive")
        found = sorted(counts, key=lambda value: (-counts[value], value))
        if positive is not None:
            positive = _text(positive)
            if positive not in counts:
                raise DataError(f"binary label '{self.item.name}': the positive value {positive!r} never occurs in "
                                f"the training split; column '{self.column}' holds {self._shown(found)}. Set "
                                "`positive` to one of them", column=self.column)
            others = [value for value in found if value != positive]
            if len(others) == 1:
                self.classes = [others[0], positive]
                return
            if not others:
                raise DataError(f"binary label '{self.item.name}': column '{self.column}' holds only {positive!r} "
                                "in the training split; a binary label needs examples of two values",
                                column=self.column)
            self._too_many(found, "give `negative:` to name the negative value and correct the others")
        pair = next((pair for pair in PAIRS if {value.lower() for value in found} <= set(pair)), None)
        if pair is None:
            words = " or ".join("/".join(pair) for pair in PAIRS)
            if len(found) > 2 and all(value.lower() in TRUE | FALSE for value in found):
                self._too_many(found, f"write one pair of {words}")
            stray = [value for value in found if value.lower() not in TRUE | FALSE]
            raise DataError(f"binary label '{self.item.name}' has value {stray[0]!r}; column '{self.column}' "
                            f"holds {self._shown(found)} in the training split. Without `positive` a binary label "
                            f"reads {words}; set `positive` to the value counted as positive",
                            column=self.column, example=self._seen.get(stray[0]))
        spelled = {value.lower(): value for value in sorted(found, key=lambda value: -counts[value])}
        if len(spelled) < 2:
            raise DataError(f"binary label '{self.item.name}': column '{self.column}' holds only "
                            f"{found[0]!r} in the training split; a binary label needs examples of two values",
                            column=self.column)
        self.classes = [spelled[pair[0]], spelled[pair[1]]]

    def _shown(self, found: list[str]) -> str:
        listed = ", ".join(f"{value!r} ({self._counts[value]})" for value in found[:10])
        return listed + (f" and {len(found) - 10} more" if len(found) > 10 else "")

    def _too_many(self, found: list[str], fix: str) -> None:
        stray = found[-1]  # the rarest: the two most frequent values are the likeliest classes
        raise DataError(f"binary label '{self.item.name}' takes two values, but column '{self.column}' holds "
                        f"{len(found)} in the training split: {self._shown(found)}; value {stray!r} is the rarest. "
                        f"Correct the data, or {fix}", column=self.column, example=self._seen.get(stray))

    def check_seen(self) -> None:
        """After `finish`: raise for the first example (by number) whose value is neither class, in any split."""
        self._counts = {}
        seen, self._seen = self._seen, {}
        if not seen:
            return
        values = list(seen)
        indices = self._indices(np.array(values, dtype=object))
        outside = [(seen[value], value) for value, index in zip(values, indices.tolist()) if index < 0]
        if outside:
            example, value = min(outside)
            self._outside(value, example)

    def encode_texts(self, codes: np.ndarray, texts: np.ndarray, numbers: np.ndarray) -> np.ndarray:
        found = self._indices(texts)
        outside = (found < 0)[codes]
        if outside.any():
            row = int(np.argmax(outside))
            self._outside(texts[codes[row]], numbers[row])
        return found.astype(np.float32)[codes]

    def known(self, values: np.ndarray) -> np.ndarray:
        codes, texts = factorize(values)
        return (self._indices(texts) >= 0)[codes]

    def _indices(self, texts: np.ndarray) -> np.ndarray:
        """0 or 1 for each distinct value, -1 for a value that is neither class."""
        if self.classes == LEGACY and self.item.options.get("positive") is None:
            return np.array([1 if text.lower() in TRUE else 0 if text.lower() in FALSE else -1
                             for text in texts.tolist()], dtype=np.int32)
        if self.item.options.get("positive") is None:  # the pair named by the data, in any case
            index = {name.lower(): position for position, name in enumerate(self.classes)}
            return np.array([index.get(text.lower(), -1) for text in texts.tolist()], dtype=np.int32)
        index = {name: position for position, name in enumerate(self.classes)}
        return np.array([index.get(text, -1) for text in texts.tolist()], dtype=np.int32)

    @staticmethod
    def predictions(label: str, score: np.ndarray, classes: list[str]) -> dict:
        probability = float(np.ravel(score)[0])
        return {label: classes[1] if probability > 0.5 else classes[0], f"{label}_probability": probability}

    @classmethod
    def shaped_scores(cls, y_true: np.ndarray, y_score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Both (n,): y_true 0 or 1, y_score the probability of the positive class; (n, 1) is read as (n,)."""
        true, score = checks.column(y_true), checks.column(y_score)
        if true is None or score is None:
            hint = ""
            if y_score.ndim == 2 and y_score.shape[1] == 2:
                hint = (" (two columns of scores are label type 'categorical'; binary takes the positive class's "
                        "probability only)")
            raise EvaluationError(f"y_true and y_score must have shape (n,) or (n, 1) for label type 'binary'; "
                                  f"received y_true shape {y_true.shape} and y_score shape {y_score.shape}{hint}")
        return true, score.astype(np.float64)

    @classmethod
    def score_count(cls, y_score: np.ndarray) -> int:
        return 2

    @classmethod
    def binary_problems(cls, y_true: np.ndarray, y_score: np.ndarray, classes: list[str]):
        """One problem, named after the positive class."""
        yield classes[1], y_true, y_score

    @classmethod
    def class_probabilities(cls, row: np.ndarray) -> np.ndarray:
        probability = float(np.ravel(row)[0])
        return np.array([1.0 - probability, probability])


__all__ = ["BinaryLabel"]
