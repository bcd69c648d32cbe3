"""A run against its baseline: the model's ratings and the baseline's, overall, per
polarity and per emotion.

Paired when the baseline rated the same cases (a rating per case); unpaired against counts
per emotion (the release's crowd counts, for a corpus that rates no human responses).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from pytest_empathy.modes import GateTest
from pytest_empathy.ratings import Counts, Rating

from .comparison import Comparison, compare
from .groups import Grouped, HolmByTest, RatedCase, grouped, holm, holm_by_test
from .power import Detectable, detectable


@dataclass(frozen=True)
class Summary(Grouped[Comparison]):
    alpha: float
    decides: GateTest
    partial: bool
    paired: bool
    # The study's test, Holm-adjusted across the emotions, by emotion.
    study_p_holm: dict[str, float | None]
    # What each group (overall, polarities, emotions, by name) can detect at 80% power.
    detectable: dict[str, Detectable]
    # Both tests' one-sided p-values (better, worse), Holm-adjusted across the emotions, by
    # test and emotion: the deciding test's are its groups' own, the other's are reported.
    holm_by_test: HolmByTest


def summarize(
    results: Iterable[RatedCase],
    *,
    alpha: float,
    decides: GateTest = GateTest.GOOD_RATE,
    per_emotion_baseline: Mapping[str, Counts] | None = None,
    partial: bool = False,
) -> Summary:
    """Statistics of the rated cases.

    The baseline comes from each case's baseline rating, or, when ``per_emotion_baseline`` is
    given, from those fixed counts for the emotions that have rated cases. ``decides`` names
    the test behind every verdict.
    """
    model: dict[str, list[Rating]] = {}
    pairs: dict[str, list[tuple[Rating, Rating]]] = {}
    for result in results:
        model.setdefault(result.emotion, []).append(result.rating)
        if per_emotion_baseline is None:
            if result.baseline_rating is None:
                raise ValueError(f"case {result.case_id} has no baseline rating")
            pairs.setdefault(result.emotion, []).append((result.rating, result.baseline_rating))
    emotions = sorted(model)
    model_counts = {e: Counts.of(model[e]) for e in emotions}
    if per_emotion_baseline is None:
        base_counts = {e: Counts.of(b for _, b in pairs[e]) for e in emotions}
    else:
        base_counts = {e: per_emotion_baseline[e] for e in emotions}
    is_paired = per_emotion_baseline is None

    def comparison(members: Sequence[str]) -> Comparison:
        model, baseline = _total(model_counts, members), _total(base_counts, members)
        if is_paired:
            both = [pair for e in members for pair in pairs[e]]
            return compare(model, baseline, alpha=alpha, decides=decides, pairs=both)
        strata = [(model_counts[e], base_counts[e]) for e in members]
        return compare(model, baseline, alpha=alpha, decides=decides, strata=strata)

    groups = grouped(emotions, comparison, alpha=alpha)
    study_p_holm = holm([groups.emotions[e].comparison.study.p_value for e in emotions])

    whole = {"overall": groups.overall, **groups.polarity}
    found = {name: _detectable(group.comparison, alpha) for name, group in whole.items()}
    # An emotion's verdict is Holm's: its first step tests at alpha over the emotions.
    found |= {e: _detectable(g.comparison, alpha / max(1, len(emotions))) for e, g in groups.emotions.items()}
    return Summary(
        groups.overall,
        groups.polarity,
        groups.emotions,
        alpha=alpha,
        decides=decides,
        partial=partial,
        paired=is_paired,
        study_p_holm=dict(zip(emotions, study_p_holm, strict=True)),
        detectable=found,
        holm_by_test=holm_by_test({e: g.comparison for e, g in groups.emotions.items()}),
    )


def _detectable(c: Comparison, alpha: float) -> Detectable:
    return detectable(c.good, c.model.n, c.baseline.n, c.baseline.good_rate, alpha)


def _total(counts: Mapping[str, Counts], members: Sequence[str]) -> Counts:
    total = Counts()
    for member in members:
        total += counts[member]
    return total
