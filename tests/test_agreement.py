"""A judge's agreement with the crowd, against scikit-learn, krippendorff and judges of known
behaviour on the release's crowd ratings."""

from __future__ import annotations

import random
import warnings

import krippendorff
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import cohen_kappa_score, confusion_matrix

from pytest_empathy.analysis import agreement
from pytest_empathy.corpus import release
from pytest_empathy.ratings import Rating

SOURCES = release.RESPONDERS  # human, chatgpt, chatgpt-empathy


def judged(judge, prompts: int = 400) -> list[dict[str, agreement.Pair]]:
    """The release's first prompts, each source's crowd rating with ``judge``'s."""
    rows = release.load_figures().rows[:prompts]
    return [{s: (row.ratings[s], judge(s, row.ratings[s])) for s in SOURCES} for row in rows]


ratings = st.sampled_from(list(Rating))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(ratings, ratings), min_size=2, max_size=60))
def test_figures_are_scikit_learns_and_krippendorffs(pairs):
    # One source: no source bias to measure.
    calibration = agreement.calibrate([{"human": p} for p in pairs], human="human")
    assert calibration.source_bias is None
    found = calibration.overall
    crowd, judge = [int(c) for c, _ in pairs], [int(j) for _, j in pairs]
    assert np.array_equal(np.array(found.confusion), confusion_matrix(crowd, judge, labels=[1, 2, 3]))
    assert found.exact == pytest.approx(np.mean(np.array(crowd) == np.array(judge)))
    assert found.mean_shift == pytest.approx(np.mean(judge) - np.mean(crowd))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn warns where kappa is undefined
        for weights, value in (("linear", found.kappa_linear), ("quadratic", found.kappa_quadratic)):
            expected = cohen_kappa_score(crowd, judge, weights=weights, labels=[1, 2, 3])
            # scikit-learn's 0 for a side that never varies is no measurement: undefined.
            constant = len(set(crowd)) == 1 or len(set(judge)) == 1
            assert (value is None) == (constant or bool(np.isnan(expected)))
            assert ("kappa_" + weights in found.undefined) == constant
            if value is not None:
                assert value == pytest.approx(expected, abs=1e-9)
    if len(set(crowd + judge)) > 1:
        expected = krippendorff.alpha(reliability_data=[crowd, judge], level_of_measurement="ordinal")
        assert found.alpha_ordinal == pytest.approx(expected, abs=1e-9)
    else:
        assert found.alpha_ordinal is None


def test_a_constant_judge_has_no_kappa_and_says_why():
    """A judge that rates everything Good: kappa is 0 by construction (scikit-learn's), which
    says nothing, and so is every resample's; alpha is defined (krippendorff's)."""
    found = agreement.calibrate(judged(lambda source, crowd: Rating.GOOD), human="human")
    crowd = [int(p[s][0]) for p in judged(lambda source, crowd: crowd) for s in SOURCES]
    judge = [3] * len(crowd)
    assert cohen_kappa_score(crowd, judge, weights="quadratic") == 0
    for figures in (found.overall, *found.sources.values()):
        assert figures.kappa_linear is None and figures.kappa_quadratic is None
        assert figures.intervals["kappa_linear"] is None and figures.intervals["kappa_quadratic"] is None
        assert figures.undefined["kappa_quadratic"].startswith("the judge rated every response Good")
    expected = krippendorff.alpha(reliability_data=[crowd, judge], level_of_measurement="ordinal")
    assert found.overall.alpha_ordinal == pytest.approx(expected, abs=1e-9)
    # Nearly constant: the estimate is defined, but too many resamples are not for an interval.
    nearly = [{"human": (Rating(1 + i % 3), Rating.GOOD if i else Rating.BAD)} for i in range(60)]
    few = agreement.calibrate(nearly, human="human").overall
    assert few.kappa_quadratic == pytest.approx(
        cohen_kappa_score([1 + i % 3 for i in range(60)], [3 if i else 1 for i in range(60)], weights="quadratic")
    )
    assert few.intervals["kappa_quadratic"] is None and "kappa_quadratic interval" in few.undefined


def test_a_judge_that_copies_the_crowd_agrees_fully_and_favours_no_one():
    found = agreement.calibrate(judged(lambda source, crowd: crowd), human="human")
    for figures in (found.overall, *found.sources.values()):
        assert figures.exact == figures.kappa_linear == figures.kappa_quadratic == figures.alpha_ordinal == 1
        assert figures.mean_shift == 0
    assert found.source_bias == 0 and found.source_bias_interval == agreement.Interval(0.0, 0.0)


def test_the_studys_headline_as_a_judge_sees_it():
    prompts = judged(lambda source, crowd: Rating.GOOD if source == "chatgpt-empathy" else crowd, prompts=2000)
    crowd_gain, judge_gain = agreement.judged_gain(
        agreement.calibrate(prompts, human="human"), "chatgpt-empathy", "human"
    )
    assert crowd_gain == pytest.approx(1295 / 986 - 1)  # the study's +31.3%
    assert judge_gain == pytest.approx(2000 / 986 - 1)


def test_a_judge_that_rates_llm_answers_a_level_up_shows_that_bias():
    def lenient(source: str, crowd: Rating) -> Rating:
        return crowd if source == "human" else Rating(min(3, crowd + 1))

    prompts = judged(lenient)
    found = agreement.calibrate(prompts, human="human")
    # The shift it adds: one level wherever the crowd did not already say Good.
    expected = np.mean([p[s][0] < Rating.GOOD for p in prompts for s in SOURCES if s != "human"])
    assert found.source_bias == pytest.approx(expected)
    assert found.source_bias_interval.low < expected < found.source_bias_interval.high
    assert found.source_bias_interval.low > 0.2
    assert found.sources["human"].mean_shift == 0 and found.sources["chatgpt"].kappa_linear < 1


def test_a_random_judge_agrees_no_better_than_chance():
    # Ratings drawn independently of the response, as often Bad, Okay and Good as the crowd's.
    rng = random.Random("random judge")
    shares = [0.107, 0.302, 0.592]
    found = agreement.calibrate(
        judged(lambda source, crowd: rng.choices(list(Rating), shares)[0], prompts=600), human="human"
    )
    alpha, interval = found.overall.alpha_ordinal, found.overall.intervals["alpha_ordinal"]
    assert abs(alpha) < 0.06 and interval.low < 0 < interval.high
    # Its "source bias" is not zero but the crowd's own difference, reversed: a judge that
    # ignores the response moves every source to its own mean, and the crowd rated human
    # responses lower. The measure means self-favouring only for a judge that tracks the crowd.
    prompts = judged(lambda source, crowd: crowd, prompts=600)
    crowd = {s: np.mean([int(p[s][0]) for p in prompts]) for s in SOURCES}
    expected = crowd["human"] - (crowd["chatgpt"] + crowd["chatgpt-empathy"]) / 2
    assert found.source_bias_interval.low < expected < found.source_bias_interval.high < 0


def test_bootstrap_intervals_resample_prompts_with_a_fixed_seed():
    prompts = judged(lambda source, crowd: Rating(max(1, crowd - 1)), prompts=200)
    first, again = agreement.calibrate(prompts, human="human"), agreement.calibrate(prompts, human="human")
    assert first == again
    # By hand: the same draws of prompts, the kappa of each resampled set.
    draws = np.random.default_rng(agreement.SEED).integers(0, 200, size=(agreement.BOOTSTRAP, 200))
    kappas = []
    for draw in draws[:200]:
        pairs = [prompts[i][s] for i in draw for s in SOURCES]
        kappas.append(cohen_kappa_score([int(c) for c, _ in pairs], [int(j) for _, j in pairs], weights="linear"))
    low, high = first.overall.intervals["kappa_linear"].low, first.overall.intervals["kappa_linear"].high
    assert low <= np.median(kappas) <= high
    assert np.percentile(kappas, 2.5) == pytest.approx(low, abs=0.02)
