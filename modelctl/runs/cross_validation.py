"""The record of a k-fold cross-validation (`cross_validation.json` in its folder), read and written here alone.

    result = CrossValidation.of([fold_1_metrics, fold_2_metrics, ...])   # each: split -> metric -> value
    result.summary["validation"]["loss"]      # {"mean": 0.31, "std": 0.04, "values": [0.29, 0.36, ...]}
    write_cross_validation(run, result)       # atomically, after checking the schema
    read_cross_validation(run)                # schema-checked: RunError names every problem

The file holds:

    folds       K, the number of folds
    metrics     split -> metric -> {mean, std, values}: the spread over the folds (std is the sample standard
                deviation, 0 for one value; `values` in fold order, a fold that did not measure a metric left
                out)
    per_fold    one entry per fold, in order: `fold` (from 1), `run` (its folder, `fold-N`) and `metrics`
                (its metrics.json: split -> metric -> value)

Every fold is validated on its own fold of the non-test rows and tested on the same test split, so `validation`
spreads measure the model's variance over training sets, and `test` ones the same over one held-out split.
`modelctl train --folds`, `modelctl search` (a trial with `--folds`) and `modelctl track` use this one schema.
"""

from __future__ import annotations

import dataclasses
import math
import statistics

from modelctl.runs.checked import checked, read_json
from modelctl.runs.folder import CROSS_VALIDATION, FOLD, RunFolder, write_json

_NUMBER = {"type": "number"}
SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["folds", "metrics", "per_fold"],
    "properties": {
        "folds": {"type": "integer", "minimum": 2},
        "metrics": {"type": "object", "additionalProperties": {"type": "object", "additionalProperties": {
            "type": "object", "required": ["mean", "std", "values"],
            "properties": {"mean": _NUMBER, "std": _NUMBER, "values": {"type": "array", "items": _NUMBER}}}}},
        "per_fold": {"type": "array", "items": {
            "type": "object", "required": ["fold", "run", "metrics"],
            "properties": {"fold": {"type": "integer", "minimum": 1}, "run": {"type": "string"},
                           "metrics": {"type": "object", "additionalProperties": {
                               "type": "object", "additionalProperties": _NUMBER}}}}},
    },
}


def summarize(per_fold: list[dict]) -> dict:
    """split -> metric -> {mean, std, values} over the folds' metrics (split -> metric -> value each), in the
    order the first fold lists them."""
    summary: dict = {}
    for fold in per_fold:
        for split, values in fold.items():
            for name in values:
                summary.setdefault(split, {}).setdefault(name, None)
    for split, names in summary.items():
        for name in names:
            values = [float(fold[split][name]) for fold in per_fold if name in fold.get(split, {})]
            names[name] = {"mean": statistics.fmean(values),
                           "std": statistics.stdev(values) if len(values) > 1 else 0.0, "values": values}
    return summary


@dataclasses.dataclass(frozen=True)
class CrossValidation:
    """The folds' metrics, in fold order (see the module docstring)."""

    per_fold: tuple[dict, ...]

    @classmethod
    def of(cls, per_fold: list[dict]) -> "CrossValidation":
        """The record of the folds' metrics (split -> metric -> value each), in fold order."""
        return cls(tuple(per_fold))

    @property
    def folds(self) -> int:
        return len(self.per_fold)

    @property
    def summary(self) -> dict:
        """split -> metric -> {mean, std, values}."""
        return summarize(list(self.per_fold))

    def best_fold(self, split: str = "validation", metric: str = "loss") -> int | None:
        """The number (from 1) of the fold with the lowest `metric` on `split`; None when none measured it."""
        scored = [(values[split][metric], number) for number, values in enumerate(self.per_fold, start=1)
                  if not math.isnan(values.get(split, {}).get(metric, math.nan))]
        return min(scored)[1] if scored else None

    def to_json(self) -> dict:
        return {"folds": self.folds, "metrics": self.summary,
                "per_fold": [{"fold": number, "run": FOLD.format(number=number), "metrics": metrics}
                             for number, metrics in enumerate(self.per_fold, start=1)]}

    @classmethod
    def from_json(cls, value: object, *, source) -> "CrossValidation":
        """The record of a parsed `cross_validation.json`.

        Raises:
            RunError: it does not fit `SCHEMA`.
        """
        checked(value, SCHEMA, source=source)
        return cls(tuple(entry["metrics"] for entry in sorted(value["per_fold"], key=lambda entry: entry["fold"])))


def write_cross_validation(run: RunFolder, result: CrossValidation) -> None:
    """Write the run's `cross_validation.json` atomically."""
    value = result.to_json()
    checked(value, SCHEMA, source=run.path / CROSS_VALIDATION)
    write_json(run.path / CROSS_VALIDATION, value)


def read_cross_validation(run: RunFolder) -> CrossValidation | None:
    """The run's cross-validation, or None when it is not one (it has no `cross_validation.json`).

    Raises:
        RunError: the file cannot be read or does not fit the schema.
    """
    path = run.path / CROSS_VALIDATION
    if not path.is_file():
        return None
    return CrossValidation.from_json(read_json(path), source=path)


__all__ = ["SCHEMA", "CrossValidation", "read_cross_validation", "summarize", "write_cross_validation"]
