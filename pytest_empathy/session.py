"""The controller's side of a run: which cases to expect, what came back, the verdict.

Registered only on the controller (the single process without xdist). Workers send their
results on the test reports; this object collects them, and at session finish computes the
statistics, checks the gates, writes the report and sets the exit status.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from . import snapshots
from .benchmark import TEMPLATE_CHANGED, Benchmark
from .cassettes import RecordingLock, outdated, unused
from .gates import Completeness, GateResult, decide
from .regression import Check, check, compare_with_snapshot, parse_checks
from .report import (
    Recording,
    RunResult,
    failure_lines,
    terminal_lines,
    to_json,
    write_json,
    write_reports,
)
from .results import UNRECORDED, CaseResult, total_usage
from .settings import Settings, as_usage_error


class EmpathySession:
    def __init__(self, benchmark: Benchmark, *, deselecting: bool = False) -> None:
        """Checks what only the controller needs (saved runs, pruning) before any case runs;
        ``deselecting`` says whether -k or -m may leave out part of the selection."""
        self.benchmark = benchmark
        settings = benchmark.settings
        self.snapshot: dict[str, Any] | None = None
        self.checks: tuple[Check, ...] = ()
        self.save_path: Path | None = None
        if settings.save is not None:
            self.save_path = as_usage_error("--empathy-save", snapshots.snapshot_path, settings.baseline_dir, settings.save)
            if self.save_path.exists() and not settings.save_force:
                raise pytest.UsageError(
                    f"--empathy-save: {self.save_path} exists; add --empathy-save-force to replace it"
                )
        if settings.compare is not None:
            self.snapshot = self._load_snapshot(settings)
        if settings.compare_fail is not None:
            if settings.compare is None:
                raise pytest.UsageError("--empathy-compare-fail: name the saved run with --empathy-compare")
            self.checks = as_usage_error("--empathy-compare-fail", parse_checks, settings.compare_fail)
        self.lock: RecordingLock | None = None
        if benchmark.cassettes is not None and settings.record != "none":
            self.lock = RecordingLock(benchmark.cassettes.root / benchmark.cassettes.model)
            as_usage_error("--empathy-record", self.lock.acquire)
        self.partial_selection = bool(settings.emotions or settings.sample or deselecting)
        if settings.prune_cassettes and self.partial_selection:
            raise pytest.UsageError(
                "--empathy-prune-cassettes: refused for a run of part of the corpus "
                "(-k, -m, --empathy-emotions or --empathy-sample): other cases' cassettes would look unused"
            )
        self.rows = {row.case_id: row for row in benchmark.cases}
        self.case_ids = set(self.rows)
        # node id -> case id, for every collected item that runs a case
        self.expected: dict[str, str] = {}
        self.results: dict[str, CaseResult] = {}
        # node id -> why its calls have no recording
        self.unrecorded: dict[str, str] = {}
        self.run: RunResult | None = None

    def expect(self, nodeids: Iterable[str]) -> None:
        for nodeid in nodeids:
            case_id = self._case_of(nodeid)
            if case_id is not None:
                self.expected[nodeid] = case_id

    def _case_of(self, nodeid: str) -> str | None:
        """The case an item runs, read from its parameter id. Case ids hold no '[', so the
        id is what follows the last '['; a test parametrized further joins ids with '-'."""
        if not nodeid.endswith("]") or "[" not in nodeid:
            return None
        parts = nodeid[nodeid.rindex("[") + 1 : -1].split("-")
        for start in range(len(parts)):
            for stop in range(len(parts), start, -1):
                candidate = "-".join(parts[start:stop])
                if candidate in self.case_ids:
                    return candidate
        return None

    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        b = self.benchmark
        line = (f"empathy: model {b.responder.name}, judge {b.judge.name}, baseline {b.baseline.name}, "
                f"corpus {b.corpus.name} ({len(b.cases)} cases)")
        if b.cassettes is not None:
            line += f", record mode {b.settings.record}, cassettes {b.cassettes.root}"
        return [line]

    def _load_snapshot(self, settings: Settings) -> dict[str, Any]:
        if settings.compare == snapshots.LATEST:
            path = snapshots.latest(settings.baseline_dir, self.benchmark.responder.name)
            if path is None:
                raise pytest.UsageError(
                    f"--empathy-compare: no saved run of {self.benchmark.responder.name!r} in "
                    f"{settings.baseline_dir}; save one with --empathy-save NAME"
                )
        else:
            path = as_usage_error("--empathy-compare", snapshots.snapshot_path, settings.baseline_dir, settings.compare)
        return as_usage_error("--empathy-compare", snapshots.load, path) | {"path": str(path)}

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """In replay, a template changed since the cassettes were recorded fails the run
        before any case: every case it touches would fail the same way."""
        benchmark = self.benchmark
        if benchmark.cassettes is None or benchmark.settings.record != "none":
            return
        changed = outdated(benchmark.cassettes, benchmark.cases, benchmark.templates)
        if changed:
            cases = {row.case_id for rows in changed.values() for row in rows}
            which = " and the ".join(f"{role} template" for role in changed)
            pytest.exit(
                f"pytest-empathy: the {which} changed since the cassettes were recorded: "
                f"{len(cases)} of {len(benchmark.cases)} cases need re-recording. Record exactly "
                f"those (the rest is left untouched) with: {benchmark.record_command()}",
                returncode=pytest.ExitCode.TESTS_FAILED,
            )

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.expect(item.nodeid for item in session.items)

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        # Every worker collects the same items (xdist checks), so the first list is the list.
        if not self.expected:
            self.expect(ids)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call":
            return  # a case's properties are set while it runs; teardown only repeats them
        result = CaseResult.from_properties(report.user_properties)
        if result is not None:
            self.results[report.nodeid] = result
        for key, value in report.user_properties:
            if key == UNRECORDED:
                self.unrecorded[report.nodeid] = value

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if not self.expected:
            return
        settings = self.benchmark.settings
        rated = [self._with_text(self.results[n]) for n in self.expected if n in self.results]
        completeness = Completeness(
            expected=len(self.expected),
            rated=len(rated),
            missing=tuple(sorted(n for n in self.expected if n not in self.results)),
        )
        summary, gates = decide(rated, completeness, settings.to_builtins(), self.benchmark.baseline.per_emotion)
        regression = None
        if self.snapshot is not None and summary is not None:
            regression = compare_with_snapshot(rated, self.snapshot, alpha=settings.alpha)
            gates += check(regression, self.checks)
        if self.save_path is not None and not completeness.complete:
            gates.append(GateResult("save", False, f"{self.save_path} not saved: only complete runs are saved "
                                                   f"({completeness.rated} of {completeness.expected} cases rated)"))
        unused_cassettes: tuple[str, ...] = ()
        if self.benchmark.cassettes is not None and not self.partial_selection and \
                completeness.expected == len(self.benchmark.cases):
            found = unused(self.benchmark.cassettes, self.benchmark.cases, self.benchmark.corpus.name)
            if settings.prune_cassettes:
                for path in found:
                    path.unlink()
            unused_cassettes = tuple(str(p) for p in found)
        benchmark = self.benchmark
        self.run = RunResult(
            model=benchmark.responder.name,
            judge=benchmark.judge.name,
            judge_description=benchmark.judge.description,
            baseline=benchmark.baseline.name,
            baseline_description=benchmark.baseline.description,
            corpus=benchmark.corpus.name,
            corpus_sha256=benchmark.corpus.sha256,
            settings=settings.to_builtins(),
            completeness=completeness,
            summary=summary,
            gates=tuple(gates),
            cases=tuple(rated),
            templates=benchmark.templates,
            recording=self._recording(),
            regression=regression,
            unused_cassettes=unused_cassettes,
            pruned=settings.prune_cassettes,
            usage=total_usage(rated),
            baseline_per_emotion=benchmark.baseline.per_emotion is not None,
            selected=len(benchmark.cases),
        )
        if self.save_path is not None and completeness.complete:
            snapshots.save(to_json(self.run), self.save_path, settings.save or "")
        result = to_json(self.run)
        if settings.report is not None:
            write_json(result, settings.report)
        write_reports(result, html=settings.html, markdown_path=settings.markdown, csv=settings.csv)
        if not self.run.passed and not settings.shard and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def _with_text(self, result: CaseResult) -> CaseResult:
        """The case's utterance, for reports that show text, when the corpus has it."""
        row = self.rows.get(result.case_id)
        return replace(result, utterance=row.utterance) if row is not None and row.utterance else result

    def _recording(self) -> Recording | None:
        benchmark = self.benchmark
        if benchmark.cassettes is None:
            return None
        reasons = [self.unrecorded[n] for n in self.expected if n in self.unrecorded]
        return Recording(
            mode=benchmark.settings.record,
            cassettes=str(benchmark.cassettes.root / benchmark.cassettes.model),
            unrecorded=len(reasons),
            template_changed=reasons.count(TEMPLATE_CHANGED),
            command=benchmark.record_command(),
        )

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self.lock is not None:
            self.lock.release()

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.run is None:
            return
        terminalreporter.section("pytest-empathy")
        for line in terminal_lines(self.run):
            terminalreporter.write_line(line)
        settings = self.benchmark.settings
        for kind, path in (("JSON result", settings.report), ("HTML report", settings.html),
                           ("Markdown summary", settings.markdown), ("CSV of cases", settings.csv)):
            if path is not None:
                terminalreporter.write_line(f"{kind}: {path}")
        if self.save_path is not None and self.run.completeness.complete:
            terminalreporter.write_line(f"saved run: {self.save_path}")
        if settings.shard:
            terminalreporter.write_line("shard: the gates above do not set the exit status; "
                                        "pytest-empathy merge decides them for the whole benchmark")
            return
        for line in failure_lines(self.run.gates):
            terminalreporter.write_line(line, red=True, bold=True)

