from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy.stats import barnard_exact, chi2_contingency

from pytest_empathy.analysis.groups import holm
from pytest_empathy.analysis.independence import CHI2, EXACT, NO_TEST, freeman_halton, independence_test
from pytest_empathy.analysis.marginal import stuart_maxwell
from pytest_empathy.analysis.rating_comparison import compare, compare_paired
from pytest_empathy.analysis.versus_baseline import summarize
from pytest_empathy.ratings import Counts, Rating
from pytest_empathy.results.case import CaseResult


def test_chi_square_against_a_table_computed_by_hand():
    # Margins 60/60 by 30/40/50 of N=120: expected 15/20/25 in each row, so
    # chi2 = 2 * (5^2/15 + 0 + 5^2/25) = 16/3, and with 2 dof p = exp(-chi2/2).
    c = compare(Counts(10, 20, 30), Counts(20, 20, 20), alpha=0.05)
    assert c.study.test == CHI2
    assert c.study.dof == 2
    assert c.study.statistic == pytest.approx(16 / 3)
    assert c.study.p_value == pytest.approx(math.exp(-8 / 3))
    assert c.cramers_v == pytest.approx(math.sqrt(16 / 3 / 120))
    assert c.model.good_rate == pytest.approx(0.5)
    assert c.baseline.good_rate == pytest.approx(1 / 3)
    assert c.good.difference == pytest.approx(1 / 6)
    assert c.good.ratio == pytest.approx(1.5)
    assert c.direction == "better"


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 400), min_size=6, max_size=6))
def test_chi_square_agrees_with_scipy_stats(cells):
    # The test is computed with scipy.special alone (scipy.stats is slow to import); scipy.stats
    # is the reference. Where the exact test runs instead, it has no statistic of its own.
    # independence_test is what compare() reports as the comparison's study test and Cramer's V
    # (tests above check compare()'s on tables by hand and the release's); compare() itself
    # would also run the Good- and Bad-rate tests, whose guard enumerates the score test's size
    # over up to a million tables for every design drawn here (most of this test's 100 s).
    model, baseline = Counts(*cells[:3]), Counts(*cells[3:])
    test, statistic, dof, p_value, cramers_v = independence_test(model, baseline)
    table = np.array([cells[:3], cells[3:]])
    table = table[:, table.sum(axis=0) > 0]
    if model.n == 0 or baseline.n == 0 or table.shape[1] < 2:
        return
    reference = chi2_contingency(table, correction=False)
    if test == CHI2:
        assert statistic == pytest.approx(reference.statistic, rel=1e-12, abs=1e-12)
        assert dof == reference.dof
        assert p_value == pytest.approx(reference.pvalue, rel=1e-12, abs=1e-300)
    else:
        assert (statistic, dof) == (None, None)
    assert cramers_v == pytest.approx(math.sqrt(reference.statistic / table.sum()), rel=1e-12, abs=1e-12)


def test_release_headline_figures():
    # GPT-4 (empathy prompt) against the human group in the release: 1295/986 - 1 = 0.313,
    # chi2 134.1241, p 7.504e-30 (the study's figures).
    c = compare(Counts(142, 563, 1295), Counts(342, 672, 986), alpha=0.05)
    assert c.good.ratio - 1 == pytest.approx(1295 / 986 - 1)
    assert c.study.test == CHI2
    assert round(c.study.statistic, 4) == 134.1241
    assert f"{c.study.p_value:.3e}" == "7.504e-30"
    assert c.good.ratio_ci.low < c.good.ratio < c.good.ratio_ci.high


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
    c = compare(Counts(0, 5, 10), Counts(4, 6, 2), alpha=0.05)
    assert c.study.test == EXACT
    assert c.study.p_value == pytest.approx(brute_force_exact([[0, 5, 10], [4, 6, 2]]), rel=1e-9)
    # The exact test has no statistic of its own; Cramer's V stays Pearson's, a measure of size.
    assert (c.study.statistic, c.study.dof) == (None, None)
    assert c.cramers_v == pytest.approx(math.sqrt(9.2045454545 / 27))


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
    c = compare(Counts(0, 30, 30), Counts(0, 40, 20), alpha=0.05)
    assert c.study.dof == 1
    c = compare(Counts(0, 0, 9), Counts(0, 0, 7), alpha=0.05)
    assert (c.study.test, c.study.p_value, c.study.dof) == (EXACT, 1.0, None)


def test_direction_is_the_sign_of_the_good_rate_statistic():
    # No Good rating on either side: the Good rate does not move, whatever the rest does.
    assert compare(Counts(12, 0, 0), Counts(0, 12, 0), alpha=0.05).direction == "same"
    assert compare(Counts(1, 1, 2), Counts(1, 2, 1), alpha=0.05).direction == "better"


def test_no_test_without_ratings_in_a_group():
    c = compare(Counts(), Counts(1, 2, 3), alpha=0.05)
    assert c.study.test == NO_TEST and c.study.p_value is None and c.direction is None and c.good is None


def test_holm_by_hand():
    # Sorted: 0.005*4=0.02, 0.01*3=0.03, 0.03*2=0.06, then 0.04*1 is raised to 0.06.
    assert holm([0.01, 0.04, 0.03, None, 0.005]) == pytest.approx([0.03, 0.06, 0.06, None, 0.02])


counts = st.builds(Counts, st.integers(0, 80), st.integers(0, 80), st.integers(0, 80))


# Past the exact test's 10,000 tables, the guard took Berger and Boos's valid test (its floor,
# p 0.005) where the score test is liberal near the baseline's Good rate, 7 of 125, but the
# score test (3.1e-21) with the groups reversed, near 58 of 84; the second is the first with
# Good and not Good swapped, the model first: its p_better was the score test's and the
# reverse's p_worse the valid test's floor.
ASYMMETRIC_BEFORE = [(Counts(6, 20, 58), Counts(59, 59, 7)), (Counts(3, 4, 118), Counts(40, 18, 26))]


@settings(max_examples=200, deadline=None)
@given(counts, counts)
@example(*ASYMMETRIC_BEFORE[0])
@example(*ASYMMETRIC_BEFORE[1])
def test_p_values_are_probabilities_and_symmetric(model, baseline):
    forward, backward = compare(model, baseline, alpha=0.05), compare(baseline, model, alpha=0.05)
    if forward.study.p_value is None:
        assert model.n == 0 or baseline.n == 0
        return
    assert 0.0 <= forward.study.p_value <= 1.0
    assert forward.study.p_value == pytest.approx(backward.study.p_value, rel=1e-9, abs=1e-300)
    assert forward.p_better == pytest.approx(backward.p_worse, rel=1e-9, abs=1e-300)
    assert forward.p_worse == pytest.approx(backward.p_better, rel=1e-9, abs=1e-300)
    flipped = {"better": "worse", "worse": "better", "same": "same"}
    assert backward.direction == flipped[forward.direction]


@pytest.mark.parametrize(("model", "baseline"), ASYMMETRIC_BEFORE)
def test_the_unpaired_good_rate_test_agrees_with_barnards_exact_test_in_both_orders(model, baseline):
    # Barnard's exact unconditional test (scipy's, an independent implementation) puts the
    # one-sided p-value near 1e-23: the data rule out no difference far past the valid test's
    # floor of 0.005, which neither order may report; both take the score test.
    higher, lower = (model, baseline) if model.good / model.n > baseline.good / baseline.n else (baseline, model)
    table = [[higher.good, lower.good], [higher.n - higher.good, lower.n - lower.good]]
    exact = barnard_exact(table, alternative="greater").pvalue
    assert exact < 1e-20
    for first, second in ((higher, lower), (lower, higher)):
        test = compare(first, second, alpha=0.05).good
        assert test is not None
        p_value = test.p_greater if first is higher else test.p_less
        assert exact < p_value < 1e-18
        assert test.method.startswith("score at the maximum-likelihood rates")


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
    forward = compare_paired(pairs, alpha=0.05)
    backward = compare_paired([(a, b) for b, a in pairs], alpha=0.05)
    interval = forward.good.difference_ci
    assert -1 <= interval.low <= forward.good.difference <= interval.high <= 1
    assert backward.good.difference == pytest.approx(-forward.good.difference)
    assert (backward.good.difference_ci.low, backward.good.difference_ci.high) == pytest.approx(
        (-interval.high, -interval.low), abs=1e-9
    )
    assert forward.whole.p_value == pytest.approx(backward.whole.p_value)
    assert forward.p_worse == pytest.approx(backward.p_better)
