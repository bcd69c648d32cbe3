"""The exact unconditional test of two independent Good rates on Miettinen and Nurminen's
statistic (Chan 1998; the interval that inverts it, Chan and Zhang 1999), for the groups on
which the score test's size exceeds alpha by more than a third.
numpy is imported here, and this module only where the exact test decides (``proportions``).

See docs/explanation/statistics.md, "The exact unconditional test".
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

from . import stretches
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
# The cells whose p-values a bound covers: a quarter point wide over the differences' whole
# range, 0.01 wide in the log ratio within 15 of where the search starts, each wider by half
# beyond (where every chance is far below alpha). A table's statistic crosses the observed
# one about once a tooth of the p-value (0.4 to 2 points at the sizes the test meets).
_DIFFERENCE_LATTICE = np.linspace(-1.0, 1.0, 801)
_LOG_RATIO_DENSE = np.linspace(-8.0, 8.0, 1601)
_LOG_RATIO_FAR = 8.0 * 1.5 ** np.arange(1, 5)
_LOG_RATIO_LATTICE = np.concatenate([-_LOG_RATIO_FAR[::-1], _LOG_RATIO_DENSE, _LOG_RATIO_FAR])
# A cell that may hold what is sought is split into this many, down to ``_TOLERANCE``.
_SPLIT = 16
# Cells bounded at once, for memory (65 regions of every table; 64 x 500 rates x the smaller
# group's counts).
_CHUNK = 64
# Tables times null values whose statistics are computed at once, for memory: a few tens of
# megabytes in the candidates of the restricted maximum whatever the group sizes.
_TABLE_NULLS = 200_000
# A cell's bound is refined as the p-value is (``_supremum``) where the grid puts it between
# these: far below any alpha the plugin tests at, and above any (a cell above the second
# is kept at any alpha as it is).
_REFINED_FROM = 1e-5
_REFINED_TO = 0.5


# The search asks for ever new null values: only the latest are kept.
@lru_cache(maxsize=256)
def difference_statistics(n1: int, n2: int, delta: float) -> Array:
    """Miettinen-Nurminen's statistic for p1 - p2 = delta at every table, indexed [x1, x2]."""
    statistics: Array = _difference_statistics(n1, n2, np.array([delta]))[0]
    return statistics


def _difference_statistics(n1: int, n2: int, deltas: Array) -> Array:
    """The statistic at each of several null differences, indexed [delta, x1, x2]."""
    x1, x2 = _tables(n1, n2)
    n = n1 + n2
    null1, null2 = restricted_rates(n1, n2, deltas)
    variance = (null1 * (1 - null1) / n1 + null2 * (1 - null2) / n2) * n / (n - 1)
    return standardized_z(x1 / n1 - x2 / n2 - np.asarray(deltas, dtype=float)[:, None, None], variance)


def restricted_rates(
    n1: int, n2: int, deltas: Array, tables: tuple[NDArray[np.int64], NDArray[np.int64]] | None = None
) -> tuple[Array, Array]:
    """The maximum-likelihood rates (p1, p2) under p1 - p2 = delta of every table (or of the
    ``tables`` (x1, x2) given, every pair of two ranges of counts as ``_tables``'s, indexed
    "ij"), at each of several null differences, indexed [delta, x1, x2].

    The likelihood's derivative, times (p2 + delta)(1 - p2 - delta) p2 (1 - p2), is a cubic
    in p2 (Miettinen and Nurminen's; statsmodels 0.15 has x2 where n2 belongs in the
    delta-squared term of c1, its issue 10269). The restricted maximum-likelihood p2 is the
    candidate of highest likelihood among its roots inside the feasible range and the range's
    ends (where a zero count puts the maximum): closed-form choices of one root miss it for
    small counts. The first of the likeliest, in the order: the range's ends, the roots
    (``_cubic_roots``); each root's likelihood is computed only where it lies inside the range
    (one root a table, mostly, of five formulas' values)."""
    x1, x2 = tables or _tables(n1, n2)
    n, x = n1 + n2, x1 + x2
    delta = np.asarray(deltas, dtype=float)[:, None, None]
    c2 = ((n1 + 2 * n2) * delta - n - x) / n
    c1 = (x - (n + 2 * x2) * delta + n2 * delta * delta) / n
    c0 = x2 * delta * (1 - delta) / n
    low, high = np.maximum(0.0, -delta), np.minimum(1.0, 1.0 - delta)
    shape = c2.shape
    # The ends' rates are the null value's alone: each group's likelihood there is one of its
    # count's, added for every table.
    first, second = x1[:, :1], x2[:1, :]
    best = (_log_likelihood(first, n1, low + delta) + _log_likelihood(second, n2, low)).ravel()
    null2 = np.broadcast_to(low, shape).ravel()
    at_high = (_log_likelihood(first, n1, high + delta) + _log_likelihood(second, n2, high)).ravel()
    null2 = np.where(at_high > best, np.broadcast_to(high, shape).ravel(), null2)
    best = np.maximum(best, at_high)
    flat_low, flat_high = np.broadcast_to(low, shape).ravel(), np.broadcast_to(high, shape).ravel()
    flat_delta = np.broadcast_to(delta, shape).ravel()
    flat_x1, flat_x2 = np.broadcast_to(x1, shape).ravel(), np.broadcast_to(x2, shape).ravel()
    roots = []
    for where, root in _cubic_roots(c2.ravel(), c1.ravel(), c0.ravel()):
        inside = (root > flat_low[where]) & (root < flat_high[where])
        roots.append((where[inside], root[inside]))
    # Every root's likelihood at once, each formula's then taken in turn.
    where, root = (np.concatenate(parts) for parts in zip(*roots, strict=True))
    likelihoods = _log_likelihood(flat_x1[where], n1, root + flat_delta[where]) + _log_likelihood(
        flat_x2[where], n2, root
    )
    start = 0
    for where, root in roots:
        likelihood = likelihoods[start : start + len(root)]
        start += len(root)
        better = likelihood > best[where]
        where = where[better]
        best[where], null2[where] = likelihood[better], root[better]
    null2 = null2.reshape(shape)
    return np.clip(null2 + delta, 0.0, 1.0), null2


def _cubic_roots(a: Array, b: Array, c: Array) -> Iterator[tuple[NDArray[np.intp], Array]]:
    """The real roots of x^3 + a x^2 + b x + c (flat arrays), by Cardano's and the
    trigonometric formulas, in turn: where each formula applies (indices) and its value
    there; three where the discriminant is negative, else one and the double root besides it
    (where the discriminant is zero; nearly zero, or not: harmless). A point that is no root
    is harmless among the candidates: the restricted maximum is the likeliest of them."""
    q = (3 * b - a * a) / 9
    r = (9 * a * b - 27 * c - 2 * a**3) / 54
    cube = q**3
    discriminant = cube + r * r
    three = np.flatnonzero(discriminant < 0)
    a3, q3, r3 = a[three], q[three], r[three]
    with np.errstate(invalid="ignore", divide="ignore"):
        theta = np.arccos(np.clip(r3 / np.sqrt(-cube[three]), -1.0, 1.0))
        scale = 2 * np.sqrt(-q3)
    for k in range(3):
        yield three, scale * np.cos((theta + 2 * np.pi * k) / 3) - a3 / 3
    single = np.flatnonzero(discriminant >= 0)
    a1, r1 = a[single], r[single]
    root = np.sqrt(np.maximum(discriminant[single], 0.0))
    both = np.cbrt(r1 + root) + np.cbrt(r1 - root)
    yield single, both - a1 / 3
    yield single, -both / 2 - a1 / 3


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
    null1, null2 = restricted_ratio_rates(n1, n2, ratios)
    variance = (null1 * (1 - null1) / n1 + ratio * ratio * null2 * (1 - null2) / n2) * n / (n - 1)
    return standardized_z(x1 / n1 - ratio * x2 / n2, variance)


def restricted_ratio_rates(
    n1: int, n2: int, ratios: Array, tables: tuple[NDArray[np.int64], NDArray[np.int64]] | None = None
) -> tuple[Array, Array]:
    """The maximum-likelihood rates (p1, p2) under p1 = ratio * p2 of every table (or of the
    ``tables`` (x1, x2) given), at each of several null ratios, indexed [ratio, x1, x2]: p2 the
    smaller root of a quadratic."""
    x1, x2 = tables or _tables(n1, n2)
    n = n1 + n2
    ratio = np.asarray(ratios, dtype=float)[:, None, None]
    a = n * ratio
    b = -(n1 * ratio + x1 + n2 + x2 * ratio)
    null2 = (-b - np.sqrt(np.maximum(0.0, b * b - 4 * a * (x1 + x2)))) / (2 * a)
    return np.minimum(1.0, ratio * null2), null2


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
    """The null differences neither one-sided test at ``alpha`` (``monotone_difference_p``)
    rejects: one stretch, from the smallest null value the plain test keeps to the largest,
    or to no difference where the ratio's test keeps it."""
    estimate = x1 / n1 - x2 / n2
    above, below = _difference_test(x1, n1, x2, n2, True), _difference_test(x1, n1, x2, n2, False)
    bounds = _kept_end(above, estimate, alpha), _kept_end(below, estimate, alpha)
    return _with_no_difference(bounds, _ratio_test(x1, n1, x2, n2, True), _ratio_test(x1, n1, x2, n2, False), alpha)


def log_ratio_interval(x1: int, n1: int, x2: int, n2: int, alpha: float) -> tuple[float, float]:
    """The null log ratios neither one-sided test at ``alpha`` (``monotone_ratio_p``) rejects,
    as ``difference_interval``; -+``_LOG_RATIO_END`` where a side is unbounded (no Good rating
    in the first group, or in the second)."""
    above, below = _ratio_test(x1, n1, x2, n2, True), _ratio_test(x1, n1, x2, n2, False)
    if x1 == 0:
        bounds = -_LOG_RATIO_END, _kept_end(below, -_LOG_RATIO_END, alpha)
    elif x2 == 0:
        bounds = _kept_end(above, _LOG_RATIO_END, alpha), _LOG_RATIO_END
    else:
        estimate = math.log((x1 / n1) / (x2 / n2))
        bounds = _kept_end(above, estimate, alpha), _kept_end(below, estimate, alpha)
    return _with_no_difference(
        bounds, _difference_test(x1, n1, x2, n2, True), _difference_test(x1, n1, x2, n2, False), alpha
    )


def monotone_difference_p(x1: int, n1: int, x2: int, n2: int, delta: float, *, greater: bool) -> float:
    """The exact p-value of the one-sided null p1 - p2 <= ``delta`` against a difference above
    it (``greater``; of p1 - p2 >= ``delta`` against one below it otherwise): the largest plain
    p-value (``difference_p``) at any null value on the null's side of ``delta``, so never
    below the plain one at ``delta`` and never falling as ``delta`` moves away from the null's
    side. Where that null holds no difference, it is at least ``monotone_ratio_p``'s at a
    ratio of 1 (the same null, p1 <= p2, reached along the ratios with their own statistic),
    so that at no difference the two are one p-value: the one ``better`` and ``min-good-gain
    0`` decide on. The test the difference's interval inverts."""
    test = _difference_test(x1, n1, x2, n2, greater)
    found = _monotone_p(test, delta, test.end)
    if (delta >= 0) == greater or delta == 0:
        found = max(found, _no_difference_p(_ratio_test(x1, n1, x2, n2, greater)))
    return found


def monotone_ratio_p(x1: int, n1: int, x2: int, n2: int, ratio: float, *, greater: bool) -> float:
    """As ``monotone_difference_p``, of the null p1 / p2 <= ``ratio`` (``greater``) or >= it,
    at least the difference's at no difference where that null holds it."""
    test = _ratio_test(x1, n1, x2, n2, greater)
    found = _monotone_p(test, math.log(ratio), test.end)
    if (ratio >= 1) == greater or ratio == 1:
        found = max(found, _no_difference_p(_difference_test(x1, n1, x2, n2, greater)))
    return found


def rejects_no_difference(x1: int, n1: int, x2: int, n2: int, level: float, *, greater: bool) -> bool:
    """Whether ``monotone_difference_p`` at no difference is below ``level``, stopping at the
    first null value that shows it is not (the exact power's enumeration asks it of every
    table)."""
    difference = _difference_test(x1, n1, x2, n2, greater)
    if difference.p_value(0.0, level) >= level:
        return False
    return not any(_keeps_no_difference(test, level) for test in (difference, _ratio_test(x1, n1, x2, n2, greater)))


def _no_difference_p(test: _Test) -> float:
    return _monotone_p(test, 0.0, test.end)


def _keeps_no_difference(test: _Test, alpha: float) -> bool:
    return _monotone_p(test, 0.0, test.end, enough=alpha) >= alpha


def _with_no_difference(bounds: tuple[float, float], above: _Test, below: _Test, alpha: float) -> tuple[float, float]:
    """An interval's ``bounds`` (a difference's or a log ratio's, no difference at 0), with
    no difference back in where the other family's test of it (``above``: of a first rate
    higher; ``below``) keeps it, as the p-value at no difference does."""
    low, high = bounds
    if low > 0 and _keeps_no_difference(above, alpha):
        low = 0.0
    if high < 0 and _keeps_no_difference(below, alpha):
        high = 0.0
    return low, high


@dataclass(frozen=True)
class _Test:
    """One one-sided exact test of the table (x1, x2), at any null value (a difference, or a
    log ratio where ``logarithm``)."""

    x1: int
    n1: int
    x2: int
    n2: int
    greater: bool
    statistics: Callable[[int, int, float], Array]
    batch_statistics: Callable[[int, int, Array], Array]
    nuisance: Callable[[int, int, Any], Nuisance]
    logarithm: bool = False

    @property
    def end(self) -> float:
        """The outermost null value on the null's side (the tests' range ends there)."""
        outer = _LOG_RATIO_END if self.logarithm else 1.0
        return -outer if self.greater else outer

    def value(self, null: float) -> float:
        return math.exp(null) if self.logarithm else null

    def p_value(self, null: float, enough: float = math.inf) -> float:
        """The plain exact p-value at the null value."""
        value = self.value(null)
        region = _region(self.statistics(self.n1, self.n2, value), self.x1, self.x2, self.greater)
        return _supremum(region, self.n1, self.n2, *self.nuisance(self.n1, self.n2, value), enough)

    def cell_bounds(self, nulls: Array, statistics: Array | None = None, floor: float = -math.inf) -> Array:
        """For each cell between consecutive ``nulls`` (ascending), a bound of the plain
        p-value at every null value in it: the largest chance, at the cell's end towards the
        alternative, of the tables in the region at either end, closed to a monotone region
        (every table more extreme than one of them). A monotone region's chance only grows as
        the null value moves towards the alternative (p1 higher or p2 lower, for ``greater``),
        so this bounds every null value in the cell whose region is in the union: all of them,
        unless a table enters and leaves the region between the cell's ends. A bound shown to
        lie below ``floor`` (the caller's use for it: none) is some value below it, not always
        the bound itself (``_staircase_supremum``). Each is kept for the table's next search
        (``_known_bounds``)."""
        known = _known_bounds(self.x1, self.n1, self.x2, self.n2, self.greater, self.logarithm)
        cells = list(zip(nulls[:-1].tolist(), nulls[1:].tolist(), strict=True))
        bounds = np.zeros(len(cells))
        missing = []
        for i, cell in enumerate(cells):
            found = known.get(cell)
            # A bound found below the floor it was asked with stands for any floor above that.
            if found is not None and (found[0] >= found[1] or found[1] <= floor):
                bounds[i] = found[0]
            else:
                missing.append(i)
        if not missing:
            return bounds
        values = np.exp(nulls) if self.logarithm else nulls
        if statistics is None:
            z = _split_statistics(self.batch_statistics, self.n1, self.n2, values.tobytes())
        else:
            z = statistics
        # Cells given their statistics are the lattice's, the same for every table: whole
        # chunks of them share weights (those between cells known are weighed on their own).
        whole = len(missing) == len(cells)
        lattice = statistics is not None and whole
        ends = np.arange(len(cells)) if whole else np.array(missing)
        for start in range(0, len(ends), _CHUNK):
            chunk = ends[start : start + _CHUNK]
            computed = self._cell_bounds(values[chunk], values[chunk + 1], z[chunk], z[chunk + 1], lattice, floor)
            bounds[chunk] = computed
            for i, bound in zip(chunk.tolist(), computed.tolist(), strict=True):
                known[cells[i]] = (bound, floor)
        return bounds

    def _cell_bounds(
        self, lows: Array, highs: Array, low_z: Array, high_z: Array, lattice: bool, floor: float
    ) -> Array:
        """``cell_bounds`` of the cells from ``lows`` to ``highs`` (null values, as the
        statistic takes them), their statistics ``low_z`` and ``high_z`` at each end."""
        member = np.zeros(low_z.shape, dtype=bool)
        for z in (low_z, high_z):
            observed = z[:, self.x1, self.x2][:, None, None]
            member |= z >= observed - _TIE if self.greater else z <= observed + _TIE
        at = highs if self.greater else lows
        # A monotone region is, along the larger group's counts, a run from one end: its length
        # for each count of the smaller group is all its chance needs.
        second_larger = self.n2 >= self.n1
        lengths = _closure_lengths(member, self.greater, second_larger)
        from_zero = self.greater == second_larger
        return _staircase_supremum(self, at, lengths, from_zero=from_zero, lattice=lattice, floor=floor)


def _difference_test(x1: int, n1: int, x2: int, n2: int, greater: bool) -> _Test:
    return _Test(x1, n1, x2, n2, greater, difference_statistics, _difference_statistics, _difference_nuisance)


def _ratio_test(x1: int, n1: int, x2: int, n2: int, greater: bool) -> _Test:
    return _Test(x1, n1, x2, n2, greater, ratio_statistics, _ratio_statistics, _ratio_nuisance, logarithm=True)


def _closure_lengths(regions: NDArray[np.bool_], greater: bool, along_second: bool) -> NDArray[np.intp]:
    """The run lengths of each region [.., x1, x2] closed to a monotone one (with every table
    more extreme than one of its own: a higher first count or a lower second, ``greater``, or
    the reverse), along the second group's counts (``along_second``: one for each first
    count) or along the first's (one for each second count), found without the closure: a
    closed run that starts at its row's lower counts reaches the last table of the region in
    its row or an earlier one; one that starts at its higher counts, from the first table in
    its row or a later one."""
    axis = 2 if along_second else 1
    size = regions.shape[axis]
    rows = regions if along_second else regions.transpose(0, 2, 1)
    # Each row's first and last table of the region (none: past the end).
    any_of = rows.any(axis=2)
    first = np.where(any_of, rows.argmax(axis=2), size)
    last = np.where(any_of, size - 1 - rows[:, :, ::-1].argmax(axis=2), -1)
    if greater == along_second:
        reach: NDArray[np.intp] = np.maximum.accumulate(last, axis=1) + 1
        return reach
    start: NDArray[np.intp] = size - np.minimum.accumulate(first[:, ::-1], axis=1)[:, ::-1]
    return start


# An exact comparison searches each of its four tests' cells up to three times (its p-value,
# its interval's end, the other family's interval asking whether it keeps no difference):
# each test's bounds are kept, by cell, with the floor each was found under.
@lru_cache(maxsize=32)
def _known_bounds(
    x1: int, n1: int, x2: int, n2: int, greater: bool, logarithm: bool
) -> dict[tuple[float, float], tuple[float, float]]:
    """The bounds found of a test's cells: (low, high) null values to (bound, floor)."""
    return {}


# Cells split near a p-value's null value are split alike for every table of a pair of group
# sizes (the lattice's cell next to it, 16 ways, then again): the statistics of their null
# values are kept for the next table (at 10 against 300, half a p-value's time).
@lru_cache(maxsize=32)
def _split_statistics(statistics: Callable[[int, int, Array], Array], n1: int, n2: int, values: bytes) -> Array:
    """Every table's statistic at the null values of ``values`` (an array's bytes)."""
    return _frozen(statistics(n1, n2, np.frombuffer(values)))


def _grid(test: _Test, outer: float, inner: float) -> tuple[Array, Array]:
    """The null values from ``outer`` to ``inner``, ascending (the lattice's between them),
    and every table's statistic at each."""
    low, high = min(outer, inner), max(outer, inner)
    grid = _no_difference_grid if inner == 0.0 else _lattice_grid
    return grid(test.batch_statistics, test.n1, test.n2, test.logarithm, low, high)


def _lattice_grid(
    statistics: Callable[[int, int, Array], Array], n1: int, n2: int, logarithm: bool, low: float, high: float
) -> tuple[Array, Array]:
    """``_grid``'s, from ``low`` to ``high``."""
    lattice = _LOG_RATIO_LATTICE if logarithm else _DIFFERENCE_LATTICE
    between = np.flatnonzero((lattice > low + _TOLERANCE) & (lattice < high - _TOLERANCE))
    nulls = np.concatenate([[low], lattice[between], [high]])
    values = np.exp(nulls) if logarithm else nulls
    z = _lattice_statistics(statistics, n1, n2, logarithm)
    ends = statistics(n1, n2, values[[0, -1]])
    return _frozen(nulls), _frozen(np.concatenate([ends[:1], z[between], ends[1:]]))


# Every table's p-value at no difference asks for one of the same four grids (either family,
# either side's end to no difference): they are the group sizes', not the table's.
_no_difference_grid = lru_cache(maxsize=4)(_lattice_grid)


def _frozen(array: Array) -> Array:
    """A cached array, read-only so that no caller changes what the next one is given."""
    array.setflags(write=False)
    return array


@lru_cache(maxsize=8)
def _lattice_statistics(statistics: Callable[[int, int, Array], Array], n1: int, n2: int, logarithm: bool) -> Array:
    """The statistic of every table at every null value of the lattice, computed once for a
    pair of group sizes."""
    lattice = _LOG_RATIO_LATTICE if logarithm else _DIFFERENCE_LATTICE
    values = np.exp(lattice) if logarithm else lattice
    chunk = max(1, _TABLE_NULLS // ((n1 + 1) * (n2 + 1)))
    return np.concatenate([statistics(n1, n2, values[start : start + chunk]) for start in range(0, len(values), chunk)])


def _monotone_p(test: _Test, null: float, end: float, enough: float = math.inf) -> float:
    """The largest plain p-value of ``test`` from ``end`` (the null's outer side) to ``null``:
    the one at ``null`` or a cell's bound, each cell whose bound exceeds the largest found
    split until it is ``_TOLERANCE`` wide (a cell's bound at that width is, but for a cell
    holding a table's leaving, the p-value at its end, as its region is the end's); the
    largest found once it reaches ``enough``."""
    found = test.p_value(null)
    if found >= enough or null == end:
        return found
    nulls, statistics = _grid(test, end, null)
    # A cell whose bound is below the p-value found is never split (only the first of those
    # popped is looked at, and it stops the search): its bound need not be exact.
    bounds = test.cell_bounds(nulls, statistics, floor=found)
    cells = [(-bound, low, high) for bound, low, high in zip(bounds, nulls[:-1], nulls[1:], strict=True)]
    heapq.heapify(cells)
    while cells:
        bound, low, high = heapq.heappop(cells)
        # (the same chance summed in another order may differ in the last digits)
        if -bound <= found * (1 + 1e-9):
            break
        if high - low <= _TOLERANCE:
            found = -bound
            if found >= enough:
                break
            continue
        parts = np.linspace(low, high, _SPLIT + 1)
        for part, bound in enumerate(test.cell_bounds(parts, floor=found)):
            heapq.heappush(cells, (-bound, parts[part], parts[part + 1]))
    return found


def _kept_end(test: _Test, estimate: float, alpha: float) -> float:
    """The outermost null value between ``end`` and ``estimate`` at which the monotone test
    (``_monotone_p``) keeps: the end of the first cell from ``end`` whose bound, split down
    to ``_TOLERANCE``, reaches alpha (``estimate`` where none does). The cells are those
    ``_monotone_p`` meets, from no difference (a ratio of 1) where it lies between, so that
    the interval excludes no difference exactly when that test rejects it."""
    zero, end = 0.0, test.end
    if min(end, estimate) < zero < max(end, estimate):
        if _monotone_p(test, zero, end, enough=alpha) < alpha:
            found = _outermost(test, zero, estimate, alpha)
            if found is None:
                return estimate
            # Never no difference itself, which the test rejects.
            return found if found != zero else zero - math.copysign(_TOLERANCE, end)
        found = _outermost(test, end, zero, alpha)
        return zero if found is None else found
    found = _outermost(test, end, estimate, alpha)
    return estimate if found is None else found


def _outermost(test: _Test, end: float, inner: float, alpha: float) -> float | None:
    """The outer end of the first ``_TOLERANCE``-wide cell from ``end`` towards ``inner``
    whose bound reaches alpha; None where there is none."""
    if test.p_value(end, alpha) >= alpha:
        return end
    nulls, statistics = _grid(test, end, inner)
    outward = test.greater  # nulls ascend: the outer end is the first for a lower end

    def search(low: float, high: float) -> float | None:
        if high - low <= _TOLERANCE:
            return low if outward else high
        parts = np.linspace(low, high, _SPLIT + 1)
        bounds = test.cell_bounds(parts, floor=alpha)
        for part in range(_SPLIT) if outward else reversed(range(_SPLIT)):
            if bounds[part] >= alpha:
                found = search(float(parts[part]), float(parts[part + 1]))
                if found is not None:
                    return found
        return None

    # The cells' bounds a chunk at a time from the outer end: those inside the first kept one
    # are not needed.
    starts = range(0, len(nulls) - 1, _CHUNK)
    for start in starts if outward else reversed(starts):
        chunk = slice(start, min(start + _CHUNK, len(nulls) - 1) + 1)
        bounds = test.cell_bounds(nulls[chunk], statistics[chunk], floor=alpha)
        for cell in range(len(bounds)) if outward else reversed(range(len(bounds))):
            if bounds[cell] >= alpha:
                found = search(float(nulls[start + cell]), float(nulls[start + cell + 1]))
                if found is not None:
                    return found
    return None


def _staircase_supremum(
    test: _Test,
    at: Array,
    lengths: NDArray[np.int64],
    from_zero: bool,
    lattice: bool = False,
    floor: float = -math.inf,
) -> Array:
    """``_supremum`` of many regions at once, each at its null value in ``at``: the tables
    whose larger group's count is, for each count of the smaller, among the first ``lengths``
    from 0 (``from_zero``) or from the top; ``at`` the lattice's (``_lattice_weights``) where
    ``lattice``. A region whose supremum is shown to lie below ``floor`` is some value below it
    (0 where ``_screening_ceiling`` shows it, the grid's best where ``_refinement_ceiling``
    does), the rest computed as ever."""
    n1, n2 = test.n1, test.n2
    smaller, larger = (n1, n2) if n2 >= n1 else (n2, n1)
    shared = lattice and smaller <= _SHARED_MOST
    chunk, kept = at, None
    if floor > 0:
        low, high = (np.broadcast_to(end, (len(at), 1)) for end in test.nuisance(n1, n2, at[:, None])[1:])
        ceiling = _screening_ceiling(test, at, lengths, from_zero, low, high)
        kept = np.flatnonzero(ceiling * _CEILING_MARGIN >= floor)
        screened = np.zeros(len(at))
        if len(kept) == 0:
            return screened
        if len(kept) == len(at):
            kept = None
        else:
            at, lengths = at[kept], lengths[kept]
    rates, low, high = test.nuisance(n1, n2, at[:, None])
    low, high = np.broadcast_to(low, (len(at), 1)), np.broadcast_to(high, (len(at), 1))

    def chances(points: Array | slice) -> Array:
        """The regions' chances at the larger group's rates ``points`` [cell, point] (the
        fixed grid's, a slice of them, where a slice)."""
        if isinstance(points, slice):
            tails = _grid_tails(larger, from_zero)[points, lengths].transpose(1, 0, 2)
            if shared:
                weights = _lattice_weights(test.nuisance, n1, n2, chunk.tobytes())
                weights = weights[:, points] if kept is None else weights[kept, points]
            else:
                weights = _grid_weights(test.nuisance, n1, n2, at.tobytes(), points)
        else:
            tails = _tails_at(larger, points, lengths[:, None, :], from_zero)
            first, second = rates(points)
            weights = _pmf(smaller, first if n2 >= n1 else second)
        found: Array = (weights * tails).sum(axis=-1)
        return found

    # As ``_supremum``: the range's ends and the fixed grid's points strictly inside it, in order.
    start = np.searchsorted(_RATES, low[:, 0], side="right")[:, None]
    count = np.searchsorted(_RATES, high[:, 0], side="left")[:, None] - start
    index = np.arange(_GRID + 2)[None, :]
    on_grid = np.clip(start + index - 1, 0, _GRID - 1)
    ends = chances(np.concatenate([low, high], axis=1))
    # The grid's chances only at the points some cell's range holds (a null value far from
    # no difference leaves a narrow range of the nuisance).
    first, stop = int(start.min()), max(int((start + count).max()), int(start.min()) + 1)
    grid = chances(slice(first, stop))
    points = np.where(index == 0, low, np.where(index <= count, _RATES[on_grid], high))
    on_part = np.clip(on_grid - first, 0, stop - first - 1)
    values = np.where(
        index == 0, ends[:, :1], np.where(index <= count, np.take_along_axis(grid, on_part, axis=1), ends[:, 1:])
    )
    last = count + 1
    values = np.where(index <= last, values, -np.inf)
    found: Array = values.max(axis=1)
    # Refined where it matters, as the p-value is: only the cells it refines need their rates.
    refined = np.flatnonzero((found >= _REFINED_FROM) & (found < _REFINED_TO))
    if len(refined) and floor > _REFINED_FROM:
        ceiling = _refinement_ceiling(
            test, at[refined], lengths[refined], from_zero, values[refined], points[refined], last[refined]
        )
        refined = refined[ceiling * _CEILING_MARGIN >= floor]
    if len(refined):
        rates, at, lengths = test.nuisance(n1, n2, at[refined, None])[0], at[refined], lengths[refined]
        values, points, last = values[refined], points[refined], last[refined]
        for _ in range(_REFINEMENTS):
            best = values.argmax(axis=1)[:, None]
            below = np.take_along_axis(points, np.maximum(best - 1, 0), axis=1)
            above = np.take_along_axis(points, np.minimum(best + 1, last), axis=1)
            points = below + (above - below) * np.linspace(0.0, 1.0, _REFINED)[None, :]
            values = chances(points)
            last = np.full_like(last, _REFINED - 1)
            found[refined] = np.maximum(found[refined], values.max(axis=1))
    found = np.minimum(1.0, found)
    if kept is None:
        return found
    screened[kept] = found
    return screened


# Every _SCREEN-th point of the fixed grid (and its last) bounds the stretches of the
# nuisance rate a region's chance is first bounded over (``_screening_ceiling``).
_SCREEN = 10
_SCREEN_POINTS = np.unique(np.append(np.arange(0, _GRID, _SCREEN), _GRID - 1))


def _screening_ceiling(
    test: _Test,
    at: Array,
    lengths: NDArray[np.int64],
    from_zero: bool,
    low: Array,
    high: Array,
) -> Array:
    """For each region (as ``_staircase_supremum``'s), a number at least its chance at any
    nuisance rate in its range [``low``, ``high``] (and so at least what the fixed grid and
    its refinement find there): the range cut at every _SCREEN-th point of the fixed grid,
    over each stretch each count of the smaller group has at most its probability at the
    rate nearest its mode, and each stretch of the larger group's counts from 0 at most its
    chance at the stretch's lower end (from the top: its upper end), the rates rising with
    the nuisance rate; the largest over the stretches of the sums of those maxima. A tenth
    of the grid's cost, with which a region far below what its caller needs is left out."""
    n1, n2 = test.n1, test.n2
    smaller, larger = (n1, n2) if n2 >= n1 else (n2, n1)
    grid = _RATES[_SCREEN_POINTS][None, :]
    points = np.clip(grid, low, high)
    on_grid = (grid > low) & (grid < high)
    # The tails at the range's ends: at its lower end from 0 (at its upper end from the top),
    # also standing for the other end's, which only the stretches of no width there reach.
    end = low if from_zero else high
    tails = np.where(
        on_grid[..., None],
        _screen_tails(larger, from_zero)[:, lengths].transpose(1, 0, 2),
        _tails_at(larger, end, lengths[:, None, :], from_zero),
    )
    first, second = test.nuisance(n1, n2, at[:, None])[0](points)
    rates = first if n2 >= n1 else second
    weights = _pmf(smaller, rates)
    counts = np.arange(smaller + 1)
    modes = counts / max(smaller, 1)
    at_mode = np.diagonal(_pmf(smaller, modes))
    mode_inside = (rates[:, :-1, None] <= modes) & (modes <= rates[:, 1:, None])
    most = np.where(mode_inside, at_mode, np.maximum(weights[:, :-1], weights[:, 1:]))
    stretch_tails = tails[:, :-1] if from_zero else tails[:, 1:]
    ceiling: Array = (most * stretch_tails).sum(axis=-1).max(axis=1)
    return ceiling


@cache
def _screen_tails(n: int, from_zero: bool) -> Array:
    """``_grid_tails`` at ``_SCREEN_POINTS``."""
    return _frozen(_grid_tails(n, from_zero)[_SCREEN_POINTS])


# The refinement's chances are computed to some 1e-12 of their size and its points lie
# within a few units in the last place of the first round's ends: a ceiling this much above
# what they can reach (and taken a hair wider) is above what the refinement finds.
_CEILING_MARGIN = 1 + 1e-8
_CEILING_WIDER = 1e-12


def _refinement_ceiling(
    test: _Test,
    at: Array,
    lengths: NDArray[np.int64],
    from_zero: bool,
    values: Array,
    points: Array,
    last: NDArray[np.intp],
) -> Array:
    """For each region (as ``_staircase_supremum``'s, with its values at its points of the
    fixed grid), a number at least the largest chance its refinement can find: every point
    the refinement weighs lies between the best point's neighbours, where each count of the
    smaller group has at most its probability at the rate nearest its mode, and each stretch
    of the larger group's counts from 0 at most its chance at the lower end (from the top: at
    the upper end), the rate rising with the nuisance rate. The sum of those maxima: a
    fraction of the refinement's cost, with which a region far below what its caller needs
    (``_monotone_p``'s p-value found, ``_outermost``'s alpha) is left unrefined."""
    n1, n2 = test.n1, test.n2
    smaller, larger = (n1, n2) if n2 >= n1 else (n2, n1)
    best = values.argmax(axis=1)[:, None]
    below = np.take_along_axis(points, np.maximum(best - 1, 0), axis=1)
    above = np.take_along_axis(points, np.minimum(best + 1, last), axis=1)
    ends = np.clip(np.concatenate([below - _CEILING_WIDER, above + _CEILING_WIDER], axis=1), 0.0, 1.0)
    first, second = test.nuisance(n1, n2, at[:, None])[0](ends)
    rates = first if n2 >= n1 else second
    counts = np.arange(smaller + 1)
    modes = np.clip(counts / max(smaller, 1), rates[:, :1], rates[:, 1:])
    log_rate, log_rest = np.log(np.maximum(modes, _TINY)), np.log(np.maximum(1.0 - modes, _TINY))
    weights = np.exp(_log_choose(smaller) + counts * log_rate + (smaller - counts) * log_rest)
    tails = _tails_at(larger, ends[:, :1] if from_zero else ends[:, 1:], lengths[:, None, :], from_zero)[:, 0, :]
    ceiling: Array = (weights * tails).sum(axis=-1)
    return ceiling


def _grid_weights(
    nuisance: Callable[[int, int, Any], Nuisance], n1: int, n2: int, at: bytes, part: slice = slice(None)
) -> Array:
    """[null, rate, count]: the smaller group's probabilities at the fixed grid's nuisance
    rates (those of ``part``), under each null value of ``at`` (an array's bytes, to be cached
    by)."""
    rates = nuisance(n1, n2, np.frombuffer(at)[:, None])[0]
    grid = _RATES[part]
    first, second = rates(np.broadcast_to(grid, (len(at) // 8, len(grid))))
    return _frozen(_pmf(min(n1, n2), first if n2 >= n1 else second))


# The lattice's cells are every table's: their weights are computed once, where the smaller
# group has at most ``_SHARED_MOST`` ratings (a pair of group sizes has 40 or so chunks of
# cells, each 64 x 500 x the smaller group's counts: 2.8 MB at 10 ratings, 16 MB at 62).
_SHARED_MOST = 10
_lattice_weights = lru_cache(maxsize=48)(_grid_weights)


@cache
def _grid_tails(n: int, from_zero: bool) -> Array:
    """[rate, k]: the chance of the first k counts from 0 (``from_zero``) or of the last k, at
    the fixed grid's rates."""
    pmf = _grid_pmf(n)
    return stretches.below(pmf if from_zero else pmf[:, ::-1])


def _tails_at(n: int, rates: Array, lengths: NDArray[np.int64], from_zero: bool) -> Array:
    """As ``_grid_tails`` at any ``rates``, at the ``lengths`` asked only (broadcast with the
    rates and a last axis added to them): P(X < k), or P(X > n - k)."""
    from scipy.special import bdtrc

    if from_zero:
        return _below(n, rates, lengths)
    return _binomial_at(bdtrc, n - lengths, n, rates, bdtrc)


_FEW = 512


def _binomial_at(
    function: Callable[..., Array], counts: NDArray[np.int64], n: int, rates: Array, below_zero: Callable[..., Array]
) -> Array:
    """``function`` (scipy's bdtr or bdtrc) of (count, n, rate) at each rate and each of
    ``counts`` (broadcast with the rates and a last axis added to them), a count of -1 taken
    by ``below_zero``. The incomplete beta function is asked only for the counts from 0 to
    n - 1; at n (a tail of all or none of the counts, as a region holding every count of the
    larger group or none asks) and at -1 the function's value depends on the rate alone, and
    is asked once a rate (on a few hundred values, at every count, which costs less)."""
    rates = np.asarray(rates, dtype=float)[..., None]
    shape = np.broadcast_shapes(rates.shape, counts.shape)
    if math.prod(shape) <= _FEW:
        some: Array = np.where(counts < 0, below_zero(counts, n, rates), function(np.maximum(counts, 0), n, rates))
        return some
    counts, rates = np.broadcast_to(counts, shape), np.broadcast_to(rates, shape)
    every, none = (np.full((*rates.shape[:-1], 1), end, dtype=counts.dtype) for end in (n, -1))
    found: Array = np.where(counts >= n, function(every, n, rates[..., :1]), below_zero(none, n, rates[..., :1]))
    inside = np.nonzero((counts >= 0) & (counts < n))
    found[inside] = function(counts[inside], n, rates[inside])
    return found


def _supremum(
    region: NDArray[np.bool_], n1: int, n2: int, rates: Rates, low: float, high: float, enough: float
) -> float:
    """The largest chance of ``region`` over the nuisance rate t in [low, high], the larger
    group's rate, ``rates`` (t) the two groups' rates: at the range's ends and the fixed
    grid's points inside it, refined by finer grids between the best point's neighbours (each
    a tenth as wide); the best found so far once it reaches ``enough`` (a test asking only
    whether the p-value is below alpha). The region is weighed by its stretches along the
    larger group's counts (``stretches``)."""
    second_larger = n2 >= n1
    smaller, larger = (n1, n2) if second_larger else (n2, n1)
    runs = stretches.stretches(region if second_larger else region.T)

    def chances(points: Array) -> Array:
        first, second = rates(points)
        smaller_rates, larger_rates = (first, second) if second_larger else (second, first)
        return stretches.chance(runs, _pmf(smaller, smaller_rates), _below(larger, larger_rates, runs.columns))

    start, stop = int(np.searchsorted(_RATES, low, side="right")), int(np.searchsorted(_RATES, high, side="left"))
    inner = _RATES[start:stop]
    first, second = rates(inner)
    below = _grid_below(larger)[start:stop][:, runs.columns]
    values = stretches.chance(runs, _pmf(smaller, first if second_larger else second), below)
    at_ends = chances(np.array([low, high]))
    grid, values = np.concatenate([[low], inner, [high]]), np.concatenate([at_ends[:1], values, at_ends[1:]])
    found = 0.0
    for _ in range(_REFINEMENTS):
        best = int(values.argmax())
        found = max(found, float(values[best]))
        if found >= enough:
            break
        grid = np.linspace(grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)], _REFINED)
        values = chances(grid)
    return min(1.0, max(found, float(values.max())))


@cache
def _grid_below(n: int) -> Array:
    """P(X < k) at the fixed grid's rates, for k from 0 to n + 1."""
    return stretches.below(_grid_pmf(n))


def _below(n: int, rates: Array, counts: NDArray[np.intp]) -> Array:
    """P(X < k) for a binomial (n, rate) at each rate and each of ``counts``, indexed
    [..rates, count]: the incomplete beta function at the counts asked only, not the whole
    distribution."""
    from scipy.special import bdtr

    return _binomial_at(bdtr, np.asarray(counts) - 1, n, rates, _nothing)


def _nothing(counts: NDArray[np.int64], n: int, rates: Array) -> Array:
    """P(X < 0): 0 at every rate."""
    return np.zeros(np.broadcast_shapes(counts.shape, rates.shape))


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


def standardized_z(numerator: Array, variance: Array) -> Array:
    """numerator / sqrt(variance), as ``proportions._ratio_z``: no variance and no difference
    is 0, no variance and a difference infinite."""
    with np.errstate(divide="ignore", invalid="ignore"):
        z = numerator / np.sqrt(variance)
    degenerate = np.where(np.abs(numerator) < 1e-12, 0.0, np.copysign(np.inf, numerator))
    return np.where(variance > 0, z, degenerate)
