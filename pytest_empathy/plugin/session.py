"""The controller's side of a run: which cases to expect, what came back, the verdict.

Registered only on the controller (the single process without xdist). Workers send their
results on the test reports; this object collects them, and at session finish computes the
statistics, checks the gates, writes the reports and sets the exit status.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_empathy.analysis.gates import Completeness, GateResult, decide
from pytest_empathy.analysis.saved_run_checks import Check, parse_checks
from pytest_empathy.atomic import WriteError
from pytest_empathy.cassettes.lock import RecordingLock
from pytest_empathy.cassettes.miss_reasons import Miss
from pytest_empathy.cassettes.pruning import prune, unused
from pytest_empathy.corpus.rows import HUMAN, rated_source
from pytest_empathy.errors import InputError
from pytest_empathy.formatting import CALIBRATED
from pytest_empathy.models.crowd_judge import CrowdFile
from pytest_empathy.models.judges import ModelJudge
from pytest_empathy.modes import BaselineKind, RecordMode
from pytest_empathy.reports import calibration as calibration_report
from pytest_empathy.reports import terminal
from pytest_empathy.reports.layout import wrap
from pytest_empathy.reports.registry import BY_NAME, write_reports
from pytest_empathy.results import calibrations, saved_runs
from pytest_empathy.results.calibration_document import CalibrationDocument
from pytest_empathy.results.calibrations import JudgeKey
from pytest_empathy.results.case import UNRECORDED, CaseResult, total_usage
from pytest_empathy.results.document import recording_entry, to_json
from pytest_empathy.results.result_document import ResultDocument
from pytest_empathy.results.run_result import RecordingStatus, RunResult, SavedRun
from pytest_empathy.results.saved_runs import not_compared
from pytest_empathy.write_targets import OutsideRoot, check_not_inputs, confined

from .collection import no_case_ran
from .extensions import extensions, report_paths

if TYPE_CHECKING:
    from pytest_empathy.analysis.ppi import RunEstimate
from pytest_empathy.errors import option_error as as_usage_error
from pytest_empathy.evaluation.run import BenchmarkRun


@dataclass(frozen=True)
class Plan:
    """What only the controller needs, checked before any case runs."""

    save_path: Path | None
    compare_with: SavedRun | None
    checks: tuple[Check, ...]
    lock: RecordingLock | None
    # Whether -k, -m, --empathy-emotions or --empathy-sample may leave out part of the corpus.
    partial_selection: bool


def plan(run: BenchmarkRun, *, deselecting: bool) -> Plan:
    """The controller's plan for a run; input it cannot use is a pytest.UsageError naming the
    option. ``deselecting`` says whether -k or -m were given."""
    settings = run.settings
    save_path = None
    if settings.storage.save is not None:
        save_path = as_usage_error(
            "--empathy-save", saved_runs.saved_run_path, settings.storage.saved_runs, settings.storage.save
        )
        as_usage_error("--empathy-save", confined, save_path, settings.storage.saved_runs, "saved run")
        if save_path.exists() and not settings.storage.save_force:
            raise pytest.UsageError(f"--empathy-save: {save_path} exists; add --empathy-save-force to replace it")
    compare_with = _saved_run(run) if settings.storage.compare is not None else None
    if compare_with is not None:
        mismatch = saved_runs.not_comparable(compare_with, judge=run.judge.name, corpus=run.corpus.name)
        if mismatch is not None:
            raise pytest.UsageError(f"--empathy-compare: {mismatch}")
    checks: tuple[Check, ...] = ()
    if settings.storage.compare_fail is not None:
        if settings.storage.compare is None:
            raise pytest.UsageError("--empathy-compare-fail: name the saved run with --empathy-compare")
        checks = as_usage_error("--empathy-compare-fail", parse_checks, settings.storage.compare_fail)
    if settings.statistics.compare_detect is not None and settings.storage.compare_fail is None:
        raise pytest.UsageError("--empathy-compare-detect: name the checks it is for with --empathy-compare-fail")
    try:
        _check_outputs(run, save_path, compare_with)
    except InputError as error:
        raise pytest.UsageError(str(error)) from None  # it names the options of both files
    partial_selection = bool(settings.selection.emotions or settings.selection.sample or deselecting)
    if settings.recording.prune_cassettes and partial_selection:
        raise pytest.UsageError(
            "--empathy-prune-cassettes: refused for a run of part of the corpus "
            "(-k, -m, --empathy-emotions or --empathy-sample): other cases' cassettes would look unused"
        )
    lock = None
    if run.cassettes is not None and settings.recording.record is not RecordMode.NONE:
        lock = RecordingLock(run.cassettes.root / run.cassettes.model)
        as_usage_error("--empathy-record", lock.acquire)
    return Plan(save_path, compare_with, checks, lock, partial_selection)


def _check_outputs(run: BenchmarkRun, save_path: Path | None, compare_with: SavedRun | None) -> None:
    """No file the run writes (a report, the saved run, a calibration) is a file it reads, or
    another file it writes."""
    s = run.settings
    outputs: list[tuple[str, Path | None]] = [(BY_NAME[name].flag, path) for name, path in s.storage.reports.items()]
    outputs.append(("--empathy-save", save_path))
    calibration = run.calibration_path() if isinstance(run.judge, ModelJudge) else None
    if run.calibrating:
        outputs.append(("--empathy-calibration", calibration))
    judge_file = run.judge.path if isinstance(run.judge, CrowdFile) else None
    check_not_inputs(
        outputs,
        [
            ("--empathy-corpus", s.selection.corpus if isinstance(s.selection.corpus, Path) else None),
            ("--empathy-corpus-text", s.selection.corpus_text),
            ("--empathy-compare", None if compare_with is None else compare_with.path),
            ("--empathy-calibration", None if run.calibrating else calibration),
            ("--empathy-crowd", s.crowd.file),
            ("--empathy-judge", judge_file),
            ("--empathy-template", s.models.template),
            ("--empathy-judge-template", s.models.judge_template),
            ("the model profiles", s.storage.rootpath / "pyproject.toml"),
        ],
    )


def _saved_run(run: BenchmarkRun) -> SavedRun:
    settings = run.settings
    if settings.storage.compare == saved_runs.LATEST:
        path = saved_runs.latest(settings.storage.saved_runs, run.responder.name)
        if path is None:
            raise pytest.UsageError(
                f"--empathy-compare: no saved run of {run.responder.name!r} in "
                f"{settings.storage.saved_runs}; save one with --empathy-save NAME"
            )
    else:
        assert settings.storage.compare is not None
        path = as_usage_error(
            "--empathy-compare", saved_runs.saved_run_path, settings.storage.saved_runs, settings.storage.compare
        )
    return SavedRun(as_usage_error("--empathy-compare", saved_runs.load, path), path)


class EmpathySession:
    def __init__(self, run: BenchmarkRun, plan: Plan) -> None:
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
        run, settings = self.run, self.run.settings
        if run.calibrating:
            self.calibration = self._calibration()
            if not isinstance(self.calibration, dict) and session.exitstatus == pytest.ExitCode.OK:
                session.exitstatus = pytest.ExitCode.TESTS_FAILED
            return
        rated = [self.results[n] for n in self.expected if n in self.results]
        completeness = Completeness(
            expected=len(self.expected),
            rated=len(rated),
            missing=tuple(sorted(n for n in self.expected if n not in self.results)),
        )
        estimate = self._prediction_powered(rated, completeness) if run.crowd is not None else None
        decision = decide(
            rated,
            completeness,
            settings.document_settings(),
            run.baseline.per_emotion,
            mixed_raters=run.baseline.mixed_raters,
            judge=run.judge_standing,
            baseline_judged=run.baseline.kind is BaselineKind.JUDGE,
            prediction_powered=estimate,
        )
        summary, gates, warnings = decision.summary, decision.gates, decision.warnings
        versus = None
        compare_with = self.plan.compare_with
        if compare_with is not None and summary is not None:
            versus, checked = saved_runs.compare(
                compare_with, rated, settings=settings.document_settings(), checks=self.plan.checks
            )
            gates += checked.gates
            warnings += checked.warnings
        elif compare_with is not None:
            gates.append(GateResult("compare", False, not_compared(compare_with, completeness)))
        save_path = self.plan.save_path
        if save_path is not None and not completeness.complete:
            gates.append(
                GateResult(
                    "save",
                    False,
                    f"{save_path} not saved: only complete runs are saved "
                    f"({completeness.rated} of {completeness.expected} cases rated)",
                )
            )
        unused_cassettes: tuple[str, ...] = ()
        if run.cassettes is not None and not self.plan.partial_selection and completeness.expected == len(run.cases):
            found = unused(run.cassettes, run.cases, run.corpus.name, run.models())
            # Pruning deletes only after a complete run: a case that failed may own a cassette.
            if settings.recording.prune_cassettes and completeness.complete:
                refused = prune(run.cassettes, found)
                gates += [GateResult("prune", False, why) for why in refused]
                found = [p for p in found if not p.exists()]
            unused_cassettes = tuple(str(p) for p in found)
        result = RunResult(
            model=run.responder.name,
            judge=run.judge.name,
            judge_description=run.judge.description,
            baseline=run.baseline.kind.value,
            baseline_description=run.baseline.description,
            corpus=run.corpus.name,
            corpus_sha256=run.corpus.sha256,
            settings=dict(settings.document_settings()),
            completeness=completeness,
            summary=summary,
            gates=tuple(gates),
            cases=tuple(rated),
            templates=run.templates,
            recording=self._recording(),
            versus_saved_run=versus,
            unused_cassettes=unused_cassettes,
            pruned=settings.recording.prune_cassettes and completeness.complete,
            usage=total_usage(rated),
            warnings=tuple(warnings),
            baseline_per_emotion=run.baseline.per_emotion is not None,
            selected=len(run.cases),
            mixed_raters=run.baseline.mixed_raters,
            judge_standing=None if run.judge_standing is None else run.judge_standing.text,
            judge_calibration=run.judge_calibration,
            judge_correction=decision.correction,
            prediction_powered=estimate,
        )
        self.document = to_json(result)
        if save_path is not None and completeness.complete:
            try:
                saved_runs.save(
                    self.document, save_path, settings.storage.save or "", replace=settings.storage.save_force
                )
            except (saved_runs.SavedRunError, WriteError) as error:
                result = replace(result, gates=(*result.gates, GateResult("save", False, str(error))))
                self.document = to_json(result)
                self.save_failed = True
        self.unwritten = write_reports(
            self.document, report_paths(session.config, settings.storage.reports), extensions=extensions(session.config)
        )
        failed = (not result.passed and not settings.selection.shard) or self.unwritten
        if failed and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def _calibration(self) -> CalibrationDocument | str:
        """A calibration run's figures, saved, when the judge rated every selected response;
        else why they were not measured: agreement on part of the responses is never kept."""
        from pytest_empathy.analysis.agreement import Pair, calibrate

        run = self.run
        by_case = {result.case_id: result for result in self.results.values()}
        if len(by_case) < len(run.cases):
            return (
                f"calibration not measured: the judge rated {len(by_case)} of {len(run.cases)} selected responses "
                f"(a run with -k or -m, failed or unrecorded cases); {run.shown_path(run.calibration_path())} "
                "is unchanged"
            )
        by_prompt: dict[str, dict[str, Pair]] = {}
        for row in run.cases:
            result = by_case[row.case_id]
            assert result.baseline_rating is not None
            source, prompt = rated_source(row)
            by_prompt.setdefault(prompt, {})[source] = (result.baseline_rating, result.rating)
        prompts = list(by_prompt.values())
        judge = run.judge
        assert isinstance(judge, ModelJudge)
        document = calibrations.to_json(
            calibrate(prompts, human=HUMAN),
            prompts,
            JudgeKey(judge.name, judge.endpoint.profile.model, judge.rubric.sha256),
            corpus=run.corpus.name,
            corpus_sha256=run.corpus.sha256,
            selection={
                "emotions": list(run.settings.selection.emotions) if run.settings.selection.emotions else None,
                "sample": run.settings.selection.sample,
                "seed": run.settings.selection.seed,
                "prompts": len(prompts),
                "sources": sorted(prompts[0]),
            },
            human=HUMAN,
        )
        try:
            path = run.calibration_path()
            calibrations.save(document, confined(path, path.parent, "calibration file"))
        except (WriteError, OutsideRoot) as error:
            return f"calibration measured but not saved: {error}"
        return document

    def _prediction_powered(self, rated: list[CaseResult], completeness: Completeness) -> RunEstimate:
        """The crowd's Good rate and shares of the run, from the judge's ratings of every case
        and the crowd's of part of them; on a complete run only."""
        from pytest_empathy.analysis import ppi

        crowd = self.run.crowd
        assert crowd is not None
        if not completeness.complete:
            return ppi.not_estimated(
                f"not estimated: the run is incomplete ({completeness.rated} of {completeness.expected} cases rated)"
            )
        baseline = self.run.baseline
        not_comparable = None
        if baseline.kind is BaselineKind.JUDGE:
            not_comparable = (
                "the baseline is the judge's ratings of the human responses, not a crowd's; the gates compare the "
                "judge with itself (--empathy-baseline human-raters compares the crowds)"
            )
        return ppi.for_run(
            rated, crowd.ratings, per_emotion_baseline=baseline.per_emotion, not_comparable=not_comparable
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
            terminalreporter.section("pytest-empathy calibration")
            if isinstance(self.calibration, str):
                for line in wrap(self.calibration, width):
                    terminalreporter.write_line(line, red=True, bold=True)
                recording = self._recording()
                if recording is not None and recording.unrecorded:
                    for line in wrap(terminal.unrecorded(recording_entry(recording), len(self.expected)), width):
                        terminalreporter.write_line(line)
                return
            shown = None if config.get_verbosity() > 0 else width
            for line in calibration_report.lines(self.calibration, shown):
                terminalreporter.write_line(line)
            saved = f"calibration saved: {self.run.shown_path(self.run.calibration_path())}"
            for line in wrap(saved, width):
                terminalreporter.write_line(line)
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
        for shown in terminal.summary(document, self._files(), layout):
            terminalreporter.write_line(shown.text, red=shown.alarm, bold=shown.alarm)

    def _files(self) -> terminal.Files:
        settings = self.run.settings
        written = tuple(
            (BY_NAME[name].title, self.run.shown_path(path))
            for name, path in settings.storage.reports.items()
            if not any(line.startswith(f"{BY_NAME[name].title} not written") for line in self.unwritten)
        )
        path = self.plan.save_path
        saved = path is not None and self.document is not None and self.document["complete"] and not self.save_failed
        return terminal.Files(
            reports=written,
            unwritten=tuple(self.unwritten),
            saved_run=self.run.shown_path(path) if saved and path is not None else None,
            shard=settings.selection.shard,
        )
