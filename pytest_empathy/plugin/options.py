"""Command-line options and ini settings, read once and checked at start.

This module stays light (no scipy, openai or vcrpy): pytest imports it in every run, with
or without a benchmark.

Every option has an ini twin (``--empathy-alpha`` and ``empathy_alpha``); the command line
wins. A bad value is a usage error that names the option it came from.
"""

from __future__ import annotations

import argparse
import enum
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar, overload

import pytest

from pytest_empathy.corpus.names import NAMED, RELEASE, RELEASE_TEXT_ENV
from pytest_empathy.corpus.rows import NAME_RULE, valid_name
from pytest_empathy.emotions import EMOTIONS
from pytest_empathy.errors import InputError
from pytest_empathy.models import CROWD_FILE
from pytest_empathy.modes import BaselineKind, GateMode, GateTest, RecordMode, choices
from pytest_empathy.reports.registry import FORMATS, shows_responses
from pytest_empathy.settings import BAD_MARGIN, CALIBRATIONS, DEFAULT_LIMIT, DROPS, SAVED_RUNS

T = TypeVar("T")
E = TypeVar("E", bound=enum.StrEnum)


@dataclass(frozen=True)
class Option:
    flag: str
    help: str
    metavar: str | None = None
    flag_only: bool = False  # a switch: store_true on the command line, bool in the ini file
    # Given alone on the command line, the option takes this value.
    bare_value: str | None = None
    # May be given again (appended); one value a line in the ini file.
    repeatable: bool = False

    @property
    def ini(self) -> str:
        return _ini(self.flag)


def _ini(flag: str) -> str:
    return flag.lstrip("-").replace("-", "_")


@dataclass(frozen=True)
class OptionGroup:
    """A section of `pytest --help`: the options of one task."""

    name: str
    title: str
    options: tuple[Option, ...]

    @property
    def flags(self) -> tuple[str, ...]:
        return tuple(option.flag for option in self.options)


# Each help fits two lines of `pytest --help`; the README's "Options" says the rest.
_WHAT_TO_RUN = (
    Option(
        "--empathy-model",
        "the responder: a recorded column of the corpus or a model profile; enables the plugin",
        "NAME",
    ),
    Option(
        "--empathy-corpus",
        f"a named corpus ({RELEASE}, the default) or a CSV/JSONL file in the documented schema",
        "NAME|PATH",
    ),
    Option(
        "--empathy-corpus-text",
        f"the release file with its text (or ${RELEASE_TEXT_ENV}); else downloaded",
        "PATH",
    ),
    Option("--empathy-emotions", "comma-separated emotions to run (default: all)", "LIST"),
    Option("--empathy-sample", "run N cases per emotion, drawn with --empathy-seed", "N"),
    Option("--empathy-seed", "seed of --empathy-sample (default 0)", "N"),
    Option(
        "--empathy-shard",
        "this run is one shard of a benchmark: write the results, leave the gates to 'pytest-empathy merge'",
        flag_only=True,
    ),
)
_JUDGES_AND_TEMPLATES = (
    Option(
        "--empathy-judge",
        "who rates: human (the corpus's crowd), crowd:FILE (from 'pytest-empathy crowd import') or a model profile",
        "NAME",
    ),
    Option(
        "--empathy-baseline",
        f"what the model is compared with: {choices(BaselineKind)} (default {BaselineKind.JUDGE} with a judge model, "
        f"else {BaselineKind.HUMAN_RATERS})",
        "NAME",
    ),
    Option("--empathy-template", "file with the response template (placeholders {situation}, {utterance})", "PATH"),
    Option(
        "--empathy-judge-template",
        "file with the judge rubric (placeholders {situation}, {utterance}, {response})",
        "PATH",
    ),
    Option("--empathy-base-url", "endpoint of the model, over its profile's", "URL"),
    Option("--empathy-judge-base-url", "endpoint of the judge, over its profile's", "URL"),
)
_RECORDING = (
    Option(
        "--empathy-record",
        f"recording of model calls: {choices(RecordMode)} (default {RecordMode.NONE}: replay only)",
        "MODE",
    ),
    Option("--empathy-cassettes", "directory of the cassettes (default: cassettes/ at the rootdir)", "DIR"),
    Option("--empathy-prune-cassettes", "delete the cassettes no case of a full run used", flag_only=True),
    Option(
        "--empathy-concurrency",
        "while recording, keep up to N cases' calls in flight in each process (default 1)",
        "N",
    ),
    Option(
        "--empathy-circuit-breaker",
        "after N calls in a row failed for the endpoint's sake, fail its other calls at once (default 3; 0 never)",
        "N",
    ),
)
_GATES = (
    Option("--empathy-gate", f"overall gate: {choices(GateMode)} (default {GateMode.BETTER})", "MODE"),
    Option(
        "--empathy-test",
        f"the test of the better and no-emotion-worse gates: {choices(GateTest)} (default {GateTest.GOOD_RATE})",
        "TEST",
    ),
    Option(
        "--empathy-alpha",
        "significance level of the gates' one-sided tests (default 0.05); intervals are two-sided at 1 - 2 ALPHA",
        "ALPHA",
    ),
    Option(
        "--empathy-margin",
        "the not-worse gate's margin: the largest Good-rate drop, in percentage points, still not worse",
        "POINTS",
    ),
    Option(
        "--empathy-bad-margin",
        f"the no-more-bad gate's margin: the largest Bad-rate rise, in percentage points, allowed (default "
        f"{BAD_MARGIN:g})",
        "POINTS",
    ),
    Option(
        "--empathy-min-good-gain",
        "smallest relative Good-rate gain over the baseline, on its lower bound (0.1: 10%%; default 0 with better)",
        "R",
    ),
    Option(
        "--empathy-require-power", "fail a gate this run is too small to decide, instead of warning", flag_only=True
    ),
    Option(
        "--empathy-allow-partial",
        "report an incomplete run, every figure labelled partial, instead of failing it",
        flag_only=True,
    ),
)
_COMPARING_SAVED_RUNS = (
    Option(
        "--empathy-save",
        "save this run's ratings and statistics as NAME in the saved-runs directory (complete runs only)",
        "NAME",
    ),
    Option("--empathy-save-force", "let --empathy-save replace a saved run of the same name", flag_only=True),
    Option(
        "--empathy-compare",
        "compare with the saved run NAME (alone: the latest saved run of the same model)",
        "NAME",
        bare_value="latest",
    ),
    Option(
        "--empathy-compare-fail",
        "comma-separated checks that fail the run: decline, emotion-decline (Holm), good-drop:POINTS, bad-rise",
        "EXPR",
    ),
    Option(
        "--empathy-compare-detect",
        f"Good-rate drops (points, overall,emotion; default {','.join(f'{p:g}' for p in DROPS)}) the checks must "
        "detect with 80%% power; else a warning",
        "POINTS,POINTS",
    ),
    Option("--empathy-saved-runs", f"directory of saved runs (default {SAVED_RUNS} at the rootdir)", "DIR"),
)
_REPORTS = (
    *(Option(report.flag, report.help, "PATH") for report in FORMATS),
    # Read by plugin/extensions.py, which knows the plugins' formats.
    Option(
        "--empathy-output",
        "write the report format NAME (a plugin's) to PATH; repeatable",
        "NAME=PATH",
        repeatable=True,
    ),
)
_CALIBRATION_AND_CROWD = (
    Option(
        "--empathy-calibrate",
        "instead of a benchmark, measure the --empathy-judge model's agreement with the corpus's crowd",
        flag_only=True,
    ),
    Option(
        "--empathy-calibration",
        f"the judge's calibration file (default {CALIBRATIONS}/<judge>.json at the rootdir)",
        "PATH",
    ),
    Option(
        "--empathy-judge-correction",
        "decide the Good-rate gates on the crowd's scale, through the judge's calibration in force",
        flag_only=True,
    ),
    Option(
        "--empathy-judge-min-agreement",
        "fail a run whose judge has no calibration in force, or one with Krippendorff's alpha below ALPHA",
        "ALPHA",
    ),
    Option(
        "--empathy-crowd",
        "a crowd's ratings of part of the cases: the crowd's Good rate by prediction-powered inference",
        "FILE",
    ),
)

GROUPS = (
    OptionGroup("empathy", "pytest-empathy: what to run (the README's Options says more)", _WHAT_TO_RUN),
    OptionGroup("empathy-models", "pytest-empathy: judges, baselines and templates", _JUDGES_AND_TEMPLATES),
    OptionGroup("empathy-recording", "pytest-empathy: recording and live calls", _RECORDING),
    OptionGroup("empathy-gates", "pytest-empathy: gates and statistics", _GATES),
    OptionGroup("empathy-saved-runs", "pytest-empathy: saved runs", _COMPARING_SAVED_RUNS),
    OptionGroup("empathy-reports", "pytest-empathy: reports", _REPORTS),
    OptionGroup(
        "empathy-calibration", "pytest-empathy: the judge's calibration and a crowd's ratings", _CALIBRATION_AND_CROWD
    ),
)
OPTIONS = tuple(option for group in GROUPS for option in group.options)


# Options of earlier versions, and what replaced them: naming one is a usage error saying so.
RENAMED = {"--empathy-baseline-dir": "--empathy-saved-runs"}


def add_options(parser: pytest.Parser) -> None:
    for section in GROUPS:
        group = parser.getgroup(section.name, section.title)
        for option in section.options:
            if option.flag_only:
                group.addoption(option.flag, action="store_true", default=None, help=option.help)
            elif option.repeatable:
                group.addoption(option.flag, metavar=option.metavar, action="append", default=None, help=option.help)
            elif option.bare_value is not None:
                group.addoption(
                    option.flag,
                    metavar=option.metavar,
                    nargs="?",
                    const=option.bare_value,
                    default=None,
                    help=option.help,
                )
            else:
                group.addoption(option.flag, metavar=option.metavar, default=None, help=option.help)
            # The ini twin points to its option, whose help --help shows once, in its group.
            kind: Literal["bool", "string", "linelist"] = (
                "bool" if option.flag_only else "linelist" if option.repeatable else "string"
            )
            parser.addini(option.ini, f"as {option.flag}", type=kind, default=None)
    for old in RENAMED:
        parser.getgroup(GROUPS[0].name).addoption(old, default=None, help=argparse.SUPPRESS)
        parser.addini(_ini(old), "renamed", default=None)


@dataclass(frozen=True)
class Settings:
    model: str | None
    judge: str | None
    baseline: BaselineKind | None  # None: chosen by the judge (see models.baselines)
    corpus: str | Path
    corpus_text: Path | None
    emotions: tuple[str, ...] | None
    sample: int | None
    seed: int
    alpha: float
    gate: GateMode
    test: GateTest
    # None: 0 under the 'better' gate (implied by it), not checked under 'not-worse'.
    min_good_gain: float | None
    # The not-worse gate's margin, in percentage points.
    margin: float | None
    require_power: bool
    allow_partial: bool
    # Report format name -> the path to write it to, for the reports asked for.
    reports: dict[str, Path]
    record: RecordMode
    cassettes: Path
    template: Path | None
    judge_template: Path | None
    base_url: str | None
    judge_base_url: str | None
    rootpath: Path
    save: str | None
    save_force: bool
    compare: str | None
    compare_fail: str | None
    saved_runs: Path
    prune_cassettes: bool
    shard: bool
    calibrate: bool = False
    # None: CALIBRATIONS/<judge>.json at the rootdir (see calibration_path).
    calibration: Path | None = None
    judge_min_agreement: float | None = None
    judge_correction: bool = False
    circuit_breaker: int = DEFAULT_LIMIT
    # The no-more-bad gate's margin, in percentage points.
    bad_margin: float = BAD_MARGIN
    # Cases whose calls one process keeps in flight while recording.
    concurrency: int = 1
    # A crowd's ratings of part of the cases, for prediction-powered estimates.
    crowd: Path | None = None
    # The drops, in points, overall and in an emotion, the compare-fail checks should detect;
    # None: not given (DROPS).
    compare_detect: tuple[float, float] | None = None
    # Whether --empathy-model or --empathy-calibrate came from the command line (addopts
    # included), not the ini file: only then may the plugin add its built-in benchmark.
    on_command_line: bool = False

    def calibration_path(self, judge: str) -> Path:
        return self.calibration or self.rootpath / CALIBRATIONS / f"{judge}.json"

    @property
    def keeps_responses(self) -> bool:
        """Whether each case's answer travels to the controller and into the JSON result:
        for a report that shows it, a saved run (a later comparison shows its answers), a
        comparison (its changed cases) and a shard (merged, it reports as the whole run).
        Otherwise no answer is sent: a plain replay pays nothing for text it never shows."""
        return shows_responses(self.reports) or self.save is not None or self.compare is not None or self.shard

    def to_builtins(self) -> dict[str, Any]:
        """The settings that decide the statistics and gates, as the JSON result keeps them."""
        return {
            "emotions": list(self.emotions) if self.emotions else None,
            "sample": self.sample,
            "seed": self.seed,
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
            "compare_detect": list(self.compare_detect or DROPS),
        }


def read_settings(config: pytest.Config) -> Settings:
    values = _Values(config)
    for old, new in RENAMED.items():
        if values.given(old):
            raise pytest.UsageError(f"{old} was renamed {new} (ini: {_ini(new)})")
    reports = {}
    for report in FORMATS:
        path = values.path(report.flag)
        if path is not None and path.is_dir():
            raise pytest.UsageError(f"{report.flag}: {path} is a directory; name a file")
        if path is not None:
            reports[report.name] = path
    return Settings(
        model=values.get("--empathy-model", _model_name),
        judge=_judge(values),
        baseline=values.get("--empathy-baseline", _choice(BaselineKind)),
        corpus=_corpus(values),
        corpus_text=values.path("--empathy-corpus-text") or _env_path(RELEASE_TEXT_ENV),
        emotions=values.get("--empathy-emotions", _emotions),
        sample=values.get("--empathy-sample", _positive_int),
        seed=values.get("--empathy-seed", _int, 0),
        alpha=values.get("--empathy-alpha", _alpha, 0.05),
        gate=values.get("--empathy-gate", _choice(GateMode), GateMode.BETTER),
        test=values.get("--empathy-test", _choice(GateTest), GateTest.GOOD_RATE),
        min_good_gain=values.get("--empathy-min-good-gain", _gain),
        margin=_margin(values),
        bad_margin=values.get("--empathy-bad-margin", _points, BAD_MARGIN),
        require_power=values.flag("--empathy-require-power"),
        allow_partial=values.flag("--empathy-allow-partial"),
        reports=reports,
        record=values.get("--empathy-record", _choice(RecordMode), RecordMode.NONE),
        cassettes=values.path("--empathy-cassettes") or config.rootpath / "cassettes",
        template=values.path("--empathy-template"),
        judge_template=values.path("--empathy-judge-template"),
        base_url=values.get("--empathy-base-url", _url),
        judge_base_url=values.get("--empathy-judge-base-url", _url),
        rootpath=config.rootpath,
        save=values.get("--empathy-save", _name),
        save_force=values.flag("--empathy-save-force"),
        compare=values.get("--empathy-compare", _name),
        compare_fail=values.get("--empathy-compare-fail", _name),
        compare_detect=values.get("--empathy-compare-detect", _drops),
        saved_runs=values.path("--empathy-saved-runs") or config.rootpath / SAVED_RUNS,
        prune_cassettes=values.flag("--empathy-prune-cassettes"),
        circuit_breaker=values.get("--empathy-circuit-breaker", _count, DEFAULT_LIMIT),
        concurrency=values.get("--empathy-concurrency", _positive_int, 1),
        crowd=values.path("--empathy-crowd"),
        on_command_line=any(config.getoption(_ini(flag)) for flag in ("--empathy-model", "--empathy-calibrate")),
        shard=values.flag("--empathy-shard"),
        calibrate=values.flag("--empathy-calibrate"),
        calibration=values.path("--empathy-calibration"),
        judge_min_agreement=values.get("--empathy-judge-min-agreement", _agreement),
        judge_correction=values.flag("--empathy-judge-correction"),
    )


class _Values:
    """Raw option values with where they came from, for messages and relative paths."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    def raw(self, flag: str) -> tuple[Any, str, Path]:
        value = self.config.getoption(_ini(flag))
        if value is not None:
            return value, flag, self.config.invocation_params.dir
        value = self.config.getini(_ini(flag))
        inifile = self.config.inipath
        base = inifile.parent if inifile else self.config.rootpath
        return value, f"{_ini(flag)} (ini)", base

    def given(self, flag: str) -> bool:
        value = self.raw(flag)[0]
        return value is not None and value != ""

    def flag(self, flag: str) -> bool:
        return bool(self.raw(flag)[0])

    @overload
    def get(self, flag: str, convert: Callable[[str], T], default: T) -> T: ...
    @overload
    def get(self, flag: str, convert: Callable[[str], T], default: None = None) -> T | None: ...

    def get(self, flag: str, convert: Callable[[str], T], default: T | None = None) -> T | None:
        value, source, _ = self.raw(flag)
        if value is None or (isinstance(value, str) and not value.strip()):
            return default
        try:
            return convert(str(value).strip())
        except ValueError as error:
            raise pytest.UsageError(f"{source}: {error}") from None

    def path(self, flag: str) -> Path | None:
        value, _, base = self.raw(flag)
        return base / Path(value).expanduser() if value else None


def as_usage_error(flag: str, build: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call a builder; input it cannot use becomes a usage error that names the option."""
    try:
        return build(*args, **kwargs)
    except InputError as error:
        raise pytest.UsageError(f"{flag}: {error}") from None


def _corpus(values: _Values) -> str | Path:
    name = values.get("--empathy-corpus", _name, RELEASE)
    path = values.path("--empathy-corpus")
    return name if name in NAMED or path is None else path


def _env_path(variable: str) -> Path | None:
    value = os.environ.get(variable)
    return Path(value).expanduser() if value else None


def _name(value: str) -> str:
    return value


def _judge(values: _Values) -> str | None:
    """A judge's name, or crowd:FILE with FILE made absolute from where it was given."""
    value, _, base = values.raw("--empathy-judge")
    if isinstance(value, str) and value.strip().startswith(CROWD_FILE):
        return CROWD_FILE + str(base / Path(value.strip()[len(CROWD_FILE) :]).expanduser())
    return values.get("--empathy-judge", _model_name)


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


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a whole number") from None


def _float(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a number") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(f"{value!r} is not a finite number")
    return number


def _probability(value: str) -> float:
    number = _float(value)
    if not 0 < number < 1:
        raise ValueError(f"{value!r} is not between 0 and 1 (exclusive)")
    return number


def _margin(values: _Values) -> float | None:
    margin = values.get("--empathy-margin", _points)
    gate = values.get("--empathy-gate", _choice(GateMode), GateMode.BETTER)
    if gate is GateMode.NOT_WORSE and margin is None:
        raise pytest.UsageError(
            "--empathy-gate not-worse needs --empathy-margin POINTS: the largest drop of the Good rate, in "
            "percentage points, that still counts as not worse (not significantly worse is no evidence of "
            "not worse)"
        )
    if margin is not None and gate is not GateMode.NOT_WORSE:
        raise pytest.UsageError("--empathy-margin: only --empathy-gate not-worse takes a margin")
    return margin


def _points(value: str) -> float:
    number = _float(value)
    if not 0 < number < 100:
        raise ValueError(f"{value!r} is not a number of percentage points between 0 and 100 (exclusive)")
    return number


def _drops(value: str) -> tuple[float, float]:
    parts = value.split(",")
    if len(parts) != 2:
        raise ValueError(f"{value!r} is not two drops in points, overall and in an emotion: e.g. 10,30")
    overall, emotion = (_points(part.strip()) for part in parts)
    return overall, emotion


def _alpha(value: str) -> float:
    number = _probability(value)
    if number >= 0.5:
        raise ValueError(f"{value!r} is not below 0.5: the one-sided tests' intervals are at 1 - 2 ALPHA")
    return number


def _gain(value: str) -> float:
    number = _float(value)
    if number <= -1:
        raise ValueError(f"{value!r} is not a relative gain above -1")
    return number


def _agreement(value: str) -> float:
    number = _float(value)
    if not -1 <= number <= 1:
        raise ValueError(f"{value!r} is not an agreement between -1 and 1")
    return number
