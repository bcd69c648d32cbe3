"""The controller's side of a run: which cases to expect, what came back, the verdict.

Registered only on the controller (the single process without xdist). Workers send their
results on the test reports; this object collects them, and at session finish computes the
statistics, checks the gates, writes the reports and sets the exit status.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import pytest

from pytest_empathy.analysis.gates import Completeness
from pytest_empathy.cassettes.miss_reasons import Miss
from pytest_empathy.evaluation.calibration_run import finish_calibration
from pytest_empathy.evaluation.extensions import Extensions
from pytest_empathy.evaluation.finish import (
    CassetteFolder,
    Finished,
    SaveTarget,
    finish,
    prediction_powered,
)
from pytest_empathy.evaluation.finish_plan import FinishPlan
from pytest_empathy.evaluation.run import BenchmarkRun
from pytest_empathy.formatting import CALIBRATED
from pytest_empathy.models.judges import ModelJudge
from pytest_empathy.modes import BaselineKind
from pytest_empathy.reports import calibration as calibration_report
from pytest_empathy.reports import terminal
from pytest_empathy.reports.layout import wrap
from pytest_empathy.reports.registry import write_reports
from pytest_empathy.results.calibration_document import CalibrationDocument
from pytest_empathy.results.case import UNRECORDED, CaseResult
from pytest_empathy.results.document import recording_entry
from pytest_empathy.results.result_document import ResultDocument
from pytest_empathy.results.run_result import RecordingStatus, RunIdentity

from .collection import no_case_ran
from .extensions import extensions, report_paths, report_titles


class EmpathySession:
    def __init__(self, run: BenchmarkRun, plan: FinishPlan) -> None:
        self.run = run
        self.plan = plan
        self.rows = {row.case_id: row for row in run.cases}
        # node id -> case id, for every collected item that runs a case
        self.expected: dict[str, str] = {}
        self.results: dict[str, CaseResult] = {}
        # node id -> why its calls have no recording
        self.unrecorded: dict[str, str] = {}
        self.document: ResultDocument | None = None
        self.save_failed = False
        # Reports that could not be written, and why.
        self.unwritten: list[str] = []
        # A calibration run's outcome: its document when measured, else why it was not.
        self.calibration: CalibrationDocument | str | None = None

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
                if candidate in self.rows:
                    return candidate
        return None

    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        r = self.run
        if r.calibrating:
            line = (
                f"empathy: calibrating judge {r.judge.name} against the crowd, corpus {r.corpus.name} "
                f"({len(r.cases)} crowd-rated responses)"
            )
        else:
            line = (
                f"empathy: model {r.responder.name}, judge {r.judge.name}, baseline {r.baseline.kind}, "
                f"corpus {r.corpus.name} ({len(r.cases)} cases)"
            )
        if r.cassettes is not None:
            line += f", record mode {r.settings.recording.record}, cassettes {r.cassettes.root}"
        lines = [line]
        if r.judge_standing is not None:
            lines.append(f"empathy: judge {r.judge.name}: {r.judge_standing.text}")
        if r.settings.statistics.judge_correction:
            lines.append(f"empathy: {CALIBRATED.upper()}")
        elif r.baseline.mixed_raters is not None:
            lines.append(f"empathy: {r.baseline.mixed_raters.upper()}")
        width = config.get_terminal_writer().fullwidth
        return [part for line in lines for part in wrap(line, width)]

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
            # With its text here rather than at session finish, where every case would be
            # copied at once: on a large corpus the copies were the peak of the run's memory.
            self.results[report.nodeid] = self._with_text(result)
        for key, value in report.user_properties:
            if key == UNRECORDED:
                self.unrecorded[report.nodeid] = str(value)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if not self.expected or session.config.option.collectonly:
            return
        settings = self.run.settings
        if self.run.calibrating:
            self.calibration = self._calibration()
            failed = not isinstance(self.calibration, dict)
        else:
            config = session.config
            finished = self._finish(extensions(config))
            self.document, self.save_failed = finished.document, finished.save_failed
            paths = report_paths(config, settings.storage.reports)
            self.unwritten = write_reports(self.document, paths, extensions=extensions(config))
            failed = (not finished.result.passed and not settings.selection.shard) or bool(self.unwritten)
        if failed and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def _finish(self, extensions: Extensions) -> Finished:
        run, settings, plan = self.run, self.run.settings, self.plan
        rated = [self.results[n] for n in self.expected if n in self.results]
        completeness = Completeness(
            expected=len(self.expected),
            rated=len(rated),
            missing=tuple(sorted(n for n in self.expected if n not in self.results)),
        )
        identity = self._identity()
        estimate = None
        if run.crowd is not None:
            estimate = prediction_powered(
                rated,
                completeness,
                run.crowd.ratings,
                per_emotion_baseline=identity.per_emotion_baseline,
                baseline_judged=identity.baseline_judged,
            )
        storage = settings.storage
        save = None if plan.save_path is None else SaveTarget(plan.save_path, storage.save or "", storage.save_force)
        cassettes = None
        if run.cassettes is not None and not plan.partial_selection:
            cassettes = CassetteFolder(
                run.cassettes,
                run.cases,
                run.corpus.name,
                frozenset(run.models()),
                prune=settings.recording.prune_cassettes,
            )
        return finish(
            identity,
            rated,
            completeness,
            settings.statistics,
            compare=plan.compare_with,
            checks=plan.checks,
            save=save,
            cassettes=cassettes,
            pruned=settings.recording.prune_cassettes,
            recording=self._recording(),
            prediction_powered=estimate,
            extensions=extensions,
        )

    def _identity(self) -> RunIdentity:
        run = self.run
        return RunIdentity(
            model=run.responder.name,
            judge=run.judge.name,
            judge_description=run.judge.description,
            baseline=run.baseline.kind.value,
            baseline_description=run.baseline.description,
            corpus=run.corpus.name,
            corpus_sha256=run.corpus.sha256,
            selected=len(run.cases),
            templates=run.templates,
            settings=run.settings.document_settings(),
            per_emotion_baseline=run.baseline.per_emotion,
            baseline_judged=run.baseline.kind is BaselineKind.JUDGE,
            mixed_raters=run.baseline.mixed_raters,
            judge_standing=run.judge_standing,
            judge_calibration=run.judge_calibration,
        )

    def _calibration(self) -> CalibrationDocument | str:
        run = self.run
        assert isinstance(run.judge, ModelJudge)
        path = run.calibration_path()
        return finish_calibration(
            run.cases,
            {result.case_id: result for result in self.results.values()},
            judge=run.judge,
            corpus=run.corpus,
            selection=run.settings.selection,
            path=path,
            shown_path=run.shown_path(path),
        )

    def _no_case_ran(self) -> str:
        run = self.run
        if run.calibrating:
            return no_case_ran(run.settings, f"the calibration of judge {run.judge.name}", "--empathy-calibrate")
        model = run.responder.name
        return no_case_ran(run.settings, f"model {model}", f"--empathy-model={model}")

    def _with_text(self, result: CaseResult) -> CaseResult:
        """The case's utterance, for reports that show text, when the corpus has it."""
        row = self.rows.get(result.case_id)
        return replace(result, utterance=row.utterance) if row is not None and row.utterance else result

    def _recording(self) -> RecordingStatus | None:
        run = self.run
        if run.cassettes is None:
            return None
        reasons = [self.unrecorded[n] for n in self.expected if n in self.unrecorded]
        return RecordingStatus(
            mode=run.settings.recording.record.value,
            cassettes=run.shown_path(run.cassettes.root / run.cassettes.model),
            unrecorded=len(reasons),
            template_changed=reasons.count(Miss.TEMPLATE_CHANGED),
            command=run.record_command(),
        )

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self.plan.lock is not None:
            self.plan.lock.release()

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        config = terminalreporter.config
        width = config.get_terminal_writer().fullwidth
        if self.calibration is not None:
            self._calibration_summary(terminalreporter, self.calibration, width)
            return
        document = self.document
        if document is None:
            if not (self.expected or config.option.collectonly):
                for line in wrap(self._no_case_ran(), width):
                    terminalreporter.write_line(line, yellow=True)
            return
        layout = terminal.Layout(width, config.get_verbosity())
        if layout.verbosity > -2:
            terminalreporter.section("pytest-empathy")
        for shown in terminal.summary(document, self._files(config), layout):
            terminalreporter.write_line(shown.text, red=shown.alarm, bold=shown.alarm)

    def _calibration_summary(self, terminalreporter: Any, calibration: CalibrationDocument | str, width: int) -> None:
        terminalreporter.section("pytest-empathy calibration")
        if isinstance(calibration, str):
            for line in wrap(calibration, width):
                terminalreporter.write_line(line, red=True, bold=True)
            recording = self._recording()
            if recording is not None and recording.unrecorded:
                for line in wrap(terminal.unrecorded(recording_entry(recording), len(self.expected)), width):
                    terminalreporter.write_line(line)
            return
        shown = None if terminalreporter.config.get_verbosity() > 0 else width
        for line in calibration_report.lines(calibration, shown):
            terminalreporter.write_line(line)
        saved = f"calibration saved: {self.run.shown_path(self.run.calibration_path())}"
        for line in wrap(saved, width):
            terminalreporter.write_line(line)

    def _files(self, config: pytest.Config) -> terminal.Files:
        settings, titles = self.run.settings, report_titles(config)
        written = tuple(
            (titles[name], self.run.shown_path(path))
            for name, path in report_paths(config, settings.storage.reports).items()
            if not any(line.startswith(f"{titles[name]} not written") for line in self.unwritten)
        )
        path = self.plan.save_path
        saved = path is not None and self.document is not None and self.document["complete"] and not self.save_failed
        return terminal.Files(
            reports=written,
            unwritten=tuple(self.unwritten),
            saved_run=self.run.shown_path(path) if saved and path is not None else None,
            shard=settings.selection.shard,
        )
