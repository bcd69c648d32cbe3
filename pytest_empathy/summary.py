"""A run's statistics: overall, per polarity and per emotion, with Holm across the emotions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .emotions import POLARITIES, POLARITY
from .ratings import Counts, Rating
from .results import CaseResult
from .stats import Comparison, compare, holm


@dataclass(frozen=True)
class Group:
    name: str
    comparison: Comparison
    significant: bool
    # Only emotions have a Holm-adjusted p-value; their significance is judged on it.
    p_holm: float | None = None


@dataclass(frozen=True)
class Summary:
    alpha: float
    partial: bool
    overall: Group
    polarity: dict[str, Group]
    emotions: dict[str, Group]


def summarize(
    results: Iterable[CaseResult],
    *,
    alpha: float,
    per_emotion_baseline: Mapping[str, Counts] | None = None,
    partial: bool = False,
) -> Summary:
    """Statistics of the rated cases.

    The baseline comes from each case's baseline rating, or, when ``per_emotion_baseline`` is
    given, from those fixed counts for the emotions that have rated cases.
    """
    model: dict[str, list[Rating]] = {}
    baseline: dict[str, list[Rating]] = {}
    for result in results:
        model.setdefault(result.emotion, []).append(result.rating)
        if per_emotion_baseline is None:
            if result.baseline_rating is None:
                raise ValueError(f"case {result.case_id} has no baseline rating")
            baseline.setdefault(result.emotion, []).append(result.baseline_rating)
    emotions = sorted(model)
    model_counts = {e: Counts.of(model[e]) for e in emotions}
    if per_emotion_baseline is None:
        base_counts = {e: Counts.of(baseline[e]) for e in emotions}
    else:
        base_counts = {e: per_emotion_baseline[e] for e in emotions}

    def group(name: str, members: list[str]) -> Group:
        comparison = compare(_total(model_counts, members), _total(base_counts, members))
        return Group(name, comparison, _significant(comparison.p_value, alpha))

    comparisons = {e: compare(model_counts[e], base_counts[e]) for e in emotions}
    adjusted = holm([comparisons[e].p_value for e in emotions])
    return Summary(
        alpha=alpha,
        partial=partial,
        overall=group("overall", emotions),
        polarity={
            p: group(p, [e for e in emotions if POLARITY[e] == p])
            for p in POLARITIES
        },
        emotions={
            e: Group(e, comparisons[e], _significant(p_holm, alpha), p_holm)
            for e, p_holm in zip(emotions, adjusted)
        },
    )


def _total(counts: Mapping[str, Counts], members: list[str]) -> Counts:
    total = Counts()
    for member in members:
        total += counts[member]
    return total


def _significant(p_value: float | None, alpha: float) -> bool:
    return p_value is not None and p_value < alpha
