"""The power of Berger and Boos's valid test where it decides a side of a comparison
(``power.bounded_power``): `detects`, the smallest no-more-bad margin shown and the power
warnings state that test's power, named, where they stated the score test's (or nothing).
Each figure is checked by a seeded simulation of the test itself (``berger_boos``'s p-value on
drawn tables): at the stated difference it rejects 80% of the time, within three Monte Carlo
standard errors."""

from __future__ import annotations

import html
import math

import numpy as np
import pytest
from scipy.stats import binom, norm

from pytest_empathy.analysis import berger_boos, power, proportions
from pytest_empathy.analysis.gates import Completeness, bad_power_warnings, decide, gate_margins
from pytest_empathy.analysis.versus_baseline import summarize
from pytest_empathy.corpus import release
from pytest_empathy.emotions import EMOTIONS
from pytest_empathy.modes import GateMode
from pytest_empathy.ratings import Counts, Rating
from pytest_empathy.results.case import CaseResult
from pytest_empathy.settings import StatisticsSettings

from .conftest import read_report, synthetic_rows, write_corpus

ALPHA = 0.05
CONFIDENCE = 1 - 2 * ALPHA
DRAWS = 4000
# The Monte Carlo standard error of a rate of 80% over DRAWS draws: 0.0063.
STANDARD_ERROR = math.sqrt(power.POWER * (1 - power.POWER) / DRAWS)


def rejected(strata_of_draw, difference: float, *, greater: bool) -> float:
    """The share of drawn tables on which Berger and Boos's test rejects the null p1 = p2 +
    ``difference`` towards ``greater``."""
    found = [
        berger_boos.standardized_bounded_p(strata, ALPHA, difference, greater=greater) <= ALPHA
        for strata in strata_of_draw
    ]
    return float(np.mean(found))


def test_detects_is_the_valid_tests_power_over_the_baselines_count():
    """10 ratings against 1,000 at a Good rate of 5% (one emotion, past the exact test's
    reach): the higher side is Berger and Boos's test, whose baseline bound is Clopper-Pearson's
    on its count. `detects` states its power, summed exactly over the baseline's binomial
    count: drawing both counts (the baseline's at 5%, the model's at 5% plus the stated gain),
    the test rejects 80% of the time (and exactly so, enumerated). The score test's figure,
    which `detects` stated before (then n/a), is rejected far less often (0.57): it overstated
    the power."""
    strata = [(1, 10, 50, 1000)]
    good = proportions.unpaired(*strata[0], confidence=CONFIDENCE)
    assert proportions.bounded(good, greater=True) and not proportions.bounded(good, greater=False)
    found = power.detectable(good, 10, 1000, 0.05, ALPHA, strata=strata)
    assert found.gain_method == power.BOUNDED_POWER and found.drop_method == power.SCORE_POWER
    rng = np.random.default_rng(29)

    def simulated(gain: float) -> float:
        baseline = rng.binomial(1000, 0.05, DRAWS)
        model = rng.binomial(10, 0.05 + gain, DRAWS)
        return rejected([[(int(m), 10, int(b), 1000)] for m, b in zip(model, baseline, strict=True)], 0.0, greater=True)

    assert abs(simulated(found.gain) - power.POWER) < 3 * STANDARD_ERROR
    # Exactly too: every table the test's own p-value rejects, weighed with scipy's binomials.
    enumerated = sum(
        binom.pmf(baseline, 1000, 0.05) * binom.pmf(model, 10, 0.05 + found.gain)
        for baseline in range(201)
        for model in range(11)
        if berger_boos.standardized_bounded_p([(model, 10, baseline, 1000)], ALPHA, 0.0, greater=True) <= ALPHA
    )
    assert enumerated == pytest.approx(power.POWER, abs=1e-6)
    score = power.detectable_unpaired(0.05, 10, 1000, ALPHA, upward=True)
    assert simulated(score) < power.POWER - 3 * STANDARD_ERROR


def test_detects_is_the_valid_tests_power_given_the_baselines_counts_where_its_bound_is_chernoffs():
    """Two emotions rated unevenly (3 and 5 against 62 and 60, a Good rate near 4%): the
    baseline's bound is Chernoff's, which rests on every emotion's count, so the power is
    stated given the baseline's counts, and says so; drawing the model's ratings at the
    baseline's rate plus the stated gain in each emotion, the test rejects 80% of the time."""
    strata = [(0, 3, 2, 62), (1, 5, 3, 60)]
    good = proportions.standardized(strata, confidence=CONFIDENCE)
    assert proportions.bounded(good, greater=True)
    assert berger_boos.rate_bound_method(strata) == berger_boos.CHERNOFF
    found = power.detectable(good, 8, 122, good.second_rate, ALPHA, strata=strata)
    assert found.gain_method == power.BOUNDED_POWER_GIVEN
    rng = np.random.default_rng(2406)
    rate = good.second_rate + found.gain
    draws = rng.binomial([3, 5], rate, (DRAWS, 2))
    tables = [[(int(a), 3, 2, 62), (int(b), 5, 3, 60)] for a, b in draws]
    assert abs(rejected(tables, 0.0, greater=True) - power.POWER) < 3 * STANDARD_ERROR


@pytest.mark.parametrize("bad_baseline", [1, 2])
def test_the_smallest_no_more_bad_margin_shown_is_the_valid_tests_where_its_bound_is(bad_baseline):
    """2 cases in each of 32 emotions against 62 each, 1 or 2 of them Bad: the Bad rate's upper
    bound is Berger and Boos's (at 2 of 62 the whole side, at 1 the margin's bound alone,
    reaching it), so the smallest margin shown with 80% power is that test's, named in the
    summary and in the power warning. Drawing both sides' Bad ratings at the baseline's rate, the
    gate as the plugin decides it passes 80% of the time at the stated margin: by the valid test
    alone where it decides the side, else where the score test's bound excludes no difference
    or the larger of it and the valid test's is below the margin."""
    baseline = {emotion: Counts(bad_baseline, 31 - bad_baseline, 31) for emotion in EMOTIONS}
    cases = [CaseResult(f"{emotion}-{i}", emotion, Rating.GOOD) for emotion in EMOTIONS for i in range(2)]
    summary = summarize(
        cases, alpha=ALPHA, per_emotion_baseline=baseline, margins=gate_margins(StatisticsSettings(bad_margin=5.0))
    )
    bad = summary.overall.comparison.bad
    whole_side = proportions.bounded(bad, greater=False)
    assert whole_side == (bad_baseline == 2)
    # At 2 of 62 the side is the valid test's but the score test holds its size at the margin,
    # and neither bound excludes no difference: the bound read is the score test's, and so is
    # the power stated (Farrington and Manning's); at 1 of 62 the margin's bound reaches the
    # valid test's, at alpha (the score test of no difference rarely rejects at the margin).
    kept = bad_baseline == 2
    assert proportions.valid_bound_level(bad, greater=False) == (None if kept else pytest.approx(ALPHA))
    method = power.FARRINGTON_MANNING if kept else power.BOUNDED_POWER
    assert summary.bad_margin_method["overall"] == method
    margin = summary.bad_margin_shown["overall"]
    (warning,) = bad_power_warnings(summary, GateMode.BETTER, 5.0)
    assert f"{100 * margin:+.1f} pts" in warning and method in warning
    rng = np.random.default_rng(bad_baseline)
    draws = DRAWS // 2  # the score statistic costs a millisecond or so a table
    critical, rate = norm.isf(ALPHA), bad_baseline / 62
    passed = []
    for model, base in zip(rng.binomial(2, rate, (draws, 32)), rng.binomial(62, rate, (draws, 32)), strict=True):
        strata = [(int(m), 2, int(b), 62) for m, b in zip(model, base, strict=True)]
        score_at_margin = proportions.standardized_statistic(strata, difference=margin) < -critical
        score_at_none = proportions.standardized_statistic(strata) < -critical
        valid = berger_boos.standardized_bounded_p(strata, ALPHA, margin, greater=False) <= ALPHA
        if kept:  # the score bound where neither excludes no difference, else the valid test's
            valid_at_none = berger_boos.standardized_bounded_p(strata, ALPHA, 0.0, greater=False) <= ALPHA
            passed.append(valid if score_at_none or valid_at_none else score_at_margin)
        else:
            passed.append(score_at_margin and (score_at_none or valid))
    # The Monte Carlo standard error over half the draws: 0.0089. Farrington and Manning's
    # approximation, where the score bound is kept, errs on the safe side (0.835 at 2 of 62):
    # the margin it states is shown at least 80% of the time.
    tolerance = 3 * math.sqrt(2) * STANDARD_ERROR
    if kept:
        assert power.POWER - tolerance < np.mean(passed) < 0.9
    else:
        assert abs(np.mean(passed) - power.POWER) < tolerance


@pytest.mark.parametrize("width", [80, 100])
def test_a_run_whose_bad_rate_side_is_the_valid_tests_says_so_and_states_its_power(
    run_benchmark, pytester, monkeypatch, width
):
    """2 cases of each of the 7 emotions the release's humans got fewest Bad ratings in, every
    answer Good, against the release's counts (unpaired): the overall Bad rate's lower side
    (p_lower and the upper bound no-more-bad reads) is Berger and Boos's valid test. The gate's
    line, the JSON, the Markdown and the HTML name that test first, in the Bad rate's words (the model's
    Bad count, p_lower, never the Good rate's), with the baseline's bound it took (Chernoff's:
    the emotions' ratings differ) and its p-value's floor; the smallest margin shown is that
    test's power, named in the JSON and in the warning; the terminal's lines fit its width."""
    monkeypatch.setenv("COLUMNS", str(width))
    counts = release.human_counts()
    fewest_bad = sorted(counts, key=lambda emotion: counts[emotion].bad / counts[emotion].n)[:7]
    rows = synthetic_rows(per_emotion=2, rating=lambda emotion, i: (3, 2), emotions=fewest_bad)
    for row in rows:
        del row["rating_human"]
    write_corpus(pytester.path / "corpus.csv", rows)
    result = run_benchmark(
        "--empathy-model=bot",
        "--empathy-corpus=corpus.csv",
        "--empathy-markdown=summary.md",
        "--empathy-html=report.html",
        "-p",
        "no:xdist",
    )
    report = read_report(pytester)
    bad = report["overall"]["bad_rate_test"]
    lower_side = f"{proportions.STANDARDIZED_BOUNDED} decides the lower side (p_lower, upper bounds)"
    assert bad["method"].startswith(lower_side)
    for words in ("the model's Bad count", "Bad-rate lower bound", berger_boos.CHERNOFF, "at least 0.005"):
        assert words in bad["method"], words
    assert "Good" not in bad["method"].partition(proportions.REPLACING)[0]
    assert bad["detectable_margin_method"] == power.BOUNDED_POWER_GIVEN
    gate = next(g for g in report["gates"] if g["name"] == "no-more-bad")
    assert "the model's Bad count" in gate["detail"]
    assert f"margin of {100 * bad['detectable_margin']:+.1f} pts" in " ".join(report["warnings"])
    assert power.BOUNDED_POWER_GIVEN in " ".join(report["warnings"])
    assert "the model's Bad count" in (pytester.path / "summary.md").read_text()
    page = html.unescape((pytester.path / "report.html").read_text())
    assert f"{lower_side}: the model's Bad count" in page
    lines = result.stdout.lines
    summary = lines[next(i for i, line in enumerate(lines) if "pytest-empathy" in line) :]
    # The gate's line, wrapped: the test that decides first, then the score test it replaced.
    text = " ".join(" ".join(summary).split())
    deciding = text.index("no-more-bad: Bad rate") + text[text.index("no-more-bad: Bad rate") :].index("(one-sided ")
    assert text[deciding:].startswith(f"(one-sided {lower_side}")
    assert all(len(line) <= width for line in summary), [line for line in summary if len(line) > width]


@pytest.mark.parametrize(("mode", "settings"), [("better", {}), ("not-worse", {"margin": 5.0})])
def test_a_power_figure_that_cannot_be_stated_is_said_not_skipped(mode, settings):
    """Paired, every case rated as the baseline rated it: no case is Good (or Bad) on one side
    only, so the paired test's power cannot be judged. The run's warnings say so and why,
    for the gate in force and for no-more-bad, where they said nothing."""
    ratings = [Rating.BAD, Rating.OKAY, Rating.GOOD] * 4
    cases = [CaseResult(f"{EMOTIONS[0]}-{i}", EMOTIONS[0], r, r) for i, r in enumerate(ratings)]
    settings = {"alpha": ALPHA, "gate": mode, "min_good_gain": None, "allow_partial": False} | settings
    decision = decide(cases, Completeness(12, 12), StatisticsSettings.from_json(settings), None)
    assert decision.summary.detectable["overall"].gain is None
    side = "gain" if mode == "better" else "drop"
    assert decision.warnings == [
        f"{mode}: this run's power to detect a {side} is {power.no_discordant('Good')}",
        f"no-more-bad: this run's power to show its margin is {power.no_discordant('Bad')}",
    ]


def test_the_valid_tests_figures_computed_again_with_their_caches_emptied_are_the_same_to_the_last_bit():
    """Berger and Boos's figures (``berger_boos.standardized_bounded``, by strata), whether a
    design is even (``berger_boos._even``) and the model's count's tails a power search reads
    (``power._count_tails``, by n and rate) are each computed once and kept: a run asks some
    twice, and the size simulations (tests/test_verdicts.py) the same emotion's table in run
    after run. Every figure, asked first with the caches holding each kind at once (strata
    as lists and as tuples, numpy's counts and Python's, both directions, two alphas), then
    again with them emptied before each, is the same to the last bit."""
    designs = [
        [(1, 10, 50, 1000)],
        [(0, 3, 2, 62), (1, 5, 3, 60)],
        [(np.int64(0), 3, np.int64(2), 62), (1, 5, 3, 60)],
        ((2, 2, 1, 62), (0, 2, 2, 62), (1, 2, 0, 62)),
        [(2, 2, 1, 62), (0, 2, 2, 62), (1, 2, 0, 62)],
    ]
    asked = [
        (strata, alpha, greater) for strata in designs for alpha in (ALPHA, ALPHA / 32) for greater in (True, False)
    ]
    asked = asked[::2] + asked[1::2]

    def figures(strata, alpha: float, greater: bool) -> tuple:
        rate = sum(s[2] for s in strata) / sum(s[3] for s in strata)
        return (
            berger_boos.standardized_bounded(strata, alpha, greater=greater),
            berger_boos.rate_bound_method(strata),
            power.detectable_bounded(strata, rate, alpha, greater=greater),
            power.margin_bounded(strata, rate, alpha),
        )

    kept = [figures(*question) for question in asked]
    for question, found in zip(asked, kept, strict=True):
        for cached in (berger_boos._standardized_bounded, berger_boos._even, power._count_tails):
            cached.cache_clear()
        assert figures(*question) == found, question
