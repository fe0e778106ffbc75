"""Numeric preprocessing: the spec's steps, fitted on the training split into plain data.

    steps = fit_numeric(options, width, train_matrices)   # [{"op": "fill", ...}, {"op": "standardize", ...}]
    apply_numeric(steps, matrix)                          # the same transform in numpy

A fitted step is a JSON mapping; `modelctl.features.layers.NumericPreprocessing`
applies the same steps inside the model, so saved and exported models take raw values.

| spec step | fitted step | statistics from the training split |
| --- | --- | --- |
| missing: mean / median / constant | `fill` with one value per column | mean or median of the present values |
| standardize | `standardize` with `mean` and `std` per column (a constant column gets std 1) | after the earlier steps |
| min_max | `min_max` with `min` and `max` per column (a constant column gets range 1) | after the earlier steps |
| log | `log` (log(1 + x)) | none |
| clip | `clip` with `min` and `max` | none |
| rescale | `rescale` with `factor` | none |

Statistics are accumulated batch by batch (`modelctl.features.statistics.Moments`:
count, mean and M2 merged by Chan's formula, in float64), so the training
split is never held whole, except for the `median` fill, which keeps the
training values of the feature's columns. `NumericFit` gathers them in as few
passes over the training split as the steps allow (one for a fill and the
statistic step after it), so that the pipeline can fit every feature in a
single pass.
"""

from __future__ import annotations

from typing import Callable, Iterable

from modelctl.util.lazy import numpy as np

from modelctl.features.base import filled
from modelctl.features.statistics import Moments
from modelctl.registry import args
from modelctl.registry.schema_parts import closed

STAT_STEPS = ("standardize", "min_max")


def missing_schema() -> dict:
    """Schema of a numeric feature's `missing` key: what a missing value becomes."""
    return closed({
        "strategy": args.choice(["error", "mean", "median", "constant", "drop"],
                                "What a missing value becomes: an error, the training mean or median, "
                                "`value`, or the row is dropped.", "error"),
        "value": args.number("The value used by the `constant` strategy.", 0.0),
    }, "Handling of missing values.", default={"strategy": "error"})


def spec_steps(written: list) -> list[tuple[str, object]]:
    """The spec's `preprocessing` list as (name, options) pairs: `standardize` and `{standardize: null}` alike."""
    steps = []
    for item in written or []:
        if isinstance(item, str):
            steps.append((item, None))
        else:
            (name, options), = item.items()
            steps.append((name, options))
    return steps


class NumericFit:
    """Fits one numeric feature's steps on the training split, in as few passes over it as the steps allow.

        fit = NumericFit(options, width)
        while not fit.done:
            for matrix in training_matrices():    # float32 (n, width), missing values NaN
                fit.add(matrix)
            fit.end_pass()
        fit.steps                                 # fitted steps, in the order they apply

    One pass fits the `mean` or `median` fill together with the first of `standardize` and `min_max`
    after it (the statistics of the filled values follow from those of the present values once the fill
    value is known, as the steps between them work value by value); every later `standardize` or `min_max`
    takes one more pass. Steps without statistics need no pass; a feature without statistics is `done` at once.

    Args:
        options: the feature's spec mapping (`preprocessing`, `missing`).
        width: number of values per example (columns, or the product of a declared shape).
    """

    def __init__(self, options: dict, width: int):
        self.width = width
        missing = filled({"missing": missing_schema()}, options)["missing"]
        strategy = missing["strategy"]
        self.pending: list[tuple[str, object]] = []
        if strategy in ("mean", "median"):
            self.pending.append(("fill", strategy))
        elif strategy == "constant":
            self.pending.append(("constant", float(missing["value"])))
        self.pending += spec_steps(options.get("preprocessing"))
        self.steps: list[dict] = []
        self._next_stage()

    @property
    def done(self) -> bool:
        """Whether every step is fitted (no pass is needed any more)."""
        return self.fill is None and self.statistic is None

    def _next_stage(self) -> None:
        """Fit the steps that need no statistics, then take what the next pass gathers: a fill, the steps
        after it that need no statistics, and the statistic step after those."""
        while self.pending and not _gathers(self.pending[0]):
            self.steps.append(self._plain(*self.pending.pop(0)))
        self.fill = self.statistic = None
        self.between: list[dict] = []
        if self.pending and self.pending[0][0] == "fill":
            self.fill = self.pending.pop(0)[1]
            while self.pending and not _gathers(self.pending[0]):
                self.between.append(self._plain(*self.pending.pop(0)))
        if self.pending:
            self.statistic = self.pending.pop(0)[0]
        width = self.width
        self.sums, self.present, self.collected = np.zeros(width), np.zeros(width), []
        self.moments, self.missing = Moments(width), np.zeros(width)

    def _plain(self, name: str, options) -> dict:
        """The fitted form of a step that needs no statistics."""
        if name == "constant":
            return {"op": "fill", "values": [options] * self.width}
        if name == "log":
            return {"op": "log"}
        if name == "clip":
            options = options or {}
            return {"op": "clip", "min": options.get("min"), "max": options.get("max")}
        if name == "rescale":
            return {"op": "rescale", "factor": float(options)}
        raise ValueError(f"Unknown numeric preprocessing step {name!r}. Expected one of standardize, min_max, log, "
                         f"clip, rescale.")

    def add(self, matrix: np.ndarray) -> None:
        """Gather one batch of training examples: float (n, width), missing values NaN."""
        values = apply_numeric(self.steps, matrix)
        if self.fill is None:
            wide = values.astype(np.float64)
            wide[np.isnan(wide)] = 0.0
            self._gather(wide, None)
            return
        present = ~np.isnan(values)
        if self.fill == "median":
            self.collected.append(values)
        self.sums += np.where(present, values, 0).sum(axis=0, dtype=np.float64)
        self.present += present.sum(axis=0)
        if self.statistic is not None:
            after = apply_numeric(self.between, values).astype(np.float64)
            self._gather(np.where(present & ~np.isnan(after), after, 0.0), present)

    def _gather(self, values: np.ndarray, present: np.ndarray | None) -> None:
        """Add float64 values (n, width) to the statistics; with `present`, only the present ones (the others are
        counted in `missing`, and join the statistics as the fill value once it is known)."""
        if present is not None:
            self.missing += (~present).sum(axis=0)
        self.moments.add(values, present)

    def end_pass(self) -> None:
        """Finish a pass over the training split: fit what it gathered, then the steps after it that need
        no statistics."""
        if self.fill is not None:
            values = self._fill_values()
            self.steps.append({"op": "fill", "values": values})
            self.steps += self.between
            if self.statistic is not None:
                # The missing values all became the fill value: add them to the present ones' statistics.
                filled = apply_numeric(self.between, np.asarray([values], np.float32))[0].astype(np.float64)
                self.moments.repeat(self.missing, np.where(np.isnan(filled), 0.0, filled))
        if self.statistic is not None:
            self.steps.append(self._statistic_step())
        self._next_stage()

    def _fill_values(self) -> list[float]:
        if self.fill == "median":
            values = np.concatenate(self.collected) if self.collected else np.zeros((0, self.width), np.float32)
            with np.errstate(all="ignore"):
                medians = np.nanmedian(values.astype(np.float64), axis=0) if len(values) else np.zeros(self.width)
            return [0.0 if np.isnan(value) else float(value) for value in np.atleast_1d(medians)]
        return [float(total / count) if count else 0.0 for total, count in zip(self.sums, self.present)]

    def _statistic_step(self) -> dict:
        moments = self.moments
        if self.statistic == "standardize":
            std = np.sqrt(moments.variance)
            std = np.where((std < 1e-7) | (moments.count == 0), 1.0, std)
            return {"op": "standardize", "mean": moments.mean.tolist(), "std": std.tolist()}
        low = np.where(np.isfinite(moments.low), moments.low, 0.0)
        high = np.where(np.isfinite(moments.high), moments.high, 1.0)
        high = np.where(high - low < 1e-12, low + 1.0, high)
        return {"op": "min_max", "min": low.tolist(), "max": high.tolist()}


def _gathers(step: tuple[str, object]) -> bool:
    """Whether a pending step needs statistics of the training split."""
    name, options = step
    return name in STAT_STEPS or (name == "fill" and options in ("mean", "median"))


def fit_numeric(options: dict, width: int, batches: Callable[[], Iterable[np.ndarray]]) -> list[dict]:
    """Fit a numeric feature's steps on the training split (see `NumericFit`).

    Args:
        options: the feature's spec mapping (`preprocessing`, `missing`).
        width: number of values per example (columns, or the product of a declared shape).
        batches: called once per pass over the training split; yields float32 matrices (n, width) with
            missing values as NaN (rows with a missing value already dropped under the `drop` strategy).

    Returns:
        Fitted steps (see the module docstring), in the order they apply.
    """
    fit = NumericFit(options, width)
    while not fit.done:
        for matrix in batches():
            fit.add(matrix)
        fit.end_pass()
    return fit.steps


def apply_numeric(steps: list[dict], matrix: np.ndarray) -> np.ndarray:
    """Apply fitted steps to a float matrix (n, width) in numpy; the reference for the model's layer."""
    values = np.asarray(matrix, dtype=np.float32)
    for step in steps:
        op = step["op"]
        if op == "fill":
            values = np.where(np.isnan(values), np.asarray(step["values"], np.float32), values)
        elif op == "log":
            values = np.log1p(values)
        elif op == "clip":
            low = -np.inf if step["min"] is None else step["min"]
            high = np.inf if step["max"] is None else step["max"]
            values = np.clip(values, low, high)
        elif op == "standardize":
            values = (values - np.asarray(step["mean"], np.float32)) / np.asarray(step["std"], np.float32)
        elif op == "min_max":
            low = np.asarray(step["min"], np.float32)
            values = (values - low) / (np.asarray(step["max"], np.float32) - low)
        elif op == "rescale":
            values = values * np.float32(step["factor"])
        values = values.astype(np.float32)
    return values
