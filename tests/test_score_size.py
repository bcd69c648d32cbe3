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
    n1: int, n2: int, alpha: float, difference: float, greater: bool, truth: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The chance of rejecting the null ``difference`` at each grid rate where the true
    difference is ``truth`` (the null itself by default)."""
    truth = difference if truth is None else truth
    critical = norm.isf(alpha)
    z = np.array(
        [
            [proportions.standardized_statistic([(x1, n1, x2, n2)], difference=difference) for x2 in range(n2 + 1)]
            for x1 in range(n1 + 1)
        ]
    )
    region = z > critical if greater else z < -critical
    rates = score_size.RATES[(score_size.RATES + truth >= 0) & (score_size.RATES + truth <= 1)]
    first = binom.pmf(np.arange(n1 + 1), n1, rates[:, None] + truth)
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
