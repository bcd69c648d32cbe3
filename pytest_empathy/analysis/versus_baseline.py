"""A run against its baseline: the model's ratings and the baseline's, overall, per
polarity and per emotion."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from pytest_empathy.ratings import Counts, Rating

from .comparison import Comparison, compare
from .groups import Grouped, RatedCase, grouped


@dataclass(frozen=True)
class Summary(Grouped[Comparison]):
    alpha: float
    partial: bool


def summarize(
    results: Iterable[RatedCase],
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

    def comparison(members: Sequence[str]) -> Comparison:
        return compare(_total(model_counts, members), _total(base_counts, members))

    groups = grouped(emotions, comparison, alpha=alpha)
    return Summary(groups.overall, groups.polarity, groups.emotions, alpha=alpha, partial=partial)


def _total(counts: Mapping[str, Counts], members: Sequence[str]) -> Counts:
    total = Counts()
    for member in members:
        total += counts[member]
    return total
