"""Ratings that share a rater are correlated; where the corpus names who rated what, every
test and interval takes it into account: a cluster-robust (two-way where both sides name
raters) design effect, statistics referred to Student's t on the clusters (``Design``).

See docs/explanation/statistics.md, "Rater clusters".
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

from pytest_empathy.ratings import Counts, Rating

from .distributions import Reference
from .ordinal import placement_spread, placements

# Below this many raters a variance estimated over them (PPI's jackknife) is too uncertain to trust.
FEW_RATERS = 20
# Below this many clusters (G) a gate or check resting on clustered figures is undecided: the
# sandwich is then too uncertain even on t with G - 1 dof (tests/test_clusters.py; docs/explanation/statistics.md).
FEWEST_CLUSTERS = 12
METHOD = (
    "cluster-robust (sandwich) variance over raters, two-way where both sides name raters (Cameron-Gelbach-"
    "Miller), G/(G-1) factor, estimated over the whole run; a group's design effect 1 + rho K/n from the run's "
    "intraclass correlation rho and the group's case pairs sharing a rater; score and Wald statistics divided "
    "by the square root of the design effect (Rao-Scott), never by less than 1, and referred to Student's t on "
    "G - 1 dof (G the clusters: two-way, the smaller side's raters) for p-values and intervals alike, which "
    f"invert the corrected statistics; below {FEWEST_CLUSTERS} clusters no gate or check decides"
)


@dataclass(frozen=True)
class DesignEffects:
    """How much clustering inflates the variance of a group's estimates (None: cannot tell,
    as with no variance), how many raters rated the group's cases, and the number of clusters
    G of the whole comparison the design effects were estimated from."""

    raters: int
    good: float | None
    ordinal: float | None
    clusters: int
    # The Bad rate's, for the no-more-bad gate: a rater harsh on one answer is harsh on the
    # next, and Bad ratings need not cluster as Good ones do.
    bad: float | None = None

    @property
    def reference(self) -> Reference:
        """Student's t on G - 1 degrees of freedom."""
        return Reference(max(1, self.clusters - 1))

    @property
    def undecided(self) -> str | None:
        """Why no gate or check decides on these figures; None when they may."""
        if self.clusters >= FEWEST_CLUSTERS:
            return None
        return f"undecided: too few raters ({self.clusters} of at least {FEWEST_CLUSTERS} needed)"


@dataclass(frozen=True)
class Raters:
    """Who rated each case's model rating and baseline rating, by case id: a rater's number,
    or None (a judge model, a baseline of counts)."""

    model: Mapping[str, str | None]
    baseline: Mapping[str, str | None]

    def labels(self, case_ids: Sequence[str]) -> tuple[list[Hashable], list[Hashable]]:
        """Cluster labels of the cases on each side: the rater, or the case itself."""
        return (
            [_label(self.model[i], i) for i in case_ids],
            [_label(self.baseline[i], i) for i in case_ids],
        )

    def count(self, case_ids: Sequence[str]) -> int:
        return len({self.model[i] for i in case_ids} - {None}) + len({self.baseline[i] for i in case_ids} - {None})

    def shared_pairs(self, case_ids: Sequence[str]) -> int:
        """Ordered pairs of distinct cases that share a rater on either side."""
        model, baseline = self.labels(case_ids)
        return _squares(model) + _squares(baseline) - _squares(list(zip(model, baseline, strict=True))) - len(case_ids)


@dataclass(frozen=True)
class ClusteredCase:
    """A case rated on two sides (the second's rating None against counts), and who rated it
    on each: a rater's number, or None."""

    case_id: str
    first: Rating
    second: Rating | None
    first_rater: str | None
    second_rater: str | None


class Design:
    """The design effects of a comparison's groups: estimated over all its cases, then carried
    to each group (its emotions) by the intraclass correlation they imply. Paired when every
    case has its second rating; else against ``second``, the second side's counts by emotion."""

    def __init__(self, by_emotion: Mapping[str, Sequence[ClusteredCase]], second: Mapping[str, Counts] | None = None):
        self.by_emotion, self.second = by_emotion, second
        cases = [c for e in sorted(by_emotion) for c in by_emotion[e]]
        self.raters = Raters({c.case_id: c.first_rater for c in cases}, {c.case_id: c.second_rater for c in cases})
        ids = [c.case_id for c in cases]
        self.share = self.raters.shared_pairs(ids) / len(ids)
        first, second_labels = self.raters.labels(ids)
        # G: the clusters of the side with fewer. A side naming no rater has one per case; on a
        # side naming some, a case without one adds no cluster of its own to G: that would let
        # a few raters and a few unnamed cases pass for enough clusters.
        self.clusters = min(_clusters(self.raters.model, ids), _clusters(self.raters.baseline, ids))
        if second is None:
            pairs = [(c.first, _second(c)) for c in cases]
            good, order = paired_contributions(pairs)
            bad = paired_bad_contributions(pairs)
        else:
            parts = self._parts(sorted(by_emotion))
            good, order, bad = parts.good, parts.ordinal, parts.bad
            # The whole run's, which ``of`` asks again for the overall comparison.
            self._whole = (tuple(sorted(by_emotion)), parts)
        # Unpaired, these are the first side's own; the counts' variance joins per group.
        self.good = design_effect(good, first, second_labels)
        self.ordinal = design_effect(order, first, second_labels)
        self.bad = design_effect(bad, first, second_labels)

    @staticmethod
    def named(cases: Sequence[ClusteredCase]) -> bool:
        """Whether any of the cases names a rater: else there is nothing to cluster."""
        return any(c.first_rater is not None or c.second_rater is not None for c in cases)

    def of(self, members: Sequence[str]) -> DesignEffects:
        ids = [c.case_id for e in members for c in self.by_emotion[e]]
        share = self.raters.shared_pairs(ids) / len(ids) if ids else 0.0
        good, order = pooled(self.good, self.share, share), pooled(self.ordinal, self.share, share)
        bad = pooled(self.bad, self.share, share)
        if self.second is not None:
            parts = self._whole[1] if tuple(members) == self._whole[0] else self._parts(members)
            good, order = (
                combined(good, parts.good, parts.second_good),
                combined(order, parts.ordinal, parts.second_ordinal),
            )
            bad = combined(bad, parts.bad, parts.second_bad)
        return DesignEffects(self.raters.count(ids), good, order, self.clusters, bad)

    def _parts(self, members: Sequence[str]) -> UnpairedParts:
        assert self.second is not None
        return unpaired_parts({e: [c.first for c in self.by_emotion[e]] for e in members}, self.second)


def _clusters(raters: Mapping[str, str | None], case_ids: Sequence[str]) -> int:
    """A side's clusters for G: its named raters, or, naming none, one a case."""
    named = {raters[i] for i in case_ids} - {None}
    return len(named) if named else len(case_ids)


def _second(case: ClusteredCase) -> Rating:
    assert case.second is not None  # a paired design rates every case on both sides
    return case.second


def design_effect(
    contributions: Sequence[float], model: Sequence[Hashable], baseline: Sequence[Hashable]
) -> float | None:
    """The two-way sandwich variance of a sum of per-case contributions (centred) over the
    variance that treats the cases as independent; None when that is zero or undefined."""
    independent = _independent(contributions)
    if independent <= 0:
        return None
    pairs = list(zip(model, baseline, strict=True))
    clustered = _sandwich(contributions, model) + _sandwich(contributions, baseline) - _sandwich(contributions, pairs)
    return clustered / independent


def pooled(overall: float | None, overall_share: float, share: float) -> float | None:
    """A group's design effect from the run's: the intraclass correlation the run's implies,
    at the group's share of case pairs sharing a rater (``K / n``)."""
    if overall is None:
        return None
    if overall_share <= 0:
        return 1.0
    return 1 + (overall - 1) / overall_share * share


def paired_contributions(pairs: Sequence[tuple[Rating, Rating]]) -> tuple[list[float], list[float]]:
    """Each case's centred contribution to the Good-rate difference and to Cliff's delta of
    (first, second) ratings of the same cases."""
    good = [float(a == Rating.GOOD) - float(b == Rating.GOOD) for a, b in pairs]
    signs = [float((a > b) - (a < b)) for a, b in pairs]
    return _centred(good), _centred(signs)


def paired_bad_contributions(pairs: Sequence[tuple[Rating, Rating]]) -> list[float]:
    """Each case's centred contribution to the Bad-rate difference of (first, second) ratings
    of the same cases."""
    return _centred([float(a == Rating.BAD) - float(b == Rating.BAD) for a, b in pairs])


@dataclass(frozen=True)
class UnpairedParts:
    """An unpaired group's estimates split into the first side's per-case contributions
    (clustered) and the second side's variance (counts, unclustered), Good rate and ordinal."""

    good: list[float]
    ordinal: list[float]
    second_good: float
    second_ordinal: float
    bad: list[float]
    second_bad: float


def unpaired_parts(first: Mapping[str, Sequence[Rating]], second: Mapping[str, Counts]) -> UnpairedParts:
    """The first side's ratings by emotion against the second side's counts: each emotion
    weighted by the first side's share, as the standardized estimates are."""
    total = sum(len(ratings) for ratings in first.values())
    parts = UnpairedParts([], [], 0.0, 0.0, [], 0.0)
    second_good = second_ordinal = second_bad = 0.0
    for emotion, ratings in first.items():
        counts, other = Counts.of(ratings), second[emotion]
        if not counts.n or not other.n:
            continue
        rate = counts.good / counts.n
        bad_rate = counts.bad / counts.n
        place1, place2, superiority = placements(counts, other)
        for rating in ratings:
            parts.good.append((float(rating == Rating.GOOD) - rate) / total)
            parts.ordinal.append((place1[rating - 1] - superiority) / total)
            parts.bad.append((float(rating == Rating.BAD) - bad_rate) / total)
        weight = counts.n / total
        other_rate = other.good / other.n
        second_good += weight**2 * other_rate * (1 - other_rate) / other.n
        other_bad = other.bad / other.n
        second_bad += weight**2 * other_bad * (1 - other_bad) / other.n
        spread = placement_spread(other, place2, 1 - superiority)
        second_ordinal += weight**2 * spread / max(1, other.n - 1) / other.n
    return UnpairedParts(parts.good, parts.ordinal, second_good, second_ordinal, parts.bad, second_bad)


def combined(first: float | None, contributions: Sequence[float], unclustered: float) -> float | None:
    """The design effect of an estimate whose first part, of design effect ``first``, is
    clustered and whose second part, of variance ``unclustered``, is not."""
    independent = _independent(contributions)
    if first is None or independent + unclustered <= 0:
        return None
    return (first * independent + unclustered) / (independent + unclustered)


def _independent(contributions: Sequence[float]) -> float:
    """The variance of a sum of centred contributions taken as independent, n/(n - 1) factor."""
    n = len(contributions)
    return n / (n - 1) * sum(v * v for v in contributions) if n > 1 else 0.0


def _sandwich(contributions: Sequence[float], labels: Sequence[Hashable]) -> float:
    sums: dict[Hashable, float] = {}
    for value, label in zip(contributions, labels, strict=True):
        sums[label] = sums.get(label, 0.0) + value
    g = len(sums)
    return 0.0 if g < 2 else g / (g - 1) * sum(s * s for s in sums.values())


def _squares(labels: Sequence[Hashable]) -> int:
    sizes: dict[Hashable, int] = {}
    for label in labels:
        sizes[label] = sizes.get(label, 0) + 1
    return sum(m * m for m in sizes.values())


def _label(rater: str | None, case_id: str) -> Hashable:
    return ("case", case_id) if rater is None else ("rater", rater)


def _centred(values: Sequence[float]) -> list[float]:
    if not values:
        return []
    mean = sum(values) / len(values)
    return [(v - mean) / len(values) for v in values]
