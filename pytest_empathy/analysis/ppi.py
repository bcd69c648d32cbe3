"""Prediction-powered inference: the crowd's Bad/Okay/Good shares of a model's answers, from
a judge's ratings of every case and the crowd's ratings of a random subset of them; and the
crowd-scale Good rate against the human baseline's, for the gates.

See docs/explanation/statistics.md, "Prediction-powered inference".
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import t as student_t

from pytest_empathy.ratings import Counts, Rating

from .clusters import FEW_RATERS
from .groups import RatedCase

METHOD = (
    "prediction-powered inference (Angelopoulos et al. 2023) with PPI++ power tuning, by emotion: the judge's "
    "ratings of every case corrected by the crowd's ratings of a random sample of each emotion's cases; variance "
    "by the delete-one-rater jackknife (lam tuned again in each replicate) plus the judge-only means'; t intervals "
    "with raters - 1 degrees of freedom; the Good rate a fresh crowd from the same raters would give answers like "
    "these, in the run's mix of emotions"
)
DIFFERENCE_METHOD = (
    "prediction-powered Good rate minus the baseline's over the same emotion mix; variance: the model side's "
    "(clustered by crowd rater) plus the baseline's (clustered by its raters, or from its counts taken as "
    "independent ratings) less twice "
    "their covariance over shared prompts; one-sided t test with the fewer side's raters less one degrees of "
    "freedom; relative gain by the delta method on the log ratio. The two crowds are taken as interchangeable"
)
GOOD = Rating.GOOD.value - 1


@dataclass(frozen=True)
class Estimate:
    """A prediction-powered mean: the estimate, its standard error and interval per coordinate,
    the tuning ``lam``, how many raters gave the crowd's ratings (the variance's clusters), and
    the effective sample size: how many crowd ratings, drawn as these were, alone would give
    the same standard error (per coordinate)."""

    estimate: tuple[float, ...]
    standard_error: tuple[float, ...]
    interval: tuple[tuple[float, float], ...]
    lam: float
    crowd: int
    judge_only: int
    effective_crowd: tuple[float, ...]
    raters: int


@dataclass(frozen=True)
class Stratum:
    """One stratum's ratings (an emotion's, where the crowd's subset was drawn per emotion):
    the crowd's and the judge's on the cases the crowd rated (n x d), the judge's on the others
    (N x d), and who gave each crowd rating (None: every rating by a rater of its own)."""

    crowd: np.ndarray
    judged: np.ndarray
    judged_only: np.ndarray
    raters: tuple[str, ...] | None = None

    @property
    def size(self) -> int:
        return len(self.crowd) + len(self.judged_only)

    def judge_variance(self) -> np.ndarray:
        """The judge's variance over all the stratum's cases (ddof 1): the judge rated them all,
        and a stratum may leave the crowd one case only."""
        return np.asarray(np.concatenate([self.judged, self.judged_only]).var(0, ddof=1))

    def mean(self, lam: float) -> np.ndarray:
        if not len(self.judged_only):
            return np.asarray(self.crowd.mean(0))  # the crowd rated every case of it
        return np.asarray(lam * self.judged_only.mean(0) + (self.crowd - lam * self.judged).mean(0))


def stratified(
    strata: Sequence[Stratum],
    *,
    confidence: float = 0.95,
    lam: float | None = None,
    tuning: Sequence[Stratum] | None = None,
) -> Estimate:
    """The mean over all cases of the strata, each stratum weighted by its share of the cases:
    within a stratum the crowd's subset is a random sample, across strata it need not be in
    proportion. ``lam`` None tunes it, common to the strata, to the smallest variance: on
    ``tuning`` when given (strata of the same ratings, as the Good rate's are of the shares')."""
    for stratum in strata:
        if len(stratum.crowd) < 2:
            raise ValueError(
                f"prediction-powered inference needs 2 or more crowd ratings in each stratum, not {len(stratum.crowd)}"
            )
    weights = np.array(_weights(strata))
    replicates = _Replicates.of(strata, weights)
    # The tuning is part of the estimate: each replicate tunes its own.
    lams = replicates.tuned() if tuning is None else _Replicates.of(tuning, weights).tuned()
    if lam is not None:
        lams = np.full_like(lams, lam)
    estimates = replicates.estimates(lams)
    variance = _jackknife(estimates[1:]) + lams[0] ** 2 * replicates.judge
    alone = _jackknife(replicates.estimates(np.zeros_like(lams))[1:])
    se = np.sqrt(variance)
    raters = replicates.raters
    quantile = float(student_t.ppf(0.5 + confidence / 2, raters - 1))
    crowd = sum(len(s.crowd) for s in strata)
    effective = np.divide(crowd * alone, variance, out=np.full_like(variance, float(crowd)), where=variance > 0)
    return Estimate(
        estimate=tuple(float(v) for v in estimates[0]),
        standard_error=tuple(float(v) for v in se),
        # Shares: an interval reaching past 0 or 1 says no more than one that stops there.
        interval=tuple(
            (max(0.0, float(e - quantile * d)), min(1.0, float(e + quantile * d)))
            for e, d in zip(estimates[0], se, strict=True)
        ),
        lam=float(lams[0]),
        crowd=crowd,
        judge_only=sum(s.size for s in strata) - crowd,
        effective_crowd=tuple(float(v) for v in effective),
        raters=raters,
    )


def _weights(strata: Sequence[Stratum]) -> list[float]:
    total = sum(s.size for s in strata)
    return [s.size / total for s in strata]


def _jackknife(replicates: np.ndarray) -> np.ndarray:
    """The delete-one-group jackknife variance from the estimates without each group."""
    groups = len(replicates)
    return np.asarray((groups - 1) / groups * ((replicates - replicates.mean(0)) ** 2).sum(0))


@dataclass(frozen=True)
class _Replicates:
    """A stratified PPI estimate with all the raters (row 0) and without each rater in turn
    (rows 1 to G), for the delete-one-rater jackknife: the crowd's and the judge's ratings on
    the crowd-rated cases summed by rater and stratum (G x S x d), their counts (G x S); the
    judge's means on the judge-only cases (S x d), whether a stratum has any (S), the stratum
    weights (S), and the variance the judge-only means bring at lam 1 (d), which deleting a
    rater leaves alone."""

    crowd: np.ndarray
    judged: np.ndarray
    counts: np.ndarray
    judged_only: np.ndarray
    has_judged_only: np.ndarray
    weights: np.ndarray
    judge: np.ndarray

    @classmethod
    def of(cls, strata: Sequence[Stratum], weights: np.ndarray) -> _Replicates:
        labels = [
            list(s.raters) if s.raters is not None else [(index, row) for row in range(len(s.crowd))]
            for index, s in enumerate(strata)
        ]
        flat, raters = _clusters([label for stratum in labels for label in stratum])
        if raters < 2:
            raise ValueError("prediction-powered inference needs the ratings of 2 or more raters")
        starts = np.cumsum([0] + [len(stratum) for stratum in labels])
        width = strata[0].crowd.shape[1]
        crowd, judged = np.zeros((raters, len(strata), width)), np.zeros((raters, len(strata), width))
        counts = np.zeros((raters, len(strata)))
        judge = np.zeros(width)
        for k, s in enumerate(strata):
            where = flat[starts[k] : starts[k + 1]]
            np.add.at(crowd[:, k], where, s.crowd)
            np.add.at(judged[:, k], where, s.judged)
            np.add.at(counts[:, k], where, 1.0)
            if len(s.judged_only):
                judge += weights[k] ** 2 * s.judge_variance() / len(s.judged_only)
        if (counts == counts.sum(0)).any():
            raise ValueError("a rater gave every crowd rating of a stratum; each stratum needs 2 or more raters")
        has = np.array([len(s.judged_only) > 0 for s in strata])
        only = np.array([s.judged_only.mean(0) if len(s.judged_only) else np.zeros(width) for s in strata])
        return cls(crowd, judged, counts, only, has, weights, judge)

    @property
    def raters(self) -> int:
        return len(self.counts)

    def _kept(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per replicate and stratum: the crowd-rated cases kept, the crowd's mean and the
        judge's on them ((G + 1) x S, and x d)."""

        def without_each(sums: np.ndarray) -> np.ndarray:
            """The total, then the total less each rater's sum."""
            return np.asarray(sums.sum(0) - np.concatenate([np.zeros((1, *sums.shape[1:])), sums]))

        kept = without_each(self.counts)
        return kept, without_each(self.crowd) / kept[..., None], without_each(self.judged) / kept[..., None]

    def estimates(self, lams: np.ndarray) -> np.ndarray:
        """Each replicate's estimate ((G + 1) x d) at its lam."""
        _, crowd, judged = self._kept()
        lam = lams[:, None, None] * self.has_judged_only[None, :, None]
        return np.asarray(np.einsum("s,rsd->rd", self.weights, crowd + lam * (self.judged_only[None] - judged)))

    def tuned(self) -> np.ndarray:
        """Each replicate's lam, minimising the variance summed over the coordinates as a
        sandwich over its raters estimates it: lam^2 J + K/(K - 1) sum over raters (A - lam B)^2,
        with A and B a rater's ratings, crowd's and judge's, centred within each stratum, scaled
        to the stratum's weight over its count and by sqrt(n/(n - 1)) as a sample variance is."""
        kept, crowd, judged = self._kept()
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(kept > 1, self.weights / kept * np.sqrt(kept / (kept - 1)), 0.0)
        # (replicate, rater, d): a rater's sums less their count times the replicate's mean,
        # scaled and summed over the strata.
        a = np.einsum("rs,gsd->rgd", scale, self.crowd) - np.einsum("rs,gs,rsd->rgd", scale, self.counts, crowd)
        judging = scale * self.has_judged_only  # a stratum the crowd rated whole has no judge in it
        b = np.einsum("rs,gsd->rgd", judging, self.judged) - np.einsum("rs,gs,rsd->rgd", judging, self.counts, judged)
        present = np.ones((self.raters + 1, self.raters))
        present[np.arange(1, self.raters + 1), np.arange(self.raters)] = 0.0  # the rater left out
        a, b = a * present[..., None], b * present[..., None]
        clusters = present.sum(1)
        factor = clusters / (clusters - 1)
        cross = factor * np.einsum("rgd,rgd->r", a, b)
        judge = self.judge.sum() + factor * np.einsum("rgd,rgd->r", b, b)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(judge > 0, np.clip(cross / judge, 0.0, 1.0), 0.0)


def _scaled(values: np.ndarray, weight: float) -> np.ndarray:
    """A stratum's centred values as contributions to its weighted mean, scaled so that their
    squares sum to the sample variance (ddof 1) of that mean."""
    n = len(values)
    if n < 2:
        return np.zeros_like(values)  # one case: no spread to estimate
    return np.asarray(weight / n * math.sqrt(n / (n - 1)) * (values - values.mean(0)))


def _clusters(labels: Sequence[Hashable]) -> tuple[list[int], int]:
    """Each label's cluster number, in order of first appearance, and how many there are."""
    index: dict[Hashable, int] = {}
    return [index.setdefault(label, len(index)) for label in labels], len(index)


def _by_cluster(rows: np.ndarray, labels: Sequence[Hashable]) -> np.ndarray:
    """The rows summed by label, one row per label."""
    positions, count = _clusters(labels)
    sums = np.zeros((count, *rows.shape[1:]))
    np.add.at(sums, positions, rows)
    return sums


def one_hot(ratings: Sequence[Rating]) -> np.ndarray:
    """Bad/Okay/Good as rows of a 0/1 matrix."""
    matrix = np.zeros((len(ratings), 3))
    matrix[np.arange(len(ratings)), [int(r) - 1 for r in ratings]] = 1.0
    return matrix


# A stratum's ratings as the callers hold them: (crowd rating, judge rating, rater or None)
# of the cases the crowd rated, and the judge's ratings of the others.
StratumRatings = tuple[Sequence[tuple[Rating, Rating, str | None]], Sequence[Rating]]


@dataclass(frozen=True)
class CrowdScale:
    """The crowd's shares of a model's answers, estimated by prediction-powered inference:
    the Good rate, with lam tuned for it (it decides the gates), and the Bad/Okay/Good shares
    with the same lam, so that their Good share is the Good rate."""

    shares: Estimate
    good: Estimate


def crowd_scale(strata: Mapping[str, StratumRatings], *, confidence: float = 0.95) -> CrowdScale:
    """``strata`` maps each stratum (emotion) to its ratings (see ``StratumRatings``)."""
    shares = [_stratum(rated, judged_only) for rated, judged_only in strata.values()]
    goods = [_good(s) for s in shares]
    good = stratified(goods, confidence=confidence)
    return CrowdScale(shares=stratified(shares, confidence=confidence, tuning=goods), good=good)


def _stratum(rated: Sequence[tuple[Rating, Rating, str | None]], judged_only: Sequence[Rating]) -> Stratum:
    raters = [rater for _, _, rater in rated]
    return Stratum(
        one_hot([crowd for crowd, _, _ in rated]),
        one_hot([judge for _, judge, _ in rated]),
        one_hot(judged_only),
        None if any(rater is None for rater in raters) else tuple(str(r) for r in raters),
    )


@dataclass(frozen=True)
class Difference:
    """The model's crowd-scale Good rate (prediction-powered) against the baseline's over the
    same emotion mix: the difference and its standard error, the relative gain and the standard
    error of its logarithm (None when a side has no Good rating), and the t distribution's
    degrees of freedom."""

    model: float
    baseline: float
    standard_error: float
    degrees_of_freedom: int
    gain: float | None
    log_gain_standard_error: float | None
    # The baseline's raters (clusters), None when it names none; whether it rated the same cases.
    baseline_raters: int | None
    paired: bool

    @property
    def difference(self) -> float:
        return self.model - self.baseline

    def quantile(self, alpha: float) -> float:
        return float(student_t.ppf(1 - alpha, self.degrees_of_freedom))

    def p_greater(self, margin: float = 0.0) -> float:
        """One-sided p of the hypothesis that the difference is at most ``-margin``."""
        return float(student_t.sf((self.difference + margin) / self.standard_error, self.degrees_of_freedom))

    def interval(self, alpha: float) -> tuple[float, float]:
        """The two-sided 1 - 2 alpha interval, whose lower end is the one-sided test at alpha."""
        half = self.quantile(alpha) * self.standard_error
        return self.difference - half, self.difference + half

    def gain_lower_bound(self, alpha: float) -> float | None:
        if self.gain is None or self.log_gain_standard_error is None:
            return None
        return math.exp(math.log1p(self.gain) - self.quantile(alpha) * self.log_gain_standard_error) - 1


def versus_baseline(
    strata: Mapping[str, StratumRatings],
    baseline: Mapping[str, Sequence[tuple[Rating, str | None]]],
    good: Estimate,
    *,
    paired: bool,
) -> Difference:
    """The model's prediction-powered Good rate ``good`` (of ``strata``) against the baseline's.
    ``baseline`` gives, per stratum, the baseline's ratings, each with its rater (or None, its
    own). ``paired``: they are of the same cases, in the order of the stratum's crowd-rated
    cases then its judge-only ones, and the two sides' covariance over the shared prompts is
    taken out; else they are of other prompts, independent of the model's side."""
    goods = [_good(_stratum(rated, judged_only)) for rated, judged_only in strata.values()]
    weights = _weights(goods)
    model, model_variance, lam = good.estimate[0], good.standard_error[0] ** 2, good.lam
    base = _BaselineGoodRate.of(strata, baseline, goods, weights, paired=paired)
    covariance = float(np.dot(_case_contributions(goods, weights, lam), base.contributions)) if paired else 0.0
    variance = model_variance + base.variance - 2 * covariance
    if variance <= 0:
        raise ValueError("the difference has no variance to test it by")
    return Difference(
        model=model,
        baseline=base.rate,
        standard_error=math.sqrt(variance),
        degrees_of_freedom=min(good.raters, base.clusters) - 1,
        gain=model / base.rate - 1 if base.rate > 0 else None,
        log_gain_standard_error=_log_gain_standard_error(model, model_variance, base, covariance),
        baseline_raters=base.clusters if base.named else None,
        paired=paired,
    )


@dataclass(frozen=True)
class _BaselineGoodRate:
    """The baseline's Good rate over the model's emotion mix, its variance clustered by its
    raters (each unnamed rating a cluster of its own), how many clusters, whether it names
    raters, and each rating's centred contribution to the rate (for the paired covariance)."""

    rate: float
    variance: float
    clusters: int
    named: bool
    contributions: np.ndarray

    @classmethod
    def of(
        cls,
        strata: Mapping[str, StratumRatings],
        baseline: Mapping[str, Sequence[tuple[Rating, str | None]]],
        goods: Sequence[Stratum],
        weights: Sequence[float],
        *,
        paired: bool,
    ) -> _BaselineGoodRate:
        sides = _baseline_goods(strata, baseline, goods, paired=paired)
        labels: list[Hashable] = [
            rater if rater is not None else (e, row) for e in strata for row, (_, rater) in enumerate(baseline[e])
        ]
        parts = np.concatenate([_scaled(side, w) for side, w in zip(sides, weights, strict=True)])
        by_rater = _by_cluster(parts, labels)
        clusters = len(by_rater)
        named = {rater for ratings in baseline.values() for _, rater in ratings} - {None}
        if named and len(named) < FEW_RATERS:
            raise ValueError(
                f"the baseline's ratings come from fewer than {FEW_RATERS} raters, too few for its variance"
            )
        rate = float(sum(w * side.mean() for side, w in zip(sides, weights, strict=True)))
        variance = clusters / (clusters - 1) * float((by_rater**2).sum())
        return cls(rate, variance, clusters, bool(named), parts[:, 0])


def _baseline_goods(
    strata: Mapping[str, StratumRatings],
    baseline: Mapping[str, Sequence[tuple[Rating, str | None]]],
    goods: Sequence[Stratum],
    *,
    paired: bool,
) -> list[np.ndarray]:
    """Per stratum, the baseline's ratings as a column of 0/1 (Good), checked to carry a variance."""
    sides = [np.array([[float(rating is Rating.GOOD)] for rating, _ in baseline[e]]) for e in strata]
    short = [e for e, side in zip(strata, sides, strict=True) if len(side) < 2]
    if short:
        raise ValueError(f"the baseline has fewer than 2 ratings of {short[0]}")
    if paired and any(len(side) != s.size for side, s in zip(sides, goods, strict=True)):
        raise ValueError("a paired baseline rates each case once")
    values = np.concatenate(sides)
    if values.min() == values.max():
        # Its variance would be 0, as if a rate of 0 or 1 among a few hundred were certain.
        raise ValueError("the baseline's ratings are all Good or none is: its Good rate's variance cannot be estimated")
    return sides


def _log_gain_standard_error(
    model: float, model_variance: float, base: _BaselineGoodRate, covariance: float
) -> float | None:
    """The standard error of the log of the model's Good rate over the baseline's, by the delta
    method; None when a side has no Good rating or the variance vanishes."""
    if model <= 0 or base.rate <= 0:
        return None
    log_variance = model_variance / model**2 + base.variance / base.rate**2 - 2 * covariance / (model * base.rate)
    return math.sqrt(log_variance) if log_variance > 0 else None


def _good(s: Stratum) -> Stratum:
    return Stratum(s.crowd[:, [GOOD]], s.judged[:, [GOOD]], s.judged_only[:, [GOOD]], s.raters)


def _case_contributions(strata: Sequence[Stratum], weights: Sequence[float], lam: float) -> np.ndarray:
    """Each case's contribution to the model's Good rate (crowd-rated cases, then judge-only
    ones, per stratum), for its covariance with the baseline's rating of the same prompt."""
    found = []
    for s, w in zip(strata, weights, strict=True):
        if len(s.judged_only):
            found += [(_scaled(s.crowd, w) - lam * _scaled(s.judged, w))[:, 0], lam * _scaled(s.judged_only, w)[:, 0]]
        else:
            found.append(_scaled(s.crowd, w)[:, 0])
    return np.concatenate(found)


@dataclass(frozen=True)
class RunEstimate:
    """A run's prediction-powered estimate, or why there is none; its comparison with the
    baseline, or why there is none; and how many of the crowd's ratings were of cases the run
    did not rate."""

    scale: CrowdScale | None
    not_estimated: str | None
    outside_run: int
    confidence: float
    versus: Difference | None = None
    versus_not_estimated: str | None = None


def for_run(
    cases: Iterable[RatedCase],
    crowd: Mapping[str, tuple[Rating, str]],
    *,
    per_emotion_baseline: Mapping[str, Counts] | None,
    not_comparable: str | None = None,
    confidence: float = 0.95,
) -> RunEstimate:
    """``cases`` are the run's rated cases (the judge's ratings); ``crowd`` the crowd's ratings
    and raters by case id. Each emotion is a stratum, as the crowd's sample was drawn. The
    baseline is its counts per emotion, or each case's baseline rating; ``not_comparable`` says
    why it cannot be compared on the crowd's scale (when its ratings are not a crowd's)."""
    run = _CrowdRated.of(cases, crowd)
    outside = len(crowd.keys() - run.seen)
    why = run.not_estimable(crowd)
    if why is not None:
        return RunEstimate(None, why, outside, confidence)
    try:
        scale = crowd_scale(run.strata, confidence=confidence)
    except ValueError as error:
        return RunEstimate(None, str(error), outside, confidence)
    if not_comparable is not None:
        return RunEstimate(scale, None, outside, confidence, None, not_comparable)
    try:
        sides = run.baseline(per_emotion_baseline)
        versus = versus_baseline(run.strata, sides, scale.good, paired=per_emotion_baseline is None)
    except ValueError as error:
        return RunEstimate(scale, None, outside, confidence, None, str(error))
    return RunEstimate(scale, None, outside, confidence, versus, None)


@dataclass(frozen=True)
class _CrowdRated:
    """A run's rated cases split by emotion into those the crowd rated (first) and the judge's
    alone, as PPI's strata, and the ids of the cases the crowd rated."""

    strata: dict[str, tuple[list[tuple[Rating, Rating, str | None]], list[Rating]]]
    rated_first: dict[str, list[RatedCase]]
    judged_only: dict[str, list[RatedCase]]
    seen: set[str]

    @classmethod
    def of(cls, cases: Iterable[RatedCase], crowd: Mapping[str, tuple[Rating, str]]) -> _CrowdRated:
        run = cls({}, {}, {}, set())
        for case in sorted(cases, key=lambda c: c.case_id):
            pairs, only = run.strata.setdefault(case.emotion, ([], []))
            if case.case_id in crowd:
                rating, rater = crowd[case.case_id]
                pairs.append((rating, case.rating, rater))
                run.rated_first.setdefault(case.emotion, []).append(case)
                run.seen.add(case.case_id)
            else:
                only.append(case.rating)
                run.judged_only.setdefault(case.emotion, []).append(case)
        return run

    def not_estimable(self, crowd: Mapping[str, tuple[Rating, str]]) -> str | None:
        """Why the crowd's ratings of the run's cases cannot carry an estimate, or None."""
        short = sorted(emotion for emotion, (pairs, _) in self.strata.items() if len(pairs) < 2)
        if short:
            return f"the crowd rated fewer than 2 of the run's cases of {_named(short)}; each emotion needs 2"
        alone = sorted(
            emotion for emotion, (pairs, _) in self.strata.items() if len({rater for *_, rater in pairs}) < 2
        )
        if alone:
            return (
                f"one rater gave every crowd rating of {_named(alone)}; each emotion needs ratings by 2 or more "
                "raters (crowd export's default sheets deal an emotion's answers to different batches)"
            )
        raters = len({crowd[case_id][1] for case_id in self.seen})
        if raters < FEW_RATERS:
            return (
                f"the crowd's {len(self.seen)} ratings of the run's cases come from {raters} raters; a variance "
                f"clustered by rater needs {FEW_RATERS} or more"
            )
        return None

    def baseline(self, per_emotion_baseline: Mapping[str, Counts] | None) -> dict[str, list[tuple[Rating, str | None]]]:
        """The baseline's ratings and raters per stratum: each case's, in the strata's order of
        cases, or its counts per emotion as ratings of raters of their own."""
        if per_emotion_baseline is None:
            return {
                e: [(_baseline_rating(c), c.baseline_rater) for c in self.rated_first[e] + self.judged_only.get(e, [])]
                for e in self.strata
            }
        return {e: [(r, None) for r in _expanded(per_emotion_baseline[e])] for e in self.strata}


def _named(emotions: Sequence[str]) -> str:
    return f"{len(emotions)} emotion(s) ({', '.join(emotions[:5])}{', ...' if len(emotions) > 5 else ''})"


def _baseline_rating(case: RatedCase) -> Rating:
    if case.baseline_rating is None:
        raise ValueError(f"case {case.case_id} has no baseline rating")
    return case.baseline_rating


def _expanded(counts: Counts) -> list[Rating]:
    return [Rating.BAD] * counts.bad + [Rating.OKAY] * counts.okay + [Rating.GOOD] * counts.good


def not_estimated(why: str) -> RunEstimate:
    return RunEstimate(None, why, 0, 0.95)
