"""Gates and figures that ask one question give one answer (issue 29, items 4 and 6): `better`
and `min-good-gain 0` decide alike, paired, unpaired and standardized over several emotions;
the standardized interval does not collapse at 0 or n Good ratings; under the ordinal test the
Good rate does not overrule `better`; and an emotion's interval excludes no difference only
where Holm calls the emotion, every output naming each interval's adjustment."""

from __future__ import annotations

import csv
import itertools
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from pytest_empathy.analysis import proportions
from pytest_empathy.analysis.gates import Completeness, check_gates
from pytest_empathy.analysis.groups import Group
from pytest_empathy.analysis.proportions import GoodRateTest, PairedCounts
from pytest_empathy.analysis.rating_comparison import Comparison, WholeTest
from pytest_empathy.analysis.versus_baseline import Summary, summarize
from pytest_empathy.analysis.versus_saved_run import compare_with_saved_run
from pytest_empathy.modes import GateMode, GateTest
from pytest_empathy.ratings import Counts, Rating
from pytest_empathy.results.case import CaseResult

from .conftest import paired_cases, prose, read_report

ALPHA = 0.05
CONFIDENCE = 1 - 2 * ALPHA
CRITICAL = norm.ppf(1 - ALPHA)


def gates_of(good: GoodRateTest, model: Counts, baseline: Counts) -> dict[str, bool]:
    """The gates `better` and `min-good-gain 0` (implicit under `better`) as check_gates
    decides them for a run whose overall Good-rate test is ``good``."""
    comparison = Comparison(model, baseline, WholeTest("none", None, None, None), None, good, None)
    summary = Summary(
        Group("overall", comparison, ALPHA),
        {},
        {},
        alpha=ALPHA,
        decides=GateTest.GOOD_RATE,
        partial=False,
        paired=good.paired,
        clustered=False,
        study_p_holm={},
        detectable={},
        holm_by_test={},
    )
    gates = check_gates(
        summary, Completeness(model.n, model.n), mode=GateMode.BETTER, min_good_gain=None, allow_partial=False
    )
    return {g.name: g.passed for g in gates if g.name in ("better", "min-good-gain")}


def agree(good: GoodRateTest, model: Counts, baseline: Counts) -> bool:
    decided = gates_of(good, model, baseline)
    return decided["better"] == decided["min-good-gain"]


def test_unpaired_better_and_min_good_gain_zero_agree_on_every_small_table():
    """The skewness-corrected score statistic of the difference at 0 and of the ratio at 1 are
    one number: every table of up to 9 ratings a side, enumerated."""
    sizes = range(1, 10)
    for n1, n2 in itertools.product(sizes, sizes):
        for x1, x2 in itertools.product(range(n1 + 1), range(n2 + 1)):
            # The score test's own intervals; where the exact test decides instead,
            # tests/test_unconditional.py checks that its intervals agree with it.
            good = proportions.unpaired_score(x1, n1, x2, n2, confidence=CONFIDENCE)
            assert agree(good, Counts(0, n1 - x1, x1), Counts(0, n2 - x2, x2)), (x1, n1, x2, n2)


@pytest.mark.parametrize(("x1", "n1", "x2", "n2"), [(2, 2, 12, 62), (3, 5, 10, 62), (4, 5, 17, 62), (5, 5, 27, 62)])
def test_where_the_exact_interval_ends_on_no_gain_neither_gate_passes(x1, n1, x2, n2):
    """The exact test keeps no difference just (p a little above alpha) while its ratio's
    interval ends exactly on a ratio of 1, a value it keeps: `min-good-gain 0` passed on that
    closed end while `better` failed (a review's tables)."""
    good = proportions.unpaired(x1, n1, x2, n2, confidence=CONFIDENCE)
    assert good.method == proportions.UNPAIRED_EXACT
    assert good.p_greater >= ALPHA
    assert good.ratio_ci is not None and good.ratio_ci.low == pytest.approx(1.0, abs=1e-9)
    assert gates_of(good, Counts(0, n1 - x1, x1), Counts(0, n2 - x2, x2)) == {"better": False, "min-good-gain": False}


def test_paired_better_and_min_good_gain_zero_agree_on_every_small_table():
    """Tango's difference statistic at 0 and Tang-Tang-Chan's ratio statistic at 1 are one
    number: every paired table of up to 14 cases, enumerated."""
    for n in range(1, 15):
        for both, first, second in itertools.product(range(n + 1), repeat=3):
            neither = n - both - first - second
            if neither < 0:
                continue
            counts = PairedCounts(both, first, second, neither)
            statistic = proportions._tango_difference(counts, 0.0)
            assert proportions._tang_ratio(counts, 1.0) == pytest.approx(statistic, rel=1e-12, abs=1e-12)
            good = proportions.paired(counts, confidence=CONFIDENCE)
            model = Counts(0, second + neither, both + first)
            assert agree(good, model, Counts(0, first + neither, both + second)), (both, first, second, neither)


strata_lists = st.integers(2, 6).flatmap(
    lambda k: st.lists(
        st.tuples(st.integers(1, 40), st.integers(1, 80)).flatmap(
            lambda ns: st.tuples(st.integers(0, ns[0]), st.just(ns[0]), st.integers(0, ns[1]), st.just(ns[1]))
        ),
        min_size=k,
        max_size=k,
    )
)


# Release-like emotions: the crowd's Good rates differ by emotion (38% to 68%), and the
# baseline's counts per emotion are the release's (about 62).
def release_rates(emotions: int) -> tuple[np.ndarray, np.ndarray]:
    from pytest_empathy.corpus import release

    human = release.human_counts()
    names = sorted(human)[:: 32 // emotions][:emotions]
    return np.array([human[e].good_rate for e in names]), np.array([human[e].n for e in names])


REPETITIONS = 3000
# Monte Carlo standard error of a rate near alpha over REPETITIONS runs: 0.004.
STANDARD_ERROR = math.sqrt(ALPHA * (1 - ALPHA) / REPETITIONS)


# The statistics page's figures: 2 cases x 32 emotions (the smoke run's size), 8 x 8 and 40 x 8.
SIZES = [(32, 2), (8, 8), (8, 40)]


def test_standardized_better_and_min_good_gain_zero_hold_their_size():
    """A model equal to the crowd in every emotion, at smoke-like sizes: `better` passes
    falsely at most alpha plus 3 Monte Carlo standard errors of the time (the statistic its
    p-value refers to: `min-good-gain 0` decides by the same one, tests/test_standardized.py),
    and the statistics page states the rates this simulation finds."""
    rates_found = []
    for emotions, per_emotion in SIZES:
        rates, baseline_n = release_rates(emotions)
        rng = np.random.default_rng(emotions * 1000 + per_emotion)
        model_good = rng.binomial(per_emotion, rates, size=(REPETITIONS, emotions))
        baseline_good = rng.binomial(baseline_n, rates, size=(REPETITIONS, emotions))
        passes = 0
        for x1, x2 in zip(model_good, baseline_good, strict=True):
            strata = [(int(a), per_emotion, int(b), int(n)) for a, b, n in zip(x1, x2, baseline_n, strict=True)]
            passes += proportions.standardized_statistic(strata) > CRITICAL
        assert passes / REPETITIONS <= ALPHA + 3 * STANDARD_ERROR, (emotions, per_emotion)
        rates_found.append(passes / REPETITIONS)
    statistics_page = prose("explanation/statistics.md")
    a, b, c = rates_found
    assert f"`better` passed {a:.1%}, {b:.1%} and {c:.1%} of the time" in statistics_page


@pytest.mark.parametrize("all_good", [False, True])
def test_no_good_rating_or_only_good_ones_get_an_interval_with_width(all_good):
    """0 of 64 Good (the smoke run's) and 64 of 64 against a standardized baseline: the
    model's variance is taken at the null, so the interval does not collapse to the
    baseline's alone."""
    rates, baseline_n = release_rates(8)
    x2 = np.round(rates * baseline_n).astype(int)
    strata = [(8 if all_good else 0, 8, int(b), int(n)) for b, n in zip(x2, baseline_n, strict=True)]
    good = proportions.standardized(strata, confidence=CONFIDENCE)
    interval = good.difference_ci
    # Wilson's bound for 0 of 64 at 90% is 1.645^2 / (64 + 1.645^2) = 4.1 points from the edge.
    assert interval.high - interval.low > 0.04
    inside = interval.high if not all_good else interval.low
    assert abs(inside - good.difference) > 0.035


def test_the_smoke_runs_no_good_rating_gets_the_interval_the_statistics_page_states():
    """2 cases an emotion, none Good, against the release's crowd counts."""
    from pytest_empathy.corpus import release

    strata = [(0, 2, counts.good, counts.n) for counts in release.human_counts().values()]
    interval = proportions.standardized(strata, confidence=CONFIDENCE).difference_ci
    statistics_page = prose("explanation/statistics.md")
    assert f"has [{100 * interval.low:.1f}, {100 * interval.high:.1f}]" in statistics_page


@pytest.mark.parametrize("model_rate", [0.0, 0.005, 0.02, 0.98, 0.995, 1.0])
def test_the_standardized_interval_covers_near_the_boundary(model_rate):
    """Model rates near 0 and 1, 8 emotions x 8 cases against release-like baselines: the
    90% interval covers the true standardized difference at least 90% minus 3 Monte Carlo
    standard errors of the time. The interval is the null values its two-sided test does not
    reject (tests/test_standardized.py checks the inversion), so it covers the truth exactly
    when the statistic there lies within the critical values."""
    rates, baseline_n = release_rates(8)
    rng = np.random.default_rng(round(model_rate * 1000))
    repetitions = 2000
    model_good = rng.binomial(8, model_rate, size=(repetitions, 8))
    baseline_good = rng.binomial(baseline_n, rates, size=(repetitions, 8))
    true_difference = model_rate - float(rates.mean())  # equal weights: 8 cases an emotion
    covered = 0
    for x1, x2 in zip(model_good, baseline_good, strict=True):
        strata = [(int(a), 8, int(b), int(n)) for a, b, n in zip(x1, x2, baseline_n, strict=True)]
        covered += abs(proportions.standardized_statistic(strata, difference=true_difference)) <= CRITICAL
    standard_error = math.sqrt(CONFIDENCE * (1 - CONFIDENCE) / repetitions)
    assert covered / repetitions >= CONFIDENCE - 3 * standard_error


def write_ratings(path, cases) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["id", "emotion", "situation", "utterance", "rating_bot", "rating_human"])
        for case in cases:
            writer.writerow([case.case_id, case.emotion, "-", "-", int(case.rating), int(case.baseline_rating)])


# The issue's counterexample: the model moves a third of the humans' Bad ratings to Okay and
# leaves every Good rating where it was.
BAD_TO_OKAY = [
    case
    for emotion in ("sad", "joyful", "afraid")
    for case in paired_cases(emotion, [2] * 10 + [1] * 20 + [2] * 30 + [3] * 40, [1] * 30 + [2] * 30 + [3] * 40)
]


def test_under_the_ordinal_test_better_is_not_overruled_by_the_good_rate(run_benchmark, pytester):
    write_ratings(pytester.path / "okay.csv", BAD_TO_OKAY)
    common = ["--empathy-model=bot", "--empathy-corpus=okay.csv", "--empathy-test=ordinal"]
    result = run_benchmark(*common)
    assert result.ret == 0, result.stdout.str()
    gates = {g["name"]: g for g in read_report(pytester)["gates"]}
    assert gates["better"]["passed"] and "min-good-gain" not in gates
    # Asked for, the relative gain is still bounded, on the Good rate, and its line says why.
    result = run_benchmark(*common, "--empathy-min-good-gain=0")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["FAILED min-good-gain: *; on the Good rate, not the ordinal test the run names: *"])
    # not-worse stays on the Good rate's points and says so.
    result = run_benchmark(*common, "--empathy-gate=not-worse", "--empathy-margin=5")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*not-worse: *; on the Good rate, not the ordinal test the run names: *"])


# Per-emotion intervals at Bonferroni's simultaneous level: an emotion whose interval excludes
# no difference is one Holm calls.

EMOTION_NAMES = ("afraid", "joyful", "sad", "proud", "angry", "caring")
emotion_ratings = st.lists(st.integers(1, 3), min_size=2, max_size=30)


def excludes_zero(interval, no_difference: float = 0.0) -> str | None:
    if interval.low > no_difference:
        return "better"
    return "worse" if interval.high < no_difference else None


def assert_intervals_match_holm(emotions: dict, holm_by_test: dict, alpha: float) -> None:
    for name, group in emotions.items():
        c = group.comparison
        tests = {
            GateTest.GOOD_RATE: (c.good, [excludes_zero(c.good.difference_ci)] if c.good else []),
            # An emotion's unpaired ordinal comparison is undecided: no interval, no Holm p.
            GateTest.ORDINAL: (
                c.ordinal,
                [excludes_zero(c.ordinal.delta_ci)] if c.ordinal and c.ordinal.delta_ci else [],
            ),
        }
        if c.good is not None and c.good.ratio_ci is not None:
            tests[GateTest.GOOD_RATE][1].append(excludes_zero(c.good.ratio_ci, 1.0))
        for kind, (test, directions) in tests.items():
            if test is None:
                continue
            # Each interval is at Bonferroni's level: two-sided 1 - 2 alpha / K.
            assert test.confidence == pytest.approx(1 - 2 * alpha / len(emotions))
            better, worse = holm_by_test[kind][name]
            for direction in directions:
                if direction == "better":
                    assert better < alpha, (name, kind)
                elif direction == "worse":
                    assert worse < alpha, (name, kind)
        assert group.interval_adjustment.startswith("Bonferroni" if len(emotions) > 1 else "unadjusted")


@settings(max_examples=60, deadline=None)
@given(st.data(), st.integers(1, len(EMOTION_NAMES)), st.booleans())
def test_an_emotion_interval_excluding_no_difference_is_an_emotion_holm_calls(data, k, is_paired):
    cases, baseline = [], {}
    for emotion in EMOTION_NAMES[:k]:
        model = data.draw(emotion_ratings)
        if is_paired:
            human = data.draw(st.lists(st.integers(1, 3), min_size=len(model), max_size=len(model)))
            cases += paired_cases(emotion, model, human)
        else:
            cases += [CaseResult(f"{emotion}-{i}", emotion, Rating(r)) for i, r in enumerate(model)]
            baseline[emotion] = Counts(*data.draw(st.tuples(*[st.integers(0, 40)] * 3).filter(lambda t: sum(t) > 1)))
    summary = summarize(cases, alpha=ALPHA, per_emotion_baseline=None if is_paired else baseline)
    assert_intervals_match_holm(summary.emotions, summary.holm_by_test, ALPHA)
    for group in (summary.overall, *summary.polarity.values()):
        assert group.interval_adjustment.startswith("unadjusted")
        if group.comparison.good is not None:  # a polarity without cases has no test
            assert group.comparison.good.confidence == CONFIDENCE


@settings(max_examples=40, deadline=None)
@given(st.data(), st.integers(2, len(EMOTION_NAMES)))
def test_a_saved_run_emotion_interval_excluding_no_change_is_an_emotion_holm_calls(data, k):
    saved, run = {}, []
    for emotion in EMOTION_NAMES[:k]:
        before = data.draw(emotion_ratings)
        after = data.draw(st.lists(st.integers(1, 3), min_size=len(before), max_size=len(before)))
        for i, (b, a) in enumerate(zip(before, after, strict=True)):
            saved[f"{emotion}-{i}"] = (emotion, Rating(b))
            run.append(CaseResult(f"{emotion}-{i}", emotion, Rating(a)))
    comparison = compare_with_saved_run(run, saved, alpha=ALPHA)
    assert_intervals_match_holm(comparison.emotions, comparison.holm_by_test, ALPHA)


def test_every_output_labels_each_interval_with_its_adjustment(run_benchmark, pytester):
    write_ratings(pytester.path / "okay.csv", BAD_TO_OKAY)
    common = ["--empathy-model=bot", "--empathy-corpus=okay.csv", "--empathy-test=ordinal"]
    assert run_benchmark(*common, "--empathy-save=accepted").ret == 0
    result = run_benchmark(
        *common, "--empathy-compare=accepted", "--empathy-markdown=summary.md", "--empathy-html=report.html"
    )
    assert result.ret == 0, result.stdout.str()
    report = read_report(pytester)
    simultaneous = "Bonferroni over 3 emotions, simultaneous: each one-sided bound at alpha / 3"
    unadjusted = "unadjusted: overall and polarity are not a family"
    assert report["methods"]["interval"]["emotions"]["confidence"] == pytest.approx(1 - 2 * ALPHA / 3)
    for section in (report, report["comparison"]):
        assert section["overall"]["interval_adjustment"] == unadjusted
        assert {p["interval_adjustment"] for p in section["polarity"].values()} == {unadjusted}
        assert {e["interval_adjustment"] for e in section["emotions"].values()} == {simultaneous}
        for entry in section["emotions"].values():
            assert entry["good_rate_test"]["confidence"] == pytest.approx(1 - 2 * ALPHA / 3)
            assert entry["ordinal"]["confidence"] == pytest.approx(1 - 2 * ALPHA / 3)
    levels = f"intervals: 90% ({unadjusted}) overall and by polarity; 96.67% ({simultaneous}) by emotion"
    # Against the baseline, and against the saved run; a long methods line wraps at the width.
    assert " ".join(result.stdout.str().split()).count(levels) == 2
    markdown = (pytester.path / "summary.md").read_text()
    assert markdown.count(levels) == 2 and "Good change [96.67% CI, Bonferroni]" in markdown
    assert (pytester.path / "report.html").read_text().count(levels) == 2


def test_a_document_before_schema_7_says_its_intervals_are_unadjusted(tmp_path):
    from pytest_empathy.errors import InputError
    from pytest_empathy.results.document import SCHEMA, read

    counts = {"bad": 0, "okay": 0, "good": 1}
    group = {"n": 1, "model": counts, "baseline": counts}
    old = {"schema": 6, "overall": group, "polarity": {"positive": group}, "emotions": {"joyful": group}, "cases": []}
    (tmp_path / "old.json").write_text(json.dumps(old))
    data = read(tmp_path / "old.json", InputError, required=(), what="JSON result")
    assert data["schema"] == SCHEMA
    for entry in (data["overall"], data["polarity"]["positive"], data["emotions"]["joyful"]):
        assert entry["interval_adjustment"] == "unadjusted (a document written before schema 7)"


def test_on_the_release_the_emotion_intervals_excluding_no_difference_are_the_emotions_holm_calls(
    run_benchmark, pytester, release_file
):
    """Unadjusted, 16 of the 32 emotion intervals excluded 0 where Holm called 5 emotions."""
    assert run_benchmark("--empathy-model=chatgpt-empathy", f"--empathy-corpus-text={release_file}").ret == 0
    emotions = read_report(pytester)["emotions"]
    intervals = {"good_rate_test": lambda g: g["good_gain_absolute_ci"], "ordinal": lambda g: g["ordinal"]["delta_ci"]}
    for key, interval in intervals.items():
        excluding = {e for e, g in emotions.items() if interval(g)[0] > 0 or interval(g)[1] < 0}
        called = {e for e, g in emotions.items() if g[key]["verdict"] is not None}
        assert excluding == called and len(called) == 5, key


def test_a_ratio_interval_ends_where_its_statistic_crosses_not_at_a_search_end():
    """Five Good of 32 against one of five in two emotions: with the baseline's variance at its
    estimate (Wald's) Fieller's interval of the ratio had no upper end; the score statistic,
    its variances at the rates the null gives, closes it (at about 3.0), where the statistic
    crosses the critical value, and no search end poses as a bound. (The score test's own
    interval: with 5 baseline ratings an emotion the guard hands its upper side to the valid
    test, tests/test_strata_sizes.py.)"""
    strata = [(5, 32, 1, 5), (5, 32, 1, 5)]
    test = proportions.standardized(strata, confidence=0.9, guarded=False)
    assert test.ratio_ci is not None and 2 < test.ratio_ci.high < 4
    at_bound = proportions.standardized_statistic(strata, ratio=test.ratio_ci.high)
    assert at_bound == pytest.approx(-CRITICAL, abs=1e-9)
