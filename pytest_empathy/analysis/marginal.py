"""Marginal homogeneity of paired ratings: the same cases rated twice (Stuart-Maxwell)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from .distributions import chi2_sf, log_choose

if TYPE_CHECKING:
    # numpy: loaded only when a saved run is compared, not by every run's statistics.
    import numpy as np
    from numpy.typing import ArrayLike

STUART_MAXWELL = "stuart-maxwell"
STUART_MAXWELL_EXACT = "stuart-maxwell-exact"
# Enumerate the exact null distribution up to this many outcomes; beyond, chi-square.
_MAX_EXACT_OUTCOMES = 100_000


def stuart_maxwell(cells: ArrayLike) -> tuple[str, float | None, int | None, float | None]:
    """(test, statistic, dof, p) of the Stuart-Maxwell test on a kxk table of paired ratings
    (rows: before, columns: after).

    Only discordant pairs carry information. Under marginal homogeneity each discordant pair
    is as likely either way round, so where the outcomes are few enough to list, the exact
    p-value sums the probabilities of every way the discordant pairs could have gone."""
    import numpy as np

    table: np.ndarray = np.asarray(cells, dtype=float)
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
        quadratic_form: np.ndarray = np.einsum("...i,ij,...j->...", d, inverse, d)
        return quadratic_form

    observed = float(statistic((table.sum(axis=1) - table.sum(axis=0))[:-1]))
    cells = [(i, j) for i in range(k) for j in range(i + 1, k)]
    totals = [int(table[i, j] + table[j, i]) for i, j in cells]
    if math.prod(t + 1 for t in totals) > _MAX_EXACT_OUTCOMES:
        return STUART_MAXWELL, observed, dof, chi2_sf(dof, observed)
    ups = [g.ravel() for g in np.meshgrid(*(np.arange(t + 1) for t in totals), indexing="ij")]
    d = np.zeros((ups[0].size, k))
    probability = np.ones(ups[0].size)
    for (i, j), total, up in zip(cells, totals, ups, strict=True):
        # 'up' pairs went from i to j, the rest of the cell's discordant pairs from j to i.
        d[:, i] += 2 * up - total
        d[:, j] -= 2 * up - total
        probability *= np.exp(log_choose(total, up) - total * math.log(2))
    extreme = statistic(d[:, :-1]) >= observed - 1e-9 * max(1.0, observed)
    return STUART_MAXWELL_EXACT, observed, dof, min(1.0, float(probability[extreme].sum()))
