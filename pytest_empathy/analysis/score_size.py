"""The size of the unpaired score test (``proportions.unpaired``: the skewness-corrected score,
SCAS) by enumeration: the chance that its one-sided test at alpha rejects when both groups
share one true rate, every table (x1, x2) weighed by its binomial probabilities, the larger
of the two directions at the worst rate of ``RATES``; and at a margin (``margin_size``), the
chance that the test of a difference rejects it when it is the true one.

The worst rates of a score test lie near 0 and 1 when one group has hundreds of ratings
(Miettinen and Nurminen's uncorrected statistic: 0.123 at rate 0.004 at 100 against 300,
alpha 0.05), so the grid is fine there: 300 rates from 1e-5 to 0.02 spaced evenly on the log
scale, steps of 0.001 between, and their mirror images.

numpy is imported here, and this module only where an unpaired comparison needs its size.
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
def margin_size(n1: int, n2: int, alpha: float, difference: float, *, greater: bool) -> float:
    """The size of the one-sided score test at ``alpha`` of the null difference p1 - p2 =
    ``difference`` against one above it (``greater``: a lower bound above it, as `not-worse`
    asks at minus its margin) or below it (an upper bound below it, as `no-more-bad` asks at
    its margin), when that is the true difference: the worst over the second group's rate t
    of ``RATES`` where t and t + ``difference`` are rates."""
    return float(size_curve(n1, n2, alpha, difference, greater=greater)[1].max())


def local_size(
    n1: int,
    n2: int,
    alpha: float,
    difference: float,
    *,
    greater: bool,
    low: float,
    high: float,
    truth: float | None = None,
) -> float:
    """``margin_size`` near the true rate only: the worst over the second group's rates of
    ``RATES`` from the last at or below ``low`` to the first at or above ``high`` (so that an
    interval between two grid rates still meets both); with a ``truth``, the chance that the
    test of ``difference`` rejects it when the true difference is that (``rejection_curve``)."""
    rates, sizes = rejection_curve(n1, n2, alpha, difference, difference if truth is None else truth, greater=greater)
    first = max(int(np.searchsorted(rates, low, side="right")) - 1, 0)
    last = min(int(np.searchsorted(rates, high, side="left")), len(rates) - 1)
    return float(sizes[first : last + 1].max())


def size_curve(
    n1: int, n2: int, alpha: float, difference: float, *, greater: bool
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The chance that the one-sided score test at ``alpha`` of the null difference p1 - p2 =
    ``difference`` rejects it (``greater``: in favour of a difference above it) when it is the
    true one, at each second group's rate t of ``RATES`` where t + ``difference`` is a rate
    too: (those rates, the chances)."""
    return rejection_curve(n1, n2, alpha, difference, difference, greater=greater)


@cache
def rejection_curve(
    n1: int, n2: int, alpha: float, null: float, truth: float, *, greater: bool
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The chance that the one-sided score test at ``alpha`` of the null difference p1 - p2 =
    ``null`` rejects it (``greater``: in favour of a difference above it) when the true
    difference is ``truth``, at each second group's rate t of ``RATES`` where t + ``truth``
    is a rate too: (those rates, the chances). At ``truth`` = ``null`` its size; at no
    difference tested and a gate's margin true, the chance that a test of no difference
    passes that gate when it should not (``proportions._margin_end_reaching``)."""
    z = statistics_at(n1, n2, null)
    critical = normal_quantile(1 - 2 * alpha)
    region = z > critical if greater else z < -critical
    inside = (RATES + truth >= 0) & (RATES + truth <= 1)
    rates = RATES[inside]
    return rates, _chance(region, _pmf(n1, rates + truth), n2, rates)


# A few large tables' statistics (8 MB at 1,000 against 1,000), asked again at each alpha.
@lru_cache(maxsize=8)
def statistics_at(n1: int, n2: int, difference: float) -> NDArray[np.float64]:
    """The statistic of ``proportions.standardized_statistic`` at a null ``difference`` for
    every table of one stratum, indexed [x1, x2], at the maximum-likelihood rates under it
    (Miettinen and Nurminen's cubic, ``unconditional.restricted_rates``; at no difference both
    are the pooled rate)."""
    from . import unconditional

    x1, x2 = np.meshgrid(np.arange(n1 + 1), np.arange(n2 + 1), indexing="ij")
    null1, null2 = (rates[0] for rates in unconditional.restricted_rates(n1, n2, np.array([difference])))
    variance, skew = proportions.score_moments(null1, n1, null2[..., None], np.array([n2]), np.ones(1), 1.0)
    z = unconditional.standardized_z(x1 / n1 - x2 / n2 - difference, variance)
    statistics: NDArray[np.float64] = np.where(variance > 0, proportions.skewness_corrected(z, skew), z)
    return statistics


def _chance(
    region: NDArray[np.bool_], first: NDArray[np.float64], n2: int, rates: NDArray[np.float64]
) -> NDArray[np.float64]:
    """The chance of ``region`` (tables [x1, x2]) at each of the second group's ``rates``, by
    its stretches (``stretches``): ``first`` [rate, x1] the first count's probabilities, and
    P(X2 < k) taken at the stretches' ends only (the whole table of them cost half a second
    at 2,000 ratings)."""
    from scipy.stats import binom

    runs = stretches.stretches(region)
    ends, where = np.unique(runs.columns, return_inverse=True)
    below: NDArray[np.float64] = binom.cdf(ends[None, :] - 1, n2, rates[:, None])
    return stretches.chance(runs, first, below[:, where])


def _pmf(n: int, rates: NDArray[np.float64]) -> NDArray[np.float64]:
    """The binomial (n, rate) probabilities of 0 to n at each of ``rates``, indexed [rate, x]."""
    from scipy.stats import binom

    pmf: NDArray[np.float64] = binom.pmf(np.arange(n + 1)[None, :], n, rates[:, None])
    return pmf
