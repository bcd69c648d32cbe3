"""The plugin end to end, through pytester; the tests of what workers do under -p no:xdist, -n 0 and -n 2."""

from __future__ import annotations

import itertools
import json
import re

import pytest

from pytest_empathy.plugin.options import GROUPS, OPTIONS
from pytest_empathy.results.document import SCHEMA

from .conftest import XDIST_MODES, read_report, synthetic_rows, write_corpus

USAGE_ERROR = int(pytest.ExitCode.USAGE_ERROR)


def test_release_reproduction_passes_the_gate(run_benchmark, pytester):
    result = run_benchmark("--empathy-model=chatgpt-empathy", "-v")
    assert result.ret == 0
    result.assert_outcomes(passed=2000)
    result.stdout.fnmatch_lines(
        [
            "*pytest-empathy*",
            "corpus welivita-pu-2024: 2000 of 2000 cases rated, complete",
            "clustered ratings: 400 raters; design effect overall 1.40 (Good rate), 1.39 (ordinal); *",
            "study's test, overall (chi-square of independence, 2x3): "
            "chi2 134.1241, dof 2, p 7.504e-30, Cramer's V 0.183",
            # Clustered: the interval about 1.2 times as wide as it would be for independent ratings.
            "overall * 2000/2000 * +15.4 pts [[]+12, +18] * +31% [[]+24%,+39%] * < 1e-15 * better * chi2 p < 1e-15",
            "caring * 66/66 * n.s. * exact p 0.810",
            "PASSED better: Good rate 64.8% (n 2000) vs baseline 49.3% (n 2000): +15.4 pts *paired*",
            "PASSED no-more-bad: Bad rate 7.1% vs baseline 17.1%: -10.0 pts * is below the margin +5 pts *",
        ]
    )
    report = read_report(pytester)
    assert report["complete"] and report["passed"]
    assert report["overall"]["good_gain_relative"] == pytest.approx(1295 / 986 - 1)
    assert report["overall"]["model"] == {"bad": 142, "okay": 563, "good": 1295}
    assert report["overall"]["baseline"] == {"bad": 342, "okay": 672, "good": 986}
    assert report["polarity"]["positive"]["n"] == 881
    assert len(report["emotions"]) == 32
    assert {"p_holm", "cramers_v", "dof", "test", "good_rate_test", "verdict", "note"} <= report["emotions"][
        "afraid"
    ].keys()
    assert report["schema"] == SCHEMA and report["methods"]["paired"] is True and report["methods"]["clustered"]
    assert round(report["overall"]["statistic"], 4) == 134.1241 and f"{report['overall']['p_value']:.3e}" == "7.504e-30"
    assert {g["name"] for g in report["gates"]} == {
        "complete",
        "better",
        "no-more-bad",
        "min-good-gain",
        "no-emotion-worse",
    }


def test_json_result_is_identical_in_every_xdist_mode(run_benchmark, pytester):
    reports = {}
    for mode, args in XDIST_MODES.items():
        run_benchmark("--empathy-model=chatgpt", "--empathy-sample=20", *args)
        reports[mode] = (pytester.path / "report.json").read_text()
    assert reports["n0"] == reports["no-xdist"] == reports["n2"]
    assert json.loads(reports["n2"])["corpus"]["cases"] == 640


@pytest.mark.parametrize("selection", ["-k caring", "--empathy-emotions=caring"])
def test_one_emotion_without_a_significant_gain_fails_the_gate(run_benchmark, pytester, selection):
    result = run_benchmark("--empathy-model=chatgpt-empathy", *selection.split())
    assert result.ret == 1
    result.assert_outcomes(passed=66)
    result.stdout.fnmatch_lines(
        [
            "FAILED better: Good rate 65.2% (n 66) vs baseline 68.2% (n 66): -3.0 pts [[]-17.7 pts, +11.8 pts] "
            "(90% CI, paired); not shown better "
            "(one-sided Tango score (McNemar at no difference), p=0.634, alpha 0.05)",
            "empathy gate failed: better: *",
            "empathy gate failed: min-good-gain: relative Good gain -4.4%, lower bound -23.9% * <= +0.0%",
        ]
    )
    report = read_report(pytester)
    assert not report["passed"] and report["corpus"]["cases"] == 66
    assert report["overall"]["test"] == "exact"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--empathy-alpha=0"], "--empathy-alpha: '0' is not between 0 and 1 (exclusive)"),
        (["--empathy-alpha=1.5"], "--empathy-alpha: '1.5' is not between 0 and 1 (exclusive)"),
        (["--empathy-alpha=nan"], "--empathy-alpha: 'nan' is not a finite number"),
        (["--empathy-sample=0"], "--empathy-sample: '0' is not a positive whole number"),
        (["--empathy-sample=two"], "--empathy-sample: 'two' is not a whole number"),
        (["--empathy-seed=x"], "--empathy-seed: 'x' is not a whole number"),
        (["--empathy-emotions=afraid,bored"], "--empathy-emotions: unknown emotion(s) bored *"),
        (["--empathy-gate=maybe"], "--empathy-gate: 'maybe' is not one of better, not-worse, off"),
        (["--empathy-min-good-gain=-2"], "--empathy-min-good-gain: '-2' is not a relative gain above -1"),
        (["--empathy-baseline=robots"], "--empathy-baseline: 'robots' is not one of human-raters, judge"),
        (["--empathy-judge=gpt-5"], "--empathy-judge: unknown judge 'gpt-5'*"),
        (["--empathy-corpus=absent.csv"], "--empathy-corpus: *absent.csv: cannot read the corpus file*"),
        (["--empathy-report=."], "--empathy-report: * is a directory; name a file"),
    ],
)
@pytest.mark.bad_input
def test_bad_option_values_are_usage_errors_naming_the_option(run_benchmark, args, message):
    result = run_benchmark("--empathy-model=chatgpt", *args)
    assert result.ret == USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {message}"])


@pytest.mark.bad_input
def test_unknown_model_lists_the_recorded_responders(run_benchmark):
    result = run_benchmark("--empathy-model=mixtral-9000")
    assert result.ret == USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: --empathy-model: unknown responder 'mixtral-9000': corpus welivita-pu-2024 "
            "records chatgpt, chatgpt-empathy, human; model profiles: gpt-4, gpt-4o-mini, llama-2, "
            "mixtral, gemini-pro, smollm2-135m"
        ]
    )


def test_ini_settings_apply_and_the_command_line_wins(run_benchmark, pytester):
    pytester.makeini(
        "[pytest]\nempathy_model = chatgpt-empathy\nempathy_emotions = caring\n"
        "empathy_gate = not-worse\nempathy_margin = 20\nempathy_min_good_gain = -0.3\nempathy_bad_margin = 20\n"
    )
    result = run_benchmark()
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        ["PASSED not-worse: *", "PASSED no-more-bad: * margin +20 pts *", "PASSED min-good-gain: *"]
    )
    result = run_benchmark("--empathy-gate=not-worse", "--empathy-margin=10")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["FAILED not-worse: * the lower bound -17.7 pts is not above the margin -10 pts *"])
    pytester.makeini("[pytest]\nempathy_model = chatgpt\nempathy_alpha = 7\n")
    result = run_benchmark()
    assert result.ret == USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: empathy_alpha (ini): '7' is not between 0 and 1 (exclusive)"])


def test_without_a_model_other_suites_are_untouched(pytester, xdist_mode):
    """Nothing added without a model, on the controller and on xdist's workers alike."""
    pytester.makepyfile("def test_plain():\n    assert 1 + 1 == 2\n")
    result = pytester.runpytest(*xdist_mode)
    assert result.ret == 0
    result.assert_outcomes(passed=1)
    assert "pytest-empathy" not in result.stdout.str()


def test_help_shows_every_option_once_in_groups_by_task_each_in_two_lines_at_most(pytester, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    result = pytester.runpytest("--help")
    assert result.ret == 0
    lines = result.stdout.lines
    for group in GROUPS:
        assert lines.count(f"{group.title}:") == 1
    # An option's line starts two spaces in; its help's further lines are indented deeper.
    starts = [i for i, line in enumerate(lines) if re.match(r"  --empathy-", line)]
    shown = [lines[i].split()[0].split("=")[0] for i in starts]
    assert sorted(shown) == sorted(option.flag for option in OPTIONS)
    for i, flag in zip(starts, shown, strict=True):
        section = list(itertools.takewhile(lambda line: line.startswith(" " * 10), lines[i + 1 : i + 4]))
        lines_of_help = len(section) + (len(lines[i].split()) > 1)
        assert lines_of_help <= 2, (flag, lines[i : i + 4])
        group = next(g for g in GROUPS if flag in g.flags)
        heading = next(line for line in reversed(lines[:i]) if line.startswith("pytest-empathy"))
        assert heading == f"{group.title}:", flag


def test_benchmark_without_a_model_says_how_to_run_it(run_benchmark):
    result = run_benchmark("-rs")
    assert result.ret == 0
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*pytest-empathy: no --empathy-model (or --empathy-calibrate) given*"])


def test_the_evaluate_fixture_is_made_once_from_no_other_fixture(pytester):
    # pytest resolves a fixture's arguments on every test that uses it, even a session
    # fixture's: one taking pytestconfig cost a fifth of a large replay.
    pytester.makepyfile(
        test_empathy="""
made = []

def test_empathy(empathy_case, empathy_evaluate, request):
    fixturedef = request.node._fixtureinfo.name2fixturedefs["empathy_evaluate"][-1]
    assert (fixturedef.scope, fixturedef.argnames) == ("session", ())
    made.append(id(empathy_evaluate))
    assert len(set(made)) == 1
    empathy_evaluate(empathy_case)
"""
    )
    result = pytester.runpytest("--empathy-model=chatgpt", "--empathy-sample=1", "--empathy-gate=off")
    result.assert_outcomes(passed=32)


def test_sampling_is_the_same_on_every_worker_and_follows_the_seed(run_benchmark, pytester, xdist_mode):
    def case_ids(*args):
        result = run_benchmark("--empathy-model=chatgpt", "--empathy-sample=2", "--empathy-gate=off", *args)
        assert result.ret == 0
        return [case["id"] for case in read_report(pytester)["cases"]]

    first = case_ids("--empathy-seed=7", *xdist_mode)
    assert len(first) == 64
    assert case_ids("--empathy-seed=7", "-p", "no:xdist") == first
    assert case_ids("--empathy-seed=8", *xdist_mode) != first


def ratings_corpus(pytester, rating):
    return write_corpus(pytester.path / "corpus.csv", synthetic_rows(per_emotion=12, rating=rating))


def test_corpus_file_with_human_ratings_and_a_significantly_worse_emotion(run_benchmark, pytester):
    # The bot is rated Good everywhere but on 'sad', where it is always Bad and the humans
    # always Good; elsewhere humans get Okay, and Good one time in three.
    ratings_corpus(pytester, lambda emotion, i: (1, 3) if emotion == "sad" else (3, 3 if i % 3 == 0 else 2))
    result = run_benchmark("--empathy-model=bot", "--empathy-corpus=corpus.csv")
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "PASSED better: *",
            "FAILED no-emotion-worse: Good rate significantly lower after Holm: sad (one-sided Holm p*)",
        ]
    )
    report = read_report(pytester)
    assert report["emotions"]["sad"]["direction"] == "worse"
    assert report["emotions"]["sad"]["significant"]
    assert report["corpus"]["name"] == "corpus"


def test_corpus_without_human_ratings_uses_the_release_counts(run_benchmark, pytester):
    rows = synthetic_rows(per_emotion=3, rating=lambda e, i: (3, 1))
    for row in rows:
        del row["rating_human"]
    write_corpus(pytester.path / "corpus.jsonl", rows)
    result = run_benchmark("--empathy-model=bot", "--empathy-corpus=corpus.jsonl")
    assert result.ret == 0
    report = read_report(pytester)
    assert "built-in per-emotion counts" in report["baseline_rates"]
    assert report["overall"]["baseline"] == {"bad": 342, "okay": 672, "good": 986}
    assert report["emotions"]["afraid"]["n"] == 3


@pytest.mark.bad_input
def test_judge_human_needs_ratings_of_the_model(run_benchmark, pytester):
    write_corpus(pytester.path / "corpus.csv", synthetic_rows(per_emotion=2))
    result = run_benchmark("--empathy-model=bot", "--empathy-corpus=corpus.csv")
    assert result.ret == USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --empathy-judge: corpus corpus has no ratings of 'bot'; *"])


def test_gate_modes(run_benchmark, pytester):
    # The bot is rated like the humans but for one more Okay in two emotions: a little
    # worse, not significantly (286 Good against 288).
    def rating(emotion, i):
        human = 3 if i % 4 else 2
        return (2 if emotion in ("afraid", "angry") and i == 1 else human, human)

    ratings_corpus(pytester, rating)
    args = ("--empathy-model=bot", "--empathy-corpus=corpus.csv")
    assert run_benchmark(*args).ret == 1
    # Not worse needs a margin: "not significantly worse" is no evidence of "not worse".
    result = run_benchmark(*args, "--empathy-gate=not-worse")
    assert result.ret == USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --empathy-gate not-worse needs --empathy-margin POINTS: *"])
    assert run_benchmark(*args, "--empathy-margin=5").ret == USAGE_ERROR
    # Under not-worse the Good-rate gain is checked only when a minimum is given.
    result = run_benchmark(*args, "--empathy-gate=not-worse", "--empathy-margin=5")
    assert result.ret == 0
    assert [g["name"] for g in read_report(pytester)["gates"]] == [
        "complete",
        "not-worse",
        "no-more-bad",
        "no-emotion-worse",
    ]
    assert run_benchmark(*args, "--empathy-gate=not-worse", "--empathy-margin=5", "--empathy-min-good-gain=0").ret == 1
    result = run_benchmark(*args, "--empathy-gate=not-worse", "--empathy-margin=5", "--empathy-min-good-gain=-0.2")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        ["PASSED not-worse: *", "PASSED min-good-gain: relative Good gain -0.7%, lower bound -2.1% * > -20.0%"]
    )
    # A margin below the run's own lower bound fails: the drop could be that large.
    assert run_benchmark(*args, "--empathy-gate=not-worse", "--empathy-margin=1").ret == 1
    result = run_benchmark(*args, "--empathy-gate=off")
    assert result.ret == 0
    assert [g["name"] for g in read_report(pytester)["gates"]] == ["complete"]


FAILING_CASE = """
from pytest_empathy.ratings import Rating

def test_empathy(empathy_case, empathy_evaluate):
    if empathy_case.case_id == "caring-hit:10251_conv:20503":
        raise RuntimeError("the responder fell over")
    assert empathy_evaluate(empathy_case).rating in Rating
"""


def test_an_unrated_case_makes_the_run_incomplete(pytester, xdist_mode):
    pytester.makepyfile(test_empathy=FAILING_CASE)
    result = pytester.runpytest(
        "--empathy-model=chatgpt-empathy",
        "--empathy-emotions=caring,sad",
        "--empathy-report=report.json",
        *xdist_mode,
    )
    assert result.ret == 1
    result.assert_outcomes(passed=126, failed=1)
    result.stdout.fnmatch_lines(
        [
            "corpus welivita-pu-2024: 126 of 127 cases rated, INCOMPLETE",
            "empathy gate failed: complete: 126 of 127 cases rated; without a rating: "
            "test_empathy.py::test_empathy[[]caring-hit:10251_conv:20503[]]: incomplete run, no statistics computed",
        ]
    )
    assert "overall " not in result.stdout.str()
    report = read_report(pytester)
    assert report["complete"] is False and report["overall"] is None and report["passed"] is False


def test_allow_partial_labels_every_figure(pytester):
    pytester.makepyfile(test_empathy=FAILING_CASE)
    result = pytester.runpytest(
        "--empathy-model=chatgpt-empathy",
        "--empathy-emotions=caring,sad",
        "--empathy-report=report.json",
        "--empathy-allow-partial",
        "--empathy-gate=off",
    )
    assert result.ret == 1  # the failed test still fails the run; the statistics are reported
    result.stdout.fnmatch_lines(
        [
            "PARTIAL: every figure below is computed on the cases rated so far",
            "PASSED complete: 126 of 127 cases rated; * (partial run allowed: every figure is partial)",
        ]
    )
    report = read_report(pytester)
    assert report["partial"] and not report["complete"]
    assert report["overall"]["n"] == 126 and report["overall"]["partial"]
    assert all(e["partial"] for e in report["emotions"].values())


CRASHING_WORKER = """
import os, signal
from pytest_empathy.ratings import Rating

def test_empathy(empathy_case, empathy_evaluate):
    if empathy_case.case_id == "caring-hit:10251_conv:20503":
        os.kill(os.getpid(), signal.SIGKILL)
    assert empathy_evaluate(empathy_case).rating in Rating
"""


@pytest.mark.fault
def test_a_worker_that_dies_makes_the_run_incomplete(pytester):
    pytester.makepyfile(test_empathy=CRASHING_WORKER)
    result = pytester.runpytest(
        "--empathy-model=chatgpt-empathy",
        "--empathy-emotions=caring,sad",
        "--empathy-report=report.json",
        "-n",
        "2",
    )
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "*worker 'gw*' crashed while running 'test_empathy.py::test_empathy[[]caring-hit:10251_conv:20503[]]'*",
            "corpus welivita-pu-2024: 126 of 127 cases rated, INCOMPLETE",
        ]
    )
    report = read_report(pytester)
    assert report["complete"] is False and report["overall"] is None
