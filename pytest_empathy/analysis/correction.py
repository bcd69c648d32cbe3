"""A judge's ratings put on the crowd's scale, through the judge's calibration: the maximum
likelihood crowd distribution under the judge's confusion matrix, bootstrap intervals, and a
test that the judge errs alike on human and LLM-written responses.

See docs/explanation/statistics.md, "A judge's ratings corrected to the crowd's scale".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from pytest_empathy.emotions import POLARITIES, POLARITY
from pytest_empathy.ratings import Counts, Rating

from .agreement import confusion_tables
from .groups import RatedCase
from .proportions import Interval

DRAWS = 2000
SEED = 20240607
# Below this smallest singular value of the row-normalized confusion matrix the judge's
# ratings are too close to independent of the crowd's for an inversion to mean anything.
MIN_SINGULAR = 0.1
# Halvings of an edge: to well below a double's precision.
_BISECTIONS = 60
METHOD = (
    "maximum likelihood inversion, on the simplex, of the judge's confusion matrix from its calibration; "
    f"percentile bootstrap over the calibration's prompts and the run's cases, {DRAWS} draws, seed {SEED}, a "
    "draw whose calibration cannot be inverted counted against both ends"
)
ASSUMPTION_TEST = (
    "permutation test of the judge's rating independent of the source (human or LLM) within each crowd "
    f"level: the sum of the levels' Pearson chi-square statistics, {DRAWS} permutations, seed {SEED}"
)

# (crowd, judge) scores of each prompt's response, by source: what a calibration file keeps.
Pairs = Mapping[str, Sequence[Sequence[int]]]


def errors(counts: np.ndarray) -> np.ndarray:
    """The judge's error rates: each crowd level's row of counts as shares (NaN for a level
    the calibration never saw)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        rates: np.ndarray = counts / counts.sum(axis=-1, keepdims=True)
    return rates


def smallest_singular_values(counts: np.ndarray) -> np.ndarray:
    """How far each (..., 3, 3) table's error matrix is from singular; NaN where the
    calibration never saw a crowd level, so its errors there are unknown."""
    rates = errors(counts)
    known = np.isfinite(rates).all(axis=(-2, -1))
    # The SVD needs finite entries: unknown tables are decomposed as zeros, then set aside.
    smallest = np.linalg.svd(np.nan_to_num(rates), compute_uv=False).min(axis=-1)
    values: np.ndarray = np.where(known, smallest, np.nan)
    return values


def invertible(counts: np.ndarray) -> np.ndarray:
    """Whether each table supports a correction: every crowd level seen, and the error matrix
    far enough from singular."""
    with np.errstate(invalid="ignore"):
        found: np.ndarray = smallest_singular_values(counts) >= MIN_SINGULAR
    return found


def crowd_shares(judged: np.ndarray, rates: np.ndarray) -> np.ndarray:
    """The crowd's Bad/Okay/Good shares that best explain ``judged`` counts (..., 3) through
    the judge's error ``rates`` (..., 3, 3), each far enough from singular (MIN_SINGULAR):
    maximum likelihood on the simplex.

    Where the plain inversion (the p with p M = the judged shares) is a distribution, it is
    the maximum: the judged shares are the multinomial's, and p M is one to one. Elsewhere,
    the log-likelihood being concave in p, the maximum lies on the simplex's boundary: the
    best of each edge's maximum, each found by bisection on the derivative along the edge."""
    judged = judged.astype(float)
    rates = np.broadcast_to(rates, (*judged.shape, 3))
    observed = judged / judged.sum(axis=-1, keepdims=True)
    shares: np.ndarray = np.linalg.solve(np.swapaxes(rates, -1, -2), observed[..., None])[..., 0]
    outside = (shares < 0).any(axis=-1)
    if outside.any():
        shares[outside] = _on_boundary(judged[outside], rates[outside])
    return shares


def _on_boundary(judged: np.ndarray, rates: np.ndarray) -> np.ndarray:
    """(k, 3) counts, (k, 3, 3) error rates -> (k, 3): the maximum over the simplex's edges."""
    best = np.zeros(judged.shape)
    best_fit = np.full(judged.shape[0], -np.inf)
    for a, b in ((0, 1), (0, 2), (1, 2)):
        low, high = np.zeros(judged.shape[0]), np.ones(judged.shape[0])
        along = rates[:, a, :] - rates[:, b, :]
        for _ in range(_BISECTIONS):
            t = (low + high) / 2
            slope = _sum_over_judged(judged, along, t[:, None] * along + rates[:, b, :])
            rising = slope > 0
            low, high = np.where(rising, t, low), np.where(rising, high, t)
        t = (low + high) / 2
        fit = _log_likelihood(judged, t[:, None] * along + rates[:, b, :])
        better = fit > best_fit
        candidate = np.zeros(judged.shape)
        candidate[:, a], candidate[:, b] = t, 1 - t
        best[better], best_fit[better] = candidate[better], fit[better]
    return best


def _sum_over_judged(judged: np.ndarray, along: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """The log-likelihood's derivative along an edge: sum_j n_j (M_aj - M_bj) / q_j."""
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(judged > 0, judged * along / predicted, 0.0)
    slope: np.ndarray = np.nan_to_num(terms.sum(axis=-1), nan=0.0)
    return slope


def _log_likelihood(judged: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        fit: np.ndarray = np.where(judged > 0, judged * np.log(predicted), 0.0).sum(axis=-1)
    return fit


@dataclass(frozen=True)
class Side:
    """One side of a comparison, as the correction reads it: the judge's ratings of cases
    (to be corrected), or the crowd's (taken as they are); or the crowd's counts per emotion,
    weighted by the model's emotion mix."""

    scores: np.ndarray | None = None  # (cases,) 1/2/3
    corrected: bool = True
    # (emotions, 3) crowd counts and each emotion's weight, for a baseline of counts.
    counts: np.ndarray | None = None
    weights: np.ndarray | None = None
    # Each model case's emotion (an index into counts), to resample cases within emotions.
    strata: np.ndarray | None = None


@dataclass(frozen=True)
class CrowdScale:
    """A group on the crowd's scale: shares Bad/Okay/Good of each side, the Good-rate
    difference and the relative Good gain with their intervals."""

    n: int
    model: tuple[float, float, float]
    baseline: tuple[float, float, float]
    baseline_corrected: bool
    difference: float
    difference_ci: Interval
    gain: float | None
    gain_ci: Interval
    model_good_ci: Interval
    confidence: float


@dataclass(frozen=True)
class CalibrationSample:
    """A calibration's pooled confusion counts, and those of each bootstrap draw over its
    prompts, with which draws can be inverted."""

    point: np.ndarray  # (3, 3)
    drawn: np.ndarray  # (DRAWS, 3, 3)
    valid: np.ndarray  # (DRAWS,) bool

    @classmethod
    def of(cls, pairs: Pairs) -> CalibrationSample:
        # (prompts, sources, 2)
        scores = np.stack([np.asarray(pairs[s], dtype=np.int64) for s in sorted(pairs)], axis=1)
        prompts = scores.shape[0]
        draws = np.random.default_rng(SEED).integers(0, prompts, size=(DRAWS, prompts))
        drawn = confusion_tables(scores[draws].reshape(DRAWS, -1, 2))
        return cls(confusion_tables(scores.reshape(1, -1, 2))[0], drawn, invertible(drawn))

    @property
    def smallest_singular_value(self) -> float | None:
        value = float(smallest_singular_values(self.point))
        return None if np.isnan(value) else value

    @property
    def unusable(self) -> str | None:
        """Why no correction can be given, if none can: the calibration must invert."""
        smallest = self.smallest_singular_value
        if smallest is None:
            return "the calibration never saw the crowd give one of the ratings: its errors there are unknown"
        if smallest < MIN_SINGULAR:
            return (
                f"the judge's error matrix is nearly singular (smallest singular value {smallest:.3f} < "
                f"{MIN_SINGULAR}): its ratings say too little about the crowd's to be inverted"
            )
        return None


def correct(
    cases: Sequence[RatedCase],
    calibration: CalibrationSample,
    *,
    baseline_judged: bool,
    per_emotion_baseline: Mapping[str, Counts] | None,
    confidence: float,
) -> dict[str, CrowdScale]:
    """The whole run and each polarity on the crowd's scale. The baseline is corrected when
    the judge rated it (``baseline_judged``), else it is the crowd's already: its ratings
    per case, or ``per_emotion_baseline`` weighted by the model's emotion mix."""
    found = {}
    groups = {"overall": POLARITIES, **{p: (p,) for p in POLARITIES}}
    for name, polarities in groups.items():
        chosen = [c for c in cases if POLARITY[c.emotion] in polarities]
        if not chosen:
            continue
        model = np.array([int(c.rating) for c in chosen])
        if per_emotion_baseline is None:
            baseline = Side(
                scores=np.array([int(_rated(c.baseline_rating)) for c in chosen]), corrected=baseline_judged
            )
        else:
            emotions = sorted({c.emotion for c in chosen})
            counts = np.array([per_emotion_baseline[e].as_tuple() for e in emotions], dtype=float)
            weights = np.array([sum(c.emotion == e for c in chosen) for e in emotions]) / len(chosen)
            # Cases are drawn within their emotion, so that the mix the weights stand for holds.
            strata = np.array([emotions.index(c.emotion) for c in chosen])
            baseline = Side(counts=counts, weights=weights, strata=strata)
        found[name] = on_crowd_scale(model, baseline, calibration, confidence=confidence)
    return found


def on_crowd_scale(
    model: np.ndarray, baseline: Side, calibration: CalibrationSample, *, confidence: float
) -> CrowdScale:
    """A group's model ratings (judged scores per case) and baseline on the crowd's scale.
    A baseline of scores per case is paired with the model's cases; counts per emotion are
    drawn on their own. A draw of the calibration that cannot be inverted has no estimate: it
    counts against both ends of every interval, so that leaving it out never narrows one."""
    assert calibration.unusable is None, calibration.unusable
    n = model.size
    cases = _resample(n, baseline.strata, np.random.default_rng(SEED + 1))
    rates = errors(calibration.point)
    valid = calibration.valid
    # Draws without an estimate are computed with the point's rates only to keep the arrays
    # whole; _interval sets them aside.
    drawn_rates = np.where(valid[:, None, None], errors(calibration.drawn), rates)

    def baseline_shares(indices: np.ndarray | None, m: np.ndarray, draw: np.random.Generator | None) -> np.ndarray:
        if baseline.scores is not None:
            counts = _counts(baseline.scores if indices is None else baseline.scores[indices])
            if not baseline.corrected:
                shares: np.ndarray = counts / counts.sum(axis=-1, keepdims=True)
                return shares
            return crowd_shares(counts, m)
        assert baseline.counts is not None and baseline.weights is not None
        counts = baseline.counts
        if draw is not None:
            counts = np.stack([draw.multinomial(int(c.sum()), c / c.sum(), size=DRAWS) for c in counts], axis=1)
        weighted: np.ndarray = np.einsum("e,...ek->...k", baseline.weights, counts / counts.sum(axis=-1, keepdims=True))
        return weighted

    model_point = crowd_shares(_counts(model), rates)
    baseline_point = baseline_shares(None, rates, None)
    model_drawn = crowd_shares(_counts(model[cases]), drawn_rates)
    baseline_drawn = baseline_shares(cases, drawn_rates, np.random.default_rng(SEED + 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        # A baseline without Good ratings in a draw makes the ratio infinite there (an
        # unbounded gain), or undefined when the model has none either.
        ratio = model_drawn[:, 2] / baseline_drawn[:, 2]
    ratio_ci = _interval(ratio, valid & ~np.isnan(ratio), confidence)
    return CrowdScale(
        n=n,
        model=_shares(model_point),
        baseline=_shares(baseline_point),
        baseline_corrected=baseline.scores is not None and baseline.corrected,
        difference=float(model_point[2] - baseline_point[2]),
        difference_ci=_interval(model_drawn[:, 2] - baseline_drawn[:, 2], valid, confidence),
        gain=None if baseline_point[2] == 0 else float(model_point[2] / baseline_point[2] - 1),
        gain_ci=Interval(ratio_ci.low - 1, ratio_ci.high - 1),
        model_good_ci=_interval(model_drawn[:, 2], valid, confidence),
        confidence=confidence,
    )


def _resample(n: int, strata: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    """(DRAWS, n) case indices drawn with replacement, within each stratum when given."""
    if strata is None:
        return rng.integers(0, n, size=(DRAWS, n))
    indices = np.empty((DRAWS, n), dtype=np.int64)
    for stratum in np.unique(strata):
        members = np.flatnonzero(strata == stratum)
        indices[:, members] = members[rng.integers(0, members.size, size=(DRAWS, members.size))]
    return indices


def _interval(values: np.ndarray, defined: np.ndarray, confidence: float) -> Interval:
    """The percentile interval of bootstrap ``values``, each draw without a defined value
    counted as -inf for the lower bound and +inf for the upper: an end that too many such
    draws reach is infinite (unbounded)."""
    tail = (1 - confidence) / 2
    low = np.quantile(np.where(defined, values, -np.inf), tail, method="inverted_cdf")
    high = np.quantile(np.where(defined, values, np.inf), 1 - tail, method="inverted_cdf")
    return Interval(float(low), float(high))


def _rated(rating: Rating | None) -> Rating:
    assert rating is not None, "a paired baseline rates every case"
    return rating


@dataclass(frozen=True)
class Correction:
    """A run's groups on the crowd's scale, with the test of the correction's assumption; or,
    without groups, why the calibration in force cannot correct."""

    groups: dict[str, CrowdScale]
    assumption: Assumption | None
    reason: str | None = None
    # How far the judge's error matrix is from singular, and the share of the calibration's
    # bootstrap draws that could not be inverted (counted against every interval).
    smallest_singular_value: float | None = None
    draws_not_inverted: float = 0.0


def correction_of(
    cases: Sequence[RatedCase],
    pairs: Pairs,
    human: str,
    *,
    baseline_judged: bool,
    per_emotion_baseline: Mapping[str, Counts] | None,
    confidence: float,
) -> Correction:
    """The correction of a run's judged ratings by the calibration's ``pairs``."""
    calibration = CalibrationSample.of(pairs)
    assumption = same_errors(pairs, human) if human in pairs and len(pairs) > 1 else None
    singular, not_inverted = calibration.smallest_singular_value, float(1 - calibration.valid.mean())
    reason = calibration.unusable
    if reason is not None:
        return Correction({}, assumption, reason, singular, not_inverted)
    groups = correct(
        cases,
        calibration,
        baseline_judged=baseline_judged,
        per_emotion_baseline=per_emotion_baseline,
        confidence=confidence,
    )
    return Correction(groups, assumption, None, singular, not_inverted)


@dataclass(frozen=True)
class Assumption:
    """Whether the judge errs alike on human and LLM-written responses."""

    statistic: float
    p_value: float
    # Rejected at alpha: the judge's errors differ by source. Not rejected is no proof that
    # they agree, and the run's own model was not part of the test.
    rejected: bool


def same_errors(pairs: Pairs, human: str, *, alpha: float = 0.05) -> Assumption:
    """The permutation test of ASSUMPTION_TEST on a calibration's pairs, at ``alpha``."""
    sources = sorted(pairs)
    scores = np.concatenate([np.asarray(pairs[s], dtype=np.int64) for s in sources])
    llm = np.concatenate([np.full(len(pairs[s]), s != human) for s in sources])
    statistic = _homogeneity(scores, llm[None])[0]
    rng = np.random.default_rng(SEED)
    permuted = np.tile(llm, (DRAWS, 1))
    for level in (1, 2, 3):
        at = np.flatnonzero(scores[:, 0] == level)
        permuted[:, at] = rng.permuted(permuted[:, at], axis=1)
    spread = _homogeneity(scores, permuted)
    p = float((1 + np.sum(spread >= statistic - 1e-9)) / (DRAWS + 1))
    return Assumption(float(statistic), p, p < alpha)


def _homogeneity(scores: np.ndarray, llm: np.ndarray) -> np.ndarray:
    """Per labelling (rows of ``llm``), the sum over crowd levels of the Pearson chi-square
    statistic of the 2 x 3 table source x judge rating (levels or columns without counts
    add nothing)."""
    total = np.zeros(llm.shape[0])
    for level in (1, 2, 3):
        at = scores[:, 0] == level
        judge = scores[at, 1]
        flags = llm[:, at]
        table = np.stack(
            [np.stack([((judge == j) & (flags == g)).sum(axis=1) for j in (1, 2, 3)], axis=1) for g in (False, True)],
            axis=1,
        ).astype(float)  # (labellings, 2, 3)
        n = table.sum(axis=(1, 2), keepdims=True)
        expected = table.sum(axis=2, keepdims=True) * table.sum(axis=1, keepdims=True) / np.where(n > 0, n, 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            cells = np.where(expected > 0, (table - expected) ** 2 / expected, 0.0)
        total += cells.sum(axis=(1, 2))
    return total


def _counts(scores: np.ndarray) -> np.ndarray:
    """(..., cases) scores -> (..., 3) counts."""
    return np.stack([(scores == level).sum(axis=-1) for level in (1, 2, 3)], axis=-1)


def _shares(values: np.ndarray) -> tuple[float, float, float]:
    return float(values[0]), float(values[1]), float(values[2])
