"""Typing text values (from CSV and TSV cells) as `float`, `int` or `string` columns.

`float` columns are float64 with missing values as NaN; `int` columns are int64
and cannot hold a missing value; `string` columns are object arrays of `str`
with missing values as None. A value is missing when it is one of the source's
`na_values`, compared exactly (no trimming).
"""

from __future__ import annotations

import dataclasses
from typing import Iterable, Sequence

import numpy as np

KINDS = ("float", "int", "string")


@dataclasses.dataclass(frozen=True)
class BadValue:
    """One value that does not fit its column's type.

    Args:
        position: index of the value in the column given to `parse_column`.
        reason: the short reason rows are counted under when skipped, such as `not a number`.
        problem: the full sentence for an error, such as `'abc' is not a number`.
    """

    position: int
    reason: str
    problem: str


def _is_int(text: str) -> bool:
    try:
        value = int(text)
    except ValueError:
        return False
    return -2**63 <= value < 2**63


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def infer_kind(values: Iterable[str], na_values: frozenset[str]) -> str:
    """The narrowest kind that holds every value: `int`, then `float`, then `string`.

    A column with a missing value is at least `float` (an int64 cannot hold one);
    a column whose values are all missing, or that has none, is `float`.
    """
    kind = "int"
    for text in values:
        if text in na_values:
            kind = "float" if kind == "int" else kind
        elif kind == "int" and not _is_int(text):
            kind = "float" if _is_float(text) else "string"
        elif kind == "float" and not _is_float(text):
            kind = "string"
        if kind == "string":
            break
    return kind


def parse_column(values: Sequence[str], kind: str, na_values: frozenset[str]) -> tuple[np.ndarray, list[BadValue]]:
    """Type one column's text values.

    Args:
        values: the cells, in row order.
        kind: `"float"`, `"int"` or `"string"`.
        na_values: texts read as missing values.

    Returns:
        The typed array (with a placeholder, NaN or 0, where a value is bad) and the bad values in row order.
    """
    if kind == "string":
        return np.array([None if text in na_values else text for text in values], dtype=object), []
    if kind == "float":
        try:
            return np.array([np.nan if text in na_values else float(text) for text in values], dtype=np.float64), []
        except ValueError:
            return _slow_floats(values, na_values)
    if kind == "int":
        try:
            if not any(text in na_values for text in values):
                return np.array([int(text) for text in values], dtype=np.int64), []
        except (ValueError, OverflowError):
            pass
        return _slow_ints(values, na_values)
    raise ValueError(f"Unknown column type {kind!r}. Expected one of {KINDS}.")


def _slow_floats(values: Sequence[str], na_values: frozenset[str]) -> tuple[np.ndarray, list[BadValue]]:
    result = np.full(len(values), np.nan)
    bad = []
    for position, text in enumerate(values):
        if text in na_values:
            continue
        try:
            result[position] = float(text)
        except ValueError:
            bad.append(BadValue(position, "not a number", f"{text!r} is not a number"))
    return result, bad


def _slow_ints(values: Sequence[str], na_values: frozenset[str]) -> tuple[np.ndarray, list[BadValue]]:
    result = np.zeros(len(values), dtype=np.int64)
    bad = []
    for position, text in enumerate(values):
        if text in na_values:
            bad.append(BadValue(position, "missing value", f"missing value ({text!r}) where an integer is expected"))
            continue
        try:
            value = int(text)
        except ValueError:
            bad.append(BadValue(position, "not an integer", f"{text!r} is not an integer"))
            continue
        if not -2**63 <= value < 2**63:
            bad.append(BadValue(position, "out of the int64 range", f"{text!r} is out of the int64 range"))
            continue
        result[position] = value
    return result, bad
