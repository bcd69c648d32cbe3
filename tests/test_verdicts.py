"""Verdicts that mean what they say: the Good-rate tests behind the gates against independent
implementations, the cases that used to be misjudged, and each gate's false-pass rate under
its null hypothesis, by seeded simulation."""

from __future__ import annotations

import csv
import functools
import json
import math
import random
from collections.abc import Callable, Sequence
from importlib.resources import files

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq, minimize, minimize_scalar
from scipy.stats import beta, binom, binomtest, norm
from statsmodels.stats import proportion as sm_proportion
from statsmodels.stats.contingency_tables import mcnemar

from pytest_empathy.analysis import power, proportions, unconditional
from pytest_empathy.analysis.gates import Completeness, check_gates, decide
from pytest_empathy.analysis.proportions import PairedCounts
from pytest_empathy.analysis.rating_comparison import compare, compare_paired
from pytest_empathy.analysis.saved_run_checks import check, parse_checks
from pytest_empathy.analysis.versus_baseline import summarize
from pytest_empathy.analysis.versus_saved_run import compare_with_saved_run
from pytest_empathy.emotions import EMOTIONS
from pytest_empathy.modes import GateMode
from pytest_empathy.ratings import Counts, Rating
from pytest_empathy.results.case import CaseResult
from pytest_empathy.settings import StatisticsSettings

from .conftest import paired_cases, read_report, write_corpus
from .test_standardized import gart_nam, oracle_z

CRITICAL_90 = norm.ppf(0.95)


# Oracles, written here from the definitions: the restricted maximum likelihood found by
# root-finding on the score equation or by a general optimiser, and intervals by brentq.


def scas_z(x1: int, n1: int, x2: int, n2: int, *, difference: float = 0.0, ratio: float = 1.0) -> float:
    """The skewness-corrected score statistic (Laud's SCAS, without Miettinen and Nurminen's
    N / (N - 1)) for p1 = ratio * p2 + difference: the restricted maximum likelihood by a
    bounded scalar optimiser over p2, Gart and Nam's third moment at those rates."""

    def negative_log_likelihood(p2: float) -> float:
        return -float(binom.logpmf(x1, n1, ratio * p2 + difference) + binom.logpmf(x2, n2, p2))

    low, high = max(0.0, -difference / ratio), min(1.0, (1.0 - difference) / ratio)
    found = minimize_scalar(negative_log_likelihood, bounds=(low, high), method="bounded", options={"xatol": 1e-14})
    p2 = min([low, high, found.x], key=negative_log_likelihood)
    p1 = min(1.0, max(0.0, ratio * p2 + difference))
    variance = p1 * (1 - p1) / n1 + ratio**2 * p2 * (1 - p2) / n2
    third = p1 * (1 - p1) * (1 - 2 * p1) / n1**2 - ratio**3 * p2 * (1 - p2) * (1 - 2 * p2) / n2**2
    numerator = x1 / n1 - ratio * x2 / n2 - difference
    if variance < 1e-13:
        return 0.0 if abs(numerator) < 1e-12 else math.copysign(math.inf, numerator)
    return gart_nam(numerator / math.sqrt(variance), third / (6 * variance**1.5))


def paired_z(cells: tuple[int, int, int, int], contrast: float, *, ratio: bool) -> float:
    """The score statistic for paired rates p1 - p2 = contrast (or p1 / p2 = contrast), with
    the cell probabilities under the null maximised numerically."""
    both, first, second, _ = cells
    n = sum(cells)
    p11, p12, p21 = _restricted_ratio(cells, contrast) if ratio else _restricted_difference(cells, contrast)
    if ratio:
        variance = p11 * (1 - contrast) ** 2 + p12 + contrast**2 * p21
        return (both + first - contrast * (both + second)) / math.sqrt(n * variance)
    variance = p12 + p21 - (p12 - p21) ** 2
    return (first - second - n * contrast) / math.sqrt(n * variance)


def _restricted_difference(cells: tuple[int, int, int, int], delta: float) -> tuple[float, float, float]:
    """Under p12 = p21 + delta the concordant cells share what is left in proportion to their
    counts, so the likelihood is a function of p21 alone: maximised by brentq on its slope."""
    both, first, second, neither = cells
    concordant = both + neither

    def slope(p21: float) -> float:
        return first / (p21 + delta) + second / p21 - 2 * concordant / (1 - 2 * p21 - delta)

    low, high = max(0.0, -delta) + 1e-14, (1 - delta) / 2 - 1e-14
    p21 = brentq(slope, low, high, xtol=1e-16) if slope(low) > 0 > slope(high) else (low if slope(low) <= 0 else high)
    rest = 1 - 2 * p21 - delta
    return (both / concordant * rest if concordant else 0.0), p21 + delta, p21


def _restricted_ratio(cells: tuple[int, int, int, int], phi: float) -> tuple[float, float, float]:
    """Under p11 + p12 = phi (p11 + p21): the likelihood over (p11, p21) on a grid, then
    refined by Nelder-Mead from the grid's best point."""
    weights = np.array(cells, dtype=float).reshape(4, 1, 1)

    def negative_log_likelihood(p11: np.ndarray, p21: np.ndarray) -> np.ndarray:
        p = np.stack([p11, phi * (p11 + p21) - p11, p21, 1 - phi * (p11 + p21) - p21])
        with np.errstate(all="ignore"):
            value = -(weights.reshape((4,) + (1,) * np.ndim(p11)) * np.log(np.where(p > 0, p, np.nan))).sum(axis=0)
        return np.where(np.isnan(value), np.inf, value)

    def at_point(t: np.ndarray) -> float:
        """The same at one point, in floats (the optimiser asks it tens of thousands of times)."""
        p11, p21 = float(t[0]), float(t[1])
        p = (p11, phi * (p11 + p21) - p11, p21, 1 - phi * (p11 + p21) - p21)
        if min(p) <= 0:
            return math.inf
        return -sum(w * math.log(q) for w, q in zip(cells, p, strict=True))

    grid = np.linspace(1e-6, 1 - 1e-6, 401)
    first, second = np.meshgrid(grid, grid, indexing="ij")
    values = negative_log_likelihood(first, second)
    start = np.unravel_index(np.argmin(values), values.shape)
    best = minimize(
        at_point,
        [first[start], second[start]],
        method="Nelder-Mead",
        # Asked for 1e-13 it ran to its 20,000 steps' limit in places (34 s over these tests'
        # tables); the rates it found there and these, found in a second, differ by less than
        # 1e-11, where the statistics are compared to 1e-5.
        options={"xatol": 1e-11, "fatol": 1e-13, "maxiter": 20000},
    )
    p11, p21 = best.x
    return p11, phi * (p11 + p21) - p11, p21


counts = st.tuples(st.integers(1, 90), st.integers(1, 90)).flatmap(
    lambda ns: st.tuples(st.integers(0, ns[0]), st.just(ns[0]), st.integers(0, ns[1]), st.just(ns[1]))
)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # statsmodels divides by zero at the edges
@settings(max_examples=150, deadline=None)
@given(counts)
def test_the_exact_tests_statistic_is_statsmodels_score_statistic(table):
    """The exact unconditional test orders the tables by Miettinen and Nurminen's statistic."""
    x1, n1, x2, n2 = table
    if x1 + x2 in (0, n1 + n2):
        return  # no variance: statsmodels returns nan, the statistic is 0
    z = unconditional.difference_statistics(n1, n2, 0.0)[x1, x2]
    for alternative, p in (("larger", norm.sf(z)), ("smaller", norm.cdf(z))):
        reference = sm_proportion.test_proportions_2indep(
            x1, n1, x2, n2, method="score", compare="diff", alternative=alternative, correction=True
        )
        assert p == pytest.approx(reference.pvalue, rel=1e-9, abs=1e-12)


@settings(max_examples=150, deadline=None)
@given(counts)
def test_unpaired_test_is_the_skewness_corrected_score_test(table):
    x1, n1, x2, n2 = table
    test = proportions.unpaired_score(x1, n1, x2, n2, confidence=0.9)
    z = scas_z(x1, n1, x2, n2)
    assert (test.p_greater, test.p_less) == pytest.approx((norm.sf(z), norm.cdf(z)), rel=1e-5, abs=1e-9)
    assert test.method == test.ratio_method == proportions.SCAS


@settings(max_examples=80, deadline=None)
@given(counts, st.floats(-0.95, 0.95))
def test_unpaired_difference_interval_inverts_the_score_test(table, delta):
    x1, n1, x2, n2 = table
    # The reference keeps its restricted rates 1e-13 inside (0, 1); where a rate's distance to
    # the edge is delta itself (an all-Good or all-Bad table), that is a relative error of
    # 1e-13 / delta, beyond the tolerance below once delta is under about 1e-7.
    assume(abs(delta) >= 1e-6)
    expected = scas_z(x1, n1, x2, n2, difference=delta)
    found = proportions.standardized_statistic([(x1, n1, x2, n2)], difference=delta)
    assert found == pytest.approx(expected, rel=1e-6, abs=1e-6)
    test = proportions.unpaired_score(x1, n1, x2, n2, confidence=0.9)
    for bound, level in ((test.difference_ci.low, CRITICAL_90), (test.difference_ci.high, -CRITICAL_90)):
        if abs(bound) < 1 - 1e-9:
            assert scas_z(x1, n1, x2, n2, difference=bound) == pytest.approx(level, abs=1e-6)
        else:  # the test rejects nothing out to the end of the range
            assert abs(scas_z(x1, n1, x2, n2, difference=bound * (1 - 1e-9))) <= CRITICAL_90 + 1e-6


@settings(max_examples=100, deadline=None)
@given(counts)
def test_unpaired_ratio_interval_inverts_the_score_test(table):
    x1, n1, x2, n2 = table
    assume(x1 > 0 and x2 > 0)  # a ratio of 0 or without bound: its open side is no crossing
    interval = proportions.unpaired_score(x1, n1, x2, n2, confidence=0.9).ratio_ci
    assert interval is not None
    for bound, level in ((interval.low, CRITICAL_90), (interval.high, -CRITICAL_90)):
        assert scas_z(x1, n1, x2, n2, ratio=bound) == pytest.approx(level, abs=1e-6)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # statsmodels divides by zero at the edges
@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=4, max_size=4))
def test_paired_test_at_no_difference_is_mcnemar(cells):
    both, first, second, neither = cells
    if first + second == 0:
        return
    test = proportions.paired(PairedCounts(*cells), confidence=0.9)
    table = np.array([[both, first], [second, neither]])
    reference = mcnemar(table, exact=False, correction=False)
    assert test.statistic**2 == pytest.approx(reference.statistic, rel=1e-12)
    if first + second <= proportions.exact_cutover(0.05):
        assert test.method == proportions.PAIRED_EXACT
        assert min(1.0, 2 * min(test.p_greater, test.p_less)) == pytest.approx(
            mcnemar(table, exact=True).pvalue, rel=1e-9
        )
        return
    assert test.method == proportions.PAIRED
    assert test.p_greater + test.p_less == pytest.approx(1.0)
    assert 2 * min(test.p_greater, test.p_less) == pytest.approx(reference.pvalue, rel=1e-9)


def test_no_more_bad_bounds_its_margin_by_the_score_interval_even_on_few_discordant_cases():
    """3 cases Bad on the model's side only and 1 on the baseline's of 200: the Bad rate's
    test at no difference is McNemar's exact, as the Good rate's is (Tango's exceeds its size
    there); the exact conditional test tests no difference only, so the margin's bound is
    Tango's (the hull of both; the exact interval's, d/n held fixed, lies within it)."""
    pairs = [(Rating.BAD, Rating.OKAY)] * 3 + [(Rating.OKAY, Rating.BAD)] + [(Rating.OKAY, Rating.OKAY)] * 196
    cases = [CaseResult(f"c{i:03}", "sad", model, baseline) for i, (model, baseline) in enumerate(pairs)]
    bad = summarize(cases, alpha=0.05).overall.comparison.bad
    tango = proportions.paired_score(PairedCounts(0, 3, 1, 196), 0.9, None)
    assert bad.method == proportions.PAIRED_EXACT
    assert bad.p_greater == pytest.approx(binomtest(3, 4, alternative="greater").pvalue, rel=1e-12)
    assert bad.difference_ci.high == tango.difference_ci.high
    assert bad.difference_ci.low <= tango.difference_ci.low


@pytest.mark.parametrize(
    ("alpha", "family"),
    [(0.05, 1), (0.01, 1), (0.2, 1), (0.05 / 8, 1), (0.05 / 32, 1), (0.05 / 32, 32), (0.01 / 16, 16)],
)
def test_with_few_discordant_cases_the_paired_test_is_the_exact_binomial_and_its_interval_agrees(alpha, family):
    """Every split of up to the cutover's discordant cases (at every level Holm's steps can
    use for one of ``family`` emotions: 73 at 0.05 / 32 over 32, 67 at 0.01 / 16 over 16), on
    cases Good on both sides or neither: the one-sided p-values are scipy's exact binomial
    tests, and each interval excludes no difference exactly when its test rejects, holds
    Tango's and the Clopper-Pearson interval (scipy's beta quantiles) mapped to the
    difference and the ratio. (Every d and split at alpha 0.1, 0.05 and 0.01 over 1 to 32
    emotions agreed too: a four-minute run, not kept.)"""
    cutover = proportions.holm_cutover(alpha, family)
    assert cutover > 0
    for d in range(1, cutover + 1, 2 if cutover > 30 else 1):
        for b in range(d + 1):
            counts = PairedCounts(both=d % 5, first_only=b, second_only=d - b, neither=7)
            test = proportions.paired(counts, confidence=1 - 2 * alpha, family=family)
            score = proportions.paired_score(counts, 1 - 2 * alpha, None)
            assert test.method == proportions.PAIRED_EXACT
            assert test.p_greater == pytest.approx(binomtest(b, d, alternative="greater").pvalue, rel=1e-9)
            assert test.p_less == pytest.approx(binomtest(b, d, alternative="less").pvalue, rel=1e-9)
            assert (test.difference_ci.low > 0) == (test.p_greater < alpha)
            assert (test.difference_ci.high < 0) == (test.p_less < alpha)
            assert (test.ratio_ci.low > 1) == (test.p_greater < alpha)
            assert (test.ratio_ci.high < 1) == (test.p_less < alpha)
            low = beta.ppf(alpha, b, d - b + 1) if b else 0.0
            high = beta.isf(alpha, b + 1, d - b) if b < d else 1.0
            n, both = counts.n, counts.both
            assert test.difference_ci.low == pytest.approx(
                min(score.difference_ci.low, d / n * (2 * low - 1)), abs=1e-9
            )
            assert test.difference_ci.high == pytest.approx(
                max(score.difference_ci.high, d / n * (2 * high - 1)), abs=1e-9
            )
            ratio_low = (both + d * low) / (both + d * (1 - low))
            assert test.ratio_ci.low == pytest.approx(min(score.ratio_ci.low, ratio_low), rel=1e-8)
    # Past the cutover, and with clusters, Tango's score test as before.
    counts = PairedCounts(3, cutover + 1, 0, 5)
    assert proportions.paired(counts, confidence=1 - 2 * alpha, family=family).method == proportions.PAIRED
    clustered = proportions.paired(PairedCounts(3, 4, 0, 5), confidence=1 - 2 * alpha, design_effect=1.0)
    assert clustered == proportions.paired_score(PairedCounts(3, 4, 0, 5), 1 - 2 * alpha, 1.0)


def test_a_margin_is_not_passed_on_two_discordant_cases_of_fifty():
    """Clopper-Pearson's interval mapped with d/n held fixed would bound the drop at 4
    points; the discordant share itself is uncertain, and Tango's interval says so."""
    test = proportions.paired(PairedCounts(20, 0, 2, 28), confidence=0.9)
    assert test.method == proportions.PAIRED_EXACT
    assert test.difference_ci.low < -0.05


PAIRED_TABLES = [(30, 13, 11, 12), (10, 7, 3, 20), (5, 2, 9, 4), (40, 1, 2, 9), (1, 6, 2, 4), (50, 12, 25, 13)]


@pytest.mark.parametrize("cells", PAIRED_TABLES)
def test_paired_statistics_and_intervals_agree_with_a_general_optimiser(cells):
    counts = PairedCounts(*cells)
    test = proportions.paired_score(counts, 0.9, None)
    for delta in (-0.2, -0.05, 0.1, 0.3):
        assert proportions._tango_difference(counts, delta) == pytest.approx(
            paired_z(cells, delta, ratio=False), rel=1e-5, abs=1e-6
        )
    for phi in (0.8, 1.0, 1.2):
        assert proportions._tang_ratio(counts, phi) == pytest.approx(
            paired_z(cells, phi, ratio=True), rel=1e-5, abs=1e-6
        )
    # Each bound is where the oracle's statistic crosses the critical value.
    for bound, level in ((test.difference_ci.low, CRITICAL_90), (test.difference_ci.high, -CRITICAL_90)):
        if abs(bound) < 1 - 1e-9:
            assert paired_z(cells, bound, ratio=False) == pytest.approx(level, abs=1e-5)
    for bound, level in ((test.ratio_ci.low, CRITICAL_90), (test.ratio_ci.high, -CRITICAL_90)):
        if 1e-9 < bound < 1e9:
            assert paired_z(cells, bound, ratio=True) == pytest.approx(level, abs=1e-5)


@settings(max_examples=150, deadline=None)
@given(counts)
def test_an_interval_excludes_no_change_exactly_when_the_test_rejects_it(table):
    x1, n1, x2, n2 = table
    test = proportions.unpaired_score(x1, n1, x2, n2, confidence=0.9)
    assert (test.difference_ci.low > 0) == (test.p_greater < 0.05) or abs(test.p_greater - 0.05) < 1e-9
    assert (test.difference_ci.high < 0) == (test.p_less < 0.05) or abs(test.p_less - 0.05) < 1e-9
    assert test.difference_ci.low <= test.difference <= test.difference_ci.high


# The cases the chi-square verdicts got wrong.


def test_no_bad_ratings_alone_do_not_make_an_emotion_significantly_worse():
    # Model 0/48/12 against baseline 18/24/18 (Bad/Okay/Good): the chi-square is tiny because
    # the model has no Bad rating, but its Good rate is not significantly lower.
    model = [2] * 48 + [3] * 12
    unpaired_summary = summarize(
        paired_cases("afraid", model, model), alpha=0.05, per_emotion_baseline={"afraid": Counts(18, 24, 18)}
    )
    # Paired, the Good ratings on different cases: 12 gained, 18 lost, no significant loss.
    baseline = [1] * 18 + [2] * 24 + [3] * 18
    paired_summary = summarize(paired_cases("afraid", [3] * 12 + [2] * 48, baseline), alpha=0.05)
    for summary in (unpaired_summary, paired_summary):
        group = summary.emotions["afraid"]
        assert group.comparison.study.p_value < 1e-5
        assert group.verdict is None
        gates = check_gates(
            summary, Completeness(60, 60), mode=GateMode.NOT_WORSE, min_good_gain=None, allow_partial=False, margin=30
        )
        assert {g.name: g.passed for g in gates}["no-emotion-worse"]
    # The unpaired score test matches the figures the issue quoted from statsmodels.
    good = unpaired_summary.emotions["afraid"].comparison.good
    assert 2 * good.p_less == pytest.approx(0.21, abs=0.01)


def test_min_good_gain_checks_the_lower_bound():
    # -3.4% relative, an interval reaching far below -5%: the gain that passes cannot be shown.
    comparison = compare(Counts(10, 12, 28), Counts(9, 12, 29), alpha=0.05)
    assert comparison.good.ratio - 1 == pytest.approx(28 / 29 - 1)
    summary = summarize(paired_cases("sad", [1] * 10 + [2] * 12 + [3] * 28, [1] * 9 + [2] * 12 + [3] * 29), alpha=0.05)
    gates = check_gates(summary, Completeness(50, 50), mode=GateMode.BETTER, min_good_gain=-0.05, allow_partial=False)
    gate = {g.name: g for g in gates}["min-good-gain"]
    assert not gate.passed and "relative Good gain -3.4%" in gate.detail


def test_min_good_gain_without_a_good_baseline_checks_the_ratios_lower_bound():
    # 5/20 Good against none: the ratio is unbounded, its lower bound is not (about 1.97).
    summary = summarize(paired_cases("sad", [3] * 5 + [2] * 15, [2] * 20), alpha=0.05, per_emotion_baseline=None)
    unpaired = proportions.unpaired(5, 20, 0, 20, confidence=0.9)
    assert unpaired.ratio is None and math.isinf(unpaired.ratio_ci.high) and unpaired.ratio_ci.low > 1.5
    assert scas_z(5, 20, 0, 20, ratio=unpaired.ratio_ci.low) == pytest.approx(CRITICAL_90, abs=1e-6)
    gates = check_gates(summary, Completeness(20, 20), mode=GateMode.BETTER, min_good_gain=0.2, allow_partial=False)
    gate = {g.name: g for g in gates}["min-good-gain"]
    assert gate.passed and "relative Good gain unbounded (the baseline has no Good rating)" in gate.detail


def swapped_release(path) -> None:
    """The release with its human ratings as the model's and GPT-4's (empathy prompt) as the
    baseline's: a model truly about 15 points worse."""
    figures = files("pytest_empathy.corpus") / "data" / "welivita-pu-2024.csv"
    with figures.open(encoding="utf-8") as source, path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["id", "emotion", "situation", "utterance", "rating_bot", "rating_human"])
        for row in csv.DictReader(source):
            writer.writerow([row["id"], row["emotion"], "-", "-", row["rating_human"], row["rating_chatgpt_empathy"]])


@pytest.mark.parametrize("sample", ["1", "2", "3", "10", None])
def test_a_worse_model_fails_not_worse_at_every_sample_size(run_benchmark, pytester, sample):
    swapped_release(pytester.path / "swapped.csv")
    args = ["--empathy-model=bot", "--empathy-corpus=swapped.csv", "--empathy-gate=not-worse", "--empathy-margin=5"]
    result = run_benchmark(*args, *([f"--empathy-sample={sample}"] if sample else []))
    assert result.ret == 1
    result.stdout.fnmatch_lines(["FAILED not-worse: * is not above the margin -5 pts *"])


def test_a_tiny_sample_says_nothing_either_way(run_benchmark, pytester):
    result = run_benchmark("--empathy-model=chatgpt-empathy", "--empathy-sample=2")
    report = read_report(pytester)
    afraid = report["emotions"]["afraid"]
    low, high = afraid["good_gain_absolute_ci"]
    assert low < 0 < high and afraid["verdict"] is None  # the interval and the test agree
    assert result.ret == 1


# False passes under each gate's null hypothesis, by seeded simulation.

REPETITIONS = 3000


def at_most_alpha(repetitions: int) -> float:
    """Alpha (0.05) and three Monte Carlo standard errors of a rate of alpha over ``repetitions``."""
    return 0.05 + 3 * math.sqrt(0.05 * 0.95 / repetitions)


ALLOWED = at_most_alpha(REPETITIONS)


def draws(rng: random.Random, rate: float, n: int) -> int:
    return sum(rng.random() < rate for _ in range(n))


# The simulations below draw the same few tables again and again (3,000 paired tables of 60
# cases hold some 1,200 distinct ones, 12,800 of 60 some 2,700, 3,000 pairs of counts of 80
# some 500): each distinct table is tested once, by the plugin's own functions, and every
# draw of it counts. The tests are pure functions of the table, so this is the same result.
@functools.cache
def paired_test(cells: tuple[int, int, int, int]) -> proportions.GoodRateTest:
    return proportions.paired(PairedCounts(*cells), confidence=0.9)


@functools.cache
def unpaired_test(x1: int, n1: int, x2: int, n2: int) -> proportions.GoodRateTest:
    return proportions.unpaired(x1, n1, x2, n2, confidence=0.9)


@functools.cache
def unpaired_p_values(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float]:
    return proportions.unpaired_p_values(x1, n1, x2, n2, confidence=0.9)


@pytest.mark.parametrize(("rate", "n"), [(0.5, 60), (0.3, 40), (0.8, 120)])
def test_better_gate_passes_equal_rates_at_most_alpha_of_the_time(rate, n):
    rng = random.Random(f"better:{rate}:{n}")
    passes = 0
    for _ in range(REPETITIONS):
        # The p-values unpaired gives, without its intervals' searches (a tenth of the time).
        p_greater, _ = unpaired_p_values(draws(rng, rate, n), n, draws(rng, rate, n), n)
        passes += p_greater < 0.05
    assert passes / REPETITIONS <= ALLOWED


@pytest.mark.parametrize(("rate", "n"), [(0.6, 60), (0.5, 200)])
def test_not_worse_passes_a_model_exactly_the_margin_worse_at_most_alpha_of_the_time(rate, n):
    margin = 0.05
    rng = random.Random(f"not-worse:{rate}:{n}")
    passes = 0
    for _ in range(REPETITIONS):
        # Paired: each case's two ratings drawn from a joint law whose Good rates differ by the margin.
        cells = [0, 0, 0, 0]
        for _ in range(n):
            u = rng.random()
            # P(both)=rate-margin-0.1, P(model only)=0.1, P(baseline only)=0.1+margin
            if u < rate - margin - 0.1:
                cells[0] += 1
            elif u < rate - margin:
                cells[1] += 1
            elif u < rate + 0.1:
                cells[2] += 1
            else:
                cells[3] += 1
        passes += paired_test(tuple(cells)).difference_ci.low > -margin
    assert passes / REPETITIONS <= ALLOWED


def test_min_good_gain_passes_a_gain_exactly_at_the_minimum_at_most_alpha_of_the_time():
    minimum, baseline_rate, n = 0.2, 0.45, 80
    rng = random.Random("min-good-gain")
    passes = 0
    for _ in range(REPETITIONS):
        x1, x2 = draws(rng, baseline_rate * (1 + minimum), n), draws(rng, baseline_rate, n)
        test = unpaired_test(x1, n, x2, n)
        passes += test.ratio_ci is not None and test.ratio_ci.low - 1 >= minimum
    assert passes / REPETITIONS <= ALLOWED


def test_no_emotion_worse_fails_a_model_equal_in_every_emotion_at_most_alpha_of_the_time():
    rng = random.Random("no-emotion-worse")
    emotions = [f"e{i}" for i in range(32)]
    repetitions, alarms = 400, 0
    for _ in range(repetitions):
        p_worse = []
        for _ in emotions:
            cells = [0, 0, 0, 0]
            for _ in range(60):
                cells[rng.randrange(4)] += 1  # both, model only, baseline only, neither: equal rates
            p_worse.append(paired_test(tuple(cells)).p_less)
        alarms += min(min(1.0, 32 * p) for p in p_worse) < 0.05  # Holm's first step decides
    assert alarms / repetitions <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / repetitions)


def rerated(rng: random.Random, emotions: list[str], per_emotion: int) -> tuple[dict, list[CaseResult]]:
    """The same model's answers rated twice by the same noisy judge: nothing changed."""
    saved, run = {}, []
    for emotion in emotions:
        for i in range(per_emotion):
            quality = rng.random()  # each case's own difficulty, rated twice with noise
            first, second = (
                Rating(1 + (quality + rng.gauss(0, 0.2) > 0.3) + (quality + rng.gauss(0, 0.2) > 0.6)) for _ in range(2)
            )
            saved[f"{emotion}-{i}"] = (emotion, first)
            run.append(CaseResult(f"{emotion}-{i}", emotion, second))
    return saved, run


def test_decline_checks_raise_false_alarms_at_most_their_alpha_with_nothing_changed():
    """decline and emotion-decline, each one-sided at alpha: together at most about 2 alpha."""
    rng = random.Random("compare-fail")
    checks = parse_checks("decline,emotion-decline")
    emotions = ["afraid", "caring", "joyful", "sad", "lonely", "proud", "angry", "hopeful"]
    repetitions, alarms = 300, 0
    for _ in range(repetitions):
        saved, run = rerated(rng, emotions, 64)
        comparison = compare_with_saved_run(run, saved, alpha=0.05)
        alarms += not all(gate.passed for gate in check(comparison, checks).gates)
    assert alarms / repetitions <= 0.10 + 3 * math.sqrt(0.1 * 0.9 / repetitions)


def test_good_drop_passes_only_where_the_run_can_show_the_drop_is_small():
    """good-drop:POINTS checks the lower bound: with nothing changed it passes when the run
    is large enough to show a drop of at most POINTS, and it can fail on a small run."""
    rng = random.Random("good-drop")
    checks = parse_checks("good-drop:5")
    emotions = ["afraid", "caring", "joyful", "sad"]
    small = [
        all(g.passed for g in check(compare_with_saved_run(r, s, alpha=0.05), checks).gates)
        for s, r in (rerated(rng, emotions, 8) for _ in range(100))
    ]
    large = [
        all(g.passed for g in check(compare_with_saved_run(r, s, alpha=0.05), checks).gates)
        for s, r in (rerated(rng, emotions, 250) for _ in range(100))
    ]
    assert sum(large) >= 90 and sum(small) <= 60


def test_a_saved_run_comparison_decides_on_the_paired_good_rate():
    pairs = [(Rating.GOOD, Rating.OKAY)] * 12 + [(Rating.OKAY, Rating.OKAY)] * 40
    comparison = compare_paired(pairs, alpha=0.05)
    assert comparison.good.difference == pytest.approx(-12 / 52)
    # McNemar's exact test on so few discordant cases, as against the baseline: all 12 fell.
    assert comparison.p_worse == pytest.approx(binomtest(0, 12, 0.5, alternative="less").pvalue)


# Power: what a run can detect.


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@settings(max_examples=100, deadline=None)
@given(st.floats(0.01, 0.4), st.floats(0.05, 0.55), st.integers(5, 400), st.integers(5, 400))
def test_unpaired_power_is_statsmodels_power(difference, rate2, n1, n2):
    reference = sm_proportion.power_proportions_2indep(
        difference, rate2, n1, ratio=n2 / n1, alpha=0.05, alternative="larger", return_results=False
    )
    assert power.power_unpaired(difference, rate2, n1, n2, 0.05) == pytest.approx(reference, rel=1e-9, abs=1e-12)


def test_the_smallest_detectable_difference_has_eighty_percent_power():
    gain = power.detectable_unpaired(0.493, 62, 62, 0.05 / 32, upward=True)
    drop = power.detectable_unpaired(0.493, 62, 62, 0.05 / 32, upward=False)
    assert sm_proportion.power_proportions_2indep(
        gain, 0.493, 62, alpha=0.05 / 32, alternative="larger", return_results=False
    ) == pytest.approx(0.8, abs=1e-6)
    assert sm_proportion.power_proportions_2indep(
        drop, 0.493 - drop, 62, alpha=0.05 / 32, alternative="larger", return_results=False
    ) == pytest.approx(0.8, abs=1e-6)
    # What the issue measured: an emotion of about 60 cases, after Holm, detects about 30 points.
    assert 0.25 < drop < 0.35


def test_paired_power_holds_in_simulation():
    """At the smallest detectable paired difference, Tango's one-sided test rejects about 80%
    of the time (Connor's approximation, checked by seeded simulation)."""
    n, discordant, alpha = 120, 0.4, 0.05
    difference = power.detectable_paired(discordant, n, alpha)
    rng = random.Random("paired-power")
    # Cells: first only with probability (discordant + d) / 2, second only (discordant - d) / 2.
    first_only, second_only = (discordant + difference) / 2, (discordant - difference) / 2
    rejections, repetitions = 0, 2000
    for _ in range(repetitions):
        cells = [0, 0, 0, 0]
        for _ in range(n):
            u = rng.random()
            cells[1 if u < first_only else 2 if u < first_only + second_only else 0] += 1
        rejections += paired_test(tuple(cells)).p_greater < alpha
    assert rejections / repetitions == pytest.approx(0.8, abs=0.04)


def test_a_run_too_small_for_its_gate_warns_and_can_be_made_to_fail(run_benchmark, pytester):
    result = run_benchmark("--empathy-model=chatgpt-empathy", "--empathy-sample=2")
    result.stdout.fnmatch_lines(["WARNING better: at 80% power this run detects a gain of +2?.? pts or more *"])
    assert read_report(pytester)["warnings"] and read_report(pytester)["overall"]["detectable"]["power"] == 0.8
    result = run_benchmark("--empathy-model=chatgpt-empathy", "--empathy-sample=2", "--empathy-require-power")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["FAILED power: better: at 80% power this run detects *"])
    result = run_benchmark(
        "--empathy-model=chatgpt-empathy", "--empathy-sample=10", "--empathy-gate=not-worse", "--empathy-margin=3"
    )
    result.stdout.fnmatch_lines(["WARNING not-worse: at 80% power this run detects a drop of * a margin of 3 pts *"])
    # The full release can show the study's effect: no warning.
    result = run_benchmark("--empathy-model=chatgpt-empathy", "--empathy-require-power")
    assert result.ret == 0 and read_report(pytester)["warnings"] == []


@pytest.mark.slow
def test_a_model_equal_to_humans_in_every_emotion_is_not_better_whatever_its_emotion_mix():
    """Against the release's per-emotion counts, pooling the baseline as it comes would
    compare the run's emotions with the release's (caring's humans are rated Good 68% of the
    time, anxious's 38%): the baseline is standardized to the run's mix."""
    from pytest_empathy.corpus import release

    human = release.human_counts()
    mix = {"caring": 100, "sentimental": 100, "anxious": 10, "surprised": 10}
    rng = random.Random("emotion-mix")
    repetitions, passes = 400, 0
    for _ in range(repetitions):
        results = []
        for emotion, n in mix.items():
            rate = human[emotion].good_rate
            for i in range(n):
                rating = Rating.GOOD if rng.random() < rate else Rating.OKAY
                results.append(CaseResult(f"{emotion}-{i}", emotion, rating))
        summary = summarize(results, alpha=0.05, per_emotion_baseline=human)
        passes += summary.overall.verdict == "better"
    # 400 repetitions: a Monte Carlo standard error of 1.1 points, not ALLOWED's 0.4.
    assert passes / repetitions <= at_most_alpha(repetitions), passes


@pytest.mark.slow
def test_a_smoke_sized_run_equal_to_the_release_humans_is_rarely_better():
    """Two cases per emotion against the release's per-emotion counts: a per-emotion
    variance of the model's rate, from two ratings, is zero half the time."""
    from pytest_empathy.corpus import release

    human = release.human_counts()
    rng = random.Random("smoke-sized")
    repetitions, passes = 400, 0
    for run in range(repetitions):
        results = []
        for emotion, counts in human.items():
            for i in range(2):
                rating = Rating.GOOD if rng.random() < counts.good_rate else Rating.OKAY
                results.append(CaseResult(f"{emotion}-{run}-{i}", emotion, rating))
        passes += summarize(results, alpha=0.05, per_emotion_baseline=human).overall.verdict == "better"
    # 400 repetitions: a Monte Carlo standard error of 1.1 points, not ALLOWED's 0.4.
    assert passes / repetitions <= at_most_alpha(repetitions), passes


def test_the_standardized_difference_by_hand():
    strata = [(30, 50, 40, 60), (5, 10, 30, 60)]
    test = proportions.standardized(strata, confidence=0.9)
    weights = [50 / 60, 10 / 60]
    baseline = weights[0] * 40 / 60 + weights[1] * 30 / 60
    assert test.second_rate == pytest.approx(baseline)
    assert test.difference == pytest.approx(35 / 60 - baseline)
    # The skewness-corrected score statistic, written from its formulas in test_standardized.

    def z(delta: float) -> float:
        return oracle_z(strata, 1.0, delta)

    assert test.statistic == pytest.approx(z(0.0))
    assert z(test.difference_ci.low) == pytest.approx(CRITICAL_90)
    assert z(test.difference_ci.high) == pytest.approx(-CRITICAL_90)


def test_min_good_gain_names_the_side_without_good_ratings():
    cases = [CaseResult(f"{e}-{i}", e, Rating.BAD, None) for e in ("sad", "joyful") for i in range(10)]
    baseline = {"sad": Counts(5, 5, 10), "joyful": Counts(2, 8, 10)}
    settings = {"alpha": 0.05, "gate": "better", "min_good_gain": None, "allow_partial": False}
    gate = next(
        g
        for g in decide(cases, Completeness(20, 20), StatisticsSettings.from_json(settings), baseline).gates
        if g.name == "min-good-gain"
    )
    assert not gate.passed and gate.detail == "no Good rating on the model's side: no relative gain to bound"


# The Bad rate beside the Good rate: a model better on Good answers but worse on Bad ones.

# The polarising model, paired with the humans on 2,000 cases: (model, human) ratings
# and how many cases have them; the margins are the model's 803/94/1103 (Bad/Okay/Good) and
# the humans' 342/672/986, the two sides close to independent, as the issue's table was.
POLARISING = {
    (1, 1): 137,
    (1, 2): 270,
    (1, 3): 396,
    (2, 1): 16,
    (2, 2): 32,
    (2, 3): 46,
    (3, 1): 189,
    (3, 2): 370,
    (3, 3): 544,
}


def polarising_rows() -> list[dict[str, object]]:
    """The polarising model's cases, spread evenly over the emotions."""
    pairs = [pair for pair, count in POLARISING.items() for _ in range(count)]
    return [
        {
            "id": f"polarising{i}",
            "emotion": EMOTIONS[i % len(EMOTIONS)],
            "situation": "-",
            "utterance": "-",
            "rating_bot": model,
            "rating_human": human,
        }
        for i, (model, human) in enumerate(pairs)
    ]


def test_a_polarising_model_is_not_better(run_benchmark, pytester):
    write_corpus(pytester.path / "polarising.csv", polarising_rows())
    reports = ["--empathy-markdown=report.md", "--empathy-html=report.html"]
    result = run_benchmark("--empathy-model=bot", "--empathy-corpus=polarising.csv", "-p", "no:xdist", "-qq", *reports)
    assert result.ret == 1
    # -qq keeps its one line, naming the failed gate.
    summary = [line for line in result.stdout.lines if line.startswith("pytest-empathy:")]
    assert summary == ["pytest-empathy: bot FAILED (no-more-bad): Good 55.1% vs human-raters 49.3% (better)"], (
        result.stdout.str()
    )
    # Better on Good answers, as before; two and a half times as many Bad ones fail it.
    report = read_report(pytester)
    gates = {gate["name"]: gate for gate in report["gates"]}
    assert {name: gate["passed"] for name, gate in gates.items()} == {
        "complete": True,
        "better": True,
        "no-more-bad": False,
        "min-good-gain": True,
        "no-emotion-worse": True,
    }
    line = (
        "Bad rate 40.2% vs baseline 17.1%: +23.1 pts [+20.8 pts, +25.3 pts] (90% CI, paired); the upper bound "
        "+25.3 pts is not below the margin +5 pts (one-sided Tango score (McNemar at no difference) at +5 pts, "
        "alpha 0.05)"
    )
    assert gates["no-more-bad"]["detail"] == line
    assert gates["better"]["detail"].startswith("Good rate 55.1% (n 2000) vs baseline 49.3% (n 2000): +5.9 pts")
    # The Markdown (its brackets escaped) and the HTML give its line.
    escaped = line.replace("[", "\\[").replace("]", "\\]")
    assert f"| no-more-bad | **FAILED** | {escaped} |" in (pytester.path / "report.md").read_text()
    assert (
        f"<td class=failed>FAILED</td><td>no-more-bad</td><td>{line}</td>"
        in (pytester.path / "report.html").read_text()
    )
    # The test the gate decided on, in the JSON: Tango's on the Bad counts, 666 cases Bad on the
    # model's side only and 205 on the humans' only.
    bad = report["overall"]["bad_rate_test"]
    tango = proportions.paired(PairedCounts(*bad_cells(POLARISING)), confidence=0.9)
    assert (bad["model"], bad["baseline"], bad["difference"]) == pytest.approx((0.4015, 0.171, 461 / 2000))
    assert bad["difference_ci"] == pytest.approx([tango.difference_ci.low, tango.difference_ci.high])
    assert bad["p_higher"] == pytest.approx(norm.sf((666 - 205) / math.sqrt(666 + 205)))
    assert bad["detectable_margin"] == pytest.approx(power.detectable_paired(871 / 2000, 2000, 0.05))
    assert report["settings"]["bad_margin"] == 5.0 and report["schema"] == 7


def bad_cells(table: dict[tuple[int, int], int]) -> tuple[int, int, int, int]:
    """A paired (model, baseline) table's Bad ratings: both Bad, the model's only, the
    baseline's only, neither."""
    cells = [0, 0, 0, 0]
    for (model, baseline), count in table.items():
        cells[0 if model == baseline == 1 else 1 if model == 1 else 2 if baseline == 1 else 3] += count
    return cells[0], cells[1], cells[2], cells[3]


def no_more_bad(summary, margin=5.0):
    return gate_named(summary, "no-more-bad", bad_margin=margin)


def gate_named(summary, name, *, min_good_gain=None, bad_margin=None):
    """The gate ``name`` of a complete run under `better` with these settings."""
    gates = check_gates(
        summary,
        Completeness(summary.overall.comparison.n, summary.overall.comparison.n),
        mode=GateMode.BETTER,
        min_good_gain=min_good_gain,
        allow_partial=False,
        bad_margin=bad_margin,
    )
    return {g.name: g for g in gates}[name]


paired_tables = st.lists(st.integers(0, 12), min_size=9, max_size=9).map(
    lambda counts: {(m, b): counts[3 * (m - 1) + b - 1] for m in (1, 2, 3) for b in (1, 2, 3)}
)


@settings(max_examples=40, deadline=None)
@given(paired_tables, st.sampled_from([2.0, 5.0, 10.0]))
def test_no_more_bad_is_the_paired_score_test_at_the_margin(table, margin):
    """Paired, the gate's interval is Tango's on the Bad counts, and it passes exactly when the
    oracle's score statistic at the margin is below the critical value; where so few cases
    are discordant that McNemar's exact test decides, the hull of Tango's and the exact
    interval (Clopper-Pearson's, scipy's beta quantile, mapped with d/n fixed), so that the
    margin must be beyond both."""
    pairs = [(Rating(m), Rating(b)) for (m, b), count in table.items() for _ in range(count)]
    assume(len(pairs) > 1)
    summary = summarize(paired_cases("sad", [int(m) for m, _ in pairs], [int(b) for _, b in pairs]), alpha=0.05)
    bad = summary.overall.comparison.bad
    cells = bad_cells(table)
    d, n = cells[1] + cells[2], len(pairs)
    assume(d > 0)
    assert bad.paired and bad.difference == pytest.approx((cells[1] - cells[2]) / n)
    tango_high = proportions.paired_score(PairedCounts(*cells), 0.9, None).difference_ci.high
    if tango_high < 1 - 1e-9:
        assert paired_z(cells, tango_high, ratio=False) == pytest.approx(-CRITICAL_90, abs=1e-5)
    exact_high = -math.inf
    if bad.method == proportions.PAIRED_EXACT:
        exact_high = d / n * (2 * (beta.isf(0.05, cells[1] + 1, cells[2]) if cells[2] else 1.0) - 1)
    assert bad.difference_ci.high == pytest.approx(max(tango_high, exact_high), abs=1e-9)
    at_margin = paired_z(cells, margin / 100, ratio=False)
    assume(abs(at_margin + CRITICAL_90) > 1e-6 and abs(exact_high - margin / 100) > 1e-6)
    assert no_more_bad(summary, margin).passed == (at_margin < -CRITICAL_90 and exact_high < margin / 100)


@settings(max_examples=60, deadline=None)
@given(counts, st.sampled_from([2.0, 5.0, 10.0]))
def test_no_more_bad_is_the_unpaired_score_test_at_the_margin(table, margin):
    """Against one emotion's counts, the gate is the skewness-corrected score test at the margin on
    the Bad counts (the rest of each side rated Good, which the Bad rate does not see)."""
    x1, n1, x2, n2 = table
    # Where a group is so small that the score test is too liberal the exact test decides
    # (tests/test_unconditional.py).
    assume(not proportions.decided_unconditionally(n1, n2, 0.05))
    cases = [CaseResult(f"sad-{i}", "sad", Rating.BAD if i < x1 else Rating.GOOD) for i in range(n1)]
    summary = summarize(cases, alpha=0.05, per_emotion_baseline={"sad": Counts(x2, 0, n2 - x2)})
    bad = summary.overall.comparison.bad
    assert (bad.difference, bad.second_rate) == pytest.approx((x1 / n1 - x2 / n2, x2 / n2))
    high = bad.difference_ci.high
    if high < 1 - 1e-9:
        assert scas_z(x1, n1, x2, n2, difference=high) == pytest.approx(-CRITICAL_90, abs=1e-6)
    at_margin = scas_z(x1, n1, x2, n2, difference=margin / 100)
    assume(abs(at_margin + CRITICAL_90) > 1e-6)
    assert no_more_bad(summary, margin).passed == (at_margin < -CRITICAL_90)


def test_no_more_bad_over_several_emotions_is_the_standardized_difference_by_hand():
    cases = [CaseResult(f"sad-{i}", "sad", Rating.BAD if i < 12 else Rating.OKAY) for i in range(50)]
    # 30 cases of joyful: with 10 the design is uneven enough that the guard hands the upper
    # side to the valid test (tests/test_strata_sizes.py), and this checks the score test.
    cases += [CaseResult(f"joyful-{i}", "joyful", Rating.BAD if i < 3 else Rating.GOOD) for i in range(30)]
    baseline = {"sad": Counts(15, 25, 20), "joyful": Counts(3, 27, 30)}
    bad = summarize(cases, alpha=0.05, per_emotion_baseline=baseline).overall.comparison.bad
    weights = [50 / 80, 30 / 80]
    rates = [15 / 60, 3 / 60]
    second = sum(w * r for w, r in zip(weights, rates, strict=True))
    # The Good-rate test on the Bad counts: (Bad of the model, its cases, Bad of the baseline, its ratings).
    strata = [(12, 50, 15, 60), (3, 30, 3, 60)]

    def z(difference: float) -> float:
        return oracle_z(strata, 1.0, difference)

    assert bad.second_rate == pytest.approx(second)
    upper = brentq(lambda d: z(d) + CRITICAL_90, 15 / 80 - second, 1 - second - 1e-9, xtol=1e-14)
    assert bad.difference_ci.high == pytest.approx(upper)


def chance_of_passing(
    outer: Sequence[float], inner: Callable[[int], tuple[int, float]], passes: Callable[[int, int], bool]
) -> float:
    """Exactly, the chance that ``passes(o, i)``: the outer count o drawn from the pmf
    ``outer``, the inner count i given o from the binomial ``inner(o)`` (size, chance). The
    gate's upper bound rises with the model's Bad count i, so ``passes`` turns false from some i
    on, found by bisection for each o."""
    total = 0.0
    for value, chance in enumerate(outer):
        if chance < 1e-15:
            continue
        size, rate = inner(value)
        low, high = 0, size + 1
        while low < high:
            middle = (low + high) // 2
            if passes(value, middle):
                low = middle + 1
            else:
                high = middle
        total += chance * binom.cdf(low - 1, size, rate)
    return total


def paired_pass_chance(n: int, model_only: float, baseline_only: float, margin: float) -> float:
    """The chance that no-more-bad passes on n paired cases, each Bad on the model's side only
    with chance ``model_only``, on the baseline's only with ``baseline_only``: the baseline-only
    count binomial, the model-only count binomial given it."""
    return chance_of_passing(
        binom.pmf(range(n + 1), n, baseline_only),
        lambda c: (n - c, model_only / (1 - baseline_only)),
        lambda c, b: proportions.paired(PairedCounts(0, b, c, n - b - c), confidence=0.9).difference_ci.high < margin,
    )


def unpaired_pass_chance(n1: int, rate1: float, n2: int, rate2: float, margin: float) -> float:
    """The chance that no-more-bad passes on n1 model ratings Bad with chance ``rate1`` against
    n2 baseline ratings Bad with chance ``rate2``."""
    return chance_of_passing(
        binom.pmf(range(n2 + 1), n2, rate2),
        lambda x2: (n1, rate1),
        lambda x2, x1: proportions.unpaired(x1, n1, x2, n2, confidence=0.9).difference_ci.high < margin,
    )


def test_no_more_bad_passes_a_model_exactly_the_margin_worse_at_most_alpha_of_the_time():
    """Exactly, by enumerating every outcome: paired, 200 cases, 30% of them Bad on one side
    only and the model's Bad rate 5 points higher; unpaired, 62 against 62 at 25% and 20%."""
    margin = 0.05
    paired_size = paired_pass_chance(200, (0.3 + margin) / 2, (0.3 - margin) / 2, margin)
    unpaired_size = unpaired_pass_chance(62, 0.25, 62, 0.2, margin)
    # Exact, no Monte Carlo error: within the 3-standard-error bound of the simulations here, and
    # the figures the gates page quotes.
    assert paired_size <= ALLOWED and unpaired_size <= ALLOWED
    assert (round(paired_size, 3), round(unpaired_size, 3)) == (0.051, 0.051)


def test_no_more_bad_over_several_emotions_passes_a_model_the_margin_worse_at_most_alpha_of_the_time():
    """Seeded simulation against per-emotion counts, the emotions' Bad rates unlike (the
    baseline standardized to the run's mix), the model's 5 points higher in each."""
    rng = np.random.default_rng(29)
    margin, repetitions = 0.05, REPETITIONS
    rates, n1, n2 = np.array([0.1, 0.2, 0.35]), np.array([80, 40, 20]), np.array([60, 60, 60])
    model = rng.binomial(n1, rates + margin, size=(repetitions, 3))
    baseline = rng.binomial(n2, rates, size=(repetitions, 3))
    # The interval's upper bound is below the margin exactly when its test rejects the margin.
    passes = sum(
        proportions.standardized_statistic(
            list(zip(model[r].tolist(), n1.tolist(), baseline[r].tolist(), n2.tolist(), strict=True)),
            difference=margin,
        )
        < -CRITICAL_90
        for r in range(repetitions)
    )
    # Monte Carlo standard error at alpha: sqrt(0.05 * 0.95 / 3000) = 0.004.
    assert passes / repetitions <= ALLOWED


def test_no_more_bad_shows_the_margin_it_names_with_eighty_percent_power():
    """At the margin the run says it shows, with equal Bad rates, the gate passes about 80% of
    the time: exactly, by enumerating every outcome, paired (Connor's approximation) and
    unpaired (Farrington and Manning's)."""
    margin = power.detectable_paired(0.3, 200, 0.05)
    paired_power = paired_pass_chance(200, 0.15, 0.15, margin)
    margin = power.margin_unpaired(0.3, 100, 300, 0.05)
    unpaired_power = unpaired_pass_chance(100, 0.3, 300, 0.3, margin)
    # The gates page's figures.
    assert (round(paired_power, 2), round(unpaired_power, 2)) == (0.79, 0.80)


def test_a_run_too_small_to_show_the_bad_margin_warns_and_can_be_made_to_fail():
    # 60 paired cases, 20 of them Bad on one side only, as many each way.
    summary = summarize(paired_cases("sad", [1] * 10 + [3] * 50, [3] * 10 + [1] * 10 + [3] * 40), alpha=0.05)
    shown = summary.bad_margin_shown["overall"]
    assert shown == pytest.approx(power.detectable_paired(20 / 60, 60, 0.05)) and shown > 0.05
    settings = {"alpha": 0.05, "gate": "better", "min_good_gain": None, "allow_partial": False}
    cases = paired_cases("sad", [1] * 10 + [3] * 50, [3] * 10 + [1] * 10 + [3] * 40)
    decision = decide(cases, Completeness(60, 60), StatisticsSettings.from_json(settings), None)
    assert any(w.startswith("no-more-bad: at 80% power this run shows") for w in decision.warnings)
    failed = decide(
        cases, Completeness(60, 60), StatisticsSettings.from_json(settings | {"require_power": True}), None
    ).gates
    assert any(g.name == "power" and not g.passed and g.detail.startswith("no-more-bad") for g in failed)
    wide = decide(cases, Completeness(60, 60), StatisticsSettings.from_json(settings | {"bad_margin": 30.0}), None)
    assert not any(w.startswith("no-more-bad") for w in wide.warnings)


@pytest.mark.parametrize(
    ("responder", "figures"),
    [("chatgpt", ("7.8%", "-9.3 pts", "-7.2 pts")), ("chatgpt-empathy", ("7.1%", "-10.0 pts", "-8.2 pts"))],
)
def test_the_release_responders_have_no_more_bad_answers_than_humans(responder, figures):
    """The release's GPT-4 answers against the humans, rater clusters and all: every gate
    passes, no warning, and the figures the gates page quotes."""
    from pytest_empathy.corpus import release

    cases = [
        CaseResult(
            row.case_id,
            row.emotion,
            row.ratings[responder],
            row.ratings["human"],
            rater=row.raters[responder],
            baseline_rater=row.raters["human"],
        )
        for row in release.load_figures().rows
    ]
    settings = {"alpha": 0.05, "gate": "better", "min_good_gain": None, "allow_partial": False}
    decision = decide(cases, Completeness(2000, 2000), StatisticsSettings.from_json(settings), None)
    assert all(g.passed for g in decision.gates) and decision.warnings == []
    gate = next(g for g in decision.gates if g.name == "no-more-bad")
    rate, difference, high = figures
    assert gate.detail.startswith(f"Bad rate {rate} vs baseline 17.1%: {difference} ")
    assert f"the upper bound {high} is below the margin +5 pts" in gate.detail
    # The gates page: a run of 2,000 paired cases shows a margin of 2.8 to 3.2 points.
    assert 0.028 <= round(decision.summary.bad_margin_shown["overall"], 3) <= 0.032


def test_the_bad_margin_is_an_option_in_points_with_an_ini_twin(pytester):
    from pytest_empathy.plugin.options import settings_of

    assert settings_of(pytester.parseconfig()).statistics.bad_margin == 5.0
    assert settings_of(pytester.parseconfig("--empathy-bad-margin=7.5")).document_settings()["bad_margin"] == 7.5
    pytester.makeini("[pytest]\nempathy_bad_margin = 8\n")
    assert settings_of(pytester.parseconfig()).statistics.bad_margin == 8.0
    with pytest.raises(pytest.UsageError, match=r"^--empathy-bad-margin: '0' is not a number of percentage points"):
        pytester.parseconfigure("--empathy-bad-margin=0")


@pytest.mark.parametrize("schema", [3, 6])
def test_a_result_of_an_earlier_schema_is_read_with_no_bad_rate_test(tmp_path, schema):
    from pytest_empathy.errors import InputError
    from pytest_empathy.results.document import SCHEMA, read

    counts = {"bad": 1, "okay": 0, "good": 1}
    group = {"n": 2, "model": counts, "baseline": counts}
    path = tmp_path / "old.json"
    path.write_text(
        json.dumps({"schema": schema, "overall": group, "polarity": {"negative": group}, "emotions": {}, "cases": []})
    )
    data = read(path, InputError, required=(), what="JSON result")
    assert data["schema"] == SCHEMA == 7
    assert data["overall"]["bad_rate_test"] is None and data["polarity"]["negative"]["bad_rate_test"] is None
