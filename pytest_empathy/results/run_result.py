"""A run's result: everything the controller knows at session finish."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_empathy.analysis.gates import Completeness, GateResult, JudgeStanding
from pytest_empathy.analysis.versus_baseline import Summary
from pytest_empathy.analysis.versus_saved_run import SavedRunComparison
from pytest_empathy.ratings import Counts
from pytest_empathy.settings import SettingsEntry

from .case import CaseResult, Usage

if TYPE_CHECKING:
    from pytest_empathy.analysis.correction import Correction
    from pytest_empathy.analysis.ppi import RunEstimate

    from .result_document import CalibrationSummary


@dataclass(frozen=True)
class RecordingStatus:
    """How the run's model calls were recorded, and which cases lacked a recording."""

    mode: str
    unrecorded: int
    template_changed: int
    cassettes: str = ""
    # The command that records what is missing.
    command: str = ""


@dataclass(frozen=True)
class SavedRun:
    """A saved run's JSON document, and the file it was read from."""

    document: Mapping[str, Any]
    path: Path


@dataclass(frozen=True)
class SavedRunVersus:
    """A comparison with a saved run, and the saved run it was made with."""

    saved: SavedRun
    comparison: SavedRunComparison


@dataclass(frozen=True)
class RunIdentity:
    """What a run was of, as its result names it: model, judge, baseline, corpus, templates,
    and the settings entry its JSON keeps."""

    model: str
    judge: str
    judge_description: str
    baseline: str
    baseline_description: str
    corpus: str
    corpus_sha256: str
    # Cases the corpus options selected, before -k or -m: what shards of a run must cover.
    selected: int
    templates: Mapping[str, str]
    settings: SettingsEntry
    # The release's per-emotion counts, when they are the baseline rather than a rating per case.
    per_emotion_baseline: Mapping[str, Counts] | None = None
    # Whether the judge rated the baseline's responses too.
    baseline_judged: bool = False
    mixed_raters: str | None = None
    judge_standing: JudgeStanding | None = None
    # The judge's calibration file, summarized (see results.calibrations.standing).
    judge_calibration: CalibrationSummary | None = None


@dataclass(frozen=True)
class RunResult:
    identity: RunIdentity
    completeness: Completeness
    summary: Summary | None
    gates: tuple[GateResult, ...]
    cases: tuple[CaseResult, ...]
    recording: RecordingStatus | None
    versus_saved_run: SavedRunVersus | None = None
    unused_cassettes: tuple[str, ...] = ()
    pruned: bool = False
    usage: dict[str, Usage] = field(default_factory=dict)
    # Gates this run is too small to decide (see analysis.gates.power_warnings).
    warnings: tuple[str, ...] = ()
    # The run on the crowd's scale, with a calibration in force.
    judge_correction: Correction | None = None
    # The crowd's Good rate and shares by prediction-powered inference (--empathy-crowd).
    prediction_powered: RunEstimate | None = None

    @property
    def passed(self) -> bool:
        return all(gate.passed for gate in self.gates)
