"""The study's test: independence of group and rating in the 2x3 table of two groups'
Bad/Okay/Good counts.

Pearson's chi-square test, as the study ran it; where an expected count is below 5 the
chi-square approximation is poor, so the Freeman-Halton exact test runs instead
(enumerating every table with the same margins).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

from pytest_empathy.ratings import Counts

from .distributions import chi2_sf, log_factorials

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
    kept = [(a, b) for a, b in zip(model.as_tuple(), baseline.as_tuple(), strict=True) if a + b > 0]
    if len(kept) == 1:
        return EXACT, None, None, 1.0, 0.0
    table = [[a for a, _ in kept], [b for _, b in kept]]
    total = sum(a + b for a, b in kept)
    expected = _expected(table)
    statistic = _pearson(table, expected)
    dof = len(kept) - 1
    cramers_v = math.sqrt(statistic / total)
    if any(e < MIN_EXPECTED for row in expected for e in row):
        return EXACT, None, None, freeman_halton(table), cramers_v
    return CHI2, statistic, dof, chi2_sf(dof, statistic), cramers_v


def _expected(table: Sequence[Sequence[int]]) -> list[list[float]]:
    """The counts independence of group and rating expects, from the table's margins."""
    rows, columns = [sum(row) for row in table], [sum(column) for column in zip(*table, strict=True)]
    total = sum(rows)
    return [[r * c / total for c in columns] for r in rows]


def _pearson(table: Sequence[Sequence[int]], expected: Sequence[Sequence[float]]) -> float:
    """Pearson's chi-square statistic of the table against its ``expected`` counts."""
    return sum(
        (observed - e) ** 2 / e
        for row, row_expected in zip(table, expected, strict=True)
        for observed, e in zip(row, row_expected, strict=True)
    )


def freeman_halton(table: Sequence[Sequence[int]]) -> float:
    """Exact p-value of a 2xk contingency table: the probability, under independence with
    fixed margins, of a table no more likely than the observed one."""
    if len(table) != 2:
        raise ValueError("freeman_halton takes a table of two rows")
    first, second = [int(x) for x in table[0]], [int(x) for x in table[1]]
    # The largest column last: its cell is what the row total leaves, so the tables to list
    # are the product of the other columns' ranges, and an expected count below 5 makes one small.
    order = sorted(range(len(first)), key=lambda j: first[j] + second[j])
    columns = [first[j] + second[j] for j in order]
    observed_row = [first[j] for j in order]
    row_total, total = sum(observed_row), sum(columns)
    log_factorial = log_factorials(total)
    base = log_factorial[total] - log_factorial[row_total] - log_factorial[total - row_total]
    column_terms = [log_factorial[c] for c in columns]

    def log_probability(row: Sequence[int]) -> float:
        found = -base
        for c, term, x in zip(columns, column_terms, row, strict=True):
            found += term - log_factorial[x] - log_factorial[c - x]
        return found

    threshold = log_probability(observed_row) + math.log1p(_EXACT_TOLERANCE)
    p_value = 0.0
    for free in itertools.product(*(range(c + 1) for c in columns[:-1])):
        last = row_total - sum(free)
        if 0 <= last <= columns[-1]:
            log_p = log_probability((*free, last))
            if log_p <= threshold:
                p_value += math.exp(log_p)
    return min(1.0, p_value)
