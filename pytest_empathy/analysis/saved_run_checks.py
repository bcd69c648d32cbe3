"""``--empathy-compare-fail``: the checks that fail a run on its comparison with a saved run."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from pytest_empathy.errors import InputError
from pytest_empathy.formatting import p_is, percent, points
from pytest_empathy.settings import DROPS

from .gates import GateResult
from .groups import significant
from .power import POWER, DetectableDrop, points_passing_unchanged, unchanged_pass_rate
from .rating_comparison import Direction
from .versus_saved_run import SavedRunComparison

DECLINE, EMOTION_DECLINE, GOOD_DROP, BAD_RISE = "decline", "emotion-decline", "good-drop", "bad-rise"
CHECKS = (DECLINE, EMOTION_DECLINE, f"{GOOD_DROP}:POINTS", BAD_RISE)


@dataclass(frozen=True)
class Check:
    name: str
    points: float | None = None

    def __str__(self) -> str:
        return self.name if self.points is None else f"{self.name}:{self.points:g}"


def parse_checks(expression: str) -> tuple[Check, ...]:
    """``decline``, ``emotion-decline``, ``good-drop:POINTS`` and ``bad-rise``, comma-separated."""
    checks = []
    for word in (w.strip() for w in expression.split(",")):
        if word in (DECLINE, EMOTION_DECLINE, BAD_RISE):
            checks.append(Check(word))
            continue
        match = re.fullmatch(rf"{GOOD_DROP}:(\d+(?:\.\d+)?)", word)
        if not match:
            raise InputError(f"{word!r} is not a check: use {', '.join(CHECKS)}, comma-separated")
        checks.append(Check(GOOD_DROP, float(match.group(1))))
    return tuple(checks)


@dataclass(frozen=True)
class Watched:
    """What a check watches move, in the words of its lines: the Good rate falling, or the
    Bad rate rising, whose power is that of the not-Bad rate falling."""

    change: str
    moves: str
    counted: str


FALL = Watched("drop", "falls", "Good")
RISE = Watched("rise", "rises", "not Bad")


@dataclass(frozen=True)
class Checked:
    """The compare checks decided, and the warnings of checks that cannot detect the drops
    a team cares about at this size (failed ``power`` gates as well, with require_power)."""

    gates: list[GateResult]
    warnings: list[str]


def check(
    comparison: SavedRunComparison,
    checks: Iterable[Check],
    *,
    drops: tuple[float, float] = DROPS,
    require_power: bool = False,
) -> Checked:
    """``drops``: the Good-rate drops, in points, overall and in an emotion, that the checks
    should detect with 80% power."""
    results, warnings = [], []
    for item in checks:
        name = f"compare {item}"
        undecided = _undecided(comparison, name)
        if undecided is not None:
            results.append(undecided)
            continue
        if item.name == DECLINE:
            result, warning = _decline(comparison, name, drops)
        elif item.name == BAD_RISE:
            result, warning = _bad_rise(comparison, name, drops)
        elif item.name == EMOTION_DECLINE:
            result, warning = _emotion_decline(comparison, name, drops)
        else:
            assert item.points is not None
            result, warning = _good_drop(comparison, name, item.points)
        results.append(result)
        if warning is not None:
            warnings.append(warning)
    if require_power:
        results += [GateResult("power", False, warning) for warning in warnings]
    return Checked(results, warnings)


# A check decided: its gate, and the warning that it cannot detect the drop a team cares about.
_Decided = tuple[GateResult, str | None]


def _undecided(comparison: SavedRunComparison, name: str) -> GateResult | None:
    """The failed gate of a check the comparison cannot decide, or None."""
    good, design = comparison.overall.comparison.good, comparison.overall.comparison.design
    if good is None:
        return GateResult(name, False, "no case rated in both runs")
    if design is not None and design.undecided is not None:
        return GateResult(name, False, f"{design.undecided}; {_overall(comparison)}")
    return None


def _decline(comparison: SavedRunComparison, name: str, drops: tuple[float, float]) -> _Decided:
    found = comparison.detectable["overall"]
    detail = f"{_overall(comparison)}; {_detects(found)}"
    passed = comparison.overall.verdict is not Direction.WORSE
    return GateResult(name, passed, detail), _too_small(name, found, drops[0], "")


def _bad_rise(comparison: SavedRunComparison, name: str, drops: tuple[float, float]) -> _Decided:
    overall = comparison.overall
    bad, rise = overall.comparison.bad, comparison.bad_rise_detectable
    assert bad is not None and rise is not None
    detail = f"{_bad_rate(comparison)}; {_detects(rise, RISE)}"
    passed = not significant(bad.p_greater, overall.alpha)
    return GateResult(name, passed, detail), _too_small(name, rise, drops[0], "", RISE)


def _emotion_decline(comparison: SavedRunComparison, name: str, drops: tuple[float, float]) -> _Decided:
    worse = [g for g in comparison.emotions.values() if g.verdict is Direction.WORSE]
    detail = (
        "no emotion's Good rate significantly lower than the saved run's after Holm"
        if not worse
        else "Good rate significantly lower after Holm: "
        + ", ".join(f"{g.name} (one-sided Holm {p_is(g.p_worse or 1.0)})" for g in worse)
    )
    power_detail, warning = _per_emotion(name, [comparison.detectable[e] for e in comparison.emotions], drops)
    return GateResult(name, not worse, f"{detail}; {power_detail}"), warning


def _good_drop(comparison: SavedRunComparison, name: str, drop: float) -> _Decided:
    good = comparison.overall.comparison.good
    assert good is not None
    bound = good.difference_ci.low
    passed = bound * 100 > -drop
    expected = comparison.unchanged_bound
    assert expected is not None
    discordant = good.discordant or 0.0
    found = comparison.detectable["overall"]
    # Clustered: n over the design effect, on t, as the interval itself.
    n, reference = found.effective_n, found.reference
    unchanged = unchanged_pass_rate(n, discordant, drop, good.confidence, reference)
    result = GateResult(
        name,
        passed,
        f"Good rate changed by {points(good.difference)}, lower bound {points(bound)} "
        f"({good.confidence:.0%} CI, paired) {'>' if passed else '<='} -{drop:g} pts; "
        f"with nothing changed, at this run's discordance {percent(discordant)}, about {points(expected)}, "
        f"passing {_share(unchanged)} of the time (exact)",
    )
    return result, _unshowable(name, drop, unchanged, found, discordant, good.confidence)


def _detects(found: DetectableDrop, watched: Watched = FALL) -> str:
    if not found.can_fail:
        return (
            f"cannot fail at this size: {found.n} cases{_saved_good(found, watched)}, the smallest attainable p is "
            f"{_p(found.smallest_p)} > {_p(found.level)}"
        )
    if found.drop is None:
        return f"detects no {watched.change} the saved run allows ({_assumed(found, watched)})"
    return f"detects a {watched.change} of {100 * found.drop:.1f} pts or more ({_assumed(found, watched)})"


def _assumed(found: DetectableDrop, watched: Watched = FALL) -> str:
    """How the figure was found, and on what share of cases rated otherwise."""
    method = f"{POWER:.0%} exact power of {found.test} at level {_p(found.level)}{_clustered(found)}"
    if found.drop is None:
        verb = watched.moves.removesuffix("s")
        return (
            f"{method}: {found.saved_good} of {found.n} cases {watched.counted} in the saved run, at most "
            f"{100 * found.largest:.1f} pts can {verb}"
        )
    if not found.best_case:
        return f"{method}, at this run's discordance {percent(found.discordant)}"
    if found.discordant == 0:
        return f"{method}, at this run's discordance 0.0%: none, the best case, only {watched.moves}"
    return (
        f"{method}, at this run's discordance {percent(found.discordant)}, below the {watched.change}: "
        f"the best case, only {watched.moves}"
    )


def _clustered(found: DetectableDrop) -> str:
    if found.reference.dof is None:
        return ""
    return f", clustered: n over the design effect {found.design_effect:.2f}, {found.reference.name}"


def _saved_good(found: DetectableDrop, watched: Watched = FALL) -> str:
    return "" if found.saved_good == found.n else f", {found.saved_good} {watched.counted} in the saved run"


def _too_small(name: str, found: DetectableDrop, care: float, where: str, watched: Watched = FALL) -> str | None:
    """The warning of a check that cannot fail at all, or cannot detect a drop (or rise) of
    ``care`` points (``where``: in an emotion) with 80% power, with its power there; None
    when it can."""
    if not found.can_fail:
        return f"{name} {_detects(found, watched)}; it can fail from {_fewest(found, watched)}"
    if found.drop is not None and found.drop <= care / 100:
        return None
    change = watched.change
    if care / 100 <= found.largest:
        drop, named = care / 100, f"a {change} of {care:g} pts{where}"
    else:
        drop, named = found.largest, f"a {change} of all {100 * found.largest:.1f} pts the saved run allows{where}"
    detects = f"no {change} the saved run allows"
    if found.drop is not None:
        detects = f"a {change} of {100 * found.drop:.1f} pts or more"
    return (
        f"{name}: at {POWER:.0%} power it detects {detects} on {found.n} cases{where} ({_assumed(found, watched)}); "
        f"{named} would be found only {_share(found.power(drop))} of the time: add cases, or name the {change} that "
        "matters with --empathy-compare-detect"
    )


def _per_emotion(name: str, found: list[DetectableDrop], drops: tuple[float, float]) -> tuple[str, str | None]:
    """What emotion-decline can detect, in its weakest emotion, and where it cannot fail."""
    cannot = [f for f in found if not f.can_fail]
    if len(cannot) == len(found):
        sizes = sorted({f.n for f in found})
        strongest = min(found, key=lambda f: f.smallest_p)
        per = _span(sizes)
        if any(f.saved_good < f.n for f in found):
            per += f" cases per emotion, {_span(sorted({f.saved_good for f in found}))} Good in the saved run"
        else:
            per += " cases per emotion"
        text = (
            f"cannot fail at this size: {per}, the smallest attainable p is "
            f"{_p(strongest.smallest_p)} > {_p(strongest.level)} (alpha over {len(found)} emotions, Holm's first step)"
        )
        return text, f"{name} {text}; it can fail from {_fewest(strongest)} per emotion"
    weakest = max((f for f in found if f.can_fail), key=lambda f: math.inf if f.drop is None else f.drop)
    detail = f"in its weakest emotion ({weakest.n} cases) {_detects(weakest)}"
    if cannot:
        detail += f"; cannot fail in {len(cannot)} of {len(found)} emotions (fewer than {_fewest(weakest)} each)"
        return detail, f"{name} {detail}"
    return detail, _too_small(name, weakest, drops[1], " in an emotion")


def _span(values: list[int]) -> str:
    return str(values[0]) if len(values) == 1 else f"{values[0]} to {values[-1]}"


def _unshowable(
    name: str, care: float, unchanged: float, found: DetectableDrop, discordant: float, confidence: float
) -> str | None:
    """The warning of a good-drop check that passes a model that changed nothing less than 80%
    of the time (``unchanged``), naming the fewest points that pass it as often, or that can
    never fail; else None."""
    if care > 100:
        return f"{name} cannot fail: the Good rate cannot fall by more than 100 pts"
    if unchanged >= POWER:
        return None
    enough = points_passing_unchanged(found.effective_n, discordant, confidence, care, found.reference)
    remedy = "add cases"
    if enough is not None:
        remedy = f"good-drop:{enough} passes it at least {POWER:.0%} of the time, or {remedy}"
    return (
        f"{name}: it passes a model that changed nothing only {_share(unchanged)} of the time on {found.n} cases at "
        f"this run's discordance {percent(discordant)} (exact); {remedy}"
    )


def _fewest(found: DetectableDrop, watched: Watched = FALL) -> str:
    return f"{found.fewest_to_fail} cases {watched.counted} in the saved run"


def _share(chance: float) -> str:
    """A chance in whole percent, or to a tenth where rounding would lift it to 80%."""
    if chance < POWER <= round(chance, 2):
        return f"{chance:.1%}"
    return f"{chance:.0%}"


def _p(p: float) -> str:
    """A level or a smallest p-value, to two significant digits: 0.079, 0.0016."""
    return f"{p:.2g}"


def _overall(comparison: SavedRunComparison) -> str:
    group = comparison.overall
    c = group.comparison
    assert c.good is not None
    state = "significantly lower" if group.verdict is Direction.WORSE else "not significantly lower"
    return (
        f"Good rate {percent(c.before.good_rate)} -> {percent(c.after.good_rate)} on {c.n} cases, "
        f"{points(c.good.difference)}; {state} (one-sided {c.good.method}, {p_is(c.good.p_less)})"
    )


def _bad_rate(comparison: SavedRunComparison) -> str:
    c = comparison.overall.comparison
    assert c.bad is not None
    higher = significant(c.bad.p_greater, comparison.overall.alpha)
    state = "significantly higher" if higher else "not significantly higher"
    return (
        f"Bad rate {percent(c.before.bad / c.n)} -> {percent(c.after.bad / c.n)} on {c.n} cases, "
        f"{points(c.bad.difference)}; {state} (one-sided {c.bad.method}, {p_is(c.bad.p_greater)})"
    )
