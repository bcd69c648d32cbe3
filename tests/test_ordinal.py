"""The ordinal effect (Cliff's delta) and its tests, against scipy, statsmodels and brute force."""

from __future__ import annotations

import csv
import itertools
import math
import random

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.contingency_tables import Table, mcnemar

from pytest_empathy.analysis import ordinal, proportions
from pytest_empathy.analysis.distributions import Reference
from pytest_empathy.analysis.gates import Completeness, check_gates
from pytest_empathy.analysis.versus_baseline import summarize
from pytest_empathy.modes import GateMode, GateTest
from pytest_empathy.ratings import Counts, Rating

from .conftest import paired_cases, read_report

three_counts = st.tuples(st.integers(0, 40), st.integers(0, 40), st.integers(0, 40))


def ratings_of(counts: Counts) -> np.ndarray:
    return np.repeat([1, 2, 3], counts.as_tuple())


def brute_delta(first: Counts, second: Counts) -> float:
    x, y = ratings_of(first), ratings_of(second)
    return float(np.sign(x[:, None] - y[None, :]).mean())


@settings(max_examples=150, deadline=None)
@given(three_counts, three_counts)
def test_unpaired_effect_is_brunner_munzel(a, b):
    first, second = Counts(*a), Counts(*b)
    assume(min(first.n, second.n) >= ordinal.SMALL)
    x, y = ratings_of(first), ratings_of(second)
    test = ordinal.unpaired(first, second, confidence=0.9)
    assert test.delta == pytest.approx(brute_delta(first, second), abs=1e-12)
    # Zero variance: the rank test's null variance stands in (checked below).
    assume(len({*x, *y}) > 1 and not (x.max() < y.min() or x.min() > y.max()))
    with np.errstate(all="ignore"):
        greater = stats.brunnermunzel(x, y, alternative="greater")
    assume(np.isfinite(greater.statistic) and len(set(x)) > 1 and len(set(y)) > 1)
    # scipy's statistic is positive when the second sample tends larger.
    assert test.statistic == pytest.approx(-greater.statistic, rel=1e-9, abs=1e-9)
    # Reported, deciding nothing: no p-value, no interval (tests/test_shapes.py says why).
    assert (test.p_greater, test.p_less, test.delta_ci) == (None, None, None)
    assert test.undecided == f"undecided: {ordinal.SHAPE} ({first.n} against {second.n} here)"


@settings(max_examples=150, deadline=None)
@given(three_counts, three_counts)
def test_unpaired_rank_and_trend_tests_are_scipy_and_statsmodels(a, b):
    first, second = Counts(*a), Counts(*b)
    assume(first.n >= 1 and second.n >= 1)
    x, y = ratings_of(first), ratings_of(second)
    test = ordinal.unpaired(first, second, confidence=0.9)
    if len({*x, *y}) == 1:
        assert test.rank_p_value is None and test.trend_p_value is None
        return
    rank = stats.mannwhitneyu(x, y, method="asymptotic", use_continuity=False)
    assert test.rank_p_value == pytest.approx(rank.pvalue, rel=1e-9, abs=1e-15)
    trend = Table(np.array([a, b]), shift_zeros=False).test_ordinal_association()
    # statsmodels' z is of the second row's scores over the first's.
    assert test.trend_statistic == pytest.approx(-trend.zscore, rel=1e-9, abs=1e-12)
    assert test.trend_p_value == pytest.approx(trend.pvalue, rel=1e-9, abs=1e-15)


@settings(max_examples=150, deadline=None)
@given(st.tuples(st.integers(0, 6), st.integers(0, 6), st.integers(0, 6)), three_counts)
def test_in_small_groups_the_rank_tests_null_variance_floors_brunner_munzels(a, b):
    first, second = Counts(*a), Counts(*b)
    assume(2 <= min(first.n, second.n) < ordinal.SMALL)
    x, y = ratings_of(first), ratings_of(second)
    assume(len({*x, *y}) > 1 and not (x.max() < y.min() or x.min() > y.max()))
    with np.errstate(all="ignore"):
        brunner_munzel = stats.brunnermunzel(x, y)
    assume(np.isfinite(brunner_munzel.statistic) and brunner_munzel.statistic != 0)
    delta = brute_delta(first, second)
    rank = stats.mannwhitneyu(x, y, method="asymptotic", use_continuity=False)
    z_null = stats.norm.isf(rank.pvalue / 2)  # |z| of the rank test under no difference
    spread = max(abs(delta / brunner_munzel.statistic), abs(delta / z_null) if z_null else 0.0)
    test = ordinal.unpaired(first, second, confidence=0.9)
    assert abs(test.statistic) == pytest.approx(abs(delta) / spread, rel=1e-7)


def test_groups_that_do_not_overlap_fall_back_on_the_rank_tests_null_variance():
    first, second = Counts(0, 0, ordinal.SMALL), Counts(ordinal.SMALL, 0, 0)
    test = ordinal.unpaired(first, second, confidence=0.9)
    rank = stats.mannwhitneyu(ratings_of(first), ratings_of(second), method="asymptotic", use_continuity=False)
    assert test.delta == 1
    assert test.statistic == pytest.approx(stats.norm.isf(rank.pvalue / 2), rel=1e-9)
    nothing = ordinal.unpaired(Counts(0, 3, 0), Counts(0, 5, 0), confidence=0.9)
    assert nothing.statistic == 0 and nothing.undecided


pair_tables = st.lists(st.integers(0, 12), min_size=9, max_size=9)


def pairs_of(cells: list[int]) -> list[tuple[Rating, Rating]]:
    return [(Rating(i // 3 + 1), Rating(i % 3 + 1)) for i, count in enumerate(cells) for _ in range(count)]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # scipy at degenerate tables
@settings(max_examples=150, deadline=None)
@given(pair_tables)
def test_paired_effect_is_the_sign_test_and_the_rank_test_is_scipys(cells):
    pairs = pairs_of(cells)
    assume(pairs)
    test = ordinal.paired_ratings(pairs, confidence=0.9)
    differences = np.array([int(a) - int(b) for a, b in pairs])
    assert test.delta == pytest.approx(np.sign(differences).mean(), abs=1e-12)
    higher, lower = int((differences > 0).sum()), int((differences < 0).sum())
    if higher + lower:
        # At no difference Tango's statistic is McNemar's on the signs.
        chi2 = mcnemar([[0, higher], [lower, 0]], exact=False, correction=False).statistic
        assert test.statistic**2 == pytest.approx(chi2, rel=1e-9)
        # With few cases rated differently, the exact sign test (its size held, tests/test_sizes.py).
        if higher + lower <= proportions.exact_cutover(0.05):
            assert test.method == ordinal.EFFECT_PAIRED_EXACT
            for p_value, alternative in ((test.p_greater, "greater"), (test.p_less, "less")):
                assert p_value == pytest.approx(stats.binomtest(higher, higher + lower, alternative=alternative).pvalue)
            assert (test.delta_ci.low > 0) == (test.p_greater < 0.05)
            assert (test.delta_ci.high < 0) == (test.p_less < 0.05)
        else:
            assert test.method == ordinal.EFFECT_PAIRED
        rank = stats.wilcoxon(differences, zero_method="wilcox", correction=False, method="approx")
        assert test.rank_p_value == pytest.approx(rank.pvalue, rel=1e-9, abs=1e-15)
    else:
        assert test.rank_p_value is None and test.statistic == 0


def test_several_emotions_weigh_each_emotions_effect_by_the_models_mix():
    """The effect by brute force, weighted by the model's mix; its variance the bound of each
    emotion's, 1 / (4 min(n1, n2)) (tests/test_shapes.py checks the bound by enumeration); the
    tests and the interval on the normal, half a model rating's weight of continuity correction."""
    strata = [
        (Counts(3, 10, 20), Counts(10, 12, 9)),
        (Counts(8, 20, 4), Counts(5, 15, 15)),
        (Counts(2, 2, 9), Counts(1, 8, 3)),
    ]
    test = ordinal.standardized(strata, confidence=0.9)
    total = sum(m.n for m, _ in strata)
    expected_delta = sum(m.n / total * brute_delta(m, b) for m, b in strata)
    spread = 2 * math.sqrt(sum((m.n / total) ** 2 / (4 * min(m.n, b.n)) for m, b in strata))
    correction = 1 / total  # half a model rating, on the scale of delta
    assert test.delta == pytest.approx(expected_delta, abs=1e-12)
    assert test.statistic == pytest.approx((expected_delta - correction) / spread, rel=1e-9)
    assert test.p_greater == pytest.approx(stats.norm.sf((expected_delta - correction) / spread), rel=1e-9)
    assert test.p_less == pytest.approx(stats.norm.cdf((expected_delta + correction) / spread), rel=1e-9)
    half_width = stats.norm.ppf(0.95) * spread + correction
    assert (test.delta_ci.low, test.delta_ci.high) == pytest.approx(
        (expected_delta - half_width, expected_delta + half_width), rel=1e-9
    )
    clustered = ordinal.standardized(strata, confidence=0.9, design_effect=2.0, reference=Reference(11))
    t = (expected_delta - correction) / (spread * math.sqrt(2))
    assert clustered.p_greater == pytest.approx(stats.t.sf(t, 11), rel=1e-9)


REPETITIONS = 2000
ALLOWED = 0.05 + 3 * math.sqrt(0.05 * 0.95 / REPETITIONS)


def test_paired_ordinal_better_passes_exchangeable_pairs_at_most_alpha_of_the_time():
    rng = random.Random("paired ordinal")
    # A symmetric joint law of (model, baseline): no effect either way.
    cells = list(itertools.product(Rating, Rating))
    weights = [4 if a == b else 1 + (abs(a - b) == 1) for a, b in cells]
    passes = 0
    for _ in range(REPETITIONS):
        pairs = rng.choices(cells, weights, k=60)
        passes += ordinal.paired_ratings(pairs, confidence=0.9).p_greater < 0.05
    assert passes / REPETITIONS <= ALLOWED


# Half the cases rated Bad where the baseline has Okay, half Good on both sides: the Good
# rate is equal, the model is rated lower case after case.
LOWER = paired_cases("sad", [1] * 30 + [3] * 30, [2] * 30 + [3] * 30)


@pytest.mark.parametrize("decides", list(GateTest))
def test_the_gates_use_the_test_the_run_names(decides):
    summary = summarize(LOWER, alpha=0.05, decides=decides)
    gates = check_gates(summary, Completeness(60, 60), mode=GateMode.BETTER, min_good_gain=None, allow_partial=False)
    worse = {g.name: g for g in gates}["no-emotion-worse"]
    group = summary.emotions["sad"]
    assert group.comparison.good.p_less == pytest.approx(0.5)
    assert group.comparison.ordinal.p_less < 1e-6
    if decides is GateTest.ORDINAL:
        assert not worse.passed and "ordinal effect (Cliff's delta) significantly lower" in worse.detail
    else:
        assert worse.passed


def test_ordinal_test_option_end_to_end(run_benchmark, pytester):
    with (pytester.path / "lower.csv").open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["id", "emotion", "situation", "utterance", "rating_bot", "rating_human"])
        for case in LOWER:
            writer.writerow([case.case_id, case.emotion, "-", "-", int(case.rating), int(case.baseline_rating)])
    # The model trades Okay for Bad ratings, which no-more-bad fails on its own (Bad 50% against
    # none): a margin it passes leaves the verdict to the test under study.
    common = [
        "--empathy-model=bot",
        "--empathy-corpus=lower.csv",
        "--empathy-gate=not-worse",
        "--empathy-margin=20",
        "--empathy-bad-margin=70",
    ]
    result = run_benchmark(*common)
    assert result.ret == 0
    report = read_report(pytester)
    assert report["settings"]["test"] == "good-rate" and report["methods"]["gate_test"] == "good-rate"
    assert report["emotions"]["sad"]["ordinal"]["verdict"] == "worse" and report["emotions"]["sad"]["verdict"] is None
    result = run_benchmark(*common, "--empathy-test=ordinal")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["FAILED no-emotion-worse: ordinal effect (Cliff's delta) significantly lower*sad*"])
    assert read_report(pytester)["emotions"]["sad"]["verdict"] == "worse"
    result = run_benchmark(*common, "--empathy-test=median")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*--empathy-test*median*"])


def test_every_test_entry_names_its_method(run_benchmark, pytester):
    run_benchmark("--empathy-model=chatgpt-empathy", "--empathy-sample=5")
    report = read_report(pytester)
    for name, entry in [("overall", report["overall"]), *report["emotions"].items()]:
        for key in ("good_rate_test", "ordinal"):
            test = entry[key]
            assert test["method"] and test["alternative"] == "one-sided, each direction", (name, key)
            # An emotion's intervals are simultaneous over the emotions (Bonferroni).
            level = 0.9 if name == "overall" else 1 - 0.1 / len(report["emotions"])
            assert test["confidence"] == pytest.approx(level) and test["paired"] is True and test["clustered"] is True
            assert (test["correction"] is not None) == (name != "overall")
