"""``--empathy-compare-fail``: the checks that fail a run on its comparison with a saved run."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from pytest_empathy.errors import InputError
from pytest_empathy.formatting import percent

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
    overall = comparison.overall.comparison
    for item in checks:
        name = f"compare {item}"
        if item.name == DECLINE:
            declined = comparison.overall.significant and overall.direction == Direction.WORSE
            results.append(GateResult(name, not declined, _overall(comparison)))
        elif item.name == EMOTION_DECLINE:
            worse = [
                g for g in comparison.emotions.values() if g.significant and g.comparison.direction == Direction.WORSE
            ]
            detail = (
                "no emotion significantly worse than the saved run after Holm"
                if not worse
                else "significantly worse after Holm: " + ", ".join(f"{g.name} (p_holm={g.p_holm:.3g})" for g in worse)
            )
            results.append(GateResult(name, not worse, detail))
        else:
            assert item.points is not None
            change = overall.good_change
            if change is None:
                results.append(GateResult(name, False, "no case rated in both runs"))
                continue
            passed = change * 100 >= -item.points - 1e-9
            results.append(
                GateResult(
                    name, passed, f"Good rate changed by {100 * change:+.1f} points (at most -{item.points:g} allowed)"
                )
            )
    return results


def _overall(comparison: SavedRunComparison) -> str:
    group = comparison.overall
    c = group.comparison
    if c.p_value is None:
        return "no case rated in both runs"
    state = "significant" if group.significant else "not significant"
    return (
        f"Good rate {percent(c.before.good_rate)} -> {percent(c.after.good_rate)} on {c.n} cases, "
        f"{c.direction}; {state} ({c.test} p={c.p_value:.3g})"
    )
