"""Column values as feature types read them: the columns of one feature, values as text, vocabularies.

    item = Columns("colour", "categorical", ("colour",), {"type": "categorical"})
    strings(np.array([3.0, None, "red"], dtype=object))     # [['3'], [''], ['red']]
    learned_vocabulary(batches_of_the_column, limit=100)    # the most frequent first

`modelctl.data.columns` decides which source columns a feature reads and hands
each feature type a `Columns` and a batch of those columns' values.
"""

from __future__ import annotations

import dataclasses
from typing import Iterable

from modelctl.util.lazy import numpy as np


@dataclasses.dataclass(frozen=True)
class Columns:
    """The source columns of one feature or label.

    Args:
        name: the feature's or label's name in the spec.
        kind: the feature type (numeric, categorical, text, image) or label type.
        columns: the source columns read, in order.
        options: the spec's mapping for the feature or label.
    """

    name: str
    kind: str
    columns: tuple[str, ...]
    options: dict


def learned_vocabulary(columns: Iterable[np.ndarray], limit: int | None = None) -> list[str]:
    """The vocabulary a categorical feature learns from batches of its column: each value but the empty one
    (missing), as text (see `strings`), the most frequent first and ties in order; the first `limit`, or all."""
    counts: dict[str, int] = {}
    for values in columns:
        add_counts(counts, value_counts(values))
    return vocabulary_of(counts, limit)


def vocabulary_of(counts: dict[str, int], limit: int | None = None) -> list[str]:
    """Values by count, the most frequent first and ties in order, without the empty one; the first `limit`."""
    ordered = sorted((value for value in counts if value), key=lambda value: (-counts[value], value))
    return ordered[:limit] if limit else ordered


def value_counts(values: np.ndarray) -> dict[str, int]:
    """Each distinct value as text (see `strings`) and how often it occurs."""
    codes, texts = factorize(values)
    counts: dict[str, int] = {}
    for text, count in zip(texts.tolist(), np.bincount(codes, minlength=len(texts)).tolist()):
        counts[text] = counts.get(text, 0) + count
    return counts


def add_counts(total: dict[str, int], counts: dict[str, int]) -> None:
    """Add `counts` into `total`, in place."""
    for value, count in counts.items():
        total[value] = total.get(value, 0) + count


def strings(values: np.ndarray) -> np.ndarray:
    """Values as a (n, 1) array of str; a missing value (None or NaN) becomes the empty string, 3.0 becomes '3',
    bytes are decoded as UTF-8 (a bad byte becomes U+FFFD).

    Numbers and Arrow-typed strings are converted a whole array at a time; an array mixing other Python
    objects is converted value by value.
    """
    values = np.asarray(values)
    if values.ndim == 1:
        converted = _whole_array(values)
        if converted is not None:
            return converted.reshape(-1, 1)
    return np.array([_text(value) for value in values.tolist()], dtype=object).reshape(-1, 1)


def factorize(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each value's code and the distinct values as text (see `strings`): `texts[codes]` is `strings(values)`
    without converting every value. Codes are intp, texts an object array of str."""
    import pyarrow

    values = np.asarray(values)
    if values.ndim == 1 and values.dtype.kind in "iub":  # hashed by Arrow: no sort, unlike `np.unique`
        encoded = pyarrow.array(values).dictionary_encode()
        return (encoded.indices.to_numpy(zero_copy_only=False).astype(np.intp),
                strings(encoded.dictionary.to_numpy(zero_copy_only=False))[:, 0])
    if values.ndim == 1 and values.dtype.kind == "f":
        distinct, codes = np.unique(values, return_inverse=True)
        return codes.reshape(-1).astype(np.intp, copy=False), strings(distinct)[:, 0]

    encoded = pyarrow.array(strings(values)[:, 0], pyarrow.string()).dictionary_encode()
    return (encoded.indices.to_numpy(zero_copy_only=False).astype(np.intp),
            encoded.dictionary.to_numpy(zero_copy_only=False).astype(object))


def _whole_array(values: np.ndarray) -> np.ndarray | None:
    """`strings` of a 1-D array without a Python loop over its values; None when its values need one."""
    kind = values.dtype.kind
    if kind in "iub":
        return values.astype(str).astype(object)
    if kind == "U":
        return values.astype(object)
    if kind == "f":
        numbers = values.astype(np.float64)
        result = numbers.astype(str).astype(object)
        whole = np.isfinite(numbers) & (np.floor(numbers) == numbers)
        if whole.any():
            if np.abs(numbers[whole]).max() >= 2.0 ** 63:
                return None
            result[whole] = numbers[whole].astype(np.int64).astype(str)
        result[np.isnan(numbers)] = ""
        return result
    if kind != "O":
        return None
    import pyarrow
    import pyarrow.compute as compute

    try:
        array = pyarrow.array(values, from_pandas=True)
    except (pyarrow.ArrowInvalid, pyarrow.ArrowTypeError, TypeError, ValueError):
        return None
    if not (pyarrow.types.is_string(array.type) or pyarrow.types.is_large_string(array.type)
            or pyarrow.types.is_null(array.type)):
        return None
    return compute.fill_null(array.cast(pyarrow.string()), "").to_numpy(zero_copy_only=False).astype(object)


def _text(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


__all__ = ["Columns", "add_counts", "factorize", "learned_vocabulary", "strings", "value_counts", "vocabulary_of"]
