"""Typing the columns of a CSV or TSV file as `float`, `int` or `string`, a block of rows at a time.

A block Arrow typed as it parsed it goes to numpy as it is (`from_arrow`). A
block read as text is typed here with `pyarrow.compute` (`from_text`): each
column's text is trimmed, matched against the pattern of its type and cast,
which finds every bad value of the block at once, each with its reason. Numbers
follow Arrow's CSV conversion: an `int` is an optional minus sign and digits
within the int64 range, a `float` may also have a plus sign, a decimal point
and an exponent, or be `inf`, `infinity` or `nan` in any case. `infer_kind`
applies the same patterns to a column's first rows.

| kind | numpy array | missing value (one of `na_values`) |
| --- | --- | --- |
| float | float64 | NaN |
| int | int64 | a bad row (`missing value`) |
| string | object array of str | None |
"""

from __future__ import annotations

from modelctl.util.lazy import numpy as np

KINDS = ("float", "int", "string")

FLOAT_PATTERN = r"(?i)^[+-]?((\d+\.?\d*|\.\d+)(e[+-]?\d+)?|inf|infinity|nan)$"
INT_PATTERN = r"^-?\d+$"


def from_arrow(batch, names: list[str], kinds: dict[str, str]) -> tuple[dict[str, np.ndarray], list]:
    """Numpy columns of a batch Arrow typed, and its bad values: a missing value in an int column."""
    columns, problems = {}, []
    for index, name in enumerate(names):
        array = batch.column(index)
        if kinds[name] == "int" and array.null_count:
            problems.append((array.is_null().to_numpy(zero_copy_only=False), "missing value", name))
            array = array.fill_null(0)
        columns[name] = array.to_numpy(zero_copy_only=False)
    return columns, problems


def from_text(batch, names: list[str], kinds: dict[str, str], *, na_values: list[str]):
    """Numpy columns of a batch read as text, typed with `pyarrow.compute`, and its bad values:
    (row mask, reason, column) in column order."""
    import pyarrow
    import pyarrow.compute as compute

    def numpy(array) -> np.ndarray:
        return array.to_numpy(zero_copy_only=False)

    columns, problems = {}, []
    for index, name in enumerate(names):
        text = batch.column(index)
        missing = compute.is_in(text, value_set=pyarrow.array(na_values, pyarrow.string()))
        kind = kinds[name]
        if kind == "string":
            columns[name] = numpy(compute.if_else(missing, None, text))
            continue
        trimmed = compute.utf8_trim_whitespace(text)
        if kind == "float":
            valid = compute.match_substring_regex(trimmed, FLOAT_PATTERN)
            columns[name] = numpy(compute.cast(compute.if_else(valid, trimmed, None), pyarrow.float64()))
            problems.append((numpy(compute.invert(compute.or_(valid, missing))), "not a number", name))
            continue
        pattern = compute.match_substring_regex(trimmed, INT_PATTERN)
        outside = compute.and_(pattern, _beyond_int64(trimmed))
        valid = compute.and_not(pattern, outside)
        columns[name] = numpy(compute.cast(compute.if_else(valid, trimmed, "0"), pyarrow.int64()))
        problems += [(numpy(missing), "missing value", name),
                     (numpy(compute.invert(compute.or_(pattern, missing))), "not an integer", name),
                     (numpy(outside), "out of the int64 range", name)]
    return columns, problems


def _beyond_int64(integers):
    """Which texts of optional minus sign and digits are outside the int64 range (compared as text)."""
    import pyarrow.compute as compute

    negative = compute.starts_with(integers, "-")
    digits = compute.replace_substring_regex(integers, r"^-?0*", "")
    length = compute.utf8_length(digits)
    limit = compute.if_else(negative, "9223372036854775808", "9223372036854775807")
    return compute.or_(compute.greater(length, 19),
                       compute.and_(compute.equal(length, 19), compute.greater(digits, limit)))


def sentence(reason: str, value: str | None) -> str:
    """The error's sentence for a bad value; `value` is its text (None: not known)."""
    if reason == "missing value":
        return "missing value" + ("" if value is None else f" ({value!r})") + " where an integer is expected"
    if reason == "out of the int64 range":
        return f"{value!r} is out of the int64 range"
    return f"{value!r} is {reason}"


def infer_kind(text, na_values: list[str]) -> str:
    """The narrowest kind that holds every value of an Arrow string array: `int`, then `float`, then `string`.

    A column with a missing value (one of `na_values`) is at least `float` (an int64 cannot hold one); a
    column whose values are all missing, or that has none, is `float`.
    """
    import pyarrow
    import pyarrow.compute as compute

    missing = compute.is_in(text, value_set=pyarrow.array(na_values, pyarrow.string()))
    present = compute.utf8_trim_whitespace(text.filter(compute.invert(missing)))
    if not len(present):
        return "float"
    if compute.all(compute.match_substring_regex(present, INT_PATTERN)).as_py() and \
            not compute.any(_beyond_int64(present)).as_py():
        return "float" if compute.any(missing).as_py() else "int"
    if compute.all(compute.match_substring_regex(present, FLOAT_PATTERN)).as_py():
        return "float"
    return "string"


__all__ = ["FLOAT_PATTERN", "INT_PATTERN", "KINDS", "from_arrow", "from_text", "infer_kind", "sentence"]
