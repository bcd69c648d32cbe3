from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats.contingency import relative_risk

from pytest_empathy.ratings import Rating
from pytest_empathy.results import CaseResult
from pytest_empathy.stats import (
    CHI2, EXACT, NO_TEST, Counts, compare, freeman_halton, holm, katz_interval,
    newcombe_interval, wilson_interval,
)
from pytest_empathy.summary import summarize

Z95 = 1.959963984540054


def test_chi_square_against_a_table_computed_by_hand():
    # Margins 60/60 by 30/40/50 of N=120: expected 15/20/25 in each row, so
    # chi2 = 2 * (5^2/15 + 0 + 5^2/25) = 16/3, and with 2 dof p = exp(-chi2/2).
    c = compare(Counts(10, 20, 30), Counts(20, 20, 20))
    assert c.test == CHI2
    assert c.dof == 2
    assert c.statistic == pytest.approx(16 / 3)
    assert c.p_value == pytest.approx(math.exp(-8 / 3))
    assert c.cramers_v == pytest.approx(math.sqrt(16 / 3 / 120))
    assert c.good_rate == pytest.approx(0.5)
    assert c.baseline_good_rate == pytest.approx(1 / 3)
    assert c.good_gain_absolute == pytest.approx(1 / 6)
    assert c.good_gain_relative == pytest.approx(0.5)
    assert c.direction == "better"


def test_release_headline_figures():
    # GPT-4 (empathy prompt) against the human group in the release: 1295/986 - 1 = 0.313.
    c = compare(Counts(142, 563, 1295), Counts(342, 672, 986))
    assert c.good_gain_relative == pytest.approx(1295 / 986 - 1)
    assert c.test == CHI2 and c.p_value < 1e-20
    assert c.good_gain_relative_ci.low < c.good_gain_relative < c.good_gain_relative_ci.high


def brute_force_exact(table: list[list[int]]) -> float:
    """Freeman-Halton by plain enumeration with math.comb, independent of the vectorised one."""
    columns = [a + b for a, b in zip(*table)]
    row_total, total = sum(table[0]), sum(columns)

    def probability(first: tuple[int, ...]) -> float:
        return math.prod(math.comb(c, x) for c, x in zip(columns, first)) / math.comb(total, row_total)

    observed = probability(tuple(table[0]))
    return sum(
        p
        for first in itertools.product(*(range(c + 1) for c in columns))
        if sum(first) == row_total and (p := probability(first)) <= observed * (1 + 1e-7)
    )


def test_exact_test_runs_when_an_expected_count_is_below_five():
    c = compare(Counts(0, 5, 10), Counts(4, 6, 2))
    assert c.test == EXACT
    assert c.p_value == pytest.approx(brute_force_exact([[0, 5, 10], [4, 6, 2]]), rel=1e-9)
    # The chi-square statistic is still reported, for Cramer's V.
    assert c.statistic == pytest.approx(9.2045454545)


def test_freeman_halton_on_two_by_two_equals_fisher():
    # Fisher's exact test on [[3,1],[1,3]]: two-sided p = 34/70.
    assert freeman_halton(np.array([[3, 1], [1, 3]])) == pytest.approx(34 / 70)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 12), min_size=6, max_size=6))
def test_freeman_halton_matches_enumeration(cells):
    table = [cells[:3], cells[3:]]
    if sum(table[0]) == 0 or sum(table[1]) == 0:
        return
    assert freeman_halton(np.array(table)) == pytest.approx(brute_force_exact(table), rel=1e-7)


def test_rating_column_empty_in_both_groups_is_dropped():
    c = compare(Counts(0, 30, 30), Counts(0, 40, 20))
    assert c.dof == 1
    c = compare(Counts(0, 0, 9), Counts(0, 0, 7))
    assert (c.test, c.p_value, c.dof) == (EXACT, 1.0, 0)


def test_direction_on_equal_good_rates_follows_the_mean_rating():
    assert compare(Counts(12, 0, 0), Counts(0, 12, 0)).direction == "worse"
    assert compare(Counts(1, 1, 1), Counts(1, 1, 1)).direction == "same"


def test_no_test_without_ratings_in_a_group():
    c = compare(Counts(), Counts(1, 2, 3))
    assert c.test == NO_TEST and c.p_value is None and c.direction is None


def test_newcombe_interval_reproduces_newcombe_1998():
    # Newcombe (1998), Statistics in Medicine 17:873, example (a), method 10: 56/70 - 48/80.
    interval = newcombe_interval(56, 70, 48, 80, Z95)
    assert (interval.low, interval.high) == pytest.approx((0.0524, 0.3339), abs=1e-4)


def test_wilson_interval_is_inside_unit_range():
    assert wilson_interval(0, 10, Z95).low == 0.0
    assert wilson_interval(10, 10, Z95).high == pytest.approx(1.0)


def test_katz_interval_agrees_with_scipy_relative_risk():
    reference = relative_risk(1295, 2000, 986, 2000).confidence_interval(0.95)
    interval = katz_interval(1295, 2000, 986, 2000, Z95)
    assert interval.low == pytest.approx(reference.low - 1)
    assert interval.high == pytest.approx(reference.high - 1)


def test_holm_by_hand():
    # Sorted: 0.005*4=0.02, 0.01*3=0.03, 0.03*2=0.06, then 0.04*1 is raised to 0.06.
    assert holm([0.01, 0.04, 0.03, None, 0.005]) == pytest.approx([0.03, 0.06, 0.06, None, 0.02])


counts = st.builds(Counts, st.integers(0, 80), st.integers(0, 80), st.integers(0, 80))


@settings(max_examples=200, deadline=None)
@given(counts, counts)
def test_p_values_are_probabilities_and_symmetric(model, baseline):
    forward, backward = compare(model, baseline), compare(baseline, model)
    if forward.p_value is None:
        assert model.n == 0 or baseline.n == 0
        return
    assert 0.0 <= forward.p_value <= 1.0
    assert forward.p_value == pytest.approx(backward.p_value, rel=1e-9, abs=1e-300)
    flipped = {"better": "worse", "worse": "better", "same": "same"}
    assert backward.direction == flipped[forward.direction]


@given(st.lists(st.one_of(st.none(), st.floats(0, 1)), max_size=40))
def test_holm_is_at_least_raw_bounded_and_monotone(p_values):
    adjusted = holm(p_values)
    pairs = sorted((p, a) for p, a in zip(p_values, adjusted) if p is not None)
    for p, a in pairs:
        assert p <= a <= 1.0
    assert [a for _, a in pairs] == sorted(a for _, a in pairs)
    assert [a is None for a in adjusted] == [p is None for p in p_values]


emotion_names = st.sampled_from(["afraid", "caring", "joyful", "sad", "nostalgic"])
results = st.lists(
    st.builds(
        lambda i, e, r, b: CaseResult(f"{e}-{i}", e, Rating(r), Rating(b)),
        st.integers(), emotion_names, st.integers(1, 3), st.integers(1, 3),
    ),
    min_size=1,
    max_size=120,
)


@settings(max_examples=60, deadline=None)
@given(results, st.randoms())
def test_summary_is_invariant_to_the_order_of_cases(cases, random):
    shuffled = list(cases)
    random.shuffle(shuffled)
    assert summarize(cases, alpha=0.05) == summarize(shuffled, alpha=0.05)
