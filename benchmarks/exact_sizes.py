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

# alpha 0.05 / 32: an emotion's level, Bonferroni over the 32 emotions.
ALPHAS = (0.05, 0.01, 0.05 / 32)
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

        def test(good2: int, good1: int = good1) -> tuple[float, float]:
            return proportions.unpaired_p_values(good1, n1, good2, n2, confidence=1 - 2 * alpha)

        # Rejected as higher: the second's counts below a threshold; as lower: above one.
        kept = first_rejected(lambda good2: not test(good2)[0] < alpha, 0, n2)
        higher += weight * stats.binom.cdf(kept - 1, n2, RATES)
        start = first_rejected(lambda good2: test(good2)[1] < alpha, 0, n2)
        lower += weight * stats.binom.sf(start - 1, n2, RATES)
    return float(higher.max()), float(lower.max())


def compositions(n: int) -> list[tuple[int, int, int]]:
    return [(bad, okay, n - bad - okay) for bad in range(n + 1) for okay in range(n + 1 - bad)]


def ordinal_sizes(n1: int, n2: int) -> list[tuple[float, float]]:
    """The largest size over the simplex of the unpaired ordinal test of ``n1`` against
    ``n2`` ratings, first rated higher and lower, at each of ``ALPHAS``: its p-values do not
    depend on the confidence it is called with, so each pair of groups is tested once."""
    firsts, seconds = compositions(n1), compositions(n2)
    p_values = np.zeros((2, len(firsts), len(seconds)))
    for i, a in enumerate(firsts):
        for j, b in enumerate(seconds):
            test = ordinal.unpaired(Counts(*a), Counts(*b), confidence=1 - 2 * ALPHAS[0])
            p_values[:, i, j] = test.p_greater, test.p_less
    weights = [(stats.multinomial.pmf(firsts, n1, s), stats.multinomial.pmf(seconds, n2, s)) for s in SIMPLEX]
    found = []
    for alpha in ALPHAS:
        higher, lower = p_values < alpha
        sizes = [(w1 @ higher @ w2, w1 @ lower @ w2) for w1, w2 in weights]
        found.append((float(max(s for s, _ in sizes)), float(max(s for _, s in sizes))))
    return found


def spread(values: Sequence[float], alpha: float) -> str:
    low, high = cell(min(values), alpha), cell(max(values), alpha)
    return low if low == high else f"{low} to {high}"


def alpha_name(alpha: float) -> str:
    return "0.05 / 32" if alpha == 0.05 / 32 else f"{alpha:g}"


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
    for n1, n2 in ORDINAL_GROUPS:
        cells = [cell(max(sizes), alpha) for sizes, alpha in zip(ordinal_sizes(n1, n2), ALPHAS, strict=True)]
        yield f"| ordinal effect, unpaired | {n1} against {n2} | {' | '.join(cells)} |"


def main(argv: Sequence[str] | None = None) -> None:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args(argv)
    for line in table():
        print(line)
    usual, strict = ALPHAS[:2]
    low, high = proportions.exact_cutover(usual), proportions.exact_cutover(strict)
    exact = f"The paired tests are exact up to {low} discordant cases at alpha {usual:g}"
    print(f"\n{exact} and up to {high} at {strict:g}.")


if __name__ == "__main__":
    main()
