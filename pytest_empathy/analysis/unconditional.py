"""The exact unconditional test of two independent Good rates on Miettinen and Nurminen's
statistic (Chan 1998; the interval that inverts it, Chan and Zhang 1999), for the groups on
which the score test's size exceeds alpha by more than a third: a handful of cases against
many, as the smoke corpus's two prompts of an emotion against the release's ratings of it.

Every table (x1, x2) of the two group sizes gets the statistic at the null value; the p-value
of the observed table is the largest, over the nuisance rate the null leaves free, of the
chance of a table at least as extreme. A null difference delta leaves p2 free in
[max(0, -delta), min(1, 1 - delta)], p1 = p2 + delta; a null ratio r leaves p2 free in
[0, min(1, 1 / r)], p1 = r p2. The chance is a polynomial in p2 whose peaks can lie anywhere
in that range: its supremum is taken on a fixed grid of ``_GRID`` rates and the range's ends
(where it peaks for a table at an edge), refined by finer grids around the best point, which
moves the figure by far less than the precision shown (tests/test_unconditional.py checks it
against scipy's Barnard test and an optimiser).

Each interval holds the null values the one-sided tests at (1 - confidence) / 2 keep. The
exact p-value is not monotone in the null value: it rises, then drops where a table leaves
the region at least as extreme, so the kept values need not be one stretch and a bisection
finds some crossing, not the interval's end (at 2 of 2 against 20 of 62, -7.3 points where
-8.9 is kept). ``_bound`` starts from no difference (a ratio of 1), narrows a bracket by
regula falsi, then looks further out for values kept past a drop: the bound is the outermost
kept value found, and it is beyond 0 exactly when the test of no difference rejects, so that
the gates that ask "higher?" of the difference and of the ratio answer alike.

numpy is imported here, and this module only where the exact test decides (``proportions``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .distributions import log_choose

Array = NDArray[np.float64]

# The nuisance grid, fixed so that the larger group's probabilities on it are computed once.
# The chance of a region moves with the nuisance rate on the scale of the binomial's spread,
# about 0.5 / sqrt(n) (0.03 at 300 ratings): a spacing of 0.002 resolves it fifteen-fold there
# (five-fold at 2,000), so the best grid point lies in the supremum's basin and refinement
# finds its top.
_GRID = 500
# Refinement: grids of 21 points between the best point's neighbours, four times, find the
# peak's rate to 4e-7 of the range, far finer than the chance changes at (its error is of the
# square of the distance at a smooth peak).
_REFINEMENTS = 4
_REFINED = 21
# Bisection of an interval's end stops when it is known to this width (a ten-thousandth of
# a point, or of the log ratio: far below the tenth of a point shown).
_TOLERANCE = 1e-6
# Statistics this close count as equal: "at least as extreme" takes in ties.
_TIE = 1e-9
_TINY = 1e-300
_RATES = np.linspace(0.0, 1.0, _GRID)
_LOG_RATIO_END = 50.0
# Past an interval's end, the null values looked at for one kept past a jump of the p-value:
# 20 steps of a quarter point (of 0.01 in the log ratio), several teeth of the p-value at the
# sizes the test meets (a tooth spans 0.4 to 2 points there). A coarser scan misses kept
# values: at 7 of 10 against 100 of 300, steps of 0.4 points put the lower bound at -0.23
# points, these at -0.55.
_SCANNED = 20
_DIFFERENCE_STEP = 0.0025
_LOG_RATIO_STEP = 0.01


# The search asks for ever new null values: only the latest are kept.
@lru_cache(maxsize=256)
def difference_statistics(n1: int, n2: int, delta: float) -> Array:
    """Miettinen-Nurminen's statistic for p1 - p2 = delta at every table, indexed [x1, x2]."""
    statistics: Array = _difference_statistics(n1, n2, np.array([delta]))[0]
    return statistics


def _difference_statistics(n1: int, n2: int, deltas: Array) -> Array:
    """The statistic at each of several null differences, indexed [delta, x1, x2].

    The likelihood's derivative, times (p2 + delta)(1 - p2 - delta) p2 (1 - p2), is a cubic
    in p2 (Miettinen and Nurminen's; statsmodels 0.15 has x2 where n2 belongs in the
    delta-squared term of c1, its issue 10269). The restricted maximum-likelihood p2 is the
    candidate of highest likelihood among its roots inside the feasible range and the range's
    ends (where a zero count puts the maximum): closed-form choices of one root miss it for
    small counts."""
    x1, x2 = _tables(n1, n2)
    n, x = n1 + n2, x1 + x2
    delta = np.asarray(deltas, dtype=float)[:, None, None]
    c2 = ((n1 + 2 * n2) * delta - n - x) / n
    c1 = (x - (n + 2 * x2) * delta + n2 * delta * delta) / n
    c0 = x2 * delta * (1 - delta) / n
    low, high = np.maximum(0.0, -delta), np.minimum(1.0, 1.0 - delta)
    roots = _cubic_roots(c2, c1, c0)
    real = np.where((roots > low[..., None]) & (roots < high[..., None]), roots, np.nan)
    shape = (*c2.shape, 1)
    candidates = np.concatenate(
        [np.broadcast_to(low[..., None], shape), np.broadcast_to(high[..., None], shape), real], axis=-1
    )
    first, second = x1[..., None], x2[..., None]
    likelihood = _log_likelihood(first, n1, candidates + delta[..., None]) + _log_likelihood(second, n2, candidates)
    likelihood = np.where(np.isnan(candidates), -np.inf, likelihood)
    null2 = np.take_along_axis(candidates, likelihood.argmax(axis=-1)[..., None], axis=-1)[..., 0]
    null1 = np.clip(null2 + delta, 0.0, 1.0)
    variance = (null1 * (1 - null1) / n1 + null2 * (1 - null2) / n2) * n / (n - 1)
    return _z(x1 / n1 - x2 / n2 - delta, variance)


def _cubic_roots(a: Array, b: Array, c: Array) -> Array:
    """The real roots of x^3 + a x^2 + b x + c, three a table (nan where it has one only), by
    Cardano's and the trigonometric formulas. A point that is no root is
    harmless among the candidates: the restricted maximum is the likeliest of them."""
    q = (3 * b - a * a) / 9
    r = (9 * a * b - 27 * c - 2 * a**3) / 54
    discriminant = q**3 + r * r
    with np.errstate(invalid="ignore", divide="ignore"):
        theta = np.arccos(np.clip(r / np.sqrt(-(q**3)), -1.0, 1.0))
        scale = 2 * np.sqrt(-q)
        three = [
            np.where(discriminant < 0, scale * np.cos((theta + 2 * np.pi * k) / 3) - a / 3, np.nan) for k in range(3)
        ]
        root = np.sqrt(np.maximum(discriminant, 0.0))
        one = np.cbrt(r + root) + np.cbrt(r - root) - a / 3
        # the double root besides it, where the discriminant is zero (nearly: harmless otherwise)
        double = -(np.cbrt(r + root) + np.cbrt(r - root)) / 2 - a / 3
    single = [np.where(discriminant >= 0, one, np.nan), np.where(discriminant >= 0, double, np.nan)]
    return np.stack([*three, *single], axis=-1)


@lru_cache(maxsize=256)
def ratio_statistics(n1: int, n2: int, ratio: float) -> Array:
    """Miettinen-Nurminen's statistic for p1 / p2 = ratio at every table, indexed [x1, x2]."""
    statistics: Array = _ratio_statistics(n1, n2, np.array([ratio]))[0]
    return statistics


def _ratio_statistics(n1: int, n2: int, ratios: Array) -> Array:
    """The statistic at each of several null ratios, indexed [ratio, x1, x2]: the restricted
    maximum-likelihood p2 is the smaller root of a quadratic."""
    x1, x2 = _tables(n1, n2)
    n = n1 + n2
    ratio = np.asarray(ratios, dtype=float)[:, None, None]
    a = n * ratio
    b = -(n1 * ratio + x1 + n2 + x2 * ratio)
    null2 = (-b - np.sqrt(np.maximum(0.0, b * b - 4 * a * (x1 + x2)))) / (2 * a)
    null1 = np.minimum(1.0, ratio * null2)
    variance = (null1 * (1 - null1) / n1 + ratio * ratio * null2 * (1 - null2) / n2) * n / (n - 1)
    return _z(x1 / n1 - ratio * x2 / n2, variance)


def difference_p(x1: int, n1: int, x2: int, n2: int, delta: float, *, greater: bool, enough: float = math.inf) -> float:
    """The exact one-sided p-value of p1 - p2 = delta against p1 - p2 above it (``greater``)
    or below it; a lower bound of it once it reaches ``enough``."""
    region = _region(difference_statistics(n1, n2, delta), x1, x2, greater)
    return _supremum(region, n1, n2, *_difference_nuisance(n1, n2, delta), enough)


def ratio_p(x1: int, n1: int, x2: int, n2: int, ratio: float, *, greater: bool, enough: float = math.inf) -> float:
    """The exact one-sided p-value of p1 / p2 = ratio against a ratio above it (``greater``)
    or below it; a lower bound of it once it reaches ``enough``."""
    region = _region(ratio_statistics(n1, n2, ratio), x1, x2, greater)
    return _supremum(region, n1, n2, *_ratio_nuisance(n1, n2, ratio), enough)


Rates = Callable[[Array], tuple[Array, Array]]
Nuisance = tuple[Rates, Any, Any]


def _difference_nuisance(n1: int, n2: int, delta: Any) -> Nuisance:
    """The groups' rates as the nuisance rate t, the larger group's, runs over its range under
    p1 - p2 = delta (whose probabilities on the fixed grid are then computed once)."""
    if n2 >= n1:
        return (lambda t: (np.clip(t + delta, 0.0, 1.0), t)), np.maximum(0.0, -delta), np.minimum(1.0, 1.0 - delta)
    return (lambda t: (t, np.clip(t - delta, 0.0, 1.0))), np.maximum(0.0, delta), np.minimum(1.0, 1.0 + delta)


def _ratio_nuisance(n1: int, n2: int, ratio: Any) -> Nuisance:
    """As ``_difference_nuisance``, under p1 / p2 = ratio."""
    if n2 >= n1:
        return (lambda t: (np.minimum(1.0, ratio * t), t)), 0.0 * ratio, np.minimum(1.0, 1.0 / ratio)
    return (lambda t: (t, np.minimum(1.0, t / ratio))), 0.0 * ratio, np.minimum(1.0, ratio)


def _region(z: Array, x1: int, x2: int, greater: bool) -> NDArray[np.bool_]:
    """The tables at least as extreme as (x1, x2), ties included."""
    region: NDArray[np.bool_] = z >= z[x1, x2] - _TIE if greater else z <= z[x1, x2] + _TIE
    return region


def difference_interval(x1: int, n1: int, x2: int, n2: int, alpha: float) -> tuple[float, float]:
    """The null differences neither one-sided exact test at ``alpha`` rejects, as ``_bound``
    finds their ends."""
    estimate = x1 / n1 - x2 / n2
    ends = []
    for greater, end in ((True, -1.0), (False, 1.0)):
        test = _Test(
            x1, n1, x2, n2, greater, difference_statistics, _difference_statistics, _difference_nuisance, alpha
        )
        ends.append(_bound(test, end, estimate, _DIFFERENCE_STEP))
    return ends[0], ends[1]


def log_ratio_interval(x1: int, n1: int, x2: int, n2: int, alpha: float) -> tuple[float, float]:
    """The null log ratios neither one-sided exact test at ``alpha`` rejects; -+``_LOG_RATIO_END``
    where a side is unbounded (no Good rating in the first group, or in the second)."""
    above = _Test(x1, n1, x2, n2, True, ratio_statistics, _ratio_statistics, _ratio_nuisance, alpha, logarithm=True)
    below = _Test(x1, n1, x2, n2, False, ratio_statistics, _ratio_statistics, _ratio_nuisance, alpha, logarithm=True)
    low, high, step = -_LOG_RATIO_END, _LOG_RATIO_END, _LOG_RATIO_STEP
    if x1 == 0:
        return low, _bound(below, high, low, step)
    if x2 == 0:
        return _bound(above, low, high, step), high
    estimate = math.log((x1 / n1) / (x2 / n2))
    return _bound(above, low, estimate, step), _bound(below, high, estimate, step)


@dataclass(frozen=True)
class _Test:
    """One one-sided exact test of the table (x1, x2) at ``alpha``, at any null value (a
    difference, or a log ratio where ``logarithm``)."""

    x1: int
    n1: int
    x2: int
    n2: int
    greater: bool
    statistics: Callable[[int, int, float], Array]
    batch_statistics: Callable[[int, int, Array], Array]
    nuisance: Callable[[int, int, Any], Nuisance]
    alpha: float
    logarithm: bool = False

    def p_value(self, null: float, enough: float = math.inf) -> float:
        value = math.exp(null) if self.logarithm else null
        region = _region(self.statistics(self.n1, self.n2, value), self.x1, self.x2, self.greater)
        return _supremum(region, self.n1, self.n2, *self.nuisance(self.n1, self.n2, value), enough)

    def excess(self, null: float) -> float:
        """log p - log alpha: below 0 where the null value is rejected."""
        # Kept on the grid alone is kept: only a rejection needs the refined supremum.
        return math.log(max(self.p_value(null, self.alpha), _TINY)) - math.log(self.alpha)

    def kept_on_grid(self, nulls: list[float]) -> list[bool]:
        """Whether each null value is kept by the fixed grid's points alone, all at once."""
        values = np.exp(nulls) if self.logarithm else np.array(nulls)
        z = self.batch_statistics(self.n1, self.n2, values)
        observed = z[:, self.x1, self.x2][:, None, None]
        regions = (z >= observed - _TIE if self.greater else z <= observed + _TIE).astype(float)
        rates, low, high = self.nuisance(self.n1, self.n2, values[:, None])
        first, second = rates(_RATES[None, :])
        inside = ((low <= _RATES) & (high >= _RATES))[..., None]
        larger = _grid_pmf(max(self.n1, self.n2))
        if self.n2 >= self.n1:
            chance = (np.where(inside, _pmf(self.n1, first), 0.0) * (larger @ regions.transpose(0, 2, 1))).sum(axis=-1)
        else:
            chance = ((larger @ regions) * np.where(inside, _pmf(self.n2, second), 0.0)).sum(axis=-1)
        return [bool(found) for found in chance.max(axis=-1) >= self.alpha]


def _bound(test: _Test, end: float, estimate: float, step: float) -> float:
    """The outermost null value between ``end`` and ``estimate`` that ``test`` keeps (the end
    itself when it is kept), as found by a search: the exact p-value falls and rises in teeth
    as the null value moves (each tooth a table that leaves or joins the region at least as
    extreme), so the kept values need not be one stretch. The search starts from no
    difference (0) when it lies between the end and the estimate, and never passes a
    rejected 0, so that the bound is beyond 0 exactly when 0 is rejected; it narrows a
    bracket of a rejected and a kept null value by regula falsi on log p - log alpha (the
    Illinois variant) to ``_TOLERANCE``, then looks ``_SCANNED`` steps of ``step`` further out
    for a value kept past a jump (on the grid's points: a value kept only between them may be
    missed, which narrows the interval by less than a step), and if it finds one searches on
    beyond it."""
    outer_excess = test.excess(end)
    if outer_excess >= 0:
        return end
    outer, inner = end, estimate
    if min(end, estimate) < 0 < max(end, estimate):
        at_zero = test.excess(0.0)
        if at_zero < 0:
            outer, outer_excess = 0.0, at_zero
        else:
            inner = 0.0
    inner_excess = test.excess(inner)
    if inner_excess < 0:  # rejected up to the estimate (no table met does this)
        return inner
    limit, outward = outer, math.copysign(1.0, outer - inner)
    while True:
        outer, inner = _narrowed(test.excess, outer, outer_excess, inner, inner_excess)
        scanned = [inner + outward * step * k for k in range(1, _SCANNED + 1)]
        scanned = [null for null in scanned if (limit - null) * outward > 0]
        kept = [k for k, found in enumerate(test.kept_on_grid(scanned)) if found] if scanned else []
        if not kept:
            return (outer + inner) / 2
        inner, inner_excess = scanned[kept[-1]], test.excess(scanned[kept[-1]])
        # The next value out that the full test rejects (the limit is rejected).
        for outer in [*scanned[kept[-1] + 1 :], limit]:
            outer_excess = test.excess(outer)
            if outer_excess < 0:
                break
            inner, inner_excess = outer, outer_excess


def _narrowed(
    excess: Callable[[float], float], outer: float, outer_excess: float, inner: float, inner_excess: float
) -> tuple[float, float]:
    """A bracket of a rejected (``outer``, excess below 0) and a kept null value narrowed to
    ``_TOLERANCE`` by the Illinois variant of regula falsi, which halves a stuck end's weight."""
    side = 0
    while abs(inner - outer) > _TOLERANCE:
        middle = (outer * inner_excess - inner * outer_excess) / (inner_excess - outer_excess)
        if not min(outer, inner) < middle < max(outer, inner):
            middle = (outer + inner) / 2
        found = excess(middle)
        if found < 0:
            outer, outer_excess = middle, found
            if side == -1:
                inner_excess /= 2
            side = -1
        else:
            inner, inner_excess = middle, found
            if side == 1:
                outer_excess /= 2
            side = 1
    return outer, inner


def _supremum(
    region: NDArray[np.bool_], n1: int, n2: int, rates: Rates, low: float, high: float, enough: float
) -> float:
    """The largest chance of ``region`` over the nuisance rate t in [low, high], the larger
    group's rate, ``rates`` (t) the two groups' rates: at the range's ends and the fixed
    grid's points inside it, refined by finer grids between the best point's neighbours (each
    a tenth as wide); the best found so far once it reaches ``enough`` (a test asking only
    whether the p-value is below alpha)."""
    start, stop = int(np.searchsorted(_RATES, low, side="right")), int(np.searchsorted(_RATES, high, side="left"))
    inner = _RATES[start:stop]
    larger = _grid_pmf(max(n1, n2))[start:stop]
    first, second = rates(inner)
    values = _chance(region, *((_pmf(n1, first), larger) if n2 >= n1 else (larger, _pmf(n2, second))))
    first, second = rates(np.array([low, high]))
    at_ends = _chance(region, _pmf(n1, first), _pmf(n2, second))
    grid, values = np.concatenate([[low], inner, [high]]), np.concatenate([at_ends[:1], values, at_ends[1:]])
    found = 0.0
    for _ in range(_REFINEMENTS):
        best = int(values.argmax())
        found = max(found, float(values[best]))
        if found >= enough:
            break
        grid = np.linspace(grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)], _REFINED)
        first, second = rates(grid)
        values = _chance(region, _pmf(n1, first), _pmf(n2, second))
    return min(1.0, max(found, float(values.max())))


def _chance(region: NDArray[np.bool_], first: Array, second: Array) -> Array:
    """P((x1, x2) in ``region``) at each row of the two groups' binomial probabilities."""
    # Contracted over the larger group first, so that what is left is as small as can be.
    if first.shape[-1] <= second.shape[-1]:
        chance: Array = (first * (second @ region.T.astype(float))).sum(axis=1)
    else:
        chance = ((first @ region.astype(float)) * second).sum(axis=1)
    return chance


@cache
def _grid_pmf(n: int) -> Array:
    return _pmf(n, _RATES)


def _pmf(n: int, rates: Array) -> Array:
    """The binomial (n, rate) probabilities of 0 to n, along a last axis added to the rates'."""
    rates = np.asarray(rates, dtype=float)[..., None]
    k = np.arange(n + 1)
    # A rate of 0 or 1 as the tiniest double instead: its terms with a count then vanish in exp.
    log_rate, log_rest = np.log(np.maximum(rates, _TINY)), np.log(np.maximum(1.0 - rates, _TINY))
    return np.exp(_log_choose(n) + k * log_rate + (n - k) * log_rest)


@cache
def _log_choose(n: int) -> Array:
    return np.asarray(log_choose(n, np.arange(n + 1)))


def _log_likelihood(x: NDArray[np.int64], n: int, rate: Array) -> Array:
    """x log(rate) + (n - x) log(1 - rate), a zero count contributing nothing."""
    with np.errstate(divide="ignore", invalid="ignore"):
        successes = np.where(x > 0, x * np.log(np.where(rate > 0, rate, 1.0)), 0.0)
        successes = np.where((x > 0) & (rate <= 0), -np.inf, successes)
        failures = np.where(n - x > 0, (n - x) * np.log(np.where(rate < 1, 1.0 - rate, 1.0)), 0.0)
        failures = np.where((n - x > 0) & (rate >= 1), -np.inf, failures)
    return successes + failures


def _tables(n1: int, n2: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    first, second = np.meshgrid(np.arange(n1 + 1), np.arange(n2 + 1), indexing="ij")
    return first, second


def _z(numerator: Array, variance: Array) -> Array:
    """numerator / sqrt(variance), as ``proportions._ratio_z``: no variance and no difference
    is 0, no variance and a difference infinite."""
    with np.errstate(divide="ignore", invalid="ignore"):
        z = numerator / np.sqrt(variance)
    degenerate = np.where(np.abs(numerator) < 1e-12, 0.0, np.copysign(np.inf, numerator))
    return np.where(variance > 0, z, degenerate)
