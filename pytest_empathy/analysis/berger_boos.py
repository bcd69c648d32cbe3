"""A valid test of the standardized difference (and ratio) of Good rates over several strata,
for where the score test (``proportions.standardized``) exceeds its size: Berger and Boos's
(1994) p-value over a confidence bound for the nuisance, the baseline's standardized rate.
numpy and scipy are imported here, and this module only where a guard falls back on it.

See docs/explanation/statistics.md, "Berger and Boos's valid test".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import bdtrc
from scipy.stats import beta

from .proportions import _LOG_RATIO_END, _ratio_end

# The share of alpha spent on the baseline's bound (Berger and Boos's gamma).
BASELINE_SHARE = 0.1
# Bisection of a bound or an interval's end stops at this width.
_TOLERANCE = 1e-10


@dataclass(frozen=True)
class BoundedFigures:
    """The one-sided figures of one direction: its p-value at no difference and the interval
    ends on its side, of the difference and of the ratio."""

    p_value: float
    difference_end: float
    ratio_end: float


def hoeffding_tail(count: int, n: int, mean_rate: float, *, upper: bool) -> float:
    """The largest P(S >= ``count``) (``upper``) or P(S <= ``count``) over every sum S of
    ``n`` independent Bernoullis whose rates average ``mean_rate`` or less (more, for the lower
    tail): Hoeffding's (1956) extremal sums, whose rates are 0, one rate a, and 1."""
    if not upper:
        return hoeffding_tail(n - count, n, 1.0 - mean_rate, upper=True)
    mean_rate = min(max(mean_rate, 0.0), 1.0)
    if count <= 0:
        return 1.0
    if count > n:
        return 0.0
    mean = n * mean_rate
    if count >= mean + 1:
        return float(_above(count - 1, n, mean_rate))
    if count <= math.floor(mean + 1e-12):
        return 1.0
    ones, zeros = _splits(n)
    middle = n - ones - zeros
    feasible = (ones <= mean) & (mean - ones <= middle)
    ones, middle = ones[feasible], middle[feasible]
    rate = np.clip((mean - ones) / np.maximum(middle, 1), 0.0, 1.0)
    tails = np.where(middle > 0, _above(count - ones - 1, middle, rate), (ones >= count).astype(float))
    return float(tails.max())


def _above(count: ArrayLike, n: ArrayLike, rate: ArrayLike) -> NDArray[np.float64]:
    """P(X > ``count``) of binomial (``n``, ``rate``): scipy's ``binom.sf``, by its special
    function directly (fifty times faster, and the bisections ask it thousands of times)."""
    count, n = np.asarray(count), np.asarray(n)
    inside = bdtrc(np.clip(count, 0, np.maximum(n - 1, 0)), n, rate)
    return np.where(count < 0, 1.0, np.where(count >= n, 0.0, inside))


@cache
def _splits(n: int) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Every (rates at 1, rates at 0) of ``n`` Bernoullis."""
    ones, zeros = np.meshgrid(np.arange(n + 1), np.arange(n + 1), indexing="ij")
    within = ones + zeros <= n
    return ones[within], zeros[within]


def standardized_rate_bound(strata: Sequence[tuple[int, int, int, int]], gamma: float, *, upper: bool) -> float:
    """The one-sided (1 - ``gamma``) upper (``upper``) or lower confidence bound of the second
    side's rate standardized to the first side's mix, over ``strata`` of (good1, n1, good2,
    n2): Clopper-Pearson's on its total where each stratum's weight per rating is the same,
    else Chernoff's with exact Bernoulli moment generating functions."""
    first_n, good, n = (tuple(s[i] for s in strata) for i in (1, 2, 3))
    if upper:
        return _upper_rate_bound(first_n, good, n, gamma)
    return 1.0 - _upper_rate_bound(first_n, tuple(n2 - g for g, n2 in zip(good, n, strict=True)), n, gamma)


CLOPPER_PEARSON = "Clopper-Pearson's"
CHERNOFF = "Chernoff's, the emotions' weights per rating being uneven"


def rate_bound_method(strata: Sequence[tuple[int, int, int, int]]) -> str:
    """The bound ``standardized_rate_bound`` takes of the second side's rate over ``strata``."""
    return CLOPPER_PEARSON if _even(tuple(s[1] for s in strata), tuple(s[3] for s in strata)) else CHERNOFF


@lru_cache(maxsize=1024)  # asked for each bound and each power figure; allclose costs more than the rest
def _even(first_n: tuple[int, ...], n: tuple[int, ...]) -> bool:
    """Whether every stratum's weight per rating of the second side is the same: its total is
    then a Poisson-binomial sum of all its ratings."""
    per_rating = np.array(first_n, dtype=float) / np.array(n, dtype=float)
    return bool(np.allclose(per_rating, per_rating[0], rtol=1e-12, atol=0.0))


# A run's groups ask the same baseline's bound for each Good and Bad figure.
@lru_cache(maxsize=256)
def _upper_rate_bound(first_n: tuple[int, ...], good: tuple[int, ...], n: tuple[int, ...], gamma: float) -> float:
    if _even(first_n, n):
        return poisson_binomial_bound(sum(good), sum(n), gamma)
    weights = np.array(first_n, dtype=float) / sum(first_n)
    return _chernoff_bound(weights, np.array(good, dtype=float), np.array(n, dtype=float), gamma)


@cache
def poisson_binomial_bound(count: int, n: int, gamma: float) -> float:
    """The (1 - ``gamma``) upper bound of the mean rate of a Poisson-binomial sum ``count`` of
    ``n``: the smallest mean whose largest P(S <= count) (Hoeffding) is ``gamma``; where the
    count is at most n times Clopper-Pearson's bound minus 1 that tail is the binomial's, so
    the bound is Clopper-Pearson's."""
    if count >= n:
        return 1.0
    clopper_pearson = float(beta.ppf(1 - gamma, count + 1, n - count))
    if count <= n * clopper_pearson - 1:
        return clopper_pearson
    return _smallest(lambda rate: hoeffding_tail(count, n, rate, upper=False) <= gamma, count / n, 1.0)


def _chernoff_bound(
    weights: NDArray[np.float64], good: NDArray[np.float64], n: NDArray[np.float64], gamma: float
) -> float:
    """The smallest standardized rate mu whose Chernoff bound of P(T <= t), T = sum w X / n,
    maximised over the strata's rates with sum w p = mu, is at most ``gamma``."""
    observed = float(weights @ (good / n))
    if observed >= 1.0:
        return 1.0
    per_rating = weights / n
    # Exponents s whose s * w / n spans where a bound can be tight (1e-3 to 60 per rating).
    exponents = np.geomspace(1e-3, 60.0, 60)[:, None] / per_rating.mean()
    shrink = -np.expm1(-exponents * per_rating)  # 1 - exp(-s w / n), [exponent, stratum]

    def log_bound(mu: float) -> float:
        rates = _water_filled(shrink, weights, n, mu)
        with np.errstate(divide="ignore"):
            logs = (n * np.log1p(-shrink * rates)).sum(axis=1)
        return float((exponents[:, 0] * observed + logs).min())

    return _smallest(lambda mu: log_bound(mu) <= math.log(gamma), observed, 1.0)


def _water_filled(
    shrink: NDArray[np.float64], weights: NDArray[np.float64], n: NDArray[np.float64], mu: float
) -> NDArray[np.float64]:
    """The strata's rates p (per exponent) maximising sum n log(1 - shrink p) with sum w p =
    ``mu`` and 0 <= p <= 1: p = 1/shrink - n / (lambda w), clipped, its multiplier lambda by
    bisection on its log (the weighted mean rises with it)."""
    low = np.full((shrink.shape[0], 1), -50.0)
    high = np.full((shrink.shape[0], 1), 200.0)
    inverse = 1 / shrink

    def rates_at(log_multiplier: NDArray[np.float64]) -> NDArray[np.float64]:
        # np.clip's own (its wrapper cost more than the arithmetic: 170,000 calls in a test
        # of gates over emotions); no value is -0, the one it would return otherwise.
        found: NDArray[np.float64] = np.minimum(np.maximum(inverse - n / (np.exp(log_multiplier) * weights), 0.0), 1.0)
        return found

    for _ in range(60):
        middle = (low + high) / 2
        short = rates_at(middle) @ weights < mu
        low = np.where(short[:, None], middle, low)
        high = np.where(short[:, None], high, middle)
    # The lower multiplier's rates average at most mu: the larger bound, on the safe side.
    return rates_at(low)


def _smallest(holds: Callable[[float], bool], low: float, high: float) -> float:
    """The smallest value between ``low`` and ``high`` where ``holds`` does (it holds at
    ``high`` and keeps holding above where it first does), to ``_TOLERANCE``."""
    if holds(low):
        return low
    while high - low > _TOLERANCE:
        middle = (low + high) / 2
        if holds(middle):
            high = middle
        else:
            low = middle
    return high


def standardized_bounded(strata: Sequence[tuple[int, int, int, int]], alpha: float, *, greater: bool) -> BoundedFigures:
    """The Berger-Boos test of the first side's rate against the second's standardized over
    ``strata`` (good1, n1, good2, n2), one-sided at ``alpha``: higher (``greater``: the
    p-value of no difference, the lower ends of the difference's and the ratio's intervals at
    1 - 2 alpha) or lower (the p-value and the upper ends)."""
    return _standardized_bounded(tuple(map(tuple, strata)), alpha, greater)


# Each call bisects three times, a hundred of Hoeffding's tails; a run's figures ask some strata
# twice, and an emotion's few ratings make the same table again in every run compared in one
# process (the size simulations of tests/test_verdicts.py: four times faster).
@lru_cache(maxsize=4096)
def _standardized_bounded(strata: tuple[tuple[int, int, int, int], ...], alpha: float, greater: bool) -> BoundedFigures:
    def rejects(difference: float = 0.0, ratio: float = 1.0) -> bool:
        return _p_value(strata, alpha, difference, ratio, greater=greater) <= alpha

    # Higher: the p-value rises with the null value, so the lower end is the first kept;
    # lower: it falls, so the upper end is the first rejected.
    if greater:
        difference_end = _smallest(lambda d: not rejects(difference=d), -1.0, 1.0)
        log_ratio = _smallest(lambda r: not rejects(ratio=math.exp(r)), -_LOG_RATIO_END, _LOG_RATIO_END)
    else:
        difference_end = _smallest(lambda d: rejects(difference=d), -1.0, 1.0)
        log_ratio = _smallest(lambda r: rejects(ratio=math.exp(r)), -_LOG_RATIO_END, _LOG_RATIO_END)
    p_value = _p_value(strata, alpha, 0.0, 1.0, greater=greater)
    return BoundedFigures(p_value, difference_end, _ratio_end(log_ratio))


@cache
def rejecting_rates(n: int, alpha: float, *, greater: bool) -> NDArray[np.float64]:
    """The test's rejection region for the model's count of ``n`` ratings at ``alpha``, by the
    null's rate (the baseline's bound times the ratio, plus the difference): for each count,
    the rate below which (``greater``; above which, lower) it rejects that count, found by
    bisection on the p-value, which rises (falls) with the null's rate. They rise with the
    count; -inf (inf) where no rate in [0, 1] rejects it. A power computation reads its
    region at any bound from them (``power.bounded_power``)."""
    gamma = alpha * BASELINE_SHARE

    def boundary(count: int) -> float:
        def rejects(rate: float) -> bool:
            return hoeffding_tail(count, n, rate, upper=greater) + gamma <= alpha

        if greater:
            return _smallest(lambda rate: not rejects(rate), 0.0, 1.0) if rejects(0.0) else -math.inf
        return _smallest(rejects, 0.0, 1.0) if rejects(1.0) else math.inf

    rates = np.array([boundary(count) for count in range(n + 1)])
    rates.setflags(write=False)
    return rates


def standardized_bounded_p(
    strata: Sequence[tuple[int, int, int, int]], alpha: float, difference: float, *, greater: bool
) -> float:
    """The test's p-value of the null p1 = p2 + ``difference`` (standardized rates) against a
    higher first rate (``greater``) or a lower one, its baseline share of ``alpha`` spent."""
    return _p_value(strata, alpha, difference, 1.0, greater=greater)


def _p_value(
    strata: Sequence[tuple[int, int, int, int]], alpha: float, difference: float, ratio: float, *, greater: bool
) -> float:
    """Hoeffding's largest tail of the first side's count at the null's rate, ``ratio`` times
    the second side's bound plus ``difference``, plus the bound's gamma."""
    gamma = alpha * BASELINE_SHARE
    count, n = sum(s[0] for s in strata), sum(s[1] for s in strata)
    bound = standardized_rate_bound(strata, gamma, upper=greater)
    return min(1.0, hoeffding_tail(count, n, ratio * bound + difference, upper=greater) + gamma)
