"""The sizes the statistics page states are the plugin's: its table is what benchmarks/exact_sizes.py
prints, and the paired tests, against the baseline and a saved run's decline, hold their
size whatever the number of discordant cases, enumerated here and weighed with scipy."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from scipy import stats

from benchmarks import exact_sizes
from pytest_empathy.analysis import proportions, score_size
from pytest_empathy.analysis.gates import gate_margins
from pytest_empathy.analysis.rating_comparison import compare_paired
from pytest_empathy.ratings import Rating
from pytest_empathy.settings import StatisticsSettings

from .conftest import page


def test_the_statistics_page_holds_the_enumerated_sizes_verbatim(capsys):
    """What ``python -m benchmarks.exact_sizes`` prints, run in this process (its ``main``:
    the module's own code, whose p-values and sizes are the plugin's functions either way;
    a process of its own only added its imports and lost the caches the tests here share)."""
    exact_sizes.main([])
    # The table sits in a list item, indented.
    readme = [line.strip() for line in page("explanation/statistics.md").splitlines()]
    printed = [line for line in capsys.readouterr().out.splitlines() if line]
    assert len(printed) > 10
    missing = [line for line in printed if line not in readme]
    assert not missing, missing


def paired_size(d: int, alpha: float) -> float:
    """The size of the paired test given ``d`` discordant cases, every split tried."""
    rejected = [
        proportions.paired(proportions.PairedCounts(2, b, d - b, 3), confidence=1 - 2 * alpha).p_greater < alpha
        for b in range(d + 1)
    ]
    return float(stats.binom.pmf(np.arange(d + 1), d, 0.5) @ np.array(rejected))


@pytest.mark.parametrize("alpha", [0.05, 0.01])
def test_the_paired_test_holds_its_size_given_any_number_of_discordant_cases(alpha):
    """Up to the cutover the exact test: at most alpha. Beyond it Tango's score test, whose
    size given d swings around alpha but never above alpha and a third (it reached 0.125 at
    3 discordant cases and 0.090 at 9 before)."""
    cutover = proportions.exact_cutover(alpha)
    for d in range(1, 70):
        size = paired_size(d, alpha)
        assert size <= (alpha if d <= cutover else 4 / 3 * alpha), (d, size)
    assert paired_size(cutover + 1, alpha) > 0.6 * alpha


def test_the_cutover_at_every_level_holms_steps_reach_is_the_enumerated_one():
    """At each of Holm's levels over 32 emotions at 0.05 and 16 at 0.01 (a run's finish asks
    them all), and far in the tail: the cutover is the last of 200 discordant cases where the
    score test's size, by scipy's binomial, exceeds the level by a third."""
    levels = [
        *proportions.holm_levels(0.05 / 32, 32),
        *proportions.holm_levels(0.01 / 16, 16),
        *(0.2, 0.001, 1e-6, 1e-9),
    ]
    criticals = stats.norm.isf(levels)
    over: dict[float, list[int]] = {alpha: [0] for alpha in levels}
    for d in range(1, 201):
        b = np.arange(d + 1)
        pmf, z = stats.binom.pmf(b, d, 0.5), (2 * b - d) / np.sqrt(d)
        for alpha, critical in zip(levels, criticals, strict=True):
            if pmf[z > critical].sum() > 4 / 3 * alpha:
                over[alpha].append(d)
    assert {alpha: proportions.exact_cutover(alpha) for alpha in levels} == {a: max(ds) for a, ds in over.items()}
    assert proportions.holm_cutover(0.05 / 32, 32) == max(max(over[a]) for a in proportions.holm_levels(0.05 / 32, 32))


def test_the_first_rejected_count_is_settled_by_the_statistic_from_any_start():
    """The closed form only starts the search: from a start far below or above it, the count
    is the same, the fewest Good-on-the-first-side-only cases whose McNemar statistic exceeds
    the critical value (d + 1 where none does)."""
    for alpha in (0.05, 0.001):
        critical = stats.norm.isf(alpha)
        for d in (1, 2, 7, 40, 200):
            b = np.arange(d + 1)
            rejected = b[(2 * b - d) / np.sqrt(d) > critical]
            expected = int(rejected[0]) if len(rejected) else d + 1
            starts = (critical, -60.0, 0.0, 60.0)
            assert [proportions._first_rejected(d, alpha, start) for start in starts] == [expected] * len(starts)


def decline_rejects(d: int, fallen: int, alpha: float) -> bool:
    """Whether decline's test, a run against its saved run, rejects with ``fallen`` of ``d``
    cases rated otherwise fallen from Good, the rest risen to it."""
    pairs = [(Rating.GOOD, Rating.BAD)] * fallen + [(Rating.BAD, Rating.GOOD)] * (d - fallen)
    p_worse = compare_paired([*pairs, (Rating.GOOD, Rating.GOOD)], alpha=alpha).p_worse
    return p_worse is not None and p_worse < alpha


@pytest.mark.parametrize("alpha", [0.05, 0.01])
def test_decline_against_a_saved_run_holds_its_size_given_any_number_of_discordant_cases(alpha):
    """decline's size given d cases rated otherwise, d up to 200, weighed with scipy: at most
    alpha and a third (McNemar's z alone reached 0.125 at 3). Its rejections are the most
    fallen: found by bisection, the counts either side of the threshold checked."""
    sizes = {}
    for d in range(1, 201):
        low, high = 0, d + 1
        while low < high:
            middle = (low + high) // 2
            if middle <= d and decline_rejects(d, middle, alpha):
                high = middle
            else:
                low = middle + 1
        assert low > d or decline_rejects(d, low, alpha)
        assert low == 0 or not decline_rejects(d, low - 1, alpha)
        sizes[d] = float(stats.binom.sf(low - 1, d, 0.5))
    assert max(sizes.values()) <= 4 / 3 * alpha, max(sizes.items(), key=lambda item: item[1])
    assert all(size <= alpha for d, size in sizes.items() if d <= proportions.exact_cutover(alpha))


def test_the_cutover_is_where_the_score_tests_size_last_exceeds_alpha_by_a_third():
    """The score test's own size, by the binomial written here: above 4/3 alpha at the
    cutover and never past it, up to 400 discordant cases."""
    for alpha in (0.05, 0.01, 0.1):
        critical = stats.norm.isf(alpha)
        sizes = {}
        for d in range(1, 401):
            b = np.arange(d + 1)
            sizes[d] = stats.binom.pmf(b, d, 0.5)[(2 * b - d) / np.sqrt(d) > critical].sum()
        over = [d for d, size in sizes.items() if size > 4 / 3 * alpha]
        assert proportions.exact_cutover(alpha) == max(over)
        if alpha == 0.05:
            # The statistics page: the score test alone rejects up to 0.125 of the time at alpha 0.05.
            assert round(max(sizes.values()), 3) == 0.125


def rejected_below(rejects: Callable[[int], bool], n: int) -> int:
    """The counts 0..n that ``rejects``, true up to a threshold and false from it, reject: the
    threshold, by bisection, and the counts either side of it checked."""
    low, high = 0, n + 1
    while low < high:
        middle = (low + high) // 2
        if middle <= n and rejects(middle):
            low = middle + 1
        else:
            high = middle
    assert low == 0 or rejects(low - 1)
    assert low > n or not rejects(low)
    return low


def unpaired_sizes(n1: int, n2: int, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """The chance that ``proportions.unpaired`` rejects "not higher" and "not lower" at each
    true rate of ``score_size.RATES`` (fine within 0.02 of 0 and 1), weighed with scipy. Given
    the first group's count, "higher" is rejected on the second's lowest counts and "lower" on
    its highest: each threshold found by bisection, each side's by its own p-value
    (``unpaired_p_value``: where the exact test decides, the other side's costs as much)."""
    rates = score_size.RATES
    higher, lower = np.zeros(len(rates)), np.zeros(len(rates))
    for x1 in range(n1 + 1):

        def p_value(x2: int, greater: bool, x1: int = x1) -> float:
            return proportions.unpaired_p_value(x1, n1, x2, n2, confidence=1 - 2 * alpha, greater=greater)

        weight = stats.binom.pmf(x1, n1, rates)
        below = rejected_below(lambda x2: p_value(x2, True) < alpha, n2)
        higher += weight * stats.binom.cdf(below - 1, n2, rates)
        above = n2 - rejected_below(lambda count: p_value(n2 - count, False) < alpha, n2)
        lower += weight * stats.binom.sf(above, n2, rates)
    return higher, lower


@pytest.mark.parametrize(("n1", "n2"), [(2, 62), (5, 62), (10, 300)])
@pytest.mark.parametrize("alpha", [0.05, 0.05 / 32])
def test_the_unpaired_good_rate_test_holds_its_size_with_a_small_group(n1, n2, alpha):
    """A handful of cases against an emotion's ratings: Miettinen-Nurminen's score test alone
    rejected a true null up to 0.120 of the time at 2 against 62 (0.044 at 0.05 / 32); the
    test ``proportions.unpaired`` runs there is at most alpha over true rates."""
    higher, lower = unpaired_sizes(n1, n2, alpha)
    assert higher.max() <= alpha and lower.max() <= alpha, (higher.max(), lower.max())
    assert higher.max() > 0.2 * alpha or alpha < 0.01


@pytest.mark.parametrize(("n1", "n2"), [(30, 2000), (10, 1000), (100, 300)])
def test_past_the_exact_tests_reach_the_unpaired_test_holds_its_size(n1, n2):
    """Past the exact test's 10,000 tables the score test decides where it holds its size near
    the baseline's rate, and Berger and Boos's valid test where it does not. The score test
    alone reached 0.088 at 30 against 2,000 and 0.097 at 10 against 1,000 (alpha 0.05, rates
    near 0.075 and 0.2); the test ``proportions.unpaired`` runs holds alpha and a third at
    every rate (enumerated: 0.066 and 0.066, near the edges of the guard's interval)."""
    alpha = 0.05
    size = max(part.max() for part in unpaired_sizes(n1, n2, alpha))
    assert size <= 4 / 3 * alpha, size
    assert size > alpha / 2


@pytest.mark.parametrize(("n1", "n2", "points"), [(10, 1000, 5.0), (6, 20, 10.0)])
def test_no_more_bad_holds_its_size_at_its_margin_on_one_emotion(n1, n2, points):
    """No-more-bad on one emotion where the score test holds its size at no difference but not
    at the gate's margin: 10 cases against 1,000 ratings at 5 points (11,011 tables, past the
    exact test's reach; the score test alone passed a model whose Bad rate is 5 points higher
    0.100 of the time, at a baseline Bad rate near 0.15) and 6 against 20 at 10 points (0.121).
    The gate's bound reaches the valid test's (Berger and Boos's; the exact test's within its
    reach) where it does not exclude no difference, and holds alpha and a third at every rate
    (enumerated: 0.063 at 10 against 1,000). At 6 against 20 the score test of no difference
    alone passes a model the margin worse 0.024 of the time, above a third of alpha, so the
    exact test's bound is taken at alpha less that (``proportions.valid_margin_level``) and the
    gate's size is 0.024. The gate passes on the baseline's highest counts: each x1's threshold
    found by bisection and weighed with scipy."""
    alpha = 0.05
    margin = gate_margins(StatisticsSettings(bad_margin=points)).bad
    assert margin is not None
    rates = score_size.RATES[score_size.RATES + margin.difference <= 1]
    size = np.zeros(len(rates))
    for x1 in range(n1 + 1):

        def passes(count: int, x1: int = x1) -> bool:
            bad = proportions.unpaired(x1, n1, n2 - count, n2, confidence=1 - 2 * alpha, margin=margin)
            return bad.difference_ci.high < margin.difference

        above = n2 - rejected_below(passes, n2)
        size += stats.binom.pmf(x1, n1, rates + margin.difference) * stats.binom.sf(above, n2, rates)
    assert size.max() <= 4 / 3 * alpha, (size.max(), rates[size.argmax()])
    # Not vacuous: the gate passes a model the margin worse at some rates.
    assert size.max() > alpha / 4


def test_past_the_size_curves_whole_reach_the_unpaired_test_is_guarded_near_a_rate_of_0():
    """1,000 ratings against 1,995, past ``score_size.MOST_TABLES`` (2 million tables): the
    score test's "higher" side alone rejects a true null 0.071 of the time near a rate of
    0.0017, and the guard, which stated no size there, kept it. Now the size near the
    baseline's rate is taken from the tables that rate reaches, and the test
    ``proportions.unpaired`` runs holds alpha and a third at the rates from 0.0005 to 0.004,
    enumerated over the counts up to 25 and 40 (each x1's threshold by bisection), the
    chance of any other count added (0.0004 at most: the valid test decides there)."""
    alpha, n1, n2, most1, most2 = 0.05, 1000, 1995, 25, 40
    rates = score_size.RATES[(score_size.RATES >= 0.0005) & (score_size.RATES <= 0.004)]
    size = stats.binom.sf(most1, n1, rates) + stats.binom.sf(most2, n2, rates)
    score = size.copy()
    for x1 in range(most1 + 1):
        weight = stats.binom.pmf(x1, n1, rates)
        below = rejected_below(
            lambda x2, x1=x1: (
                proportions.unpaired_p_value(x1, n1, x2, n2, confidence=1 - 2 * alpha, greater=True) < alpha
            ),
            most2,
        )
        size += weight * stats.binom.cdf(below - 1, n2, rates)
        unguarded = rejected_below(
            lambda x2, x1=x1: proportions.standardized_statistic([(x1, n1, x2, n2)]) > stats.norm.isf(alpha), most2
        )
        score += weight * stats.binom.cdf(unguarded - 1, n2, rates)
    assert score.max() > 4 / 3 * alpha, score.max()
    assert size.max() <= 4 / 3 * alpha, (size.max(), rates[size.argmax()])
    # Conservative there (0.0004): the valid test on counts this small rarely rejects.
    assert size.max() > 0


def test_past_the_guards_reach_the_method_says_the_test_is_not_guarded():
    """More than 2,000 model ratings (the valid test's Hoeffding tail would weigh millions of
    splits): the score test decides, and its method says that its size near the baseline's
    rate is not known, where it said nothing."""
    test = proportions.unpaired(5, 2500, 3, 1995, confidence=0.9)
    assert test.method.endswith(proportions.UNGUARDED)
    assert test.p_greater == proportions.unpaired_score(5, 2500, 3, 1995, 0.9).p_greater
