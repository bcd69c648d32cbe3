"""The study's test: independence of group and rating in the 2x3 table of two groups'
Bad/Okay/Good counts.

Pearson's chi-square test, as the study ran it; where an expected count is below 5 the
chi-square approximation is poor, so the Freeman-Halton exact test runs instead
(enumerating every table with the same margins).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from pytest_empathy.ratings import Counts

from .distributions import chi2_sf, log_choose

CHI2 = "chi2"
EXACT = "exact"
NO_TEST = "none"
MIN_EXPECTED = 5.0
# Tables as likely as the observed one, up to floating-point noise, count as extreme.
_EXACT_TOLERANCE = 1e-7


def independence_test(
    model: Counts, baseline: Counts
) -> tuple[str, float | None, int | None, float | None, float | None]:
    """(test, statistic, degrees of freedom, p-value, Cramer's V) of the 2xk table: Pearson's
    chi-square and its degrees of freedom, or, for the exact test, no statistic and no
    degrees of freedom of its own (Cramer's V stays Pearson's, a measure of size).

    Rating columns empty in both groups carry no information and are dropped; with one
    column left, only one table has these margins, so the exact p-value is 1.
    """
    if model.n == 0 or baseline.n == 0:
        return NO_TEST, None, None, None, None
    table = np.array([model.as_tuple(), baseline.as_tuple()], dtype=float)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] == 1:
        return EXACT, None, None, 1.0, 0.0
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    statistic = float(((table - expected) ** 2 / expected).sum())
    dof = table.shape[1] - 1
    cramers_v = math.sqrt(statistic / table.sum())
    if (expected < MIN_EXPECTED).any():
        return EXACT, None, None, freeman_halton(table.astype(int)), cramers_v
    return CHI2, statistic, dof, chi2_sf(dof, statistic), cramers_v


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
        log_p: np.ndarray = sum(log_choose(c, x) for c, x in zip(columns, first_row, strict=True))
        normalised: np.ndarray = log_p - log_choose(total, first_row_total)
        return normalised

    observed = log_probability([np.array(x) for x in table[0]])
    # Every first row with these column totals; the last cell is what the row total leaves.
    grids = np.meshgrid(*(np.arange(c + 1) for c in columns[:-1]), indexing="ij")
    free = [g.ravel() for g in grids]
    last: np.ndarray = first_row_total - np.sum(free, axis=0)
    feasible = (last >= 0) & (last <= columns[-1])
    candidates = [f[feasible] for f in free] + [last[feasible]]
    log_p = log_probability(candidates)
    extreme = log_p <= observed + math.log1p(_EXACT_TOLERANCE)
    p_value = float(np.exp(log_p[extreme] - observed).sum() * math.exp(observed))
    return min(1.0, p_value)
