"""A run's settings, in groups by what they decide, and the defaults they share.

The selection's sampling and the statistics and gates group are what the JSON result keeps
(under ``settings``), so a saved result or a shard can be decided again as it was run.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from pytest_empathy.modes import BaselineKind, GateMode, GateTest, RecordMode

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

    from pytest_empathy.schema import JSONValue

# A group's JSON form: its fields by name; paths as strings, modes by their value.
GroupEntry = dict[str, "JSONValue"]

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

    def to_json(self) -> GroupEntry:
        # A named corpus and a corpus file are both strings in JSON: each has its key.
        entry = _group_json(self)
        entry["corpus"], entry["corpus_file"] = (
            (None, str(self.corpus)) if isinstance(self.corpus, Path) else (self.corpus, None)
        )
        return entry

    @classmethod
    def from_json(cls, entry: Mapping[str, object]) -> SelectionSettings:
        file, emotions, sample = _path(entry["corpus_file"]), entry["emotions"], entry["sample"]
        return cls(
            corpus=file if file is not None else str(entry["corpus"]),
            model=_text(entry["model"]),
            corpus_text=_path(entry["corpus_text"]),
            emotions=None if emotions is None else tuple(str(emotion) for emotion in _list(emotions)),
            sample=None if sample is None else _integer(sample),
            seed=_integer(entry["seed"]),
            shard=_flag(entry["shard"]),
            on_command_line=_flag(entry["on_command_line"]),
        )


@dataclass(frozen=True)
class ModelSettings:
    """The judge, the baseline, and the prompt templates and servers of both models."""

    judge: str | None = None
    baseline: BaselineKind | None = None  # None: chosen by the judge (see models.baselines)
    template: Path | None = None
    judge_template: Path | None = None
    base_url: str | None = None
    judge_base_url: str | None = None

    def to_json(self) -> GroupEntry:
        return _group_json(self)

    @classmethod
    def from_json(cls, entry: Mapping[str, object]) -> ModelSettings:
        baseline = entry["baseline"]
        return cls(
            judge=_text(entry["judge"]),
            baseline=None if baseline is None else BaselineKind(str(baseline)),
            template=_path(entry["template"]),
            judge_template=_path(entry["judge_template"]),
            base_url=_text(entry["base_url"]),
            judge_base_url=_text(entry["judge_base_url"]),
        )


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

    def to_json(self) -> GroupEntry:
        return _group_json(self)

    @classmethod
    def from_json(cls, entry: Mapping[str, object]) -> RecordingSettings:
        return cls(
            cassettes=Path(str(entry["cassettes"])),
            record=RecordMode(str(entry["record"])),
            prune_cassettes=_flag(entry["prune_cassettes"]),
            concurrency=_integer(entry["concurrency"]),
            circuit_breaker=_integer(entry["circuit_breaker"]),
        )


@dataclass(frozen=True)
class ReportOutput:
    """A report format named by ``NAME=PATH`` (a plugin's), and where it was given, for messages."""

    name: str
    path: Path
    # NAME=PATH as given, and the option or ini key it came from.
    given: str
    source: str


@dataclass(frozen=True)
class StorageSettings:
    """Where the run's files go: reports, saved runs, the comparison with one."""

    rootpath: Path
    saved_runs: Path
    # Report format name -> the path to write it to, for the reports asked for.
    reports: Mapping[str, Path]
    # Whether one of those reports shows each case's answer.
    reports_show_responses: bool = False
    # --empathy-output: plugins' report formats, and the paths to write them to.
    outputs: tuple[ReportOutput, ...] = ()
    save: str | None = None
    save_force: bool = False
    compare: str | None = None
    compare_fail: str | None = None

    def to_json(self) -> GroupEntry:
        return _group_json(self)

    @classmethod
    def from_json(cls, entry: Mapping[str, object]) -> StorageSettings:
        reports = entry["reports"]
        if not isinstance(reports, Mapping):
            raise TypeError(f"not a mapping: {reports!r}")
        return cls(
            rootpath=Path(str(entry["rootpath"])),
            saved_runs=Path(str(entry["saved_runs"])),
            reports={str(name): Path(str(path)) for name, path in reports.items()},
            reports_show_responses=_flag(entry["reports_show_responses"]),
            outputs=tuple(_report_output(output) for output in _list(entry["outputs"])),
            save=_text(entry["save"]),
            save_force=_flag(entry["save_force"]),
            compare=_text(entry["compare"]),
            compare_fail=_text(entry["compare_fail"]),
        )


@dataclass(frozen=True)
class CalibrationSettings:
    """A calibration run, and which calibration a judge's standing is read from."""

    calibrate: bool = False
    # The judge's calibration file; None: CALIBRATIONS/<judge>.json at the rootdir.
    file: Path | None = None

    def to_json(self) -> GroupEntry:
        return _group_json(self)

    @classmethod
    def from_json(cls, entry: Mapping[str, object]) -> CalibrationSettings:
        return cls(calibrate=_flag(entry["calibrate"]), file=_path(entry["file"]))


@dataclass(frozen=True)
class CrowdSettings:
    """A crowd's ratings of part of the cases, for prediction-powered estimates."""

    file: Path | None = None

    def to_json(self) -> GroupEntry:
        return _group_json(self)

    @classmethod
    def from_json(cls, entry: Mapping[str, object]) -> CrowdSettings:
        return cls(file=_path(entry["file"]))


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

    def to_json(self) -> dict[str, GroupEntry]:
        """Every group's JSON form; the statistics as given (``compare_detect`` None when not,
        where the result's entry writes the drops the checks use)."""
        return {
            "selection": self.selection.to_json(),
            "models": self.models.to_json(),
            "statistics": _group_json(self.statistics),
            "recording": self.recording.to_json(),
            "storage": self.storage.to_json(),
            "calibration": self.calibration.to_json(),
            "crowd": self.crowd.to_json(),
        }

    @classmethod
    def from_json(cls, entry: Mapping[str, Mapping[str, object]]) -> Settings:
        return cls(
            selection=SelectionSettings.from_json(entry["selection"]),
            models=ModelSettings.from_json(entry["models"]),
            statistics=StatisticsSettings.from_json(entry["statistics"]),
            recording=RecordingSettings.from_json(entry["recording"]),
            storage=StorageSettings.from_json(entry["storage"]),
            calibration=CalibrationSettings.from_json(entry["calibration"]),
            crowd=CrowdSettings.from_json(entry["crowd"]),
        )

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


def _group_json(group: DataclassInstance) -> GroupEntry:
    return {field.name: _json(getattr(group, field.name)) for field in fields(group)}


def _json(value: object) -> JSONValue:
    if isinstance(value, enum.Enum):
        return _json(value.value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, ReportOutput):
        return _group_json(value)
    if isinstance(value, tuple | list):
        return [_json(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): _json(item) for key, item in value.items()}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"no JSON form: {value!r}")


def _report_output(entry: object) -> ReportOutput:
    if not isinstance(entry, Mapping):
        raise TypeError(f"not a mapping: {entry!r}")
    return ReportOutput(str(entry["name"]), Path(str(entry["path"])), str(entry["given"]), str(entry["source"]))


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _path(value: object) -> Path | None:
    return None if value is None else Path(str(value))


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"not true or false: {value!r}")
    return value


def _integer(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"not a whole number: {value!r}")
    return value


def _list(value: object) -> list[object]:
    if not isinstance(value, list):
        raise TypeError(f"not a list: {value!r}")
    return value


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"not a number: {value!r}")
    return float(value)


def _optional_number(value: object) -> float | None:
    return None if value is None else _number(value)
