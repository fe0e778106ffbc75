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

One pass gathers everything at once: the statistics of every numeric feature
(`modelctl.data.numeric.NumericFit`), the vocabulary of every categorical and
text feature and the classes of every label, from the training split; the
examples kept in every split; and the checks of every label value (a missing
label, a value outside declared classes). A value outside classes that are
still being learned is remembered with the first example that has it, and
reported once the classes are known.
"""

from __future__ import annotations

import dataclasses
from typing import Iterable

import numpy as np

from modelctl.data import numeric
from modelctl.data.columns import Columns, add_counts, value_counts, vocabulary_of
from modelctl.data.errors import DataError
from modelctl.data.labels import LabelEncoder
from modelctl.data.splits import SPLITS


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
        labels: label name -> `LabelEncoder`; the encoders learn their classes here when they need to.
        fitted: the preprocessing of an earlier fit (a run being resumed or evaluated): nothing is fitted
            then, examples are only counted and checked. Default None.
        balanced: count the training examples of each class, for `training.class_weight: balanced`;
            default False.
    """

    def __init__(self, features: dict[str, Columns], labels: dict[str, LabelEncoder], fitted: dict | None = None,
                 balanced: bool = False):
        self.features = features
        self.labels = labels
        self.given = fitted
        self.balanced = balanced
        self.counts = dict.fromkeys(SPLITS, 0)
        self.class_counts: dict[str, int] = {}
        self.first_pass = True
        self.widths: dict[str, int] = {}
        self.numeric: dict[str, numeric.NumericFit] = {}
        self.vocabularies: dict[str, dict[str, int]] = {}
        self.texts: dict[str, list[np.ndarray]] = {}
        if fitted is None:
            for name, item in features.items():
                if item.kind == "categorical" and not item.options.get("vocabulary"):
                    self.vocabularies[name] = {}
                elif item.kind == "text":
                    self.texts[name] = []

    @property
    def done(self) -> bool:
        """Whether every statistic is fitted (after `end_pass`)."""
        return not self.first_pass and all(fit.done for fit in self.numeric.values())

    def add(self, split: str, rows: Rows) -> None:
        """Take one group of examples of `split`, in source order.

        Raises:
            DataError: a missing label, a value outside declared or earlier classes.
        """
        if not self.first_pass:
            if split == "train":
                self._add_numeric(rows)
            return
        self.counts[split] += int(np.count_nonzero(rows.keep))
        for encoder in self.labels.values():
            values = rows.columns[encoder.column]
            encoder.survey(values, rows.numbers)
            if split == "train":
                encoder.observe(values)
        if split != "train":
            return
        if self.balanced:
            encoder = next(iter(self.labels.values()))
            add_counts(self.class_counts, value_counts(rows.columns[encoder.column]))
        if self.given is not None:
            return
        for name, item in self.features.items():
            if item.kind == "numeric" and name not in self.numeric:
                self.widths[name] = int(rows.features[name].shape[1])
                self.numeric[name] = numeric.NumericFit(item.options, self.widths[name])
        self._add_numeric(rows)
        for name, counts in self.vocabularies.items():
            add_counts(counts, value_counts(rows.features[name][:, 0]))
        for name, texts in self.texts.items():
            texts.append(rows.features[name])

    def _add_numeric(self, rows: Rows) -> None:
        for name, fit in self.numeric.items():
            if fit.done:
                continue
            matrix = rows.features[name]
            if (self.features[name].options.get("missing") or {}).get("strategy") == "drop":
                matrix = matrix[~np.isnan(matrix).any(axis=1)]
            fit.add(matrix)

    def end_pass(self) -> None:
        """Finish a pass over the examples; on the first, the classes are set and the label values checked.

        Raises:
            DataError: a label value outside the learned classes, or a `num_classes` that does not match.
        """
        for fit in self.numeric.values():
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
        features = {}
        for name, item in self.features.items():
            options = item.options
            if item.kind == "numeric":
                width = self.widths.get(name, len(item.columns))
                steps = self.numeric[name].steps if name in self.numeric else \
                    numeric.fit_numeric(options, width, lambda: iter(()))
                features[name] = {"type": "numeric", "columns": list(item.columns), "width": width,
                                  "shape": options.get("shape"), "augmentation": options.get("augmentation") or [],
                                  "steps": steps}
            elif item.kind == "categorical":
                vocabulary = [str(value) for value in options["vocabulary"]] if options.get("vocabulary") else \
                    vocabulary_of(self.vocabularies[name], options.get("max_tokens"))
                features[name] = {"type": "categorical", "column": item.columns[0], "vocabulary": vocabulary,
                                  "num_oov_indices": options.get("num_oov_indices", 1),
                                  "output_mode": options.get("output_mode", "one_hot")}
            elif item.kind == "text":
                features[name] = {"type": "text", "column": item.columns[0],
                                  **text_vocabulary(options, self.texts[name])}
            else:
                features[name] = {"type": "image", "column": item.columns[0], "size": list(options["size"]),
                                  "channels": options.get("channels", 3),
                                  "steps": numeric.fit_numeric({"preprocessing": options.get("preprocessing")}, 1,
                                                               lambda: iter(())),
                                  "augmentation": options.get("augmentation") or []}
        labels = {name: {"type": encoder.kind, "column": encoder.column, "classes": encoder.classes}
                  for name, encoder in self.labels.items()}
        return {"features": features, "labels": labels}

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


def text_vocabulary(options: dict, texts: Iterable[np.ndarray]) -> dict:
    """A text feature's settings and the vocabulary `keras.layers.TextVectorization` learns from the training
    split's texts (and its idf weights for the `tf_idf` output mode)."""
    from modelctl.util.tf import tensorflow

    tf = tensorflow()
    import keras

    settings = {"max_tokens": options.get("max_tokens", 20000),
                "standardize": options.get("standardize", "lower_and_strip_punctuation"),
                "split": options.get("split", "whitespace"), "ngrams": options.get("ngrams"),
                "output_mode": options.get("output_mode", "int"),
                "sequence_length": options.get("sequence_length")}
    layer = keras.layers.TextVectorization(
        max_tokens=settings["max_tokens"],
        standardize=None if settings["standardize"] == "none" else settings["standardize"],
        split=settings["split"], ngrams=settings["ngrams"], output_mode=settings["output_mode"],
        output_sequence_length=settings["sequence_length"])
    texts = [values.astype(str) for values in texts]
    layer.adapt(tf.data.Dataset.from_tensor_slices(np.concatenate(texts) if texts else np.array([""])).batch(256))
    vocabulary = [str(token) for token in layer.get_vocabulary(include_special_tokens=False)]
    idf = None
    if settings["output_mode"] == "tf_idf":
        saved: dict = {}
        layer.save_own_variables(saved)
        idf = [float(value) for value in saved["idf_weights"][1:]]
    return {**settings, "vocabulary": vocabulary, "idf_weights": idf}


def check_balanced(labels: dict[str, LabelEncoder]) -> None:
    """Raise unless the first label can be balanced (binary or categorical)."""
    encoder = next(iter(labels.values()), None)
    if encoder is None or encoder.kind not in ("binary", "categorical"):
        raise DataError("training.class_weight needs a binary or categorical label")


__all__ = ["Fitting", "Rows", "check_balanced", "text_vocabulary"]
