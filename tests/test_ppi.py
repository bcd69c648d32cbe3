"""Prediction-powered estimates of the crowd's shares (analysis/ppi.py): equal to ppi-python's
for one stratum, and in a seeded simulation of a crowd subset drawn per emotion, valid where a
judge alone is biased and narrower than the crowd alone."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pytest
from scipy.stats import norm
from scipy.stats import t as student_t

from pytest_empathy.analysis import ppi
from pytest_empathy.corpus.named import open_corpus
from pytest_empathy.corpus.rows import Corpus
from pytest_empathy.crowd import sheets
from pytest_empathy.ratings import Counts, Rating

from .conftest import prose

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
        used = ours.lam
        assert ours.estimate == pytest.approx(np.ravel(ppi_py.ppi_mean_pointestimate(y_, f_, u_, lam=used)), abs=1e-12)
        low, high = ppi_py.ppi_mean_ci(y_, f_, u_, alpha=0.1, lam=used)
        widths = [i[1] - i[0] for i in ours.interval]
        if lam is None:
            # PPI++ tunes lam by an estimate of the same optimum, with population variances; the
            # jackknife tunes it again without each rating, which widens the interval a little.
            assert used == pytest.approx(_their_lam(y_, f_, u_), abs=0.05)
            assert widths == pytest.approx(np.ravel(high - low), rel=0.1)
            continue
        # At a fixed lam, the jackknife without each rating in turn is the rectifier's sample
        # variance (ddof 1) over n; the judge's variance is over all cases; t with n - 1 df.
        judge = np.concatenate([f_, u_]).var(0, ddof=1) / len(u_)
        se = np.sqrt(used**2 * judge + (y_ - used * f_).var(0, ddof=1) / len(y_))
        quantile = student_t.ppf(0.95, len(y_) - 1)
        assert [i[0] for i in ours.interval] == pytest.approx(np.array(ours.estimate) - quantile * se, abs=1e-12)
        assert [i[1] for i in ours.interval] == pytest.approx(np.array(ours.estimate) + quantile * se, abs=1e-12)
        # ppi-python's, with population variances and a normal quantile, differs only by those.
        assert widths == pytest.approx(np.ravel(high - low), rel=0.03)


def _their_lam(y: np.ndarray, f: np.ndarray, f_only: np.ndarray) -> float:
    """ppi-python's tuned lam: the lam whose point estimate is the one it returns."""
    tuned = np.ravel(ppi_py.ppi_mean_pointestimate(y, f, f_only))
    at = {lam: np.ravel(ppi_py.ppi_mean_pointestimate(y, f, f_only, lam=lam)) for lam in (0.0, 1.0)}
    slope = at[1.0] - at[0.0]
    found = (tuned - at[0.0])[np.abs(slope) > 1e-12] / slope[np.abs(slope) > 1e-12]
    return float(found[0]) if len(found) else 0.0


def _by_hand(strata: list[ppi.Stratum], tuning: list[ppi.Stratum] | None = None) -> tuple[float, np.ndarray, int]:
    """The delete-one-rater jackknife written out with loops: for each rater, the strata without
    their crowd ratings (weights kept), lam tuned again on them by the sandwich formula, the
    estimate; the variance is the jackknife's plus lam^2 times the judge-only means' variance."""
    tuning = tuning or strata
    total = sum(len(s.crowd) + len(s.judged_only) for s in strata)
    weights = [(len(s.crowd) + len(s.judged_only)) / total for s in strata]

    def judge_only_variance(group: list[ppi.Stratum]) -> np.ndarray:
        return sum(
            w**2 * np.concatenate([s.judged, s.judged_only]).var(0, ddof=1) / len(s.judged_only)
            for s, w in zip(group, weights, strict=True)
            if len(s.judged_only)
        )

    def without(group: list[ppi.Stratum], rater: str | None) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, list]]:
        kept = []
        for s in group:
            rows = [i for i, r in enumerate(s.raters) if r != rater]
            kept.append((s.crowd[rows], s.judged[rows], s.judged_only, [s.raters[i] for i in rows]))
        return kept

    def tuned(group) -> float:
        # Vectors per rater: sums over the strata of the centred, scaled ratings.
        a_vec: dict[str, np.ndarray] = {}
        b_vec: dict[str, np.ndarray] = {}
        for (y, f, u, raters), w in zip(group, weights, strict=True):
            n = len(y)
            scale = w / n * np.sqrt(n / (n - 1)) if n > 1 else 0.0
            for i, rater in enumerate(raters):
                a_vec[rater] = a_vec.get(rater, 0.0) + scale * (y[i] - y.mean(0))
                b_vec[rater] = b_vec.get(rater, 0.0) + (scale * (f[i] - f.mean(0)) if len(u) else 0.0 * f[i])
        factor = len(a_vec) / (len(a_vec) - 1)
        cross = factor * sum(float(np.dot(a_vec[r], b_vec[r])) for r in a_vec)
        spread = float(np.sum(judge_only_variance(tuning))) + factor * sum(
            float(np.dot(b_vec[r], b_vec[r])) for r in b_vec
        )
        return float(np.clip(cross / spread, 0, 1)) if spread > 0 else 0.0

    def estimate(group, lam: float) -> np.ndarray:
        return sum(
            w * (y.mean(0) if not len(u) else lam * u.mean(0) + (y - lam * f).mean(0))
            for (y, f, u, _), w in zip(group, weights, strict=True)
        )

    raters = sorted({r for s in strata for r in s.raters})
    lam = tuned(without(tuning, None))
    replicates = np.array([estimate(without(strata, r), tuned(without(tuning, r))) for r in raters])
    jackknife = (len(raters) - 1) / len(raters) * ((replicates - replicates.mean(0)) ** 2).sum(0)
    return lam, jackknife + lam**2 * judge_only_variance(strata), len(raters)


def test_an_uninformative_judge_leaves_the_crowd_alone():
    rng = np.random.default_rng(7)
    shares = (0.2, 0.3, 0.5)
    pairs = [
        (c, j, None)
        for c, j in zip(as_ratings(ratings(rng, 300, shares)), as_ratings(ratings(rng, 300, shares)), strict=True)
    ]
    estimate = ppi.crowd_scale({"all": (pairs, as_ratings(ratings(rng, 1700, shares)))}).good
    assert estimate.lam < 0.2
    assert estimate.effective_crowd[0] == pytest.approx(300, rel=0.1)
    assert estimate.crowd == 300 and estimate.judge_only == 1700


def test_a_stratum_the_crowd_rated_whole_is_its_crowd_mean():
    crowd = as_ratings(np.array([3, 3, 1, 2]))
    estimate = ppi.crowd_scale({"whole": ([(c, j, None) for c, j in zip(crowd, crowd[::-1], strict=True)], [])}).good
    assert estimate.estimate[0] == 0.5 and estimate.judge_only == 0


def test_fewer_than_two_crowd_ratings_in_a_stratum_is_an_error():
    with pytest.raises(ValueError, match="2 or more crowd ratings in each stratum"):
        ppi.crowd_scale({"e": ([(Rating.GOOD, Rating.GOOD, "r1")], [Rating.GOOD] * 10)})


def clustered_strata(rng: np.random.Generator, sizes: list[int], rated: list[int], batch: int) -> list[ppi.Stratum]:
    """Strata of ``sizes`` cases of which the crowd rated ``rated`` (all: the stratum rated
    whole), in batches that cross the strata, one rater a batch."""
    items = [(k, i) for k, n in enumerate(rated) for i in range(n)]
    order = rng.permutation(len(items))
    rater_of = {items[index]: f"r{position // batch}" for position, index in enumerate(order)}
    strata = []
    for k, (size, n) in enumerate(zip(sizes, rated, strict=True)):
        crowd = ratings(rng, size, (0.3, 0.3, 0.4))
        y, f = ppi.one_hot(as_ratings(crowd)), ppi.one_hot(as_ratings(judge_of(rng, crowd, 0.7)))
        strata.append(ppi.Stratum(y[:n], f[:n], f[n:], tuple(rater_of[k, i] for i in range(n))))
    return strata


@pytest.mark.parametrize("seed", range(4))
def test_the_jackknife_over_raters_is_the_one_written_out(seed):
    rng = np.random.default_rng(seed)
    strata = clustered_strata(rng, [30, 45, 12, 60, 8], [6, 9, 5, 7, 8], batch=4)
    goods = [ppi.Stratum(s.crowd[:, [2]], s.judged[:, [2]], s.judged_only[:, [2]], s.raters) for s in strata]
    for found, tuning in ((ppi.stratified(goods, confidence=0.9), None), (ppi.stratified(strata, tuning=goods), goods)):
        lam, variance, raters = _by_hand(strata if tuning else goods, tuning)
        assert found.lam == pytest.approx(lam, abs=1e-12)
        assert found.raters == raters
        assert np.square(found.standard_error) == pytest.approx(variance, rel=1e-9)
    # The shares and the Good rate share their lam: the Good share is the Good rate.
    assert ppi.stratified(strata, tuning=goods).estimate[2] == pytest.approx(ppi.stratified(goods).estimate[0])


EMOTION_SIZES = [int(s) for s in np.linspace(42, 84, 32)]  # 32 emotions of unequal size, 2,016 cases
CUTS = (-0.6, 0.5)  # a latent quality above the first is Okay, above the second Good
SCALE = dict(enumerate(Rating, start=1))  # a score's Rating, without the enum's lookup


@dataclass(frozen=True)
class World:
    """A simulated crowd study. Each answer has a latent quality; a rater's rating is it plus
    the rater's leniency (the same on all ten of their batch) plus noise, cut into Bad/Okay/Good;
    the judge sees the quality, a little leniently. The human answer to the same prompt shares
    part of its quality with the model's."""

    leniency: float = 0.3
    noise: float = 0.3
    judge_bias: float = 0.25
    judge_noise: float = 0.35
    same_prompt: float = 0.5


# Raters who differ in leniency (ignoring it, a 95% interval covers about 90%), and raters
# who do not.
LENIENT, INTERCHANGEABLE = World(), World(leniency=0.0)


def _cut(latent: np.ndarray) -> np.ndarray:
    return 1 + (latent > CUTS[0]) + (latent > CUTS[1])


def benchmark(rng: np.random.Generator, world: World, *, per_emotion: int = 10, batch: int = 9):
    """One benchmark: the judge rates every case, the crowd ``per_emotion`` of each emotion's
    in batches of ``batch`` (a tenth item per batch being an attention check) that cross the
    emotions; a human baseline rated by another crowd, ten cases a rater. Returns the strata,
    the baseline, the true Good rates (model, baseline), and the judge's exact agreement."""
    means = np.linspace(-0.5, 0.8, 32)
    quality = [rng.normal(m, 1, n) for m, n in zip(means, EMOTION_SIZES, strict=True)]
    human = [
        world.same_prompt * (q - m) + np.sqrt(1 - world.same_prompt**2) * rng.normal(0, 1, len(q)) + m - 0.3
        for q, m in zip(quality, means, strict=True)
    ]
    drawn = [rng.permutation(n)[:per_emotion] for n in EMOTION_SIZES]
    rated = [(e, int(i)) for e in range(32) for i in drawn[e]]
    rater_of = {rated[k]: f"c{position // batch}" for position, k in enumerate(rng.permutation(len(rated)))}
    cases = [(e, i) for e in range(32) for i in range(EMOTION_SIZES[e])]
    base_rater_of = {cases[k]: f"h{position // 10}" for position, k in enumerate(rng.permutation(len(cases)))}
    leniency = {r: rng.normal(0, world.leniency) for r in sorted({*rater_of.values(), *base_rater_of.values()})}
    strata, baseline, agree = {}, {}, 0
    for e, size in enumerate(EMOTION_SIZES):
        judged = _cut(quality[e] + world.judge_bias + rng.normal(0, world.judge_noise, size))
        chosen = np.zeros(size, dtype=bool)
        chosen[drawn[e]] = True
        crowd_rated, judged_only = np.flatnonzero(chosen), np.flatnonzero(~chosen)
        # Case by case, each baseline rating's noise, then a crowd-rated case's crowd rating's:
        # drawn at once, in that order (the numbers a draw for each in turn gives).
        noise = rng.normal(0, world.noise, size + len(crowd_rated))
        at = np.arange(size) + np.cumsum(chosen) - chosen
        base_raters = [base_rater_of[e, i] for i in range(size)]
        base = _cut(human[e] + np.array([leniency[r] for r in base_raters]) + noise[at]).tolist()
        raters = [rater_of[e, i] for i in crowd_rated.tolist()]
        lenient = np.array([leniency[r] for r in raters])
        crowd = _cut(quality[e][crowd_rated] + lenient + noise[at[crowd_rated] + 1])
        agree += int((crowd == judged[crowd_rated]).sum())
        judge = judged.tolist()
        pairs = [
            (SCALE[c], SCALE[judge[i]], r) for i, c, r in zip(crowd_rated.tolist(), crowd.tolist(), raters, strict=True)
        ]
        strata[f"e{e}"] = (pairs, [SCALE[judge[i]] for i in judged_only.tolist()])
        baseline[f"e{e}"] = [(SCALE[base[i]], base_raters[i]) for i in (*crowd_rated.tolist(), *judged_only.tolist())]
    weights = np.array(EMOTION_SIZES) / sum(EMOTION_SIZES)
    spread = np.sqrt(1 + world.leniency**2 + world.noise**2)
    truth = float(weights @ norm.sf((CUTS[1] - means) / spread))
    base_truth = float(weights @ norm.sf((CUTS[1] - (means - 0.3)) / spread))
    return strata, baseline, (truth, base_truth), agree / len(rated)


def coverage_and_widths(
    *, repetitions: int, seed: int = 20240607, world: World = World(), raters_ignored: bool = True
) -> dict[str, float]:
    """The note's figures: 2,016 cases in 32 emotions; the crowd rates 10 per emotion (320, by
    36 raters); the judge agrees exactly with the crowd on about 70% of them and is lenient. The
    Good rate's 95% intervals: prediction-powered; the same with the raters ignored (every
    rating its own; ``raters_ignored``: its 320 raters' jackknife costs more than the rest);
    the crowd's 320 alone; what the judge's ratings alone claim; and the difference with the
    human baseline. Coverage, the share of misses on each side, widths."""
    rng = np.random.default_rng(seed)
    found: dict[str, float] = {}

    def count(name: str, interval: tuple[float, float], truth: float) -> None:
        low, high = interval
        found[f"{name} coverage"] = found.get(f"{name} coverage", 0.0) + (low <= truth <= high) / repetitions
        found[f"{name} below"] = found.get(f"{name} below", 0.0) + (truth < low) / repetitions
        found[f"{name} above"] = found.get(f"{name} above", 0.0) + (truth > high) / repetitions
        found[f"{name} width"] = found.get(f"{name} width", 0.0) + (high - low) / repetitions

    for _ in range(repetitions):
        strata, baseline, (truth, base_truth), agreement = benchmark(rng, world)
        scale = ppi.crowd_scale(strata)
        count("ppi", scale.good.interval[0], truth)
        if raters_ignored:
            unnamed = {e: ([(c, j, None) for c, j, _ in pairs], only) for e, (pairs, only) in strata.items()}
            count("ppi, raters ignored", ppi.crowd_scale(unnamed).good.interval[0], truth)
        count("crowd alone", _crowd_alone(strata), truth)
        judged = sum(
            sum(j is Rating.GOOD for _, j, _ in pairs) + sum(j is Rating.GOOD for j in only)
            for pairs, only in strata.values()
        ) / sum(EMOTION_SIZES)
        half = Z95 * np.sqrt(judged * (1 - judged) / sum(EMOTION_SIZES))
        count("judge alone", (judged - half, judged + half), truth)
        difference = ppi.versus_baseline(strata, baseline, scale.good, paired=True)
        count("difference", difference.interval(0.025), truth - base_truth)
        found["effective crowd"] = found.get("effective crowd", 0.0) + scale.good.effective_crowd[0] / repetitions
        found["agreement"] = found.get("agreement", 0.0) + agreement / repetitions
    return found


def _crowd_alone(strata) -> tuple[float, float]:
    """The crowd's 320 alone, stratified, its variance by rater clusters (sandwich over the
    raters' summed contributions, G/(G - 1), sample variances within emotions), computed here."""
    total = sum(EMOTION_SIZES)
    mean, by_rater = 0.0, {}
    for size, (pairs, _) in zip(EMOTION_SIZES, strata.values(), strict=True):
        good = np.array([crowd is Rating.GOOD for crowd, _, _ in pairs], dtype=float)
        weight, n = size / total, len(good)
        mean += weight * good.mean()
        for value, (_, _, rater) in zip(good, pairs, strict=True):
            by_rater[rater] = by_rater.get(rater, 0.0) + weight / n * np.sqrt(n / (n - 1)) * (value - good.mean())
    raters = len(by_rater)
    half = student_t.ppf(0.975, raters - 1) * np.sqrt(raters / (raters - 1) * sum(v**2 for v in by_rater.values()))
    return mean - half, mean + half


@pytest.mark.slow
@pytest.mark.parametrize("world", [LENIENT, INTERCHANGEABLE], ids=["lenient raters", "interchangeable raters"])
def test_in_simulation_ppi_covers_the_truth_on_both_sides_where_the_judge_alone_does_not(world):
    """Seeded, 400 repetitions: coverage within 3 Monte Carlo standard errors of 95% (SE
    sqrt(0.95 x 0.05 / 400), 1.1 points: 91.7% to 98.3%), each tail below 2.5% + 3 SEs (0.78
    points: below 4.8%, so 19 misses of 400 at most). That catches an interval around the judge's
    ratings alone (it covers 0%) or one without the rectifier. The real resolution, binomial: a
    correct tail (2.5%) fails 0.3% of the time; a tail missed at twice the nominal rate (5%) is
    caught only about half the time (53%), at three times (7.5%) 98% of the time; coverage of 90%
    is caught 86% of the time, of 92% 38%. An interval that takes a rater's ten ratings as
    independent covers about 90% (3,000 repetitions), at the edge of what 400 can tell: the
    widths catch it, their Monte Carlo error a small share of their 10-point gaps."""
    repetitions = 400
    # The raters-ignored interval is a claim about lenient raters only.
    figures = coverage_and_widths(repetitions=repetitions, world=world, raters_ignored=world is LENIENT)
    if world is LENIENT:
        assert abs(figures["agreement"] - 0.7) < 0.02, figures  # the judge: 70% exact agreement
    coverage_error, tail_error = (3 * np.sqrt(p * (1 - p) / repetitions) for p in (0.95, 0.025))
    for name in ("ppi", "difference"):
        assert abs(figures[f"{name} coverage"] - 0.95) < coverage_error, (name, figures)
        for side in ("below", "above"):
            assert figures[f"{name} {side}"] < 0.025 + tail_error, (name, side, figures)
    assert figures["judge alone coverage"] < 0.5, figures  # narrow, and around the wrong value
    if world is LENIENT:
        # A lenient rater's ten ratings agree: taken as independent, the interval is too narrow
        # (about 90% coverage in 3,000 repetitions; 400 cannot tell 90% from 93%, the widths can).
        assert figures["ppi, raters ignored width"] < 0.9 * figures["ppi width"], figures
        assert figures["ppi, raters ignored coverage"] < 0.95, figures
        # The judge cannot see a rater's leniency, so it can take out less of the variance.
        assert figures["ppi width"] < 0.95 * figures["crowd alone width"], figures
    else:
        assert figures["ppi width"] < 0.85 * figures["crowd alone width"], figures
        assert figures["effective crowd"] > 320 / 0.85**2, figures


@dataclass(frozen=True)
class Case:
    case_id: str
    emotion: str
    rating: Rating
    baseline_rating: Rating | None
    rater: str | None = None
    baseline_rater: str | None = None


def run_of(strata, baseline) -> tuple[list[Case], dict[str, tuple[Rating, str]]]:
    """A simulated benchmark as a run's cases (the judge's ratings, the baseline's with its
    raters) and the crowd's ratings of part of them, by case id."""
    cases, crowd = [], {}
    for emotion, (pairs, only) in strata.items():
        judged = [j for _, j, _ in pairs] + list(only)
        for i, (judge, (base, base_rater)) in enumerate(zip(judged, baseline[emotion], strict=True)):
            case_id = f"{emotion}-{i:03d}"
            cases.append(Case(case_id, emotion, judge, base, baseline_rater=base_rater))
            if i < len(pairs):
                crowd[case_id] = (pairs[i][0], str(pairs[i][2]))
    return cases, crowd


def test_a_run_against_a_baseline_of_the_same_prompts_takes_out_their_covariance():
    """The difference's variance written out: the model side's (the run's own estimate), the
    baseline's sandwich over its raters, less twice the sum over cases of the two sides'
    contributions to their means; its test a t test with the fewer raters less one df."""
    strata, baseline, _, _ = benchmark(np.random.default_rng(11), LENIENT)
    cases, crowd = run_of(strata, baseline)
    found = ppi.for_run(reversed(cases), crowd, per_emotion_baseline=None)
    versus, good = found.versus, found.scale.good
    assert versus is not None and versus.paired
    total, lam = len(cases), good.lam
    base_sums: dict[str, float] = {}
    covariance = base_mean = 0.0
    for emotion, (pairs, only) in strata.items():
        weight, n, m = (len(pairs) + len(only)) / total, len(pairs), len(only)
        y = np.array([c is Rating.GOOD for c, _, _ in pairs], dtype=float)
        f = np.array([j is Rating.GOOD for _, j, _ in pairs], dtype=float)
        u = np.array([j is Rating.GOOD for j in only], dtype=float)
        b = np.array([r is Rating.GOOD for r, _ in baseline[emotion]], dtype=float)
        base_mean += weight * b.mean()
        scaled_b = weight / len(b) * np.sqrt(len(b) / (len(b) - 1)) * (b - b.mean())
        for value, (_, rater) in zip(scaled_b, baseline[emotion], strict=True):
            base_sums[rater] = base_sums.get(rater, 0.0) + value
        rectifier = weight / n * np.sqrt(n / (n - 1)) * ((y - y.mean()) - lam * (f - f.mean()))
        judge_only = lam * weight / m * np.sqrt(m / (m - 1)) * (u - u.mean())
        covariance += float(np.dot(np.concatenate([rectifier, judge_only]), scaled_b))
    raters = len(base_sums)
    base_variance = raters / (raters - 1) * sum(v**2 for v in base_sums.values())
    variance = good.standard_error[0] ** 2 + base_variance - 2 * covariance
    assert versus.baseline == pytest.approx(base_mean, abs=1e-12)
    assert versus.standard_error == pytest.approx(np.sqrt(variance), rel=1e-9)
    assert versus.baseline_raters == raters and versus.degrees_of_freedom == min(good.raters, raters) - 1
    assert covariance > 0  # the same prompts' answers share quality in this world
    assert versus.p_greater() == pytest.approx(student_t.sf(versus.difference / np.sqrt(variance), 35), rel=1e-9)
    low, high = versus.interval(0.05)
    assert (low + high) / 2 == pytest.approx(versus.difference) and high - low == pytest.approx(
        2 * student_t.ppf(0.95, 35) * np.sqrt(variance)
    )


def test_what_cannot_be_estimated_is_said_not_raised():
    strata, baseline, _, _ = benchmark(np.random.default_rng(3), LENIENT)
    cases, crowd = run_of(strata, baseline)
    assert ppi.for_run(cases, crowd, per_emotion_baseline=None).versus is not None
    # One rater gave every crowd rating of an emotion: the jackknife cannot delete them.
    alone = {c: (r, "r-one" if c.startswith(("e0-", "e7-")) else rater) for c, (r, rater) in crowd.items()}
    found = ppi.for_run(cases, alone, per_emotion_baseline=None)
    assert found.scale is None and found.not_estimated == (
        "one rater gave every crowd rating of 2 emotion(s) (e0, e7); each emotion needs ratings by 2 or more raters "
        "(crowd export's default sheets deal an emotion's answers to different batches)"
    )
    # A baseline rated by too few raters, or all Bad: no comparison, and why.
    few = [Case(c.case_id, c.emotion, c.rating, c.baseline_rating, baseline_rater="h1") for c in cases]
    found = ppi.for_run(few, crowd, per_emotion_baseline=None)
    assert found.scale is not None and found.versus is None
    assert "fewer than 20 raters" in (found.versus_not_estimated or "")
    bad = [Case(c.case_id, c.emotion, c.rating, Rating.BAD, baseline_rater=c.baseline_rater) for c in cases]
    found = ppi.for_run(bad, crowd, per_emotion_baseline=None)
    assert "all Good or none is" in (found.versus_not_estimated or "")
    # Counts of other prompts are never paired, whatever their sizes.
    counts = {e: Counts.of(r for r, _ in baseline[e]) for e in strata}
    found = ppi.for_run(cases, crowd, per_emotion_baseline=counts)
    assert found.versus is not None and not found.versus.paired and found.versus.baseline_raters is None


def smoke_corpus() -> Corpus:
    return open_corpus("smoke", need_text=True)


def release_sized_corpus() -> Corpus:
    """The release's 2,000 cases in its 32 emotions (its figures, which ship in the package),
    with a line of text each written here for the sheets."""
    release = open_corpus("welivita-pu-2024")
    rows = tuple(replace(row, utterance=f"case {row.id}") for row in release.rows)
    return replace(release, rows=rows)


def crowd_study(rng: np.random.Generator, corpus: Corpus, sample: int | None, seed: int, world: World = LENIENT):
    """One crowd study through the export's own design: ``crowd export --sample SAMPLE --seed
    SEED`` with its default batches, each batch rated by a rater of its own (who differ in
    leniency, as in ``benchmark``), the judge rating every case of the corpus. Returns the
    run's cases, the crowd's ratings by case id and the true Good rate of the run's mix."""
    drawn = corpus.select(sample=sample, seed=seed)
    design = sheets.draw(
        drawn,
        dict.fromkeys((row.case_id for row in drawn), "an answer"),
        responder="m",
        corpus=corpus.name,
        corpus_sha256=corpus.sha256,
        seed=seed,
        sample=sample,
    )
    rater_of = {item.case: f"c{number}" for number, batch in enumerate(design.batches) for item in batch if item.case}
    emotions = sorted({row.emotion for row in corpus.rows})
    means = dict(zip(emotions, np.linspace(-0.5, 0.8, len(emotions)), strict=True))
    ids = [row.case_id for row in corpus.rows]
    quality = np.array([means[row.emotion] for row in corpus.rows]) + rng.normal(0, 1, len(ids))
    judged = _cut(quality + world.judge_bias + rng.normal(0, world.judge_noise, len(ids)))
    leniency = dict(zip(sorted(set(rater_of.values())), rng.normal(0, world.leniency, len(rater_of)), strict=False))
    crowd = {}
    for case, value in zip(ids, quality, strict=True):
        if case in rater_of:
            rater = rater_of[case]
            crowd[case] = (Rating(int(_cut(value + leniency[rater] + rng.normal(0, world.noise)))), rater)
    cases = [Case(row.case_id, row.emotion, Rating(int(j)), None) for row, j in zip(corpus.rows, judged, strict=True)]
    spread = np.sqrt(1 + world.leniency**2 + world.noise**2)
    truth = float(norm.sf((CUTS[1] - np.array([means[row.emotion] for row in corpus.rows])) / spread).mean())
    return cases, crowd, truth


@pytest.mark.parametrize(
    ("corpus", "sample", "repetitions"),
    [
        pytest.param(smoke_corpus, None, 400, id="smoke, every case"),
        # docs/explanation/statistics.md quotes these runs' figures: their size stays, and so they are slow.
        pytest.param(release_sized_corpus, 2, 300, id="release-sized, 2 per emotion", marks=pytest.mark.slow),
        pytest.param(release_sized_corpus, 10, 300, id="release-sized, 10 per emotion", marks=pytest.mark.slow),
    ],
)
def test_the_default_crowd_export_is_estimated_in_every_run_and_its_interval_covers(corpus, sample, repetitions):
    """The crowd export's default design, rated by a simulated crowd (one rater a batch, raters
    who differ in leniency), gives prediction-powered inference what it needs in every run, and
    its 95% interval covers the crowd's Good rate at least 95% - 3 Monte Carlo standard errors
    of the time (SE sqrt(0.95 x 0.05 / repetitions): 1.1 points at 400, 1.3 at 300)."""
    rng = np.random.default_rng(20240607)
    chosen = corpus()
    estimated = covered = 0
    width = 0.0
    for seed in range(repetitions):
        cases, crowd, truth = crowd_study(rng, chosen, sample, seed)
        found = ppi.for_run(cases, crowd, per_emotion_baseline=None, not_comparable="not simulated")
        if found.scale is None:
            continue
        estimated += 1
        low, high = found.scale.good.interval[0]
        covered += low <= truth <= high
        width += (high - low) / repetitions
    assert estimated == repetitions
    coverage = covered / repetitions
    assert coverage >= 0.95 - 3 * np.sqrt(0.95 * 0.05 / repetitions), coverage
    # The statistics page's figures are these.
    assert f"{coverage:.1%}, {100 * width:.0f} points wide" in prose("explanation/statistics.md")
