"""A run compared with a saved run on the cases both rated: did the ratings get worse? Paired
tests of the Good rate's change, Holm across the emotions, Stuart-Maxwell beside them, the
cases whose rating changed, and what each check can detect.

See docs/explanation/statistics.md, "A run against a saved run".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from pytest_empathy.ratings import Rating

from .clusters import ClusteredCase, Design
from .groups import Grouped, HolmByTest, RatedCase, bonferroni_level, grouped, holm_by_test
from .power import DetectableDrop, detectable_drop
from .proportions import unchanged_lower_bound
from .rating_comparison import PairedComparison, compare_paired

METHOD = (
    "Good rate of this run against the saved run on the cases both rated: Tango's paired score "
    "test, one-sided (McNemar's at no change), and the interval that inverts it, or, without raters "
    "and with few discordant cases, McNemar's exact test and an interval that agrees with it; Holm across "
    "the emotions, each direction its own family, and an emotion's intervals at Bonferroni's "
    "simultaneous level (each bound at alpha over the number of emotions), so that they match "
    "its verdicts. Beside it, Stuart-Maxwell's test of marginal homogeneity on the paired "
    "Bad/Okay/Good ratings (exact where the discordant pairs are few), and the ordinal effect: "
    "Cliff's delta case by case, Tango's score test on the signs, Wilcoxon's signed-rank test"
)


# The order changed cases are listed in: declines first, the largest first, then gains.
TRANSITIONS = (
    (Rating.GOOD, Rating.BAD),
    (Rating.GOOD, Rating.OKAY),
    (Rating.OKAY, Rating.BAD),
    (Rating.BAD, Rating.GOOD),
    (Rating.OKAY, Rating.GOOD),
    (Rating.BAD, Rating.OKAY),
)
_RANK = {transition: rank for rank, transition in enumerate(TRANSITIONS)}


@dataclass(frozen=True)
class ChangedCase:
    """A case both runs rated, rated differently: ``saved`` in the saved run, ``run`` in this one."""

    case_id: str
    emotion: str
    saved: Rating
    run: Rating

    @property
    def worse(self) -> bool:
        return self.run < self.saved


@dataclass(frozen=True)
class SavedRunComparison(Grouped[PairedComparison]):
    compared: int
    only_in_run: int
    only_in_saved_run: int
    holm_by_test: HolmByTest
    # What each group (overall, polarities, emotions, by name) can detect at 80% power.
    detectable: dict[str, DetectableDrop]
    # Where the overall change's lower bound is expected with nothing changed; None without cases.
    unchanged_bound: float | None
    # What bad-rise, overall, can detect: a rise of the Bad rate, the not-Bad rate's drop.
    bad_rise_detectable: DetectableDrop | None = None
    # Every case rated differently by the two runs, in the order of TRANSITIONS, then by
    # emotion and case id.
    changed: tuple[ChangedCase, ...] = ()


def compare_with_saved_run(
    results: Iterable[RatedCase],
    saved: Mapping[str, tuple[str, Rating]],
    *,
    alpha: float,
    saved_raters: Mapping[str, str | None] | None = None,
) -> SavedRunComparison:
    """``saved`` maps each case id of the saved run to its emotion and rating,
    ``saved_raters`` to who rated it, where the saved run names raters."""
    cases = {result.case_id: result for result in results}
    after = {case_id: (case.emotion, case.rating) for case_id, case in cases.items()}
    common = sorted(saved.keys() & after.keys())
    pairs: dict[str, list[tuple[Rating, Rating]]] = {}
    clustered: dict[str, list[ClusteredCase]] = {}
    for case_id in common:
        emotion = after[case_id][0]
        pairs.setdefault(emotion, []).append((saved[case_id][1], after[case_id][1]))
        saved_rater = None if saved_raters is None else saved_raters.get(case_id)
        case = ClusteredCase(case_id, after[case_id][1], saved[case_id][1], cases[case_id].rater, saved_rater)
        clustered.setdefault(emotion, []).append(case)
    design = Design(clustered) if Design.named([c for e in clustered.values() for c in e]) else None

    def comparison(members: Sequence[str], level: float, family: int) -> PairedComparison:
        effects = None if design is None else design.of(members)
        return compare_paired([pair for e in members for pair in pairs[e]], alpha=level, design=effects, family=family)

    groups = grouped(sorted(pairs), comparison, alpha=alpha)
    whole = {"overall": groups.overall, **groups.polarity}
    detectable = {name: _detectable(group.comparison, alpha) for name, group in whole.items()}
    # An emotion's verdict is Holm's: its first step tests at alpha over the emotions.
    level = bonferroni_level(alpha, len(groups.emotions))
    detectable |= {e: _detectable(g.comparison, level, len(groups.emotions)) for e, g in groups.emotions.items()}
    overall = groups.overall.comparison
    bound = None
    if overall.good is not None:
        found = detectable["overall"]
        bound = unchanged_lower_bound(
            overall.n / found.design_effect,
            overall.good.discordant or 0.0,
            confidence=overall.good.confidence,
            reference=found.reference,
        )
    return SavedRunComparison(
        groups.overall,
        groups.polarity,
        groups.emotions,
        compared=len(common),
        only_in_run=len(after.keys() - saved.keys()),
        only_in_saved_run=len(saved.keys() - after.keys()),
        holm_by_test=holm_by_test({e: g.comparison for e, g in groups.emotions.items()}),
        detectable=detectable,
        unchanged_bound=bound,
        bad_rise_detectable=None if overall.bad is None else _detectable_rise(overall, alpha),
        changed=changed_cases(common, saved, after),
    )


def changed_cases(
    common: Iterable[str], saved: Mapping[str, tuple[str, Rating]], after: Mapping[str, tuple[str, Rating]]
) -> tuple[ChangedCase, ...]:
    """The cases of ``common`` (ids in both runs) whose rating changed, worst first."""
    changed = [
        ChangedCase(case_id, after[case_id][0], saved[case_id][1], after[case_id][1])
        for case_id in common
        if saved[case_id][1] != after[case_id][1]
    ]
    return tuple(sorted(changed, key=lambda c: (_RANK[c.saved, c.run], c.emotion, c.case_id)))


def _detectable(c: PairedComparison, level: float, family: int = 1) -> DetectableDrop:
    discordant = 0.0 if c.good is None else c.good.discordant or 0.0
    if c.design is None:
        return detectable_drop(c.n, c.before.good, discordant, level, family=family)
    # Clustered ratings are worth fewer independent ones: n over the design effect.
    return detectable_drop(
        c.n, c.before.good, discordant, level, design_effect=c.design.good, reference=c.design.reference
    )


def _detectable_rise(c: PairedComparison, level: float) -> DetectableDrop:
    """What the paired test of the Bad rate can detect: its rise is the fall of the share not
    Bad, which only the saved run's cases not Bad can make."""
    assert c.bad is not None
    not_bad, discordant = c.n - c.before.bad, c.bad.discordant or 0.0
    if c.design is None:
        return detectable_drop(c.n, not_bad, discordant, level)
    return detectable_drop(c.n, not_bad, discordant, level, design_effect=c.design.bad, reference=c.design.reference)
