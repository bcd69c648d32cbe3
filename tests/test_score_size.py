"""The size curve of the unpaired score test over the true rate (``analysis/score_size.py``):
its worst is the size the exact test's switch reads, and its stretch over an interval of rates
(the size near the true rate, which the standardized test's guard reads) is a brute-force
enumeration's, every table's statistic by the plugin's scalar solver weighed with scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binom, norm

from pytest_empathy.analysis import proportions, score_size


def brute_force_curve(
    n1: int, n2: int, alpha: float, difference: float, greater: bool, ratio: float = 1.0, truth: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The chance of rejecting the null ``difference`` at each grid rate where the true
    difference is ``truth`` (the null itself by default)."""
    truth = difference if truth is None else truth
    critical = norm.isf(alpha)
    z = np.array(
        [
            [
                proportions.standardized_statistic([(x1, n1, x2, n2)], ratio=ratio, difference=difference)
                for x2 in range(n2 + 1)
            ]
            for x1 in range(n1 + 1)
        ]
    )
    region = z > critical if greater else z < -critical
    null = ratio * score_size.RATES + truth
    rates = score_size.RATES[(null >= 0) & (null <= 1)]
    first = binom.pmf(np.arange(n1 + 1), n1, ratio * rates[:, None] + truth)
    second = binom.pmf(np.arange(n2 + 1), n2, rates[:, None])
    return rates, ((first @ region) * second).sum(axis=1)


@pytest.mark.parametrize(
    ("n1", "n2", "difference", "greater", "low", "high"),
    [
        (4, 62, 0.0, True, 0.3, 0.4),
        (4, 62, 0.0, False, 0.001, 0.02),
        (10, 40, 0.05, False, 0.01, 0.03),
        (6, 30, -0.05, True, 0.5, 0.5004),
    ],
)
def test_the_size_near_a_rate_is_a_brute_force_enumerations(n1, n2, difference, greater, low, high):
    """The worst chance of rejecting over the grid rates from the last at or below ``low`` to
    the first at or above ``high`` (an interval narrower than the grid's step still meets two
    rates); the whole curve's worst is ``margin_size`` (``score_size`` at no difference)."""
    rates, expected = brute_force_curve(n1, n2, 0.05, difference, greater)
    found_rates, found = score_size.size_curve(n1, n2, 0.05, difference, greater=greater)
    np.testing.assert_array_equal(found_rates, rates)
    np.testing.assert_allclose(found, expected, atol=1e-10)
    near = (rates >= rates[rates <= low].max()) & (rates <= rates[rates >= high].min())
    assert near.sum() >= 2
    local = score_size.local_size(n1, n2, 0.05, difference, greater=greater, low=low, high=high)
    assert local == pytest.approx(expected[near].max(), abs=1e-10)
    assert local <= score_size.margin_size(n1, n2, 0.05, difference, greater=greater) == pytest.approx(expected.max())


def test_the_size_at_no_difference_is_the_worse_direction_of_the_curve():
    both = [score_size.size_curve(2, 62, 0.05, 0.0, greater=g)[1].max() for g in (True, False)]
    assert score_size.score_size(2, 62, 0.05) == max(both)
    # 2 against 62 is liberal somewhere (0.095), but not near every rate: the guard's reason to look locally.
    assert max(both) > 0.05 * 4 / 3
    assert score_size.local_size(2, 62, 0.05, 0.0, greater=True, low=0.44, high=0.46) < 0.05


@pytest.mark.parametrize(("n1", "n2", "ratio", "low", "high"), [(14, 6, 1.1, 0.6, 0.7), (4, 124, 1.1, 0.3, 0.4)])
def test_the_size_at_a_ratio_is_a_brute_force_enumerations(n1, n2, ratio, low, high):
    """`min-good-gain R` tests a ratio of 1 + R: the score test's chance of passing it when it
    is the truth (the model's rate 1 + R times the baseline's), at each baseline rate where
    that is a rate, is a brute-force enumeration's. 14 ratings against 6 hold alpha and a
    third at no difference (0.063) and exceed it at a gain of 10% (0.107): the guard's reason to
    ask at the gain asked for, not only at no difference."""
    rates, expected = brute_force_curve(n1, n2, 0.05, 0.0, True, ratio)
    found_rates, found = score_size.size_curve(n1, n2, 0.05, 0.0, greater=True, ratio=ratio)
    np.testing.assert_array_equal(found_rates, rates)
    assert rates.max() <= 1 / ratio
    np.testing.assert_allclose(found, expected, atol=1e-10)
    near = (rates >= rates[rates <= low].max()) & (rates <= rates[rates >= high].min())
    local = score_size.local_size(n1, n2, 0.05, 0.0, greater=True, low=low, high=high, ratio=ratio)
    assert local == pytest.approx(expected[near].max(), abs=1e-10)
    assert score_size.margin_size(n1, n2, 0.05, 0.0, greater=True, ratio=ratio) == pytest.approx(expected.max())
    if (n1, n2) == (14, 6):
        assert score_size.score_size(n1, n2, 0.05) <= 0.05 * 4 / 3 < expected.max()


def test_a_null_of_both_a_ratio_and_a_difference_is_refused():
    with pytest.raises(ValueError, match="both a ratio"):
        score_size.statistics_at(4, 6, 0.05, 1.1)


@pytest.mark.parametrize(
    ("n1", "n2", "difference", "greater", "low", "high"),
    [
        (300, 1000, 0.0, True, 0.001, 0.01),
        (300, 1000, 0.0, False, 0.4, 0.45),
        (200, 900, -0.05, True, 0.95, 0.99),
    ],
)
def test_the_size_near_a_rate_from_the_tables_it_reaches_bounds_the_whole_enumeration(
    n1, n2, difference, greater, low, high
):
    """Past ``MOST_TABLES`` a size near a rate weighs only the tables whose counts lie between
    their binomial quantiles ``REACH`` and 1 - ``REACH`` there, plus the chance of a count
    outside: at designs the whole enumeration reaches, never below it and above it by at
    most 4 ``REACH``."""
    rates, whole = score_size.size_curve(n1, n2, 0.05, difference, greater=greater)
    near = (rates >= rates[rates <= low].max()) & (rates <= rates[rates >= high].min())
    windowed = score_size._windowed_sizes(n1, n2, 0.05, difference, greater, rates[near][0], rates[near][-1])
    assert np.all(windowed >= whole[near] - 1e-12)
    assert np.all(windowed <= whole[near] + 4 * score_size.REACH)


def test_past_the_whole_enumerations_reach_the_size_near_a_rate_is_still_stated():
    """1,000 ratings against 1,995 (2 million tables): near a rate of 0.0017 the score test's
    size is 0.071 at alpha 0.05 (in the upper direction), found by a brute force over the
    tables with counts up to 25 and 40 and the chance of any other; 640 against 1,995 holds
    it there (0.050). Before, no size was stated past ``MOST_TABLES``."""
    assert score_size.MOST_TABLES < 1001 * 1996
    found = score_size.local_size(1000, 1995, 0.05, 0.0, greater=True, low=0.0015, high=0.0019)
    grid = score_size.RATES
    rates = grid[(grid >= grid[grid <= 0.0015].max()) & (grid <= grid[grid >= 0.0019].min())]
    z = np.array([[proportions.standardized_statistic([(x1, 1000, x2, 1995)]) for x2 in range(41)] for x1 in range(26)])
    region = z > norm.isf(0.05)
    first, second = (binom.pmf(np.arange(k)[None, :], n, rates[:, None]) for k, n in ((26, 1000), (41, 1995)))
    inside = np.einsum("ra,ab,rb->r", first, region.astype(float), second)
    outside = binom.sf(25, 1000, rates) + binom.sf(40, 1995, rates)
    assert inside.max() <= found <= (inside + outside).max() + 4 * score_size.REACH
    assert found == pytest.approx(0.0709, abs=5e-5)
    held = score_size.local_size(640, 1995, 0.05, 0.0, greater=True, low=0.0015, high=0.0019)
    assert held is not None and held < 0.05 * 4 / 3


@pytest.mark.parametrize(("n1", "n2", "margin", "greater"), [(6, 30, -0.05, True), (10, 40, 0.05, False)])
def test_the_chance_a_test_of_no_difference_passes_a_margin_is_a_brute_force_enumerations(n1, n2, margin, greater):
    """The chance that the score test of no difference rejects it towards ``greater`` when the
    true difference is the gate's ``margin`` (the union bound's second term of the margin-only
    rule, ``proportions.valid_margin_level``), over the grid and near a rate."""
    rates, expected = brute_force_curve(n1, n2, 0.05, 0.0, greater, truth=margin)
    found_rates, found = score_size.rejection_curve(n1, n2, 0.05, 0.0, margin, greater=greater)
    np.testing.assert_array_equal(found_rates, rates)
    np.testing.assert_allclose(found, expected, atol=1e-10)
    assert 0 < found.max() < score_size.score_size(n1, n2, 0.05)
    near = (rates >= rates[rates <= 0.3].max()) & (rates <= rates[rates >= 0.4].min())
    local = score_size.local_size(n1, n2, 0.05, 0.0, greater=greater, low=0.3, high=0.4, truth=margin)
    assert local == pytest.approx(expected[near].max(), abs=1e-10)
