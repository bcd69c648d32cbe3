"""The Good rate of two groups compared: score tests of the difference and of the ratio, one
sided, and the intervals that invert the same tests, so that a test and its interval never
disagree; exact and valid tests where the score test exceeds its size.

See docs/explanation/statistics.md, "Good rates compared: score tests and their intervals".
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cache, lru_cache
from typing import TYPE_CHECKING

from .distributions import NORMAL, Reference, binomial_tail, normal_cdf, normal_quantile

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

SCAS = (
    "score at the maximum-likelihood rates under the null, skewness-corrected "
    "(Gart-Nam; Laud's SCAS without its N/(N-1) factor)"
)
UNPAIRED = SCAS
PAIRED = "Tango score (McNemar at no difference)"
PAIRED_EXACT = "McNemar's exact test (binomial, conditional on the discordant cases)"
# Where the exact test decides, each interval holds Clopper-Pearson's too, so that they agree.
WIDENED = "widened to hold Clopper-Pearson's on the discordant share"
UNPAIRED_RATIO = SCAS
STANDARDIZED = (
    "standardized score (the baseline standardized to the model's emotion mix; both sides' variances at the "
    "maximum-likelihood rates under the null), skewness-corrected (Gart-Nam; Laud's SCAS without its N/(N-1) factor)"
)
STANDARDIZED_RATIO = STANDARDIZED + ", in Fieller's form for the ratio"
PAIRED_RATIO = "Tang-Tang-Chan score"
EXACT_WHEN = "where so few cases are discordant that the score test's size exceeds alpha by a third, without raters"
UNPAIRED_EXACT = (
    "exact unconditional test (Chan) on the Miettinen-Nurminen score, of the one-sided null as a whole,"
    " inverted for its intervals"
)
UNPAIRED_EXACT_WHEN = (
    "where a group is so small that the score test's size exceeds alpha by a third (enumerated), without raters"
)
STANDARDIZED_BOUNDED = "Berger and Boos's valid test"
STANDARDIZED_BOUNDED_HOW = (
    "Hoeffding's largest tail of the model's count of the rate compared (a Poisson-binomial sum) at the baseline's "
    "standardized rate's bound at 1 - alpha/10 (Clopper-Pearson's where each emotion's weight per baseline rating is "
    "the same, else Chernoff's), plus alpha/10: valid whatever the emotions' rates; its p-value is never below "
    "alpha/10 and depends on alpha"
)
STANDARDIZED_BOUNDED_WHEN = (
    "where the score test's size near the baseline's rate, at no difference (an emotion's at every level Holm's "
    "steps compare its p-value with) or at the gate's margin, exceeds its level by a third (enumerated for the "
    "model's ratings against the baseline's effective number), without raters"
)
UNGUARDED = (
    "; not guarded: its size near the baseline's rate is not enumerated past the guard's reach (more than 2,000 "
    "model ratings, or more than 1,002,001 tables near the rate)"
)
MARGIN_WHY = "where the score test's size at the gate's margin exceeds alpha by a third"
# At an emotion's baseline Good rate of 0 or 1 the null "model = (1 + R) x the standardized
# baseline" is, for the other emotions, a ratio plus a difference, which no one-emotion
# proxy's size at the ratio 1 + R stands for (6 and 6 against 20 each, R 0.2: 0.078).
AT_EDGE_WHY = (
    "where a baseline emotion's Good count is 0 or all, at which the score test's size at the gain is not known"
)
MARGIN_BOUND_KEPT = "the score test's, which holds its size at the gate's margin"
# The guard looks for the score test's size over the baseline's standardized rate's
# Clopper-Pearson interval at 1 - this (the research's choice: 0.005).
_GUARD_GAMMA = 0.005
# The guard's proxies' baseline numbers: from the effective number to this many times the
# model's ratings (where the baseline's variance is a twentieth of the model's), at this many
# points.
_PROXY_REACH = 20
_PROXY_POINTS = 5
# The first proxy is enumerated up to score_size.MOST_TABLES; the others only up to this many
# tables (a few hundredths of a second each): the designs where they matter are small, and at
# 320 ratings against 1,984 the others cost 30 s.
_PROXY_TABLES = 100_000
# The most model ratings the guard falls back on the valid test for: Hoeffding's tail weighs
# every split of them into rates 0, a and 1 (2 million at 2,000, some 100 MB).
_GUARD_MOST_RATINGS = 2_000
# Bisection stops when the bound is known to this width: far below any figure shown.
_TOLERANCE = 1e-12
# A score test whose size exceeds alpha by more than a third gives way to an exact one.
_SIZE_TOLERANCE = 4 / 3
# exact_cutover's search: the discordant cases it tries, up to 200.
_CUTOVER_SEARCH = 200
# The most tables (x1, x2) of two unpaired groups whose score test, where its size exceeds alpha
# by a third, is replaced by the exact test: 20 against 300 (6,321), 5 against 1,000 and
# 3 against 2,000 are within. Its intervals' search computes every table's statistic at some
# 2,400 null values once for a pair of group sizes (6.4 s of CPU at 2 against 2,000, 2.7 s for
# each comparison after; 62 against 300, 18,963 tables, took 41 s and 18 s on a loaded machine
# and 670 MB), so a larger pair keeps the score test, guarded by the valid test (``_guarded``).
EXACT_MOST_TABLES = 10_000


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


@dataclass(frozen=True)
class Margin:
    """A null a gate tests besides no difference: the one-sided test of p1 = ``ratio`` * p2 +
    ``difference`` against a first rate above it (``greater``) or below it; a difference
    (`not-worse`, `no-more-bad`) or a ratio (`min-good-gain`'s 1 + R), never both."""

    difference: float
    greater: bool
    ratio: float = 1.0


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
    # The sides (higher: True) whose difference bound is Berger and Boos's valid test's, and
    # the level it ran at: whose power a margin's figure states (``valid_bound_level``).
    valid_bounds: tuple[tuple[bool, float], ...] = ()


def unpaired(
    good1: int,
    n1: int,
    good2: int,
    n2: int,
    *,
    confidence: float,
    design_effect: float | None = None,
    reference: Reference = NORMAL,
    margin: Margin | None = None,
    family: int = 1,
    rate: str = "Good",
    gain: Margin | None = None,
) -> GoodRateTest:
    """Two independent groups of ``n1`` and ``n2`` ratings, ``good1`` and ``good2`` of them
    Good; ``design_effect`` inflates the variance of clustered ratings and ``reference`` is
    the distribution their statistics are referred to (``clusters``); ``margin`` a null a
    gate tests on the interval besides no difference, and ``gain`` one it tests on the ratio's
    (`min-good-gain`'s: ``_ratio_end_reaching``); ``family`` the number of emotions whose
    Holm's steps compare its p-values with every level from alpha to ``family`` times alpha
    (``holm_levels``); ``rate`` the rate the counts are of, as a valid test's side names it.
    The skewness-corrected score test (SCAS), or, unclustered and where
    its size at no difference exceeds alpha by a third (``decided_unconditionally``), the
    exact unconditional test, valid at every level; where only its size at the margin does,
    the margin's bound reaches the exact test's at ``valid_margin_level``
    (``_margin_end_reaching``; the exact test throughout where the score test of no difference
    alone rejects at the margin alpha of the time or more);
    otherwise, unclustered, each direction where the score test's size near the baseline's
    rate exceeds its level by a third (at no difference at any of Holm's levels, or at the
    margin) by the valid Berger-Boos test (``_guarded``, with one stratum): past the exact
    test's reach, and at Holm's later levels, where the exact test would cost 0.2 to 0.7 s
    for each table (64 in a smoke-sized run)."""
    score = unpaired_score(good1, n1, good2, n2, confidence, design_effect, reference)
    alpha = (1 - confidence) / 2
    if decided_unconditionally(n1, n2, alpha, reference, design_effect):
        return _unpaired_exact(good1, n1, good2, n2, confidence, score)
    if design_effect is not None or reference != NORMAL:
        return score
    if (n1 + 1) * (n2 + 1) <= EXACT_MOST_TABLES:
        # Within the exact test's reach a margin or gain the score test is liberal at has its
        # bound reach the exact test's, valid.
        caveat = f"the {UNPAIRED_EXACT}, where the score test's size at the gate's margin exceeds alpha by a third"
        size = _size_exceeded(n1, n2, alpha, reference, design_effect, margin) if margin else None
        if margin is not None and size is not None:
            from . import score_size

            curve = score_size.rejection_curve(n1, n2, alpha, 0.0, margin.difference, greater=margin.greater)
            crossing = float(curve[1].max())
            if crossing >= alpha:
                return _unpaired_exact(good1, n1, good2, n2, confidence, score)
            level = valid_margin_level(alpha, crossing)
            exact = _exact_figures(good1, n1, good2, n2, 1 - 2 * level)[2]
            end = exact.low if margin.greater else exact.high
            score = _margin_end_reaching(score, end, margin.greater, caveat, size, crossing, level)
            margin = None  # its bound is the exact test's, valid
        score, gain = _gain_end_exact(good1, n1, good2, n2, confidence, score, gain, caveat)
    return _guarded(score, [(good1, n1, good2, n2)], margin, family, rate=rate, gain=gain)


def _gain_end_exact(
    good1: int,
    n1: int,
    good2: int,
    n2: int,
    confidence: float,
    score: GoodRateTest,
    gain: Margin | None,
    caveat: str,
) -> tuple[GoodRateTest, Margin | None]:
    """Within the exact test's reach, the score test whose ratio's bound on the ``gain``'s side
    reaches the exact test's where the score test is liberal at that gain, and the gain left
    for the guard (None: its bound is the exact test's, valid)."""
    alpha = (1 - confidence) / 2
    size = _size_exceeded(n1, n2, alpha, NORMAL, None, gain) if gain else None
    ratio_ci = _exact_ratio_interval(good1, n1, good2, n2, confidence) if gain and size else None
    if gain is None or size is None or ratio_ci is None:
        return score, gain
    end = ratio_ci.low if gain.greater else ratio_ci.high
    return _ratio_end_reaching(score, end, gain.greater, caveat, size), None


def holm_levels(alpha: float, family: int) -> tuple[float, ...]:
    """Every level Holm's steps can compare an emotion's p-value with, one of ``family``
    emotions whose first step is at ``alpha``: alpha times K / m for m = K .. 1."""
    return tuple(alpha * family / m for m in range(family, 0, -1))


# Some 5 ms each, and an emotion's few possible tables come again and again (a smoke run's 2
# cases an emotion against the same counts; a simulation's thousands of runs).
@lru_cache(maxsize=4096)
def unpaired_score(
    good1: int,
    n1: int,
    good2: int,
    n2: int,
    confidence: float,
    design_effect: float | None = None,
    reference: Reference = NORMAL,
) -> GoodRateTest:
    """The skewness-corrected score test (SCAS) and its intervals whatever the group sizes:
    the standardized comparison of one stratum."""
    test = standardized(
        [(good1, n1, good2, n2)], confidence=confidence, design_effect=design_effect, reference=reference
    )
    return replace(test, method=UNPAIRED, ratio_method=UNPAIRED_RATIO)


def decided_unconditionally(
    n1: float,
    n2: float,
    alpha: float,
    reference: Reference = NORMAL,
    design_effect: float | None = None,
    margin: Margin | None = None,
) -> bool:
    """Whether an unpaired comparison of ``n1`` against ``n2`` ratings at one-sided ``alpha``
    is the exact unconditional test: no rater clusters the ratings (no design effect, the
    normal reference), at most ``EXACT_MOST_TABLES`` tables, and the score test's size there,
    enumerated (``score_size``) at no difference and at the ``margin``, above alpha and a
    third."""
    if (n1 + 1) * (n2 + 1) > EXACT_MOST_TABLES:
        return False
    return _size_exceeded(n1, n2, alpha, reference, design_effect, margin) is not None


def _size_exceeded(
    n1: float, n2: float, alpha: float, reference: Reference, design_effect: float | None, margin: Margin | None
) -> float | None:
    """The score test's enumerated size, the larger at no difference and at the ``margin``,
    where it exceeds alpha by a third on unclustered ratings."""
    if design_effect is not None or reference != NORMAL:
        return None
    if n1 != round(n1) or n2 != round(n2) or min(n1, n2) < 1:
        return None
    from . import score_size  # numpy: only where a comparison may need it

    if (n1 + 1) * (n2 + 1) > score_size.MOST_TABLES:
        return None
    size = score_size.score_size(round(n1), round(n2), alpha)
    if margin is not None:
        at_margin = score_size.margin_size(
            round(n1), round(n2), alpha, margin.difference, greater=margin.greater, ratio=margin.ratio
        )
        size = max(size, at_margin)
    return size if size > alpha * _SIZE_TOLERANCE else None


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
    ratio_ci = _exact_ratio_interval(good1, n1, good2, n2, confidence)
    difference_ci = Interval(*unconditional.difference_interval(good1, n1, good2, n2, alpha))
    p_greater, p_less = (_unpaired_exact_p(good1, n1, good2, n2, greater) for greater in (True, False))
    return p_greater, p_less, difference_ci, ratio_ci


@lru_cache(maxsize=1024)
def _exact_ratio_interval(good1: int, n1: int, good2: int, n2: int, confidence: float) -> Interval | None:
    """The exact unconditional test's ratio interval (none without a Good rating): alone for a
    gain whose bound reaches it, a third of the exact figures' time."""
    from . import unconditional

    if not (good1 or good2):
        return None
    low, high = unconditional.log_ratio_interval(good1, n1, good2, n2, (1 - confidence) / 2)
    return Interval(_ratio_end(low), _ratio_end(high))


def unpaired_p_values(
    good1: int, n1: int, good2: int, n2: int, *, confidence: float, family: int = 1
) -> tuple[float, float]:
    """The one-sided p-values (first higher, lower) that ``unpaired`` gives unclustered
    ratings, without its intervals: for enumerations of its size."""
    higher, lower = _unpaired_p(good1, n1, good2, n2, confidence, family, (True, False))
    return higher, lower


def unpaired_p_value(
    good1: int, n1: int, good2: int, n2: int, *, confidence: float, greater: bool, family: int = 1
) -> float:
    """One of ``unpaired_p_values``, first higher (``greater``) or lower: an enumeration of one
    side's size needs no other."""
    return _unpaired_p(good1, n1, good2, n2, confidence, family, (greater,))[0]


def _unpaired_p(
    good1: int, n1: int, good2: int, n2: int, confidence: float, family: int, sides: tuple[bool, ...]
) -> tuple[float, ...]:
    alpha = (1 - confidence) / 2
    if decided_unconditionally(n1, n2, alpha):
        return tuple(_unpaired_exact_p(good1, n1, good2, n2, greater) for greater in sides)
    from . import berger_boos

    strata = ((good1, n1, good2, n2),)
    score = standardized_statistic(strata)
    p_values = {True: NORMAL.upper(score), False: NORMAL.lower(score)}
    for side in _liberal_sides(strata, alpha, None, family) or ():
        if side.greater in sides:
            p_values[side.greater] = berger_boos.standardized_bounded_p(strata, alpha, 0.0, greater=side.greater)
    return tuple(p_values[greater] for greater in sides)


# Seconds each on a loaded machine, the same at every confidence: kept for a table asked
# again (the size enumeration asks each at three levels).
@lru_cache(maxsize=4096)
def _unpaired_exact_p(good1: int, n1: int, good2: int, n2: int, greater: bool) -> float:
    from . import unconditional

    return unconditional.monotone_difference_p(good1, n1, good2, n2, 0.0, greater=greater)


def standardized(
    strata: Sequence[tuple[int, int, int, int]],
    *,
    confidence: float,
    design_effect: float | None = None,
    reference: Reference = NORMAL,
    margin: Margin | None = None,
    guarded: bool = True,
    rate: str = "Good",
    gain: Margin | None = None,
) -> GoodRateTest:
    """Independent groups over several strata (emotions), each ``(good1, n1, good2, n2)``,
    the second side's rate standardized to the first side's mix (weights n1 of a stratum
    over n1 of all): pooling the second side's counts as they come would compare the first
    side's emotions with the second's, whose rates differ.

    One family of statistics for the difference and the ratio, so that "higher" asks one
    question of both: ``Standardized.statistic`` at ``(ratio, difference)``, of which the
    difference test takes ratio 1 and the relative gain's (Fieller's form) difference 0; at
    no difference and a ratio of 1 they are the same number. Each interval inverts its own.

    Over several strata of unclustered ratings (``guarded``), each direction's figures (its
    p-value, its interval ends) are the score test's only where that test holds its size near
    the baseline's rate at no difference and at the gate's ``margin`` and ``gain``
    (``_guarded``); ``rate`` names the rate the counts are of, as the valid test's side says it."""
    counts = Standardized.of(strata)
    scale = inflation(design_effect)
    # The multipliers found so far, per null family (difference, log ratio), starting with
    # the estimate's, 0: the intervals' search closes in on its null values, so Newton's
    # method starts between the two found nearest.
    found: dict[bool, list[tuple[float, float]]] = {False: [(counts.first - counts.second, 0.0)], True: []}
    if counts.first > 0 and counts.second > 0:
        found[True].append((math.log(counts.first / counts.second), 0.0))

    def statistic(ratio: float, difference: float) -> float:
        family = difference == 0.0 and ratio != 1.0
        value = math.log(ratio) if family else difference
        start = _interpolated(found[family], value, counts.total)
        z, multiplier = counts.statistic(ratio, difference, scale, start)
        if math.isfinite(multiplier):
            found[family].append((value, multiplier))
        return z

    test = _test(
        False,
        STANDARDIZED,
        STANDARDIZED_RATIO,
        confidence,
        counts.first - counts.second,
        lambda difference: statistic(1.0, difference),
        counts.first,
        counts.second,
        lambda log_ratio: statistic(math.exp(max(-_FARTHEST_LOG_RATIO, min(_FARTHEST_LOG_RATIO, log_ratio))), 0.0),
        reference,
    )
    test = replace(test, second_rate=counts.second)
    if guarded and len(strata) > 1 and design_effect is None and reference == NORMAL:
        return _guarded(test, strata, margin, rate=rate, gain=gain)
    return test


def _guarded(
    test: GoodRateTest,
    strata: Sequence[tuple[int, int, int, int]],
    margin: Margin | None,
    family: int = 1,
    rate: str = "Good",
    gain: Margin | None = None,
) -> GoodRateTest:
    """The standardized test with each direction's figures (higher: p_greater and the lower
    ends; lower: p_less and the upper ends) taken from the valid Berger-Boos test
    (``berger_boos``) where the score test's size exceeds its level by a third near the
    baseline's rate (``_liberal_sides``); where only a gate's margin or gain exceeds it, only
    that bound; and the gain's bound where a baseline emotion is at 0 or 1 (``AT_EDGE_WHY``)."""
    alpha = (1 - test.confidence) / 2
    sides = _liberal_sides(tuple(strata), alpha, margin, family, gain)
    if sides is None:
        return replace(test, method=test.method + UNGUARDED, ratio_method=test.ratio_method + UNGUARDED)
    for side in sides:
        if side.exceeded_at is None:
            test = _bounded_side(test, strata, alpha, side, rate=rate)
        elif side.exceeded_at.ratio != 1.0:
            caveat = _bounded_too(strata, alpha, rate, side.greater)
            test = _bounded_gain_end(test, strata, alpha, side.greater, caveat, side.size)
        elif side.crossing is None or side.crossing >= alpha:
            # A test of no difference that alone rejects the margin alpha of the time when it
            # is true leaves the valid test nothing to spend: it decides the whole side.
            test = _bounded_side(test, strata, alpha, side, rate=rate)
        else:
            test = _bounded_margin_end(test, strata, alpha, side.size, side.crossing, greater=side.greater, rate=rate)
    if (
        gain is not None
        and _baseline_at_edge(strata)
        and not any(side.greater is gain.greater and side.exceeded_at in (None, gain) for side in sides)
    ):
        caveat = _bounded_too(strata, alpha, rate, gain.greater, AT_EDGE_WHY)
        test = _bounded_gain_end(test, strata, alpha, gain.greater, caveat, None)
    return test


def _baseline_at_edge(strata: Sequence[tuple[int, int, int, int]]) -> bool:
    """Whether one of several emotions the model rated has a baseline Good count of 0 or all
    (one emotion's null is a ratio alone, and the guard sizes its own design)."""
    return len(strata) > 1 and any(n1 > 0 and good2 in (0, n2) for _, n1, good2, n2 in strata)


def _bounded_gain_end(
    test: GoodRateTest,
    strata: Sequence[tuple[int, int, int, int]],
    alpha: float,
    greater: bool,
    caveat: str,
    size: float | None,
) -> GoodRateTest:
    """``test`` whose ratio's bound on one side reaches the Berger-Boos test's at a gate's
    gain (``_ratio_end_reaching``)."""
    from . import berger_boos

    valid_end = berger_boos.standardized_bounded(strata, alpha, greater=greater).ratio_end
    return _ratio_end_reaching(test, valid_end, greater, caveat, size)


@dataclass(frozen=True)
class LiberalSide:
    """A direction (higher: ``greater``) of the score test that exceeds its level by a third
    near the baseline's rate: the worst ``size`` found and its ``level``; the gate's margin or
    gain it does so at (``exceeded_at``), None where it does so at no difference; and, where it
    does so at no difference and the gate's margin is on this side, the score test's size at
    that margin (``margin_size``), held within alpha and a third or not; where it does so at
    the margin only, the chance near that rate that the score test of no difference rejects
    the margin when it is the true difference (``crossing``, ``valid_margin_level``)."""

    greater: bool
    size: float
    level: float
    exceeded_at: Margin | None = None
    margin_size: float | None = None
    crossing: float | None = None


# A few milliseconds each; a simulation asks the same tables again and again.
@lru_cache(maxsize=4096)
def _liberal_sides(
    strata: tuple[tuple[int, int, int, int], ...],
    alpha: float,
    margin: Margin | None,
    family: int = 1,
    gain: Margin | None = None,
) -> tuple[LiberalSide, ...] | None:
    """Each direction whose score test's size, at no difference at each of ``holm_levels``
    or at the ``margin`` or the ``gain`` at alpha if on that side, exceeds its level by a
    third near the baseline's standardized rate: at any rate of its (1 - ``_GUARD_GAMMA``)
    Clopper-Pearson interval (at the effective number of ratings). A side liberal at no
    difference is measured at the margin too, so that where the score test holds its size
    there the margin's bound can stay its own (``_bounded_side``): at a baseline Bad rate of
    3 to 5% and 2 ratings in each of 32 emotions against 62 the score test of a lower rate
    exceeds alpha at no difference (0.075 at 3.5%, simulated) but holds it at no-more-bad's
    margin (0.047 at 3%). A side that holds it at no difference is measured at the margin and
    the gain, each of which can have its bound reach the valid test's (``_bounded_margin_end``,
    ``_ratio_end_reaching``), so that a gate's margin never changes the figures at no difference.
    The size is the worst of one-stratum score tests' (``score_size``) that stand for the
    stratified one (``_proxies``), and is the test's own with one stratum; past
    ``score_size.MOST_TABLES`` tables, from the tables the rates near the baseline's reach
    (1,000 ratings against 1,995 has size 0.071 near a rate of 0.0017). None where that is
    out of reach too, or the model has more than ``_GUARD_MOST_RATINGS`` ratings: the
    guard's answer is then unknown (``UNGUARDED``). With one stratum, the size at no
    difference is measured only where the model's interval meets the baseline's, so that the
    method does not depend on which group is first."""
    counts = Standardized.of(strata)
    n1 = counts.total
    if n1 > _GUARD_MOST_RATINGS:
        return None
    n2 = round(1 / float((counts.weights**2 / counts.second_n).sum()))
    low, high = _guard_range(counts.second * n2, n2)
    same = (low, high)
    if len(strata) == 1:
        # One stratum's null of no difference has one rate for both groups, and each group's
        # ratings bound it: its range is where both intervals hold it, the same whichever
        # group is first. The baseline's alone made the method depend on the order: 58 Good
        # of 84 against 7 of 125 took the valid test (its floor, p 0.005) near 7/125, and the
        # reverse the score test (3.1e-21; Barnard's exact test 6.4e-24). No rate in both:
        # the data rule out no difference, and the score test's size at alpha does not matter.
        first_low, first_high = _guard_range(strata[0][0], strata[0][1])
        same = (max(low, first_low), min(high, first_high))
    proxies = [(n1, n2)] if len(strata) == 1 else _proxies(counts, n2)
    near = _NearBaseline(tuple(proxies), low, high, alpha, same)
    sides: list[LiberalSide] = []
    for greater in (True, False):
        found = near.liberal(greater, margin, family, gain)
        if found is None:
            return None
        sides += found
    return tuple(sides)


# scipy's beta.ppf costs a millisecond a call, and an enumeration of a design's sizes asks the
# range of each of its counts again for every table.
@lru_cache(maxsize=4096)
def _guard_range(good: float, n: int) -> tuple[float, float]:
    """The (1 - ``_GUARD_GAMMA``) Clopper-Pearson interval of ``good`` of ``n`` ratings'
    rate, where the guard measures the score test's size."""
    from scipy.stats import beta

    low = float(beta.ppf(_GUARD_GAMMA / 2, good, n - good + 1)) if good > 0 else 0.0
    high = float(beta.ppf(1 - _GUARD_GAMMA / 2, good + 1, n - good)) if good < n else 1.0
    return low, high


@dataclass(frozen=True)
class _NearBaseline:
    """Where the score test's size is measured: the one-stratum designs that stand for the
    comparison (``_proxies``), the range of the baseline's rate near its own, alpha, and the
    range at no difference (``same``: with one stratum, where both groups' ranges meet)."""

    proxies: tuple[tuple[int, int], ...]
    low: float
    high: float
    alpha: float
    same: tuple[float, float]

    def worst(
        self, null: Margin, levels: Sequence[float], within: tuple[float, float] | None = None
    ) -> tuple[float, float]:
        """The largest size over the proxies and ``levels`` relative to its level, and that
        level, at the baseline's rates ``within`` (its range unless given; none, size 0, where
        that is empty); nan where a table is past even a rate's reach."""
        from . import score_size

        low, high = (self.low, self.high) if within is None else within
        if low > high:
            return 0.0, self.alpha
        sizes = [
            (
                score_size.local_size(
                    first,
                    second,
                    level,
                    null.difference,
                    greater=null.greater,
                    low=low,
                    high=high,
                    ratio=null.ratio,
                ),
                level,
            )
            for first, second in self.proxies
            for level in levels
        ]
        measured = [(size, level) for size, level in sizes if size is not None]
        if len(measured) < len(sizes):  # tables past even a rate's reach: not known
            return math.nan, self.alpha
        return max(measured, key=lambda found: found[0] / found[1])

    def crossing(self, greater: bool, margin: Margin) -> float | None:
        """The largest chance over the proxies that the score test of no difference rejects
        when the ``margin`` is the true difference; None where one is out of reach."""
        from . import score_size

        crossings = [
            score_size.local_size(
                first, second, self.alpha, 0.0, greater=greater, low=self.low, high=self.high, truth=margin.difference
            )
            for first, second in self.proxies
        ]
        measured = [crossing for crossing in crossings if crossing is not None]
        return max(measured) if len(measured) == len(crossings) else None

    def liberal(
        self, greater: bool, margin: Margin | None, family: int, gain: Margin | None
    ) -> list[LiberalSide] | None:
        """One direction's liberal sizes (see ``_liberal_sides``); None where one is not known."""
        alpha = self.alpha
        size, level = self.worst(Margin(0.0, greater), holm_levels(alpha, family), self.same)
        at_margin = self.worst(margin, (alpha,))[0] if margin is not None and margin.greater is greater else None
        if math.isnan(size) or (at_margin is not None and math.isnan(at_margin)):
            return None
        if size > level * _SIZE_TOLERANCE:
            return [LiberalSide(greater, size, level, None, at_margin)]
        sides: list[LiberalSide] = []
        if margin is not None and at_margin is not None and at_margin > alpha * _SIZE_TOLERANCE:
            crossing = self.crossing(greater, margin)
            if crossing is None:
                return None
            sides.append(LiberalSide(greater, at_margin, alpha, margin, crossing=crossing))
        if gain is not None and gain.greater is greater:
            at_gain = self.worst(gain, (alpha,))[0]
            if math.isnan(at_gain):
                return None
            if at_gain > alpha * _SIZE_TOLERANCE:
                sides.append(LiberalSide(greater, at_gain, alpha, gain))
        return sides


def _proxies(counts: Standardized, effective: int) -> list[tuple[int, int]]:
    """The one-stratum designs (model's ratings, baseline's) whose score tests' sizes stand
    for the stratified test's: the model's ratings and, for an uneven mix, its fewest-rated
    emotion's count times the emotions; each against the baseline's ``effective`` number
    1 / sum(w^2 / n2) and more, up to ``_PROXY_REACH`` times the model's, on a geometric grid
    (where the emotions' rates differ, those near 0 or 1 carry little variance and the others
    count for more ratings: the worst exact sizes over two emotions sat there). Matched on
    even designs within 0.0003 by the first alone; exact enumeration over uneven designs of 2
    and 3 emotions, common, heterogeneous and weak nulls, found the first alone liberal (up
    to 0.093) and the worst of these within alpha and a third (``tests/test_strata_sizes.py``);
    the others than the first are enumerated only up to ``_PROXY_TABLES`` tables."""
    import numpy as np

    fewest = round(float(counts.weights.min()) * counts.total) * len(counts.weights)
    reach = np.geomspace(effective, max(effective, _PROXY_REACH * counts.total), _PROXY_POINTS)
    found = {(counts.total, effective)}
    for first in (counts.total, fewest):
        most = _PROXY_TABLES // (first + 1) - 1
        found |= {(first, round(m)) for m in reach if round(m) <= most}
    return sorted(found)


def _bounded_side(
    test: GoodRateTest,
    strata: Sequence[tuple[int, int, int, int]],
    alpha: float,
    side: LiberalSide,
    *,
    rate: str,
) -> GoodRateTest:
    """``test`` with one direction's figures the Berger-Boos test's at ``alpha``, its methods
    saying so first, and why (the score test's local size at its level). Where the score test
    holds its size at the gate's margin on that side (``side.margin_size``), the bound the
    margin is read on stays the score test's wherever neither test's excludes no difference,
    so that it agrees with the valid p-value about no difference and tests the margin at the
    score test's size there: it passes the margin by the valid test's bound only where one of
    them rejects no difference in the margin's direction, a chance far below alpha at the
    margin."""
    from . import berger_boos

    greater = side.greater
    bounded = berger_boos.standardized_bounded(strata, alpha, greater=greater)
    decides = f"{_bounded_by(greater, rate)}: {_bounded_how(strata, alpha, rate, greater=greater)}; "
    decides += f"{BOUNDED_WHY}{_size_at(side.size, side.level)}"
    interval, ratio_ci = test.difference_ci, test.ratio_ci
    score_end = interval.low if greater else interval.high
    difference_end = bounded.difference_end
    at_margin = side.margin_size
    kept = not any(_excludes_no_difference(end, greater) for end in (score_end, difference_end))
    valid_bounds = (*test.valid_bounds, (greater, alpha))
    if at_margin is not None and at_margin <= alpha * _SIZE_TOLERANCE and kept:
        difference_end, valid_bounds = score_end, test.valid_bounds
        bound = "lower" if greater else "upper"
        decides += f"; its {bound} bound, where neither test excludes no difference, {MARGIN_BOUND_KEPT}"
        decides += _size_at(at_margin, alpha)
    test = replace(
        test,
        method=_decided_first(decides, test.method),
        ratio_method=_decided_first(decides, test.ratio_method),
        valid_bounds=valid_bounds,
    )
    if greater:
        return replace(
            test,
            p_greater=bounded.p_value,
            difference_ci=Interval(difference_end, interval.high),
            ratio_ci=None if ratio_ci is None else Interval(bounded.ratio_end, ratio_ci.high),
        )
    return replace(
        test,
        p_less=bounded.p_value,
        difference_ci=Interval(interval.low, difference_end),
        ratio_ci=None if ratio_ci is None else Interval(ratio_ci.low, bounded.ratio_end),
    )


def _size_at(size: float, level: float) -> str:
    """The score test's size a method names, or why it is not known."""
    return f" ({size:.3f} at alpha {level:.3g})"


def _excludes_no_difference(end: float, greater: bool) -> bool:
    """Whether a lower bound (``greater``) or an upper bound excludes no difference."""
    return end > 0 if greater else end < 0


def _bounded_margin_end(
    test: GoodRateTest,
    strata: Sequence[tuple[int, int, int, int]],
    alpha: float,
    size: float,
    crossing: float,
    *,
    greater: bool,
    rate: str,
) -> GoodRateTest:
    """``test`` where the score test holds its size at no difference but not at the gate's
    margin on one side: its margin's bound reaches the Berger-Boos test's at
    ``valid_margin_level`` (``_margin_end_reaching``)."""
    from . import berger_boos

    level = valid_margin_level(alpha, crossing)
    bounded_end = berger_boos.standardized_bounded(strata, level, greater=greater).difference_end
    caveat = _bounded_too(strata, level, rate, greater)
    reached = _margin_end_reaching(test, bounded_end, greater, caveat, size, crossing, level)
    if reached is test:  # the score test's bound excludes no difference: it stays
        return test
    return replace(reached, valid_bounds=(*reached.valid_bounds, (greater, level)))


def _bounded_too(
    strata: Sequence[tuple[int, int, int, int]], alpha: float, rate: str, greater: bool, why: str = MARGIN_WHY
) -> str:
    """The Berger-Boos test where it decides a gate's margin or gain only, and ``why``."""
    return f"{STANDARDIZED_BOUNDED} ({_bounded_how(strata, alpha, rate, greater=greater)}), {why}"


def valid_margin_level(alpha: float, crossing: float) -> float:
    """The level of the valid test whose bound a margin's reaches (``_margin_end_reaching``),
    where the score test of no difference rejects it ``crossing`` of the time when the margin
    is the true difference: alpha where the union bound alpha + ``crossing`` is within alpha
    and a third (the tolerance every size here is held to), else alpha - ``crossing``, so that
    the bound is alpha itself (callers give the valid test the whole side where ``crossing``
    reaches alpha)."""
    return alpha if alpha + crossing <= alpha * _SIZE_TOLERANCE else alpha - crossing


def _margin_end_reaching(
    test: GoodRateTest, valid_end: float, greater: bool, caveat: str, size: float, crossing: float, level: float
) -> GoodRateTest:
    """``test`` whose bound on one side (``greater``: the lower) reaches ``valid_end``, a
    valid test's at ``level``, where it does not exclude no difference: its p-values and
    ratio ends stay, so that a margin a run sets does not move ``better``, and so does a bound
    that excludes no difference; elsewhere the margin passes only where the valid test
    rejects it too. The margin's null is rejected on R_score(0) U (R_score(m) n R_valid(m)),
    whose size is at most the valid test's ``level`` plus ``crossing``, the chance that the
    score test of no difference rejects it when the margin is the true difference (computed,
    ``score_size.rejection_curve``: 0.0002 for 2 ratings in each of 32 emotions against 62,
    0.0077 at 64 against 1,995 and 5 points, 0.018 at 41 against 62, 0.04 for 3 ratings in
    each of 2 emotions against 12): ``valid_margin_level`` holds that sum within alpha and a
    third, or at alpha."""
    interval = test.difference_ci
    score_end = interval.low if greater else interval.high
    if _excludes_no_difference(score_end, greater):
        return test
    side = "lower" if greater else "upper"
    decides = f"the {side} bound, not excluding no difference, by {caveat}"
    decides += f" ({size:.3f} at alpha {(1 - test.confidence) / 2:.3g}), at alpha {level:.3g}: the score test of no"
    decides += f" difference rejects it {crossing:.3f} of the time where the margin is true"
    method = _decided_first(decides, test.method)
    if greater:
        return replace(test, method=method, difference_ci=Interval(min(score_end, valid_end), interval.high))
    return replace(test, method=method, difference_ci=Interval(interval.low, max(score_end, valid_end)))


def _ratio_end_reaching(
    test: GoodRateTest, valid_end: float, greater: bool, caveat: str, size: float | None
) -> GoodRateTest:
    """``test`` whose ratio's bound on one side (``greater``: the lower) reaches ``valid_end``,
    a valid test's, as ``_margin_end_reaching``'s difference bound does, for `min-good-gain`'s
    ratio 1 + R: its p-values and difference ends stay, so that R never moves `better`. A
    bound that excludes no difference keeps that (its test of no difference holds its size)
    and reaches the valid end beyond it only: a relative gain above 0 is a null past no
    difference, which the test of no difference says nothing of; a bound that does not
    exclude it reaches the valid end (a negative R)."""
    ratio_ci = test.ratio_ci
    if ratio_ci is None:
        return test
    score_end = ratio_ci.low if greater else ratio_ci.high
    if greater:
        end = min(score_end, max(valid_end, 1.0)) if score_end > 1 else min(score_end, valid_end)
    else:
        end = max(score_end, min(valid_end, 1.0)) if score_end < 1 else max(score_end, valid_end)
    if end == score_end:
        return test
    side = "lower" if greater else "upper"
    decides = f"the ratio's {side} bound, beyond no difference, by {caveat}"
    if size is not None:
        decides += f" ({size:.3f} at alpha {(1 - test.confidence) / 2:.3g}, at the gain asked for)"
    ratio_method = _decided_first(decides, test.ratio_method)
    interval = Interval(end, ratio_ci.high) if greater else Interval(ratio_ci.low, end)
    return replace(test, ratio_method=ratio_method, ratio_ci=interval)


def bounded(test: GoodRateTest, *, greater: bool) -> bool:
    """Whether ``test``'s higher side (``greater``: p_better and the lower bounds) or its
    lower side is the Berger-Boos test's (``_guarded``)."""
    return f"{STANDARDIZED_BOUNDED} decides the {'higher' if greater else 'lower'} side" in test.method


def valid_bound_level(test: GoodRateTest, *, greater: bool) -> float | None:
    """The level of Berger and Boos's test where ``test``'s difference bound on one side
    (``greater``: the lower) is that test's, with its side (``_bounded_side``, unless the
    score test's bound is kept at the margin) or alone, reaching it at a gate's margin
    (``_bounded_margin_end``, at ``valid_margin_level``); None where it is not."""
    return next((level for side, level in test.valid_bounds if side is greater), None)


# A side's one-sided p-value as the JSON names it, by the rate compared: the Good rate's
# directions are the model's better and worse, the Bad rate's only higher and lower.
_P_NAMES = {"Good": ("p_better", "p_worse"), "Bad": ("p_higher", "p_lower")}


def _bounded_by(greater: bool, rate: str) -> str:
    higher, lower = _P_NAMES[rate]
    side = f"higher side ({higher}, lower bounds)" if greater else f"lower side ({lower}, upper bounds)"
    return f"{STANDARDIZED_BOUNDED} decides the {side}"


def _bounded_how(strata: Sequence[tuple[int, int, int, int]], alpha: float, rate: str, *, greater: bool) -> str:
    """How the Berger-Boos test decides a side of ``rate`` over ``strata`` at ``alpha``: the
    baseline's bound it takes, and its p-value's floor."""
    from . import berger_boos

    gamma = alpha * berger_boos.BASELINE_SHARE
    return (
        f"the model's {rate} count's largest tail (Hoeffding's) at the baseline's {rate}-rate "
        f"{'upper' if greater else 'lower'} bound ({berger_boos.rate_bound_method(strata)}, at 1 - alpha/10), plus "
        f"alpha/10: its p-value is at least {gamma:.3g} and depends on alpha"
    )


# Why a side is the valid test's, in a test's method (STANDARDIZED_BOUNDED_WHEN in full).
BOUNDED_WHY = "the score test's size near the baseline's rate exceeds its level by a third"


# Where a valid test decides part of a comparison, the method names it first, then the score
# test it replaced there, which decides the rest.
REPLACING = "; replacing there, and deciding the rest: the "


def _decided_first(decides: str, method: str) -> str:
    """``method`` with ``decides`` first: after any valid test's part already named."""
    named, replacing, score = method.partition(REPLACING)
    return f"{named}; {decides}{replacing}{score}" if replacing else f"{decides}{REPLACING}{method}"


# Beyond a ratio of e^20 (about 5e8) either way the restricted rates can lie closer to a
# rate's kink at 0 or 1 than double precision resolves (a second side without Good ratings,
# whose rates the null pushes off 0 by a share of 1e-13 and less): the ratio's statistic is
# taken there at e^+-20, constant beyond, so that it still falls and an interval reaching it
# reads as unbounded (0 or infinity).
_FARTHEST_LOG_RATIO = 20.0


def standardized_statistic(
    strata: Sequence[tuple[int, int, int, int]],
    *,
    ratio: float = 1.0,
    difference: float = 0.0,
    design_effect: float | None = None,
) -> float:
    """The statistic ``standardized`` refers to a null p1 = ``ratio`` * p2 + ``difference``
    (at no difference, its p-values'), without its intervals: for simulations of its size and
    coverage (an interval covers a value exactly when its two-sided test does not reject it)."""
    return Standardized.of(strata).statistic(ratio, difference, inflation(design_effect), 0.0)[0]


@dataclass(frozen=True)
class Standardized:
    """Counts of a standardized comparison: the first side's Good ratings of all its cases
    (one binomial), and, as numpy arrays over the strata, each stratum's weight (its share of
    the first side's cases) with the second side's Good ratings and ratings there."""

    first_good: int
    total: int
    weights: NDArray[np.float64]
    second_good: NDArray[np.float64]
    second_n: NDArray[np.float64]
    # The rates compared: the first side's, and the second side's standardized to its mix.
    first: float
    second: float

    @classmethod
    def of(cls, strata: Sequence[tuple[int, int, int, int]]) -> Standardized:
        import numpy as np

        first_good, first_n, second_good, second_n = (np.array(c, dtype=float) for c in zip(*strata, strict=True))
        # Plain Python numbers for what the test reports: numpy's would reach the JSON document.
        total, good = int(first_n.sum()), int(first_good.sum())
        weights = first_n / total
        second = float(weights @ (second_good / second_n))
        return cls(good, total, weights, second_good, second_n, good / total, second)

    def statistic(self, ratio: float, difference: float, scale: float, start: float) -> tuple[float, float]:
        """The standardized score statistic for p1 = ratio * p2 + difference, and the
        multiplier of its restricted rates (Newton's method starting at ``start``): (p1 -
        ratio p2 - difference) / sqrt(V1 + ratio^2 V2), both variances at the
        maximum-likelihood rates under that null (``_restricted_rates``), as Miettinen and
        Nurminen's are for two groups, times ``scale`` (the design effect). The first side's
        rate is one binomial proportion over all its cases (V1); V2 is the standardized second
        rate's, sum w^2 p2 (1 - p2) / n2 over the strata. At the estimates instead (Wald's) a
        run with no Good rating, or only Good ones, or a baseline emotion at 0 or all Good
        would add no variance: 0 of 64 got an interval 3.7 points wide. The statistic falls
        as either null value rises."""
        rates = _restricted_rates(self, ratio, difference, start)
        moments = score_moments(rates.first, self.total, rates.second, self.second_n, self.weights, ratio)
        variance, skew = float(moments[0]), float(moments[1])
        z = _ratio_z(self.first - ratio * self.second - difference, scale * variance)
        if variance > 0 and math.isfinite(z):
            z = float(skewness_corrected(z, skew))
        return z, rates.multiplier


def score_moments(
    first: NDArray[np.float64] | float,
    first_n: int,
    second: NDArray[np.float64],
    second_n: NDArray[np.float64],
    weights: NDArray[np.float64],
    ratio: float,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The variance of p1 - ratio * sum w p2 at the rates ``first`` (of ``first_n`` ratings)
    and ``second`` (each stratum's along the last axis, of ``second_n``), and its skewness
    term, the third central moment over six times the variance to the 3/2 (0 without
    variance); elementwise over any leading axes, so that an enumeration takes every table at
    once (``score_size``)."""
    import numpy as np

    variance = first * (1 - first) / first_n + ratio**2 * (weights**2 * second * (1 - second) / second_n).sum(axis=-1)
    third = first * (1 - first) * (1 - 2 * first) / first_n**2 - ratio**3 * (
        weights**3 * second * (1 - second) * (1 - 2 * second) / second_n**2
    ).sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        skew = np.where(variance > 0, third / (6 * variance**1.5), 0.0)
    return variance, skew


def skewness_corrected(z: NDArray[np.float64] | float, skew: NDArray[np.float64] | float) -> NDArray[np.float64]:
    """Gart and Nam's (1990) skewness correction of a score statistic ``z`` whose numerator
    has third central moment over six times its variance to the 3/2 ``skew`` (Laud 2017's
    SCAS): the corrected statistic is the root of z = c + skew (c^2 - 1) on the branch that
    rises with z, so that a skewed numerator's quantiles, c + skew (c^2 - 1) by Cornish and
    Fisher, meet the normal's. Beyond the branch's end (z below -1/(4 skew) - skew for a
    positive skew) the quadratic has no root; the statistic carries on from that end with
    slope 1, so it stays continuous and rising in z (Laud's software falls back on the
    correction at the interval's level there, which gives each level a statistic of its
    own). Elementwise over numpy arrays."""
    import numpy as np

    z, skew = np.asarray(z, dtype=float), np.asarray(skew, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        root = 1 + 4 * skew * (z + skew)
        rising = 2 * (z + skew) / (1 + np.sqrt(np.maximum(root, 0.0)))
        end = -1 / (4 * skew) - skew
        corrected = np.where(root >= 0, rising, -1 / (2 * skew) + (z - end))
    return np.where(skew == 0, z, corrected)


def _interpolated(found: Sequence[tuple[float, float]], value: float, scale: float) -> float:
    """A start for the multiplier at a null ``value``, from the (value, multiplier) pairs
    ``found``: the multiplier falls as the null value rises, so between the nearest pair
    below and the nearest above, interpolated on asinh(multiplier / ``scale``) (a range end's
    multiplier can be vast); beyond them all, the nearest one's."""
    below = max((f for f in found if f[0] <= value), default=None)
    above = min((f for f in found if f[0] >= value), default=None)
    if below is None or above is None or below[0] == above[0]:
        return (below or above or (value, 0.0))[1]
    share = (value - below[0]) / (above[0] - below[0])
    low, high = math.asinh(below[1] / scale), math.asinh(above[1] / scale)
    return scale * math.sinh(low + share * (high - low))


@dataclass(frozen=True)
class RestrictedRates:
    """The maximum-likelihood rates under a standardized null: the first side's one rate, the
    second side's rate in each stratum (a numpy array), and the Lagrange multiplier that
    found them."""

    first: float
    second: NDArray[np.float64]
    multiplier: float


def _restricted_rates(counts: Standardized, ratio: float, difference: float, start: float) -> RestrictedRates:
    """The rates of highest likelihood, x1 of n1 Good on the first side (one binomial) and
    x2 of n2 in each stratum of the second (weight w), under p1 = ratio * sum w p2 +
    difference (``counts``).

    With a Lagrange multiplier m, each rate maximises its own log likelihood plus a linear
    term: c p with c = -m for p1 and c = m ratio w for a stratum's p2, whose maximiser is a
    quadratic's root (``_tilted_rate``). The constraint's excess p1 - ratio sum w p2 -
    difference falls as m rises (p1 falls, every p2 rises), from 1 - difference (m to minus
    infinity: p1 at 1, every p2 at 0) to -ratio - difference, so one root in m where those
    differ in sign; where they do not, the null lies on the boundary and its rates are those
    limits. Newton's method from ``start``, on u = asinh(m / scale) (near a range end m is
    vast, and the excess decays as 1/m, which Newton's method on m itself closes in on only by
    doubling), kept inside the bracket it has found, bisecting where a step would leave it.
    The scale is n1, over the ratio where that exceeds 1: a vast ratio puts the root at a tiny
    m, the second side's tilts m ratio w staying of the order of its counts."""
    x1, n1, weights = counts.first_good, counts.total, counts.weights
    if len(weights) == 1 and (ratio == 1.0 or difference == 0.0):
        return _two_group_rates(x1, n1, int(counts.second_good[0]), int(counts.second_n[0]), ratio, difference)
    if difference >= 1:
        return RestrictedRates(1.0, 0.0 * weights, -math.inf)
    if difference <= -ratio:
        return RestrictedRates(0.0, 0.0 * weights + 1.0, math.inf)
    low, high, previous = -math.inf, math.inf, math.inf
    scale = n1 / max(1.0, ratio)
    u = math.asinh(start / scale)
    for _ in range(_MULTIPLIER_STEPS):
        multiplier = scale * math.sinh(u)
        p1, slope1 = _tilted_rate(x1, n1, -multiplier)
        second, slopes = _tilted_rates(counts.second_good, counts.second_n, multiplier * ratio * weights)
        excess = p1 - difference - ratio * float(weights @ second)
        slope = -slope1 - ratio * ratio * float((weights * weights) @ slopes)
        if abs(excess) <= _EXCESS_TOLERANCE or high - low <= _TOLERANCE:
            break
        if excess > 0:
            low = u
        else:
            high = u
        slope *= scale * math.cosh(u)
        # A Newton step that did not quarter the excess is crossing a steep stretch (a vast
        # ratio moves the rates at a tiny m): a stride or bisection goes farther.
        slow, previous = abs(excess) > previous / 4, abs(excess)
        u = _next_point(u, excess, slope, low, high, slow=slow)
    return RestrictedRates(p1, second, multiplier)


def _next_point(u: float, excess: float, slope: float, low: float, high: float, *, slow: bool) -> float:
    """The multiplier search's next u: Newton's step where it stays inside the bracket and
    within a stride, unless the last step was ``slow``; else a stride outwards while the
    bracket is open on one side; else the bracket's midpoint."""
    step = u - excess / slope if slope < 0 else math.nan
    if not slow and max(low, u - _STRIDE) < step < min(high, u + _STRIDE):
        return step
    if math.isinf(low) or math.isinf(high):
        # No bracket yet on one side: reach out, m growing about fiftyfold a stride.
        return u + (_STRIDE if math.isinf(high) else -_STRIDE)
    return (low + high) / 2


def _two_group_rates(x1: int, n1: int, x2: int, n2: int, ratio: float, difference: float) -> RestrictedRates:
    """The restricted rates of one stratum, two groups, in closed form (Miettinen and
    Nurminen's): under p1 = p2 + difference a cubic's likeliest root, under p1 = ratio * p2 a
    quadratic's smaller root. A tenth of the time of the multiplier's search, which an
    unpaired comparison within an emotion would otherwise take some fifty times."""
    if ratio == 1.0:
        second = _restricted_second_rate(x1, n1, x2, n2, difference)
        return RestrictedRates(min(1.0, max(0.0, second + difference)), _one(second), math.nan)
    n = n1 + n2
    a, b, c = n * ratio, -(n1 * ratio + x1 + n2 + x2 * ratio), x1 + x2
    second = (-b - math.sqrt(max(0.0, b * b - 4 * a * c))) / (2 * a)
    return RestrictedRates(min(1.0, ratio * second), _one(second), math.nan)


def _one(rate: float) -> NDArray[np.float64]:
    import numpy as np

    return np.array([rate])


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


# The constraint is met to this (a difference of rates): far below any figure shown.
_EXCESS_TOLERANCE = 1e-14
# Newton's steps from a warm start take a few; strides and bisection from no bracket at most
# about 60.
_MULTIPLIER_STEPS = 200
# The farthest a step on asinh(m / scale) goes: m about fifty times as large.
_STRIDE = 4.0


def _tilted_rates(
    x: NDArray[np.float64], n: NDArray[np.float64], tilt: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``_tilted_rate`` elementwise over numpy arrays: one stratum at a time costs a Python
    call each, and the intervals need a few hundred passes over the strata."""
    import numpy as np

    b = n - tilt
    root = np.sqrt(np.maximum(0.0, b * b + 4 * tilt * x))
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.minimum(1.0, np.maximum(0.0, np.where(b > 0, 2 * x / (b + root), (root - b) / (2 * tilt))))
        curvature = 2 * tilt * rate + b
        slope = np.where(curvature > 0, rate * (1 - rate) / curvature, 0.0)
    return rate, slope


def _tilted_rate(x: int, n: int, tilt: float) -> tuple[float, float]:
    """The rate p in [0, 1] maximising x log p + (n - x) log(1 - p) + tilt p, and its
    derivative in tilt. The first two terms' derivative times p (1 - p) plus tilt p (1 - p) is
    x - (n - tilt) p - tilt p^2, which falls through zero once in [0, 1]; its root, written
    without cancellation."""
    b = n - tilt
    root = math.sqrt(max(0.0, b * b + 4 * tilt * x))
    rate = 2 * x / (b + root) if b > 0 else (root - b) / (2 * tilt)
    rate = min(1.0, max(0.0, rate))
    curvature = 2 * tilt * rate + b
    return rate, (rate * (1 - rate) / curvature if curvature > 0 else 0.0)


def paired(
    counts: PairedCounts,
    *,
    confidence: float,
    design_effect: float | None = None,
    reference: Reference = NORMAL,
    family: int = 1,
) -> GoodRateTest:
    """The same cases rated on two sides: Tango's score test, or, unclustered and with at
    most ``holm_cutover`` cases Good on one side only (``family``: the emotions whose Holm's
    steps compare its p-values with every level up to ``family`` times its own), the exact
    test conditional on them."""
    score = paired_score(counts, confidence, design_effect, reference)
    discordant = counts.first_only + counts.second_only
    if decided_exactly(discordant, (1 - confidence) / 2, reference, design_effect, family):
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
    discordant: float,
    alpha: float,
    reference: Reference = NORMAL,
    design_effect: float | None = None,
    family: int = 1,
) -> bool:
    """Whether a paired comparison at one-sided ``alpha`` with ``discordant`` cases Good on one
    side only is McNemar's exact test: no rater clusters the ratings (no design effect, the
    normal reference; clustered ones are referred to t) and at most ``holm_cutover`` of them."""
    return design_effect is None and reference == NORMAL and 0 < discordant <= holm_cutover(alpha, family)


@cache
def holm_cutover(alpha: float, family: int = 1) -> int:
    """The most discordant cases at which the score test's size exceeds its level by more
    than a third at any level Holm's steps can compare an emotion's p-value with, one of
    ``family`` emotions tested first at ``alpha`` (``holm_levels``): the largest
    ``exact_cutover`` of them. The first level's alone let sizes up to 1.43 times a later
    level through at 32 emotions and alpha 0.05 (42 to 73 discordant cases), and up to 1.95
    times at alpha 0.01, whose first level's cutover is 0 from 16 emotions on
    (tests/test_holm_sizes.py)."""
    return max(exact_cutover(level) for level in holm_levels(alpha, family))


@cache
def exact_cutover(alpha: float) -> int:
    """The most discordant cases at which the score test's size, given that many, exceeds
    alpha by more than a third: up to it the exact test replaces the score test.

    Given d discordant cases and no difference, the cases Good on the first side only are
    binomial (d, 1/2), and Tango's statistic at no difference is McNemar's whatever the
    other cells, so its size given d is a binomial tail, found here by enumeration for every
    d up to ``_CUTOVER_SEARCH``: 11 at alpha 0.2, 29 at 0.05, 53 at 0.01, 60 at 0.001, 64 at
    0.05 / 8, 69 at 0.00286 (tests/test_sizes.py searches to 400)."""
    # One-sided at alpha (below 0.5, as --empathy-alpha is held): as power.py and score_size.py take it.
    critical = normal_quantile(1 - 2 * alpha)
    cutover = 0
    for d in range(1, _CUTOVER_SEARCH + 1):
        if _even_split_tails(d)[_first_rejected(d, alpha, critical)] > alpha * _SIZE_TOLERANCE:
            cutover = d
    return cutover


@cache
def _even_split_tails(d: int) -> tuple[float, ...]:
    """P(X >= b) for X binomial (d, 1/2), b = 0 .. d + 1: sums of binomial coefficients over
    2^d, each rounded once; the incomplete beta function's continued fraction took most of a
    cutover's time far in the tail, for each of Holm's levels."""
    sums = list(itertools.accumulate(math.comb(d, k) for k in range(d, -1, -1)))[::-1]
    return (*(total / 2**d for total in sums), 0.0)


def _first_rejected(d: int, alpha: float, critical: float) -> int:
    """The fewest of ``d`` discordant cases Good on the first side only at which the paired
    score test at one-sided ``alpha`` rejects no difference (d + 1: none). The statistic
    rises with them, and at no difference is McNemar's, (2b - d) / sqrt(d), which puts the
    count at about (d + ``critical`` sqrt(d)) / 2; the statistic as the test computes it
    settles the count from there, in a step or two where trying every count from d down
    took a 32-emotion run's finish 2.4 s."""

    def rejects(first_only: int) -> bool:
        return normal_cdf(-tango(d, first_only, d - first_only, 0.0)) < alpha

    first = min(max(math.ceil((d + critical * math.sqrt(d)) / 2), 0), d + 1)
    while first <= d and not rejects(first):
        first += 1
    while first > 0 and rejects(first - 1):
        first -= 1
    return first


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
    +-``critical``; the statistic falls as the null value rises and lies within them at
    ``estimate`` (0 there, or within +-1 where skewness-corrected)."""
    return (
        _crossing(z, critical, lowest, estimate),
        _crossing(z, -critical, estimate, highest),
    )


def _crossing(z: Callable[[float], float], level: float, low: float, high: float) -> float:
    """Where ``z`` falls through ``level`` between ``low`` and ``high``; the end itself when
    it does not."""
    ends: dict[float, float] = {}

    def excess_at(end: float) -> float:
        if end not in ends:
            ends[end] = z(end) - level
        return ends[end]

    if level > 0 and excess_at(low) <= 0:
        return low
    if level < 0 and excess_at(high) >= 0:
        return high
    # Regula falsi, the Illinois variant, inside the bracket: a few evaluations where
    # bisection needs forty (a standardized statistic costs a root search each); a step that
    # leaves the bracket, or two that do not halve it, bisect instead.
    above, below = excess_at(low), excess_at(high)
    side, widths = 0, [math.inf, math.inf, math.inf]
    while high - low > _TOLERANCE:
        finite = math.isfinite(above) and math.isfinite(below)
        middle = (low * below - high * above) / (below - above) if finite else math.nan
        if not low < middle < high or 2 * (high - low) > widths[-3]:
            middle = (low + high) / 2
        # A step at least half the tolerance from either end, so that a point that has all but
        # converged closes the bracket with the next one (Brent's guard).
        middle = min(max(middle, low + _TOLERANCE / 2), high - _TOLERANCE / 2)
        widths.append(high - low)
        excess = z(middle) - level
        if excess == 0:
            return middle
        if excess > 0:
            low, above = middle, excess
            if side == 1:
                below /= 2
            side = 1
        else:
            high, below = middle, excess
            if side == -1:
                above /= 2
            side = -1
    return (low + high) / 2


def _ratio_z(numerator: float, variance: float) -> float:
    """numerator / sqrt(variance); a difference that floating point cannot tell from none
    over no variance is no evidence, not infinite evidence."""
    if variance <= 0:
        return 0.0 if abs(numerator) < 1e-12 else math.copysign(math.inf, numerator)
    return numerator / math.sqrt(variance)


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
