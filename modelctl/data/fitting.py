"""Fitting a spec's preprocessing on the training split while every split's examples are counted and checked.

    fitting = Fitting(features, labels, fitted=None, balanced=False)
    for split, rows in every_split:             # (split, Rows) in source order
        fitting.add(split, rows)
    fitting.end_pass()
    while not fitting.done:                     # a statistic step that depends on an earlier one
        for rows in training_split:
            fitting.add("train", rows)
        fitting.end_pass()
    fitting.fitted, fitting.counts              # JSON-ready preprocessing; examples kept per split
    fitting.split_rows                          # split -> a digest of the rows it kept (which rows, in order)

One pass gathers everything at once: what every feature learns from the
training split (each feature type's `Fit`: the statistics of a numeric
feature, the vocabulary of a categorical or text one) and the classes of every
label; the
examples kept in every split; and the checks of every label value (a missing
label, a value outside declared classes). A value outside classes that are
still being learned is remembered with the first example that has it, and
reported once the classes are known.
"""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np

from modelctl.data.columns import Columns, add_counts, value_counts
from modelctl.data.errors import DataError
from modelctl.data.splits import SPLITS
from modelctl.features import feature_type
from modelctl.features.base import Fit
from modelctl.features.labels.base import LabelType


@dataclasses.dataclass
class Rows:
    """Consecutive examples of one source as read, before targets are made.

    Args:
        features: feature name -> the raw values the model takes (see `encode_features`), one per example.
        columns: the label and weight columns as read.
        keep: which examples are kept (the `drop` strategy and images that cannot be decoded drop some).
        numbers: each example's 1-based number in its source, for messages.
    """

    features: dict[str, np.ndarray]
    columns: dict[str, np.ndarray]
    keep: np.ndarray
    numbers: np.ndarray

    def __len__(self) -> int:
        return len(self.numbers)

    def take(self, index) -> "Rows":
        return Rows({name: values[index] for name, values in self.features.items()},
                    {name: values[index] for name, values in self.columns.items()}, self.keep[index],
                    self.numbers[index])


class Fitting:
    """Statistics, vocabularies and classes from the training split; counts and label checks of every split.

    Args:
        features: feature name -> `Columns` (from `ColumnPlan`).
        labels: label name -> `LabelType`; the encoders learn their classes here when they need to.
        fitted: the preprocessing of an earlier fit (a run being resumed or evaluated): nothing is fitted
            then, examples are only counted and checked. Default None.
        balanced: count the training examples of each class, for `training.class_weight: balanced`;
            default False.
    """

    def __init__(self, features: dict[str, Columns], labels: dict[str, LabelType], fitted: dict | None = None,
                 *, balanced: bool = False):
        self.features = features
        self.labels = labels
        self.given = fitted
        self.balanced = balanced
        self.counts = dict.fromkeys(SPLITS, 0)
        self._rows = {split: hashlib.blake2b(digest_size=16) for split in SPLITS}
        self.class_counts: dict[str, int] = {}
        self.first_pass = True
        self.fits: dict[str, Fit] = {} if fitted is not None else \
            {name: feature_type(item.kind).fitter(item) for name, item in features.items()}

    @property
    def done(self) -> bool:
        """Whether every statistic is fitted (after `end_pass`)."""
        return not self.first_pass and all(fit.done for fit in self.fits.values())

    def add(self, split: str, rows: Rows) -> None:
        """Take one group of examples of `split`, in source order.

        Raises:
            DataError: a missing label, a value outside declared or earlier classes.
        """
        if not self.first_pass:
            if split == "train":
                self._add_fits(rows)
            return
        self.counts[split] += int(np.count_nonzero(rows.keep))
        kept = rows if rows.keep.all() else rows.take(rows.keep)  # a dropped example's label is not checked
        self._rows[split].update(np.ascontiguousarray(kept.numbers, dtype="<i8").tobytes())
        for encoder in self.labels.values():
            values = kept.columns[encoder.column]
            encoder.survey(values, kept.numbers)
            if split == "train":
                encoder.observe(values)
        if split != "train":
            return
        if self.balanced:
            encoder = next(iter(self.labels.values()))
            add_counts(self.class_counts, value_counts(kept.columns[encoder.column]))
        self._add_fits(rows)

    def _add_fits(self, rows: Rows) -> None:
        for name, fit in self.fits.items():
            if not fit.done:
                fit.add(rows.features[name])

    def end_pass(self) -> None:
        """Finish a pass over the examples; on the first, the classes are set and the label values checked.

        Raises:
            DataError: a label value outside the learned classes, or a `num_classes` that does not match.
        """
        for fit in self.fits.values():
            if not fit.done:
                fit.end_pass()
        if self.first_pass:
            self.first_pass = False
            for encoder in self.labels.values():
                encoder.finish()
                encoder.check_seen()

    @property
    def fitted(self) -> dict:
        """The fitted preprocessing, JSON-ready (the one given, when there was one)."""
        if self.given is not None:
            return self.given
        features = {name: fit.fitted() for name, fit in self.fits.items()}
        labels = {name: {"type": encoder.kind, "column": encoder.column, "classes": encoder.classes}
                  for name, encoder in self.labels.items()}
        return {"features": features, "labels": labels}

    @property
    def split_rows(self) -> dict[str, str]:
        """Split -> a digest (BLAKE2b) of the source row numbers of the examples it kept, in order: two runs whose
        digests agree split the same rows the same way, whatever seed or settings chose it."""
        return {split: digest.hexdigest() for split, digest in self._rows.items()}

    def balanced_weights(self) -> dict[int, float]:
        """`total / (classes * count)` for each class of the first label, from the training split."""
        encoder = next(iter(self.labels.values()))
        counts = np.zeros(len(encoder.classes))
        if self.class_counts:
            values = np.array(list(self.class_counts), dtype=object)
            targets = encoder.encode(values, np.zeros(len(values), dtype=np.int64)).astype(int).reshape(-1)
            counts += np.bincount(targets, weights=list(self.class_counts.values()), minlength=len(counts))
        total = counts.sum()
        return {index: float(total / (len(counts) * count)) if count else 1.0 for index, count in enumerate(counts)}


def check_balanced(labels: dict[str, LabelType]) -> None:
    """Raise unless the first label can be balanced (binary or categorical)."""
    encoder = next(iter(labels.values()), None)
    if encoder is None or not encoder.single_class:
        raise DataError("training.class_weight needs a binary or categorical label")


__all__ = ["Fitting", "Rows", "check_balanced"]
