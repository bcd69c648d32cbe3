"""Clustered ratings: rater columns, design effects and the corrected tests, against
statsmodels' cluster-robust variance, a cluster bootstrap and a seeded simulation."""

from __future__ import annotations

import itertools
import math
import random

import numpy as np
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_empathy.analysis import clusters, ordinal, proportions
from pytest_empathy.analysis.comparison import good_pairs
from pytest_empathy.analysis.gates import Completeness, decide
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
@given(
    st.lists(
        st.tuples(st.integers(0, 5), st.integers(0, 4), st.sampled_from([-1.0, 0.0, 1.0])), min_size=3, max_size=40
    ),
    st.booleans(),
)
def test_design_effect_is_statsmodels_cluster_robust_over_ordinary_variance(data, two_way):
    first = np.array([a for a, _, _ in data])
    second = np.array([b for _, b, _ in data]) if two_way else np.arange(len(data))
    values = np.array([v for _, _, v in data])
    if len(set(first)) < 2 or len(set(second)) < 2 or values.var() == 0:
        return
    centred = [(v - values.mean()) / len(values) for v in values]
    found = clusters.design_effect(centred, [("m", a) for a in first], [("b", b) for b in second])
    model = sm.OLS(values, np.ones(len(values)))
    groups = np.column_stack([first, second]) if two_way else first
    # Two-way, the variance can come out negative in a small sample (the floor at 1 then applies).
    robust = model.fit(cov_type="cluster", cov_kwds={"groups": groups}).cov_params()[0, 0]
    assert found == pytest.approx(robust / model.fit().cov_params()[0, 0], rel=1e-9, abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["1", "2", "3", None]), st.sampled_from(["4", "5", None])), max_size=25))
def test_shared_pairs_count_the_case_pairs_with_a_rater_in_common(raters):
    ids = [f"c{i}" for i in range(len(raters))]
    model = dict(zip(ids, (m for m, _ in raters), strict=True))
    found = clusters.Raters(model, dict(zip(ids, (b for _, b in raters), strict=True)))
    expected = sum(
        1
        for (i, (m1, b1)), (j, (m2, b2)) in itertools.product(enumerate(raters), repeat=2)
        if i != j and ((m1 is not None and m1 == m2) or (b1 is not None and b1 == b2))
    )
    assert found.shared_pairs(ids) == expected


def test_release_design_effect_matches_a_cluster_bootstrap_over_raters():
    cases = release_cases()
    summary = summarize(cases, alpha=0.05)
    design = summary.overall.comparison.design
    assert design is not None and design.raters == 400
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
    # The model's ratings in raters' batches of five identical ratings, against counts.
    ratings = [Rating.GOOD] * 50 + [Rating.OKAY] * 50
    cases = [CaseResult(f"c{i:03}", "sad", r, rater=str(i // 5)) for i, r in enumerate(ratings)]
    summary = summarize(cases, alpha=0.05, per_emotion_baseline={"sad": Counts(10, 20, 20)})
    design = summary.overall.comparison.design
    good = np.array([float(r == Rating.GOOD) for r in ratings])
    n, p2, n2 = len(good), 20 / 50, 50
    first = good.var(ddof=1) / n
    robust = 20 / 19 * sum((good[i : i + 5].sum() - 5 * good.mean()) ** 2 for i in range(0, n, 5)) / n**2
    expected = (robust + p2 * (1 - p2) / n2) / (first + p2 * (1 - p2) / n2)
    assert design.raters == 20 and design.good == pytest.approx(expected, rel=1e-9)
    plain = ordinal.unpaired(Counts(0, 50, 50), Counts(10, 20, 20), confidence=0.9)
    assert design.ordinal > 1 and summary.overall.comparison.ordinal.p_greater > plain.p_greater


def test_an_emotions_design_effect_follows_the_runs_intraclass_correlation():
    cases = release_cases()
    summary = summarize(cases, alpha=0.05)
    overall = summary.overall.comparison.design
    raters = clusters.Raters({c.case_id: c.rater for c in cases}, {c.case_id: c.baseline_rater for c in cases})
    every = sorted(raters.model)
    # A batch of ten rated by one rater on each side: K/n is 9 overall.
    assert raters.shared_pairs(every) / len(every) == 9
    rho = (overall.good - 1) / 9
    for emotion, group in summary.emotions.items():
        ids = [c.case_id for c in cases if c.emotion == emotion]
        expected = 1 + rho * raters.shared_pairs(ids) / len(ids)
        assert group.comparison.design.good == pytest.approx(expected, rel=1e-12)
        assert 1 <= group.comparison.design.good < 1.05


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


def test_raters_whose_batches_do_not_line_up_are_corrected_two_way():
    """The baseline's raters take batches offset by five cases from the model's: joined into
    one-way clusters they would make one; two-way, the false-pass rate stays near alpha."""
    rng = random.Random("offset raters")
    repetitions, passes, naive_passes = 600, 0, 0
    for _ in range(repetitions):
        lenient_model = [rng.gauss(0, 1.0) for _ in range(61)]
        lenient_base = [rng.gauss(0, 1.0) for _ in range(61)]
        cases = []
        for i in range(600):
            m, b = i // 10, (i + 5) // 10
            model = Rating.GOOD if rng.random() < 1 / (1 + math.exp(-lenient_model[m])) else Rating.OKAY
            base = Rating.GOOD if rng.random() < 1 / (1 + math.exp(-lenient_base[b])) else Rating.OKAY
            cases.append(CaseResult(f"c{i:03}", "sad", model, base, rater=f"m{m}", baseline_rater=f"b{b}"))
        passes += summarize(cases, alpha=0.05).overall.comparison.good.p_greater < 0.05
        pairs = [(c.rating, c.baseline_rating) for c in cases]
        naive_passes += proportions.paired(good_pairs(pairs), confidence=0.9).p_greater < 0.05
    allowed = 0.05 + 3 * math.sqrt(0.05 * 0.95 / repetitions)
    assert passes / repetitions <= allowed < naive_passes / repetitions


def test_few_raters_warn():
    cases = [
        CaseResult(f"c{i:03}", "sad", Rating(1 + i % 3), Rating(1 + (i // 3) % 3), rater=str(i % 4), baseline_rater="9")
        for i in range(60)
    ]
    settings = {"alpha": 0.05, "gate": "better", "min_good_gain": None, "allow_partial": False}
    decision = decide(cases, Completeness(60, 60), settings, None)
    assert any("the ratings come from 5 raters" in warning for warning in decision.warnings)


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


def test_the_bad_rates_design_effect_is_statsmodels_two_way_cluster_robust_variance_on_the_release():
    """The Bad rate gets its own design effect, the two-way cluster-robust variance of the
    per-case Bad-rate differences over the one that takes cases as independent."""
    cases = release_cases()
    design = summarize(cases, alpha=0.05).overall.comparison.design
    values = np.array([float(c.rating == Rating.BAD) - float(c.baseline_rating == Rating.BAD) for c in cases])
    codes = {label: i for i, label in enumerate(sorted({c.rater for c in cases} | {c.baseline_rater for c in cases}))}
    groups = np.array([[codes[c.rater], codes[c.baseline_rater]] for c in cases])
    model = sm.OLS(values, np.ones(len(values)))
    robust = model.fit(cov_type="cluster", cov_kwds={"groups": groups}).cov_params()[0, 0]
    assert design.bad == pytest.approx(robust / model.fit().cov_params()[0, 0], rel=1e-9)
    assert design.bad != pytest.approx(design.good, rel=0.05)


def test_unpaired_bad_rate_clusters_enter_on_the_rated_side_only():
    ratings = [Rating.BAD] * 40 + [Rating.OKAY] * 30 + [Rating.GOOD] * 30
    cases = [CaseResult(f"c{i:03}", "sad", r, rater=str(i // 5)) for i, r in enumerate(ratings)]
    design = summarize(cases, alpha=0.05, per_emotion_baseline={"sad": Counts(10, 20, 20)}).overall.comparison.design
    bad = np.array([float(r == Rating.BAD) for r in ratings])
    n, p2, n2 = len(bad), 10 / 50, 50
    first = bad.var(ddof=1) / n
    robust = 20 / 19 * sum((bad[i : i + 5].sum() - 5 * bad.mean()) ** 2 for i in range(0, n, 5)) / n**2
    assert design.bad == pytest.approx((robust + p2 * (1 - p2) / n2) / (first + p2 * (1 - p2) / n2), rel=1e-9)
