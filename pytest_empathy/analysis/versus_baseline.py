"""A run against its baseline: the model's ratings and the baseline's, overall, per
polarity and per emotion.

Paired when the baseline rated the same cases (a rating per case); unpaired against counts
per emotion (the release's crowd counts, for a corpus that rates no human responses).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from pytest_empathy.emotions import POLARITIES, POLARITY
from pytest_empathy.modes import GateTest
from pytest_empathy.ratings import Counts, Rating

from .clusters import ClusteredCase, Design
from .distributions import NORMAL
from .groups import Grouped, HolmByTest, RatedCase, bonferroni_level, grouped, holm, holm_by_test
from .power import (
    FARRINGTON_MANNING,
    NO_RATINGS,
    PAIRED_POWER,
    Detectable,
    detectable,
    detectable_paired,
    margin_bounded,
    margin_unpaired,
    no_discordant,
)
from .proportions import inflation, valid_bound_level
from .rating_comparison import Comparison, GateMargins, compare


@dataclass(frozen=True)
class Summary(Grouped[Comparison]):
    alpha: float
    decides: GateTest
    partial: bool
    paired: bool
    # Whether the ratings name their raters, and the statistics account for the clusters.
    clustered: bool
    # The study's test, Holm-adjusted across the emotions, by emotion.
    study_p_holm: dict[str, float | None]
    # What each group (overall, polarities, emotions, by name) can detect at 80% power.
    detectable: dict[str, Detectable]
    # Both tests' one-sided p-values (better, worse), Holm-adjusted across the emotions, by
    # test and emotion: the deciding test's are its groups' own, the other's are reported.
    holm_by_test: HolmByTest
    # The smallest no-more-bad margin each group (overall, polarities) shows with 80% power
    # when the Bad rates are equal; None where that cannot be judged.
    bad_margin_shown: dict[str, float | None] = field(default_factory=dict)
    # Whose power each of those margins is.
    bad_margin_method: dict[str, str] = field(default_factory=dict)


def summarize(
    results: Iterable[RatedCase],
    *,
    alpha: float,
    decides: GateTest = GateTest.GOOD_RATE,
    per_emotion_baseline: Mapping[str, Counts] | None = None,
    partial: bool = False,
    margins: GateMargins | None = None,
) -> Summary:
    """Statistics of the rated cases.

    The baseline comes from each case's baseline rating, or, when ``per_emotion_baseline`` is
    given, from those fixed counts for the emotions that have rated cases. ``decides`` names
    the test behind every verdict; ``margins`` the nulls the margin gates test on the overall
    comparison.
    """
    by_emotion = _by_emotion(results, paired=per_emotion_baseline is None)
    ratings = _RatingsByEmotion.of(by_emotion, per_emotion_baseline, decides=decides, margins=margins)
    emotions = ratings.emotions
    groups = grouped(emotions, ratings.comparison, alpha=alpha)
    study_p_holm = holm([groups.emotions[e].comparison.study.p_value for e in emotions])

    whole = {"overall": groups.overall, **groups.polarity}
    members = {"overall": emotions, **{p: [e for e in emotions if POLARITY[e] == p] for p in POLARITIES}}
    members |= {e: [e] for e in emotions}

    def strata(name: str, rating: Rating) -> list[tuple[int, int, int, int]] | None:
        return ratings.strata(members[name], rating)

    found = {name: _detectable(group.comparison, alpha, strata(name, Rating.GOOD)) for name, group in whole.items()}
    # An emotion's verdict is Holm's: its first step tests at alpha over the emotions.
    level = bonferroni_level(alpha, len(emotions))
    found |= {e: _detectable(g.comparison, level, strata(e, Rating.GOOD)) for e, g in groups.emotions.items()}
    margins_shown = {
        name: _bad_margin_shown(g.comparison, alpha, strata(name, Rating.BAD)) for name, g in whole.items()
    }
    return Summary(
        groups.overall,
        groups.polarity,
        groups.emotions,
        alpha=alpha,
        decides=decides,
        partial=partial,
        paired=ratings.paired,
        clustered=ratings.design is not None,
        study_p_holm=dict(zip(emotions, study_p_holm, strict=True)),
        detectable=found,
        holm_by_test=holm_by_test({e: g.comparison for e, g in groups.emotions.items()}),
        bad_margin_shown={name: shown for name, (shown, _) in margins_shown.items()},
        bad_margin_method={name: method for name, (_, method) in margins_shown.items()},
    )


def _by_emotion(results: Iterable[RatedCase], *, paired: bool) -> dict[str, list[RatedCase]]:
    """The rated cases by emotion, each emotion's in the order of their ids."""
    by_emotion: dict[str, list[RatedCase]] = {}
    for case in sorted(results, key=lambda case: case.case_id):
        if paired and case.baseline_rating is None:
            raise ValueError(f"case {case.case_id} has no baseline rating")
        by_emotion.setdefault(case.emotion, []).append(case)
    return by_emotion


@dataclass(frozen=True)
class _RatingsByEmotion:
    """Both sides' ratings by emotion, and how a group of emotions is compared from them."""

    by_emotion: dict[str, list[RatedCase]]
    model_counts: dict[str, Counts]
    baseline_counts: dict[str, Counts]
    # Whether the baseline rated the same cases (a rating per case), not counts per emotion.
    paired: bool
    design: Design | None
    decides: GateTest
    margins: GateMargins | None

    @classmethod
    def of(
        cls,
        by_emotion: dict[str, list[RatedCase]],
        per_emotion_baseline: Mapping[str, Counts] | None,
        *,
        decides: GateTest,
        margins: GateMargins | None,
    ) -> _RatingsByEmotion:
        emotions = sorted(by_emotion)
        model_counts = {e: Counts.of(c.rating for c in by_emotion[e]) for e in emotions}
        paired = per_emotion_baseline is None
        if per_emotion_baseline is None:
            baseline_counts = {e: Counts.of(_baseline(c) for c in by_emotion[e]) for e in emotions}
        else:
            baseline_counts = {e: per_emotion_baseline[e] for e in emotions}
        clustered = {
            e: [ClusteredCase(c.case_id, c.rating, c.baseline_rating, c.rater, c.baseline_rater) for c in by_emotion[e]]
            for e in emotions
        }
        design = None
        if Design.named([c for e in emotions for c in clustered[e]]):
            design = Design(clustered, None if paired else baseline_counts)
        return cls(by_emotion, model_counts, baseline_counts, paired, design, decides, margins)

    @property
    def emotions(self) -> list[str]:
        return sorted(self.by_emotion)

    def comparison(self, members: Sequence[str], level: float, family: int) -> Comparison:
        model_total, baseline = _total(self.model_counts, members), _total(self.baseline_counts, members)
        effects = None if self.design is None else self.design.of(members)
        if self.paired:
            both = [(c.rating, _baseline(c)) for e in members for c in self.by_emotion[e]]
            return compare(
                model_total, baseline, alpha=level, decides=self.decides, pairs=both, design=effects, family=family
            )
        strata = [(self.model_counts[e], self.baseline_counts[e]) for e in members]
        # The margin gates read the overall comparison only.
        at = self.margins if len(members) == len(self.by_emotion) else None
        return compare(
            model_total,
            baseline,
            alpha=level,
            decides=self.decides,
            strata=strata,
            design=effects,
            margins=at,
            family=family,
        )

    def strata(self, members: Sequence[str], rating: Rating) -> list[tuple[int, int, int, int]] | None:
        """A group's unpaired (model, baseline) counts of ``rating`` by emotion, as its
        comparison tests them: where the valid test decides a side, its power rests on them."""
        if self.paired:
            return None
        counts = [(self.model_counts[e], self.baseline_counts[e]) for e in members]
        at = rating - 1  # Counts.as_tuple is (Bad, Okay, Good)
        return [(m.as_tuple()[at], m.n, b.as_tuple()[at], b.n) for m, b in counts if m.n]


def _detectable(c: Comparison, alpha: float, strata: list[tuple[int, int, int, int]] | None) -> Detectable:
    # Clustered ratings are worth fewer independent ones: n over the design effect.
    shrink = inflation(None if c.design is None else c.design.good)
    reference = NORMAL if c.design is None else c.design.reference
    rate2 = c.baseline.good_rate
    return detectable(c.good, c.model.n / shrink, c.baseline.n / shrink, rate2, alpha, reference, strata)


def _bad_margin_shown(
    c: Comparison, alpha: float, strata: list[tuple[int, int, int, int]] | None
) -> tuple[float | None, str]:
    """The smallest no-more-bad margin shown with 80% power, and whose power it is. Paired,
    Connor's approximation for McNemar's test at the run's share of cases Bad on one side only
    (the margin plays the difference; exact enumeration finds 79% power at it); unpaired,
    Farrington and Manning's, or where the upper bound is (or reaches) Berger and Boos's valid
    test's, that test's at the level it ran at (``power.margin_bounded``). Clustered, n over the Bad rate's design
    effect."""
    bad = c.bad
    if bad is None or bad.second_rate is None:
        return None, NO_RATINGS
    shrink = inflation(None if c.design is None else c.design.bad)
    reference = NORMAL if c.design is None else c.design.reference
    if bad.paired:
        assert bad.discordant is not None
        shown = detectable_paired(bad.discordant, c.model.n / shrink, alpha, reference)
        return shown, PAIRED_POWER if shown is not None else no_discordant("Bad")
    level = valid_bound_level(bad, greater=False)
    if level is not None:
        if strata is None:
            raise ValueError("the valid test's power rests on the comparison's strata: none given")
        return margin_bounded(strata, bad.second_rate, level)
    return margin_unpaired(bad.second_rate, c.model.n / shrink, c.baseline.n / shrink, alpha, reference), (
        FARRINGTON_MANNING
    )


def _baseline(case: RatedCase) -> Rating:
    assert case.baseline_rating is not None  # checked by summarize for a paired run
    return case.baseline_rating


def _total(counts: Mapping[str, Counts], members: Sequence[str]) -> Counts:
    total = Counts()
    for member in members:
        total += counts[member]
    return total
