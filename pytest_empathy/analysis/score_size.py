"""The size of the unpaired score test (``proportions.unpaired``, SCAS) by enumeration, at
no difference and at a gate's margin (``margin_size``).
numpy is imported here, and this module only where an unpaired comparison needs its size.

See docs/explanation/statistics.md, "The score test's size by enumeration".
"""

from __future__ import annotations

from functools import cache, lru_cache

import numpy as np
from numpy.typing import NDArray

from . import proportions, stretches
from .distributions import normal_quantile

_ENDS = np.geomspace(1e-5, 0.02, 300)
RATES = np.unique(np.concatenate([_ENDS, np.arange(0.02, 0.98, 0.001), 1 - _ENDS]))
# The most tables enumerated (1,000 against 1,000; 200 against 4,975): a few tenths of a
# second and some 100 MB; a larger pair's size is not stated.
MOST_TABLES = 1_002_001


@cache
def score_size(n1: int, n2: int, alpha: float) -> float:
    """The size of the one-sided score test at ``alpha`` of ``n1`` against ``n2`` ratings: the
    larger of its two directions' chances of rejecting, at the worst true rate of ``RATES``."""
    return max(float(size_curve(n1, n2, alpha, 0.0, greater=g)[1].max()) for g in (True, False))


@cache
def margin_size(n1: int, n2: int, alpha: float, difference: float, *, greater: bool, ratio: float = 1.0) -> float:
    """The size of the one-sided score test at ``alpha`` of the null p1 = ``ratio`` * p2 +
    ``difference`` against a first rate above it (``greater``: a lower bound above it, as
    `not-worse` asks at minus its margin and `min-good-gain R` at a ratio of 1 + R) or below it
    (an upper bound below it, as `no-more-bad` asks at its margin), when that is the truth: the
    worst over the second group's rate t of ``RATES`` where ratio * t + difference is a rate."""
    return float(size_curve(n1, n2, alpha, difference, greater=greater, ratio=ratio)[1].max())


def local_size(
    n1: int,
    n2: int,
    alpha: float,
    difference: float,
    *,
    greater: bool,
    low: float,
    high: float,
    ratio: float = 1.0,
    truth: float | None = None,
) -> float | None:
    """``margin_size`` near the true rate only: the worst over the second group's rates of
    ``RATES`` from the last at or below ``low`` to the first at or above ``high`` (so that an
    interval between two grid rates still meets both); with a ``truth``, the chance that the
    test of ``difference`` rejects it when the true difference is that (``rejection_curve``).
    Past ``MOST_TABLES`` tables, an upper bound that weighs only the tables whose counts those
    rates reach (``_windowed_sizes``); None where even those are more than ``MOST_TABLES``."""
    true_difference = difference if truth is None else truth
    rates = _second_rates(ratio, true_difference)
    first = max(int(np.searchsorted(rates, low, side="right")) - 1, 0)
    last = min(int(np.searchsorted(rates, high, side="left")), len(rates) - 1)
    if (n1 + 1) * (n2 + 1) <= MOST_TABLES:
        curve = rejection_curve(n1, n2, alpha, difference, true_difference, greater=greater, ratio=ratio)
        return float(curve[1][first : last + 1].max())
    low_rate, high_rate = float(rates[first]), float(rates[last])
    sizes = _windowed_sizes(n1, n2, alpha, difference, greater, low_rate, high_rate, ratio, true_difference)
    return None if sizes is None else float(sizes.max())


# Past MOST_TABLES a size near a rate weighs the tables whose counts lie between their
# binomial quantiles REACH and 1 - REACH at the stretch's ends, and adds the chance of a
# count outside them: an upper bound, above the size by at most 4 REACH.
REACH = 1e-9


@lru_cache(maxsize=64)
def _windowed_sizes(
    n1: int,
    n2: int,
    alpha: float,
    difference: float,
    greater: bool,
    low: float,
    high: float,
    ratio: float = 1.0,
    truth: float | None = None,
) -> NDArray[np.float64] | None:
    """Upper bounds of ``size_curve``'s chances at its rates from ``low`` to ``high``, from
    the tables whose counts those rates reach (None where they are more than
    ``MOST_TABLES``): at rates near 0 only small counts, near one half a band some twelve
    standard deviations wide, whatever the groups' sizes."""
    from scipy.stats import binom

    rates = RATES[(low <= RATES) & (high >= RATES)]
    firsts = ratio * rates + (difference if truth is None else truth)
    (start1, stop1), (start2, stop2) = (
        (int(binom.ppf(REACH, n, chances.min())), int(binom.isf(REACH, n, chances.max())))
        for n, chances in ((n1, firsts), (n2, rates))
    )
    if (stop1 - start1 + 1) * (stop2 - start2 + 1) > MOST_TABLES:
        return None
    z = statistics_at(n1, n2, difference, ratio, (start1, stop1), (start2, stop2))
    critical = normal_quantile(1 - 2 * alpha)
    region = z > critical if greater else z < -critical
    first = binom.pmf(np.arange(start1, stop1 + 1)[None, :], n1, firsts[:, None])
    outside = binom.cdf(start1 - 1, n1, firsts) + binom.sf(stop1, n1, firsts)
    outside += binom.cdf(start2 - 1, n2, rates) + binom.sf(stop2, n2, rates)
    sizes: NDArray[np.float64] = _chance(region, first, n2, rates, start2) + outside
    return sizes


def size_curve(
    n1: int, n2: int, alpha: float, difference: float, *, greater: bool, ratio: float = 1.0
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The chance that the one-sided score test at ``alpha`` of the null p1 = ``ratio`` * p2 +
    ``difference`` rejects it (``greater``: in favour of a first rate above it) when it is the
    truth, at each second group's rate t of ``RATES`` where ratio * t + ``difference`` is a
    rate too: (those rates, the chances)."""
    return rejection_curve(n1, n2, alpha, difference, difference, greater=greater, ratio=ratio)


@cache
def rejection_curve(
    n1: int, n2: int, alpha: float, null: float, truth: float, *, greater: bool, ratio: float = 1.0
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The chance that the one-sided score test at ``alpha`` of the null p1 = ``ratio`` * p2 +
    ``null`` rejects it (``greater``: in favour of a first rate above it) when p1 = ``ratio`` *
    p2 + ``truth`` is the truth, at each second group's rate t of ``RATES`` where that is a
    rate: (those rates, the chances). At ``truth`` = ``null`` its size; at no difference
    tested and a gate's margin true, the chance that a test of no difference passes that gate
    when it should not (``proportions._margin_end_reaching``)."""
    z = statistics_at(n1, n2, null, ratio)
    critical = normal_quantile(1 - 2 * alpha)
    region = z > critical if greater else z < -critical
    rates = _second_rates(ratio, truth)
    return rates, _chance(region, _first_pmf(n1, ratio, truth), n2, rates, cached=True)


# A design's curves at each alpha and in each direction (some ten for a comparison whose
# emotion is one of several, at Holm's levels) weigh its tables at the same rates: each
# group's probabilities there are computed once (a tenth of a second each at 240 ratings).
@lru_cache(maxsize=4)
def _first_pmf(n1: int, ratio: float, truth: float) -> NDArray[np.float64]:
    """The first group's probabilities at the rates ``rejection_curve`` weighs at, [rate, x1]."""
    rates = _second_rates(ratio, truth)
    pmf = _pmf(n1, ratio * rates + truth)
    pmf.setflags(write=False)
    return pmf


@lru_cache(maxsize=4)
def _below_columns(n2: int, rates: bytes) -> dict[int, NDArray[np.float64]]:
    """P(X2 < k) at the rates of ``rates`` (an array's bytes) for each k computed so far."""
    return {}


# A few large tables' statistics (8 MB at 1,000 against 1,000), asked again at each alpha.
@lru_cache(maxsize=8)
def statistics_at(
    n1: int,
    n2: int,
    difference: float,
    ratio: float = 1.0,
    first: tuple[int, int] | None = None,
    second: tuple[int, int] | None = None,
) -> NDArray[np.float64]:
    """The statistic of ``proportions.standardized_statistic`` at a null p1 = ``ratio`` * p2 +
    ``difference`` for every table of one stratum, indexed [x1, x2] (or [x1 - start, x2 -
    start] for the counts from ``first``'s and ``second``'s start to their stop only), at the
    maximum-likelihood rates under it (Miettinen and Nurminen's cubic,
    ``unconditional.restricted_rates``, at no difference both the pooled rate; a ratio's
    quadratic, ``restricted_ratio_rates``, which takes no difference besides it, as the
    standardized statistic's ratio family does not)."""
    from . import unconditional

    if ratio != 1.0 and difference != 0.0:
        raise ValueError(f"a null of both a ratio ({ratio:g}) and a difference ({difference:g}) is not a score test's")
    start1, stop1 = first or (0, n1)
    start2, stop2 = second or (0, n2)
    x1, x2 = np.meshgrid(np.arange(start1, stop1 + 1), np.arange(start2, stop2 + 1), indexing="ij")
    if ratio == 1.0:
        null1, null2 = (rates[0] for rates in unconditional.restricted_rates(n1, n2, np.array([difference]), (x1, x2)))
    else:
        null1, null2 = (rates[0] for rates in unconditional.restricted_ratio_rates(n1, n2, np.array([ratio]), (x1, x2)))
    variance, skew = proportions.score_moments(null1, n1, null2[..., None], np.array([n2]), np.ones(1), ratio)
    z = unconditional.standardized_z(x1 / n1 - ratio * x2 / n2 - difference, variance)
    statistics: NDArray[np.float64] = np.where(variance > 0, proportions.skewness_corrected(z, skew), z)
    return statistics


def _second_rates(ratio: float, truth: float) -> NDArray[np.float64]:
    """The second group's rates t of ``RATES`` where the first's, ratio * t + ``truth``, is a rate."""
    first = ratio * RATES + truth
    return RATES[(first >= 0) & (first <= 1)]


def _chance(
    region: NDArray[np.bool_],
    first: NDArray[np.float64],
    n2: int,
    rates: NDArray[np.float64],
    start2: int = 0,
    *,
    cached: bool = False,
) -> NDArray[np.float64]:
    """The chance of ``region`` (tables [x1, x2 - ``start2``]) at each of the second group's ``rates``, by
    its stretches (``stretches``): ``first`` [rate, x1] the first count's probabilities, and
    P(X2 < k) taken at the stretches' ends only (the whole table of them cost half a second
    at 2,000 ratings), each kept for the next region at the same rates where ``cached``."""
    from scipy.stats import binom

    runs = stretches.stretches(region)
    ends, where = np.unique(runs.columns, return_inverse=True)
    counts = start2 + ends
    if not cached:
        below: NDArray[np.float64] = binom.cdf(counts[None, :] - 1, n2, rates[:, None])
        return stretches.chance(runs, first, below[:, where])
    columns = _below_columns(n2, rates.tobytes())
    missing = np.array([count for count in counts.tolist() if count not in columns], dtype=counts.dtype)
    if len(missing):
        found = binom.cdf(missing[None, :] - 1, n2, rates[:, None])
        columns.update(zip(missing.tolist(), found.T, strict=True))
    below = np.zeros((len(rates), 0))
    if len(counts):
        below = np.stack([columns[count] for count in counts.tolist()], axis=1)
    return stretches.chance(runs, first, below[:, where])


def _pmf(n: int, rates: NDArray[np.float64]) -> NDArray[np.float64]:
    """The binomial (n, rate) probabilities of 0 to n at each of ``rates``, indexed [rate, x]."""
    from scipy.stats import binom

    pmf: NDArray[np.float64] = binom.pmf(np.arange(n + 1)[None, :], n, rates[:, None])
    return pmf
