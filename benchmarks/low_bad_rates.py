"""`no-more-bad` over several emotions at low baseline Bad rates, by seeded simulation through
the plugin's own figures (``proportions.standardized`` with the gate's margin, as a run reads
them): its size (the chance of passing a model whose Bad rate is the margin higher in every
emotion) and its power (of passing a model whose Bad rate equals the baseline's), the model 2
ratings in each of 16 or 32 emotions, the baseline 62 in each, every emotion at the row's rate.

Rao-Blackwellised: the model's Bad count over all its cases is one binomial, the test's
figures depend on it and on the baseline's counts only, and the upper bound rises with it; so
for each seeded draw of the baseline's counts the largest count that passes is found (by
bisection over the plugin's figures) and the chance of a count at most that large is the
binomial's. Each figure is the mean over DRAWS draws, its Monte Carlo standard error their
standard deviation over the square root of DRAWS. docs/reference/gates.md's statement of the guard holds
the 32-emotion power at 3% and 5% that ``power_row`` prints (``tests/test_strata_sizes.py``
runs it).

    python -m benchmarks.low_bad_rates
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import binom

from pytest_empathy.analysis import proportions
from pytest_empathy.analysis.proportions import Margin

ALPHA = 0.05
MARGIN = 0.05
PER_EMOTION = 2
BASELINE_PER_EMOTION = 62
DRAWS = 100
RATES = (0.005, 0.01, 0.016, 0.02, 0.025, 0.03, 0.04, 0.05, 0.07, 0.1, 0.3, 0.4, 0.5)
EMOTIONS = (16, 32)
# The rates docs/reference/gates.md states the power at.
STATED_RATES = (0.03, 0.05)


@dataclass(frozen=True)
class Chance:
    """A Rao-Blackwellised chance and its Monte Carlo standard error."""

    mean: float
    standard_error: float


def passes(model_bad: int, baseline_bad: Sequence[int]) -> bool:
    """Whether `no-more-bad` at ``MARGIN`` passes ``model_bad`` Bad ratings of the model's
    ``PER_EMOTION`` in each emotion, against ``baseline_bad`` of ``BASELINE_PER_EMOTION``."""
    strata = [
        (min(PER_EMOTION, max(0, model_bad - PER_EMOTION * i)), PER_EMOTION, bad, BASELINE_PER_EMOTION)
        for i, bad in enumerate(baseline_bad)
    ]
    test = proportions.standardized(strata, confidence=1 - 2 * ALPHA, margin=Margin(MARGIN, greater=False))
    return test.difference_ci.high < MARGIN


def most_passing(baseline_bad: Sequence[int]) -> int:
    """The largest Bad count of the model that passes (-1: none): the counts that pass are
    those up to it, found upward from none in doubling steps, then by bisection (at a low
    baseline rate it is a few: some four evaluations where bisection over every count took
    seven)."""
    top = PER_EMOTION * len(baseline_bad)
    low, step, high = -1, 1, 0
    while passes(high, baseline_bad):
        if high == top:
            return top
        low, step = high, 2 * step
        high = min(top, low + step)
    while high - low > 1:
        middle = (low + high) // 2
        if passes(middle, baseline_bad):
            low = middle
        else:
            high = middle
    return low


def chances(rate: float, emotions: int, draws: int = DRAWS) -> tuple[Chance, Chance]:
    """(size, power) of `no-more-bad` at a baseline Bad rate ``rate`` in each of ``emotions``."""
    rng = np.random.default_rng([round(rate * 10_000), emotions])
    baselines = rng.binomial(BASELINE_PER_EMOTION, rate, size=(draws, emotions))
    most = np.array([most_passing([int(b) for b in baseline]) for baseline in baselines])
    n = PER_EMOTION * emotions
    found = []
    for model_rate in (rate + MARGIN, rate):
        conditional = binom.cdf(most, n, model_rate)
        found.append(Chance(float(conditional.mean()), float(conditional.std(ddof=1) / np.sqrt(draws))))
    return found[0], found[1]


def power_row(rate: float, power: Chance) -> str:
    """The gates page's statement of the power to pass an equal Bad rate at ``rate``, 32 emotions."""
    return f"{rate:.0%}: {power.mean:.3f} (Monte Carlo error {power.standard_error:.3f})"


def main(argv: Sequence[str] | None = None) -> None:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args(argv)
    print("| emotions x 2 | baseline Bad rate | size at +5 pts (MC error) | power at equal rates (MC error) |")
    print("| --- | --- | --- | --- |")
    for emotions in EMOTIONS:
        for rate in RATES:
            size, power = chances(rate, emotions)
            print(
                f"| {emotions} | {rate:g} | {size.mean:.3f} ({size.standard_error:.3f}) "
                f"| {power.mean:.3f} ({power.standard_error:.3f}) |",
                flush=True,
            )


if __name__ == "__main__":
    main()
