"""The size of the standardized Good-rate test (a model's ratings over several emotions against
per-emotion counts, the baseline standardized to the model's mix), by seeded simulation: how
often each one-sided test rejects at alpha when the model's and the baseline's Good rates are
equal, in every emotion, to the rate of the row. It prints the table docs/explanation/statistics.md
holds (``tests/test_standardized.py`` re-runs a row and checks the page has it).

    python -m benchmarks.standardized_sizes

The test is the plugin's own statistic (``proportions.standardized_statistic``, the one
``proportions.standardized``'s p-values refer to), called on each simulated run: the model 2
or 10 cases in each of the 32 emotions (the smoke run's size, and 320 cases), the baseline the
release's crowd ratings per emotion (about 62). Enumerating every outcome over 32 strata is
out of reach; RUNS runs a row give a Monte Carlo standard error of 0.15 points at alpha 0.05
and 0.07 at 0.01.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Iterator, Sequence

import numpy as np

from pytest_empathy.analysis import proportions
from pytest_empathy.analysis.distributions import normal_quantile
from pytest_empathy.corpus import release

ALPHAS = (0.05, 0.01)
RATES = (0.005, 0.01, 0.02, 0.05, 0.2, 0.4, 0.8, 0.95, 0.99)
PER_EMOTION = (2, 10)
RUNS = 20_000


def statistics(rate: float, per_emotion: int, runs: int) -> np.ndarray:
    """The statistic of ``runs`` seeded runs at one true Good rate on both sides."""
    human = release.human_counts()
    baseline_n = np.array([human[emotion].n for emotion in sorted(human)])
    rng = np.random.default_rng([round(rate * 1000), per_emotion])
    model = rng.binomial(per_emotion, rate, size=(runs, len(baseline_n)))
    baseline = rng.binomial(baseline_n, rate, size=(runs, len(baseline_n)))
    return np.array(
        [
            proportions.standardized_statistic(
                [(int(x1), per_emotion, int(x2), int(n2)) for x1, x2, n2 in zip(first, second, baseline_n, strict=True)]
            )
            for first, second in zip(model, baseline, strict=True)
        ]
    )


def false_rates(rate: float, per_emotion: int, runs: int = RUNS) -> dict[tuple[float, str], float]:
    """How often "higher" and "lower" are each called at each alpha, by (alpha, direction)."""
    z = statistics(rate, per_emotion, runs)
    found = {}
    for alpha in ALPHAS:
        critical = normal_quantile(1 - 2 * alpha)
        found[alpha, "higher"] = float(np.mean(z > critical))
        found[alpha, "lower"] = float(np.mean(z < -critical))
    return found


def row(rate: float, per_emotion: int, found: dict[tuple[float, str], float]) -> str:
    """The table's row of ``false_rates`` found at ``rate`` and ``per_emotion``."""
    cells = [f"{found[alpha, side]:.3f}" for alpha in ALPHAS for side in ("higher", "lower")]
    return f"| {rate:g} | {per_emotion} x 32 | " + " | ".join(cells) + " |"


def table(runs: int = RUNS) -> Iterator[str]:
    yield "| Good rate | model cases | higher, 0.05 | lower, 0.05 | higher, 0.01 | lower, 0.01 |"
    yield "| --- | --- | --- | --- | --- | --- |"
    for per_emotion in PER_EMOTION:
        for rate in RATES:
            yield row(rate, per_emotion, false_rates(rate, per_emotion, runs))


def standard_error(alpha: float, runs: int = RUNS) -> float:
    return math.sqrt(alpha * (1 - alpha) / runs)


def main(argv: Sequence[str] | None = None) -> None:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args(argv)
    for line in table():
        print(line, flush=True)


if __name__ == "__main__":
    main()
