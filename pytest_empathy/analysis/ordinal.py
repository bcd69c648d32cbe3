"""Bad < Okay < Good as an order: how often the model's rating is the higher one (Cliff's
delta), its one-sided tests and interval from one statistic each, and the classical rank
and linear-by-linear tests reported beside it.

See docs/explanation/statistics.md, "The ordinal effect".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from pytest_empathy.ratings import Counts, Rating

from .distributions import NORMAL, Reference, normal_cdf
from .proportions import PAIRED_EXACT, Interval, PairedCounts, inflation, paired

EFFECT_UNPAIRED = (
    "Brunner-Munzel's statistic (the Wilcoxon-Mann-Whitney effect, variance not assuming equal distributions), "
    "reported and undecided: no test of it holds its size over distributions of different shapes at an emotion's sizes"
)
EFFECT_STANDARDIZED = (
    "Brunner-Munzel per emotion, weighted by the model's emotion mix, its variance bounded by the largest any "
    "distributions with no ordinal difference give (1 / (4 min(n1, n2)) an emotion), on the normal with a "
    "continuity correction of half a model rating (clustered: the bound times the design effect, on t, G - 1 dof)"
)
EFFECT_PAIRED = "Tango score on the sign of each case's difference (McNemar's at no difference)"
EFFECT_PAIRED_EXACT = "exact sign test (binomial, conditional on the cases rated differently)"
RANK_UNPAIRED = "Wilcoxon-Mann-Whitney, tie-corrected normal approximation, two-sided"
RANK_PAIRED = "Wilcoxon signed-rank, zero differences dropped, tie-corrected normal approximation, two-sided"
TREND = "linear-by-linear association, scores 1/2/3, two-sided (unpaired only)"
# Below this many ratings on a side the rank test's null variance floors Brunner-Munzel's:
# with 2 against 62 ratings their variance alone rejected a true null up to 77% of the time.
SMALL = 20


# Why an emotion's unpaired comparison decides nothing: not its number of ratings, none would do.
SHAPE = (
    "Brunner-Munzel's test does not hold its size within an emotion, at any number of ratings, over distributions "
    "of different shapes with no ordinal difference (half Bad, half Good against all Okay)"
)


def undecided(first: Counts, second: Counts) -> str:
    """Why an emotion's unpaired ordinal comparison decides nothing, in the words every output
    uses (as "undecided: too few raters" for clusters)."""
    return f"undecided: {SHAPE} ({first.n} against {second.n} here)"


@dataclass(frozen=True)
class OrdinalTest:
    """The first side's ratings against the second's, as an order."""

    paired: bool
    method: str
    confidence: float
    # Cliff's delta, and its test: positive when the first side is rated higher.
    delta: float
    statistic: float
    # None where the comparison is ``undecided``: no p-value and no interval.
    p_greater: float | None
    p_less: float | None
    delta_ci: Interval | None
    # The classical rank test and the trend test, two-sided; None where not defined.
    rank_statistic: float | None = None
    rank_p_value: float | None = None
    trend_statistic: float | None = None
    trend_p_value: float | None = None
    # Why the test decides nothing (an emotion's unpaired comparison); None when it decides.
    undecided: str | None = None

    @property
    def superiority(self) -> float:
        return (1 + self.delta) / 2

    @property
    def rank_test(self) -> str:
        return RANK_PAIRED if self.paired else RANK_UNPAIRED


@dataclass(frozen=True)
class _Effect:
    """A probability of superiority, its variance and the t's degrees of freedom (None: normal)."""

    superiority: float
    variance: float
    dof: float | None


def unpaired(first: Counts, second: Counts, *, confidence: float) -> OrdinalTest:
    """Two independent groups of ratings within an emotion, both non-empty: the effect and
    Brunner and Munzel's statistic, ``undecided`` (why: docs/explanation/statistics.md,
    "The ordinal effect"), and the classical rank and trend tests beside them."""
    effect = _brunner_munzel(first, second)
    delta, spread = 2 * effect.superiority - 1, 2 * math.sqrt(effect.variance)
    statistic = delta / spread if spread else 0.0
    test = OrdinalTest(
        False, EFFECT_UNPAIRED, confidence, delta, statistic, None, None, None, undecided=undecided(first, second)
    )
    return _with_classical(test, _mann_whitney(first, second), _linear_by_linear(first, second))


def standardized(
    strata: Sequence[tuple[Counts, Counts]],
    *,
    confidence: float,
    design_effect: float | None = None,
    reference: Reference = NORMAL,
) -> OrdinalTest:
    """Independent groups over several strata (emotions), each (first, second); the strata
    weighted by the first side's counts. Strata where a side has no rating are left out.

    Each stratum's probability of superiority is Brunner and Munzel's estimate; the variance
    of the weighted sum is not estimated but bounded: at a probability of superiority of 1/2
    no pair of distributions, of whatever shapes, gives a stratum's estimate a variance above
    1 / (4 min(n1, n2)) (``largest_variance``). The statistic is referred to the normal (to
    t on G - 1 dof, the bound times the design effect, when clustered) after a continuity
    correction of half a first-side rating's weight, 1 / (2 N) of N first-side ratings: where
    the bound is reached (half Bad and half Good against all Okay) the estimate is a binomial
    share of N, whose steps of 1 / N the normal would otherwise overshoot (2 ratings over 2
    emotions: 1/16 rejected at alpha 0.05). Its interval inverts the same statistic, so
    that it excludes no difference exactly when a one-sided test rejects."""
    kept = [(f, s) for f, s in strata if f.n and s.n]
    total = sum(f.n for f, _ in kept)
    superiority = sum(f.n / total * _brunner_munzel(f, s).superiority for f, s in kept)
    variance = sum((f.n / total) ** 2 * largest_variance(f.n, s.n) for f, s in kept)
    effect = _inflated(_Effect(superiority, variance, None), design_effect, reference)
    return bounded(effect.superiority, effect.variance, 1 / (2 * total), confidence=confidence, dof=effect.dof)


def largest_variance(n1: int, n2: int) -> float:
    """The largest variance the estimated probability of superiority of ``n1`` against ``n2``
    ratings can have when the true one is s: s (1 - s) / min(n1, n2), at most 1 / (4 min(n1,
    n2)). The estimate is a two-sample U-statistic of a kernel in [0, 1] (1 higher, 1/2 tied,
    0 lower) with mean s, so its variance is (sigma_xy^2 + (n2 - 1) sigma_x^2 + (n1 - 1)
    sigma_y^2) / (n1 n2), where sigma_x^2 + sigma_y^2 <= sigma_xy^2 (Hoeffding's
    decomposition) and sigma_xy^2 <= s (1 - s) (a variable in [0, 1] with mean s). Reached by
    a polarised side against a point mass between its two values."""
    return 1 / (4 * min(n1, n2))


def bounded(
    superiority: float, variance: float, correction: float, *, confidence: float, dof: float | None = None
) -> OrdinalTest:
    """The one-sided tests and the interval of a probability of superiority whose variance is
    a bound, each continuity-corrected by ``correction``, on t with ``dof`` (None: the normal)."""
    reference = Reference(dof)
    spread, excess = math.sqrt(variance), superiority - 0.5
    shrunk = math.copysign(max(abs(excess) - correction, 0.0), excess)
    margin = reference.critical(confidence) * spread + correction
    return OrdinalTest(
        paired=False,
        method=EFFECT_STANDARDIZED,
        confidence=confidence,
        delta=2 * excess,
        statistic=shrunk / spread,
        p_greater=reference.upper((excess - correction) / spread),
        p_less=reference.lower((excess + correction) / spread),
        delta_ci=Interval(max(-1.0, 2 * (excess - margin)), min(1.0, 2 * (excess + margin))),
    )


def paired_ratings(
    pairs: Sequence[tuple[Rating, Rating]],
    *,
    confidence: float,
    design_effect: float | None = None,
    reference: Reference = NORMAL,
) -> OrdinalTest:
    """(first, second) ratings of the same cases, at least one."""
    higher = sum(1 for a, b in pairs if a > b)
    lower = sum(1 for a, b in pairs if a < b)
    counts = PairedCounts(0, higher, lower, len(pairs) - higher - lower)
    signs = paired(counts, confidence=confidence, design_effect=design_effect, reference=reference)
    statistic, p_value = _signed_rank([int(a) - int(b) for a, b in pairs])
    return OrdinalTest(
        paired=True,
        method=EFFECT_PAIRED_EXACT if signs.method == PAIRED_EXACT else EFFECT_PAIRED,
        confidence=confidence,
        delta=signs.difference,
        statistic=signs.statistic,
        p_greater=signs.p_greater,
        p_less=signs.p_less,
        delta_ci=signs.difference_ci,
        rank_statistic=statistic,
        rank_p_value=p_value,
    )


def _brunner_munzel(first: Counts, second: Counts) -> _Effect:
    """The probability of superiority of ``first`` over ``second`` (ties counted half), with
    Brunner and Munzel's variance from the placements of each rating among the other
    group's. In small groups that variance can be far too small (two Good ratings against
    sixty: none of their own), so below ``SMALL`` ratings on a side, or where a side's
    placements do not vary, the rank test's variance under no difference is its floor; where
    Brunner and Munzel's is zero or undefined (a side of one rating) that variance stands in,
    on the normal."""
    n1, n2 = first.n, second.n
    place1, place2, superiority = placements(first, second)
    null = _mann_whitney_null_variance(first, second) / (n1 * n2) ** 2
    if n1 > 1 and n2 > 1:
        spread1 = placement_spread(first, place1, superiority) / (n1 - 1) / n1
        spread2 = placement_spread(second, place2, 1 - superiority) / (n2 - 1) / n2
        variance = spread1 + spread2
        if variance > 0:
            dof = variance**2 / (spread1**2 / (n1 - 1) + spread2**2 / (n2 - 1))
            if min(n1, n2) < SMALL or spread1 == 0 or spread2 == 0:
                variance = max(variance, null)
            return _Effect(superiority, variance, dof)
    return _Effect(superiority, null, None)


def placements(first: Counts, second: Counts) -> tuple[list[float], list[float], float]:
    """Each rating level's placement among the other group's ratings (the share below it,
    ties half), for the first group and the second, and the first's probability of
    superiority, their mean."""
    x, y = first.as_tuple(), second.as_tuple()
    place1 = [(sum(y[:k]) + y[k] / 2) / second.n for k in range(3)]
    place2 = [(sum(x[:k]) + x[k] / 2) / first.n for k in range(3)]
    return place1, place2, sum(c * p for c, p in zip(x, place1, strict=True)) / first.n


def _inflated(effect: _Effect, design_effect: float | None, reference: Reference) -> _Effect:
    """Clustered: the variance inflated, and the fewer degrees of freedom of the two."""
    dof = effect.dof if reference.dof is None else min(effect.dof or math.inf, reference.dof)
    return replace(effect, variance=effect.variance * inflation(design_effect), dof=dof)


def placement_spread(counts: Counts, place: Sequence[float], mean: float) -> float:
    """The sum of squared deviations of a group's placements from their mean."""
    return sum(c * (p - mean) ** 2 for c, p in zip(counts.as_tuple(), place, strict=True))


def _with_classical(
    test: OrdinalTest, rank: tuple[float, float] | None, trend: tuple[float, float] | None
) -> OrdinalTest:
    return replace(
        test,
        rank_statistic=None if rank is None else rank[0],
        rank_p_value=None if rank is None else rank[1],
        trend_statistic=None if trend is None else trend[0],
        trend_p_value=None if trend is None else trend[1],
    )


def _ties(counts: Sequence[int]) -> int:
    return sum(t**3 - t for t in counts)


def _mann_whitney_null_variance(first: Counts, second: Counts) -> float:
    """The variance of U under no difference, corrected for ties."""
    n1, n2 = first.n, second.n
    n = n1 + n2
    pooled = (first + second).as_tuple()
    return n1 * n2 / 12 * ((n + 1) - _ties(pooled) / (n * (n - 1)))


def _mann_whitney(first: Counts, second: Counts) -> tuple[float, float] | None:
    """Wilcoxon-Mann-Whitney's z and two-sided p (no continuity correction); None when
    every rating is the same."""
    variance = _mann_whitney_null_variance(first, second)
    if variance <= 0:
        return None
    n1, n2 = first.n, second.n
    u = n1 * n2 * _brunner_munzel(first, second).superiority
    z = (u - n1 * n2 / 2) / math.sqrt(variance)
    return z, 2 * normal_cdf(-abs(z))


def _linear_by_linear(first: Counts, second: Counts) -> tuple[float, float] | None:
    """The linear-by-linear association test of group (first 1, second 0) by rating score,
    z = sqrt(N - 1) r, signed (positive: the first side scores higher); None when every
    rating is the same."""
    n1, n = first.n, first.n + second.n
    scores = [1, 2, 3]
    pooled = (first + second).as_tuple()
    mean = sum(s * c for s, c in zip(scores, pooled, strict=True)) / n
    spread = sum(c * (s - mean) ** 2 for s, c in zip(scores, pooled, strict=True))
    group_spread = n1 * (1 - n1 / n)
    if spread <= 0 or group_spread <= 0:
        return None
    covariance = sum(c * (s - mean) for s, c in zip(scores, first.as_tuple(), strict=True))
    z = math.sqrt(n - 1) * covariance / math.sqrt(spread * group_spread)
    return z, 2 * normal_cdf(-abs(z))


def _signed_rank(differences: Sequence[int]) -> tuple[float | None, float | None]:
    """Wilcoxon's signed-rank z and two-sided p, zero differences dropped, midranks for ties;
    None when no difference is non-zero."""
    nonzero = sorted((abs(d), d) for d in differences if d)
    m = len(nonzero)
    if not m:
        return None, None
    sizes: dict[int, int] = {}
    for size, _ in nonzero:
        sizes[size] = sizes.get(size, 0) + 1
    midrank, start = {}, 0
    for size in sorted(sizes):
        midrank[size] = start + (sizes[size] + 1) / 2
        start += sizes[size]
    positive = sum(midrank[size] for size, d in nonzero if d > 0)
    variance = (m * (m + 1) * (2 * m + 1) - _ties(list(sizes.values())) / 2) / 24
    z = (positive - m * (m + 1) / 4) / math.sqrt(variance)
    return z, 2 * normal_cdf(-abs(z))
