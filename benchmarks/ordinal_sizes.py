"""The size of the unpaired ordinal test over several emotions (``ordinal.standardized``) over
the whole null of no ordinal difference, by exact enumeration: every pair of distributions
with a relative effect of 1/2 on the grid ``exact_sizes.null_pairs`` (shapes as different as
half Bad, half Good against all Okay), the same pair in each of K emotions of n1 model
ratings against n2, both directions. It prints the table docs/explanation/statistics.md
holds (``tests/test_shapes.py`` checks that it does, verbatim).

    python -m benchmarks.ordinal_sizes

One emotion's estimate takes values on a lattice of steps 1 / (2 n1 n2); its exact
distribution under each pair is every pair of groups' counts weighed by its multinomial
probability, and the K emotions' sum is its K-fold convolution. The test rejects on one side
of a threshold of that sum, found from the plugin's own ``ordinal.bounded`` by bisection.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Sequence

import numpy as np
from scipy import sparse

from pytest_empathy.analysis import ordinal
from pytest_empathy.ratings import Counts

from .exact_sizes import ALONG, compositions, first_rejected, multinomial_pmf, null_pairs

ALPHAS = (0.05, 0.01)
# The smoke corpus's 2 ratings an emotion against the release's 62, over 1 to 32 emotions: few
# ratings, where a normal reference is least safe (``main`` takes another number: 5 takes a
# minute, 20 more than an hour).
EMOTIONS = (1, 2, 3, 4, 8, 16, 32)
MODEL_RATINGS = 2
HUMAN_RATINGS = 62


def emotion_distributions(n1: int, n2: int) -> np.ndarray:
    """Under each null pair (rows), the probability of each lattice value 0 .. 2 n1 n2 of one
    emotion's estimated superiority times 2 n1 n2, through the plugin's own estimate."""
    firsts, seconds = compositions(n1), compositions(n2)
    f, g = null_pairs()
    weight1 = multinomial_pmf(np.array(firsts, float), f[:: ALONG + 1])
    weight2 = multinomial_pmf(np.array(seconds, float), g)
    steps = 2 * n1 * n2
    found = np.zeros((len(g), steps + 1))
    by_second = np.ascontiguousarray(weight2.T)
    for i, first in enumerate(firsts):
        lattice = [round(steps * ordinal.placements(Counts(*first), Counts(*second))[2]) for second in seconds]
        onto = sparse.csr_array((np.ones(len(seconds)), (np.arange(len(seconds)), lattice)), (len(seconds), steps + 1))
        # Each F is paired with ALONG + 1 G's.
        found += np.repeat(weight1[:, i], ALONG + 1)[:, None] * (onto.T @ by_second).T
    return found


def tails(one: np.ndarray, emotions: int, lower: int, upper: int) -> np.ndarray:
    """Each row's K-fold convolution (the lattice distribution of the K emotions' sum), its
    mass at or below ``lower`` and at or above ``upper``: (rows, 2). By FFT, a few hundred
    rows at a time to bound the memory."""
    length = emotions * (one.shape[1] - 1) + 1
    size = 1 << (length - 1).bit_length()
    found = []
    for start in range(0, len(one), _ROWS):
        summed = np.fft.irfft(np.fft.rfft(one[start : start + _ROWS], size) ** emotions, size)[:, :length]
        summed = np.clip(summed, 0.0, None)
        found.append(np.stack([summed[:, : max(lower + 1, 0)].sum(1), summed[:, upper:].sum(1)], axis=1))
    return np.concatenate(found)


_ROWS = 512


def size(n1: int, n2: int, emotions: int, alpha: float) -> float:
    """The largest rejection rate, over the null pairs and both directions, of the test of
    ``emotions`` emotions of ``n1`` against ``n2`` ratings at ``alpha``."""
    steps, total = 2 * n1 * n2, emotions * 2 * n1 * n2
    variance = emotions * (1 / emotions) ** 2 * ordinal.largest_variance(n1, n2)

    def test(lattice: int) -> ordinal.OrdinalTest:
        superiority = lattice / (emotions * steps)
        return ordinal.bounded(superiority, variance, 1 / (2 * emotions * n1), confidence=1 - 2 * alpha)

    better = first_rejected(lambda t: test(t).p_greater < alpha, 0, total)
    # The lower direction mirrors it: rejected at or below total - better.
    worse = total - first_rejected(lambda t: test(total - t).p_less < alpha, 0, total)
    return float(tails(_distributions(n1, n2), emotions, worse, better).max())


_CACHE: dict[tuple[int, int], np.ndarray] = {}


def _distributions(n1: int, n2: int) -> np.ndarray:
    if (n1, n2) not in _CACHE:
        _CACHE[n1, n2] = emotion_distributions(n1, n2)
    return _CACHE[n1, n2]


def table(n1: int = MODEL_RATINGS) -> Iterator[str]:
    yield f"| emotions of {n1} ratings against {HUMAN_RATINGS} | worst size at {' / '.join(map(str, ALPHAS))} |"
    yield "| --- | --- |"
    for emotions in EMOTIONS:
        cells = " / ".join(f"{size(n1, HUMAN_RATINGS, emotions, alpha):.4f}" for alpha in ALPHAS)
        yield f"| {emotions} | {cells} |"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("ratings", nargs="?", type=int, default=MODEL_RATINGS, help="model ratings an emotion")
    for line in table(parser.parse_args(argv).ratings):
        print(line)


if __name__ == "__main__":
    main()
