from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chi2_contingency, norm
from scipy.stats.contingency import relative_risk

from pytest_empathy.analysis.comparison import compare, compare_paired
from pytest_empathy.analysis.groups import holm
from pytest_empathy.analysis.independence import CHI2, EXACT, NO_TEST, freeman_halton
from pytest_empathy.analysis.intervals import katz_interval, newcombe_interval, wilson_interval
from pytest_empathy.analysis.marginal import stuart_maxwell
from pytest_empathy.analysis.versus_baseline import summarize
from pytest_empathy.ratings import Counts, Rating
from pytest_empathy.results.case import CaseResult

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


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 400), min_size=6, max_size=6))
def test_chi_square_agrees_with_scipy_stats(cells):
    # The test is computed with scipy.special alone (scipy.stats is slow to import); scipy.stats
    # is the reference. Where the exact test runs instead, the statistic is still chi-square's.
    model, baseline = Counts(*cells[:3]), Counts(*cells[3:])
    c = compare(model, baseline)
    table = np.array([cells[:3], cells[3:]])
    table = table[:, table.sum(axis=0) > 0]
    if model.n == 0 or baseline.n == 0 or table.shape[1] < 2:
        return
    reference = chi2_contingency(table, correction=False)
    assert c.statistic == pytest.approx(reference.statistic, rel=1e-12, abs=1e-12)
    assert c.dof == reference.dof
    if c.test == CHI2:
        assert c.p_value == pytest.approx(reference.pvalue, rel=1e-12, abs=1e-300)
    ci = c.good_gain_absolute_ci
    z = norm.ppf(0.975)
    reference_ci = newcombe_interval(model.good, model.n, baseline.good, baseline.n, z)
    assert (ci.low, ci.high) == pytest.approx((reference_ci.low, reference_ci.high), rel=1e-12)


def test_release_headline_figures():
    # GPT-4 (empathy prompt) against the human group in the release: 1295/986 - 1 = 0.313.
    c = compare(Counts(142, 563, 1295), Counts(342, 672, 986))
    assert c.good_gain_relative == pytest.approx(1295 / 986 - 1)
    assert c.test == CHI2 and c.p_value < 1e-20
    assert c.good_gain_relative_ci.low < c.good_gain_relative < c.good_gain_relative_ci.high


def brute_force_exact(table: list[list[int]]) -> float:
    """Freeman-Halton by plain enumeration with math.comb, independent of the vectorised one."""
    columns = [a + b for a, b in zip(*table, strict=True)]
    row_total, total = sum(table[0]), sum(columns)

    def probability(first: tuple[int, ...]) -> float:
        return math.prod(math.comb(c, x) for c, x in zip(columns, first, strict=True)) / math.comb(total, row_total)

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
    pairs = sorted((p, a) for p, a in zip(p_values, adjusted, strict=True) if p is not None)
    for p, a in pairs:
        assert p <= a <= 1.0
    assert [a for _, a in pairs] == sorted(a for _, a in pairs)
    assert [a is None for a in adjusted] == [p is None for p in p_values]


emotion_names = st.sampled_from(["afraid", "caring", "joyful", "sad", "nostalgic"])
results = st.lists(
    st.builds(
        lambda i, e, r, b: CaseResult(f"{e}-{i}", e, Rating(r), Rating(b)),
        st.integers(),
        emotion_names,
        st.integers(1, 3),
        st.integers(1, 3),
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


def fleiss_everitt(table):
    """The closed form of the Stuart-Maxwell statistic for 3x3 tables (Fleiss & Everitt 1971)."""
    t = np.asarray(table, dtype=float)
    d = t.sum(axis=1) - t.sum(axis=0)
    n12, n13, n23 = ((t[i, j] + t[j, i]) / 2 for i, j in ((0, 1), (0, 2), (1, 2)))
    return (n23 * d[0] ** 2 + n13 * d[1] ** 2 + n12 * d[2] ** 2) / (2 * (n12 * n13 + n12 * n23 + n13 * n23))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 15), min_size=9, max_size=9))
def test_stuart_maxwell_statistic_matches_the_closed_form(cells):
    table = np.array(cells).reshape(3, 3)
    n12, n13, n23 = (table[i, j] + table[j, i] for i, j in ((0, 1), (0, 2), (1, 2)))
    if min(n12 * n13 + n12 * n23 + n13 * n23, n12 + n13, n12 + n23, n13 + n23) == 0:
        return  # the closed form needs discordance between every pair of categories
    _test, statistic, dof, p_value = stuart_maxwell(table)
    assert statistic == pytest.approx(fleiss_everitt(table))
    assert dof == 2 and 0 <= p_value <= 1


def brute_force_paired_exact(table):
    """Every discordant pair flipped either way, enumerated pair by pair."""
    t = np.asarray(table)
    pairs = [(i, j) for i in range(3) for j in range(3) if i != j for _ in range(t[i, j])]
    observed = fleiss_everitt(t)
    hits = 0
    for flips in itertools.product((False, True), repeat=len(pairs)):
        u = np.diag(np.diag(t)).copy()
        for (i, j), flip in zip(pairs, flips, strict=True):
            u[(j, i) if flip else (i, j)] += 1
        hits += fleiss_everitt(u) >= observed - 1e-9
    return hits / 2 ** len(pairs)


def test_exact_stuart_maxwell_enumerates_every_flip():
    table = [[5, 3, 1], [1, 4, 2], [1, 1, 6]]
    test, _, _, p_value = stuart_maxwell(np.array(table))
    assert test == "stuart-maxwell-exact"
    assert p_value == pytest.approx(brute_force_paired_exact(table))


def test_stuart_maxwell_is_asymptotic_for_many_discordant_pairs():
    table = np.array([[300, 90, 40], [60, 500, 80], [20, 70, 840]])
    test, statistic, dof, p_value = stuart_maxwell(table)
    assert test == "stuart-maxwell" and dof == 2
    assert p_value == pytest.approx(math.exp(-statistic / 2))


def test_one_way_discordance_in_one_direction():
    # Five pairs all went from Bad to Good: one degree of freedom, exact p = 2 / 2**5.
    assert stuart_maxwell(np.array([[0, 0, 5], [0, 3, 0], [0, 0, 2]])) == (
        "stuart-maxwell-exact",
        5.0,
        1,
        pytest.approx(1 / 16),
    )
    assert stuart_maxwell(np.eye(3, dtype=int) * 4)[3] == 1.0


paired = st.lists(st.tuples(st.sampled_from(list(Rating)), st.sampled_from(list(Rating))), min_size=1, max_size=80)


@settings(max_examples=100, deadline=None)
@given(paired)
def test_paired_good_change_interval(pairs):
    forward = compare_paired(pairs)
    backward = compare_paired([(a, b) for b, a in pairs])
    interval = forward.good_change_ci
    assert -1 <= interval.low <= forward.good_change <= interval.high <= 1
    assert backward.good_change == pytest.approx(-forward.good_change)
    assert (backward.good_change_ci.low, backward.good_change_ci.high) == pytest.approx((-interval.high, -interval.low))
    assert forward.p_value == pytest.approx(backward.p_value)
