"""A run compared with a saved run on the cases both rated: did the ratings get worse?

The same cases rated twice are paired, so the test is one of marginal homogeneity on the
paired ratings (Stuart-Maxwell), and the Good rate's change gets Newcombe's interval for
paired proportions. Emotions are corrected with Holm, as in the comparison with humans.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .emotions import POLARITIES, POLARITY
from .errors import InputError
from .gates import GateResult
from .ratings import Rating
from .results import CaseResult
from .stats import WORSE, PairedComparison, compare_paired, holm

DECLINE, EMOTION_DECLINE, GOOD_DROP = "decline", "emotion-decline", "good-drop"
CHECKS = (DECLINE, EMOTION_DECLINE, f"{GOOD_DROP}:POINTS")


@dataclass(frozen=True)
class PairedGroup:
    name: str
    comparison: PairedComparison
    significant: bool
    p_holm: float | None = None


@dataclass(frozen=True)
class Regression:
    snapshot: Mapping[str, Any]
    compared: int
    only_in_run: int
    only_in_snapshot: int
    overall: PairedGroup
    polarity: dict[str, PairedGroup]
    emotions: dict[str, PairedGroup]


def compare_with_snapshot(
    results: Iterable[CaseResult], snapshot: Mapping[str, Any], *, alpha: float
) -> Regression:
    before = {case["id"]: (case["emotion"], Rating.parse(case["rating"])) for case in snapshot["cases"]}
    after = {result.case_id: (result.emotion, result.rating) for result in results}
    common = sorted(before.keys() & after.keys())
    pairs: dict[str, list[tuple[Rating, Rating]]] = {}
    for case_id in common:
        emotion = after[case_id][0]
        pairs.setdefault(emotion, []).append((before[case_id][1], after[case_id][1]))
    emotions = sorted(pairs)

    def group(name: str, members: Sequence[str]) -> PairedGroup:
        comparison = compare_paired([pair for e in members for pair in pairs[e]])
        return PairedGroup(name, comparison, _significant(comparison.p_value, alpha))

    by_emotion = {e: compare_paired(pairs[e]) for e in emotions}
    adjusted = holm([by_emotion[e].p_value for e in emotions])
    return Regression(
        snapshot=snapshot,
        compared=len(common),
        only_in_run=len(after.keys() - before.keys()),
        only_in_snapshot=len(before.keys() - after.keys()),
        overall=group("overall", emotions),
        polarity={p: group(p, [e for e in emotions if POLARITY[e] == p]) for p in POLARITIES},
        emotions={
            e: PairedGroup(e, by_emotion[e], _significant(p, alpha), p)
            for e, p in zip(emotions, adjusted)
        },
    )


def _significant(p_value: float | None, alpha: float) -> bool:
    return p_value is not None and p_value < alpha


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


def check(regression: Regression, checks: Iterable[Check]) -> list[GateResult]:
    results = []
    overall = regression.overall.comparison
    for item in checks:
        name = f"compare {item}"
        if item.name == DECLINE:
            declined = regression.overall.significant and overall.direction == WORSE
            results.append(GateResult(name, not declined, _overall(regression)))
        elif item.name == EMOTION_DECLINE:
            worse = [g for g in regression.emotions.values() if g.significant and g.comparison.direction == WORSE]
            detail = ("no emotion significantly worse than the saved run after Holm" if not worse else
                      "significantly worse after Holm: "
                      + ", ".join(f"{g.name} (p_holm={g.p_holm:.3g})" for g in worse))
            results.append(GateResult(name, not worse, detail))
        else:
            assert item.points is not None
            change = overall.good_change
            if change is None:
                results.append(GateResult(name, False, "no case rated in both runs"))
                continue
            passed = change * 100 >= -item.points - 1e-9
            results.append(GateResult(
                name, passed, f"Good rate changed by {100 * change:+.1f} points (at most -{item.points:g} allowed)"
            ))
    return results


def _overall(regression: Regression) -> str:
    group = regression.overall
    c = group.comparison
    if c.p_value is None:
        return "no case rated in both runs"
    state = "significant" if group.significant else "not significant"
    return (f"Good rate {_rate(c.before)} -> {_rate(c.after)} on {c.n} cases, {c.direction}; "
            f"{state} ({c.test} p={c.p_value:.3g})")


def _rate(counts: Any) -> str:
    return "n/a" if counts.good_rate is None else f"{counts.good_rate:.1%}"
