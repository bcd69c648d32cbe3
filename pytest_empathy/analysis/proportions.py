"""The Good rate of two groups compared: score tests of the difference and of the ratio, one
sided, and the intervals that invert the same tests, so that a test and its interval never
disagree.

Unpaired groups (different cases, or the release's per-emotion counts): Miettinen and
Nurminen's score statistics (1985), the variance taken at the maximum-likelihood rates under
the null and corrected by N/(N-1); where a group is so small that the score test's size
exceeds alpha by more than a third (``decided_unconditionally``, and no rater clusters), the
exact unconditional test on the same statistics (``unconditional``). Paired groups (both sides
rated on the same cases): Tango's score statistic for the difference (1998; McNemar's at no
difference) and Tang, Tang and Chan's for the ratio (2003); with so few cases Good on one side
only that the score test's size exceeds alpha by more than a third (``exact_cutover``, and no
rater clusters), the exact binomial test conditional on them, McNemar's exact, its intervals
widened to agree with it.
Unpaired groups over several strata (emotions), the second side
standardized to the first side's mix: one score-type statistic for the difference and, in
Fieller's form, the ratio (``standardized``).

Each interval is the set of null values that the two-sided test at its confidence does not
reject, found by bisection on the statistic, which falls as the null value rises. So the
lower bound of the (1 - 2 alpha) interval is above a value exactly when the one-sided test at
alpha rejects it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cache, lru_cache

from .distributions import NORMAL, Reference, binomial_tail, normal_cdf

UNPAIRED = "Miettinen-Nurminen score"
PAIRED = "Tango score (McNemar at no difference)"
PAIRED_EXACT = "McNemar's exact test (binomial, conditional on the discordant cases)"
# Where the exact test decides, each interval holds Clopper-Pearson's too, so that they agree.
WIDENED = "widened to hold Clopper-Pearson's on the discordant share"
UNPAIRED_RATIO = "Miettinen-Nurminen score"
STANDARDIZED = "score-type z, the baseline standardized to the model's emotion mix, the model's variance at the null"
STANDARDIZED_RATIO = STANDARDIZED + ", in Fieller's form for the ratio"
PAIRED_RATIO = "Tang-Tang-Chan score"
EXACT_WHEN = "where so few cases are discordant that the score test's size exceeds alpha by a third, without raters"
UNPAIRED_EXACT = "exact unconditional test (Chan) on the Miettinen-Nurminen score, inverted for its intervals"
UNPAIRED_EXACT_WHEN = (
    "where a group is so small that the score test's size exceeds alpha by a third (enumerated), without raters"
)
# Bisection stops when the bound is known to this width: far below any figure shown.
_TOLERANCE = 1e-12
# A score test whose size exceeds alpha by more than a third gives way to an exact one.
_SIZE_TOLERANCE = 4 / 3
# exact_cutover's search; at 200 it costs about a millisecond.
_CUTOVER_SEARCH = 200
# The most tables (x1, x2) of two unpaired groups whose score test's size is enumerated and,
# where it exceeds alpha by a third, replaced by the exact test: 10 against 300 (3,311) and 62
# against 62 are within. An exact comparison costs time in proportion to the tables (a tenth
# of a second at 2 against 62, two seconds at 10 against 300), so a larger pair keeps the
# score test, its size not corrected: at alpha 0.05, 0.096 at 100 against 300 over rates 0.01
# to 0.99, and 0.084 at 200 against 2,000.
_MOST_TABLES = 4_000


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


@dataclass(frozen=True)
class PairedCounts:
    """Good ratings of the same cases on two sides: both Good, only the first side Good,
    only the second, neither."""

    both: int
    first_only: int
    second_only: int
    neither: int

    @property
    def n(self) -> int:
        return self.both + self.first_only + self.second_only + self.neither


@dataclass(frozen=True)
class GoodRateTest:
    """The first side's Good rate against the second's."""

    paired: bool
    method: str
    ratio_method: str
    confidence: float
    # first minus second, and the score statistic at no difference (positive: first higher)
    difference: float
    statistic: float
    # one-sided p-values: the first side's Good rate higher, and lower
    p_greater: float
    p_less: float
    difference_ci: Interval
    # first over second; None where the second side has no Good rating
    ratio: float | None
    ratio_ci: Interval | None
    # Paired only: the share of cases Good on exactly one side.
    discordant: float | None = None
    # The second side's Good rate the first's is compared with (standardized, when it is).
    second_rate: float | None = None


def unpaired(
    good1: int,
    n1: int,
    good2: int,
    n2: int,
    *,
    confidence: float,
    design_effect: float | None = None,
    reference: Reference = NORMAL,
) -> GoodRateTest:
    """Two independent groups of ``n1`` and ``n2`` ratings, ``good1`` and ``good2`` of them
    Good; ``design_effect`` inflates the variance of clustered ratings and ``reference`` is
    the distribution their statistics are referred to (``clusters``). Miettinen-Nurminen's
    score test, or, unclustered and where its size exceeds alpha by a third
    (``decided_unconditionally``), the exact unconditional test on its statistic."""
    score = unpaired_score(good1, n1, good2, n2, confidence, design_effect, reference)
    if decided_unconditionally(n1, n2, (1 - confidence) / 2, reference, design_effect):
        return _unpaired_exact(good1, n1, good2, n2, confidence, score)
    return score


def unpaired_score(
    good1: int,
    n1: int,
    good2: int,
    n2: int,
    confidence: float,
    design_effect: float | None = None,
    reference: Reference = NORMAL,
) -> GoodRateTest:
    """Miettinen-Nurminen's score test and its intervals whatever the group sizes."""
    scale = math.sqrt(inflation(design_effect))

    def z(delta: float) -> float:
        return _mn_difference(good1, n1, good2, n2, delta) / scale

    def z_ratio(log_ratio: float) -> float:
        return _mn_ratio(good1, n1, good2, n2, math.exp(log_ratio)) / scale

    difference = good1 / n1 - good2 / n2
    test = _test(False, UNPAIRED, UNPAIRED_RATIO, confidence, difference, z, good1 / n1, good2 / n2, z_ratio, reference)
    return replace(test, second_rate=good2 / n2)


def decided_unconditionally(
    n1: float, n2: float, alpha: float, reference: Reference = NORMAL, design_effect: float | None = None
) -> bool:
    """Whether an unpaired comparison of ``n1`` against ``n2`` ratings at one-sided ``alpha``
    is the exact unconditional test: no rater clusters the ratings (no design effect, the
    normal reference), at most ``_MOST_TABLES`` tables, and the score test's size there,
    enumerated (``unconditional.score_size``), above alpha and a third."""
    if design_effect is not None or reference != NORMAL or (n1 + 1) * (n2 + 1) > _MOST_TABLES:
        return False
    if n1 != round(n1) or n2 != round(n2) or min(n1, n2) < 1:
        return False
    from . import unconditional  # numpy: only where a comparison may need it

    return unconditional.score_size(round(n1), round(n2), alpha) > alpha * _SIZE_TOLERANCE


def _unpaired_exact(good1: int, n1: int, good2: int, n2: int, confidence: float, score: GoodRateTest) -> GoodRateTest:
    """The exact unconditional test on Miettinen-Nurminen's statistic (``unconditional``),
    its p-values at no difference and its intervals inverted from it."""
    p_greater, p_less, difference_ci, ratio_ci = _exact_figures(good1, n1, good2, n2, confidence)
    return replace(
        score,
        method=UNPAIRED_EXACT,
        ratio_method=UNPAIRED_EXACT,
        p_greater=p_greater,
        p_less=p_less,
        difference_ci=difference_ci,
        ratio_ci=ratio_ci,
    )


# A tenth of a second each (a smoke run asks 64): kept for a table asked again.
@lru_cache(maxsize=1024)
def _exact_figures(
    good1: int, n1: int, good2: int, n2: int, confidence: float
) -> tuple[float, float, Interval, Interval | None]:
    from . import unconditional

    alpha = (1 - confidence) / 2
    ratio_ci = None
    if good1 or good2:
        low, high = unconditional.log_ratio_interval(good1, n1, good2, n2, alpha)
        ratio_ci = Interval(_ratio_end(low), _ratio_end(high))
    difference_ci = Interval(*unconditional.difference_interval(good1, n1, good2, n2, alpha))
    return (*_unpaired_exact_p(good1, n1, good2, n2), difference_ci, ratio_ci)


def unpaired_p_values(good1: int, n1: int, good2: int, n2: int, *, confidence: float) -> tuple[float, float]:
    """The one-sided p-values (first higher, lower) that ``unpaired`` gives unclustered
    ratings, without its intervals: for enumerations of its size."""
    if decided_unconditionally(n1, n2, (1 - confidence) / 2):
        return _unpaired_exact_p(good1, n1, good2, n2)
    score = _mn_difference(good1, n1, good2, n2, 0.0)
    return NORMAL.upper(score), NORMAL.lower(score)


def _unpaired_exact_p(good1: int, n1: int, good2: int, n2: int) -> tuple[float, float]:
    from . import unconditional

    return (
        unconditional.difference_p(good1, n1, good2, n2, 0.0, greater=True),
        unconditional.difference_p(good1, n1, good2, n2, 0.0, greater=False),
    )


def standardized(
    strata: Sequence[tuple[int, int, int, int]],
    *,
    confidence: float,
    design_effect: float | None = None,
    reference: Reference = NORMAL,
) -> GoodRateTest:
    """Independent groups over several strata (emotions), each ``(good1, n1, good2, n2)``,
    the second side's rate standardized to the first side's mix (weights n1 of a stratum
    over n1 of all): pooling the second side's counts as they come would compare the first
    side's emotions with the second's, whose rates differ.

    One family of statistics for the difference and the ratio, so that "higher" asks one
    question of both: ``_standardized_z`` at ``(ratio, difference)``, of which the difference
    test takes ratio 1 and the relative gain's (Fieller's form) difference 0; at no
    difference and a ratio of 1 they are the same number. Each interval inverts its own."""
    total = sum(n1 for _, n1, _, _ in strata)
    weights = [n1 / total for _, n1, _, _ in strata]
    first = sum(x1 for x1, _, _, _ in strata) / total
    second = sum(w * x2 / n2 for w, (_, _, x2, n2) in zip(weights, strata, strict=True))
    scale = inflation(design_effect)
    variance2 = scale * sum(
        w * w * (x2 / n2) * (1 - x2 / n2) / n2 for w, (_, _, x2, n2) in zip(weights, strata, strict=True)
    )

    def statistic(ratio: float, difference: float) -> float:
        return _standardized_z(first, second, total, scale, variance2, ratio, difference)

    test = _test(
        False,
        STANDARDIZED,
        STANDARDIZED_RATIO,
        confidence,
        first - second,
        lambda difference: statistic(1.0, difference),
        first,
        second,
        lambda log_ratio: statistic(math.exp(log_ratio), 0.0),
        reference,
    )
    return replace(test, second_rate=second)


def _standardized_z(
    first: float, second: float, n1: float, scale: float, variance2: float, ratio: float, difference: float
) -> float:
    """The standardized statistic for p1 = ratio * p2 + difference: (p1 - ratio p2 -
    difference) / sqrt(V1 + ratio^2 V2). The first side's rate is one binomial proportion
    over its ``n1`` cases: V1 is its variance at the rate the null gives it (a score-type
    variance, as Wilson's), so a run with no Good rating, or only Good ones, still has one;
    its estimate's, Wald's, is zero there and gave 0 of 64 an interval 3.7 points wide, and a
    per-emotion variance from two ratings is zero half the time. V2 is the standardized
    second rate's. The statistic falls as either null value rises."""
    null1 = min(1.0, max(0.0, ratio * second + difference))
    variance1 = scale * null1 * (1 - null1) / n1
    return _ratio_z(first - ratio * second - difference, variance1 + ratio * ratio * variance2)


def paired(
    counts: PairedCounts,
    *,
    confidence: float,
    design_effect: float | None = None,
    reference: Reference = NORMAL,
) -> GoodRateTest:
    """The same cases rated on two sides: Tango's score test, or, unclustered and with at
    most ``exact_cutover`` cases Good on one side only, the exact test conditional on them."""
    score = paired_score(counts, confidence, design_effect, reference)
    discordant = counts.first_only + counts.second_only
    if decided_exactly(discordant, (1 - confidence) / 2, reference, design_effect):
        return _paired_exact(counts, confidence, score)
    return score


def paired_score(
    counts: PairedCounts, confidence: float, design_effect: float | None, reference: Reference = NORMAL
) -> GoodRateTest:
    """Tango's score test and interval whatever the discordant cases: for a margin, which
    the exact conditional test, testing no difference only, cannot bound."""
    scale = math.sqrt(inflation(design_effect))

    def z(delta: float) -> float:
        return _tango_difference(counts, delta) / scale

    def z_ratio(log_ratio: float) -> float:
        return _tang_ratio(counts, math.exp(log_ratio)) / scale

    n = counts.n
    first, second = (counts.both + counts.first_only) / n, (counts.both + counts.second_only) / n
    difference = (counts.first_only - counts.second_only) / n
    test = _test(True, PAIRED, PAIRED_RATIO, confidence, difference, z, first, second, z_ratio, reference)
    return replace(test, discordant=(counts.first_only + counts.second_only) / n, second_rate=second)


def decided_exactly(
    discordant: float, alpha: float, reference: Reference = NORMAL, design_effect: float | None = None
) -> bool:
    """Whether a paired comparison at one-sided ``alpha`` with ``discordant`` cases Good on one
    side only is McNemar's exact test: no rater clusters the ratings (no design effect, the
    normal reference; clustered ones are referred to t) and at most ``exact_cutover`` of them."""
    return design_effect is None and reference == NORMAL and 0 < discordant <= exact_cutover(alpha)


@cache
def exact_cutover(alpha: float) -> int:
    """The most discordant cases at which the score test's size, given that many, exceeds
    alpha by more than a third: up to it the exact test replaces the score test.

    Given d discordant cases and no difference, the cases Good on the first side only are
    binomial (d, 1/2), and Tango's statistic at no difference is McNemar's whatever the
    other cells, so its size given d is a binomial tail, found here by enumeration for every
    d up to ``_CUTOVER_SEARCH``: 11 at alpha 0.2, 29 at 0.05, 53 at 0.01, 60 at 0.001, 64 at
    0.05 / 8, 69 at 0.00286 (tests/test_sizes.py searches to 400)."""
    cutover = 0
    for d in range(1, _CUTOVER_SEARCH + 1):
        # The statistic rises with the first-only count: the rejections are its top values.
        first_rejected = d + 1
        while first_rejected > 0 and normal_cdf(-tango(d, first_rejected - 1, d - first_rejected + 1, 0.0)) < alpha:
            first_rejected -= 1
        if binomial_tail(first_rejected, d, 0.5, 0.5) > alpha * _SIZE_TOLERANCE:
            cutover = d
    return cutover


def _paired_exact(counts: PairedCounts, confidence: float, score: GoodRateTest) -> GoodRateTest:
    """The exact conditional test (McNemar's exact, one-sided): given the d discordant cases,
    the b Good on the first side only are binomial (d, pi), pi = 1/2 under no difference.

    Its intervals hold Tango's (Tang-Tang-Chan's) and the exact one: pi's Clopper-Pearson
    interval at ``confidence``, whose lower bound is above 1/2 exactly when the one-sided
    test at (1 - confidence) / 2 rejects, mapped to the difference (d/n)(2 pi - 1) and the
    ratio (both + d pi) / (both + d (1 - pi)), which rise with pi. The mapped interval alone
    holds d/n fixed, and so is no interval for a margin (two discordant cases of fifty
    would bound a drop at 4 points); the score interval is, and it excludes no difference
    whenever the exact test rejects it up to the cutover, so their hull excludes it exactly
    then. That is no general inequality (the binomial's tail at 1/2 falls below the normal's
    at extreme splits from 12 discordant cases on, at p-values below 3e-4, where no cutover
    reaches): tests/test_verdicts.py enumerates every split up to the cutover at alphas down
    to an emotion's level over 32 emotions."""
    n, both, b, c = counts.n, counts.both, counts.first_only, counts.second_only
    d = b + c
    alpha = (1 - confidence) / 2
    low, high = _share_bound(b, d, alpha), 1.0 - _share_bound(c, d, alpha)

    def ratio_at(share: float) -> float:
        denominator = both + d * (1 - share)
        return math.inf if denominator == 0 else (both + d * share) / denominator

    exact_ratio = Interval(ratio_at(low), ratio_at(high))
    return replace(
        score,
        method=PAIRED_EXACT,
        ratio_method=f"{PAIRED_RATIO}, {WIDENED}",
        p_greater=binomial_tail(b, d, 0.5, 0.5),
        p_less=binomial_tail(c, d, 0.5, 0.5),
        difference_ci=_hull(score.difference_ci, Interval(d / n * (2 * low - 1), d / n * (2 * high - 1))),
        ratio_ci=exact_ratio if score.ratio_ci is None else _hull(score.ratio_ci, exact_ratio),
    )


def _hull(first: Interval, second: Interval) -> Interval:
    return Interval(min(first.low, second.low), max(first.high, second.high))


def _share_bound(successes: float, trials: float, alpha: float) -> float:
    """Clopper-Pearson's lower bound for a share of ``successes`` in ``trials``: 0 without any."""
    return 0.0 if successes == 0 else _binomial_bound(successes, trials, alpha)


def exact_lower_bound_above(change: float, n: float, first_only: int, discordant: int, alpha: float) -> bool:
    """Whether the exact interval of a paired difference (``_paired_exact``: Clopper-Pearson's
    on the first side's share pi of the ``discordant`` cases, mapped to (d/n)(2 pi - 1)) has
    its lower bound, at one-sided ``alpha``, above ``change``: whether pi's bound is above the
    share that maps to ``change``, that is the binomial tail at that share below alpha,
    without finding the bound."""
    share = (1 + change * n / discordant) / 2
    if share < 0:
        return True
    if share >= 1 or first_only == 0:
        return False
    return binomial_tail(first_only, discordant, share, 1.0 - share) < alpha


def _binomial_bound(successes: float, trials: float, alpha: float) -> float:
    """Clopper-Pearson's lower bound: the share p at which P(X >= successes) = alpha, X
    binomial (trials, p), by bisection from [0, 1], whose first midpoint is 1/2 itself, so
    the bound lies above 1/2 exactly when that tail at 1/2 is below alpha."""
    low, high = 0.0, 1.0
    while high - low > _TOLERANCE:
        middle = (low + high) / 2
        if binomial_tail(successes, trials, middle, 1.0 - middle) < alpha:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def unchanged_lower_bound(n: float, discordant: float, *, confidence: float, reference: Reference = NORMAL) -> float:
    """The lower bound of the paired interval for a difference on ``n`` cases (clustered:
    n over the design effect, as Tango's statistic grows with the root of n), a share
    ``discordant`` of them Good on one side only, split evenly: where a run's bound is
    expected to lie when nothing changed. Tango's, or where the exact test decides (``paired``)
    its hull with the exact interval's, Clopper-Pearson's at the even split."""
    half = n * discordant / 2
    low, _ = _invert(lambda delta: tango(n, half, half, delta), 0.0, reference.critical(confidence), -1.0, 1.0)
    alpha, count = (1 - confidence) / 2, round(2 * half)
    if decided_exactly(count, alpha, reference):
        return min(low, count / n * (2 * _share_bound(half, count, alpha) - 1))
    return low


def inflation(design_effect: float | None) -> float:
    """The factor a variance is multiplied by for clustering: the design effect, never below
    1 (a negative within-rater correlation is more likely noise than a gain in precision)."""
    return 1.0 if design_effect is None else max(1.0, design_effect)


def _test(
    is_paired: bool,
    method: str,
    ratio_method: str,
    confidence: float,
    difference: float,
    z: Callable[[float], float],
    first: float,
    second: float,
    z_ratio: Callable[[float], float],
    reference: Reference,
) -> GoodRateTest:
    critical = reference.critical(confidence)
    statistic = z(0.0)
    ratio = ratio_ci = None
    if second > 0:
        ratio = first / second
        if first > 0:
            low, high = _invert(z_ratio, math.log(ratio), critical, -_LOG_RATIO_END, _LOG_RATIO_END)
            ratio_ci = Interval(_ratio_end(low), _ratio_end(high))
        else:
            high = _invert(z_ratio, -_LOG_RATIO_END, critical, -_LOG_RATIO_END, _LOG_RATIO_END)[1]
            ratio_ci = Interval(0.0, _ratio_end(high))
    elif first > 0:
        # No Good rating on the second side: the ratio is unbounded above, yet its lower
        # bound is the evidence for a relative gain.
        low = _crossing(z_ratio, critical, -_LOG_RATIO_END, _LOG_RATIO_END)
        ratio_ci = Interval(_ratio_end(low), math.inf)
    low, high = _invert(z, difference, critical, -1.0, 1.0)
    return GoodRateTest(
        paired=is_paired,
        method=method,
        ratio_method=ratio_method,
        confidence=confidence,
        difference=difference,
        statistic=statistic,
        p_greater=reference.upper(statistic),
        p_less=reference.lower(statistic),
        difference_ci=Interval(low, high),
        ratio=ratio,
        ratio_ci=ratio_ci,
    )


# The log ratios the interval's ends are searched between; a statistic that never crosses
# its critical value before an end leaves that side of the interval unbounded.
_LOG_RATIO_END = 50.0


def _ratio_end(log_ratio: float) -> float:
    """An end of a ratio's interval from its log: 0 or infinity where the search reached its end."""
    if log_ratio >= _LOG_RATIO_END:
        return math.inf
    return 0.0 if log_ratio <= -_LOG_RATIO_END else math.exp(log_ratio)


def _invert(
    z: Callable[[float], float], estimate: float, critical: float, lowest: float, highest: float
) -> tuple[float, float]:
    """The null values between ``lowest`` and ``highest`` whose statistic lies within
    +-``critical``; the statistic falls as the null value rises and is 0 at ``estimate``."""
    return (
        _crossing(z, critical, lowest, estimate),
        _crossing(z, -critical, estimate, highest),
    )


def _crossing(z: Callable[[float], float], level: float, low: float, high: float) -> float:
    """Where ``z`` falls through ``level`` between ``low`` and ``high``; the end itself when
    it does not."""
    if level > 0 and z(low) <= level:
        return low
    if level < 0 and z(high) >= level:
        return high
    while high - low > _TOLERANCE:
        middle = (low + high) / 2
        if z(middle) > level:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def _ratio_z(numerator: float, variance: float) -> float:
    """numerator / sqrt(variance); a difference that floating point cannot tell from none
    over no variance is no evidence, not infinite evidence."""
    if variance <= 0:
        return 0.0 if abs(numerator) < 1e-12 else math.copysign(math.inf, numerator)
    return numerator / math.sqrt(variance)


def _mn_difference(x1: int, n1: int, x2: int, n2: int, delta: float) -> float:
    """Miettinen-Nurminen's statistic for p1 - p2 = delta."""
    null2 = _restricted_second_rate(x1, n1, x2, n2, delta)
    null1 = min(1.0, max(0.0, null2 + delta))
    n = n1 + n2
    variance = (null1 * (1 - null1) / n1 + null2 * (1 - null2) / n2) * n / (n - 1)
    return _ratio_z(x1 / n1 - x2 / n2 - delta, variance)


def _restricted_second_rate(x1: int, n1: int, x2: int, n2: int, delta: float) -> float:
    """The maximum-likelihood rate p2 of the second group when p1 = p2 + delta.

    The likelihood's derivative, times (p2 + delta)(1 - p2 - delta) p2 (1 - p2), is the cubic
    below in p2 (Miettinen and Nurminen's; statsmodels 0.15 has x2 where n2 belongs in the
    delta-squared term of c1, its issue 10269). Of its roots inside the feasible range, and
    the range's ends (where a zero count puts the maximum), the one of highest likelihood is
    the maximum: closed-form choices of one root miss it for small counts."""
    n, x = n1 + n2, x1 + x2
    c3 = n
    c2 = (n1 + 2 * n2) * delta - n - x
    c1 = x - (n + 2 * x2) * delta + n2 * delta * delta
    c0 = x2 * delta * (1 - delta)
    low, high = max(0.0, -delta), min(1.0, 1.0 - delta)
    candidates = [low, high, *(r for r in _cubic_roots([c0, c1, c2, c3]) if low < r < high)]
    return max(candidates, key=lambda p2: _log_likelihood(x1, n1, p2 + delta) + _log_likelihood(x2, n2, p2))


def _log_likelihood(x: int, n: int, rate: float) -> float:
    total = 0.0
    for count, p in ((x, rate), (n - x, 1.0 - rate)):
        if count:
            if p <= 0:
                return -math.inf
            total += count * math.log(p)
    return total


def _cubic_roots(coefficients: list[float]) -> list[float]:
    """The real roots of c0 + c1 x + c2 x^2 + c3 x^3 (lower degrees where c3 vanishes)."""
    c0, c1, c2, c3 = coefficients
    if abs(c3) < 1e-12 * max(1.0, abs(c0), abs(c1), abs(c2)):
        if abs(c2) < 1e-300:
            return [-c0 / c1] if c1 else []
        discriminant = c1 * c1 - 4 * c2 * c0
        if discriminant < 0:
            return []
        root = math.sqrt(discriminant)
        return [(-c1 - root) / (2 * c2), (-c1 + root) / (2 * c2)]
    a, b, c = c2 / c3, c1 / c3, c0 / c3
    q = (3 * b - a * a) / 9
    r = (9 * a * b - 27 * c - 2 * a**3) / 54
    discriminant = q**3 + r * r
    if discriminant < 0:
        theta = math.acos(max(-1.0, min(1.0, r / math.sqrt(-(q**3)))))
        scale = 2 * math.sqrt(-q)
        return [scale * math.cos((theta + 2 * math.pi * k) / 3) - a / 3 for k in range(3)]
    root = math.sqrt(discriminant)
    s, t = math.cbrt(r + root), math.cbrt(r - root)
    if discriminant == 0:  # a double root besides the simple one
        return [s + t - a / 3, -(s + t) / 2 - a / 3]
    return [s + t - a / 3]


def _mn_ratio(x1: int, n1: int, x2: int, n2: int, ratio: float) -> float:
    """Miettinen-Nurminen's statistic for p1 / p2 = ratio."""
    n = n1 + n2
    a = n * ratio
    b = -(n1 * ratio + x1 + n2 + x2 * ratio)
    c = x1 + x2
    null2 = (-b - math.sqrt(max(0.0, b * b - 4 * a * c))) / (2 * a)
    null1 = min(1.0, ratio * null2)
    variance = (null1 * (1 - null1) / n1 + ratio * ratio * null2 * (1 - null2) / n2) * n / (n - 1)
    return _ratio_z(x1 / n1 - ratio * x2 / n2, variance)


def _tango_difference(counts: PairedCounts, delta: float) -> float:
    return tango(counts.n, counts.first_only, counts.second_only, delta)


def tango(n: float, b: float, c: float, delta: float) -> float:
    """Tango's statistic for a difference of paired rates equal to delta, ``b`` and ``c`` of
    the ``n`` cases Good on the first side only and the second only; the restricted
    maximum-likelihood rate of the second-only cell has a closed form. The interval's lower bound
    is above delta exactly when this exceeds the interval's critical value."""
    big_a = 2 * n
    big_b = -b - c + (2 * n - b + c) * delta
    big_c = -c * delta * (1 - delta)
    second_only = (math.sqrt(max(0.0, big_b * big_b - 4 * big_a * big_c)) - big_b) / (2 * big_a)
    return _ratio_z(b - c - n * delta, n * (2 * second_only + delta * (1 - delta)))


def _tang_ratio(counts: PairedCounts, ratio: float) -> float:
    """Tang, Tang and Chan's statistic for a ratio of paired rates equal to ``ratio``."""
    n, both, b, c = counts.n, counts.both, counts.first_only, counts.second_only
    big_a = n * (1 + ratio)
    big_b = (both + c) * ratio * ratio - (both + b + 2 * c)
    big_c = c * (1 - ratio) * (both + b + c) / n
    second_only = (-big_b + math.sqrt(max(0.0, big_b * big_b - 4 * big_a * big_c))) / (2 * big_a)
    variance = n * (1 + ratio) * second_only + (both + b + c) * (ratio - 1)
    return _ratio_z(both + b - ratio * (both + c), variance)
