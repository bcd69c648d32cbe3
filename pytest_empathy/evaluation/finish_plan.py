"""What a run's finish needs, checked before any case runs: where it saves, the saved run it
is compared with and by which checks, the recording lock, and whether the selection is partial.
Input it cannot use is an OptionError naming the option."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pytest_empathy.analysis.saved_run_checks import Check, parse_checks
from pytest_empathy.cassettes.format import CaseCassettes
from pytest_empathy.cassettes.lock import RecordingLock
from pytest_empathy.corpus.rows import Corpus
from pytest_empathy.errors import OptionError, option_error
from pytest_empathy.models.crowd_judge import CrowdFile
from pytest_empathy.models.judges import Judge, ModelJudge
from pytest_empathy.models.responders import Responder
from pytest_empathy.modes import RecordMode
from pytest_empathy.reports.registry import BY_NAME
from pytest_empathy.results import saved_runs
from pytest_empathy.results.run_result import SavedRun
from pytest_empathy.settings import Settings, StorageSettings
from pytest_empathy.write_targets import check_not_inputs, confined


class PlannedRun(Protocol):
    """What planning a run's finish reads of the assembled run."""

    @property
    def judge(self) -> Judge: ...
    @property
    def responder(self) -> Responder: ...
    @property
    def corpus(self) -> Corpus: ...
    @property
    def cassettes(self) -> CaseCassettes | None: ...
    @property
    def calibrating(self) -> bool: ...
    def calibration_path(self) -> Path: ...


@dataclass(frozen=True)
class FinishPlan:
    """What only the controller needs at the run's finish, checked before any case runs."""

    save_path: Path | None
    compare_with: SavedRun | None
    checks: tuple[Check, ...]
    lock: RecordingLock | None
    # Whether -k, -m, --empathy-emotions or --empathy-sample may leave out part of the corpus.
    partial_selection: bool


def plan_finish(run: PlannedRun, settings: Settings, *, deselecting: bool) -> FinishPlan:
    """The plan of a run's finish; ``deselecting`` says whether -k or -m were given."""
    storage, selection, recording = settings.storage, settings.selection, settings.recording
    save_path = _save_path(storage)
    compare_with = _saved_run(run, storage) if storage.compare is not None else None
    if compare_with is not None:
        mismatch = saved_runs.not_comparable(compare_with, judge=run.judge.name, corpus=run.corpus.name)
        if mismatch is not None:
            raise OptionError.of("--empathy-compare", mismatch)
    checks = _checks(storage, settings.statistics.compare_detect)
    # Its message names the options of both files.
    _check_outputs(run, save_path, compare_with, settings)
    partial_selection = bool(selection.emotions or selection.sample or deselecting)
    if recording.prune_cassettes and partial_selection:
        raise OptionError.of(
            "--empathy-prune-cassettes",
            "refused for a run of part of the corpus "
            "(-k, -m, --empathy-emotions or --empathy-sample): other cases' cassettes would look unused",
        )
    lock = None
    if run.cassettes is not None and recording.record is not RecordMode.NONE:
        lock = RecordingLock(run.cassettes.root / run.cassettes.model)
        option_error("--empathy-record", lock.acquire)
    return FinishPlan(save_path, compare_with, checks, lock, partial_selection)


def _save_path(storage: StorageSettings) -> Path | None:
    if storage.save is None:
        return None
    path = option_error("--empathy-save", saved_runs.saved_run_path, storage.saved_runs, storage.save)
    option_error("--empathy-save", confined, path, storage.saved_runs, "saved run")
    if path.exists() and not storage.save_force:
        raise OptionError.of("--empathy-save", f"{path} exists; add --empathy-save-force to replace it")
    return path


def _checks(storage: StorageSettings, compare_detect: tuple[float, float] | None) -> tuple[Check, ...]:
    checks: tuple[Check, ...] = ()
    if storage.compare_fail is not None:
        if storage.compare is None:
            raise OptionError.of("--empathy-compare-fail", "name the saved run with --empathy-compare")
        checks = option_error("--empathy-compare-fail", parse_checks, storage.compare_fail)
    if compare_detect is not None and storage.compare_fail is None:
        raise OptionError.of("--empathy-compare-detect", "name the checks it is for with --empathy-compare-fail")
    return checks


def _check_outputs(
    run: PlannedRun,
    save_path: Path | None,
    compare_with: SavedRun | None,
    settings: Settings,
) -> None:
    """No file the run writes (a report, the saved run, a calibration) is a file it reads, or
    another file it writes."""
    storage, selection, models = settings.storage, settings.selection, settings.models
    outputs: list[tuple[str, Path | None]] = [(BY_NAME[name].flag, path) for name, path in storage.reports.items()]
    outputs += [(output.source, output.path) for output in storage.outputs]
    outputs.append(("--empathy-save", save_path))
    calibration = run.calibration_path() if isinstance(run.judge, ModelJudge) else None
    if run.calibrating:
        outputs.append(("--empathy-calibration", calibration))
    judge_file = run.judge.path if isinstance(run.judge, CrowdFile) else None
    check_not_inputs(
        outputs,
        [
            ("--empathy-corpus", selection.corpus if isinstance(selection.corpus, Path) else None),
            ("--empathy-corpus-text", selection.corpus_text),
            ("--empathy-compare", None if compare_with is None else compare_with.path),
            ("--empathy-calibration", None if run.calibrating else calibration),
            ("--empathy-crowd", settings.crowd.file),
            ("--empathy-judge", judge_file),
            ("--empathy-template", models.template),
            ("--empathy-judge-template", models.judge_template),
            ("the model profiles", storage.rootpath / "pyproject.toml"),
        ],
    )


def _saved_run(run: PlannedRun, storage: StorageSettings) -> SavedRun:
    if storage.compare == saved_runs.LATEST:
        path = saved_runs.latest(storage.saved_runs, run.responder.name)
        if path is None:
            raise OptionError.of(
                "--empathy-compare",
                f"no saved run of {run.responder.name!r} in {storage.saved_runs}; save one with --empathy-save NAME",
            )
    else:
        assert storage.compare is not None
        path = option_error("--empathy-compare", saved_runs.saved_run_path, storage.saved_runs, storage.compare)
    return SavedRun(option_error("--empathy-compare", saved_runs.load, path), path)
