"""Splits and folds: exact counts by largest remainder, the same split for the same seed, class balance."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from sklearn import datasets

from modelctl.data import DataError, assign_splits, kfold
from modelctl.data.splits import controlled_rounding, largest_remainder

DEFAULT = {"train": 0.8, "validation": 0.1, "test": 0.1}


def _labels(name: str) -> np.ndarray:
    loader = {"iris": datasets.load_iris, "wine": datasets.load_wine, "breast_cancer": datasets.load_breast_cancer,
              "digits": datasets.load_digits}[name]
    return loader().target


@pytest.mark.parametrize("n_rows, fractions, expected", [
    (10, DEFAULT, [8, 1, 1]),
    (7, DEFAULT, [5, 1, 1]),            # quotas 5.6, 0.7, 0.7: the two largest remainders get a row each
    (150, {"train": 0.7, "validation": 0.15, "test": 0.15}, [105, 23, 22]),   # a tie goes to the earlier split
    (3, {"train": 1 / 3, "validation": 1 / 3, "test": 1 / 3}, [1, 1, 1]),
    (442, {"train": 0.6, "validation": 0.2, "test": 0.2}, [265, 89, 88]),
    (569, {"train": 0.9, "test": 0.1}, [512, 0, 57]),
    (1, DEFAULT, [1, 0, 0]),
    (0, DEFAULT, [0, 0, 0]),
])
def test_counts_follow_the_largest_remainder_method(n_rows, fractions, expected):
    split = assign_splits(n_rows, fractions, seed=0)
    assert split.dtype == np.int8 and split.shape == (n_rows,)
    assert np.bincount(split, minlength=3).tolist() == expected


def test_the_same_seed_gives_the_same_split_and_another_seed_another():
    first = assign_splits(1000, DEFAULT, seed=7)
    np.testing.assert_array_equal(first, assign_splits(1000, DEFAULT, seed=7))
    assert (first != assign_splits(1000, DEFAULT, seed=8)).any()
    assert np.bincount(assign_splits(1000, DEFAULT, seed=8)).tolist() == [800, 100, 100]


def _splitmix64(seed: int, count: int) -> list[int]:
    """The reference generator, in plain integers (its first output for seed 0 is 0xe220a8397b1dcdaf)."""
    state, outputs = seed, []
    for _ in range(count):
        state = (state + 0x9E3779B97F4A7C15) % 2**64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) % 2**64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) % 2**64
        outputs.append(z ^ (z >> 31))
    return outputs


def test_the_split_rule_is_pinned():
    # The order is SplitMix64 from the seed, not numpy's generators: these values hold on every machine.
    assert _splitmix64(0, 1) == [0xE220A8397B1DCDAF]
    assert assign_splits(10, DEFAULT, seed=0).tolist() == [0, 0, 0, 2, 0, 0, 0, 0, 0, 1]
    assert assign_splits(10, DEFAULT, seed=1).tolist() == [0, 0, 2, 0, 0, 0, 1, 0, 0, 0]
    for seed in (0, 12345, 2**40 + 3):
        keys = _splitmix64(seed, 200)
        ranked = sorted(range(200), key=keys.__getitem__)
        expected = np.empty(200, dtype=np.int8)
        expected[ranked] = [0] * 160 + [1] * 20 + [2] * 20
        np.testing.assert_array_equal(assign_splits(200, DEFAULT, seed=seed), expected)


def test_a_longer_file_keeps_most_rows_in_their_split():
    # Rows are ranked by their own hash, so adding rows moves only the rows near the cut points.
    short, long = assign_splits(1000, DEFAULT, seed=3), assign_splits(1010, DEFAULT, seed=3)
    assert (short != long[:1000]).sum() <= 20


@pytest.mark.parametrize("name", ["iris", "wine", "breast_cancer", "digits"])
@pytest.mark.parametrize("fractions", [DEFAULT, {"train": 0.6, "validation": 0.25, "test": 0.15}])
def test_stratified_splits_keep_every_class_within_one_example(name, fractions):
    labels = _labels(name)
    split = assign_splits(len(labels), fractions, seed=11, labels=labels, stratify=True)
    shares = [fractions.get(part, 0) for part in ("train", "validation", "test")]
    for label in np.unique(labels):
        size = (labels == label).sum()
        counts = np.bincount(split[labels == label], minlength=3)
        assert counts.sum() == size
        assert all(abs(count - size * share) < 1 for count, share in zip(counts, shares)), (label, counts)
    exact_shares = [Fraction(repr(float(share))) for share in shares]
    assert np.bincount(split, minlength=3).tolist() == largest_remainder(len(labels), exact_shares)
    np.testing.assert_array_equal(split, assign_splits(len(labels), fractions, seed=11, labels=labels, stratify=True))


def test_many_small_classes_still_fill_every_split():
    labels = np.repeat([f"class {index}" for index in range(10)], 3)
    split = assign_splits(30, DEFAULT, seed=0, labels=labels, stratify=True)
    assert np.bincount(split).tolist() == [24, 3, 3]
    for label in np.unique(labels):
        assert np.bincount(split[labels == label], minlength=3).max() <= 3


def test_missing_labels_form_their_own_class():
    labels = np.array(["a", None, "b", None, "a", "b", None, "a", "b", None], dtype=object)
    split = assign_splits(10, {"train": 0.5, "test": 0.5}, seed=2, labels=labels, stratify=True)
    assert np.bincount(split[[1, 3, 6, 9]], minlength=3).tolist() == [2, 0, 2]


def test_controlled_rounding_keeps_rows_and_rounds_every_cell_down_or_up():
    rng = np.random.default_rng(0)
    for _ in range(200):
        sizes = rng.integers(1, 40, rng.integers(2, 9)).tolist()
        weights = rng.integers(1, 10, rng.integers(2, 6))
        shares = [Fraction(int(weight), int(weights.sum())) for weight in weights]
        table = controlled_rounding(sizes, shares)
        assert table.sum(axis=1).tolist() == sizes
        quotas = np.array([[float(size * share) for share in shares] for size in sizes])
        assert (np.abs(table - quotas) < 1).all()
        assert table.sum(axis=0).tolist() == largest_remainder(sum(sizes), shares)


@pytest.mark.parametrize("n_rows, k", [(150, 5), (178, 10), (7, 3), (442, 4)])
def test_kfold_uses_every_row_as_validation_exactly_once(n_rows, k):
    folds = kfold(n_rows, k, seed=5)
    assert len(folds) == k
    validation = np.concatenate([val for _, val in folds])
    np.testing.assert_array_equal(np.sort(validation), np.arange(n_rows))
    for train, val in folds:
        assert len(np.intersect1d(train, val)) == 0
        np.testing.assert_array_equal(np.union1d(train, val), np.arange(n_rows))
        assert (np.diff(val) > 0).all() and (np.diff(train) > 0).all()
    sizes = [len(val) for _, val in folds]
    assert max(sizes) - min(sizes) <= 1 and sizes == sorted(sizes, reverse=True)
    for (train_a, val_a), (train_b, val_b) in zip(folds, kfold(n_rows, k, seed=5)):
        np.testing.assert_array_equal(val_a, val_b)


def test_stratified_kfold_balances_every_class():
    labels = _labels("wine")
    folds = kfold(len(labels), 5, seed=1, labels=labels, stratify=True)
    np.testing.assert_array_equal(np.sort(np.concatenate([val for _, val in folds])), np.arange(len(labels)))
    for label in np.unique(labels):
        size = (labels == label).sum()
        per_fold = [(labels[val] == label).sum() for _, val in folds]
        assert all(abs(count - size / 5) < 1 for count in per_fold), per_fold


def test_bad_fractions_say_what_was_received():
    with pytest.raises(DataError) as caught:
        assign_splits(10, {"train": 0.8, "validation": 0.1, "test": 0.2}, seed=0)
    assert str(caught.value) == ("split fractions must add up to 1; received train=0.8, validation=0.1, test=0.2 "
                                 "(sum 1.1)")
    with pytest.raises(DataError) as caught:
        assign_splits(10, {"train": 0.8, "valid": 0.2}, seed=0)
    assert str(caught.value) == ("'valid' is not a split. Expected 'train', 'validation' or 'test'. "
                                 "Did you mean 'validation'?")
    with pytest.raises(DataError, match=r"the split seed must be an integer >= 0; received -1"):
        assign_splits(10, DEFAULT, seed=-1)
    with pytest.raises(DataError, match=r"3 folds need at least 3 rows; received 2 rows"):
        kfold(2, 3, seed=0)
    with pytest.raises(ValueError, match="stratify=True needs one label per row"):
        assign_splits(10, DEFAULT, seed=0, stratify=True)


def _sorted_reference(n_rows: int, fractions: dict, seed: int, labels=None) -> np.ndarray:
    """The rule of the module docstring, written the direct way: sort every key, cut the ranked rows."""
    from modelctl.data import splits

    shares = splits._fractions(fractions)
    keys = splits._keys(0, n_rows, seed)
    result = np.empty(n_rows, dtype=np.int8)
    if labels is None:
        order = np.argsort(keys)
        counts = splits.largest_remainder(n_rows, shares)
        result[order] = np.repeat(np.arange(3), counts)
        return result
    classes, codes = np.unique(labels, return_inverse=True)
    table = controlled_rounding(np.bincount(codes).tolist(), shares)
    for code in range(len(classes)):
        rows = np.flatnonzero(codes == code)
        result[rows[np.argsort(keys[rows])]] = np.repeat(np.arange(3), table[code])
    return result


@pytest.mark.parametrize("block", [7, 1 << 20])
@pytest.mark.parametrize("n_rows, seed, stratify", [(1, 0, False), (97, 3, False), (1000, 12, False),
                                                     (1000, 5, True), (257, 9, True)])
def test_selection_by_key_equals_sorting_every_key(monkeypatch, block, n_rows, seed, stratify):
    from modelctl.data import splits

    monkeypatch.setattr(splits, "_BLOCK", block)
    rng = np.random.default_rng(seed)
    labels = rng.choice(["a", "b", "c", "rare"], size=n_rows, p=[0.5, 0.3, 0.19, 0.01]) if stratify else None
    fractions = {"train": 0.7, "validation": 0.2, "test": 0.1}
    split = assign_splits(n_rows, fractions, seed=seed, labels=labels, stratify=stratify)
    np.testing.assert_array_equal(split, _sorted_reference(n_rows, fractions, seed, labels))


def test_integer_class_codes_split_as_their_labels_do():
    labels = _labels("wine")
    names = np.array(["class_0", "class_1", "class_2"], dtype=object)[labels]
    np.testing.assert_array_equal(assign_splits(len(labels), DEFAULT, seed=4, labels=labels.astype(np.int32),
                                                stratify=True),
                                  assign_splits(len(labels), DEFAULT, seed=4, labels=names, stratify=True))
