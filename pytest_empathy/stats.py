"""Statistics of two groups of Bad/Okay/Good ratings: pure functions over counts.

The study's test is Pearson's chi-square test of independence on the 2x3 table of groups by
rating. Where an expected count is below 5 the chi-square approximation is poor, so the
Freeman-Halton exact test runs instead (enumerating every table with the same margins).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .ratings import Counts, Rating

# The distributions come from scipy.special, the functions scipy.stats computes them with,
# imported where a test runs: scipy.stats itself costs 0.5 s to import.

CHI2 = "chi2"
EXACT = "exact"
NO_TEST = "none"
BETTER, WORSE, SAME = "better", "worse", "same"
MIN_EXPECTED = 5.0
# Tables as likely as the observed one, up to floating-point noise, count as extreme.
_EXACT_TOLERANCE = 1e-7


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


@dataclass(frozen=True)
class Comparison:
    """A model's ratings against the baseline's, for one group of cases."""

    model: Counts
    baseline: Counts
    test: str
    statistic: float | None
    dof: int | None
    p_value: float | None
    cramers_v: float | None
    good_rate: float | None
    baseline_good_rate: float | None
    good_gain_absolute: float | None
    good_gain_absolute_ci: Interval | None
    good_gain_relative: float | None
    good_gain_relative_ci: Interval | None
    direction: str | None

    @property
    def n(self) -> int:
        return self.model.n


def compare(model: Counts, baseline: Counts, *, confidence: float = 0.95) -> Comparison:
    """Test whether the model's ratings are distributed like the baseline's, and by how much
    the model's Good rate differs."""
    rate, base_rate = model.good_rate, baseline.good_rate
    gains = _gains(model, baseline, confidence) if rate is not None and base_rate is not None else {}
    test, statistic, dof, p_value, cramers_v = independence_test(model, baseline)
    return Comparison(
        model=model,
        baseline=baseline,
        test=test,
        statistic=statistic,
        dof=dof,
        p_value=p_value,
        cramers_v=cramers_v,
        good_rate=rate,
        baseline_good_rate=base_rate,
        good_gain_absolute=gains.get("absolute"),
        good_gain_absolute_ci=gains.get("absolute_ci"),
        good_gain_relative=gains.get("relative"),
        good_gain_relative_ci=gains.get("relative_ci"),
        direction=_direction(model, baseline),
    )


def independence_test(
    model: Counts, baseline: Counts
) -> tuple[str, float | None, int | None, float | None, float | None]:
    """(test, chi-square statistic, degrees of freedom, p-value, Cramer's V) of the 2xk table.

    Rating columns empty in both groups carry no information and are dropped; with one
    column left, only one table has these margins, so the exact p-value is 1.
    """
    if model.n == 0 or baseline.n == 0:
        return NO_TEST, None, None, None, None
    table = np.array([model.as_tuple(), baseline.as_tuple()], dtype=float)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] == 1:
        return EXACT, 0.0, 0, 1.0, 0.0
    from scipy.special import chdtrc

    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    statistic = float(((table - expected) ** 2 / expected).sum())
    dof = table.shape[1] - 1
    cramers_v = math.sqrt(statistic / table.sum())
    if (expected < MIN_EXPECTED).any():
        return EXACT, statistic, dof, freeman_halton(table.astype(int)), cramers_v
    return CHI2, statistic, dof, float(chdtrc(dof, statistic)), cramers_v


def freeman_halton(table: np.ndarray) -> float:
    """Exact p-value of a 2xk contingency table: the probability, under independence with
    fixed margins, of a table no more likely than the observed one."""
    table = np.asarray(table, dtype=int)
    if table.shape[0] != 2:
        raise ValueError("freeman_halton takes a table of two rows")
    columns = table.sum(axis=0)
    first_row_total = int(table[0].sum())
    total = int(columns.sum())

    def log_probability(first_row: Sequence[np.ndarray]) -> np.ndarray:
        return sum(_log_choose(c, x) for c, x in zip(columns, first_row)) - _log_choose(
            total, first_row_total
        )

    observed = log_probability([np.array(x) for x in table[0]])
    # Every first row with these column totals; the last cell is what the row total leaves.
    grids = np.meshgrid(*(np.arange(c + 1) for c in columns[:-1]), indexing="ij")
    free = [g.ravel() for g in grids]
    last = first_row_total - sum(free)
    feasible = (last >= 0) & (last <= columns[-1])
    candidates = [f[feasible] for f in free] + [last[feasible]]
    log_p = log_probability(candidates)
    extreme = log_p <= observed + math.log1p(_EXACT_TOLERANCE)
    p_value = float(np.exp(log_p[extreme] - observed).sum() * math.exp(observed))
    return min(1.0, p_value)


def _log_choose(n: int | np.ndarray, k: np.ndarray) -> np.ndarray:
    from scipy.special import gammaln

    return gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)


def _z(confidence: float) -> float:
    """The normal quantile of a two-sided interval of this confidence."""
    from scipy.special import ndtri

    return float(ndtri(0.5 + confidence / 2))


def _direction(model: Counts, baseline: Counts) -> str | None:
    """Better or worse by the Good rate; on equal Good rates, by the mean rating, so that
    all-Bad against all-Okay still reads as worse."""
    if model.n == 0 or baseline.n == 0:
        return None
    for own, other in ((model.good_rate, baseline.good_rate), (_mean(model), _mean(baseline))):
        if not math.isclose(own, other, rel_tol=0, abs_tol=1e-12):
            return BETTER if own > other else WORSE
    return SAME


def _mean(counts: Counts) -> float:
    return (counts.bad + 2 * counts.okay + 3 * counts.good) / counts.n


def _gains(model: Counts, baseline: Counts, confidence: float) -> dict[str, object]:
    z = _z(confidence)
    rate, base_rate = model.good / model.n, baseline.good / baseline.n
    gains: dict[str, object] = {
        "absolute": rate - base_rate,
        "absolute_ci": newcombe_interval(model.good, model.n, baseline.good, baseline.n, z),
    }
    if base_rate > 0:
        gains["relative"] = rate / base_rate - 1
    if model.good > 0 and baseline.good > 0:
        gains["relative_ci"] = katz_interval(model.good, model.n, baseline.good, baseline.n, z)
    return gains


def wilson_interval(successes: int, n: int, z: float) -> Interval:
    rate = successes / n
    centre = (rate + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(rate * (1 - rate) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return Interval(max(0.0, centre - half), min(1.0, centre + half))


def newcombe_interval(a: int, n1: int, b: int, n2: int, z: float) -> Interval:
    """Newcombe's hybrid score interval for the difference of two proportions a/n1 - b/n2."""
    p1, p2 = a / n1, b / n2
    w1, w2 = wilson_interval(a, n1, z), wilson_interval(b, n2, z)
    delta = p1 - p2
    low = delta - math.sqrt((p1 - w1.low) ** 2 + (w2.high - p2) ** 2)
    high = delta + math.sqrt((w1.high - p1) ** 2 + (p2 - w2.low) ** 2)
    return Interval(low, high)


def katz_interval(a: int, n1: int, b: int, n2: int, z: float) -> Interval:
    """Katz's log interval for the relative gain (a/n1) / (b/n2) - 1; needs a, b > 0."""
    log_ratio = math.log((a / n1) / (b / n2))
    se = math.sqrt(1 / a - 1 / n1 + 1 / b - 1 / n2)
    return Interval(math.exp(log_ratio - z * se) - 1, math.exp(log_ratio + z * se) - 1)


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm-Bonferroni adjusted p-values, in the input's order; None (no test) stays None."""
    indexed = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    m = len(indexed)
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(indexed):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted



# Paired ratings: the same cases rated in two runs.

STUART_MAXWELL = "stuart-maxwell"
STUART_MAXWELL_EXACT = "stuart-maxwell-exact"
# Enumerate the exact null distribution up to this many outcomes; beyond, chi-square.
_MAX_EXACT_OUTCOMES = 100_000


@dataclass(frozen=True)
class PairedComparison:
    """Ratings of the same cases in a saved run (before) and this run (after)."""

    before: Counts
    after: Counts
    test: str
    statistic: float | None
    dof: int | None
    p_value: float | None
    good_change: float | None
    good_change_ci: Interval | None
    direction: str | None

    @property
    def n(self) -> int:
        return self.after.n


def compare_paired(pairs: Sequence[tuple[Rating, Rating]], *, confidence: float = 0.95) -> PairedComparison:
    """Marginal homogeneity of paired Bad/Okay/Good ratings (Stuart-Maxwell), and the change
    of the Good rate with Newcombe's interval for paired proportions."""
    before = Counts.of(b for b, _ in pairs)
    after = Counts.of(a for _, a in pairs)
    if not pairs:
        return PairedComparison(before, after, NO_TEST, None, None, None, None, None, None)
    table = np.zeros((3, 3), dtype=int)
    for b, a in pairs:
        table[b - 1, a - 1] += 1
    test, statistic, dof, p_value = stuart_maxwell(table)
    z = _z(confidence)
    good = np.array([[b == Rating.GOOD, a == Rating.GOOD] for b, a in pairs])
    both = int((good[:, 0] & good[:, 1]).sum())
    gained = int((~good[:, 0] & good[:, 1]).sum())
    lost = int((good[:, 0] & ~good[:, 1]).sum())
    neither = len(pairs) - both - gained - lost
    return PairedComparison(
        before=before,
        after=after,
        test=test,
        statistic=statistic,
        dof=dof,
        p_value=p_value,
        good_change=(gained - lost) / len(pairs),
        good_change_ci=newcombe_paired_interval(both, gained, lost, neither, z),
        direction=_direction(after, before),
    )


def stuart_maxwell(table: np.ndarray) -> tuple[str, float | None, int | None, float | None]:
    """(test, statistic, dof, p) of the Stuart-Maxwell test on a kxk table of paired ratings
    (rows: before, columns: after).

    Only discordant pairs carry information. Under marginal homogeneity each discordant pair
    is as likely either way round, so where the outcomes are few enough to list, the exact
    p-value sums the probabilities of every way the discordant pairs could have gone."""
    table = np.asarray(table, dtype=float)
    margins = table.sum(axis=1) + table.sum(axis=0)
    # Categories no pair used carry nothing; the test runs on the rest.
    table = table[margins > 0][:, margins > 0]
    k = table.shape[0]
    s = -(table + table.T)[:-1, :-1]
    np.fill_diagonal(s, (table.sum(axis=1) + table.sum(axis=0) - 2 * np.diag(table))[:-1])
    # A category whose ratings never changed makes S singular; the pseudo-inverse tests the
    # directions that did change, with one degree of freedom for each.
    dof = int(np.linalg.matrix_rank(s)) if k > 1 else 0
    if dof == 0:
        return STUART_MAXWELL_EXACT, 0.0, 0, 1.0
    inverse = np.linalg.pinv(s)

    def statistic(d: np.ndarray) -> np.ndarray:
        return np.einsum("...i,ij,...j->...", d, inverse, d)

    from scipy.special import chdtrc

    observed = float(statistic((table.sum(axis=1) - table.sum(axis=0))[:-1]))
    cells = [(i, j) for i in range(k) for j in range(i + 1, k)]
    totals = [int(table[i, j] + table[j, i]) for i, j in cells]
    if math.prod(t + 1 for t in totals) > _MAX_EXACT_OUTCOMES:
        return STUART_MAXWELL, observed, dof, float(chdtrc(dof, observed))
    ups = [g.ravel() for g in np.meshgrid(*(np.arange(t + 1) for t in totals), indexing="ij")]
    d = np.zeros((ups[0].size, k))
    probability = np.ones(ups[0].size)
    for (i, j), total, up in zip(cells, totals, ups):
        # 'up' pairs went from i to j, the rest of the cell's discordant pairs from j to i.
        d[:, i] += 2 * up - total
        d[:, j] -= 2 * up - total
        probability *= np.exp(_log_choose(total, up) - total * math.log(2))
    extreme = statistic(d[:, :-1]) >= observed - 1e-9 * max(1.0, observed)
    return STUART_MAXWELL_EXACT, observed, dof, min(1.0, float(probability[extreme].sum()))


def newcombe_paired_interval(both: int, gained: int, lost: int, neither: int, z: float) -> Interval:
    """Newcombe's (1998) hybrid score interval for the difference of paired proportions,
    after - before = (gained - lost) / n."""
    n = both + gained + lost + neither
    after, before = (both + gained) / n, (both + lost) / n
    w_after, w_before = wilson_interval(both + gained, n, z), wilson_interval(both + lost, n, z)
    margins = (both + gained) * (lost + neither) * (both + lost) * (gained + neither)
    product = both * neither - gained * lost
    if margins == 0:
        phi = 0.0
    else:
        # Newcombe's continuity-corrected correlation.
        phi = (max(product - n / 2, 0) if product > 0 else product) / math.sqrt(margins)
    delta = after - before
    low = delta - math.sqrt(max(0.0, (after - w_after.low) ** 2 - 2 * phi * (after - w_after.low)
                                * (w_before.high - before) + (w_before.high - before) ** 2))
    high = delta + math.sqrt(max(0.0, (w_after.high - after) ** 2 - 2 * phi * (w_after.high - after)
                                 * (before - w_before.low) + (before - w_before.low) ** 2))
    return Interval(max(-1.0, low), min(1.0, high))
