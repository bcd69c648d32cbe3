"""What a saved-run check can detect at its size, and the checks that cannot fail saying so:
the exact power against a brute-force enumeration of the paired test's outcomes and a seeded
simulation, "cannot fail" against every outcome of small runs."""

from __future__ import annotations

import itertools
import math
import random
from functools import cache

import pytest
from scipy.stats import binom, binomtest, multinomial, norm

from pytest_empathy.analysis import power, proportions
from pytest_empathy.analysis.distributions import NORMAL, Reference
from pytest_empathy.analysis.proportions import PairedCounts
from pytest_empathy.analysis.rating_comparison import compare_paired
from pytest_empathy.analysis.saved_run_checks import check, parse_checks
from pytest_empathy.analysis.versus_saved_run import compare_with_saved_run
from pytest_empathy.emotions import EMOTIONS
from pytest_empathy.ratings import Rating
from pytest_empathy.results.case import CaseResult

from .conftest import answer_of, read_report, run
from .stub_server import completion, default_answer, is_judge_request

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


@cache  # the enumerations and the simulation below ask the same few outcomes again and again
def rejects(rose: int, fell: int, n: int, level: float, family: int = 1) -> bool:
    """The paired test as the comparison runs it: this run first, the saved run second; an
    emotion's of ``family``, at Holm's first level."""
    test = proportions.paired(PairedCounts(0, rose, fell, n - rose - fell), confidence=1 - 2 * level, family=family)
    return test.p_less < level


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_the_smallest_attainable_p_is_the_least_of_every_outcome(n):
    cells = list(itertools.product(Rating, Rating))
    least = min(
        compare_paired(list(pairs), alpha=0.05).p_worse for pairs in itertools.combinations_with_replacement(cells, n)
    )
    assert power.smallest_paired_p(n, 0.05) == pytest.approx(least, rel=1e-12)
    # So few discordant cases are tested exactly: every one of them fell.
    assert least == pytest.approx(binom.sf(n - 1, n, 0.5), rel=1e-12)


@pytest.mark.parametrize(("n", "saved_good"), [(3, 1), (4, 2), (5, 3), (5, 0)])
def test_the_smallest_attainable_p_is_the_least_of_every_outcome_the_saved_run_allows(n, saved_good):
    """The saved run is fixed: only its Good cases can fall, so the least p of every rating
    this run can give is the exact test's with every one of its Good cases fallen, not n's."""
    saved = [GOOD] * saved_good + [OKAY] * (n - saved_good)
    least = min(
        compare_paired(list(zip(saved, after, strict=True)), alpha=0.05).p_worse
        for after in itertools.product(Rating, repeat=n)
    )
    assert power.smallest_paired_p(saved_good, 0.05) == pytest.approx(least, rel=1e-12)
    assert least == pytest.approx(binom.sf(saved_good - 1, saved_good, 0.5) if saved_good else 0.5, rel=1e-12)


@pytest.mark.parametrize("to", [Rating.BAD, OKAY])
@pytest.mark.parametrize("fallen", [1, 2, 3, 4, 5, 6])
def test_a_few_cases_fallen_from_good_fail_decline_only_when_mcnemars_exact_test_rejects(fallen, to):
    """Three of 64 cases Good -> Bad, nothing else changed: McNemar's z gave p 0.042 and
    failed decline at alpha 0.05; the exact test, as against the baseline, gives 0.125."""
    pairs = [(GOOD, to)] * fallen + [(GOOD, GOOD)] * (40 - fallen) + [(OKAY, OKAY)] * 24
    comparison = compare_with_saved_run(*reversed(runs({"sad": pairs})), alpha=0.05)
    exact = binomtest(0, fallen, 0.5, alternative="less").pvalue
    assert comparison.overall.comparison.p_worse == pytest.approx(exact, rel=1e-12)
    (gate,) = check(comparison, parse_checks("decline")).gates
    assert gate.passed == bool(exact >= 0.05)
    assert f"one-sided {proportions.PAIRED_EXACT}" in gate.detail
    if fallen == 3:
        assert norm.cdf(-math.sqrt(3)) < 0.05 < exact
    # What the check could do is the test's: 40 cases Good in the saved run, beyond the
    # cutover, all fallen would be tested by z; it can fail from 5, as 0.5 ** 5 < 0.05.
    found = comparison.detectable["overall"]
    assert found.smallest_p == pytest.approx(norm.cdf(-math.sqrt(40)), rel=1e-12)
    assert power.fewest_cases_to_fail(0.05) == 5 and power.smallest_paired_p(4, 0.05) == 0.5**4


def test_three_cases_fallen_to_bad_do_not_fail_decline_in_the_plugin(stub, pytester):
    """The stub's 8 cases rated Good and saved, then three of them rated Bad: McNemar's exact
    p is 0.125 (z's 0.042 failed decline), and the run passes."""
    assert run(pytester, "--empathy-record=once", "--empathy-save=accepted").ret == 0
    fallen = [answer_of(case_id, judge=True) for case_id in ("afraid-afraid0", "joyful-joyful1", "sad-sad0")]
    stub.answer_of = lambda body: (
        (200, {"content-type": "application/json"}, completion("Bad"))
        if any(matches(body) for matches in fallen)
        else default_answer(body)
    )
    result = run(pytester, "--empathy-record=all", "--empathy-compare=accepted", "--empathy-compare-fail=decline")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [f"PASSED compare decline: Good rate 100.0% -> 62.5% on 8 cases, *{proportions.PAIRED_EXACT}, p=0.125)*"]
    )


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


def test_an_emotions_power_is_that_of_the_test_holding_holms_every_level():
    """One of 32 emotions, 60 cases, 80% of them rated otherwise in this run (some 48, where
    McNemar's exact test decides at Holm's later levels, up to 73, and the z test at alpha /
    32 alone, past 41): the exact power is the sum over every outcome of the test the
    comparison runs, and ``detects`` names it (through ``compare_with_saved_run``)."""
    n, drop, discordant, level = 60, 0.2, 0.8, 0.05 / 32
    fell, rose = (discordant + drop) / 2, (discordant - drop) / 2
    total = sum(
        math.factorial(n)
        / (math.factorial(up) * math.factorial(down) * math.factorial(n - up - down))
        * rose**up
        * fell**down
        * (1 - discordant) ** (n - up - down)
        for up in range(n + 1)
        for down in range(n + 1 - up)
        if rejects(up, down, n, level, family=32)
    )
    assert power.power_paired_drop(drop, discordant, n, level, family=32) == pytest.approx(total, rel=1e-9)
    assert power.power_paired_drop(drop, discordant, n, level) != pytest.approx(total, rel=1e-3)
    results = [CaseResult(f"{e}-{i}", e, Rating.GOOD) for e in EMOTIONS for i in range(2)]
    saved = {r.case_id: (r.emotion, Rating.BAD) for r in results}
    found = compare_with_saved_run(results, saved, alpha=0.05).detectable[EMOTIONS[0]]
    assert found.test == "McNemar's test (exact up to 73 discordant cases, z beyond)"


@pytest.mark.parametrize(("n", "discordant", "level"), [(64, 0.0, 0.05), (64, 0.2, 0.05), (62, 0.1, 0.05 / 32)])
def test_the_detectable_drop_is_found_eighty_percent_of_the_time_in_simulation(n, discordant, level):
    """At the reported drop the comparison's own test rejects 80% of the time; 4,000 seeded
    runs put the Monte Carlo error at 0.63 points of a percent, the tolerance at four times it."""
    found = power.detectable_drop(n, n, discordant, level)
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


def test_a_detectable_drop_computed_again_with_its_cache_emptied_is_the_same_to_the_last_bit():
    """``power.detectable_drop`` keeps what it found (by its arguments, their types too): the
    size simulations (tests/test_verdicts.py) ask it of the same emotion's counts in run after
    run. Asked first with the cache holding each kind at once (a saved Good count as an int
    and as a float, clustered or not, an emotion's family), then again with it emptied before
    each, every figure is the same to the last bit."""
    asked = [
        (64, 64, 0.0, 0.05, None, NORMAL, 1),
        (64, 64.0, 0.0, 0.05, None, NORMAL, 1),
        (64, 20, 0.203125, 0.05, None, NORMAL, 1),
        (62, 31, 0.1, 0.05 / 32, None, NORMAL, 32),
        (64, 20, 0.203125, 0.05, 1.7, Reference(15), 1),
        (64, 5, 0.0, 0.05, None, NORMAL, 1),
    ]
    order = [*range(0, len(asked), 2), *range(1, len(asked), 2)]

    def found(n, saved_good, discordant, level, design_effect, reference, family) -> power.DetectableDrop:
        return power.detectable_drop(
            n, saved_good, discordant, level, design_effect=design_effect, reference=reference, family=family
        )

    kept = {i: found(*asked[i]) for i in order}
    # The types are kept: a saved count given as a float stays one.
    assert (type(kept[0].saved_good), type(kept[1].saved_good)) == (int, float)
    for i in order:
        power.detectable_drop.cache_clear()
        assert repr(found(*asked[i])) == repr(kept[i]), asked[i]


def test_an_emotion_check_that_cannot_fail_says_so_and_passes_every_outcome():
    """Two emotions of three cases: alpha 0.05 over 2 at Holm's first step is 0.025, and the
    smallest p three cases Good in the saved run give is McNemar's exact 0.125: every one of the 400 outcomes
    passes, each saying the smallest p its saved run allows."""
    checks = parse_checks("emotion-decline")
    outcomes = list(itertools.combinations_with_replacement(GOOD_PAIRS, 3))
    least = 1.0
    for first, second in itertools.product(outcomes, outcomes):
        comparison = compare_with_saved_run(*reversed(runs({"sad": list(first), "joyful": list(second)})), alpha=0.05)
        (gate,) = check(comparison, checks).gates
        assert gate.passed
        goods = sorted(sum(saved is GOOD for saved, _ in pairs) for pairs in (first, second))
        span = str(goods[0]) if goods[0] == goods[1] else f"{goods[0]} to {goods[1]}"
        saved_good = "" if goods == [3, 3] else f", {span} Good in the saved run"
        said = f"cannot fail at this size: 3 cases per emotion{saved_good}"
        smallest = binom.pmf(goods[1], goods[1], 0.5) if goods[1] else 0.5
        assert said in gate.detail and f"attainable p is {smallest:.2g} > 0.025" in gate.detail
        least = min(least, *(g.comparison.p_worse or 1.0 for g in comparison.emotions.values()))
    assert least == pytest.approx(binom.pmf(3, 3, 0.5))
    # With six cases (exactly, 0.016) an emotion where all fell fails it: the claim is about
    # size, not luck.
    fallen = {"sad": [(GOOD, OKAY)] * 6, "joyful": [(GOOD, GOOD)] * 6}
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
        "cannot fail at this size: 2 cases per emotion, the smallest attainable p is 0.25 > 0.0016 "
        "(alpha over 32 emotions, Holm's first step)"
    )
    assert gate.passed and said in gate.detail
    fewest = "it can fail from 10 cases Good in the saved run per emotion"
    assert checked.warnings == [f"compare emotion-decline {said}; {fewest}"]
    required = check(comparison, parse_checks("emotion-decline"), require_power=True)
    assert [(g.name, g.passed) for g in required.gates] == [("compare emotion-decline", True), ("power", False)]


def test_decline_reports_its_detectable_drop_and_warns_below_the_drop_named():
    saved, run = smoke_sized("none")
    comparison = compare_with_saved_run(run, saved, alpha=0.05)
    found = comparison.detectable["overall"]
    assert found.drop == pytest.approx(power.detectable_drop(64, 64, 0.0, 0.05).drop)
    checked = check(comparison, parse_checks("decline"))
    assert (
        f"detects a drop of {100 * found.drop:.1f} pts or more (80% exact power of McNemar's test (exact up to 29 "
        "discordant cases, z beyond) at level 0.05, at this run's discordance 0.0%: none, the best case, only falls)"
        in checked.gates[0].detail
    )
    assert check(comparison, parse_checks("decline"), drops=(11, 30)).warnings == []
    (warning,) = checked.warnings
    assert warning.startswith("compare decline: at 80% power it detects a drop of 10.3 pts or more on 64 cases")


def p_fell(up: int, down: int, level: float) -> float:
    """McNemar's one-sided p of a fall as the comparison runs it without raters: exact (scipy's
    binomial) on at most the cutover's discordant cases, z from its formula beyond."""
    if up + down <= proportions.exact_cutover(level):
        return float(binom.sf(down - 1, up + down, 0.5))
    return float(norm.cdf((up - down) / math.sqrt(up + down)))


def power_by_enumeration(drop: float, discordant: float, n: int, level: float) -> float:
    """McNemar's one-sided test's power summed over every outcome (rose, fell, neither), the
    p-value by ``p_fell``, the trinomial from scipy."""
    fell, rose = (discordant + drop) / 2, (discordant - drop) / 2
    total = 0.0
    for up in range(n + 1):
        for down in range(1, n + 1 - up):
            if p_fell(up, down, level) < level:
                total += multinomial.pmf([up, down, n - up - down], n, [rose, fell, 1 - discordant])
    return total


def overall(rose: int, fell: int, n: int, saved_good: int | None = None) -> tuple[dict, list[CaseResult]]:
    """``n`` cases of one emotion, ``saved_good`` (default: all those that did not rise) Good
    in the saved run; ``rose`` of them Good only in this run, ``fell`` only in the saved run."""
    saved_good = n - rose if saved_good is None else saved_good
    saved = [GOOD] * saved_good + [OKAY] * (n - saved_good)
    after = [OKAY] * fell + [GOOD] * (saved_good - fell) + [GOOD] * rose + [OKAY] * (n - saved_good - rose)
    return runs({"sad": list(zip(saved, after, strict=True))})


def decline_line(saved: dict, run: list[CaseResult], drops: tuple[float, float] = (10, 30)) -> tuple[str, list[str]]:
    comparison = compare_with_saved_run(run, saved, alpha=0.05)
    checked = check(comparison, parse_checks("decline"), drops=drops)
    return checked.gates[0].detail, checked.warnings


def test_the_decline_line_says_on_what_share_of_changed_cases_its_figure_rests():
    """The figure assumes this run's share of cases rated otherwise, or the drop itself where
    that is larger: the line says which, and that the power, not the test, is exact."""
    method = "80% exact power of McNemar's test (exact up to 29 discordant cases, z beyond) at level 0.05"
    detail, _ = decline_line(*overall(0, 0, 64))
    best = "at this run's discordance 0.0%: none, the best case, only falls"
    assert f"detects a drop of 10.3 pts or more ({method}, {best})" in detail and "exact, level" not in detail
    # The best case is the optimistic one: with a fifth of the cases changed, 10.3 pts is found under half the time.
    assert power_by_enumeration(0.1028, 0.2, 64, 0.05) == pytest.approx(0.48, abs=0.01)
    detail, _ = decline_line(*overall(3, 0, 64))
    assert f"({method}, at this run's discordance 4.7%, below the drop: the best case, only falls)" in detail
    detail, _ = decline_line(*overall(6, 7, 64))
    assert f"detects a drop of 14.5 pts or more ({method}, at this run's discordance 20.3%)" in detail
    assert power_by_enumeration(0.1450, 13 / 64, 64, 0.05) < 0.8 < power_by_enumeration(0.1460, 13 / 64, 64, 0.05)


def test_decline_detects_no_drop_larger_than_the_saved_run_allows():
    """Only cases Good in the saved run can fall: with 5 of 64, at most 7.8 pts."""
    detail, (warning,) = decline_line(*overall(0, 0, 64, saved_good=5))
    assert (
        "detects no drop the saved run allows (80% exact power of McNemar's test (exact up to 29 discordant cases, "
        "z beyond) at level 0.05: 5 of 64 cases Good in the saved run, at most 7.8 pts can fall)"
    ) in detail
    found = power.detectable_drop(64, 5, 0.0, 0.05)
    chance = power_by_enumeration(5 / 64, 5 / 64, 64, 0.05)
    assert chance < 0.8 and found.power(5 / 64) == pytest.approx(chance, rel=1e-9)
    assert f"a drop of all 7.8 pts the saved run allows would be found only {chance:.0%} of the time" in warning
    # With 12 Good the figure lies within what the saved run allows, at 80% power.
    found = power.detectable_drop(64, 12, 0.0, 0.05)
    assert found.drop is not None and found.drop <= 12 / 64
    assert power_by_enumeration(found.drop, found.drop, 64, 0.05) == pytest.approx(0.8, abs=1e-4)


def test_emotion_decline_that_no_saved_run_outcome_can_fail_says_so():
    """32 emotions of 9 cases, 5 Good in the saved run, every one of them lost: the smallest
    p is McNemar's exact, a half to the fifth, above alpha over 32; not a detectable drop."""
    pairs = [(GOOD, OKAY)] * 5 + [(OKAY, OKAY)] * 4
    saved, run = runs(dict.fromkeys(EMOTIONS, pairs))
    comparison = compare_with_saved_run(run, saved, alpha=0.05)
    checked = check(comparison, parse_checks("emotion-decline"))
    (gate,) = checked.gates
    least = binom.pmf(5, 5, 0.5)
    assert all(g.comparison.p_worse == pytest.approx(least) for g in comparison.emotions.values())
    assert gate.passed and least > 0.05 / 32
    said = (
        "cannot fail at this size: 9 cases per emotion, 5 Good in the saved run, the smallest attainable p is "
        f"{least:.2g} > 0.0016"
    )
    assert said in gate.detail and "detects" not in gate.detail
    assert checked.warnings == [
        f"compare emotion-decline {said} (alpha over 32 emotions, Holm's first step); it can fail from 10 cases Good "
        "in the saved run per emotion"
    ]


def test_the_under_power_warning_gives_the_power_at_the_drop_named():
    # 36 cases in each of 32 emotions, nothing changed: a 33-point drop is found 79.9% of the time.
    saved, run = runs(dict.fromkeys(EMOTIONS, [(GOOD, GOOD)] * 36))
    comparison = compare_with_saved_run(run, saved, alpha=0.05)
    (warning,) = check(comparison, parse_checks("emotion-decline"), drops=(10, 33)).warnings
    chance = power_by_enumeration(0.33, 0.33, 36, 0.05 / 32)
    assert 0.795 < chance < 0.8
    assert "; a drop of 33 pts in an emotion would be found only 79.9% of the time: add cases" in warning
    # A fifth of 64 cases rated otherwise: a 10-point drop is found 46% of the time.
    _, (warning,) = decline_line(*overall(6, 7, 64))
    chance = power_by_enumeration(0.1, 13 / 64, 64, 0.05)
    assert f"; a drop of 10 pts would be found only {chance:.0%} of the time" in warning and chance < 0.6


def test_unchanged_lower_bound_is_the_paired_interval_of_an_even_split():
    """Tango's, and with so few discordant cases that the exact test decides (20 of 100),
    its hull with Clopper-Pearson's, as the comparison's own interval."""
    z = norm.ppf(0.95)
    # No discordant case: the score interval's bound solves n d^2 = z^2 d (1 + d) in closed form.
    assert proportions.unchanged_lower_bound(64, 0.0, confidence=0.9) == pytest.approx(-(z**2) / (64 + z**2))
    assert proportions.unchanged_lower_bound(100, 0.2, confidence=0.9) == pytest.approx(
        proportions.paired(PairedCounts(30, 10, 10, 50), confidence=0.9).difference_ci.low, abs=1e-10
    )


@cache
def unchanged_lower_bounds(n: int, discordant: float) -> list[tuple[float, float]]:
    """Every outcome of a model that changed nothing, with its chance and the lower bound the
    comparison's own interval gives: the count of cases rated Good on one side only binomial
    (n, discordant), each of them as likely to have fallen as risen."""
    outcomes = []
    for count in range(n + 1):
        for fell in range(count + 1):
            chance = binom.pmf(count, n, discordant) * binom.pmf(fell, count, 0.5)
            counts = PairedCounts(0, count - fell, fell, n - count)
            outcomes.append((chance, proportions.paired(counts, confidence=0.9).difference_ci.low))
    return outcomes


def pass_rate_by_enumeration(n: int, discordant: float, points: float) -> float:
    return sum(chance for chance, low in unchanged_lower_bounds(n, discordant) if 100 * low > -points)


@pytest.mark.parametrize(("n", "discordant"), [(64, 0.2), (64, 0.1), (64, 13 / 64), (40, 0.35), (64, 0.0)])
def test_how_often_good_drop_passes_an_unchanged_model_is_every_outcome_summed(n, discordant):
    rates = {p: pass_rate_by_enumeration(n, discordant, p) for p in range(0, 41)}
    for points, rate in rates.items():
        assert power.unchanged_pass_rate(n, discordant, points, 0.9) == pytest.approx(rate, abs=1e-9)
    assert power.points_passing_unchanged(n, discordant, 0.9) == min(p for p, rate in rates.items() if rate >= 0.8)


def test_good_drop_warns_when_it_passes_an_unchanged_model_less_than_eighty_percent_of_the_time():
    """64 cases, 6 rose and 7 fell: the bound with nothing changed, -8.5 pts, clears -10 pts,
    yet an unchanged model passes good-drop:10 only about half the time."""
    comparison = compare_with_saved_run(*reversed(overall(6, 7, 64)), alpha=0.05)
    rates = {p: pass_rate_by_enumeration(64, 13 / 64, p) for p in (10, 14, 15, 20)}
    assert rates[10] < 0.6 and rates[14] < 0.8 <= rates[15]
    ten = check(comparison, parse_checks("good-drop:10"))
    assert ten.gates[0].detail.endswith(
        f" -10 pts; with nothing changed, at this run's discordance 20.3%, about "
        f"{100 * comparison.unchanged_bound:+.1f} pts, passing {rates[10]:.0%} of the time (exact)"
    )
    assert ten.warnings == [
        f"compare good-drop:10: it passes a model that changed nothing only {rates[10]:.0%} of the time on 64 cases "
        "at this run's discordance 20.3% (exact); good-drop:15 passes it at least 80% of the time, or add cases"
    ]
    twenty = check(comparison, parse_checks("good-drop:20"))
    assert twenty.warnings == [] and f"passing {rates[20]:.0%} of the time (exact)" in twenty.gates[0].detail


def test_good_drop_warns_when_it_would_fail_with_nothing_changed():
    """No case rated otherwise: the outcome is certain, its bound -4.1 pts."""
    saved, run = smoke_sized("none")
    comparison = compare_with_saved_run(run, saved, alpha=0.05)
    passed = check(comparison, parse_checks("good-drop:5"))
    assert passed.warnings == [] and passed.gates[0].detail.endswith(
        "with nothing changed, at this run's discordance 0.0%, about -4.1 pts, passing 100% of the time (exact)"
    )
    failed = check(comparison, parse_checks("good-drop:4"))
    assert not failed.gates[0].passed
    assert failed.warnings == [
        "compare good-drop:4: it passes a model that changed nothing only 0% of the time on 64 cases at this run's "
        "discordance 0.0% (exact); good-drop:5 passes it at least 80% of the time, or add cases"
    ]
    (never,) = check(comparison, parse_checks("good-drop:101")).warnings
    assert "cannot fail" in never


def test_a_sampled_release_run_warns_of_what_its_checks_cannot_detect(run_benchmark, pytester):
    common = ("--empathy-sample=2", "--empathy-gate=off")
    assert run_benchmark("--empathy-model=chatgpt-empathy", *common, "--empathy-save=accepted").ret == 0
    compare = ("--empathy-model=human", *common, "--empathy-compare=accepted")
    result = run_benchmark(*compare, "--empathy-compare-fail=decline,emotion-decline")
    result.stdout.fnmatch_lines(
        [
            "WARNING compare emotion-decline cannot fail at this size: 2 cases per emotion*, the smallest "
            "attainable p is 0.082 > 0.0016 *",
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


def test_the_figures_the_template_change_page_quotes_for_smoke():
    """64 cases with a fifth rated otherwise, half each way: decline's detectable drop, and
    how often good-drop passes an unchanged model, by enumerating every outcome of the
    comparison's own interval; what an emotion needs."""
    n, discordant = 64, 0.2
    assert round(100 * power.detectable_drop(n, n, discordant, 0.05).drop) == 14
    passes = {points: pass_rate_by_enumeration(n, discordant, points) for points in (10, 15, 20)}
    assert (round(passes[20], 2), round(passes[15], 2), round(passes[10], 2)) == (0.96, 0.82, 0.50)
    assert power.points_passing_unchanged(n, discordant, 0.9) == 15
    # The best case's 10.3 points, and 10, found at a fifth of the cases rated otherwise.
    found = {drop: power_by_enumeration(drop, discordant, n, 0.05) for drop in (0.103, 0.1)}
    assert (round(found[0.103], 2), round(found[0.1], 2)) == (0.48, 0.46)
    assert power.power_paired_drop(0.1, discordant, n, 0.05) == pytest.approx(found[0.1], rel=1e-9)
    assert power.fewest_cases_to_fail(0.05 / 32) == 10
    drops = {cases: power.detectable_drop(cases, cases, 0.0, 0.05 / 32).drop for cases in (39, 40)}
    assert drops[39] > 0.30 >= drops[40]


@pytest.mark.bad_input
def test_drops_to_detect_without_checks_are_a_usage_error(run_benchmark):
    result = run_benchmark("--empathy-model=chatgpt", "--empathy-compare-detect=10,30")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: --empathy-compare-detect: name the checks it is for with --empathy-compare-fail"]
    )


BAD = Rating.BAD


def bad_rise(pairs_by_emotion: dict[str, list[tuple[Rating, Rating]]], drops: tuple[float, float] = (10, 30)):
    saved, run = runs(pairs_by_emotion)
    comparison = compare_with_saved_run(run, saved, alpha=0.05)
    checked = check(comparison, parse_checks("decline,bad-rise"), drops=drops)
    return comparison, checked


@pytest.mark.parametrize("moved", [40, 80])
def test_a_run_that_turns_okay_answers_bad_fails_bad_rise_though_decline_passes(moved):
    """The polarising change against a saved run: the Good rate holds, Okay answers turn Bad.
    decline, on the Good rate, passes it; bad-rise fails it, McNemar's z on the Bad ratings
    as statsmodels computes it (beyond the exact test's cutover)."""
    from statsmodels.stats.contingency_tables import mcnemar

    pairs = [(GOOD, GOOD)] * 100 + [(OKAY, BAD)] * moved + [(OKAY, OKAY)] * (100 - moved) + [(BAD, BAD)] * 20
    comparison, checked = bad_rise({"sad": pairs})
    decline, rise = checked.gates
    assert decline.passed and not rise.passed
    bad = comparison.overall.comparison.bad
    assert bad is not None and bad.difference == pytest.approx(moved / 220)
    # McNemar's z (no correction) on the 2x2 table of Bad ratings: run first, saved second.
    z = math.sqrt(mcnemar([[20, moved], [0, 200 - moved]], exact=False, correction=False).statistic)
    assert bad.p_greater == pytest.approx(norm.sf(z), rel=1e-9)
    assert rise.detail.startswith(f"Bad rate 9.1% -> {100 * (20 + moved) / 220:.1f}% on 220 cases")
    assert "significantly higher (one-sided Tango score" in rise.detail


@pytest.mark.parametrize("rose", [0, 1, 2, 3, 4, 5, 6])
def test_bad_rise_on_few_changed_cases_is_mcnemars_exact_test(rose):
    """Few cases turned Bad, one turned back: the exact binomial test, scipy's, decides."""
    pairs = [(OKAY, BAD)] * rose + [(BAD, OKAY)] + [(OKAY, OKAY)] * 30 + [(GOOD, GOOD)] * 10
    comparison, checked = bad_rise({"sad": pairs})
    exact = binomtest(rose, rose + 1, 0.5, alternative="greater").pvalue
    bad = comparison.overall.comparison.bad
    assert bad is not None and bad.p_greater == pytest.approx(exact, rel=1e-12)
    assert checked.gates[1].passed == (exact >= 0.05)


def test_bad_rise_passes_an_unchanged_run_and_says_what_rise_it_detects():
    pairs = [(GOOD, GOOD)] * 40 + [(OKAY, OKAY)] * 16 + [(BAD, BAD)] * 8
    comparison, checked = bad_rise({"sad": pairs})
    rise = checked.gates[1]
    found = comparison.bad_rise_detectable
    assert rise.passed and found is not None and found.drop is not None
    # Its rise is the fall of the share not Bad: 56 of 64 cases not Bad can turn Bad.
    assert found.saved_good == 56
    assert f"detects a rise of {100 * found.drop:.1f} pts or more" in rise.detail
    assert "the best case, only rises" in rise.detail
    # At the stated rise the paired test of the Bad ratings rejects 80% of the time, summed over outcomes.
    assert power_by_enumeration(found.drop, found.drop, 64, 0.05) == pytest.approx(0.8, abs=1e-4)


def test_bad_rise_warns_when_it_cannot_detect_the_rise_named():
    pairs = [(GOOD, GOOD)] * 10 + [(OKAY, OKAY)] * 6
    _, checked = bad_rise({"sad": pairs}, drops=(5, 30))
    (rise_warning,) = [w for w in checked.warnings if w.startswith("compare bad-rise")]
    assert "a rise of 5 pts would be found only" in rise_warning
    assert "name the rise that matters with --empathy-compare-detect" in rise_warning


def test_a_saved_run_whose_okay_answers_turn_bad_fails_bad_rise_in_the_plugin(stub, pytester):
    """The stub's 8 cases rated Okay and saved, then rated Bad: the Good rate is 0% both
    times and decline passes; bad-rise fails (exact p 1/256), and the JSON holds the test."""

    def rated(label: str):
        return lambda body: (
            (200, {"content-type": "application/json"}, completion(label))
            if is_judge_request(body)
            else default_answer(body)
        )

    stub.answer_of = rated("Okay")
    assert run(pytester, "--empathy-record=all", "--empathy-save=accepted").ret == 0
    stub.answer_of = rated("Bad")
    result = run(
        pytester, "--empathy-record=all", "--empathy-compare=accepted", "--empathy-compare-fail=decline,bad-rise"
    )
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "*PASSED compare decline: Good rate 0.0% -> 0.0% on 8 cases*",
            f"*FAILED compare bad-rise: Bad rate 0.0% -> 100.0% on 8 cases, +100.0 pts; significantly higher "
            f"(one-sided {proportions.PAIRED_EXACT}, p=0.004)*",
        ]
    )
    test = read_report(pytester)["comparison"]["overall"]["bad_rate_test"]
    assert test["p_higher"] == pytest.approx(0.5**8) and test["change"] == 1.0
