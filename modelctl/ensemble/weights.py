"""The `--method` and `--weights` of an ensemble, checked and normalized.

    method, weights, note = resolve("weighted", "2,1,1", members=3)
    # "weighted", [0.5, 0.25, 0.25], "weights normalized to sum to 1: 0.5, 0.25, 0.25"
"""

from __future__ import annotations

import math

from modelctl.errors import UsageError, did_you_mean, one_of


def resolve(method: str, weights: str | list[float] | None, *, members: int) -> tuple[str, list[float] | None, str]:
    """(method, weights normalized to sum to 1 or None, a note saying how they were normalized, or "").

    Args:
        method: "mean", "weighted" or "vote" (`modelctl.model.ensemble.METHODS`).
        weights: with "weighted" only: one number per member, >= 0, not all 0, as a list or as the text of
            `--weights` ("0.5,0.3,0.2"); they are divided by their sum.
        members: the number of members.

    Raises:
        UsageError: an unknown method, weights with another method or missing with "weighted", a weight that is
            not a number, negative or not finite, a count other than `members`, or weights summing to 0.
    """
    from modelctl.model.ensemble import METHODS

    if method not in METHODS:
        raise UsageError(f"--method: {method!r} is not a known method. Expected one of {one_of(METHODS)}."
                         f"{did_you_mean(method, METHODS)}")
    if method != "weighted":
        if weights is not None:
            raise UsageError(f"--weights go with --method weighted; received --method {method}")
        return method, None, ""
    if weights is None:
        raise UsageError(f"--method weighted needs --weights: {members} numbers, one per run in the order given, "
                         "such as --weights " + ",".join(["1"] * members))
    values = _numbers(weights)
    if len(values) != members:
        raise UsageError(f"--weights: {len(values)} weight{'s' if len(values) != 1 else ''} for {members} runs; "
                         "give one per run, in the order given")
    bad = [value for value in values if not math.isfinite(value) or value < 0]
    if bad:
        raise UsageError(f"--weights: every weight must be a finite number >= 0; received {bad[0]:g}")
    total = sum(values)
    if total <= 0:
        raise UsageError("--weights: at least one weight must be above 0")
    normalized = [value / total for value in values]
    shown = ", ".join(f"{value:.4g}" for value in normalized)
    note = "" if math.isclose(total, 1.0, rel_tol=1e-9) else f"weights normalized to sum to 1: {shown}"
    return method, normalized, note


def _numbers(weights: str | list[float]) -> list[float]:
    if not isinstance(weights, str):
        return [float(value) for value in weights]
    values = []
    for part in weights.split(","):
        try:
            values.append(float(part))
        except ValueError:
            raise UsageError(f"--weights: {part.strip()!r} is not a number; give numbers separated by commas, such "
                             "as --weights 0.5,0.3,0.2") from None
    return values
