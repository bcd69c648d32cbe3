"""Prediction-powered estimates of the crowd's shares (analysis/ppi.py): equal to ppi-python's,
and in a seeded simulation valid where a judge alone is biased, and narrower than the crowd
alone."""

from __future__ import annotations

import numpy as np
import pytest

from pytest_empathy.analysis import ppi
from pytest_empathy.ratings import Rating

ppi_py = pytest.importorskip("ppi_py", reason="ppi-python is not installed: pip install -e '.[test]'")


def ratings(rng: np.random.Generator, size: int, shares: tuple[float, float, float]) -> np.ndarray:
    return rng.choice([1, 2, 3], size=size, p=shares)


def judge_of(rng: np.random.Generator, crowd: np.ndarray, agreement: float) -> np.ndarray:
    """A lenient, noisy judge: the crowd's rating with probability ``agreement``, else one
    level higher (Good stays Good) or, a third of the time, a random level."""
    lenient = np.minimum(crowd + 1, 3)
    noise = rng.choice([1, 2, 3], size=len(crowd))
    other = np.where(rng.random(len(crowd)) < 2 / 3, lenient, noise)
    return np.where(rng.random(len(crowd)) < agreement, crowd, other)


@pytest.mark.parametrize("lam", [None, 0.0, 0.5, 1.0])
@pytest.mark.parametrize("seed", range(5))
def test_the_estimate_and_interval_are_ppi_pythons(seed, lam):
    rng = np.random.default_rng(seed)
    crowd = ratings(rng, 80 + 40 * seed, (0.2, 0.3, 0.5))
    judged, judged_only = judge_of(rng, crowd, 0.7), judge_of(rng, ratings(rng, 900, (0.2, 0.3, 0.5)), 0.7)
    y, f, f_only = (ppi.one_hot([Rating(int(v)) for v in a]) for a in (crowd, judged, judged_only))
    for columns in (slice(None), slice(2, 3)):  # the three shares together, and the Good rate alone
        ours = ppi.mean(y[:, columns], f[:, columns], f_only[:, columns], confidence=0.9, lam=lam)
        theirs = ppi_py.ppi_mean_pointestimate(y[:, columns], f[:, columns], f_only[:, columns], lam=lam)
        low, high = ppi_py.ppi_mean_ci(y[:, columns], f[:, columns], f_only[:, columns], alpha=0.1, lam=lam)
        assert ours.estimate == pytest.approx(np.ravel(theirs), abs=1e-12)
        assert [i[0] for i in ours.interval] == pytest.approx(np.ravel(low), abs=1e-12)
        assert [i[1] for i in ours.interval] == pytest.approx(np.ravel(high), abs=1e-12)


def simulate(rng: np.random.Generator, *, cases: int, crowd: int, agreement: float, truth: tuple[float, float, float]):
    """One benchmark: every case rated by the judge, a random ``crowd`` of them by the crowd."""
    rated = ratings(rng, cases, truth)
    judged = judge_of(rng, rated, agreement)
    subset = rng.permutation(cases)[:crowd]
    others = np.setdiff1d(np.arange(cases), subset)
    pairs = [(Rating(int(rated[i])), Rating(int(judged[i]))) for i in subset]
    return ppi.crowd_scale(pairs, [Rating(int(judged[i])) for i in others]), rated, judged, subset


def coverage_and_widths(*, repetitions: int, seed: int = 20240607) -> dict[str, float]:
    """The note's figures: 2,000 cases; the crowd rates 320 (10 per emotion of 32); the judge
    agrees with the crowd 70% of the time, and is lenient when it does not. The Good rate's
    95% intervals: prediction-powered, the judge's ratings alone, the crowd's 320 alone."""
    rng = np.random.default_rng(seed)
    truth = (0.15, 0.30, 0.55)
    z = 1.959963984540054
    found: dict[str, list[float]] = {name: [] for name in ("ppi", "judge", "crowd")}
    widths: dict[str, list[float]] = {name: [] for name in found}
    gains = []
    for _ in range(repetitions):
        estimate, rated, judged, subset = simulate(rng, cases=2000, crowd=320, agreement=0.7, truth=truth)
        judge_good, crowd_good = judged == 3, rated[subset] == 3
        intervals = {
            "ppi": estimate.good.interval[0],
            "judge": _normal(judge_good.mean(), judge_good.std() / np.sqrt(len(judged)), z),
            "crowd": _normal(crowd_good.mean(), crowd_good.std() / np.sqrt(len(subset)), z),
        }
        for name, (low, high) in intervals.items():
            found[name].append(low <= truth[2] <= high)
            widths[name].append(high - low)
        gains.append(estimate.good.effective_crowd[0])
    figures = {f"{name} coverage": float(np.mean(found[name])) for name in found}
    figures |= {f"{name} width": float(np.mean(widths[name])) for name in widths}
    return figures | {"effective crowd": float(np.mean(gains))}


def _normal(centre: float, se: float, z: float) -> tuple[float, float]:
    return centre - z * se, centre + z * se


def test_in_simulation_ppi_covers_the_truth_the_judge_alone_does_not_and_the_crowd_alone_is_wider():
    repetitions = 1000
    figures = coverage_and_widths(repetitions=repetitions)
    monte_carlo = np.sqrt(0.95 * 0.05 / repetitions)
    assert abs(figures["ppi coverage"] - 0.95) < 3 * monte_carlo, figures
    assert abs(figures["crowd coverage"] - 0.95) < 3 * monte_carlo, figures
    # The lenient judge alone: narrow, and around the wrong value.
    assert figures["judge coverage"] < 0.5, figures
    assert figures["ppi width"] < 0.9 * figures["crowd width"], figures
    assert figures["effective crowd"] > 320 / 0.9**2, figures


def test_an_uninformative_judge_leaves_the_crowd_alone():
    rng = np.random.default_rng(7)
    crowd = [Rating(int(v)) for v in ratings(rng, 300, (0.2, 0.3, 0.5))]
    judge = [Rating(int(v)) for v in ratings(rng, 300, (0.2, 0.3, 0.5))]  # independent of the crowd
    others = [Rating(int(v)) for v in ratings(rng, 1700, (0.2, 0.3, 0.5))]
    estimate = ppi.crowd_scale(list(zip(crowd, judge, strict=True)), others).good
    assert estimate.lam < 0.2
    assert estimate.effective_crowd[0] == pytest.approx(300, rel=0.1)
    assert estimate.crowd == 300 and estimate.judge_only == 1700


def test_too_few_cases_of_either_kind_is_an_error():
    with pytest.raises(ValueError, match="2 or more cases of each kind"):
        ppi.crowd_scale([(Rating.GOOD, Rating.GOOD)], [Rating.GOOD] * 10)
