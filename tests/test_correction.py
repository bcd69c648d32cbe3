"""Judged ratings put on the crowd's scale through a calibration: the estimate against an
independent optimizer, its intervals over seeded simulations of a judge of known errors, and
the test of the correction's assumption against scipy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize
from scipy.stats import chi2_contingency

from pytest_empathy.analysis import correction
from pytest_empathy.analysis.correction import CalibrationSample, Side

from .conftest import prose

# A judge of known errors: rows the crowd's Bad/Okay/Good, columns the judge's.
ERRORS = np.array([[0.6, 0.3, 0.1], [0.2, 0.6, 0.2], [0.05, 0.25, 0.7]])
SOURCES = ("chatgpt", "chatgpt-empathy", "human")


def judged(rng: np.random.Generator, crowd: np.ndarray, errors: np.ndarray = ERRORS) -> np.ndarray:
    """The judge's score of each response, drawn from its error row for the crowd's score."""
    cumulative = errors.cumsum(axis=1)[crowd - 1]
    return (rng.random(crowd.size)[:, None] > cumulative).sum(axis=1) + 1


def calibration_pairs(rng: np.random.Generator, prompts: int, shift_llm: bool = False) -> dict[str, list[list[int]]]:
    pairs = {}
    for source in SOURCES:
        crowd = rng.choice(3, size=prompts, p=[0.2, 0.3, 0.5]) + 1
        judge = judged(rng, crowd)
        if shift_llm and source != "human":
            judge = np.minimum(judge + 1, 3)
        pairs[source] = np.stack([crowd, judge], axis=1).tolist()
    return pairs


def optimum(counts: np.ndarray, errors: np.ndarray) -> np.ndarray:
    """The maximum likelihood crowd shares by scipy's SLSQP on the simplex."""

    def negative(p: np.ndarray) -> float:
        return -float(np.sum(counts * np.log(np.clip(p @ errors, 1e-300, None))))

    best = None
    for start in ([1 / 3] * 3, [0.8, 0.1, 0.1], [0.1, 0.1, 0.8], [0.1, 0.8, 0.1]):
        found = minimize(
            negative,
            np.array(start),
            method="SLSQP",
            bounds=[(0, 1)] * 3,
            constraints=[{"type": "eq", "fun": lambda p: p.sum() - 1}],
            options={"ftol": 1e-14, "maxiter": 1000},
        )
        if best is None or found.fun < best.fun:
            best = found
    assert best is not None
    return np.asarray(best.x)


def log_likelihood(shares: np.ndarray, counts: np.ndarray, errors: np.ndarray) -> float:
    with np.errstate(divide="ignore"):
        return float(np.sum(np.where(counts > 0, counts * np.log(shares @ errors), 0.0)))


error_rows = st.lists(st.floats(0.02, 1), min_size=3, max_size=3).map(lambda r: np.array(r) / sum(r))


@settings(max_examples=60, deadline=None)
@given(
    # The matrices a correction is given for: far enough from singular (see MIN_SINGULAR).
    errors=st.tuples(error_rows, error_rows, error_rows)
    .map(np.stack)
    .filter(lambda m: np.linalg.svd(m, compute_uv=False).min() >= correction.MIN_SINGULAR),
    counts=st.lists(st.integers(0, 60), min_size=3, max_size=3).filter(lambda c: sum(c) > 0),
)
def test_the_estimate_is_the_maximum_likelihood_on_the_simplex(errors, counts):
    counts = np.array(counts, dtype=float)
    found = correction.crowd_shares(counts, errors)
    assert found.min() >= -1e-12 and found.sum() == pytest.approx(1, abs=1e-9)
    # No point of the simplex fits better than ours: scipy's optimum, at the best, ties it.
    reference = optimum(counts, errors)
    assert log_likelihood(found, counts, errors) >= log_likelihood(reference, counts, errors) - 1e-7


def test_inside_the_simplex_the_estimate_inverts_the_judges_errors_exactly():
    crowd = np.array([0.2, 0.3, 0.5])
    counts = 1000 * crowd @ ERRORS
    assert correction.crowd_shares(counts, ERRORS) == pytest.approx(crowd, abs=1e-12)


def test_over_seeded_repetitions_the_corrected_good_rate_covers_the_crowds_and_the_raw_one_misses():
    truth = np.array([0.15, 0.35, 0.5])
    repetitions, covered, corrected, raw = 60, 0, [], []
    for seed in range(repetitions):
        rng = np.random.default_rng(seed)
        sample = CalibrationSample.of(calibration_pairs(rng, prompts=150))
        crowd = rng.choice(3, size=300, p=truth) + 1
        scores = judged(rng, crowd)
        baseline = Side(scores=judged(rng, rng.choice(3, size=300, p=truth) + 1))
        found = correction.on_crowd_scale(scores, baseline, sample, confidence=0.9)
        covered += found.model_good_ci.low <= truth[2] <= found.model_good_ci.high
        corrected.append(found.model[2])
        raw.append(np.mean(scores == 3))
    # 90% intervals: the coverage over 60 repetitions is within three standard errors.
    assert covered / repetitions >= 0.9 - 3 * np.sqrt(0.9 * 0.1 / repetitions)
    assert abs(np.mean(corrected) - truth[2]) < 0.02
    # The judge alone says 0.15*0.1 + 0.35*0.2 + 0.5*0.7 = 0.435 Good: biased.
    assert np.mean(raw) == pytest.approx(truth @ ERRORS[:, 2], abs=0.01)


def test_equal_crowd_distributions_pass_the_better_gate_at_about_its_level():
    """Under the null the lower bound at 1 - 2 alpha is above 0 (a false 'better') about
    alpha of the time: the gate's one-sided test."""
    passed, covered, repetitions = 0, 0, 60
    for seed in range(repetitions):
        rng = np.random.default_rng(100 + seed)
        sample = CalibrationSample.of(calibration_pairs(rng, prompts=150))
        truth = rng.choice(3, size=(2, 300), p=[0.2, 0.3, 0.5]) + 1
        found = correction.on_crowd_scale(
            judged(rng, truth[0]), Side(scores=judged(rng, truth[1])), sample, confidence=0.9
        )
        covered += found.difference_ci.low <= 0 <= found.difference_ci.high
        passed += found.difference_ci.low > 0
    assert covered / repetitions >= 0.9 - 3 * np.sqrt(0.9 * 0.1 / repetitions)
    assert passed / repetitions <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / repetitions)


def test_a_draw_that_cannot_be_inverted_counts_against_both_ends():
    values = np.array([0.1, 0.2, 0.3, 0.4])
    defined = np.array([True, True, True, False])
    found = correction._interval(np.tile(values, 500), np.tile(defined, 500), confidence=0.9)
    assert found.low == -np.inf and found.high == np.inf
    found = correction._interval(np.tile(values, 500), np.ones(2000, dtype=bool), confidence=0.9)
    assert (found.low, found.high) == (0.1, 0.4)


def test_a_baseline_of_crowd_counts_is_taken_as_it_is_weighted_by_the_model_mix():
    rng = np.random.default_rng(3)
    sample = CalibrationSample.of(calibration_pairs(rng, prompts=150))
    counts = np.array([[10.0, 20, 70], [30, 30, 40]])
    found = correction.on_crowd_scale(
        np.array([3, 2, 1, 3] * 20), Side(counts=counts, weights=np.array([0.25, 0.75])), sample, confidence=0.9
    )
    assert found.baseline[2] == pytest.approx(0.25 * 0.7 + 0.75 * 0.4)
    assert not found.baseline_corrected


def test_a_judge_that_says_the_same_whatever_the_crowd_says_cannot_correct():
    rng = np.random.default_rng(5)
    pairs = {s: [[int(c), 3] for c in rng.choice(3, size=100) + 1] for s in SOURCES}
    assert "nearly singular" in CalibrationSample.of(pairs).unusable


def test_the_assumption_test_is_the_sum_of_scipys_chi_square_statistics_per_crowd_level():
    rng = np.random.default_rng(11)
    pairs = calibration_pairs(rng, prompts=80, shift_llm=True)
    found = correction.same_errors(pairs, "human")
    expected = 0.0
    scores = {s: np.array(p) for s, p in pairs.items()}
    for level in (1, 2, 3):
        table = np.array(
            [
                [np.sum((scores[s][:, 0] == level) & (scores[s][:, 1] == j)) for s in SOURCES if s != "human"]
                for j in (1, 2, 3)
            ]
        ).sum(axis=1)
        human = np.array([np.sum((scores["human"][:, 0] == level) & (scores["human"][:, 1] == j)) for j in (1, 2, 3)])
        both = np.stack([human, table])
        both = both[:, both.sum(axis=0) > 0]
        if both.shape[1] > 1 and (both.sum(axis=1) > 0).all():
            expected += chi2_contingency(both, correction=False).statistic
    assert found.statistic == pytest.approx(expected, rel=1e-9)
    assert found.p_value < 0.01 and found.rejected


def test_the_assumption_test_rejects_at_about_its_level_when_the_judge_errs_alike_as_the_judge_trust_page_says():
    """A decent judge (ERRORS: exact agreement with the crowd about 65%) that errs alike on every
    source, calibrated on 64 prompts of each of three sources (the shipped calibration's size):
    the test rejects, and every run through that calibration is undecided on the crowd's scale,
    at about alpha. Monte Carlo standard error sqrt(0.05 x 0.95 / 1000), 0.7 points."""
    repetitions = 1000
    rejected = sum(
        correction.same_errors(calibration_pairs(np.random.default_rng(1000 + seed), prompts=64), "human").rejected
        for seed in range(repetitions)
    )
    rate = rejected / repetitions
    assert abs(rate - 0.05) <= 3 * np.sqrt(0.05 * 0.95 / repetitions), rate
    judge_trust_page = prose("explanation/judge-trust.md")
    assert f"rejected {rate:.1%} of 1,000 calibrations" in judge_trust_page
