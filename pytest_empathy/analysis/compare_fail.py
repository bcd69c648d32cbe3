"""``--empathy-compare-fail``: the checks that fail a run on its comparison with a saved run."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from pytest_empathy.errors import InputError
from pytest_empathy.formatting import p_is, percent, points

from .comparison import Direction
from .gates import GateResult
from .versus_saved_run import SavedRunComparison

DECLINE, EMOTION_DECLINE, GOOD_DROP = "decline", "emotion-decline", "good-drop"
CHECKS = (DECLINE, EMOTION_DECLINE, f"{GOOD_DROP}:POINTS")


@dataclass(frozen=True)
class Check:
    name: str
    points: float | None = None

    def __str__(self) -> str:
        return self.name if self.points is None else f"{self.name}:{self.points:g}"


def parse_checks(expression: str) -> tuple[Check, ...]:
    """``decline``, ``emotion-decline`` and ``good-drop:POINTS``, comma-separated."""
    checks = []
    for word in (w.strip() for w in expression.split(",")):
        if word in (DECLINE, EMOTION_DECLINE):
            checks.append(Check(word))
            continue
        match = re.fullmatch(rf"{GOOD_DROP}:(\d+(?:\.\d+)?)", word)
        if not match:
            raise InputError(f"{word!r} is not a check: use {', '.join(CHECKS)}, comma-separated")
        checks.append(Check(GOOD_DROP, float(match.group(1))))
    return tuple(checks)


def check(comparison: SavedRunComparison, checks: Iterable[Check]) -> list[GateResult]:
    results = []
    overall = comparison.overall
    for item in checks:
        name = f"compare {item}"
        good = overall.comparison.good
        if good is None:
            results.append(GateResult(name, False, "no case rated in both runs"))
        elif item.name == DECLINE:
            results.append(GateResult(name, overall.verdict is not Direction.WORSE, _overall(comparison)))
        elif item.name == EMOTION_DECLINE:
            worse = [g for g in comparison.emotions.values() if g.verdict is Direction.WORSE]
            detail = (
                "no emotion's Good rate significantly lower than the saved run's after Holm"
                if not worse
                else "Good rate significantly lower after Holm: "
                + ", ".join(f"{g.name} (one-sided Holm {p_is(g.p_worse or 1.0)})" for g in worse)
            )
            results.append(GateResult(name, not worse, detail))
        else:
            assert item.points is not None
            bound = good.difference_ci.low
            passed = bound * 100 > -item.points
            results.append(
                GateResult(
                    name,
                    passed,
                    f"Good rate changed by {points(good.difference)}, lower bound {points(bound)} "
                    f"({good.confidence:.0%} CI, paired) {'>' if passed else '<='} -{item.points:g} pts",
                )
            )
    return results


def _overall(comparison: SavedRunComparison) -> str:
    group = comparison.overall
    c = group.comparison
    assert c.good is not None
    state = "significantly lower" if group.verdict is Direction.WORSE else "not significantly lower"
    return (
        f"Good rate {percent(c.before.good_rate)} -> {percent(c.after.good_rate)} on {c.n} cases, "
        f"{points(c.good.difference)}; {state} (one-sided {c.good.method}, {p_is(c.good.p_less)})"
    )
