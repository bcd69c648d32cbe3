"""Clustered ratings: rater columns, design effects and the corrected tests, against
statsmodels' cluster-robust variance, a cluster bootstrap and a seeded simulation."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_empathy.analysis import clusters, ordinal, proportions
from pytest_empathy.analysis.comparison import good_pairs
from pytest_empathy.analysis.versus_baseline import summarize
from pytest_empathy.corpus import release
from pytest_empathy.corpus.reader import CorpusError, load_file
from pytest_empathy.ratings import Counts, Rating
from pytest_empathy.results.case import CaseResult

from .conftest import write_corpus


def release_cases(*, with_raters: bool = True) -> list[CaseResult]:
    return [
        CaseResult(
            row.case_id,
            row.emotion,
            row.ratings["chatgpt-empathy"],
            row.ratings["human"],
            rater=row.raters["chatgpt-empathy"] if with_raters else None,
            baseline_rater=row.raters["human"] if with_raters else None,
        )
        for row in release.load_figures().rows
    ]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.sampled_from([-1.0, 0.0, 1.0])), min_size=3, max_size=40))
def test_design_effect_is_statsmodels_cluster_robust_over_ordinary_variance(data):
    groups = [g for g, _ in data]
    values = np.array([v for _, v in data])
    if len(set(groups)) < 2 or values.var() == 0:
        return
    centred = [(v - values.mean()) / len(values) for v in values]
    found = clusters.design_effect(centred, groups)
    model = sm.OLS(values, np.ones(len(values)))
    robust = model.fit(cov_type="cluster", cov_kwds={"groups": np.array(groups)}).bse[0] ** 2
    ordinary = model.fit().bse[0] ** 2
    assert found == pytest.approx(robust / ordinary, rel=1e-9)


def test_clusters_join_the_cases_that_share_a_rater_on_either_side():
    found = clusters.clusters_of({"a": ["1", "2"], "b": ["3", "2"], "c": ["3"], "d": ["4"], "e": [], "f": ["4", "5"]})
    assert found["a"] == found["b"] == found["c"] and found["d"] == found["f"]
    assert len({found["a"], found["d"], found["e"]}) == 3


def test_release_design_effect_matches_a_cluster_bootstrap_over_raters():
    cases = release_cases()
    summary = summarize(cases, alpha=0.05)
    design = summary.overall.comparison.design
    assert design is not None and design.clusters == 200
    # The bootstrap: draw whole clusters (a rater's batch, with its paired ratings) with replacement.
    by_rater: dict[str, list[float]] = {}
    for case in cases:
        value = float(case.rating == Rating.GOOD) - float(case.baseline_rating == Rating.GOOD)
        by_rater.setdefault(case.rater, []).append(value)
    sums = np.array([sum(v) for v in by_rater.values()])
    sizes = np.array([len(v) for v in by_rater.values()])
    rng = np.random.default_rng(20240607)
    draws = rng.integers(0, len(sums), size=(4000, len(sums)))
    bootstrap = sums[draws].sum(axis=1) / sizes[draws].sum(axis=1)
    values = np.concatenate([np.array(v) for v in by_rater.values()])
    independent = values.var(ddof=1) / len(values)
    # Within Monte Carlo error (4000 draws: about 2% on a variance) and the small-sample factors.
    assert design.good == pytest.approx(bootstrap.var(ddof=1) / independent, rel=0.08)
    assert 1.25 < design.good < 1.6


def test_clustered_statistics_are_the_independent_ones_over_the_root_design_effect():
    clustered = summarize(release_cases(), alpha=0.05).overall.comparison
    independent = summarize(release_cases(with_raters=False), alpha=0.05).overall.comparison
    assert independent.design is None and clustered.design is not None
    assert clustered.good.statistic == pytest.approx(independent.good.statistic / math.sqrt(clustered.design.good))
    assert clustered.ordinal.statistic == pytest.approx(
        independent.ordinal.statistic / math.sqrt(clustered.design.ordinal)
    )
    # The interval about the root of the design effect wider, and still inverting its test.
    width = clustered.good.difference_ci.high - clustered.good.difference_ci.low
    base = independent.good.difference_ci.high - independent.good.difference_ci.low
    assert width / base == pytest.approx(math.sqrt(clustered.design.good), rel=0.03)
    assert clustered.good.difference == independent.good.difference
    assert clustered.ordinal.delta == independent.ordinal.delta


def test_a_design_effect_below_one_never_narrows_an_interval():
    counts = good_pairs(
        [(Rating.GOOD, Rating.OKAY)] * 30 + [(Rating.OKAY, Rating.GOOD)] * 20 + [(Rating.BAD,) * 2] * 50
    )
    plain = proportions.paired(counts, confidence=0.9)
    assert proportions.paired(counts, confidence=0.9, design_effect=0.7) == plain
    wider = proportions.paired(counts, confidence=0.9, design_effect=2.0)
    assert wider.difference_ci.low < plain.difference_ci.low and wider.p_greater > plain.p_greater


def test_unpaired_clusters_enter_on_the_rated_side_only():
    # The model's ratings in clusters of identical ratings, against fixed counts without raters.
    ratings = [(Rating.GOOD, c) for c in range(10) for _ in range(5)] + [
        (Rating.OKAY, c) for c in range(10, 20) for _ in range(5)
    ]
    design = clusters.unpaired_design_effects({"sad": ratings}, {"sad": Counts(10, 20, 20)})
    good = [float(r == Rating.GOOD) for r, _ in ratings]
    n, p2, n2 = len(good), 20 / 50, 50
    first = np.var(good, ddof=1) / n
    # Clusters of 5 identical ratings: the first side's variance is 5 times (times the factors) as large.
    robust = 20 / 19 * sum((sum(good[i : i + 5]) - 5 * np.mean(good)) ** 2 for i in range(0, n, 5)) / n**2
    expected = (robust + p2 * (1 - p2) / n2) / (first + p2 * (1 - p2) / n2)
    assert design.clusters == 20 and design.good == pytest.approx(expected, rel=1e-9)
    test = ordinal.unpaired(Counts(0, 50, 50), Counts(10, 20, 20), confidence=0.9, design_effect=design.ordinal)
    assert (
        design.ordinal > 1
        and test.p_greater > ordinal.unpaired(Counts(0, 50, 50), Counts(10, 20, 20), confidence=0.9).p_greater
    )


def test_the_clustered_better_gate_passes_at_most_alpha_of_the_time_when_raters_differ_but_models_do_not():
    """Each cluster's two raters are more or less lenient; the two sides are equally good.
    Ignoring the clusters, the one-sided test at 0.05 would pass far more often."""
    rng = random.Random("clustered null")
    repetitions, clustered_passes, naive_passes = 800, 0, 0
    for _ in range(repetitions):
        cases = []
        for cluster in range(60):
            lenient_model, lenient_base = rng.gauss(0, 1.0), rng.gauss(0, 1.0)
            for item in range(10):
                model = Rating.GOOD if rng.random() < 1 / (1 + math.exp(-lenient_model)) else Rating.OKAY
                base = Rating.GOOD if rng.random() < 1 / (1 + math.exp(-lenient_base)) else Rating.OKAY
                case_id = f"c{cluster}-{item}"
                cases.append(CaseResult(case_id, "sad", model, base, rater=f"m{cluster}", baseline_rater=f"b{cluster}"))
        clustered = summarize(cases, alpha=0.05).overall.comparison
        clustered_passes += clustered.good.p_greater < 0.05
        pairs = [(c.rating, c.baseline_rating) for c in cases]
        naive_passes += proportions.paired(good_pairs(pairs), confidence=0.9).p_greater < 0.05
    allowed = 0.05 + 3 * math.sqrt(0.05 * 0.95 / repetitions)
    assert clustered_passes / repetitions <= allowed
    assert naive_passes / repetitions > allowed


def test_rater_columns_are_numbered_and_checked(tmp_path):
    rows = [
        {"id": f"r{i}", "emotion": "sad", "situation": "s", "utterance": "u", "rating_human": 3, "annotator_human": who}
        for i, who in enumerate(["5f3a-secret-id", "other-person", "5f3a-secret-id"])
    ]
    corpus = load_file(write_corpus(tmp_path / "c.csv", rows))
    assert [row.raters["human"] for row in corpus.rows] == ["1", "2", "1"]
    rows[1]["annotator_human"] = " "
    with pytest.raises(CorpusError, match=r"c\.csv, row 2: empty rater_human"):
        load_file(write_corpus(tmp_path / "c.csv", rows))
    for row in rows:
        row.pop("rating_human")
        row["annotator_human"] = "x"
    with pytest.raises(CorpusError, match=r"row 1: rater_human without rating_human"):
        load_file(write_corpus(tmp_path / "c.csv", rows))
