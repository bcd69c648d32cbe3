"""The sizes of the plugin's own tests, by exact enumeration: how often each one-sided test
rejects a true null at alpha, every possible outcome weighed by its probability. It prints
the table README.md's Statistics section holds (``tests/test_sizes.py`` checks that it
does, verbatim).

    python -m benchmarks.exact_sizes

Each test is the plugin's own function (``proportions.paired``, ``ordinal.paired_ratings``,
``comparison.compare_paired`` for the saved-run check ``decline``, ``proportions.unpaired``,
``ordinal.unpaired``), called on each outcome it needs:

- paired (the Good rate, the ordinal effect on the signs, and ``decline``, the Good rate of a
  run against its saved run, unclustered): given d cases Good on one
  side only (rated differently), the first side's share of them is binomial (d, 1/2) under
  no difference, and the tests depend on nothing else; the size is that binomial's mass on
  the counts the test rejects, for every d from 1 to 200;
- unpaired Good rate (Miettinen-Nurminen within an emotion): two binomial groups of one true
  rate, the largest size over rates 0.01 to 0.99 and both directions;
- unpaired ordinal effect within an emotion (Brunner-Munzel, by permutation in small
  groups): two multinomial groups of one distribution, the largest size over the
  3-category simplex in steps of 0.1 and both directions.

The paired and unpaired Good-rate tests reject on one side of a threshold (their statistic
rises with the first side's count and falls with the second's), which bisection finds; the
ordinal effect's tests are called on every pair of groups.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Iterator, Sequence

import numpy as np
from scipy import stats

from pytest_empathy.analysis import comparison, ordinal, proportions
from pytest_empathy.ratings import Counts, Rating

ALPHAS = (0.05, 0.01)
DISCORDANT = ((1, 10), (11, 30), (31, 60), (61, 200))
GOOD_RATE_GROUPS = ((2, 10), (2, 62), (2, 300), (5, 62), (5, 300), (10, 62), (10, 300))
ORDINAL_GROUPS = ((2, 20), (2, 62), (5, 20), (5, 62))
RATES = np.round(np.arange(1, 100) / 100, 2)
SIMPLEX = [(i / 10, j / 10, (10 - i - j) / 10) for i in range(11) for j in range(11 - i)]

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
    """``decline``'s p: this run against a saved run (``comparison.compare_paired``), ``fell``
    of the d cases rated otherwise Good only in the saved run, the rest Good only in this one."""
    pairs = [(Rating.GOOD, Rating.OKAY)] * fell + [(Rating.OKAY, Rating.GOOD)] * (d - fell)
    p_worse = comparison.compare_paired([*pairs, (Rating.OKAY, Rating.OKAY)], alpha=alpha).p_worse
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
    higher = np.zeros(len(RATES))
    lower = np.zeros(len(RATES))
    for good1 in range(n1 + 1):
        weight = stats.binom.pmf(good1, n1, RATES)

        def test(good2: int, good1: int = good1) -> proportions.GoodRateTest:
            return proportions.unpaired(good1, n1, good2, n2, confidence=1 - 2 * alpha)

        # Rejected as higher: the second's counts below a threshold; as lower: above one.
        kept = first_rejected(lambda good2: not test(good2).p_greater < alpha, 0, n2)
        higher += weight * stats.binom.cdf(kept - 1, n2, RATES)
        start = first_rejected(lambda good2: test(good2).p_less < alpha, 0, n2)
        lower += weight * stats.binom.sf(start - 1, n2, RATES)
    return float(higher.max()), float(lower.max())


def compositions(n: int) -> list[tuple[int, int, int]]:
    return [(bad, okay, n - bad - okay) for bad in range(n + 1) for okay in range(n + 1 - bad)]


def ordinal_size(n1: int, n2: int, alpha: float) -> tuple[float, float]:
    """The largest size over the simplex of the unpaired ordinal test of ``n1`` against
    ``n2`` ratings: first rated higher, and lower."""
    firsts, seconds = compositions(n1), compositions(n2)
    higher = np.zeros((len(firsts), len(seconds)))
    lower = np.zeros((len(firsts), len(seconds)))
    for i, a in enumerate(firsts):
        for j, b in enumerate(seconds):
            test = ordinal.unpaired(Counts(*a), Counts(*b), confidence=1 - 2 * alpha)
            higher[i, j], lower[i, j] = test.p_greater < alpha, test.p_less < alpha
    sizes = []
    for shares in SIMPLEX:
        weight1 = stats.multinomial.pmf(firsts, n1, shares)
        weight2 = stats.multinomial.pmf(seconds, n2, shares)
        sizes.append((weight1 @ higher @ weight2, weight1 @ lower @ weight2))
    return float(max(s for s, _ in sizes)), float(max(s for _, s in sizes))


def spread(values: Sequence[float]) -> str:
    low, high = min(values), max(values)
    return f"{low:.3f}" if f"{low:.3f}" == f"{high:.3f}" else f"{low:.3f} to {high:.3f}"


def table() -> Iterator[str]:
    yield "| test | cases | size at alpha 0.05 | size at alpha 0.01 |"
    yield "| --- | --- | --- | --- |"
    paired = (
        ("Good rate, paired", paired_good_rate),
        ("ordinal effect, paired", paired_ordinal),
        ("decline, against a saved run", saved_run_decline),
    )
    for name, p_value in paired:
        by_alpha = [paired_sizes(p_value, alpha) for alpha in ALPHAS]
        for low, high in DISCORDANT:
            cells = [spread([sizes[d] for d in range(low, high + 1)]) for sizes in by_alpha]
            yield f"| {name} | {low} to {high} discordant | {' | '.join(cells)} |"
    for name, size, groups in (
        ("Good rate, unpaired", good_rate_size, GOOD_RATE_GROUPS),
        ("ordinal effect, unpaired", ordinal_size, ORDINAL_GROUPS),
    ):
        for n1, n2 in groups:
            cells = [f"{max(size(n1, n2, alpha)):.3f}" for alpha in ALPHAS]
            yield f"| {name} | {n1} against {n2} | {' | '.join(cells)} |"


def main(argv: Sequence[str] | None = None) -> None:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args(argv)
    for line in table():
        print(line)
    (usual, strict), (low, high) = ALPHAS, (proportions.exact_cutover(alpha) for alpha in ALPHAS)
    exact = f"The paired tests are exact up to {low} discordant cases at alpha {usual:g}"
    print(f"\n{exact} and up to {high} at {strict:g}.")


if __name__ == "__main__":
    main()
