"""Reports people read: HTML, Markdown, CSV, JUnit properties, the header, and the command
that renders and merges JSON results."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ElementTree
from dataclasses import replace
from html.parser import HTMLParser

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_empathy.emotions import EMOTIONS
from pytest_empathy.formatting import change, gain, p_value
from pytest_empathy.ratings import Rating
from pytest_empathy.reports.markdown import escape
from pytest_empathy.results.case import CaseResult, Usage
from pytest_empathy.settings import StatisticsSettings

from .conftest import cli, paired_cases, read_report, run, synthetic_rows, write_corpus
from .release_figures import release_cases
from .stub_server import completion, default_answer, is_judge_request


class Page(HTMLParser):
    """The parts of the HTML report a test looks at; parsing fails loudly on broken markup."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.rows: list[dict[str, str]] = []
        self.options: list[str] = []
        self.text: list[str] = []
        self.open: list[str] = []
        self.cells: list[list[str]] = []  # each table row's cells, as text

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th"):
            self.open.pop()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "img":
            self.images.append(values.get("src") or "")
        elif tag == "tr" and "data-emotion" in values:
            self.rows.append({k: v or "" for k, v in values.items()})
        elif tag == "option" and values.get("value"):
            self.options.append(values["value"] or "")
        if tag == "tr":
            self.cells.append([])
        elif tag in ("td", "th"):
            self.cells[-1].append("")
            self.open.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self.open:
            self.cells[-1][-1] += data


def test_html_markdown_and_csv_of_the_release_reproduction(run_benchmark, pytester, release_file, monkeypatch):
    summary = pytester.path / "step-summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = run_benchmark(
        "--empathy-model=chatgpt-empathy",
        f"--empathy-corpus-text={release_file}",
        "--empathy-html=out/report.html",
        "--empathy-markdown=out/summary.md",
        "--empathy-csv=out/cases.csv",
        "-n",
        "2",
    )
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "empathy: model chatgpt-empathy, judge human, baseline human-raters, corpus welivita-pu-2024 (2000 cases)",
            "HTML report: *out/report.html",
        ]
    )
    page = Page()
    page.feed((pytester.path / "out" / "report.html").read_text())
    page.close()
    text = " ".join(page.text)
    assert len(page.images) == 3 and all(src.startswith("data:image/png;base64,") for src in page.images)
    assert "http" not in "".join(page.images)
    assert sorted(page.options) == sorted(EMOTIONS)
    assert len(page.rows) == 2000 and {row["data-emotion"] for row in page.rows} == set(EMOTIONS)
    assert {row["data-rating"] for row in page.rows} == {"bad", "okay", "good"}
    for emotion in EMOTIONS:
        assert emotion in text
    assert "PASSED" in text and "no-emotion-worse" in text and "complete" in text

    markdown = (pytester.path / "out" / "summary.md").read_text()
    assert markdown.startswith("### pytest-empathy: chatgpt-empathy passed\n")
    assert (
        "| overall | 2000 | 64.8% | 49.3% | +15.4 pts [+12, +18] | +31% | +0.18 [+0.15,+0.21] | better | chi2 < 1e-15 |"
        in markdown
    )
    assert "| better | passed |" in markdown
    assert "5 of 32 emotions differ significantly after Holm under the good-rate test" in markdown
    assert "Tango score" in markdown and "intervals: 90% (unadjusted: overall and polarity" in markdown
    assert "99.69% (Bonferroni over 32 emotions, simultaneous: each one-sided bound at alpha / 32)" in markdown
    assert summary.read_text() == "earlier step\n" + markdown

    frame = pd.read_csv(pytester.path / "out" / "cases.csv")
    assert len(frame) == 2000
    assert list(frame.columns) == ["id", "emotion", "polarity", "rating", "baseline_rating", "utterance", "response"]
    assert frame["rating"].value_counts().to_dict() == {"good": 1295, "okay": 563, "bad": 142}


def test_html_without_text_says_why(run_benchmark, pytester):
    assert (
        run_benchmark(
            "--empathy-model=chatgpt", "--empathy-emotions=sad", "--empathy-gate=off", "--empathy-html=report.html"
        ).ret
        == 0
    )
    html = (pytester.path / "report.html").read_text()
    assert "No text in this result" in html and "<th>utterance</th>" not in html


def test_junit_properties_and_live_usage(stub, pytester):
    result = run(pytester, "--empathy-record=once", "--junitxml=junit.xml")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "empathy: model stub, judge stub, baseline human-raters, corpus corpus (8 cases), "
            "record mode once, cassettes *",
            "live calls to stub-model: 16, tokens 160 prompt + 80 completion",
        ]
    )
    cases = ElementTree.parse(pytester.path / "junit.xml").getroot().iter("testcase")
    properties = [{p.get("name"): p.get("value") for p in case.iter("property")} for case in cases]
    assert len(properties) == 8
    first = properties[0]
    assert first["empathy_emotion"] == "afraid" and first["empathy_rating"] == "good"
    assert first["empathy_cassette"] == "cassettes/stub/afraid/afraid-afraid0.json"
    assert read_report(pytester)["usage"] == {
        "stub-model": {"calls": 16, "prompt_tokens": 160, "completion_tokens": 80}
    }
    replay = run(pytester)
    assert "live calls" not in replay.stdout.str()
    assert read_report(pytester)["usage"] == {}


_text = st.text(st.characters(codec="utf-8", exclude_characters=" "), min_size=1, max_size=12)


@given(
    st.builds(
        CaseResult,
        case_id=_text,
        emotion=st.sampled_from(EMOTIONS),
        rating=st.sampled_from(Rating),
        baseline_rating=st.none() | st.sampled_from(Rating),
        response=st.none() | st.text(min_size=1),
        cassette=st.none() | _text,
        usage=st.dictionaries(_text, st.builds(Usage, *[st.integers(0, 9**9)] * 3)),
        rater=st.none() | _text,
        baseline_rater=st.none() | _text,
    )
)
def test_a_result_travels_whole_on_its_reports_properties(result):
    assert CaseResult.from_properties(result.to_properties(with_response=True)) == result
    without = CaseResult.from_properties(result.to_properties())
    assert without == replace(result, response=None)
    # Properties of few values are one object for every report that carries them.
    again = replace(result, case_id=result.case_id + "x").to_properties()
    assert all(a is b for a, b in zip(result.to_properties()[1:3], again[1:3], strict=True))


# How shards merge does not depend on the corpus's size: five emotions of the release, not its
# 2,000 cases; their counts are taken independently from the figures the package ships.
SHARDED = ("afraid", "apprehensive", "caring", "joyful", "sad")
SELECTED = f"--empathy-emotions={','.join(SHARDED)}"


def run_shard(run_benchmark, model: str, selection: str, name: str) -> pytest.RunResult:
    """The shard of the five emotions' cases that ``-k selection`` picks, its result in ``name``.json."""
    return run_benchmark(
        f"--empathy-model={model}", SELECTED, "-k", selection, "--empathy-shard", f"--empathy-report={name}.json"
    )


def test_merged_halves_equal_the_whole_run(run_benchmark, pytester):
    whole = run_benchmark("--empathy-model=chatgpt-empathy", SELECTED, "--empathy-report=whole.json")
    assert whole.ret == 0
    for name, selection in (("a", "afraid or caring or sad"), ("b", "not (afraid or caring or sad)")):
        assert run_shard(run_benchmark, "chatgpt-empathy", selection, name).ret == 0
    half = json.loads((pytester.path / "a.json").read_text())
    assert half["corpus"]["cases"] == release_cases(("afraid", "caring", "sad"))
    done = cli("merge", "a.json", "b.json", "-o", "merged.json", "--markdown", "merged.md", cwd=pytester.path)
    assert done.returncode == 0, done.stderr
    n = release_cases(SHARDED)
    assert done.stdout == f"chatgpt-empathy: {n} of {n} cases rated, passed\n"
    assert (pytester.path / "merged.json").read_text() == (pytester.path / "whole.json").read_text()
    rendered = cli("report", "whole.json", "--markdown", "whole.md", "--html", "whole.html", cwd=pytester.path)
    assert rendered.returncode == 0
    assert (pytester.path / "whole.md").read_text() == (pytester.path / "merged.md").read_text()
    assert "<!doctype html>" in (pytester.path / "whole.html").read_text()


def test_a_shard_that_never_ran_leaves_the_merge_incomplete(run_benchmark, pytester):
    for name, selection in (("a", "afraid"), ("b", "sad")):
        run_shard(run_benchmark, "chatgpt-empathy", selection, name)
    done = cli("merge", "a.json", "b.json", "-o", "merged.json", cwd=pytester.path)
    assert done.returncode == 1
    rated, selected = release_cases(("afraid", "sad")), release_cases(SHARDED)
    assert (
        f"FAILED complete: {rated} of {selected} cases rated; without a rating: {selected - rated} selected case(s) "
        "in no shard" in done.stdout
    )
    merged = json.loads((pytester.path / "merged.json").read_text())
    assert merged["complete"] is False and merged["overall"] is None


@pytest.mark.parametrize(
    ("first", "second", "message"),
    [
        (
            ["--empathy-model=chatgpt"],
            ["--empathy-model=chatgpt-empathy"],
            "differ in model: 'chatgpt-empathy' against 'chatgpt'",
        ),
        (["--empathy-alpha=0.01"], ["--empathy-alpha=0.05"], "differ in settings"),
        (["-k", "sad"], ["-k", "sad or caring"], "case sad-hit:* is in both a.json and b.json: shards overlap"),
    ],
)
def test_mismatched_or_overlapping_shards_do_not_merge(run_benchmark, pytester, first, second, message):
    for name, args in (("a", first), ("b", second)):
        model = [] if any(a.startswith("--empathy-model") for a in args) else ["--empathy-model=chatgpt"]
        run_benchmark(
            *model, *args, "--empathy-emotions=sad,caring", "--empathy-shard", f"--empathy-report={name}.json"
        )
    done = cli("merge", "a.json", "b.json", "-o", "merged.json", cwd=pytester.path)
    assert done.returncode == 2
    assert pytest.LineMatcher(done.stderr.splitlines()).fnmatch_lines([f"pytest-empathy: error: *{message}*"]) is None
    assert not (pytester.path / "merged.json").exists()


def test_a_merge_compares_with_a_saved_run_as_the_whole_run_does(run_benchmark, pytester):
    assert run_benchmark("--empathy-model=chatgpt-empathy", SELECTED, "--empathy-save=accepted").ret == 0
    compare = ["--empathy-compare=accepted", "--empathy-compare-fail=decline,emotion-decline,good-drop:2"]
    whole = run_benchmark("--empathy-model=chatgpt", SELECTED, *compare, "--empathy-report=whole.json")
    for name, selection in (("a", "afraid or caring or sad"), ("b", "not (afraid or caring or sad)")):
        assert run_shard(run_benchmark, "chatgpt", selection, name).ret == 0
    saved = "benchmarks/saved-runs/accepted.json"
    checks = "decline,emotion-decline,good-drop:2"
    done = cli(
        "merge",
        "a.json",
        "b.json",
        "-o",
        "merged.json",
        "--compare",
        saved,
        "--compare-fail",
        checks,
        cwd=pytester.path,
    )
    expected = json.loads((pytester.path / "whole.json").read_text())
    merged = json.loads((pytester.path / "merged.json").read_text())
    assert expected["comparison"]["compared"] == release_cases(SHARDED)
    assert {k: v for k, v in merged["comparison"].items() if k != "path"} == {
        k: v for k, v in expected["comparison"].items() if k != "path"
    }
    assert merged["gates"] == expected["gates"] and merged["passed"] == expected["passed"]
    assert done.returncode == whole.ret == (0 if expected["passed"] else 1)
    failed = [f"FAILED {g['name']}: {g['detail']}" for g in expected["gates"] if not g["passed"]]
    assert done.stdout.splitlines()[1:] == failed


@pytest.mark.bad_input
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--compare-fail", "decline"], "--compare-fail: name the saved run to compare with, with --compare SAVED_RUN"),
        (["--compare", "accepted.json", "--compare-fail", "declined"], "--compare-fail: 'declined' is not a check*"),
        (["--compare", "nowhere.json"], "*nowhere.json*"),
    ],
)
def test_bad_merge_comparison_options_are_one_line_naming_them(run_benchmark, pytester, args, message):
    saving = run_benchmark(
        "--empathy-model=chatgpt", "--empathy-emotions=sad", "--empathy-gate=off", "--empathy-save=accepted"
    )
    assert saving.ret == 0
    shutil.copy(pytester.path / "benchmarks/saved-runs/accepted.json", pytester.path / "accepted.json")
    for name, selection in (("a", "sad-hit:1"), ("b", "not sad-hit:1")):
        run_benchmark(
            "--empathy-model=chatgpt",
            "--empathy-emotions=sad",
            "-k",
            selection,
            "--empathy-shard",
            f"--empathy-report={name}.json",
        )
    done = cli("merge", "a.json", "b.json", "-o", "merged.json", *args, cwd=pytester.path)
    assert done.returncode == 2
    assert len(done.stderr.splitlines()) == 1
    assert pytest.LineMatcher(done.stderr.splitlines()).fnmatch_lines([f"pytest-empathy: error: {message}"]) is None
    assert not (pytester.path / "merged.json").exists()


def test_every_report_format_has_its_option_and_command_flag(pytester):
    from pytest_empathy.reports.registry import FORMATS

    options = pytester.runpytest("--help").stdout.str()
    flags = cli("report", "--help", cwd=pytester.path).stdout
    for report in FORMATS:
        assert report.flag in options
        assert report.name == "json" or f"--{report.name}" in flags


def test_a_result_of_schema_2_is_reported_with_its_statistics_computed_again(run_benchmark, pytester):
    assert run_benchmark("--empathy-model=chatgpt", "--empathy-emotions=sad,caring", "--empathy-gate=off").ret == 0
    current = json.loads((pytester.path / "report.json").read_text())
    old = {key: value for key, value in current.items() if key not in ("methods", "warnings")} | {"schema": 2}
    old["settings"] = {k: v for k, v in current["settings"].items() if k not in ("margin", "require_power")}
    old["overall"]["test"] = "from an older version"  # statistics the migration must not keep
    (pytester.path / "old.json").write_text(json.dumps(old))
    done = cli("report", "old.json", "--markdown", "old.md", cwd=pytester.path)
    assert done.returncode == 0, done.stderr
    markdown = (pytester.path / "old.md").read_text()
    assert "Tango score" in markdown and "from an older version" not in markdown


def test_a_merge_never_writes_over_one_of_its_inputs(run_benchmark, pytester):
    for name, selection in (("a", "sad"), ("b", "not sad")):
        run_benchmark(
            "--empathy-model=chatgpt",
            "--empathy-emotions=sad,caring",
            "--empathy-shard",
            f"--empathy-report={name}.json",
            "-k",
            selection,
        )
    before = (pytester.path / "a.json").read_text()
    done = cli("merge", "a.json", "b.json", "-o", "./a.json", cwd=pytester.path)
    assert done.returncode == 2
    assert "-o a.json is the same file as the input a.json (a result to merge)" in done.stderr
    assert (pytester.path / "a.json").read_text() == before


def briefer_template(pytester: pytest.Pytester) -> str:
    """A changed response template, which the stub's answer functions tell by its words, as
    the option that names it."""
    template = pytester.path / "template.txt"
    template.write_text("Respond briefly to: {situation} {utterance}\n")
    return f"--empathy-template={template}"


DISMISSIVE = "Whatever, it happens to everyone."
HURRIED = "Okay, noted."


def declining_answer(body: dict) -> tuple[int, dict[str, str], bytes]:
    """The stub under a changed template: afraid cases get a dismissive answer, rated Bad, sad
    ones a hurried one, rated Okay; the rest answer and rate as before."""
    content = body["messages"][0]["content"]
    if is_judge_request(body):
        rating = "Bad" if DISMISSIVE in content else "Okay" if HURRIED in content else "Good"
        return 200, {"content-type": "application/json"}, completion(rating)
    if "Respond briefly" in content and "feel afraid" in content:
        return 200, {"content-type": "application/json"}, completion(DISMISSIVE)
    if "Respond briefly" in content and "feel sad" in content:
        return 200, {"content-type": "application/json"}, completion(HURRIED)
    return default_answer(body)


def test_markdown_and_html_show_the_comparison_with_a_saved_run(stub, pytester):
    emotions = ("afraid", "caring", "joyful", "sad")
    write_corpus(pytester.path / "corpus.csv", synthetic_rows(per_emotion=10, emotions=emotions))
    reports = ("--empathy-markdown=summary.md", "--empathy-html=report.html")
    assert run(pytester, "--empathy-record=once", "--empathy-save=accepted", *reports).ret == 0
    assert "Compared with saved run" not in (pytester.path / "summary.md").read_text()
    assert "<details>" not in (pytester.path / "summary.md").read_text()
    assert "Compared with saved run" not in (pytester.path / "report.html").read_text()

    stub.answer_of = declining_answer
    result = run(
        pytester,
        briefer_template(pytester),
        "--empathy-record=new_episodes",
        "--empathy-compare=accepted",
        "--empathy-compare-fail=decline,emotion-decline",
        *reports,
    )
    assert result.ret == 1
    comparison = read_report(pytester)["comparison"]
    overall, emotion = comparison["overall"], comparison["emotions"]
    assert (overall["saved"], overall["run"]) == (
        {"bad": 0, "okay": 0, "good": 40},
        {"bad": 10, "okay": 10, "good": 20},
    )
    assert [e for e, entry in emotion.items() if entry["verdict"] == "worse"] == ["afraid", "sad"]
    saved, now = comparison["templates"]["saved"], comparison["templates"]["run"]
    assert saved["response"] != now["response"] and saved["judge"] == now["judge"]

    def figures(entry: dict) -> list[str]:
        """A group's figures from the JSON, as the reports must show them."""
        good = entry["good_rate_test"]
        worse = good["statistic"] < 0
        return [
            "/".join(str(entry["saved"][k]) for k in ("bad", "okay", "good")),
            "/".join(str(entry["run"][k]) for k in ("bad", "okay", "good")),
            f"{entry['good_rate_saved']:.1%}",
            f"{entry['good_rate_run']:.1%}",
            change(entry["good_change"], entry["good_change_ci"]),
            p_value(good["p_worse" if worse else "p_better"]),
        ]

    markdown = (pytester.path / "summary.md").read_text()
    header, compared = markdown.split("#### Compared with saved run")
    assert "<details>" not in header and "| model Good |" not in header
    # The comparison first: in CI it is what decides; the table against the baseline follows.
    assert "| group | n | model Good | baseline Good |" in compared.split("</details>")[1]
    assert header.startswith(
        "### pytest-empathy: stub FAILED (gates against the baseline off: completeness and the comparison "
        "with the saved run decided)\n"
    )
    shown, folded = compared.split("<details>")
    assert shown.startswith(" accepted\n")
    assert "40 cases in both; 0 only in this run, 0 only in the saved run" in shown
    assert f"- response template: saved `{saved['response'][:12]}`, now `{now['response'][:12]}` (**CHANGED**)" in shown
    assert f"- judge template: saved `{saved['judge'][:12]}`, now `{now['judge'][:12]}` (unchanged)" in shown
    assert "one-sided Tango score (paired), McNemar's exact where few cases changed" in shown
    assert "Stuart-Maxwell" in shown
    assert "Good change [90% CI]" in shown
    # 20 fell of 20 discordant: McNemar's exact test, the interval Tango's widened to hold the
    # mapped Clopper-Pearson bound, 1 - 0.05 ** (1 / 20) of the 20 at most rising: -36 pts.
    assert figures(overall)[:5] == ["0/0/40", "10/10/20", "100.0%", "50.0%", "-50.0 pts [-63, -36]"]
    for name in ("overall", "negative", "positive"):
        entry = overall if name == "overall" else comparison["polarity"][name]
        whole = f"{entry['test']} {p_value(entry['p_value'])}"
        assert f"| {name} | {entry['n']} | {' | '.join(figures(entry))} | " in shown and whole in shown
    afraid, sad = (emotion[e]["good_rate_test"]["p_worse_holm"] for e in ("afraid", "sad"))
    assert (
        f"**Declined significantly after Holm**: afraid (p Holm {p_value(afraid)}), sad (p Holm {p_value(sad)})."
        in shown
    )
    assert folded.startswith("<summary>Per emotion: 4 compared, 2 declined significantly</summary>\n\n| emotion |")
    assert "\n\n</details>\n" in folded and "| compare decline |" not in folded.split("</details>")[0]
    for name, entry in emotion.items():
        holm = p_value(entry["good_rate_test"]["p_worse_holm" if name in ("afraid", "sad") else "p_better_holm"])
        assert f"| {name} | 10 | {' | '.join(figures(entry))} | {holm} |" in folded
        assert f"| {name} |" not in shown
    assert "| compare emotion-decline | **FAILED** |" in markdown

    page = Page()
    page.feed((pytester.path / "report.html").read_text())
    page.close()
    text = "".join(page.text)
    assert "Compared with saved run accepted" in text and "Tango score (paired)" in text
    assert comparison["tests"] in text
    assert ["response", saved["response"][:12], now["response"][:12], "CHANGED"] in page.cells
    assert ["judge", saved["judge"][:12], now["judge"][:12], "unchanged"] in page.cells
    rows = {cells[0]: cells for cells in page.cells if len(cells) == 13}
    for name, entry in [("overall", overall), *comparison["polarity"].items(), *emotion.items()]:
        assert rows[name][2:8] == figures(entry)
        assert rows[name][12] == f"{entry['test']} {p_value(entry['p_value'])}"
    assert rows["afraid"][11] == "worse" and rows["caring"][11] == "n.s."
    assert f"Declined significantly after Holm: afraid (p Holm {p_value(afraid)})" in text


def test_markdown_says_when_no_emotion_differs_or_declines(stub, pytester):
    """Two cases per emotion: too few for any emotion to differ significantly after Holm."""
    assert run(pytester, "--empathy-record=once", "--empathy-save=same", "--empathy-markdown=summary.md").ret == 0
    markdown = (pytester.path / "summary.md").read_text()
    assert "No emotion of 4 differs significantly after Holm under the good-rate test." in markdown
    assert "listed above" not in markdown and "| afraid |" not in markdown
    assert "Compared with saved run" not in markdown

    assert run(pytester, "--empathy-compare=same", "--empathy-markdown=summary.md").ret == 0
    markdown = (pytester.path / "summary.md").read_text()
    assert "| overall | 8 | 0/0/8 | 0/0/8 | 100.0% | 100.0% | +0.0 pts [" in markdown
    assert "No emotion declined significantly after Holm." in markdown and "Declined significantly" not in markdown
    assert "<summary>Per emotion: 4 compared, 0 declined significantly</summary>" in markdown
    assert "(unchanged)" in markdown and "CHANGED" not in markdown


HOSTILE = "Whatever | <script>alert('x')</script>\nmoving on & on"


def worse_on_known_cases(body: dict) -> tuple[int, dict[str, str], bytes]:
    """Under the default template joyful cases get a hurried answer, rated Okay; under a
    changed one ("Respond briefly") afraid cases get a hostile answer (markup, a pipe, a
    newline), rated Bad, sad ones a hurried one, rated Okay, and joyful ones the usual
    answer, rated Good."""
    content = body["messages"][0]["content"]
    if is_judge_request(body):
        rating = "Bad" if "alert(" in content else "Okay" if HURRIED in content else "Good"
        return 200, {"content-type": "application/json"}, completion(rating)
    briefly = "Respond briefly" in content
    for emotion, under_new_template, answer in (
        ("afraid", True, HOSTILE),
        ("sad", True, HURRIED),
        ("joyful", False, HURRIED),
    ):
        if f"feel {emotion}" in content and briefly == under_new_template:
            return 200, {"content-type": "application/json"}, completion(answer)
    return default_answer(body)


def accepted_then_briefer(stub, pytester: pytest.Pytester, per_emotion: int, *args: str) -> str:
    """A run of the stub answering as ``worse_on_known_cases``, recorded and saved as
    ``accepted``; returns the option of the changed template it answers worse under."""
    write_corpus(
        pytester.path / "corpus.csv", synthetic_rows(per_emotion, emotions=("afraid", "caring", "joyful", "sad"))
    )
    stub.answer_of = worse_on_known_cases
    assert run(pytester, "--empathy-record=once", "--empathy-save=accepted", *args).ret == 0
    return briefer_template(pytester)


def test_every_report_names_the_cases_that_changed_with_both_answers(stub, pytester, xdist_mode):
    usual = json.loads(default_answer({"messages": [{"content": ""}]})[2])["choices"][0]["message"]["content"]
    result = run(
        pytester,
        accepted_then_briefer(stub, pytester, 12, *xdist_mode),
        "--empathy-record=new_episodes",
        "--empathy-compare=accepted",
        "--empathy-compare-fail=decline",
        "--empathy-markdown=summary.md",
        "--empathy-html=report.html",
        *xdist_mode,
    )
    assert result.ret == 1

    def ids(emotion: str) -> list[str]:
        return sorted(f"{emotion}-{emotion}{i}" for i in range(12))

    expected = (
        [(case_id, "good", "bad", usual, HOSTILE) for case_id in ids("afraid")]
        + [(case_id, "good", "okay", usual, HURRIED) for case_id in ids("sad")]
        + [(case_id, "okay", "good", HURRIED, usual) for case_id in ids("joyful")]
    )
    changed = read_report(pytester)["comparison"]["changed_cases"]
    assert (changed["count"], changed["worse"], changed["better"]) == (36, 24, 12)
    assert [
        (c["case_id"], c["saved"], c["run"], c["saved_response"], c["run_response"]) for c in changed["cases"]
    ] == expected
    assert {c["emotion"] for c in changed["cases"][:12]} == {"afraid"}

    result.stdout.fnmatch_lines(
        [
            "36 case(s) changed rating since the saved run: 24 worse, 12 better",
            "worst first: afraid-afraid0 (good -> bad), afraid-afraid1 (good -> bad), afraid-afraid10 (good -> bad); "
            "33 more in the JSON result",
        ]
    )

    markdown = (pytester.path / "summary.md").read_text()
    # Last, under the gates: the summary opens with the comparison, and the cases are its detail.
    gates, listing = markdown.split('<details id="changed-cases"><summary>36 cases changed (24 worse)</summary>\n')
    assert "| compare decline | **FAILED** |" in gates and listing.endswith("</details>\n")
    folded = listing.removesuffix("</details>\n")
    rows = [
        line
        for line in folded.splitlines()
        if line.startswith("| ") and line.count(" -> ") == 1 and not line.startswith("| case ")
    ]
    assert len(rows) == 20 and "\nand 16 more in the JSON result\n" in folded
    # Each markup character escaped with a backslash, as every string of the summary is.
    hostile = "Whatever \\| \\<script\\>alert('x')\\</script\\> moving on \\& on"
    assert rows[0] == f"| afraid-afraid0 | afraid | good -> bad | {escape(usual)} | {hostile} |"
    assert rows[12] == f"| sad-sad0 | sad | good -> okay | {escape(usual)} | {escape(HURRIED)} |"
    assert "<script>" not in markdown

    html = (pytester.path / "report.html").read_text()
    assert "<script>alert" not in html
    assert "<title>pytest-empathy: stub against saved run accepted</title>" in html
    page = Page()
    page.feed(html)
    page.close()
    listed = [row for row in page.rows if "data-direction" in row]
    assert [row["data-direction"] for row in listed] == ["worse"] * 24 + ["better"] * 12
    assert [row["data-emotion"] for row in listed] == ["afraid"] * 12 + ["sad"] * 12 + ["joyful"] * 12
    cells = [c for c in page.cells if len(c) == 7 and c[0] in {case[0] for case in expected}]
    assert [(c[0], c[2], c[3], c[5], c[6]) for c in cells] == expected


def test_merged_shards_report_the_answers_and_changed_cases_of_the_whole_run(stub, pytester):
    """Shards written without a report that shows text still carry the answers: the merged
    HTML shows every answer, and its comparison lists the same changed cases."""
    changed = accepted_then_briefer(stub, pytester, 4)
    assert run(pytester, changed, "--empathy-record=new_episodes").ret == 0
    whole = run(
        pytester, changed, "--empathy-compare=accepted", "--empathy-html=whole.html", "--empathy-report=whole.json"
    )
    assert whole.ret == 0
    for name, selection in (("a", "afraid or caring"), ("b", "joyful or sad")):
        shard = run(pytester, changed, "-k", selection, "--empathy-shard", f"--empathy-report={name}.json")
        assert shard.ret == 0
    saved = "benchmarks/saved-runs/accepted.json"
    done = cli(
        "merge", "a.json", "b.json", "-o", "merged.json", "--compare", saved, "--html", "merged.html", cwd=pytester.path
    )
    assert done.returncode == 0, done.stderr
    expected = json.loads((pytester.path / "whole.json").read_text())
    merged = json.loads((pytester.path / "merged.json").read_text())
    assert merged["cases"] == expected["cases"] and all(case.get("response") for case in merged["cases"])
    assert merged["comparison"]["changed_cases"] == expected["comparison"]["changed_cases"]
    assert merged["comparison"]["changed_cases"]["count"] == 12

    def cases_section(name: str) -> str:
        return (pytester.path / name).read_text().split("<h2>Cases</h2>")[1]

    assert cases_section("merged.html") == cases_section("whole.html")
    assert cases_section("merged.html").count(HOSTILE.split("|")[0]) == 4


def test_an_emotions_note_says_its_study_p_is_holm_adjusted():
    """The tables show the study's unadjusted p beside an emotion's note; the note cites the
    Holm-adjusted one, and says so. The page is titled by what it was decided against."""
    from pytest_empathy.analysis.gates import Completeness, decide
    from pytest_empathy.reports import html_page
    from pytest_empathy.results.document import to_json
    from pytest_empathy.results.run_result import RunIdentity, RunResult

    # sad: Bad turned Okay, the Good rate unchanged; joyful: nothing differs.
    cases = paired_cases("sad", [2] * 30 + [3] * 10, [1] * 30 + [3] * 10) + paired_cases("joyful", [3] * 20, [3] * 20)
    settings = {"alpha": 0.05, "gate": "better", "min_good_gain": None, "allow_partial": False, "test": "good-rate"}
    decision = decide(cases, Completeness(60, 60), StatisticsSettings.from_json(settings), None)
    identity = RunIdentity("m", "j", "a judge", "human-raters", "the crowd", "c", "0" * 64, 60, {}, settings)
    run = RunResult(identity, Completeness(60, 60), decision.summary, tuple(decision.gates), tuple(cases), None)
    document = to_json(run)
    sad, overall = document["emotions"]["sad"], document["overall"]
    assert sad["p_holm"] > sad["p_value"]
    assert f"differ after Holm (Holm-adjusted p {p_value(sad['p_holm'])})" in sad["note"]
    assert f"differ (p {p_value(overall['p_value'])})" in overall["note"] and "Holm-adjusted" not in overall["note"]
    assert "<h1>pytest-empathy: m against human-raters</h1>" in html_page.render(document)


def test_a_relative_gain_whose_interval_has_no_upper_end_is_shown_unbounded():
    """A valid test's ratio bound can be unbounded (no Good rating on the baseline's side to
    bound it), null in the JSON: the terminal and the HTML show it as +inf, not a crash at the
    end of the run."""
    assert gain(0.1, [-0.25, None]) == "+10% [-25%,+inf]"
    assert gain(0.1, [-0.25, 0.5]) == "+10% [-25%,+50%]"
