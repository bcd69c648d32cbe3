"""A benchmark run assembled from its settings: the corpus and its cases, the responder, the
judge, the baseline and the cassettes, and every check between options, made before any
case runs, alike on the controller and on every xdist worker."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from pytest_empathy.analysis.gates import JudgeStanding
from pytest_empathy.cassettes.format import CaseCassettes
from pytest_empathy.cassettes.replayer import Replayer
from pytest_empathy.corpus.named import open_corpus
from pytest_empathy.corpus.rows import HUMAN, RATED, Corpus, Row, rated_responses
from pytest_empathy.errors import OptionError, option_error
from pytest_empathy.models import CROWD_FILE, local_server
from pytest_empathy.models.baselines import crowd_of_rated_response, make_baseline
from pytest_empathy.models.breaker import CircuitBreaker
from pytest_empathy.models.call_loop import CallLoop
from pytest_empathy.models.completions import completion_text
from pytest_empathy.models.crowd_judge import CrowdFile
from pytest_empathy.models.crowd_judge import load as crowd_file
from pytest_empathy.models.endpoint import ChatEndpoint
from pytest_empathy.models.judges import CROWD, CrowdRatings, Judge, ModelJudge, default_judge
from pytest_empathy.models.profiles import ModelProfile, load_profiles
from pytest_empathy.models.responders import ModelResponder, RecordedResponder, Responder
from pytest_empathy.models.templates import judge_rubric, response_template
from pytest_empathy.modes import GateTest, RecordMode
from pytest_empathy.results import calibrations
from pytest_empathy.results.calibrations import JudgeKey
from pytest_empathy.results.result_document import CalibrationSummary
from pytest_empathy.secrets import mask_library_logs, remember, url_secrets
from pytest_empathy.settings import Settings
from pytest_empathy.write_targets import confined

from .run import MODEL_CALLERS, BenchmarkRun, shown_path


def assemble(settings: Settings) -> BenchmarkRun:
    """Everything a run needs, checked before any case runs; raises OptionError."""
    profiles = option_error("--empathy-model", load_profiles, settings.storage.rootpath / "pyproject.toml")
    # Every credential this run could meet, masked wherever it turns up.
    remember(p.api_key() for p in profiles.values())
    models = settings.models
    for url in [p.endpoint() for p in profiles.values()] + [models.base_url, models.judge_base_url]:
        remember(url_secrets(url))
    mask_library_logs()
    selection = settings.selection
    corpus = option_error("--empathy-corpus", open_corpus, selection.corpus, text=selection.corpus_text)
    if settings.calibration.calibrate:
        return _calibration_run(settings, profiles, corpus)
    return _benchmark_run(settings, profiles, corpus)


def calibration_folder(judge: str) -> str:
    """Where a judge's calibration cassettes live, under the cassettes directory."""
    return f"{judge}/calibration"


@dataclass(frozen=True)
class _ModelCalls:
    """What every endpoint of a run shares: the profiles, the replayer (None when calls may
    go live), the circuit breaker, the loop of live calls and the corpus's name."""

    profiles: dict[str, ModelProfile]
    replayer: Replayer | None
    breaker: CircuitBreaker
    loop: CallLoop
    corpus: str

    @classmethod
    def of(cls, settings: Settings, profiles: dict[str, ModelProfile], model: str, corpus: str) -> _ModelCalls:
        recording = settings.recording
        replayer = None
        if recording.record is RecordMode.NONE:
            replayer = option_error("--empathy-cassettes", Replayer, recording.cassettes, model)
        # While recording, the calls a process may have out at once (see plugin.lookahead).
        concurrent = recording.record is not RecordMode.NONE and recording.concurrency > 1
        loop = CallLoop(recording.concurrency if concurrent else None)
        return cls(profiles, replayer, CircuitBreaker(recording.circuit_breaker), loop, corpus)

    def endpoint(self, flag: str, url_flag: str, profile: ModelProfile, base_url: str | None) -> ChatEndpoint:
        """A profile's endpoint; when calls may go live, its base URL and key must be there."""
        if self.replayer is None:
            _check_live(flag, url_flag, profile, base_url)
        return ChatEndpoint(profile, base_url, self.corpus, self.replayer, self.breaker, calls=self.loop)

    def judge(self, settings: Settings, name: str) -> ModelJudge:
        rubric = option_error("--empathy-judge-template", judge_rubric, settings.models.judge_template)
        profile = self.profiles[name]
        endpoint = self.endpoint("--empathy-judge", "--empathy-judge-base-url", profile, settings.models.judge_base_url)
        return ModelJudge(profile.name, endpoint, rubric)


def _check_live(flag: str, url_flag: str, profile: ModelProfile, base_url: str | None) -> None:
    url = profile.endpoint(base_url)
    if url is None and profile.local is None:
        hint = f"${profile.base_url_env} or " if profile.base_url_env else ""
        raise OptionError.of(flag, f"profile {profile.name!r} has no base URL: set {hint}{url_flag}")
    if url is None:
        assert profile.local is not None
        option_error(flag, local_server.require, profile.local)
    elif profile.api_key_env and not profile.api_key():
        raise OptionError.of(
            flag, f"recording with profile {profile.name!r} needs its API key in ${profile.api_key_env}"
        )
    fault = profile.key_fault()
    if fault is not None:
        raise OptionError.of(flag, fault)


def _benchmark_run(settings: Settings, profiles: dict[str, ModelProfile], corpus: Corpus) -> BenchmarkRun:
    model = settings.selection.model
    assert model is not None
    calls = _ModelCalls.of(settings, profiles, model, corpus.name)
    responder = _responder(settings, model, corpus, calls)
    judge = _judge(settings, model, corpus, calls)
    templates = _templates(responder, judge)
    if (responder.needs_text or judge.needs_text) and not corpus.has_text:
        corpus = _with_text(settings)
    if isinstance(judge, CrowdFile):
        option_error("--empathy-judge", judge.check_drawn_from, corpus)
    baseline = option_error("--empathy-baseline", make_baseline, settings.models.baseline, corpus, judge)
    cases = _cases(settings, corpus)
    cassettes = None
    if responder.calls_model or judge.calls_model:
        cassettes = calls.replayer or _recorder(settings, model, corpus, responder, judge, templates, calls.breaker)
    standing, calibration = _trust(settings, judge)
    crowd = _crowd(settings, model, judge, corpus)
    return BenchmarkRun(
        settings, corpus, cases, responder, judge, baseline, cassettes, templates, standing, calibration, crowd
    )


def _responder(settings: Settings, model: str, corpus: Corpus, calls: _ModelCalls) -> Responder:
    """The responder: a column of recorded responses, or a model profile."""
    if model in corpus.responders or model in corpus.rated:
        return RecordedResponder(model)
    if model not in calls.profiles:
        recorded = sorted(set(corpus.responders) | set(corpus.rated))
        raise OptionError.of(
            "--empathy-model",
            f"unknown responder {model!r}: corpus {corpus.name} records {', '.join(recorded) or 'no responses'}; "
            f"model profiles: {', '.join(calls.profiles)}",
        )
    template = option_error("--empathy-template", response_template, settings.models.template)
    models = settings.models
    endpoint = calls.endpoint("--empathy-model", "--empathy-base-url", calls.profiles[model], models.base_url)
    return ModelResponder(model, endpoint, template)


def _judge(settings: Settings, model: str, corpus: Corpus, calls: _ModelCalls) -> Judge:
    """The judge: the one named, or the default for the corpus's ratings of the model."""
    name = settings.models.judge or default_judge(model, corpus)
    profiles = ", ".join(calls.profiles)
    if name is None:
        raise OptionError.of(
            "--empathy-judge",
            f"corpus {corpus.name} has no ratings of {model!r}; name the judge that rates its responses "
            f"(a model profile: {profiles})",
        )
    if name.startswith(CROWD_FILE):
        return option_error("--empathy-judge", crowd_file, Path(name[len(CROWD_FILE) :]), responder=model)
    if name == CROWD:
        if model not in corpus.rated:
            raise OptionError.of(
                "--empathy-judge",
                f"judge {CROWD!r} needs ratings of {model!r} in corpus {corpus.name}, which rates only: "
                f"{', '.join(corpus.rated) or 'nothing'}",
            )
        return CrowdRatings()
    if name not in calls.profiles:
        raise OptionError.of("--empathy-judge", f"unknown judge {name!r}: {CROWD} or a model profile ({profiles})")
    return calls.judge(settings, name)


def _templates(responder: Responder, judge: Judge) -> dict[str, str]:
    """The sha256 of each template the run's models are asked with."""
    templates = {}
    if isinstance(responder, ModelResponder):
        templates["response"] = responder.template.sha256
    if isinstance(judge, ModelJudge):
        templates["judge"] = judge.rubric.sha256
    return templates


def _with_text(settings: Settings) -> Corpus:
    """The corpus again, with the text the models are asked about."""
    selection = settings.selection
    return option_error(
        "--empathy-corpus-text", open_corpus, selection.corpus, text=selection.corpus_text, need_text=True
    )


def _cases(settings: Settings, corpus: Corpus) -> tuple[Row, ...]:
    selection = settings.selection
    absent = [e for e in selection.emotions or () if e not in corpus.emotions]
    if absent:
        raise OptionError.of("--empathy-emotions", f"corpus {corpus.name} has no cases of {', '.join(absent)}")
    return tuple(corpus.select(emotions=selection.emotions, sample=selection.sample, seed=selection.seed))


def _trust(settings: Settings, judge: Judge) -> tuple[JudgeStanding | None, CalibrationSummary | None]:
    """The judge's standing against the crowd, and the checks of the options that rely on it."""
    statistics = settings.statistics
    if statistics.judge_min_agreement is not None and not judge.calls_model:
        raise OptionError.of(
            "--empathy-judge-min-agreement",
            f"the judge {judge.name!r} is the crowd, the reference a calibration measures a judge model against; "
            "name a model with --empathy-judge",
        )
    standing, calibration = _standing(settings, judge) if isinstance(judge, ModelJudge) else (None, None)
    if statistics.judge_correction and settings.crowd.file is not None:
        raise OptionError.of(
            "--empathy-crowd",
            "a crowd's ratings of part of the cases put the gates on the crowd's scale, and "
            "--empathy-judge-correction would put them there by a calibration: give one of the two",
        )
    if statistics.judge_correction:
        _check_correction(settings, judge, standing)
    return standing, calibration


def _standing(settings: Settings, judge: ModelJudge) -> tuple[JudgeStanding, CalibrationSummary | None]:
    """The judge's standing: its calibration file, when measured for this profile, model and
    rubric."""
    path = settings.calibration_path(judge.name)
    key = JudgeKey(judge.name, judge.endpoint.profile.model, judge.rubric.sha256)
    shown = shown_path(settings.storage.rootpath, path)
    return option_error("--empathy-calibration", calibrations.standing, path, key, shown)


def _check_correction(settings: Settings, judge: Judge, standing: JudgeStanding | None) -> None:
    """--empathy-judge-correction needs a calibration in force that can be inverted, and the
    Good rate deciding."""
    flag = "--empathy-judge-correction"
    if standing is None:
        raise OptionError.of(flag, f"the judge {judge.name!r} is the crowd: there is nothing to correct")
    if standing.pairs is None:
        raise OptionError.of(
            flag,
            f"needs a calibration in force for the judge {judge.name!r} ({standing.text}); "
            f"measure one with: pytest --empathy-judge={judge.name} --empathy-calibrate",
        )
    test = settings.statistics.test
    if test is not GateTest.GOOD_RATE:
        raise OptionError.of(flag, f"corrects the Good rate; --empathy-test {test} cannot use it")
    from pytest_empathy.analysis.correction import CalibrationSample

    reason = CalibrationSample.of(standing.pairs).unusable
    if reason is not None:
        raise OptionError.of(flag, f"the calibration in force cannot correct: {reason}")


def _crowd(settings: Settings, model: str, judge: Judge, corpus: Corpus) -> CrowdFile | None:
    """A crowd's ratings of part of the cases (--empathy-crowd), drawn from this corpus."""
    path = settings.crowd.file
    if path is None:
        return None
    if not isinstance(judge, ModelJudge):
        raise OptionError.of(
            "--empathy-crowd",
            f"the judge {judge.name!r} is no model; the crowd's ratings of part of the cases correct a judge "
            "model's (name one with --empathy-judge)",
        )
    crowd = option_error("--empathy-crowd", crowd_file, path, responder=model)
    option_error("--empathy-crowd", crowd.check_drawn_from, corpus)
    return crowd


def _calibration_run(settings: Settings, profiles: dict[str, ModelProfile], corpus: Corpus) -> BenchmarkRun:
    """A calibration run: the judge model rates every source's crowd-rated response to each
    selected row, each in a case of its own, with the crowd's rating as baseline."""
    judge_name = _calibrated_judge(settings, profiles)
    model = calibration_folder(judge_name)
    written = settings.calibration_path(judge_name)
    option_error("--empathy-calibration", confined, written, written.parent, "calibration file")
    calls = _ModelCalls.of(settings, profiles, model, corpus.name)
    judge = calls.judge(settings, judge_name)
    if not corpus.has_text:
        corpus = _with_text(settings)
    sources = [s for s in corpus.rated if s in corpus.responders]
    if HUMAN not in sources or len(sources) < 2:
        raise OptionError.of(
            "--empathy-calibrate",
            f"corpus {corpus.name} needs crowd-rated human responses and at least one other crowd-rated source "
            f"(response_<name> and rating_<name> columns); it has: {', '.join(sources) or 'none'}",
        )
    selection = settings.selection
    rows = corpus.select(emotions=selection.emotions, sample=selection.sample, seed=selection.seed)
    responder = RecordedResponder(RATED)
    templates = {"judge": judge.rubric.sha256}
    return BenchmarkRun(
        settings,
        corpus,
        tuple(rated_responses(rows, sources)),
        responder,
        judge,
        crowd_of_rated_response(),
        calls.replayer or _recorder(settings, model, corpus, responder, judge, templates, calls.breaker),
        templates,
    )


def _calibrated_judge(settings: Settings, profiles: dict[str, ModelProfile]) -> str:
    """The judge model a calibration run calibrates, with no option a calibration leaves unused."""
    models, storage = settings.models, settings.storage
    unused = {
        "--empathy-model": settings.selection.model,
        "--empathy-judge-correction": settings.statistics.judge_correction or None,
        "--empathy-baseline": models.baseline,
        "--empathy-template": models.template,
        "--empathy-base-url": models.base_url,
        "--empathy-save": storage.save,
        "--empathy-compare": storage.compare,
        "--empathy-shard": settings.selection.shard or None,
        "--empathy-judge-min-agreement": settings.statistics.judge_min_agreement,
    }
    given = [flag for flag, value in unused.items() if value is not None]
    if given:
        raise OptionError.of(
            "--empathy-calibrate",
            "a calibration rates the corpus's crowd-rated responses with the judge alone; drop " + ", ".join(given),
        )
    judge = models.judge
    if judge is None or judge not in profiles:
        raise OptionError.of(
            "--empathy-calibrate",
            f"name the judge model to calibrate with --empathy-judge (a model profile: {', '.join(profiles)})",
        )
    return judge


def _usable(body: str | bytes) -> bool:
    """A response body worth recording: a usable answer. (completion_text reads bytes as well:
    it parses the body with json.loads.)"""
    return completion_text(cast(str, body)) is not None


def _recorder(
    settings: Settings,
    model: str,
    corpus: Corpus,
    responder: Responder,
    judge: Judge,
    templates: Mapping[str, str],
    breaker: CircuitBreaker,
) -> CaseCassettes:
    """The recorder of the case cassettes. No answer larger than its model's profile takes is
    recorded; a judge's recorded answers that were no rating are asked again when recording
    new episodes; the breaker lets through the calls the open cassette answers itself, and
    stops every other once a cassette could not be written."""
    # vcrpy only when calls may go live: a replay does without its imports.
    from pytest_empathy.cassettes.recorder import Recorder, RunCalls

    endpoints = [p.endpoint for p in (responder, judge) if isinstance(p, MODEL_CALLERS)]
    largest: dict[str, int] = {}
    for endpoint in endpoints:
        called, bound = endpoint.profile.model, endpoint.profile.max_response_bytes
        largest[called] = max(bound, largest.get(called, bound))
    recorder = option_error(
        "--empathy-cassettes",
        Recorder,
        settings.recording.cassettes,
        model,
        settings.recording.record,
        usable=_usable,
        hash_bodies=not corpus.redistributable,
        largest=largest,
        reask=judge.unrated_answers if isinstance(judge, ModelJudge) else None,
        calls=RunCalls(frozenset(templates.values()), frozenset(largest), corpus.name),
        unwritable=breaker.halt,
    )
    for endpoint in endpoints:
        endpoint.replays = recorder.replays
    return recorder
