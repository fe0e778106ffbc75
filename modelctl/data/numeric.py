"""Numeric preprocessing: the spec's steps, fitted on the training split into plain data.

    steps = fit_numeric(item, train_matrices)     # [{"op": "fill", "values": [...]}, {"op": "standardize", ...}]
    apply_numeric(steps, matrix)                  # the same transform in numpy

A fitted step is a JSON mapping; `modelctl.model.preprocessing.NumericPreprocessing`
applies the same steps inside the model, so saved and exported models take raw values.

| spec step | fitted step | statistics from the training split |
| --- | --- | --- |
| missing: mean / median / constant | `fill` with one value per column | mean or median of the present values |
| standardize | `standardize` with `mean` and `std` per column (a constant column gets std 1) | after the earlier steps |
| min_max | `min_max` with `min` and `max` per column (a constant column gets range 1) | after the earlier steps |
| log | `log` (log(1 + x)) | none |
| clip | `clip` with `min` and `max` | none |
| rescale | `rescale` with `factor` | none |

Statistics are accumulated batch by batch (sums in float64), so the training
split is never held whole, except for the `median` fill, which keeps the
training values of the feature's columns.
"""

from __future__ import annotations

from typing import Callable, Iterable

import numpy as np

STAT_STEPS = ("standardize", "min_max")


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


def fit_numeric(options: dict, width: int, batches: Callable[[], Iterable[np.ndarray]]) -> list[dict]:
    """Fit a numeric feature's steps on the training split.

    Args:
        options: the feature's spec mapping (`preprocessing`, `missing`).
        width: number of values per example (columns, or the product of a declared shape).
        batches: called once per pass over the training split; yields float32 matrices (n, width) with
            missing values as NaN (rows with a missing value already dropped under the `drop` strategy).

    Returns:
        Fitted steps (see the module docstring), in the order they apply.
    """
    fitted: list[dict] = []
    missing = (options.get("missing") or {}).get("strategy", "error")
    if missing in ("mean", "median"):
        fitted.append({"op": "fill", "values": _fill_values(missing, width, batches)})
    elif missing == "constant":
        fitted.append({"op": "fill", "values": [float((options.get("missing") or {}).get("value", 0.0))] * width})
    for name, step in spec_steps(options.get("preprocessing")):
        if name in STAT_STEPS:
            fitted.append(_fit_statistics(name, width, batches, list(fitted)))
        elif name == "log":
            fitted.append({"op": "log"})
        elif name == "clip":
            step = step or {}
            fitted.append({"op": "clip", "min": step.get("min"), "max": step.get("max")})
        elif name == "rescale":
            fitted.append({"op": "rescale", "factor": float(step)})
        else:
            raise ValueError(f"Unknown numeric preprocessing step {name!r}. Expected one of standardize, min_max, "
                             f"log, clip, rescale.")
    return fitted


def _fill_values(strategy: str, width: int, batches) -> list[float]:
    if strategy == "median":
        collected = [matrix for matrix in batches()]
        values = np.concatenate(collected) if collected else np.zeros((0, width), np.float32)
        with np.errstate(all="ignore"):
            medians = np.nanmedian(values.astype(np.float64), axis=0) if len(values) else np.zeros(width)
        return [0.0 if np.isnan(value) else float(value) for value in np.atleast_1d(medians)]
    sums = np.zeros(width)
    counts = np.zeros(width)
    for matrix in batches():
        present = ~np.isnan(matrix)
        sums += np.where(present, matrix, 0).sum(axis=0, dtype=np.float64)
        counts += present.sum(axis=0)
    return [float(total / count) if count else 0.0 for total, count in zip(sums, counts)]


def _fit_statistics(name: str, width: int, batches, before: list[dict]) -> dict:
    total = np.zeros(width)
    squares = np.zeros(width)
    count = 0
    low = np.full(width, np.inf)
    high = np.full(width, -np.inf)
    for matrix in batches():
        values = apply_numeric(before, matrix).astype(np.float64)
        values = np.where(np.isnan(values), 0.0, values)
        total += values.sum(axis=0)
        squares += (values ** 2).sum(axis=0)
        count += len(values)
        if len(values):
            low = np.minimum(low, values.min(axis=0))
            high = np.maximum(high, values.max(axis=0))
    if name == "standardize":
        mean = total / count if count else np.zeros(width)
        variance = np.maximum(squares / count - mean ** 2, 0.0) if count else np.ones(width)
        std = np.sqrt(variance)
        std = np.where(std < 1e-7, 1.0, std)
        return {"op": "standardize", "mean": mean.tolist(), "std": std.tolist()}
    low = np.where(np.isfinite(low), low, 0.0)
    high = np.where(np.isfinite(high), high, 1.0)
    high = np.where(high - low < 1e-12, low + 1.0, high)
    return {"op": "min_max", "min": low.tolist(), "max": high.tolist()}


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
