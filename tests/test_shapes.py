"""No ordinal difference is not the same distribution: within an emotion, two distributions of
different shapes can have a relative effect of 1/2 (half Bad, half Good against all Okay),
and no test of it the plugin had holds its size over that whole null at an emotion's sizes.
So an emotion's unpaired ordinal comparison decides nothing and says so in every output;
no-emotion-worse judges such emotions on their Good rate; the several-emotion statistic
still decides, and holds its size on the smoke corpus's shape."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from benchmarks.exact_sizes import EMOTION_LEVEL, brunner_munzel_p, compositions, null_pairs, shape_size
from pytest_empathy.analysis import ordinal
from pytest_empathy.analysis.gates import Completeness, check_gates
from pytest_empathy.analysis.versus_baseline import summarize
from pytest_empathy.corpus import release
from pytest_empathy.modes import GateMode, GateTest
from pytest_empathy.ratings import Counts, Rating
from pytest_empathy.results.case import CaseResult

from .conftest import read_report, synthetic_rows, write_corpus

LEVELS = (0.05, 0.01, EMOTION_LEVEL)
# Half Bad, half Good: no ordinal difference from a group rated all Okay.
POLARISED = (0.5, 0.0, 0.5)


@pytest.mark.parametrize(("n1", "n2"), [(2, 62), (5, 62), (19, 62), (20, 62), (2, 300), (40, 300)])
@pytest.mark.parametrize("alpha", LEVELS)
def test_an_emotion_polarised_against_all_okay_is_never_called_better_or_worse(n1, n2, alpha):
    """Every sample of the polarised side against all Okay, weighed by its multinomial
    probability: the plugin's own comparison rejects none of them (the permutation test it
    used called 2 against 62 better 25% of the time at alpha 0.05, and 5 against 62 19%)."""
    firsts = compositions(n1)
    weights = stats.multinomial.pmf(firsts, n1, POLARISED)
    decided = [ordinal.unpaired(Counts(*a), Counts(0, n2, 0), confidence=1 - 2 * alpha) for a in firsts]
    rejected = np.array([t.p_greater is not None and (t.p_greater < alpha or t.p_less < alpha) for t in decided])
    assert weights @ rejected == 0
    assert all(t.undecided and t.delta_ci is None for t in decided)


def test_the_null_pairs_have_no_ordinal_difference_and_hold_the_extreme_shapes():
    """Checked by brute force: P(X > Y) = P(X < Y) for every pair, over the 3 x 3 outcomes."""
    firsts, seconds = null_pairs()
    higher = np.array([[float(x > y) for y in range(3)] for x in range(3)])
    assert np.allclose(
        np.einsum("pi,ij,pj->p", firsts, higher, seconds), np.einsum("pi,ji,pj->p", firsts, higher, seconds)
    )
    assert np.allclose(firsts.sum(1), 1) and np.allclose(seconds.sum(1), 1) and (seconds >= 0).all()
    shapes = {tuple(np.round(pair, 6)) for pair in np.hstack([firsts, seconds])}
    # The polarised side against all Okay, and a point mass against itself.
    assert (*POLARISED, 0.0, 1.0, 0.0) in shapes and (1.0, 0.0, 0.0, 1.0, 0.0, 0.0) in shapes


def test_the_enumerations_brunner_munzel_is_scipys():
    """Where the two groups both vary and overlap, with 20 or more ratings a side (no floor)."""
    rng = np.random.default_rng(29)
    for n1, n2 in [(20, 62), (40, 62)]:
        firsts, seconds = np.array(compositions(n1), float), np.array(compositions(n2), float)
        p = brunner_munzel_p(firsts, seconds)
        checked = 0
        while checked < 40:
            i, j = rng.integers(len(firsts)), rng.integers(len(seconds))
            x, y = (np.repeat([1, 2, 3], c.astype(int)) for c in (firsts[i], seconds[j]))
            if len(set(x)) < 2 or len(set(y)) < 2:
                continue
            expected = stats.brunnermunzel(x, y, alternative="greater").pvalue
            # scipy's alternative "greater": the first sample's values tend to be larger.
            assert p[i, j] == pytest.approx(expected, rel=1e-7, abs=1e-12), (firsts[i], seconds[j])
            checked += 1


@pytest.mark.parametrize(("n1", "n2"), [(2, 62), (5, 62), (40, 62)])
def test_no_number_of_ratings_per_side_holds_the_whole_null(n1, n2):
    """The rule, re-derived: at every level the plugin uses, Brunner and Munzel's worst size
    over the whole null exceeds the level by more than a third, from the smoke corpus's 2
    ratings an emotion to 40 against the release's 62 (62 against 62 exceeds at an emotion's
    level: the README's table). No smaller side's size makes it decide."""
    for alpha in LEVELS:
        assert shape_size(n1, n2, alpha) > 4 / 3 * alpha, alpha


def polarised_against(baseline: np.ndarray) -> np.ndarray:
    """Bad or Good only, with no ordinal difference from ``baseline``: P(X > Y) = P(X < Y)."""
    below, above = baseline[0] + baseline[1], baseline[1] + baseline[2]
    return np.array([below / (below + above), 0.0, above / (below + above)])


REPETITIONS = 4000
SE = math.sqrt(0.05 * 0.95 / REPETITIONS)


@pytest.mark.parametrize("shape", ["polarised against the crowd", "polarised against all Okay"])
def test_the_standardized_ordinal_effect_holds_its_size_on_the_smoke_shape(shape):
    """Seeded simulation: 2 ratings an emotion over 32 emotions against the crowd's 62-odd,
    every emotion with no ordinal difference but different shapes. Monte Carlo SE 0.34
    points at 4,000 runs; each direction's rate at most alpha plus 3 SE (measured: better 3.6%
    and worse 2.7% against the crowd, 5.4% and 5.2% against all Okay)."""
    human = release.human_counts()
    rng = np.random.default_rng(29)
    drawn = []
    for counts in human.values():
        crowd = np.array(counts.as_tuple()) / counts.n
        model, baseline = (polarised_against(crowd), crowd) if shape.endswith("crowd") else (POLARISED, np.eye(3)[1])
        drawn.append((rng.multinomial(2, model, REPETITIONS), rng.multinomial(counts.n, baseline, REPETITIONS)))
    better = worse = 0
    for run in range(REPETITIONS):
        strata = [(Counts(*map(int, model[run])), Counts(*map(int, baseline[run]))) for model, baseline in drawn]
        test = ordinal.standardized(strata, confidence=0.9)
        better += test.p_greater < 0.05
        worse += test.p_less < 0.05
    assert max(better, worse) / REPETITIONS <= 0.05 + 3 * SE, (better, worse)


@pytest.mark.parametrize("n", [2, 20])
def test_an_undecided_emotion_is_judged_on_its_good_rate_in_the_gates(n):
    """Rated Bad throughout against a crowd rated mostly Okay: the emotion's ordinal effect is
    -1, reported, and still decides nothing; no-emotion-worse judges the emotion on its Good
    rate, whose test holds its size there (counted as not worse, a model rated Bad throughout
    passed it): 0 of 2 Good cannot be told from 17 of 62, 0 of 20 can."""
    cases = [CaseResult(f"sad-{i}", "sad", Rating.BAD) for i in range(n)]
    baseline = {"sad": Counts(5, 40, 17)}
    summary = summarize(cases, alpha=0.05, decides=GateTest.ORDINAL, per_emotion_baseline=baseline)
    group = summary.emotions["sad"]
    assert group.comparison.ordinal.delta < -0.9 and group.verdict is None and group.p_worse is None
    gates = {
        g.name: g
        for g in check_gates(summary, Completeness(n, n), mode=GateMode.BETTER, min_good_gain=None, allow_partial=False)
    }
    good = group.comparison.good
    assert good is not None
    worse = good.p_less < 0.05
    assert worse == (n == 20)
    assert gates["no-emotion-worse"].passed is not worse
    assert gates["no-emotion-worse"].detail.startswith(
        "1 of 1 emotions' ordinal effect undecided (too few ratings to tell an ordinal difference from a difference "
        "in shape within an emotion): every emotion judged on its Good rate instead; "
    )
    # One emotion is the whole run: better rests on it, and is undecided.
    better = gates["better"]
    assert not better.passed and better.detail.startswith(f"undecided: too few ratings ({n} against 62)")


EMOTIONS = ("afraid", "joyful", "sad")


def test_every_output_says_an_emotions_ordinal_comparison_is_undecided(
    run_benchmark, pytester, xdist_args, monkeypatch
):
    """A small corpus rated by the model alone, against the crowd's counts per emotion: each
    emotion undecided in the JSON, the terminal (wide, 80 columns and -q), Markdown and HTML."""
    rows = synthetic_rows(2, emotions=EMOTIONS)
    for i, row in enumerate(rows):
        row["rating_bot"] = 3 if i % 2 else 1
    write_corpus(pytester.path / "small.csv", rows)
    common = ["--empathy-model=bot", "--empathy-corpus=small.csv", "--empathy-test=ordinal", *xdist_args]
    result = run_benchmark(*common, "--empathy-markdown=summary.md", "--empathy-html=report.html")
    report = read_report(pytester)
    for emotion in EMOTIONS:
        entry = report["emotions"][emotion]["ordinal"]
        assert entry["undecided"].startswith("undecided: too few ratings (2 against ")
        assert (entry["p_better"], entry["p_worse"], entry["delta_ci"], entry["verdict"]) == (None, None, None, None)
    assert report["overall"]["ordinal"]["undecided"] is None and report["overall"]["ordinal"]["p_better"] is not None
    undecided = "*no-emotion-worse: 3 of 3 emotions' ordinal effect undecided*judged on its Good rate instead*"
    # The emotions' rows, each undecided, are left out of the table, which counts them.
    result.stdout.fnmatch_lines(["*positive*undecided*", "*3 emotions*(3 undecided)*", undecided])
    assert (pytester.path / "summary.md").read_text().count("undecided") >= 3
    assert (pytester.path / "report.html").read_text().count("undecided") >= 3
    monkeypatch.setenv("COLUMNS", "80")
    narrow = run_benchmark(*common)
    narrow.stdout.fnmatch_lines(["*positive*undecided", "*(3 undecided)*", "*no-emotion-worse: 3 of 3 emotions'*"])
    quiet = run_benchmark(*common, "-q")
    quiet.stdout.fnmatch_lines(["PASSED no-emotion-worse: 3 of 3 emotions' ordinal effect undecided*"])
