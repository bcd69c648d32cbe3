"""Gates: thresholds checked on a run's statistics at session finish."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pytest_empathy.formatting import percent
from pytest_empathy.modes import GateMode
from pytest_empathy.ratings import Counts

from .comparison import Comparison, Direction
from .groups import Group, RatedCase
from .versus_baseline import Summary, summarize


@dataclass(frozen=True)
class GateResult:
    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class Completeness:
    expected: int
    rated: int
    missing: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        return self.rated == self.expected and not self.missing


def decide(
    cases: Sequence[RatedCase],
    completeness: Completeness,
    settings: Mapping[str, Any],
    per_emotion_baseline: Mapping[str, Counts] | None,
) -> tuple[Summary | None, list[GateResult]]:
    """A run's statistics and gates from its rated cases, as the controller and a merge of
    shards both compute them. No statistics for an incomplete run unless partial is allowed."""
    summary = None
    if cases and (completeness.complete or settings["allow_partial"]):
        summary = summarize(
            cases,
            alpha=settings["alpha"],
            per_emotion_baseline=per_emotion_baseline,
            partial=not completeness.complete,
        )
    gates = check_gates(
        summary,
        completeness,
        mode=GateMode(settings["gate"]),
        min_good_gain=settings["min_good_gain"],
        allow_partial=settings["allow_partial"],
    )
    return summary, gates


def check_gates(
    summary: Summary | None,
    completeness: Completeness,
    *,
    mode: GateMode,
    min_good_gain: float | None,
    allow_partial: bool,
) -> list[GateResult]:
    """The gates in force and whether each passed; ``summary`` is None when no statistics
    were computed because the run is incomplete."""
    gates = [_complete(completeness, allow_partial)]
    if summary is None or mode is GateMode.OFF:
        return gates
    overall = summary.overall
    if mode is GateMode.BETTER:
        passed = overall.significant and overall.comparison.direction == Direction.BETTER
    else:
        passed = not (overall.significant and overall.comparison.direction == Direction.WORSE)
    gates.append(GateResult(mode.value, passed, _overall_detail(overall, summary.alpha)))
    if min_good_gain is None and mode is GateMode.BETTER:
        min_good_gain = 0.0
    if min_good_gain is not None:
        gates.append(_min_good_gain(overall, min_good_gain))
    gates.append(_no_emotion_worse(summary))
    return gates


def _complete(completeness: Completeness, allow_partial: bool) -> GateResult:
    detail = f"{completeness.rated} of {completeness.expected} cases rated"
    if completeness.rated == 0:
        return GateResult("complete", False, detail + ": nothing to compare")
    if completeness.complete:
        return GateResult("complete", True, detail)
    if completeness.missing:
        shown = ", ".join(completeness.missing[:3])
        more = len(completeness.missing) - 3
        detail += f"; without a rating: {shown}" + (f" and {more} more" if more > 0 else "")
    if allow_partial:
        return GateResult("complete", True, detail + " (partial run allowed: every figure is partial)")
    return GateResult("complete", False, detail + ": incomplete run, no statistics computed")


def _overall_detail(overall: Group[Comparison], alpha: float) -> str:
    c = overall.comparison
    if c.p_value is None:
        return "no test: a group has no ratings"
    relation = "significant" if c.p_value < alpha else "not significant"
    comparative = {"better": "higher", "worse": "lower"}.get(c.direction or "", "equal")
    return (
        f"Good rate {percent(c.good_rate)} vs baseline {percent(c.baseline_good_rate)}, "
        f"{comparative}; {relation} ({c.test} p={c.p_value:.3g}, alpha {alpha:g})"
    )


def _min_good_gain(overall: Group[Comparison], minimum: float) -> GateResult:
    gain = overall.comparison.good_gain_relative
    if gain is None:
        return GateResult("min-good-gain", False, "relative gain undefined: the baseline has no Good rating")
    relation = ">=" if gain >= minimum else "<"
    return GateResult("min-good-gain", gain >= minimum, f"relative Good gain {gain:+.1%} {relation} {minimum:+.1%}")


def _no_emotion_worse(summary: Summary) -> GateResult:
    worse = [g for g in summary.emotions.values() if g.significant and g.comparison.direction == Direction.WORSE]
    if not worse:
        return GateResult("no-emotion-worse", True, "no emotion significantly worse after Holm")
    listed = ", ".join(f"{g.name} (p_holm={g.p_holm:.3g})" for g in worse)
    return GateResult("no-emotion-worse", False, f"significantly worse after Holm: {listed}")
