"""The terminal summary fits a CI log: no line wider than the terminal at default verbosity
and -q, about 15 lines at -q, one at -qq, every emotion and column at -v; failures, reports
not written and the shard note show at every verbosity."""

from __future__ import annotations

import json
import re

import pytest

from pytest_empathy.reports import calibration, terminal

from .conftest import ROOT, read_report

# Five emotions of the release: two differ from the humans after Holm, three do not.
EMOTIONS = ("anxious", "apprehensive", "caring", "lonely", "sad")
SELECTED = f"--empathy-emotions={','.join(EMOTIONS)}"


def section(result: pytest.RunResult) -> list[str]:
    """The lines of a run's pytest-empathy section, below its heading."""
    lines = result.stdout.lines
    start = next(i for i, line in enumerate(lines) if re.fullmatch(r"=+ pytest-empathy =+", line))
    body = []
    for line in lines[start + 1 :]:
        if line.startswith("=") or re.match(r"\d+ (passed|failed)", line):
            break
        body.append(line)
    return body


def rows(lines: list[str]) -> set[str]:
    """The emotions with a row in a table of ``lines``."""
    return {line.split()[0] for line in lines if line.split() and line.split()[0] in EMOTIONS and len(line.split()) > 4}


def fits(lines: list[str], width: int) -> bool:
    """Whether no line is wider than ``width``, but for a single word too long for it (a path)."""
    return all(len(line) <= width or len(line.split()) == 1 for line in lines)


def gate_lines(lines: list[str], gate: dict) -> list[str]:
    return [line for line in lines if line.startswith(f"{'PASSED' if gate['passed'] else 'FAILED'} {gate['name']}: ")]


@pytest.mark.parametrize("width", [80, 100])
def test_the_release_reproduction_fits_the_terminal_and_v_shows_everything(run_benchmark, pytester, monkeypatch, width):
    monkeypatch.setenv("COLUMNS", str(width))
    args = ("--empathy-model=chatgpt-empathy", SELECTED, "-p", "no:xdist")
    default = run_benchmark(*args)
    assert default.ret == 0
    report = read_report(pytester)
    differ = {name for name, entry in report["emotions"].items() if entry["significant"] or entry["note"]}
    assert differ and differ != set(EMOTIONS)
    lines = section(default)
    header = [line for line in default.stdout.lines if line.startswith("empathy: ")]
    assert fits(lines + header, width)
    assert rows(lines) == differ
    heading = next(line for line in lines if line.startswith("group ")).split()
    assert all(column in heading for column in ("group", "n", "Holm", "verdict"))
    hidden = len(EMOTIONS) - len(differ)
    assert any(line.startswith(f"not shown: {hidden} emotions without a significant difference") for line in lines)
    assert all(len(gate_lines(lines, gate)) == 1 for gate in report["gates"])

    quiet = run_benchmark(*args, "-q")
    lines = section(quiet)
    assert len(lines) <= 15 and fits(lines, width)
    assert lines[0].startswith("chatgpt-empathy PASSED: Good ")
    assert all(len(gate_lines(lines, gate)) == 1 for gate in report["gates"])
    assert any(line.startswith("reports: JSON result") for line in lines)
    assert not rows(lines)

    verbose = run_benchmark(*args, "-v")
    lines = section(verbose)
    assert rows(lines) == set(EMOTIONS)
    table = "\n".join(lines)
    for column in ("Good gain", "Cliff delta", "ordinal p", "detects", "study test"):
        assert column in table
    assert "not shown" not in table
    # Tables keep every column at -v; prose is still wrapped.
    assert fits([line for line in lines if re.match(r"PASSED |FAILED |  \S", line)], width)


def test_a_red_comparison_reads_in_15_lines_at_q_and_in_one_at_qq(run_benchmark, pytester, monkeypatch, xdist_mode):
    monkeypatch.setenv("COLUMNS", "80")
    assert run_benchmark("--empathy-model=chatgpt-empathy", SELECTED, "--empathy-save=gpt4").ret == 0
    args = (
        "--empathy-model=human",
        SELECTED,
        "--empathy-compare=gpt4",
        "--empathy-compare-fail=decline,emotion-decline,good-drop:5",
        "--empathy-markdown=summary.md",
        *xdist_mode,
    )
    quiet = run_benchmark(*args, "-q")
    assert quiet.ret == 1
    report = read_report(pytester)
    failed = [gate["name"] for gate in report["gates"] if not gate["passed"]]
    assert "compare decline" in failed and "compare emotion-decline" in failed
    lines = section(quiet)
    assert len(lines) <= 15 and fits(lines, 80)
    assert lines[0].startswith("human FAILED: Good ")
    assert all(len(gate_lines(lines, gate)) == 1 for gate in report["gates"])
    assert any(line.startswith("against saved run gpt4: Good ") and "(worse)" in line for line in lines)
    assert any("summary.md" in line for line in lines)

    tersest = run_benchmark(*args, "-qq")
    assert tersest.ret == 1
    ours = [line for line in tersest.stdout.lines if "empathy" in line]
    assert len(ours) == 1 and ours[0].startswith("pytest-empathy: human FAILED (")
    assert all(name in ours[0] for name in failed) and "saved run gpt4" in ours[0]

    default = run_benchmark(*args)
    lines = section(default)
    assert fits(lines, 80)
    assert all(any(line.startswith(f"empathy gate failed: {name}: ") for line in lines) for name in failed)


def test_a_q_summary_stays_short_however_many_gates_warnings_and_changed_cases(run_benchmark, pytester):
    run_benchmark("--empathy-model=human", SELECTED, "--empathy-save=saved")
    assert run_benchmark("--empathy-model=chatgpt-empathy", SELECTED, "--empathy-compare=saved").ret == 0
    document = read_report(pytester)
    ids = [case["id"] for case in document["cases"]]
    document["comparison"]["changed_cases"] = {
        "count": len(ids),
        "worse": 3,
        "better": len(ids) - 3,
        "cases": [{"case_id": case_id} for case_id in ids],
    }
    files = terminal.Files(reports=(("JSON result", "report.json"),))
    lines = [line.text for line in terminal.summary(document, files, terminal.Layout(80, -1))]
    changed = next(line for line in lines if line.startswith(f"{len(ids)} cases changed (3 worse): "))
    assert changed.endswith(", ...") and ids[0] in changed and len(changed) <= 80

    many = dict(document)
    many["gates"] = [{"name": f"gate-{i}", "passed": i % 3 == 0, "detail": "why " * 40} for i in range(24)]
    many["warnings"] = ["a warning " * 20] * 5
    many["passed"] = False
    lines = terminal.summary(many, files, terminal.Layout(80, -1))
    assert len(lines) <= 15 and all(len(line.text) <= 80 for line in lines)
    assert lines[0].alarm
    assert [line.text for line in lines if line.text.startswith("PASSED")] == [
        "PASSED: gate-0, gate-3, gate-6, gate-9, gate-12, gate-15, gate-18, gate-21"
    ]
    more = next(line.text for line in lines if line.text.startswith("and "))
    shown = [line for line in lines if line.text.startswith("FAILED gate-")]
    assert more == f"and {16 - len(shown)} more failed gate(s): run without -q to read them"
    assert shown and all(line.alarm for line in shown)
    assert sum(line.text.startswith("5 warnings, the first: WARNING a warning") for line in lines) == 1


def test_shards_and_reports_not_written_are_said_at_every_verbosity(run_benchmark, pytester, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    (pytester.path / "blocker").write_text("a file, where a directory would be needed")
    args = ("--empathy-model=human", "--empathy-emotions=sad", "--empathy-shard", "--empathy-html=blocker/r.html")
    for verbosity in ("-qq", "-q", None, "-v"):
        result = run_benchmark(*args, *([verbosity] if verbosity else []))
        assert result.ret == 1
        said = "\n".join(line for line in result.stdout.lines if "empathy" in line or "HTML" in line or "shard" in line)
        assert "HTML report not written" in said, verbosity
        assert "shard" in said and "merge decides" in said, verbosity


@pytest.mark.parametrize("width", [80, 100])
def test_a_calibration_fits_the_terminal_and_says_which_figures_it_left_out(width):
    """The shipped calibration as a calibration run prints it: every line within the width,
    the gate's alpha and the quadratic kappa always shown, the figures left out named; at -v
    (no width) every figure."""
    document = json.loads((ROOT / "benchmarks" / "calibrations" / "smollm2-135m.json").read_text())
    narrow = list(calibration.lines(document, width))
    assert fits(narrow, width)
    heading = next(line for line in narrow if line.lstrip().startswith("n "))
    assert "alpha ordinal" in heading and "kappa quadratic" in heading
    shown = [title for _, title, _ in calibration._FIGURES if title in heading]
    left_out = next(line for line in narrow if line.startswith("not shown: "))
    assert all(title in left_out for _, title, _ in calibration._FIGURES if title not in shown)
    overall = f"{document['overall']['alpha_ordinal']:.3f}"
    assert any(line.startswith("overall ") and overall in line for line in narrow)
    full = list(calibration.lines(document))
    assert all(title in "\n".join(full) for _, title, _ in calibration._FIGURES)
    assert not any(line.startswith("not shown") for line in full)
