"""The controller's side of a run: which cases to expect, what came back, the verdict.

Registered only on the controller (the single process without xdist). Workers send their
results on the test reports; this object collects them, and at session finish computes the
statistics, checks the gates, writes the report and sets the exit status.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

from .benchmark import TEMPLATE_CHANGED, Benchmark
from .gates import Completeness, check_gates
from .report import Recording, RunResult, failure_lines, terminal_lines, write_json
from .results import PROPERTY, UNRECORDED, CaseResult
from .summary import summarize


class EmpathySession:
    def __init__(self, benchmark: Benchmark) -> None:
        self.benchmark = benchmark
        self.case_ids = {row.case_id for row in benchmark.cases}
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

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.expect(item.nodeid for item in session.items)

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        # Every worker collects the same items (xdist checks), so the first list is the list.
        if not self.expected:
            self.expect(ids)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for key, value in report.user_properties:
            if key == PROPERTY:
                self.results[report.nodeid] = CaseResult.from_builtins(value)
            elif key == UNRECORDED:
                self.unrecorded[report.nodeid] = value

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if not self.expected:
            return
        settings = self.benchmark.settings
        rated = [self.results[n] for n in self.expected if n in self.results]
        completeness = Completeness(
            expected=len(self.expected),
            rated=len(rated),
            missing=tuple(sorted(n for n in self.expected if n not in self.results)),
        )
        summary = None
        if completeness.complete or settings.allow_partial:
            summary = summarize(
                rated,
                alpha=settings.alpha,
                per_emotion_baseline=self.benchmark.baseline.per_emotion,
                partial=not completeness.complete,
            ) if rated else None
        gates = check_gates(
            summary,
            completeness,
            mode=settings.gate,
            min_good_gain=settings.min_good_gain,
            allow_partial=settings.allow_partial,
        )
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
        )
        if settings.report is not None:
            write_json(self.run, settings.report)
        if not self.run.passed and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def _recording(self) -> Recording | None:
        benchmark = self.benchmark
        if benchmark.recorder is None:
            return None
        reasons = [self.unrecorded[n] for n in self.expected if n in self.unrecorded]
        return Recording(
            mode=benchmark.settings.record,
            cassettes=str(benchmark.recorder.root / benchmark.recorder.model),
            unrecorded=len(reasons),
            template_changed=reasons.count(TEMPLATE_CHANGED),
            command=benchmark.record_command(),
        )

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.run is None:
            return
        terminalreporter.section("pytest-empathy")
        for line in terminal_lines(self.run):
            terminalreporter.write_line(line)
        if self.benchmark.settings.report is not None:
            terminalreporter.write_line(f"JSON result: {self.benchmark.settings.report}")
        for line in failure_lines(self.run.gates):
            terminalreporter.write_line(line, red=True, bold=True)
