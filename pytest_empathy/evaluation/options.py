"""The options of a run, each declared once, and the settings read from their values.

pytest's adapter (``plugin/options.py``) adds them to ``pytest --help`` and the ini file and
hands their values over as ``OptionValues``; this module imports no pytest, and stays light:
pytest loads it in every run, with or without a benchmark.
"""

from __future__ import annotations

import dataclasses
import enum
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pytest_empathy.corpus.names import NAMED, RELEASE, RELEASE_TEXT_ENV
from pytest_empathy.corpus.rows import NAME_RULE, valid_name
from pytest_empathy.emotions import EMOTIONS
from pytest_empathy.errors import OptionError, option_error
from pytest_empathy.models import CROWD_FILE
from pytest_empathy.modes import BaselineKind, GateMode, GateTest, RecordMode, choices
from pytest_empathy.reports.registry import FORMATS, shows_responses, split_output
from pytest_empathy.settings import (
    BAD_MARGIN,
    CALIBRATIONS,
    DROPS,
    SAVED_RUNS,
    CalibrationSettings,
    CrowdSettings,
    ModelSettings,
    RecordingSettings,
    ReportOutput,
    SelectionSettings,
    Settings,
    StatisticsSettings,
    StorageSettings,
)

if TYPE_CHECKING:
    from typing import Protocol

    from _typeshed import DataclassInstance

    # A protocol costs every pytest run its class; only the type checker needs it.
    class OptionValues(Protocol):
        """Where the options' values come from (pytest's config, in the plugin)."""

        @property
        def rootpath(self) -> Path: ...

        @property
        def invocation_dir(self) -> Path: ...

        @property
        def ini_dir(self) -> Path:
            """The folder of the ini file, or the rootdir without one."""
            ...

        def command_line(self, name: str) -> object:
            """The value given on the command line (addopts included), or None."""
            ...

        def ini(self, name: str) -> object: ...


E = TypeVar("E", bound=enum.StrEnum)
T = TypeVar("T")


class Kind(enum.Enum):
    VALUE = "value"
    # store_true on the command line, bool in the ini file.
    SWITCH = "switch"
    # Resolved against where it was given: the invocation dir, or the ini file's folder.
    PATH = "path"
    # A value, or the option's bare_value when it is given alone on the command line.
    OPTIONAL = "optional"
    # May be given again (appended); one value a line in the ini file.
    REPEATABLE = "repeatable"


class Given:
    """An option's raw value, and where it came from, for messages and relative paths. (A
    plain class: pytest loads this module in every run, and a dataclass costs it more.)"""

    def __init__(self, flag: str, value: object, source: str, base: Path, env: str | None = None) -> None:
        self.flag = flag
        self.value = value
        # The flag, or ``empathy_x (ini)``.
        self.source = source
        self.base = base
        # The option's environment variable (Option.env): a reader learns it only from here.
        self.env = env

    @property
    def empty(self) -> bool:
        return self.value is None or (isinstance(self.value, str) and not self.value.strip())

    def converted(self, convert: Callable[[str], T]) -> T | None:
        """The value converted; None when not given."""
        if self.empty:
            return None
        try:
            return convert(str(self.value).strip())
        except ValueError as error:
            raise OptionError.of(self.source, error) from None

    def path(self) -> Path | None:
        return self.base / Path(str(self.value)).expanduser() if self.value else None

    def environment(self) -> str | None:
        """The value of the option's environment variable; None when it is unset or empty, or
        the option declares none (Option.env)."""
        return (os.environ.get(self.env) or None) if self.env else None


def _text(value: str) -> str:
    return value


@dataclass(frozen=True)
class Option:
    flag: str
    help: str
    # The name of its section of `pytest --help` (SECTIONS).
    section: str
    # Its setting, "group.field"; "group.field.key": a key of a mapping, set when given.
    to: str
    metavar: str | None = None
    kind: Kind = Kind.VALUE
    convert: Callable[[str], object] = _text
    # Not given: this folder under the rootdir, or else the group's default.
    under_root: str | None = None
    bare_value: str | None = None
    # A reader of its own, for a value a converter alone cannot read.
    read: Callable[[Given], object] | None = None
    # The environment variable its reader falls back on when it is given nowhere; the reader
    # gets it from here alone (Given.environment()), and an option's default never reads it.
    env: str | None = None
    # Its reader resolves a path in its value against where it is given (Given.path()), as
    # Kind.PATH's values are.
    resolves_path: bool = False
    # The setting a run takes, "group.attribute", where that is not its field: a field left
    # None when not given (so that its absence can tell) and a default applied in the setting.
    effective: str | None = None

    @property
    def relative(self) -> bool:
        """Whether a path in its value is relative to where it is given."""
        return self.kind is Kind.PATH or self.resolves_path

    @property
    def ini(self) -> str:
        return ini_name(self.flag)


def ini_name(flag: str) -> str:
    return flag.lstrip("-").replace("-", "_")


@dataclass(frozen=True)
class OptionGroup:
    """A section of `pytest --help`: the options of one task."""

    name: str
    title: str
    options: tuple[Option, ...] = ()

    @property
    def flags(self) -> tuple[str, ...]:
        return tuple(option.flag for option in self.options)


SECTIONS = (
    OptionGroup("empathy", "pytest-empathy: what to run (the docs' Options and ini keys say more)"),
    OptionGroup("empathy-models", "pytest-empathy: judges, baselines and templates"),
    OptionGroup("empathy-recording", "pytest-empathy: recording and live calls"),
    OptionGroup("empathy-gates", "pytest-empathy: gates and statistics"),
    OptionGroup("empathy-saved-runs", "pytest-empathy: saved runs"),
    OptionGroup("empathy-reports", "pytest-empathy: reports"),
    OptionGroup("empathy-calibration", "pytest-empathy: the judge's calibration and a crowd's ratings"),
)
# Options of earlier versions, and what replaced them: naming one is a usage error saying so.
RENAMED = {"--empathy-baseline-dir": "--empathy-saved-runs"}


def _model_name(value: str) -> str:
    if not valid_name(value):
        raise ValueError(f"{value!r} is not a model's name: {NAME_RULE}")
    return value


def _choice(kind: type[E]) -> Callable[[str], E]:
    def convert(value: str) -> E:
        try:
            return kind(value)
        except ValueError:
            raise ValueError(f"{value!r} is not one of {choices(kind)}") from None

    return convert


def _emotions(value: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(n.strip().lower() for n in value.split(",") if n.strip()))
    unknown = [n for n in names if n not in EMOTIONS]
    if unknown:
        raise ValueError(f"unknown emotion(s) {', '.join(unknown)} (known: {', '.join(EMOTIONS)})")
    if not names:
        raise ValueError("no emotion named")
    return names


def _url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError("not an http(s) URL")
    if "?" in value or "#" in value:
        from pytest_empathy.secrets import shown_url

        # The openai client appends its paths after the query, and a query is where keys hide.
        raise ValueError(
            f"{shown_url(value)} has a query or fragment, which the openai client would put "
            "before its paths; give a key through the profile's api_key_env, not the URL"
        )
    return value


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a whole number") from None


def _positive_int(value: str) -> int:
    number = _int(value)
    if number <= 0:
        raise ValueError(f"{value!r} is not a positive whole number")
    return number


def _count(value: str) -> int:
    number = _int(value)
    if number < 0:
        raise ValueError(f"{value!r} is not a whole number of 0 or more")
    return number


def _float(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a number") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(f"{value!r} is not a finite number")
    return number


def _bounded(value: str, within: Callable[[float], bool], what: str) -> float:
    """The number ``value``, if ``within`` holds of it; else ``value`` is not ``what``."""
    number = _float(value)
    if not within(number):
        raise ValueError(f"{value!r} is not {what}")
    return number


def _alpha(value: str) -> float:
    _bounded(value, lambda n: 0 < n < 1, "between 0 and 1 (exclusive)")
    return _bounded(value, lambda n: n < 0.5, "below 0.5: the one-sided tests' intervals are at 1 - 2 ALPHA")


def _points(value: str) -> float:
    return _bounded(value, lambda n: 0 < n < 100, "a number of percentage points between 0 and 100 (exclusive)")


def _drops(value: str) -> tuple[float, float]:
    parts = value.split(",")
    if len(parts) != 2:
        raise ValueError(f"{value!r} is not two drops in points, overall and in an emotion: e.g. 10,30")
    overall, emotion = (_points(part.strip()) for part in parts)
    return overall, emotion


def _gain(value: str) -> float:
    return _bounded(value, lambda n: n > -1, "a relative gain above -1")


def _agreement(value: str) -> float:
    return _bounded(value, lambda n: -1 <= n <= 1, "an agreement between -1 and 1")


def _corpus(given: Given) -> str | Path:
    """A named corpus, or the path of a file."""
    name = given.converted(_text)
    if name is None:
        return RELEASE
    path = given.path()
    return name if name in NAMED or path is None else path


def _corpus_text(given: Given) -> Path | None:
    value = given.environment()
    return given.path() or (Path(value).expanduser() if value else None)


def _judge(given: Given) -> str | None:
    """A judge's name, or crowd:FILE with FILE made absolute from where it was given."""
    value = given.value
    if isinstance(value, str) and value.strip().startswith(CROWD_FILE):
        return CROWD_FILE + str(given.base / Path(value.strip()[len(CROWD_FILE) :]).expanduser())
    return given.converted(_model_name)


def _report_file(given: Given) -> Path | None:
    path = given.path()
    if path is not None and path.is_dir():
        raise OptionError.of(given.flag, f"{path} is a directory; name a file")
    return path


def _report_outputs(given: Given) -> tuple[ReportOutput, ...]:
    """``NAME=PATH`` values: a plugin's report format and where to write it (the names are
    checked once the plugins' formats are known)."""
    outputs = []
    for value in given.value if isinstance(given.value, list) else ():
        name, path = option_error(given.source, split_output, str(value))
        outputs.append(ReportOutput(name, given.base / Path(path).expanduser(), str(value), given.source))
    return tuple(outputs)


_RUN, _MODELS, _RECORDING, _GATES, _SAVED_RUNS, _REPORTS, _CALIBRATION = (section.name for section in SECTIONS)
# Each help fits two lines of `pytest --help`; docs/reference/options.md, made from this table, says the rest.
OPTIONS = (
    Option(
        "--empathy-model",
        "the responder: a recorded column of the corpus or a model profile; enables the plugin",
        _RUN,
        "selection.model",
        "NAME",
        convert=_model_name,
    ),
    Option(
        "--empathy-corpus",
        f"a named corpus ({RELEASE}, the default) or a CSV/JSONL file in the documented schema",
        _RUN,
        "selection.corpus",
        "NAME|PATH",
        read=_corpus,
        resolves_path=True,
    ),
    Option(
        "--empathy-corpus-text",
        f"the release file with its text (or ${RELEASE_TEXT_ENV}); else downloaded",
        _RUN,
        "selection.corpus_text",
        "PATH",
        read=_corpus_text,
        env=RELEASE_TEXT_ENV,
        resolves_path=True,
    ),
    Option(
        "--empathy-emotions",
        "comma-separated emotions to run (default: all)",
        _RUN,
        "selection.emotions",
        "LIST",
        convert=_emotions,
    ),
    Option(
        "--empathy-sample",
        "run N cases per emotion, drawn with --empathy-seed",
        _RUN,
        "selection.sample",
        "N",
        convert=_positive_int,
    ),
    Option("--empathy-seed", "seed of --empathy-sample (default 0)", _RUN, "selection.seed", "N", convert=_int),
    Option(
        "--empathy-shard",
        "this run is one shard of a benchmark: write the results, leave the gates to 'pytest-empathy merge'",
        _RUN,
        "selection.shard",
        kind=Kind.SWITCH,
    ),
    Option(
        "--empathy-judge",
        "who rates: human (the corpus's crowd), crowd:FILE (from 'pytest-empathy crowd import') or a model profile",
        _MODELS,
        "models.judge",
        "NAME",
        read=_judge,
        resolves_path=True,
    ),
    Option(
        "--empathy-baseline",
        f"what the model is compared with: {choices(BaselineKind)} (default {BaselineKind.JUDGE} with a judge model, "
        f"else {BaselineKind.HUMAN_RATERS})",
        _MODELS,
        "models.baseline",
        "NAME",
        convert=_choice(BaselineKind),
    ),
    Option(
        "--empathy-template",
        "file with the response template (placeholders {situation}, {utterance})",
        _MODELS,
        "models.template",
        "PATH",
        Kind.PATH,
    ),
    Option(
        "--empathy-judge-template",
        "file with the judge rubric (placeholders {situation}, {utterance}, {response})",
        _MODELS,
        "models.judge_template",
        "PATH",
        Kind.PATH,
    ),
    Option(
        "--empathy-base-url",
        "endpoint of the model, over its profile's",
        _MODELS,
        "models.base_url",
        "URL",
        convert=_url,
    ),
    Option(
        "--empathy-judge-base-url",
        "endpoint of the judge, over its profile's",
        _MODELS,
        "models.judge_base_url",
        "URL",
        convert=_url,
    ),
    Option(
        "--empathy-record",
        f"recording of model calls: {choices(RecordMode)} (default {RecordMode.NONE}: replay only)",
        _RECORDING,
        "recording.record",
        "MODE",
        convert=_choice(RecordMode),
    ),
    Option(
        "--empathy-cassettes",
        "directory of the cassettes (default: cassettes/ at the rootdir)",
        _RECORDING,
        "recording.cassettes",
        "DIR",
        Kind.PATH,
        under_root="cassettes",
    ),
    Option(
        "--empathy-prune-cassettes",
        "delete the cassettes no case of a full run used",
        _RECORDING,
        "recording.prune_cassettes",
        kind=Kind.SWITCH,
    ),
    Option(
        "--empathy-concurrency",
        "while recording, keep up to N cases' calls in flight in each process (default 1)",
        _RECORDING,
        "recording.concurrency",
        "N",
        convert=_positive_int,
    ),
    Option(
        "--empathy-circuit-breaker",
        "after N calls in a row failed for the endpoint's sake, fail its other calls at once (default 3; 0 never)",
        _RECORDING,
        "recording.circuit_breaker",
        "N",
        convert=_count,
    ),
    Option(
        "--empathy-gate",
        f"overall gate: {choices(GateMode)} (default {GateMode.BETTER})",
        _GATES,
        "statistics.gate",
        "MODE",
        convert=_choice(GateMode),
    ),
    Option(
        "--empathy-test",
        f"the test of the better and no-emotion-worse gates: {choices(GateTest)} (default {GateTest.GOOD_RATE})",
        _GATES,
        "statistics.test",
        "TEST",
        convert=_choice(GateTest),
    ),
    Option(
        "--empathy-alpha",
        "significance level of the gates' one-sided tests (default 0.05); intervals are two-sided at 1 - 2 ALPHA",
        _GATES,
        "statistics.alpha",
        "ALPHA",
        convert=_alpha,
    ),
    Option(
        "--empathy-margin",
        "the not-worse gate's margin: the largest Good-rate drop, in percentage points, still not worse",
        _GATES,
        "statistics.margin",
        "POINTS",
        convert=_points,
    ),
    Option(
        "--empathy-bad-margin",
        f"the no-more-bad gate's margin: the largest Bad-rate rise, in percentage points, allowed (default "
        f"{BAD_MARGIN:g})",
        _GATES,
        "statistics.bad_margin",
        "POINTS",
        convert=_points,
    ),
    Option(
        "--empathy-min-good-gain",
        "smallest relative Good-rate gain over the baseline, on its lower bound (0.1: 10%%; default 0 with better)",
        _GATES,
        "statistics.min_good_gain",
        "R",
        convert=_gain,
    ),
    Option(
        "--empathy-require-power",
        "fail a gate this run is too small to decide, instead of warning",
        _GATES,
        "statistics.require_power",
        kind=Kind.SWITCH,
    ),
    Option(
        "--empathy-allow-partial",
        "report an incomplete run, every figure labelled partial, instead of failing it",
        _GATES,
        "statistics.allow_partial",
        kind=Kind.SWITCH,
    ),
    Option(
        "--empathy-save",
        "save this run's ratings and statistics as NAME in the saved-runs directory (complete runs only)",
        _SAVED_RUNS,
        "storage.save",
        "NAME",
    ),
    Option(
        "--empathy-save-force",
        "let --empathy-save replace a saved run of the same name",
        _SAVED_RUNS,
        "storage.save_force",
        kind=Kind.SWITCH,
    ),
    Option(
        "--empathy-compare",
        "compare with the saved run NAME (alone: the latest saved run of the same model)",
        _SAVED_RUNS,
        "storage.compare",
        "NAME",
        Kind.OPTIONAL,
        bare_value="latest",
    ),
    Option(
        "--empathy-compare-fail",
        "comma-separated checks that fail the run: decline, emotion-decline (Holm), good-drop:POINTS, bad-rise",
        _SAVED_RUNS,
        "storage.compare_fail",
        "EXPR",
    ),
    Option(
        "--empathy-compare-detect",
        f"Good-rate drops (points, overall,emotion; default {','.join(f'{p:g}' for p in DROPS)}) the checks must "
        "detect with 80%% power; else a warning",
        _SAVED_RUNS,
        "statistics.compare_detect",
        "POINTS,POINTS",
        convert=_drops,
        effective="statistics.drops",
    ),
    Option(
        "--empathy-saved-runs",
        f"directory of saved runs (default {SAVED_RUNS} at the rootdir)",
        _SAVED_RUNS,
        "storage.saved_runs",
        "DIR",
        Kind.PATH,
        under_root=SAVED_RUNS,
    ),
    *(
        Option(
            report.flag,
            report.help,
            _REPORTS,
            f"storage.reports.{report.name}",
            "PATH",
            read=_report_file,
            resolves_path=True,
        )
        for report in FORMATS
    ),
    Option(
        "--empathy-output",
        "write the report format NAME (a plugin's) to PATH; repeatable",
        _REPORTS,
        "storage.outputs",
        "NAME=PATH",
        kind=Kind.REPEATABLE,
        read=_report_outputs,
        resolves_path=True,
    ),
    Option(
        "--empathy-calibrate",
        "instead of a benchmark, measure the --empathy-judge model's agreement with the corpus's crowd",
        _CALIBRATION,
        "calibration.calibrate",
        kind=Kind.SWITCH,
    ),
    Option(
        "--empathy-calibration",
        f"the judge's calibration file (default {CALIBRATIONS}/<judge>.json at the rootdir)",
        _CALIBRATION,
        "calibration.file",
        "PATH",
        Kind.PATH,
    ),
    Option(
        "--empathy-judge-correction",
        "decide the Good-rate gates on the crowd's scale, through the judge's calibration in force",
        _CALIBRATION,
        "statistics.judge_correction",
        kind=Kind.SWITCH,
    ),
    Option(
        "--empathy-judge-min-agreement",
        "fail a run whose judge has no calibration in force, or one with Krippendorff's alpha below ALPHA",
        _CALIBRATION,
        "statistics.judge_min_agreement",
        "ALPHA",
        convert=_agreement,
    ),
    Option(
        "--empathy-crowd",
        "a crowd's ratings of part of the cases: the crowd's Good rate by prediction-powered inference",
        _CALIBRATION,
        "crowd.file",
        "FILE",
        Kind.PATH,
    ),
)
GROUPS = tuple(
    OptionGroup(section.name, section.title, tuple(o for o in OPTIONS if o.section == section.name))
    for section in SECTIONS
)
# The options that, given on the command line, may add the built-in benchmark.
_ASKING_FOR_A_RUN = ("--empathy-model", "--empathy-calibrate")
_SETTING_GROUPS: dict[str, type[DataclassInstance]] = {
    "selection": SelectionSettings,
    "models": ModelSettings,
    "statistics": StatisticsSettings,
    "recording": RecordingSettings,
    "storage": StorageSettings,
    "calibration": CalibrationSettings,
    "crowd": CrowdSettings,
}


def read_settings(values: OptionValues) -> Settings:
    """The settings the options give; raises OptionError naming the option at fault."""
    for old, new in RENAMED.items():
        if not _given(values, old).empty:
            raise OptionError(old, f"{old} was renamed {new} (ini: {ini_name(new)})")
    fields: dict[str, dict[str, Any]] = {group: {} for group in _SETTING_GROUPS}
    for option in OPTIONS:
        value = _read(option, values)
        group, field, *key = option.to.split(".")
        if key:
            fields[group].setdefault(field, {})
            if value is not None:
                fields[group][field][key[0]] = value
        elif value is not None:
            fields[group][field] = value
    storage = fields["storage"]
    storage.update(rootpath=values.rootpath, reports_show_responses=shows_responses(storage["reports"]))
    fields["selection"]["on_command_line"] = any(values.command_line(ini_name(flag)) for flag in _ASKING_FOR_A_RUN)
    settings = Settings(
        SelectionSettings(**fields["selection"]),
        ModelSettings(**fields["models"]),
        StatisticsSettings(**fields["statistics"]),
        RecordingSettings(**fields["recording"]),
        StorageSettings(**fields["storage"]),
        CalibrationSettings(**fields["calibration"]),
        CrowdSettings(**fields["crowd"]),
    )
    _check_margin(settings.statistics)
    return settings


def default(option: Option) -> object:
    """What a run takes when the option is given nowhere: its folder under the rootdir, what
    its reader makes of no value, its effective setting's default, or its setting's default;
    None where its setting has none or other options decide it (its help says which). Never
    the environment's value: the reader is given no variable (Given.env), so a page built
    from this shows no build machine's setting."""
    if option.under_root is not None:
        return Path(option.under_root)
    read = option.read(Given(option.flag, None, option.flag, Path())) if option.read else None
    if read is not None:
        return read
    if option.effective is not None:
        group, attribute = option.effective.split(".")
        return getattr(_SETTING_GROUPS[group](), attribute)
    group, name, *key = option.to.split(".")
    setting = next(field for field in dataclasses.fields(_SETTING_GROUPS[group]) if field.name == name)
    return None if key or setting.default is dataclasses.MISSING else setting.default


def _given(values: OptionValues, flag: str, env: str | None = None) -> Given:
    name = ini_name(flag)
    value = values.command_line(name)
    if value is not None:
        return Given(flag, value, flag, values.invocation_dir, env)
    return Given(flag, values.ini(name), f"{name} (ini)", values.ini_dir, env)


def _read(option: Option, values: OptionValues) -> object:
    """An option's setting; None when not given and the group's default applies."""
    given = _given(values, option.flag, option.env)
    if option.read is not None:
        return option.read(given)
    if option.kind is Kind.SWITCH:
        return bool(given.value)
    if option.kind is Kind.PATH:
        path = given.path()
        if path is None and option.under_root is not None:
            return values.rootpath / option.under_root
        return path
    return given.converted(option.convert)


def _check_margin(statistics: StatisticsSettings) -> None:
    """The not-worse gate needs a margin, and takes the only one."""
    if statistics.gate is GateMode.NOT_WORSE and statistics.margin is None:
        raise OptionError(
            "--empathy-gate",
            "--empathy-gate not-worse needs --empathy-margin POINTS: the largest drop of the Good rate, in "
            "percentage points, that still counts as not worse (not significantly worse is no evidence of "
            "not worse)",
        )
    if statistics.margin is not None and statistics.gate is not GateMode.NOT_WORSE:
        raise OptionError.of("--empathy-margin", "only --empathy-gate not-worse takes a margin")
