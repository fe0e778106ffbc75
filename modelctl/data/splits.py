"""Deterministic train / validation / test splits and k-fold partitions.

The rule, so that the same seed and rows always give the same split:

1. Order. Row i gets the i-th output of the SplitMix64 generator started at
   `seed` (a fixed integer hash, independent of numpy's random generators and
   of the platform); rows are ranked by it. When stratified, rows are ranked
   within their class.
2. Counts. A split's count is its quota `n * fraction` rounded by the largest
   remainder method: every split gets the whole part of its quota, and the
   rows left over go one each to the splits with the largest fractional parts
   (ties to the earlier split: train, validation, test). The counts add up to n.
   When stratified, each class's quota `n_class * fraction` is rounded down or
   up so that the class's counts add up to its size, and the totals per split
   are those of the largest remainder method over all rows whenever such a
   rounding exists (otherwise each total is its quota rounded down or up).
   Every class is then within one example of its exact share in every split.
3. Assignment. The first rows in rank order go to train, the next to
   validation, the rest to test (per class when stratified).

Only the row count and, for stratification, the label column are needed: the
data itself is never held, and splitting n rows takes one byte per row (plus
the class codes when stratified), so a source larger than memory splits too.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Mapping, Sequence

from modelctl.util.lazy import numpy as np

from modelctl.data.errors import DataError
from modelctl.errors import did_you_mean

TRAIN, VALIDATION, TEST = 0, 1, 2
SPLITS = ("train", "validation", "test")

_GOLDEN = 0x9E3779B97F4A7C15
_MIX1 = 0xBF58476D1CE4E5B9
_MIX2 = 0x94D049BB133111EB


def assign_splits(n_rows: int, fractions: Mapping[str, float], *, seed: int,
                  labels: Sequence | np.ndarray | None = None,
                  stratify: bool = False) -> np.ndarray:
    """The split of every row: 0 train, 1 validation, 2 test (see the module docstring for the rule).

    Args:
        n_rows: number of rows, >= 0.
        fractions: split name (`train`, `validation`, `test`) -> fraction in [0, 1]; the fractions add up
            to 1 and a split left out gets no rows.
        seed: integer >= 0; the same seed and rows give the same split.
        labels: one label per row (any values; each distinct value is a class, missing values one more);
            needed when `stratify` is true, ignored otherwise. Default None.
        stratify: keep each class's share in every split, within one example; default False.

    Returns:
        int8 array of length `n_rows`.

    Raises:
        DataError: an unknown split name, a fraction outside [0, 1], fractions not adding up to 1, or a
            negative seed.
    """
    shares = _fractions(fractions)
    return _partition(n_rows, seed, labels, stratify=stratify, shares=shares)


def kfold(n_rows: int, k: int, seed: int, *, labels: Sequence | np.ndarray | None = None,
          stratify: bool = False) -> list[tuple[np.ndarray, np.ndarray]]:
    """Partition the rows into `k` folds; fold j is the validation rows of the j-th pair.

    Fold sizes follow the rule of `assign_splits` with k equal fractions (the first `n_rows % k` folds
    hold one row more), so every row is a validation row exactly once.

    Args:
        n_rows: number of rows, >= k.
        k: number of folds, >= 2.
        seed: integer >= 0; the same seed and rows give the same folds.
        labels: one label per row; needed when `stratify` is true. Default None.
        stratify: keep each class's share in every fold, within one example; default False.

    Returns:
        k pairs `(train_indices, validation_indices)` of sorted int64 row indices.
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 2:
        raise DataError(f"the number of folds must be an integer >= 2; received k={k!r}")
    if n_rows < k:
        raise DataError(f"{k} folds need at least {k} rows; received {n_rows} rows")
    folds = _partition(n_rows, seed, labels, stratify=stratify, shares=[Fraction(1, int(k))] * int(k))
    return [(np.flatnonzero(folds != fold), np.flatnonzero(folds == fold)) for fold in range(int(k))]


def assign(split, *, seed: int, rows: int, labels: np.ndarray | None,
           fold: tuple[int, int] | None = None) -> np.ndarray:
    """Each source row's split (0 train, 1 validation, 2 test), one byte a row, as a spec's `data.split` says.

    Args:
        split: the spec's typed `data.split` (`train`, `validation`, `test` fractions and its own `seed`, None to
            take the spec's).
        seed: the spec's seed.
        rows: rows of the source.
        labels: each row's class code when the split is stratified (`ClassCodes.codes`), else None.
        fold: (index, k) to make the validation split fold `index` of `k` over the rows not in the test split
            (by the same seed as the split, stratified alike); default None.
    """
    fractions = {name: getattr(split, name) for name in SPLITS}
    stratify = labels is not None
    seed = seed if split.seed is None else split.seed
    assignment = assign_splits(rows, fractions, seed=seed, labels=labels, stratify=stratify)
    if fold is not None:
        index, folds = fold
        pool = np.flatnonzero(assignment != TEST)
        pairs = kfold(len(pool), folds, seed, labels=None if labels is None else labels[pool], stratify=stratify)
        assignment[pool] = TRAIN
        assignment[pool[pairs[index][1]]] = VALIDATION
    return assignment


class ClassCodes:
    """The class of every row of a label column read chunk by chunk, as the labels a stratified split takes:
    one integer a row, the classes numbered in sorted order of their names as text (see `strings`), so the codes
    do not depend on the chunks.

        codes = ClassCodes()
        for batch in batches:
            codes.add(batch["species"])
        assign_splits(n, fractions, seed=seed, labels=codes.codes(), stratify=True)
    """

    def __init__(self):
        self.index: dict[str, int] = {}
        self.parts: list[np.ndarray] = []

    def add(self, values: np.ndarray) -> None:
        """Take the next chunk of the column."""
        from modelctl.data.columns import factorize

        codes, texts = factorize(values)
        known = np.array([self.index.setdefault(name, len(self.index)) for name in texts.tolist()], dtype=np.int32)
        self.parts.append(known[codes] if len(codes) else np.empty(0, dtype=np.int32))

    def codes(self) -> np.ndarray:
        """Every row's class code so far (int32), in row order."""
        ranked = np.empty(len(self.index), dtype=np.int32)
        ranked[[self.index[name] for name in sorted(self.index)]] = np.arange(len(self.index), dtype=np.int32)
        codes = ranked[np.concatenate(self.parts)] if self.parts else np.empty(0, dtype=np.int32)
        self.parts = []
        return codes


def largest_remainder(total: int, shares: Sequence[Fraction]) -> list[int]:
    """Round `total * share` to integers adding up to `total` (shares add up to 1); ties go to the earlier share."""
    quotas = [total * share for share in shares]
    counts = [math.floor(quota) for quota in quotas]
    left = total - sum(counts)
    ranked = sorted(range(len(shares)), key=lambda index: (-(quotas[index] - counts[index]), index))
    for index in ranked[:left]:
        counts[index] += 1
    return counts


def _fractions(fractions: Mapping[str, float]) -> list[Fraction]:
    problems = []
    for name in fractions:
        if name not in SPLITS:
            problems.append(f"{name!r} is not a split. Expected 'train', 'validation' or 'test'."
                            f"{did_you_mean(name, SPLITS)}")
    values = {}
    for name in SPLITS:
        value = fractions.get(name, 0) or 0
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not 0 <= value <= 1:
            problems.append(f"the {name} fraction must be a number from 0 to 1; received {value!r}")
            continue
        values[name] = Fraction(repr(float(value)))
    if not problems:
        total = sum(values.values())
        if abs(total - 1) > Fraction(1, 10**6):
            written = ", ".join(f"{name}={fractions.get(name, 0)}" for name in SPLITS)
            problems.append(f"split fractions must add up to 1; received {written} (sum {float(total):g})")
    if problems:
        raise DataError("\n".join(problems))
    return [values[name] / total for name in SPLITS]


def _partition(n_rows: int, seed: int, labels, *, stratify: bool, shares: list[Fraction]) -> np.ndarray:
    """Part id of every row: within each group (all rows, or a class when stratified), rows ranked by key
    are cut into parts of the rounded counts.

    The rank of a row is never stored: the key at each cut is found among the keys (by `numpy.partition`
    up to `_DIRECT_ROWS` rows, else by a radix selection over keys generated again for every pass in blocks
    of `_BLOCK` rows), and a row's part is the number of cuts at or below its key (keys are distinct:
    SplitMix64 is a bijection). Memory is one small integer per row, plus the keys of up to `_DIRECT_ROWS`
    rows.
    """
    if isinstance(n_rows, bool) or not isinstance(n_rows, (int, np.integer)) or n_rows < 0:
        raise ValueError(f"Invalid value for argument `n_rows`. Expected an integer >= 0. Received: n_rows={n_rows!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise DataError(f"the split seed must be an integer >= 0; received {seed!r}")
    n_rows, seed = int(n_rows), int(seed)
    codes, sizes = _groups(n_rows, labels, stratify)
    dtype = np.int8 if len(shares) <= 127 else np.int32
    if not n_rows:
        return np.empty(0, dtype=dtype)
    counts = np.array([largest_remainder(n_rows, shares)]) if len(sizes) == 1 \
        else controlled_rounding([int(size) for size in sizes], shares)
    ranks = np.cumsum(counts, axis=1)[:, :-1]
    present = ranks < sizes[:, None]
    if not present.any():
        return np.zeros(n_rows, dtype=dtype)
    cuts = _select_direct(n_rows, seed, codes, ranks=ranks, present=present) if n_rows <= _DIRECT_ROWS else \
        _select(n_rows, seed, codes, ranks=ranks, present=present)
    result = np.empty(n_rows, dtype=dtype)
    for start, keys in _blocks(n_rows, seed):
        group = _block_groups(codes, start, len(keys))
        part = np.zeros(len(keys), dtype=dtype)
        for cut in range(ranks.shape[1]):
            part += present[group, cut] & (keys >= cuts[group, cut])
        result[start:start + len(keys)] = part
    return result


_BLOCK = 1 << 18
"""Keys generated at a time while splitting."""

_DIRECT_ROWS = 1 << 22
"""Rows up to which every key is generated at once (8 bytes a row) and the cuts found by `numpy.partition`."""


def _keys(start: int, stop: int, seed: int) -> np.ndarray:
    """Outputs `start` .. `stop - 1` (0-based) of SplitMix64 started at `seed`."""
    state = np.uint64(seed % 2**64)
    z = state + np.arange(start + 1, stop + 1, dtype=np.uint64) * np.uint64(_GOLDEN)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(_MIX1)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(_MIX2)
    return z ^ (z >> np.uint64(31))


def _blocks(n_rows: int, seed: int):
    for start in range(0, n_rows, _BLOCK):
        yield start, _keys(start, min(n_rows, start + _BLOCK), seed)


def _block_groups(codes: np.ndarray | None, start: int, size: int) -> np.ndarray:
    if codes is None:
        return np.zeros(size, dtype=np.intp)
    return codes[start:start + size].astype(np.intp, copy=False)


def _groups(n_rows: int, labels, stratify: bool) -> tuple[np.ndarray | None, np.ndarray]:
    """Each row's group (None: one group) and the size of each group; groups are classes in sorted order
    when stratified. Labels that are already codes 0 .. k-1 (an integer array using each) are kept as they are."""
    if not stratify:
        return None, np.array([n_rows])
    if labels is None:
        raise ValueError("Invalid value for argument `labels`. stratify=True needs one label per row. "
                         "Received: labels=None")
    labels = np.asarray(labels, dtype=object) if not isinstance(labels, np.ndarray) else labels
    if labels.ndim != 1 or len(labels) != n_rows:
        raise ValueError(f"Invalid value for argument `labels`. Expected one label per row, shape ({n_rows},). "
                         f"Received: shape {labels.shape}")
    if labels.dtype.kind in "iu" and n_rows and labels.min() >= 0:
        sizes = np.bincount(labels)
        if sizes.all():
            return labels, sizes
    import pandas

    codes, _ = pandas.factorize(labels, sort=True, use_na_sentinel=False)
    return codes, np.bincount(codes)


def _select_direct(n_rows: int, seed: int, codes: np.ndarray | None, *, ranks: np.ndarray,
                   present: np.ndarray) -> np.ndarray:
    """What `_select` finds, from all the keys at once: the key of rank `ranks[g, j]` in group g (0 where
    `present` is false)."""
    keys = _keys(0, n_rows, seed)
    found = np.zeros(ranks.shape, dtype=np.uint64)
    if codes is None:
        groups = [keys]
    else:
        order = np.argsort(codes, kind="stable")
        bounds = np.cumsum(np.bincount(codes, minlength=ranks.shape[0]))[:-1]
        groups = np.split(keys[order], bounds)
    for group, group_keys in enumerate(groups):
        wanted = ranks[group][present[group]].astype(np.intp)
        if len(wanted):
            found[group, present[group]] = np.partition(group_keys, wanted)[wanted]
    return found


def _select(n_rows: int, seed: int, codes: np.ndarray | None, *, ranks: np.ndarray, present: np.ndarray) -> np.ndarray:
    """For every group g and cut j, the key of rank `ranks[g, j]` (0-based) among the keys of group g, found
    a byte at a time from the top; entries where `present` is false (the cut is past the group's end) are 0."""
    groups, count = ranks.shape
    found = np.zeros((groups, count), dtype=np.uint64)
    left = ranks.astype(np.int64).copy()
    rows = np.arange(groups)
    for shift in range(56, -8, -8):
        histogram = np.zeros((count, groups * 256), dtype=np.int64)
        for start, keys in _blocks(n_rows, seed):
            group = _block_groups(codes, start, len(keys))
            byte = ((keys >> np.uint64(shift)) & np.uint64(255)).astype(np.intp)
            slot = group * 256 + byte
            for cut in range(count):
                if shift == 56:
                    histogram[cut] += np.bincount(slot, minlength=groups * 256)
                    continue
                match = (keys >> np.uint64(shift + 8)) == found[group, cut]
                histogram[cut] += np.bincount(slot[match], minlength=groups * 256)
        for cut in range(count):
            below = histogram[cut].reshape(groups, 256).cumsum(axis=1)
            byte = np.minimum((below <= left[:, cut:cut + 1]).sum(axis=1), 255)
            left[:, cut] -= np.where(byte > 0, below[rows, np.maximum(byte - 1, 0)], 0)
            found[:, cut] = (found[:, cut] << np.uint64(8)) | byte.astype(np.uint64)
    return np.where(present, found, np.uint64(0))


def controlled_rounding(sizes: list[int], shares: list[Fraction]) -> np.ndarray:
    """Round the table `sizes[c] * shares[s]` to integers: rows add up to `sizes`, every cell is rounded
    down or up, and the column totals are the largest-remainder totals when possible (else rounded down or up).

    Returns:
        int64 array of shape (len(sizes), len(shares)).
    """
    quotas = [[size * share for share in shares] for size in sizes]
    floors = np.array([[math.floor(quota) for quota in row] for row in quotas], dtype=np.int64)
    remainders = [[quota - math.floor(quota) for quota in row] for row in quotas]
    need = [size - int(row.sum()) for size, row in zip(sizes, floors)]
    column_floor = floors.sum(axis=0)
    target = np.array(largest_remainder(sum(sizes), shares)) - column_floor
    extra = _round_up_cells(remainders, need, list(target), upper=list(target))
    if extra is None:
        column_sums = [sum((row[s] for row in remainders), Fraction(0)) for s in range(len(shares))]
        lower = [math.floor(value) for value in column_sums]
        upper = [math.ceil(value) for value in column_sums]
        extra = _round_up_cells(remainders, need, lower, upper=upper)
    if extra is None:
        raise RuntimeError(f"no controlled rounding of sizes {sizes} by shares {shares}")
    return floors + extra


def _round_up_cells(remainders: list[list[Fraction]], need: list[int], lower: list[int],
                    *, upper: list[int]) -> np.ndarray | None:
    """Choose cells with a fractional remainder to round up: `need[c]` in row c, between `lower[s]` and
    `upper[s]` in column s. Larger remainders are preferred; augmenting paths finish what greed leaves.
    Returns the 0/1 table, or None when no choice fits."""
    rows, columns = len(remainders), len(lower)
    chosen = np.zeros((rows, columns), dtype=np.int64)
    used = [0] * columns
    left = list(need)
    for capacity in (lower, upper):
        cells = sorted(((c, s) for c in range(rows) for s in range(columns) if remainders[c][s] > 0),
                       key=lambda cell: (-remainders[cell[0]][cell[1]], cell[0], cell[1]))
        for c, s in cells:
            if left[c] and not chosen[c, s] and used[s] < capacity[s]:
                chosen[c, s] = 1
                used[s] += 1
                left[c] -= 1
        for c in range(rows):
            while left[c] and _augment(c, remainders, chosen, used=used, capacity=capacity):
                left[c] -= 1
    if any(left) or any(value < low for value, low in zip(used, lower)):
        return None
    return chosen


def _augment(start: int, remainders: list[list[Fraction]], chosen: np.ndarray, *, used: list[int],
             capacity: list[int]) -> bool:
    """Find a path start -> column -> row -> column ... ending at a column with spare capacity and shift
    one rounded-up cell along it; return whether one was found."""
    columns = len(capacity)
    previous: dict[int, tuple[int, int | None]] = {}
    frontier = []
    for s in range(columns):
        if remainders[start][s] > 0 and not chosen[start, s]:
            previous[s] = (start, None)
            frontier.append(s)
    while frontier:
        s = frontier.pop(0)
        if used[s] < capacity[s]:
            used[s] += 1
            while True:
                row, from_column = previous[s]
                chosen[row, s] = 1
                if from_column is None:
                    return True
                chosen[row, from_column] = 0
                s = from_column
        for row in np.flatnonzero(chosen[:, s]):
            for t in range(columns):
                if t not in previous and remainders[row][t] > 0 and not chosen[row, t]:
                    previous[t] = (int(row), s)
                    frontier.append(t)
    return False
