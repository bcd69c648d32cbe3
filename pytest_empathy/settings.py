"""A run's settings, in groups by what they decide, and the defaults they share.

The selection's sampling and the statistics and gates group are what the JSON result keeps
(under ``settings``), so a saved result or a shard can be decided again as it was run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

from pytest_empathy.modes import BaselineKind, GateMode, GateTest, RecordMode

# The no-more-bad gate's default margin, in points of the Bad rate: one person in twenty more
# getting a Bad answer is a loss no Good-rate gain makes up for.
BAD_MARGIN = 5.0
# The drops, in points, a team wants a saved-run check to detect unless it names its own
# (--empathy-compare-detect): overall, and in one emotion, which holds a thirty-second of
# the cases and is tested at a thirty-second of alpha. Chosen, not derived. bad-rise wants
# the overall one as a rise of the Bad rate.
DROPS = (10.0, 30.0)
# Failed calls in a row after which a run stops calling a model.
DEFAULT_LIMIT = 3
# Where saved runs and judge calibrations live, under the rootdir.
SAVED_RUNS = "benchmarks/saved-runs"
CALIBRATIONS = "benchmarks/calibrations"


class SamplingEntry(TypedDict):
    """Which cases of the corpus a run selected."""

    emotions: list[str] | None
    sample: int | None
    seed: int


class SettingsEntry(TypedDict, total=False):
    """The JSON result's ``settings``: the selection's sampling and the statistics group.
    Not total: results of older schemas lack the keys added since."""

    emotions: list[str] | None
    sample: int | None
    seed: int
    alpha: float
    gate: str
    test: str
    min_good_gain: float | None
    margin: float | None
    bad_margin: float
    require_power: bool
    allow_partial: bool
    judge_min_agreement: float | None
    judge_correction: bool
    compare_detect: list[float]


@dataclass(frozen=True)
class SelectionSettings:
    """Which cases run, and against which responder."""

    corpus: str | Path
    # The responder; None without one (a calibration run, or no benchmark).
    model: str | None = None
    corpus_text: Path | None = None
    emotions: tuple[str, ...] | None = None
    sample: int | None = None
    seed: int = 0
    # A shard of a run that `pytest-empathy merge` decides as a whole.
    shard: bool = False
    # Whether --empathy-model or --empathy-calibrate came from the command line (addopts
    # included), not the ini file: only then may the plugin add its built-in benchmark.
    on_command_line: bool = False

    def sampling_json(self) -> SamplingEntry:
        return {"emotions": list(self.emotions) if self.emotions else None, "sample": self.sample, "seed": self.seed}


@dataclass(frozen=True)
class ModelSettings:
    """The judge, the baseline, and the prompt templates and servers of both models."""

    judge: str | None = None
    baseline: BaselineKind | None = None  # None: chosen by the judge (see models.baselines)
    template: Path | None = None
    judge_template: Path | None = None
    base_url: str | None = None
    judge_base_url: str | None = None


@dataclass(frozen=True)
class StatisticsSettings:
    """The statistics and the gates they decide."""

    alpha: float = 0.05
    gate: GateMode = GateMode.BETTER
    test: GateTest = GateTest.GOOD_RATE
    # None: 0 under the 'better' gate (implied by it), not checked under 'not-worse'.
    min_good_gain: float | None = None
    # The not-worse gate's margin, in percentage points.
    margin: float | None = None
    bad_margin: float = BAD_MARGIN
    require_power: bool = False
    allow_partial: bool = False
    judge_min_agreement: float | None = None
    judge_correction: bool = False
    # None: not given (DROPS).
    compare_detect: tuple[float, float] | None = None

    @property
    def drops(self) -> tuple[float, float]:
        return self.compare_detect or DROPS

    def to_json(self) -> SettingsEntry:
        return {
            "alpha": self.alpha,
            "gate": self.gate.value,
            "test": self.test.value,
            "min_good_gain": self.min_good_gain,
            "margin": self.margin,
            "bad_margin": self.bad_margin,
            "require_power": self.require_power,
            "allow_partial": self.allow_partial,
            "judge_min_agreement": self.judge_min_agreement,
            "judge_correction": self.judge_correction,
            "compare_detect": list(self.drops),
        }

    @classmethod
    def from_json(cls, entry: SettingsEntry | Mapping[str, object]) -> StatisticsSettings:
        """The statistics a result was decided with; keys added since its schema take the
        values that decided it then."""
        data: Mapping[str, object] = entry
        drops = data.get("compare_detect")
        return cls(
            alpha=_number(data["alpha"]),
            gate=GateMode(str(data["gate"])),
            test=GateTest(str(data.get("test") or GateTest.GOOD_RATE.value)),
            min_good_gain=_optional_number(data.get("min_good_gain")),
            margin=_optional_number(data.get("margin")),
            bad_margin=_number(data.get("bad_margin", BAD_MARGIN)),
            require_power=bool(data.get("require_power", False)),
            allow_partial=bool(data["allow_partial"]),
            judge_min_agreement=_optional_number(data.get("judge_min_agreement")),
            judge_correction=bool(data.get("judge_correction", False)),
            compare_detect=None if not isinstance(drops, list) else (_number(drops[0]), _number(drops[1])),
        )


@dataclass(frozen=True)
class RecordingSettings:
    """How model calls are recorded and replayed."""

    cassettes: Path
    record: RecordMode = RecordMode.NONE
    prune_cassettes: bool = False
    # Cases whose calls one process keeps in flight while recording.
    concurrency: int = 1
    circuit_breaker: int = DEFAULT_LIMIT


@dataclass(frozen=True)
class StorageSettings:
    """Where the run's files go: reports, saved runs, the comparison with one."""

    rootpath: Path
    saved_runs: Path
    # Report format name -> the path to write it to, for the reports asked for.
    reports: Mapping[str, Path]
    # Whether one of those reports shows each case's answer.
    reports_show_responses: bool = False
    # --empathy-output: plugins' report formats by name, and the paths to write them to.
    outputs: tuple[tuple[str, Path], ...] = ()
    save: str | None = None
    save_force: bool = False
    compare: str | None = None
    compare_fail: str | None = None


@dataclass(frozen=True)
class CalibrationSettings:
    """A calibration run, and which calibration a judge's standing is read from."""

    calibrate: bool = False
    # The judge's calibration file; None: CALIBRATIONS/<judge>.json at the rootdir.
    file: Path | None = None


@dataclass(frozen=True)
class CrowdSettings:
    """A crowd's ratings of part of the cases, for prediction-powered estimates."""

    file: Path | None = None


@dataclass(frozen=True)
class Settings:
    """Everything a run is told, in its groups."""

    selection: SelectionSettings
    models: ModelSettings
    statistics: StatisticsSettings
    recording: RecordingSettings
    storage: StorageSettings
    calibration: CalibrationSettings = CalibrationSettings()
    crowd: CrowdSettings = CrowdSettings()

    def calibration_path(self, judge: str) -> Path:
        return self.calibration.file or self.storage.rootpath / CALIBRATIONS / f"{judge}.json"

    @property
    def keeps_responses(self) -> bool:
        """Whether each case's answer travels to the controller and into the JSON result:
        for a report that shows it, a saved run (a later comparison shows its answers), a
        comparison (its changed cases) and a shard (merged, it reports as the whole run).
        Otherwise no answer is sent: a plain replay pays nothing for text it never shows."""
        storage = self.storage
        return (
            storage.reports_show_responses
            or storage.save is not None
            or storage.compare is not None
            or self.selection.shard
        )

    def document_settings(self) -> SettingsEntry:
        """The settings the JSON result keeps: the selection's sampling, then the statistics."""
        entry: SettingsEntry = {**self.selection.sampling_json(), **self.statistics.to_json()}
        return entry


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"not a number: {value!r}")
    return float(value)


def _optional_number(value: object) -> float | None:
    return None if value is None else _number(value)
