"""Prediction-powered estimates of the crowd's shares (analysis/ppi.py): equal to ppi-python's
for one stratum, and in a seeded simulation of a crowd subset drawn per emotion, valid where a
judge alone is biased and narrower than the crowd alone."""

from __future__ import annotations

import numpy as np
import pytest

from pytest_empathy.analysis import ppi
from pytest_empathy.ratings import Rating

ppi_py = pytest.importorskip("ppi_py", reason="ppi-python is not installed: pip install -e '.[test]'")
Z95 = 1.959963984540054


def ratings(rng: np.random.Generator, size: int, shares: tuple[float, float, float]) -> np.ndarray:
    return rng.choice([1, 2, 3], size=size, p=shares)


def judge_of(rng: np.random.Generator, crowd: np.ndarray, agreement: float) -> np.ndarray:
    """A lenient, noisy judge: the crowd's rating with probability ``agreement``, else one
    level higher (Good stays Good) or, a third of the time, a random level."""
    lenient = np.minimum(crowd + 1, 3)
    noise = rng.choice([1, 2, 3], size=len(crowd))
    other = np.where(rng.random(len(crowd)) < 2 / 3, lenient, noise)
    return np.where(rng.random(len(crowd)) < agreement, crowd, other)


def as_ratings(values: np.ndarray) -> list[Rating]:
    return [Rating(int(v)) for v in values]


@pytest.mark.parametrize("lam", [0.0, 0.5, 1.0, None])
@pytest.mark.parametrize("seed", range(5))
def test_one_stratum_is_ppi_pythons_estimate_and_its_interval_with_sample_variances(seed, lam):
    rng = np.random.default_rng(seed)
    crowd = ratings(rng, 80 + 40 * seed, (0.2, 0.3, 0.5))
    judged, judged_only = judge_of(rng, crowd, 0.7), judge_of(rng, ratings(rng, 900, (0.2, 0.3, 0.5)), 0.7)
    y, f, f_only = (ppi.one_hot(as_ratings(a)) for a in (crowd, judged, judged_only))
    for columns in ([0, 1, 2], [2]):  # the three shares together, and the Good rate alone
        y_, f_, u_ = y[:, columns], f[:, columns], f_only[:, columns]
        ours = ppi.stratified([ppi.Stratum(y_, f_, u_)], confidence=0.9, lam=lam)
        if lam is None:
            # PPI++ tunes lam by an estimate of the same optimum, with population variances.
            assert ours.lam == pytest.approx(_their_lam(y_, f_, u_), abs=0.05)
        used = ours.lam
        assert ours.estimate == pytest.approx(np.ravel(ppi_py.ppi_mean_pointestimate(y_, f_, u_, lam=used)), abs=1e-12)
        # The interval, computed here: the judge's variance over all cases, the rectifier's on
        # the crowd's, both with ddof 1.
        judge = np.concatenate([f_, u_]).var(0, ddof=1) / len(u_)
        se = np.sqrt(used**2 * judge + (y_ - used * f_).var(0, ddof=1) / len(y_))
        z = 1.6448536269514722
        assert [i[0] for i in ours.interval] == pytest.approx(np.array(ours.estimate) - z * se, abs=1e-12)
        assert [i[1] for i in ours.interval] == pytest.approx(np.array(ours.estimate) + z * se, abs=1e-12)
        # ppi-python's, with population variances, differs only by those.
        low, high = ppi_py.ppi_mean_ci(y_, f_, u_, alpha=0.1, lam=used)
        widths = [i[1] - i[0] for i in ours.interval]
        assert widths == pytest.approx(np.ravel(high - low), rel=0.02)


def _their_lam(y: np.ndarray, f: np.ndarray, f_only: np.ndarray) -> float:
    """ppi-python's tuned lam: the lam whose point estimate is the one it returns."""
    tuned = np.ravel(ppi_py.ppi_mean_pointestimate(y, f, f_only))
    at = {lam: np.ravel(ppi_py.ppi_mean_pointestimate(y, f, f_only, lam=lam)) for lam in (0.0, 1.0)}
    slope = at[1.0] - at[0.0]
    found = (tuned - at[0.0])[np.abs(slope) > 1e-12] / slope[np.abs(slope) > 1e-12]
    return float(found[0]) if len(found) else 0.0


EMOTION_SIZES = [int(s) for s in np.linspace(42, 84, 32)]  # 32 emotions of unequal size, 2,016 cases


def simulate(rng: np.random.Generator, *, per_emotion: int, agreement: float):
    """One benchmark: every case rated by the judge, ``per_emotion`` cases of each emotion by
    the crowd. The crowd's Good rate differs by emotion and so does the judge's leniency, so
    that a subset drawn per emotion, not in proportion, must be weighted back."""
    strata, truth, judge_good = {}, [], []
    for index, size in enumerate(EMOTION_SIZES):
        good = 0.35 + 0.4 * index / 31
        rated = ratings(rng, size, ((1 - good) / 3, 2 * (1 - good) / 3, good))
        judged = judge_of(rng, rated, agreement - 0.2 * index / 31)
        subset = rng.permutation(size)[:per_emotion]
        others = np.setdiff1d(np.arange(size), subset)
        strata[f"e{index}"] = (
            list(zip(as_ratings(rated[subset]), as_ratings(judged[subset]), strict=True)),
            as_ratings(judged[others]),
        )
        truth.append(good * size)
        judge_good.append(np.sum(judged == 3))
    total = sum(EMOTION_SIZES)
    return ppi.crowd_scale(strata), sum(truth) / total, sum(judge_good) / total, strata


def coverage_and_widths(*, repetitions: int, seed: int = 20240607) -> dict[str, float]:
    """The note's figures: 2,016 cases in 32 emotions; the crowd rates 10 per emotion (320);
    the judge gives the crowd's rating on 70% of the cases (a copy rate from 52% to 32% by
    emotion, plus the chance hits of a lenient, noisy judge), and is lenient when it does not.
    The Good rate's 95% intervals: prediction-powered, the crowd's 320 alone (weighted as PPI
    weights), and what the judge's ratings alone claim."""
    rng = np.random.default_rng(seed)
    covered = {"ppi": 0, "crowd": 0, "judge": 0}
    widths = dict.fromkeys(covered, 0.0)
    effective = 0.0
    for _ in range(repetitions):
        estimate, truth, judge_good, strata = simulate(rng, per_emotion=10, agreement=0.52)
        crowd_alone = _crowd_alone(strata)
        judge_se = np.sqrt(judge_good * (1 - judge_good) / sum(EMOTION_SIZES))
        intervals = {
            "ppi": estimate.good.interval[0],
            "crowd": crowd_alone,
            "judge": (judge_good - Z95 * judge_se, judge_good + Z95 * judge_se),
        }
        for name, (low, high) in intervals.items():
            covered[name] += low <= truth <= high
            widths[name] += high - low
        effective += estimate.good.effective_crowd[0]
    figures = {f"{name} coverage": covered[name] / repetitions for name in covered}
    figures |= {f"{name} width": widths[name] / repetitions for name in widths}
    return figures | {"effective crowd": effective / repetitions}


def _crowd_alone(strata) -> tuple[float, float]:
    """The stratified crowd-only interval, computed here from the counts."""
    total = sum(EMOTION_SIZES)
    mean = variance = 0.0
    for size, (pairs, _) in zip(EMOTION_SIZES, strata.values(), strict=True):
        good = np.array([crowd is Rating.GOOD for crowd, _ in pairs], dtype=float)
        mean += size / total * good.mean()
        variance += (size / total) ** 2 * good.var(ddof=1) / len(good)
    return mean - Z95 * np.sqrt(variance), mean + Z95 * np.sqrt(variance)


def test_in_simulation_ppi_covers_the_truth_the_judge_alone_does_not_and_the_crowd_alone_is_wider():
    repetitions = 600
    figures = coverage_and_widths(repetitions=repetitions)
    monte_carlo = np.sqrt(0.95 * 0.05 / repetitions)
    assert abs(figures["ppi coverage"] - 0.95) < 3 * monte_carlo, figures
    assert figures["judge coverage"] < 0.5, figures  # narrow, and around the wrong value
    assert figures["ppi width"] < 0.9 * figures["crowd width"], figures
    assert figures["effective crowd"] > 320 / 0.9**2, figures


def test_an_uninformative_judge_leaves_the_crowd_alone():
    rng = np.random.default_rng(7)
    shares = (0.2, 0.3, 0.5)
    pairs = list(zip(as_ratings(ratings(rng, 300, shares)), as_ratings(ratings(rng, 300, shares)), strict=True))
    estimate = ppi.crowd_scale({"all": (pairs, as_ratings(ratings(rng, 1700, shares)))}).good
    assert estimate.lam < 0.2
    assert estimate.effective_crowd[0] == pytest.approx(300, rel=0.1)
    assert estimate.crowd == 300 and estimate.judge_only == 1700


def test_a_stratum_the_crowd_rated_whole_is_its_crowd_mean():
    crowd = as_ratings(np.array([3, 3, 1, 2]))
    estimate = ppi.crowd_scale({"whole": (list(zip(crowd, crowd[::-1], strict=True)), [])}).good
    assert estimate.estimate[0] == 0.5 and estimate.judge_only == 0


def test_fewer_than_two_crowd_ratings_in_a_stratum_is_an_error():
    with pytest.raises(ValueError, match="2 or more crowd ratings in each stratum"):
        ppi.crowd_scale({"e": ([(Rating.GOOD, Rating.GOOD)], [Rating.GOOD] * 10)})
