"""One mean and variance algorithm (Chan's merge of Welford's moments) for fitting `standardize` and for what
`modelctl data` reports: the figures of all the values at once, whatever the chunks, and stable far from zero."""

from __future__ import annotations

import numpy as np
import pytest

from modelctl.features.numeric_steps import NumericFit
from modelctl.features.statistics import Moments, Summary


@pytest.mark.parametrize("sizes", [[1000], [1, 999], [250, 250, 500], [7] * 142 + [6]])
def test_moments_of_chunks_are_those_of_all_the_values_at_once(sizes):
    rng = np.random.default_rng(4)
    values = rng.normal(loc=[0.0, 50.0, -3.0], scale=[1.0, 10.0, 0.01], size=(sum(sizes), 3))
    moments = Moments(3)
    for chunk in np.split(values, np.cumsum(sizes)[:-1]):
        moments.add(chunk)
    np.testing.assert_allclose(moments.mean, values.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(moments.variance, values.var(axis=0), rtol=1e-10)
    np.testing.assert_array_equal(moments.low, values.min(axis=0))
    np.testing.assert_array_equal(moments.high, values.max(axis=0))


def test_the_variance_of_values_far_from_zero_is_kept():
    """1e9 plus a spread of 1: sums of squares in float64 lose the whole variance, M2 keeps it."""
    values = 1e9 + np.random.default_rng(1).normal(size=(10_000, 1))
    moments = Moments(1)
    for chunk in np.array_split(values, 37):
        moments.add(chunk)
    assert moments.variance[0] == pytest.approx(values.var(), rel=1e-6)
    naive = (values ** 2).mean() - values.mean() ** 2
    assert abs(naive - values.var()) > 0.1  # what the sums of squares gave


def test_present_values_only_and_values_repeated():
    values = np.array([[1.0, 5.0], [2.0, np.nan], [4.0, 7.0]])
    present = ~np.isnan(values)
    moments = Moments(2)
    moments.add(np.where(present, values, 0.0), present)
    np.testing.assert_allclose(moments.count, [3, 2])
    np.testing.assert_allclose(moments.mean, [7 / 3, 6.0])
    moments.repeat(np.array([0, 1]), np.array([0.0, 6.0]))  # the missing value filled with the mean
    np.testing.assert_allclose(moments.variance, [np.var([1, 2, 4]), np.var([5, 6, 7])])


def test_standardize_fitted_in_chunks_far_from_zero_has_the_spread_of_the_data():
    values = (1e8 + np.random.default_rng(2).normal(scale=2.0, size=(5000, 1))).astype(np.float64)
    fit = NumericFit({"preprocessing": ["standardize"]}, 1)
    for chunk in np.array_split(values, 9):
        fit.add(chunk)
    fit.end_pass()
    [step] = fit.steps
    assert step["mean"][0] == pytest.approx(values.astype(np.float32).astype(np.float64).mean(), rel=1e-12)
    assert step["std"][0] == pytest.approx(values.astype(np.float32).std(dtype=np.float64), rel=0.05)


def test_a_summary_counts_missing_values_and_rounds():
    summary = Summary()
    summary.add(np.array([[1.0, np.nan], [3.0, 2.0]]))
    summary.add(np.array([[np.nan, 6.0]]))
    assert summary.summary(missing=True) == {"missing": 2, "mean": 3.0, "std": round(float(np.std([1, 3, 2, 6])), 6),
                                             "min": 1.0, "max": 6.0}
    assert Summary().summary() == {"mean": None, "std": None, "min": None, "max": None}
