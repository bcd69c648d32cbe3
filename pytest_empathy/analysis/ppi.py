"""Prediction-powered inference: the crowd's Bad/Okay/Good shares of a model's answers, from
a judge's ratings of every case and the crowd's ratings of a random subset of them.

PPI (Angelopoulos, Bates, Fannjiang, Jordan and Zrnic, Science 2023) with PPI++'s power
tuning (Angelopoulos, Duchi and Zrnic, 2023), for a mean. With ``Y`` the crowd's rating and
``f`` the judge's, both as one-hot vectors, on the ``n`` cases the crowd rated, and ``f`` alone
on the ``N`` others:

    estimate = lam * mean(f, the N) + mean(Y - lam * f, the n)
    variance = lam^2 var(f, the N) / N + var(Y - lam * f, the n) / n

The judge's mean on the many cases carries the estimate; the crowd's ratings correct its bias
(the rectifier), so the estimate is unbiased whatever the judge. ``lam`` is chosen from the
data to minimise the variance (0 is the crowd alone, 1 plain PPI), clipped to [0, 1]; the
interval is the normal one. The crowd's subset must be a random sample of the cases (the
crowd export draws it), and its ratings are taken as independent (see the issue of raters).
"""

from __future__ import annotations

from collections.abc import Sequence
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


def mean(
    crowd: np.ndarray,
    judged: np.ndarray,
    judged_only: np.ndarray,
    *,
    confidence: float = 0.95,
    lam: float | None = None,
) -> Estimate:
    """The mean of ``crowd`` (n x d) estimated with the judge's ``judged`` (n x d, the same
    cases) and ``judged_only`` (N x d, cases the crowd did not rate); ``lam`` None tunes it."""
    y, f, f_only = (np.asarray(a, dtype=float).reshape(len(a), -1) for a in (crowd, judged, judged_only))
    n, big_n = len(y), len(f_only)
    if n < 2 or big_n < 2:
        raise ValueError(
            f"prediction-powered inference needs 2 or more cases of each kind (crowd {n}, judge only {big_n})"
        )
    if lam is None:
        lam = _tuned(y, f, f_only)
    estimate = lam * f_only.mean(0) + (y - lam * f).mean(0)
    # Population variances (ddof 0), as ppi-python computes them.
    variance = (lam * f_only).var(0) / big_n + (y - lam * f).var(0) / n
    se = np.sqrt(variance)
    z = float(norm.ppf(0.5 + confidence / 2))
    crowd_variance = y.var(0)
    effective = np.divide(crowd_variance, variance, out=np.full_like(variance, float(n)), where=variance > 0)
    return Estimate(
        estimate=tuple(float(v) for v in estimate),
        standard_error=tuple(float(v) for v in se),
        interval=tuple((float(e - z * s), float(e + z * s)) for e, s in zip(estimate, se, strict=True)),
        lam=lam,
        crowd=n,
        judge_only=big_n,
        effective_crowd=tuple(float(v) for v in effective),
    )


def _tuned(y: np.ndarray, f: np.ndarray, f_only: np.ndarray) -> float:
    """PPI++'s lam for the total variance over the coordinates: the crowd's covariance with the
    judge on the n cases over twice (1 + n / N) the judge's variance on all cases."""
    n, big_n = len(y), len(f_only)
    y_centred, f_centred = y - y.mean(0), f - f.mean(0)
    covariance = 2 * np.trace(y_centred.T @ f_centred) / n
    judge_variance = np.trace(np.atleast_2d(np.cov(np.concatenate([f, f_only]).T)))
    if judge_variance == 0:
        return 0.0
    return float(np.clip(covariance / (2 * (1 + n / big_n) * judge_variance), 0.0, 1.0))


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
    pairs: Sequence[tuple[Rating, Rating]], judge_only: Sequence[Rating], *, confidence: float = 0.95
) -> CrowdScale:
    """``pairs`` are (crowd, judge) ratings of the cases the crowd rated; ``judge_only`` the
    judge's ratings of the others."""
    y, f, f_only = one_hot([c for c, _ in pairs]), one_hot([j for _, j in pairs]), one_hot(judge_only)
    good = Rating.GOOD.value - 1
    return CrowdScale(
        shares=mean(y, f, f_only, confidence=confidence),
        good=mean(y[:, good], f[:, good], f_only[:, good], confidence=confidence),
    )
