"""What a saved-run check can detect at its size, and the checks that cannot fail saying so:
the exact power against a brute-force enumeration of the paired test's outcomes and a seeded
simulation, "cannot fail" against every outcome of small runs."""

from __future__ import annotations

import itertools
import math
import random

import pytest
from scipy.stats import norm

from pytest_empathy.analysis import power, proportions
from pytest_empathy.analysis.compare_fail import check, parse_checks
from pytest_empathy.analysis.comparison import compare_paired
from pytest_empathy.analysis.proportions import PairedCounts
from pytest_empathy.analysis.versus_saved_run import compare_with_saved_run
from pytest_empathy.emotions import EMOTIONS
from pytest_empathy.ratings import Rating
from pytest_empathy.results.case import CaseResult

from .conftest import read_report

GOOD, OKAY = Rating.GOOD, Rating.OKAY
# A case's Good rating in the saved run and in this one.
GOOD_PAIRS = [(GOOD, GOOD), (GOOD, OKAY), (OKAY, GOOD), (OKAY, OKAY)]


def runs(pairs_by_emotion: dict[str, list[tuple[Rating, Rating]]]) -> tuple[dict, list[CaseResult]]:
    saved, run = {}, []
    for emotion, pairs in pairs_by_emotion.items():
        for i, (before, after) in enumerate(pairs):
            saved[f"{emotion}-{i}"] = (emotion, before)
            run.append(CaseResult(f"{emotion}-{i}", emotion, after))
    return saved, run


def rejects(rose: int, fell: int, n: int, level: float) -> bool:
    """The paired test as the comparison runs it: this run first, the saved run second."""
    test = proportions.paired(PairedCounts(0, rose, fell, n - rose - fell), confidence=1 - 2 * level)
    return test.p_less < level


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_the_smallest_attainable_p_is_the_least_of_every_outcome(n):
    cells = list(itertools.product(Rating, Rating))
    least = min(
        compare_paired(list(pairs), alpha=0.05).p_worse for pairs in itertools.combinations_with_replacement(cells, n)
    )
    assert power.smallest_paired_p(n) == pytest.approx(least, rel=1e-12)
    assert least == pytest.approx(norm.cdf(-math.sqrt(n)), rel=1e-12)


@pytest.mark.parametrize("level", [0.05, 0.05 / 32, 0.01])
def test_the_fewest_cases_to_fail_is_where_the_test_first_can_reject(level):
    fewest = power.fewest_cases_to_fail(level)
    assert rejects(0, fewest, fewest, level)
    assert not any(rejects(rose, fell, fewest - 1, level) for rose in range(fewest) for fell in range(fewest - rose))


@pytest.mark.parametrize(
    ("drop", "discordant", "n", "level"),
    [(0.1, 0.1, 12, 0.05), (0.1, 0.3, 12, 0.05), (0.25, 0.5, 15, 0.05 / 8), (0.02, 0.9, 9, 0.2), (0.4, 0.4, 2, 0.1)],
)
def test_the_exact_power_is_the_sum_over_every_outcome_of_the_test(drop, discordant, n, level):
    fell, rose = (discordant + drop) / 2, (discordant - drop) / 2
    total = 0.0
    for up in range(n + 1):
        for down in range(n + 1 - up):
            if rejects(up, down, n, level):
                same = n - up - down
                total += (
                    math.factorial(n)
                    / (math.factorial(up) * math.factorial(down) * math.factorial(same))
                    * rose**up
                    * fell**down
                    * (1 - discordant) ** same
                )
    assert power.power_paired_drop(drop, discordant, n, level) == pytest.approx(total, rel=1e-9, abs=1e-15)


@pytest.mark.parametrize(("n", "discordant", "level"), [(64, 0.0, 0.05), (64, 0.2, 0.05), (62, 0.1, 0.05 / 32)])
def test_the_detectable_drop_is_found_eighty_percent_of_the_time_in_simulation(n, discordant, level):
    """At the reported drop the comparison's own test rejects 80% of the time; 4,000 seeded
    runs put the Monte Carlo error at 0.63 points of a percent, the tolerance at four times it."""
    found = power.detectable_drop(n, discordant, level)
    assert found.drop is not None and found.can_fail
    share = max(discordant, found.drop)
    fell, rose = (share + found.drop) / 2, (share - found.drop) / 2
    rng = random.Random(f"detectable-{n}-{discordant}")
    repetitions, rejected = 4000, 0
    for _ in range(repetitions):
        draws = [rng.random() for _ in range(n)]
        down = sum(u < fell for u in draws)
        up = sum(fell <= u < fell + rose for u in draws)
        rejected += rejects(up, down, n, level)
    error = math.sqrt(0.8 * 0.2 / repetitions)
    assert rejected / repetitions == pytest.approx(0.8, abs=4 * error)


def test_an_emotion_check_that_cannot_fail_says_so_and_passes_every_outcome():
    """Two emotions of three cases: alpha 0.05 over 2 at Holm's first step is 0.025, and the
    smallest p three cases give is 0.042: every one of the 400 outcomes passes."""
    checks = parse_checks("emotion-decline")
    outcomes = list(itertools.combinations_with_replacement(GOOD_PAIRS, 3))
    least = 1.0
    for first, second in itertools.product(outcomes, outcomes):
        comparison = compare_with_saved_run(*reversed(runs({"sad": list(first), "joyful": list(second)})), alpha=0.05)
        (gate,) = check(comparison, checks).gates
        assert gate.passed
        assert (
            "cannot fail at this size: 3 cases per emotion, the smallest attainable p is 0.042 > 0.025" in gate.detail
        )
        least = min(least, *(g.comparison.p_worse or 1.0 for g in comparison.emotions.values()))
    assert least == pytest.approx(comparison.detectable["sad"].smallest_p)
    # With four cases an emotion where all fell fails it: the claim is about size, not luck.
    fallen = {"sad": [(GOOD, OKAY)] * 4, "joyful": [(GOOD, GOOD)] * 4}
    comparison = compare_with_saved_run(*reversed(runs(fallen)), alpha=0.05)
    (gate,) = check(comparison, checks).gates
    assert not gate.passed and "cannot fail" not in gate.detail


def smoke_sized(fallen: str) -> tuple[dict, list[CaseResult]]:
    """Two cases in each of the 32 emotions, all Good before; in one emotion both fall."""
    return runs({e: [(GOOD, OKAY if e == fallen else GOOD)] * 2 for e in EMOTIONS})


def test_a_smoke_sized_emotion_decline_warns_that_it_cannot_fail_and_fails_when_required():
    saved, run = smoke_sized("afraid")
    comparison = compare_with_saved_run(run, saved, alpha=0.05)
    checked = check(comparison, parse_checks("emotion-decline"))
    (gate,) = checked.gates
    said = (
        "cannot fail at this size: 2 cases per emotion, the smallest attainable p is 0.079 > 0.0016 "
        "(alpha over 32 emotions, Holm's first step)"
    )
    assert gate.passed and said in gate.detail
    assert checked.warnings == [f"compare emotion-decline {said}; it can fail from 9 cases per emotion"]
    required = check(comparison, parse_checks("emotion-decline"), require_power=True)
    assert [(g.name, g.passed) for g in required.gates] == [("compare emotion-decline", True), ("power", False)]


def test_decline_reports_its_detectable_drop_and_warns_below_the_drop_named():
    saved, run = smoke_sized("none")
    comparison = compare_with_saved_run(run, saved, alpha=0.05)
    found = comparison.detectable["overall"]
    assert found.drop == pytest.approx(power.detectable_drop(64, 0.0, 0.05).drop)
    checked = check(comparison, parse_checks("decline"))
    assert (
        f"detects a drop of {100 * found.drop:.1f} pts or more (80% power, exact, level 0.05)"
        in checked.gates[0].detail
    )
    assert checked.warnings == []
    (warning,) = check(comparison, parse_checks("decline"), drops=(5, 30)).warnings
    assert warning.startswith("compare decline: at 80% power it detects a drop of 6.6 pts or more on 64 cases")


def test_unchanged_lower_bound_is_tangos_interval_of_an_even_split():
    z = norm.ppf(0.95)
    # No discordant case: the score interval's bound solves n d^2 = z^2 d (1 + d) in closed form.
    assert proportions.unchanged_lower_bound(64, 0.0, confidence=0.9) == pytest.approx(-(z**2) / (64 + z**2))
    assert proportions.unchanged_lower_bound(100, 0.2, confidence=0.9) == pytest.approx(
        proportions.paired(PairedCounts(30, 10, 10, 50), confidence=0.9).difference_ci.low, abs=1e-10
    )


def test_good_drop_warns_when_it_would_fail_with_nothing_changed():
    saved, run = smoke_sized("none")
    comparison = compare_with_saved_run(run, saved, alpha=0.05)
    passed = check(comparison, parse_checks("good-drop:5"))
    assert passed.warnings == [] and "with nothing changed about -4.1 pts" in passed.gates[0].detail
    failed = check(comparison, parse_checks("good-drop:4"))
    assert not failed.gates[0].passed
    assert failed.warnings == [
        "compare good-drop:4: with nothing changed, the lower bound on 64 cases would be about -4.1 pts: it fails "
        "even when nothing changed; at this size and discordance good-drop:5 can pass, or add cases"
    ]
    (never,) = check(comparison, parse_checks("good-drop:101")).warnings
    assert "cannot fail" in never


def test_a_sampled_release_run_warns_of_what_its_checks_cannot_detect(run_benchmark, pytester, xdist_args):
    common = ("--empathy-sample=2", "--empathy-gate=off")
    assert run_benchmark("--empathy-model=chatgpt-empathy", *common, "--empathy-save=accepted").ret == 0
    compare = ("--empathy-model=human", *common, "--empathy-compare=accepted")
    result = run_benchmark(*compare, "--empathy-compare-fail=decline,emotion-decline", *xdist_args)
    result.stdout.fnmatch_lines(
        [
            "WARNING compare emotion-decline cannot fail at this size: 2 cases per emotion, the smallest attainable "
            "p is 0.079 > 0.0016 *",
            "PASSED compare emotion-decline: *cannot fail at this size*",
        ]
    )
    report = read_report(pytester)
    assert any("emotion-decline cannot fail" in w for w in report["warnings"])
    assert report["comparison"]["emotions"]["sad"]["detectable"]["can_fail"] is False
    assert "exactly" in report["comparison"]["power"]
    result = run_benchmark(*compare, "--empathy-compare-fail=emotion-decline", "--empathy-require-power")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["FAILED power: compare emotion-decline cannot fail at this size*"])
    result = run_benchmark(*compare, "--empathy-compare-fail=decline", "--empathy-compare-detect=1,30")
    result.stdout.fnmatch_lines(["WARNING compare decline: at 80% power it detects a drop of * a drop of 1 pts would*"])


@pytest.mark.bad_input
@pytest.mark.parametrize("value", ["10", "10,30,5", "0,30", "10,x"])
def test_the_drops_to_detect_are_checked_when_arguments_are_parsed(run_benchmark, value):
    result = run_benchmark("--empathy-model=chatgpt", f"--empathy-compare-detect={value}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --empathy-compare-detect: *"])


def test_the_figures_the_readme_quotes_for_smoke():
    """64 cases with a fifth rated otherwise, half each way: decline's detectable drop, and
    how often good-drop passes an unchanged model, by enumerating every outcome of the
    comparison's own interval; what an emotion needs."""
    n, discordant = 64, 0.2
    assert round(100 * power.detectable_drop(n, discordant, 0.05).drop) == 13
    passes = dict.fromkeys((10, 20), 0.0)
    for count in range(n + 1):
        for fell in range(count + 1):
            low = proportions.paired(PairedCounts(0, count - fell, fell, n - count), confidence=0.9).difference_ci.low
            chance = math.comb(n, count) * discordant**count * (1 - discordant) ** (n - count)
            chance *= math.comb(count, fell) / 2**count
            for points in passes:
                passes[points] += chance * (100 * low > -points)
    assert (round(passes[20], 2), round(passes[10], 2)) == (0.96, 0.52)
    assert power.fewest_cases_to_fail(0.05 / 32) == 9
    drops = {cases: power.detectable_drop(cases, 0.0, 0.05 / 32).drop for cases in (36, 37)}
    assert drops[36] > 0.30 >= drops[37]


@pytest.mark.bad_input
def test_drops_to_detect_without_checks_are_a_usage_error(run_benchmark):
    result = run_benchmark("--empathy-model=chatgpt", "--empathy-compare-detect=10,30")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: --empathy-compare-detect: name the checks it is for with --empathy-compare-fail"]
    )
