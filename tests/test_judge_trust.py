"""A judge model and the raters of the baseline: like for like by default, "mixed raters"
said everywhere when the user asks for the crowd."""

from __future__ import annotations

import html
import json

import pytest

from .conftest import read_report, synthetic_rows, write_corpus


def run_stub(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest(
        "--empathy-model=stub",
        "--empathy-judge=stub",
        "--empathy-report=report.json",
        "--empathy-markdown=summary.md",
        "--empathy-html=report.html",
        "--empathy-record=once",
        "--empathy-allow-partial",
        "-p",
        "no:cacheprovider",
        *args,
    )


def test_a_judge_model_rates_the_human_responses_by_default(stub, pytester):
    rows = synthetic_rows(per_emotion=2, emotions=("afraid", "sad"))
    for row in rows:
        row["response_human"] = f"I am sorry to hear that ({row['id']})."
    write_corpus(pytester.path / "with_humans.csv", rows)
    result = run_stub(pytester, "--empathy-corpus=with_humans.csv", "--empathy-gate=off")
    report = read_report(pytester)
    assert report["baseline"] == "judge" and report["mixed_raters"] is None, result.stdout.str()
    assert all(case["baseline_rating"] for case in report["cases"])
    assert "mixed raters" not in result.stdout.str().lower()


def test_without_human_responses_a_judge_model_needs_the_crowd_asked_for(stub, pytester):
    result = run_stub(pytester, "--empathy-corpus=corpus.csv")
    assert result.ret == 4
    result.stderr.fnmatch_lines(
        ["*--empathy-baseline: judge 'stub' is a model*needs a response_human column*--empathy-baseline human-raters*"]
    )


def test_mixed_raters_are_said_in_every_output(stub, pytester):
    result = run_stub(pytester, "--empathy-corpus=corpus.csv", "--empathy-baseline=human-raters")
    report = read_report(pytester)
    mixed = "mixed raters: stub vs the crowd"
    assert report["mixed_raters"] == mixed and report["gates"]
    assert all(gate["detail"].startswith(mixed) for gate in report["gates"])
    result.stdout.fnmatch_lines(["MIXED RATERS: STUB VS THE CROWD: the judge rates the model, the crowd rated*"])
    assert all(mixed in line for line in result.stdout.lines if line.startswith(("PASSED ", "FAILED ")))
    assert mixed in (pytester.path / "summary.md").read_text()
    assert mixed in (pytester.path / "report.html").read_text()
    # A merge of shards keeps it.
    shard = json.loads((pytester.path / "report.json").read_text())
    assert shard["mixed_raters"] == mixed


def test_a_judge_model_is_named_uncalibrated_in_every_output(stub, pytester):
    result = run_stub(pytester, "--empathy-corpus=corpus.csv", "--empathy-baseline=human-raters")
    standing = "uncalibrated judge: its agreement with the crowd's ratings has not been measured"
    assert read_report(pytester)["judge_standing"] == standing
    result.stdout.fnmatch_lines([f"judge stub: {standing}"])
    assert standing in (pytester.path / "summary.md").read_text()
    assert html.escape(standing) in (pytester.path / "report.html").read_text()


def test_the_crowd_rating_both_sides_is_not_mixed_and_needs_no_calibration(run_benchmark, pytester):
    result = run_benchmark("--empathy-model=chatgpt-empathy", "--empathy-sample=2")
    report = read_report(pytester)
    assert report["mixed_raters"] is None and report["judge_standing"] is None
    assert "uncalibrated" not in result.stdout.str()
