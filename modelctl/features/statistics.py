"""Statistics of values seen a chunk at a time: the one mean and variance algorithm of fitting and of `modelctl data`.

    moments = Moments(width=3)
    for matrix in chunks:                     # float (n, 3)
        moments.add(matrix)                   # or moments.add(matrix, present=mask): only present values count
    moments.mean, moments.variance, moments.low, moments.high

    described = Described(fitted.features, labels)      # what `modelctl data` reports of prepared data
    for split, chunk in chunks:
        described.add(split, chunk.features, chunk.targets)
    described.feature_entries(), described.label_entries(), described.examples()

`Moments` keeps, per column, the count, the mean and the sum of squared
deviations from it (M2), and merges each chunk's own with Chan, Golub and
LeVeque's formula (the parallel form of Welford's algorithm): the figures equal
those of all the values at once up to rounding, and unlike sums of squares they
do not lose the variance of values far from zero (a column near 1e8 with a spread
of 1 keeps its variance; `E[x^2] - E[x]^2` in float64 keeps none of it).
`modelctl.features.numeric_steps` fits `standardize` and `min_max` with it;
`Described` summarizes numeric features and regression targets with it.
"""

from __future__ import annotations

from modelctl.util.lazy import numpy as np


class Moments:
    """Count, mean, M2 (sum of squared deviations from the mean), minimum and maximum of each of `width` columns.

    Args:
        width: columns, at least 1.
    """

    def __init__(self, width: int):
        self.count = np.zeros(width)
        self.mean = np.zeros(width)
        self.m2 = np.zeros(width)
        self.low = np.full(width, np.inf)
        self.high = np.full(width, -np.inf)

    def add(self, values: np.ndarray, present: np.ndarray | None = None) -> None:
        """Take a chunk: float values (n, width); with `present` (a boolean mask of the same shape), only the
        values where it holds."""
        values = np.asarray(values, dtype=np.float64)
        if not len(values):
            return
        if present is None:
            count = np.full(values.shape[1], float(len(values)))
            mean = values.mean(axis=0)
            m2 = ((values - mean) ** 2).sum(axis=0)
            low, high = values.min(axis=0), values.max(axis=0)
        else:
            count = present.sum(axis=0).astype(np.float64)
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = np.where(count > 0, np.where(present, values, 0.0).sum(axis=0) / count, 0.0)
            m2 = np.where(present, (values - mean) ** 2, 0.0).sum(axis=0)
            low = np.where(present, values, np.inf).min(axis=0)
            high = np.where(present, values, -np.inf).max(axis=0)
        self.merge(count, mean, m2)
        self.low = np.minimum(self.low, low)
        self.high = np.maximum(self.high, high)

    def merge(self, count: np.ndarray, mean: np.ndarray, m2: np.ndarray) -> None:
        """Take a group of values by its count, mean and M2 per column (Chan et al.'s formula)."""
        total = self.count + count
        delta = mean - self.mean
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(total > 0, count / total, 0.0)
        self.m2 = self.m2 + m2 + delta * delta * self.count * share
        self.mean = self.mean + delta * share
        self.count = total

    def repeat(self, count: np.ndarray, value: np.ndarray) -> None:
        """Take `count[j]` more values all equal to `value[j]` in each column j (such as missing values filled)."""
        count = np.asarray(count, dtype=np.float64)
        self.merge(count, np.asarray(value, dtype=np.float64), np.zeros_like(count))
        self.low = np.where(count > 0, np.minimum(self.low, value), self.low)
        self.high = np.where(count > 0, np.maximum(self.high, value), self.high)

    @property
    def variance(self) -> np.ndarray:
        """The population variance of each column (M2 over the count); 0 where a column has no value."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.count > 0, self.m2 / np.maximum(self.count, 1), 0.0)


class Summary:
    """Count, missing (NaN) values, mean, standard deviation, minimum and maximum of every value seen, whatever the
    shape of each example."""

    def __init__(self):
        self.moments = Moments(1)
        self.missing = 0

    def add(self, values: np.ndarray) -> None:
        values = np.asarray(values, dtype=np.float64).reshape(-1, 1)
        present = ~np.isnan(values)
        self.missing += int(len(values) - present.sum())
        self.moments.add(values, present)

    def summary(self, missing: bool = False) -> dict:
        """`mean`, `std`, `min`, `max` rounded to 6 decimals (None without values); `missing` first when asked."""
        moments = self.moments
        if not moments.count[0]:
            figures = {"mean": None, "std": None, "min": None, "max": None}
        else:
            figures = {"mean": _round(moments.mean[0]), "std": _round(np.sqrt(moments.variance[0])),
                       "min": _round(moments.low[0]), "max": _round(moments.high[0])}
        return {"missing": self.missing, **figures} if missing else figures


class Described:
    """What `modelctl data` reports of prepared data, gathered a chunk at a time (data larger than memory too):
    each summarized feature's values and each regression label's targets in the training split (`Summary`), the
    examples of each class of every single-class label in every split, and the first training examples.

    Args:
        fitted: feature name -> its fitted record (`modelctl.runs.Fitted.features`: `type` and `entry`).
        labels: label name -> its `LabelType`, classes fitted.
        examples: training examples shown; default 3.
    """

    def __init__(self, fitted: dict, labels: dict, *, examples: int = 3):
        from modelctl.features import feature_type

        self.fitted = fitted
        self.labels = labels
        self.wanted = examples
        self.statistics = {name: Summary() for name, feature in fitted.items() if feature_type(feature.type).summarized}
        self.targets = {name: Summary() for name, label in labels.items() if label.summarized}
        self.balance: dict[str, dict[str, np.ndarray]] = {name: {} for name, label in labels.items()
                                                          if label.single_class}
        self.shown: dict[str, np.ndarray] | None = None

    def add(self, split: str, features: dict[str, np.ndarray], targets: dict[str, np.ndarray]) -> None:
        """Take a chunk of `split`: feature and label name -> values, one per example, in source order."""
        if split == "train":
            if self.shown is None:
                self.shown = {name: values[:self.wanted] for name, values in features.items()}
            for name, summary in self.statistics.items():
                summary.add(features[name])
            for name, summary in self.targets.items():
                summary.add(targets[name])
        for name, counts in self.balance.items():
            found = np.bincount(np.asarray(targets[name]).astype(int).reshape(-1),
                                minlength=len(self.labels[name].classes))
            counts[split] = counts.get(split, 0) + found

    def feature_entries(self) -> dict:
        """Feature name -> its type and what its type shows (`FeatureType.describe`)."""
        from modelctl.features import feature_type

        described = {}
        for name, feature in self.fitted.items():
            summary = self.statistics[name].summary(missing=True) if name in self.statistics else None
            described[name] = {"type": feature.type, **feature_type(feature.type).describe(feature.entry, summary)}
        return described

    def label_entries(self) -> dict:
        """Label name -> its type, column, classes, and the examples of each class by split (single-class
        labels) or the summary of its targets (regression)."""
        described = {}
        for name, label in self.labels.items():
            entry = {"type": label.kind, "column": label.column, "classes": label.classes}
            if name in self.balance:
                entry["balance"] = {split: dict(zip(label.classes, (int(count) for count in counts)))
                                    for split, counts in self.balance[name].items()}
            elif name in self.targets:
                entry.update(self.targets[name].summary())
            described[name] = entry
        return described

    def examples(self) -> list[dict]:
        """The first training examples, each feature raw and after the fitted steps that run outside Keras."""
        from modelctl.features import feature_type

        if self.shown is None:
            return []
        after = {name: feature_type(self.fitted[name].type).preview(self.fitted[name].entry, values)
                 for name, values in self.shown.items()}
        count = len(next(iter(self.shown.values())))
        return [{name: {"raw": _plain(self.shown[name][index]), "preprocessed": _plain(values[index])}
                 for name, values in after.items()} for index in range(count)]


def _round(value) -> float | None:
    value = float(value)
    return None if np.isnan(value) else round(value, 6)


def _plain(value):
    array = np.asarray(value)
    if array.dtype == object or array.dtype.kind in "US":
        return [str(item) for item in array.reshape(-1)] if array.size > 1 else str(array.reshape(-1)[0])
    flat = array.reshape(-1)
    shown = [round(float(item), 4) for item in flat[:16]]
    return shown + ["..."] if flat.size > 16 else shown


__all__ = ["Described", "Moments", "Summary"]
