"""Prediction-powered inference: the crowd's Bad/Okay/Good shares of a model's answers, from
a judge's ratings of every case and the crowd's ratings of a random subset of them.

PPI (Angelopoulos, Bates, Fannjiang, Jordan and Zrnic, Science 2023) with PPI++'s power
tuning (Angelopoulos, Duchi and Zrnic, 2023), for a mean. With ``Y`` the crowd's rating and
``f`` the judge's, both as one-hot vectors, on the ``n`` cases the crowd rated, and ``f`` alone
on the ``N`` others:

    estimate = lam * mean(f, the N) + mean(Y - lam * f, the n)
    variance = lam^2 var(f, all the cases) / N + var(Y - lam * f, the n) / n

within each stratum (an emotion), sample variances; the strata weighted by their shares of
the cases.
The judge's mean on the many cases carries the estimate; the crowd's ratings correct its bias
(the rectifier), so the estimate is unbiased whatever the judge. ``lam`` is chosen from the
data to minimise the variance (0 is the crowd alone, 1 plain PPI), clipped to [0, 1]; the
interval is the normal one. The crowd's subset must be a random sample of each stratum's
cases (the crowd export draws it), and its ratings are taken as independent: a rater's ten
are not yet clustered, which makes the interval optimistic where raters differ in leniency.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

from pytest_empathy.ratings import Rating

METHOD = (
    "prediction-powered inference (Angelopoulos et al. 2023) with PPI++ power tuning: the judge's "
    "ratings of every case, corrected by the crowd's ratings of a random subset; normal intervals"
)


@dataclass(frozen=True)
class Estimate:
    """A prediction-powered mean: the estimate, its standard error and interval per coordinate,
    the tuning ``lam``, and the effective sample size: how many crowd ratings alone would give
    the same standard error (per coordinate)."""

    estimate: tuple[float, ...]
    standard_error: tuple[float, ...]
    interval: tuple[tuple[float, float], ...]
    lam: float
    crowd: int
    judge_only: int
    effective_crowd: tuple[float, ...]


@dataclass(frozen=True)
class Stratum:
    """One stratum's ratings (an emotion's, where the crowd's subset was drawn per emotion):
    the crowd's and the judge's on the cases the crowd rated (n x d), the judge's on the others
    (N x d)."""

    crowd: np.ndarray
    judged: np.ndarray
    judged_only: np.ndarray

    @property
    def size(self) -> int:
        return len(self.crowd) + len(self.judged_only)

    def judge_variance(self) -> np.ndarray:
        """The judge's variance over all the stratum's cases (ddof 1): the judge rated them all,
        and a stratum may leave the crowd one case only."""
        return np.asarray(np.concatenate([self.judged, self.judged_only]).var(0, ddof=1))


def stratified(strata: Sequence[Stratum], *, confidence: float = 0.95, lam: float | None = None) -> Estimate:
    """The mean over all cases of the strata, each stratum weighted by its share of the cases:
    within a stratum the crowd's subset is a random sample, across strata it need not be in
    proportion. ``lam`` None tunes it, common to the strata, to the smallest variance."""
    for stratum in strata:
        if len(stratum.crowd) < 2:
            raise ValueError(
                f"prediction-powered inference needs 2 or more crowd ratings in each stratum, not {len(stratum.crowd)}"
            )
    total = sum(s.size for s in strata)
    weights = [s.size / total for s in strata]
    if lam is None:
        lam = _tuned(strata, weights)
    pairs = list(zip(strata, weights, strict=True))
    estimate = np.sum([w * _stratum_mean(s, lam) for s, w in pairs], axis=0)
    variance = np.sum([w**2 * _stratum_variance(s, lam) for s, w in pairs], axis=0)
    crowd_alone = np.sum([w**2 * s.crowd.var(0, ddof=1) / len(s.crowd) for s, w in pairs], axis=0)
    se = np.sqrt(variance)
    z = float(norm.ppf(0.5 + confidence / 2))
    crowd = sum(len(s.crowd) for s in strata)
    effective = np.divide(crowd * crowd_alone, variance, out=np.full_like(variance, float(crowd)), where=variance > 0)
    return Estimate(
        estimate=tuple(float(v) for v in estimate),
        standard_error=tuple(float(v) for v in se),
        interval=tuple((float(e - z * d), float(e + z * d)) for e, d in zip(estimate, se, strict=True)),
        lam=lam,
        crowd=crowd,
        judge_only=total - crowd,
        effective_crowd=tuple(float(v) for v in effective),
    )


def _stratum_mean(s: Stratum, lam: float) -> np.ndarray:
    if not len(s.judged_only):
        return np.asarray(s.crowd.mean(0))  # the crowd rated every case of it
    return np.asarray(lam * s.judged_only.mean(0) + (s.crowd - lam * s.judged).mean(0))


def _stratum_variance(s: Stratum, lam: float) -> np.ndarray:
    # Sample variances (ddof 1): a stratum may hold 10 crowd ratings, where ppi-python's
    # population variance (ddof 0) would understate the error by a tenth (coverage 93.7%
    # for 95% in the simulation of tests/test_ppi.py).
    if not len(s.judged_only):
        return np.asarray(s.crowd.var(0, ddof=1) / len(s.crowd))
    return np.asarray(
        lam**2 * s.judge_variance() / len(s.judged_only) + (s.crowd - lam * s.judged).var(0, ddof=1) / len(s.crowd)
    )


def _tuned(strata: Sequence[Stratum], weights: Sequence[float]) -> float:
    """The lam that minimises the total variance over the coordinates: the weighted
    covariance of the crowd with the judge over the weighted variance the judge brings."""
    covariance = judge_variance = 0.0
    for s, w in zip(strata, weights, strict=True):
        if not len(s.judged_only):
            continue
        n = len(s.crowd)
        y_centred, f_centred = s.crowd - s.crowd.mean(0), s.judged - s.judged.mean(0)
        # The variance's own estimates (ddof 1), so that lam minimises what is reported.
        covariance += w**2 * float(np.trace(y_centred.T @ f_centred)) / (n - 1) / n
        judge_variance += w**2 * (
            float(s.judge_variance().sum()) / len(s.judged_only) + float(s.judged.var(0, ddof=1).sum()) / n
        )
    if judge_variance == 0:
        return 0.0
    return float(np.clip(covariance / judge_variance, 0.0, 1.0))


def one_hot(ratings: Sequence[Rating]) -> np.ndarray:
    """Bad/Okay/Good as rows of a 0/1 matrix."""
    matrix = np.zeros((len(ratings), 3))
    matrix[np.arange(len(ratings)), [int(r) - 1 for r in ratings]] = 1.0
    return matrix


@dataclass(frozen=True)
class CrowdScale:
    """The crowd's shares of a model's answers, estimated by prediction-powered inference:
    the Bad/Okay/Good shares (tuned together) and the Good rate (tuned alone, for the gates)."""

    shares: Estimate
    good: Estimate


def crowd_scale(
    strata: Mapping[str, tuple[Sequence[tuple[Rating, Rating]], Sequence[Rating]]], *, confidence: float = 0.95
) -> CrowdScale:
    """``strata`` maps each stratum (emotion) to the (crowd, judge) ratings of the cases the
    crowd rated, and the judge's ratings of the others."""
    good = Rating.GOOD.value - 1
    shares, goods = [], []
    for pairs, judge_only in strata.values():
        y, f, f_only = one_hot([c for c, _ in pairs]), one_hot([j for _, j in pairs]), one_hot(judge_only)
        shares.append(Stratum(y, f, f_only))
        goods.append(Stratum(y[:, [good]], f[:, [good]], f_only[:, [good]]))
    return CrowdScale(shares=stratified(shares, confidence=confidence), good=stratified(goods, confidence=confidence))


@dataclass(frozen=True)
class RunEstimate:
    """A run's prediction-powered estimate, or why there is none; and how many of the crowd's
    ratings were of cases the run did not rate."""

    scale: CrowdScale | None
    not_estimated: str | None
    outside_run: int
    confidence: float


def for_run(
    cases: Iterable[tuple[str, str, Rating]], crowd: Mapping[str, Rating], *, confidence: float = 0.95
) -> RunEstimate:
    """``cases`` are the run's (case id, emotion, judge's rating); ``crowd`` the crowd's
    ratings by case id. Each emotion is a stratum, as the crowd's sample was drawn."""
    strata: dict[str, tuple[list[tuple[Rating, Rating]], list[Rating]]] = {}
    seen = set()
    for case_id, emotion, rating in cases:
        pairs, judge_only = strata.setdefault(emotion, ([], []))
        if case_id in crowd:
            pairs.append((crowd[case_id], rating))
            seen.add(case_id)
        else:
            judge_only.append(rating)
    outside = len(crowd.keys() - seen)
    short = sorted(emotion for emotion, (pairs, _) in strata.items() if len(pairs) < 2)
    if short:
        return RunEstimate(
            None,
            f"the crowd rated fewer than 2 of the run's cases of {len(short)} emotion(s) ({', '.join(short[:5])}"
            f"{', ...' if len(short) > 5 else ''}); each emotion needs 2",
            outside,
            confidence,
        )
    return RunEstimate(crowd_scale(strata, confidence=confidence), None, outside, confidence)


def not_estimated(why: str) -> RunEstimate:
    return RunEstimate(None, why, 0, 0.95)
