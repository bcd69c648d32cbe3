"""The sizes of the plugin's own tests, by exact enumeration: how often each one-sided test
rejects a true null at alpha, every possible outcome weighed by its probability. It prints
the table docs/explanation/statistics.md holds (``tests/test_sizes.py`` checks that it
does, verbatim).

    python -m benchmarks.exact_sizes

Each test is the plugin's own function (``proportions.paired``, ``ordinal.paired_ratings``,
``rating_comparison.compare_paired`` for the saved-run check ``decline``, ``proportions.unpaired``),
called on each outcome it needs:

- paired (the Good rate, the ordinal effect on the signs, and ``decline``, the Good rate of a
  run against its saved run, unclustered): given d cases Good on one
  side only (rated differently), the first side's share of them is binomial (d, 1/2) under
  no difference, and the tests depend on nothing else; the size is that binomial's mass on
  the counts the test rejects, for every d from 1 to 200;
- unpaired Good rate (within an emotion: the skewness-corrected score test, or the exact
  unconditional test where a group is small): two binomial groups of one true rate, the
  largest size over both directions and the rates ``score_size.RATES`` (fine within 0.02 of
  0 and 1, where a group of hundreds puts a score test's worst size).

The paired and unpaired Good-rate tests reject on one side of a threshold (their statistic
rises with the first side's count and falls with the second's), which bisection finds.

A second table is why an emotion's unpaired ordinal comparison decides nothing: Brunner and
Munzel's test of no ordinal difference (a relative effect of 1/2), as the plugin computed it
before (``brunner_munzel_p``), its largest size over the whole of that null, every pair of
distributions of possibly different shapes with no ordinal difference (``null_pairs``), both
directions, every pair of groups' counts weighed, at alpha 0.05, 0.01 and an emotion's level
among 32 emotions. At an emotion's level it exceeds the level by more than a third at every
size here; at 0.05 and 0.01 it holds only with equal groups as large as the release's.
"""

from __future__ import annotations

import argparse
import functools
import math
from collections.abc import Callable, Iterator, Sequence

import numpy as np
from scipy import special, stats

from pytest_empathy.analysis import ordinal, proportions, rating_comparison, score_size
from pytest_empathy.ratings import Rating

# alpha 0.05 / 32: an emotion's level, Bonferroni over the 32 emotions.
EMOTION_LEVEL = 0.05 / 32
ALPHAS = (0.05, 0.01, EMOTION_LEVEL)
DISCORDANT = ((1, 10), (11, 30), (31, 60), (61, 200))
GOOD_RATE_GROUPS = (
    (2, 10),
    (2, 62),
    (2, 300),
    (5, 62),
    (5, 300),
    (10, 62),
    (10, 300),
    (30, 2000),
    (100, 300),
    (200, 2000),
)
# An emotion's ordinal comparison (2 and 5 as the smoke corpus's emotions have, against the
# release's about 62 a side); an emotion's level: alpha over 32 emotions.
SHAPE_GROUPS = ((2, 62), (5, 62), (20, 62), (40, 62), (62, 62))
GRID, ALONG = 20, 20

Rejects = Callable[[int], bool]


def first_rejected(rejects: Rejects, low: int, high: int) -> int:
    """The smallest count in [low, high] that ``rejects``, rising, accepts (high + 1 if none)."""
    if not rejects(high):
        return high + 1
    while low < high:
        middle = (low + high) // 2
        if rejects(middle):
            high = middle
        else:
            low = middle + 1
    return low


def paired_good_rate(d: int, first_only: int, alpha: float) -> float:
    counts = proportions.PairedCounts(both=0, first_only=first_only, second_only=d - first_only, neither=1)
    return proportions.paired(counts, confidence=1 - 2 * alpha).p_greater


def paired_ordinal(d: int, higher: int, alpha: float) -> float:
    pairs = [(Rating.GOOD, Rating.OKAY)] * higher + [(Rating.OKAY, Rating.GOOD)] * (d - higher)
    return ordinal.paired_ratings([*pairs, (Rating.OKAY, Rating.OKAY)], confidence=1 - 2 * alpha).p_greater


def saved_run_decline(d: int, fell: int, alpha: float) -> float:
    """``decline``'s p: this run against a saved run (``rating_comparison.compare_paired``), ``fell``
    of the d cases rated otherwise Good only in the saved run, the rest Good only in this one."""
    pairs = [(Rating.GOOD, Rating.OKAY)] * fell + [(Rating.OKAY, Rating.GOOD)] * (d - fell)
    p_worse = rating_comparison.compare_paired([*pairs, (Rating.OKAY, Rating.OKAY)], alpha=alpha).p_worse
    assert p_worse is not None
    return p_worse


def paired_sizes(p_value: Callable[[int, int, float], float], alpha: float) -> dict[int, float]:
    """The size given d discordant cases, for d from 1 to 200, of the test whose one-sided
    p-value ``p_value`` (d, b, alpha) falls as b of them rise to one side (the other
    direction's size is the same, by symmetry)."""
    sizes = {}
    for d in range(1, DISCORDANT[-1][1] + 1):
        start = first_rejected(lambda b, d=d: p_value(d, b, alpha) < alpha, 0, d)
        sizes[d] = sum(math.comb(d, b) for b in range(start, d + 1)) / 2**d
    return sizes


def good_rate_size(n1: int, n2: int, alpha: float) -> tuple[float, float]:
    """The largest size over the true rates of the unpaired test of ``n1`` against ``n2``
    ratings: first rated higher, and lower."""
    rates = score_size.RATES
    higher = np.zeros(len(rates))
    lower = np.zeros(len(rates))
    for good1 in range(n1 + 1):
        weight = stats.binom.pmf(good1, n1, rates)

        def rejects(good2: int, greater: bool, good1: int = good1) -> bool:
            p = proportions.unpaired_p_value(good1, n1, good2, n2, confidence=1 - 2 * alpha, greater=greater)
            return p < alpha

        # Rejected as higher: the second's counts below a threshold; as lower: above one.
        kept = first_rejected(lambda good2: not rejects(good2, True), 0, n2)
        higher += weight * stats.binom.cdf(kept - 1, n2, rates)
        start = first_rejected(lambda good2: rejects(good2, False), 0, n2)
        lower += weight * stats.binom.sf(start - 1, n2, rates)
    return float(higher.max()), float(lower.max())


def compositions(n: int) -> list[tuple[int, int, int]]:
    return [(bad, okay, n - bad - okay) for bad in range(n + 1) for okay in range(n + 1 - bad)]


def null_pairs() -> tuple[np.ndarray, np.ndarray]:
    """Pairs of distributions (F, G) with no ordinal difference, P(X > Y) = P(X < Y) for X of
    F and Y of G: F on the simplex in steps of 1/``GRID``, and for each the G solving that
    linear equation at ``ALONG`` + 1 points of the segment of the simplex it leaves, both ends
    included (on the simplex's edges: the two-point and point-mass shapes, where the worst
    cases sit). As two arrays of shares, F's and G's, one row a pair."""
    firsts, seconds = [], []
    for f in compositions(GRID):
        f0, f1, f2 = (share / GRID for share in f)
        # P(X > Y) - P(X < Y) = sum(a * g) over G's shares g.
        a = (f1 + f2, f2 - f0, -(f0 + f1))
        ends = []
        for i, j in ((0, 1), (0, 2), (1, 2)):
            if a[i] * a[j] <= 0 and a[i] != a[j]:
                g = [0.0, 0.0, 0.0]
                g[i], g[j] = a[j] / (a[j] - a[i]), a[i] / (a[i] - a[j])
                ends.append(g)
        first, last = np.array(min(ends)), np.array(max(ends))
        for step in np.linspace(0, 1, ALONG + 1):
            firsts.append((f0, f1, f2))
            seconds.append((1 - step) * first + step * last)
    return np.array(firsts), np.abs(np.array(seconds))


def brunner_munzel_p(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Brunner and Munzel's one-sided p (the first group higher) for every row of counts of
    ``first`` against every row of ``second``, as the plugin computed it before an emotion's
    comparison was left undecided: on Student's t with Satterthwaite's dof, the rank test's
    null variance its floor below ``ordinal.SMALL`` ratings or where a side's placements do
    not vary, and standing in on the normal where theirs is zero."""
    x, y = first[:, None, :], second[None, :, :]
    n1, n2 = x.sum(-1), y.sum(-1)
    place1 = (np.cumsum(y, -1) - y / 2) / n2[..., None]
    place2 = (np.cumsum(x, -1) - x / 2) / n1[..., None]
    superiority = (x * place1).sum(-1) / n1
    spread1 = (x * (place1 - superiority[..., None]) ** 2).sum(-1) / (n1 - 1) / n1
    spread2 = (y * (place2 - (1 - superiority)[..., None]) ** 2).sum(-1) / (n2 - 1) / n2
    n, pooled = n1 + n2, x + y
    null = ((n + 1) - (pooled**3 - pooled).sum(-1) / (n * (n - 1))) / (12 * n1 * n2)
    variance = spread1 + spread2
    with np.errstate(all="ignore"):
        dof = variance**2 / (spread1**2 / (n1 - 1) + spread2**2 / (n2 - 1))
        floored = (np.minimum(n1, n2) < ordinal.SMALL) | (spread1 == 0) | (spread2 == 0)
        variance = np.where(variance > 0, np.where(floored, np.maximum(variance, null), variance), null)
        statistic = (2 * superiority - 1) / (2 * np.sqrt(variance))
        p = np.where(spread1 + spread2 > 0, stats.t.sf(statistic, dof), stats.norm.sf(statistic))
    return np.where(variance > 0, p, 0.5)


def multinomial_pmf(counts: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """The multinomial probability of each row of ``counts`` under each row of ``shares``:
    (shares, counts)."""
    n = counts[0].sum()
    log_ways = math.lgamma(n + 1) - special.gammaln(counts + 1).sum(-1)
    # A share of zero allows only a count of zero (0 log 0 is 0).
    possible = ~((counts[None, :, :] > 0) & (shares[:, None, :] == 0)).any(-1)
    logs = np.log(np.where(shares > 0, shares, 1.0))
    return np.where(possible, np.exp(log_ways[None, :] + logs @ counts.T), 0.0)


@functools.cache
def _shape_parts(n1: int, n2: int) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """The probability of each group's counts under each pair's F and G, and the one-sided
    p-values of every pair of counts, first higher and first lower: shared by every level."""
    firsts, seconds = (np.array(compositions(n), dtype=float) for n in (n1, n2))
    f, g = null_pairs()
    weight1, weight2 = multinomial_pmf(firsts, f[:: ALONG + 1]), multinomial_pmf(seconds, g)
    return weight1, weight2, (brunner_munzel_p(firsts, seconds), brunner_munzel_p(seconds, firsts).T)


def shape_size(n1: int, n2: int, alpha: float) -> float:
    """The largest size, over every pair of distributions with no ordinal difference
    (``null_pairs``) and both directions, of Brunner and Munzel's one-sided test of ``n1``
    against ``n2`` ratings at ``alpha``."""
    weight1, weight2, p_values = _shape_parts(n1, n2)
    worst = 0.0
    for p in p_values:
        # Each F is paired with ALONG + 1 G's.
        by_second = np.repeat(weight1 @ (p < alpha), ALONG + 1, axis=0)
        worst = max(worst, float((by_second * weight2).sum(-1).max()))
    return worst


def spread(values: Sequence[float], alpha: float) -> str:
    low, high = cell(min(values), alpha), cell(max(values), alpha)
    return low if low == high else f"{low} to {high}"


def alpha_name(alpha: float) -> str:
    return "0.05 / 32" if alpha == EMOTION_LEVEL else f"{alpha:g}"


def cell(size: float, alpha: float) -> str:
    """A size to three significant figures at an emotion's level, to three decimals else."""
    return f"{size:.3g}" if alpha < 0.01 else f"{size:.3f}"


def table() -> Iterator[str]:
    yield f"| test | cases | {' | '.join(f'size at alpha {alpha_name(alpha)}' for alpha in ALPHAS)} |"
    yield "| --- | --- |" + " --- |" * len(ALPHAS)
    paired = (
        ("Good rate, paired", paired_good_rate),
        ("ordinal effect, paired", paired_ordinal),
        ("decline, against a saved run", saved_run_decline),
    )
    for name, p_value in paired:
        by_alpha = [paired_sizes(p_value, alpha) for alpha in ALPHAS]
        for low, high in DISCORDANT:
            spans = [[sizes[d] for d in range(low, high + 1)] for sizes in by_alpha]
            cells = [spread(span, alpha) for span, alpha in zip(spans, ALPHAS, strict=True)]
            yield f"| {name} | {low} to {high} discordant | {' | '.join(cells)} |"
    for n1, n2 in GOOD_RATE_GROUPS:
        cells = [cell(max(good_rate_size(n1, n2, alpha)), alpha) for alpha in ALPHAS]
        yield f"| Good rate, unpaired | {n1} against {n2} | {' | '.join(cells)} |"


def shape_table() -> Iterator[str]:
    """The worst size over the whole null of the test an emotion's unpaired ordinal comparison
    no longer decides by, at each level, and as a multiple of it."""
    named = " | ".join(f"worst size at {alpha_name(alpha)}" for alpha in ALPHAS)
    yield f"| Brunner-Munzel's t within an emotion | {named} |"
    yield "| --- | --- | --- | --- |"
    for n1, n2 in SHAPE_GROUPS:
        sizes = [(shape_size(n1, n2, alpha), alpha) for alpha in ALPHAS]
        cells = [f"{size:.4f} ({size / alpha:.2f} alpha)" for size, alpha in sizes]
        yield f"| {n1} against {n2} | {' | '.join(cells)} |"


def main(argv: Sequence[str] | None = None) -> None:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args(argv)
    for line in table():
        print(line)
    usual, strict = ALPHAS[:2]
    low, high = proportions.exact_cutover(usual), proportions.exact_cutover(strict)
    exact = f"The paired tests are exact up to {low} discordant cases at alpha {usual:g}"
    print(f"\n{exact} and up to {high} at {strict:g}.\n")
    for line in shape_table():
        print(line)


if __name__ == "__main__":
    main()
