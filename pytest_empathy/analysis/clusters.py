"""Ratings that share a rater are correlated: a rater lenient on one response tends to be
lenient on the next. Where the corpus names who rated what, the cases linked by a rater (on
either side) form a cluster, and every test and interval takes the clustering into account.

How: each estimate (a difference of Good rates, a probability of superiority) is a sum of
per-case contributions. Its cluster-robust (sandwich) variance sums them within clusters
before squaring, with the G/(G - 1) small-sample factor; the design effect is that variance
over the one that treats every case as independent (n/(n - 1) factor, so that clusters of one
case give exactly 1). The score and Wald statistics are divided by the square root of the
design effect (Rao and Scott's first-order correction), never by less than 1, and the
intervals invert the corrected statistics.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

from pytest_empathy.ratings import Counts, Rating

from .ordinal import placements

METHOD = (
    "cluster-robust (sandwich) variance over clusters of cases linked by a shared rater, G/(G-1) factor; "
    "score and Wald statistics divided by the square root of the design effect (Rao-Scott), "
    "never by less than 1; intervals invert the corrected statistics"
)


@dataclass(frozen=True)
class DesignEffects:
    """How much clustering inflates the variance of a group's two estimates (None: cannot
    tell, as with no variance), and the number of clusters among the group's cases."""

    clusters: int
    good: float | None
    ordinal: float | None


def clusters_of(raters: Mapping[str, Sequence[str]]) -> dict[str, int]:
    """Each case (by id, with the raters of its ratings) numbered by its cluster: the cases
    connected through shared raters."""
    parent: dict[Hashable, Hashable] = {}

    def root(node: Hashable) -> Hashable:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for case_id, labels in raters.items():
        for label in labels:
            parent[root(("case", case_id))] = root(("rater", label))
    numbers: dict[Hashable, int] = {}
    return {case_id: numbers.setdefault(root(("case", case_id)), len(numbers)) for case_id in raters}


def design_effect(contributions: Sequence[float], clusters: Sequence[int]) -> float | None:
    """The sandwich variance of a sum of per-case contributions (centred) over the variance
    that treats the cases as independent; None when either is zero or undefined."""
    n = len(contributions)
    sums: dict[int, float] = {}
    for value, cluster in zip(contributions, clusters, strict=True):
        sums[cluster] = sums.get(cluster, 0.0) + value
    g = len(sums)
    independent = sum(v * v for v in contributions)
    if n < 2 or g < 2 or independent <= 0:
        return None
    clustered = g / (g - 1) * sum(s * s for s in sums.values())
    return clustered / (n / (n - 1) * independent)


def paired_design_effects(pairs: Sequence[tuple[Rating, Rating]], clusters: Sequence[int]) -> DesignEffects:
    """(first, second) ratings of the same cases, each case's cluster: the Good-rate
    difference and Cliff's delta are means of per-case values."""
    good = [float(a == Rating.GOOD) - float(b == Rating.GOOD) for a, b in pairs]
    signs = [float((a > b) - (a < b)) for a, b in pairs]
    return DesignEffects(
        len(set(clusters)), design_effect(_centred(good), clusters), design_effect(_centred(signs), clusters)
    )


def unpaired_design_effects(
    first: Mapping[str, Sequence[tuple[Rating, int]]], second: Mapping[str, Counts]
) -> DesignEffects:
    """The first side's ratings with their clusters, by emotion, against the second side's
    counts (no raters): each emotion weighted by the first side's share, as the
    standardized estimates are. The second side's variance enters unclustered."""
    total = sum(len(ratings) for ratings in first.values())
    if not total:
        return DesignEffects(0, None, None)
    good: list[float] = []
    order: list[float] = []
    clusters: list[int] = []
    second_good = second_order = 0.0
    for emotion, ratings in first.items():
        counts, other = Counts.of(r for r, _ in ratings), second[emotion]
        if not counts.n or not other.n:
            continue
        rate = counts.good / counts.n
        place1, place2, superiority = placements(counts, other)
        for rating, cluster in ratings:
            good.append((float(rating == Rating.GOOD) - rate) / total)
            order.append((place1[rating - 1] - superiority) / total)
            clusters.append(cluster)
        weight = counts.n / total
        other_rate = other.good / other.n
        second_good += weight**2 * other_rate * (1 - other_rate) / other.n
        spread = sum(c * (p - (1 - superiority)) ** 2 for c, p in zip(other.as_tuple(), place2, strict=True))
        second_order += weight**2 * spread / max(1, other.n - 1) / other.n
    return DesignEffects(
        len(set(clusters)), _combined(good, clusters, second_good), _combined(order, clusters, second_order)
    )


def _combined(contributions: Sequence[float], clusters: Sequence[int], unclustered: float) -> float | None:
    """The design effect of an estimate whose first part is clustered and whose second part,
    of variance ``unclustered``, is not."""
    first = design_effect(contributions, clusters)
    n = len(contributions)
    independent = n / (n - 1) * sum(v * v for v in contributions) if n > 1 else 0.0
    if first is None or independent + unclustered <= 0:
        return None
    return (first * independent + unclustered) / (independent + unclustered)


def _centred(values: Sequence[float]) -> list[float]:
    if not values:
        return []
    mean = sum(values) / len(values)
    return [(v - mean) / len(values) for v in values]
