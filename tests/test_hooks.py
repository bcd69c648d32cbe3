"""The hooks of ``pytest_empathy.hookspec``, each implemented by a plugin as a user writes
one: a conftest.py under pytest, an installed entry point under the ``pytest-empathy`` command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_empathy.analysis.gates import Completeness, GateResult
from pytest_empathy.errors import InputError
from pytest_empathy.evaluation.extensions import EmpathyPlugins, Extensions
from pytest_empathy.ratings import Rating
from pytest_empathy.reports.registry import ReportFormat
from pytest_empathy.results.case import CaseResult
from pytest_empathy.settings import StatisticsSettings

from .conftest import read_report

# A plugin as a user writes one: a format of its own, its own Markdown, a field and a gate.
PLUGIN = """
from pytest_empathy import GateResult, ReportFormat


def verdict_line(document):
    return f"{document['model']}: {'passed' if document['passed'] else 'failed'}\\n"


def pytest_empathy_report_formats():
    return [ReportFormat("verdict", "verdict", "verdict line", "write the verdict in one line", verdict_line)]


def pytest_empathy_render_report(report_format, document):
    if report_format.name == "markdown":
        return f"# {document['model']}, as the team reads it\\n"
    return None


def pytest_empathy_update_json(document, extra):
    extra["team"] = "empathy-ci"
    extra["cases_seen"] = document["corpus"]["rated"]


def pytest_empathy_gates(cases, summary, completeness, statistics):
    return [GateResult("no-sad-bad", False, f"{len(cases)} cases, at alpha {statistics.alpha}")]
"""
RUN = ("--empathy-model=chatgpt", "--empathy-emotions=sad", "--empathy-gate=off", "-p", "no:xdist")


@pytest.fixture
def with_plugin(run_benchmark, pytester):
    pytester.makeconftest(PLUGIN)
    return run_benchmark


def test_a_plugins_format_is_written_with_empathy_output(with_plugin, pytester):
    result = with_plugin(*RUN, "--empathy-output=verdict=verdict.txt")
    # The plugin's own gate fails the run, and its format renders the verdict it sees.
    assert (pytester.path / "verdict.txt").read_text() == "chatgpt: failed\n"
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["verdict line: verdict.txt"])


def test_a_plugins_format_may_be_named_in_the_ini_file(with_plugin, pytester):
    pytester.makeini("[pytest]\nempathy_output =\n    verdict=out/verdict.txt\n")
    (pytester.path / "out").mkdir()
    with_plugin(*RUN)
    assert (pytester.path / "out" / "verdict.txt").read_text() == "chatgpt: failed\n"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("nosuch=x.txt", "--empathy-output: 'nosuch=x.txt': no report format 'nosuch' (known: csv, html, json"),
        ("verdict", "--empathy-output: 'verdict': give a format and a path as NAME=PATH"),
        ("json=x.json", "--empathy-output: 'json=x.json': json is a built-in report format, written with an option"),
    ],
)
def test_an_unknown_malformed_or_built_in_output_is_a_usage_error(with_plugin, value, message):
    result = with_plugin(*RUN, f"--empathy-output={value}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{message}*"])


def test_an_unknown_output_in_the_ini_file_is_named_as_the_ini_key(with_plugin, pytester):
    pytester.makeini("[pytest]\nempathy_output =\n    nosuch=x.txt\n")
    result = with_plugin(*RUN)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*empathy_output (ini): 'nosuch=x.txt': no report format 'nosuch'*"])


# Two plugins giving one format name: only a run that writes a plugin's format asks them.
CLASHING = """
from pytest_empathy import ReportFormat


def pytest_empathy_report_formats():
    return [ReportFormat("verdict", "verdict", "another verdict", "", lambda document: "")]
"""


def test_plugins_that_clash_on_a_format_name_fail_only_the_runs_that_write_one(with_plugin, pytester):
    pytester.makepyfile(clashing=CLASHING)
    assert with_plugin(*RUN, "-p", "clashing").ret == pytest.ExitCode.TESTS_FAILED
    result = with_plugin(*RUN, "-p", "clashing", "--empathy-output=verdict=v.txt")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*report formats named twice by the installed plugins: verdict*"])
    assert "INTERNALERROR" not in result.stderr.str()


# A format that shows each case's answer: the run keeps the answers for it, as for the HTML report.
SHOWING = """
from pytest_empathy import ReportFormat


def answers(document):
    return "\\n".join(case.get("response") or "-" for case in document["cases"])


def pytest_empathy_report_formats():
    return [ReportFormat("answers", "answers", "answers", "", answers, shows_responses=True)]
"""


def test_a_plugins_format_that_shows_answers_gets_them(run_benchmark, pytester, release_file):
    pytester.makeconftest(SHOWING)
    text = f"--empathy-corpus-text={release_file}"
    assert run_benchmark(*RUN, text, "--empathy-output=answers=answers.txt").ret == 0
    shown = (pytester.path / "answers.txt").read_text().splitlines()
    assert len(shown) == read_report(pytester)["corpus"]["rated"] and "-" not in shown
    assert all("response" in case for case in read_report(pytester)["cases"])
    # A run that writes no report showing them keeps no answer.
    assert run_benchmark(*RUN, text).ret == 0
    assert all("response" not in case for case in read_report(pytester)["cases"])


def test_a_plugin_renders_a_built_in_format_its_own_way(with_plugin, pytester):
    with_plugin(*RUN, "--empathy-markdown=summary.md", "--empathy-csv=cases.csv")
    assert (pytester.path / "summary.md").read_text() == "# chatgpt, as the team reads it\n"
    # The formats it returns None for are rendered as ever.
    assert (pytester.path / "cases.csv").read_text().startswith("id,emotion,polarity,rating,baseline_rating\n")


def test_the_hooks_are_pytests_own_a_misspelt_argument_is_refused(run_benchmark, pytester):
    pytester.makeconftest("def pytest_empathy_gates(cases, summry):\n    return None\n")
    result = run_benchmark(*RUN)
    assert result.ret != 0
    assert "pytest_empathy_gates" in result.stderr.str() and "summry" in result.stderr.str()


def test_a_plugin_adds_fields_and_a_gate_to_the_run(with_plugin, pytester):
    result = with_plugin(*RUN)
    report = read_report(pytester)
    assert report["extra"] == {"cases_seen": report["corpus"]["rated"], "team": "empathy-ci"}
    assert report["gates"][-1] == {"name": "no-sad-bad", "passed": False, "detail": report["gates"][-1]["detail"]}
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_without_plugins_the_json_result_has_no_extra(run_benchmark, pytester):
    assert run_benchmark(*RUN).ret == 0
    assert "extra" not in read_report(pytester)


class _Plugin:
    def __init__(self, name: str) -> None:
        self.name = name

    def pytest_empathy_update_json(self, document, extra):
        extra[self.name] = len(document)

    def pytest_empathy_gates(self, cases, summary, completeness, statistics):
        return [GateResult(self.name, True, "")]

    def pytest_empathy_report_formats(self):
        return [ReportFormat(self.name, self.name, self.name, "", lambda document: self.name)]


def test_the_extensions_answer_in_the_same_order_whatever_the_plugins_order():
    answers = []
    for names in (("b-plugin", "a-plugin"), ("a-plugin", "b-plugin")):
        plugins = EmpathyPlugins()
        for name in names:
            plugins.register(_Plugin(name))
        extensions = Extensions(plugins.hook)
        case = CaseResult("sad-1", "sad", Rating.GOOD)
        gates = extensions.gates([case], None, Completeness(1, 1), StatisticsSettings())
        formats = [report.name for report in extensions.formats()]
        answers.append((list(extensions.json_fields({"model": "m"})), [gate.name for gate in gates], formats))
    assert answers[0] == answers[1]
    assert answers[0] == (
        ["a-plugin", "b-plugin"],
        ["a-plugin", "b-plugin"],
        ["json", "html", "markdown", "csv", "a-plugin", "b-plugin"],
    )


def test_a_format_named_twice_is_an_error():
    plugins = EmpathyPlugins()
    plugins.register(_Plugin("csv"))
    with pytest.raises(InputError, match="report formats named twice by the installed plugins: csv"):
        Extensions(plugins.hook).formats()


def installed(site: Path) -> dict[str, str]:
    """The plugin installed as a distribution with an entry point of group pytest_empathy,
    in ``site``, and the environment that puts it on the command's path."""
    (site / "empathy_team.py").write_text(PLUGIN)
    info = site / "empathy_team-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: empathy-team\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[pytest_empathy]\nteam = empathy_team\n")
    path = os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path}


def test_the_command_loads_entry_point_plugins_for_report_and_merge(run_benchmark, pytester, tmp_path):
    assert run_benchmark(*RUN).ret == 0
    environment = installed(tmp_path)

    def command(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pytest_empathy.cli", *args],
            cwd=pytester.path,
            env=environment,
            capture_output=True,
            text=True,
            check=False,
        )

    done = command("report", "report.json", "--write", "verdict=verdict.txt", "--markdown", "summary.md")
    assert done.returncode == 0, done.stderr
    assert (pytester.path / "verdict.txt").read_text() == "chatgpt: passed\n"
    assert (pytester.path / "summary.md").read_text() == "# chatgpt, as the team reads it\n"
    done = command("merge", "report.json", "-o", "merged.json", "--write", "verdict=merged.txt")
    assert (pytester.path / "merged.txt").exists(), done.stderr
    done = command("report", "report.json", "--write", "nosuch=x.txt")
    assert done.returncode == 2
    assert "pytest-empathy: error: --write: 'nosuch=x.txt': no report format 'nosuch'" in done.stderr
    assert json.loads((pytester.path / "report.json").read_text())["model"] == "chatgpt"
