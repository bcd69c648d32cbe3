"""What one process needs to run cases: the corpus, the selected cases, the responder, the
judge, the baseline and the cassettes; built alike on the controller and on every xdist
worker from the settings, and checked before any case runs."""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from contextlib import ExitStack, nullcontext
from dataclasses import dataclass
from pathlib import Path

import pytest

from pytest_empathy.analysis.gates import JudgeStanding
from pytest_empathy.cassettes.format import CaseCassettes
from pytest_empathy.cassettes.miss_reasons import Miss, diagnose
from pytest_empathy.cassettes.replayer import Replayer
from pytest_empathy.corpus.named import open_corpus
from pytest_empathy.corpus.names import RELEASE
from pytest_empathy.corpus.rows import HUMAN, RATED, Corpus, Row, rated_responses
from pytest_empathy.models import CROWD_FILE, local_server
from pytest_empathy.models.baselines import Baseline, crowd_of_rated_response, make_baseline
from pytest_empathy.models.breaker import CircuitBreaker
from pytest_empathy.models.call_loop import CallLoop
from pytest_empathy.models.completions import completion_text
from pytest_empathy.models.crowd_judge import CrowdFile
from pytest_empathy.models.crowd_judge import load as crowd_file
from pytest_empathy.models.endpoint import ChatEndpoint, NotRecorded, masked_answers
from pytest_empathy.models.judges import CROWD, CrowdRatings, Judge, ModelJudge, Unrated, default_judge
from pytest_empathy.models.profiles import KeyNotMasked, KeyStripped, ModelProfile, load_profiles
from pytest_empathy.models.responders import ModelResponder, RecordedResponder, Responder
from pytest_empathy.models.templates import judge_rubric, response_template
from pytest_empathy.modes import GateTest, RecordMode
from pytest_empathy.results import calibrations
from pytest_empathy.results.calibrations import JudgeKey
from pytest_empathy.results.case import CaseResult
from pytest_empathy.results.result_document import CalibrationSummary
from pytest_empathy.secrets import MASK, SHORTEST_MASKED, SecretMasked, mask_library_logs, remember, url_secrets
from pytest_empathy.write_targets import confined

from .options import Settings, as_usage_error

# What calls a model through an endpoint.
ModelParts = (ModelResponder, ModelJudge)


@dataclass(frozen=True)
class Evaluation:
    """A case's result, and the warning its test gives when a model's answer carried a
    credential (given by the test, not where the case was evaluated: that may be a thread
    evaluating it ahead, while another test runs)."""

    result: CaseResult
    masked: SecretMasked | None = None


class CaseNotRecorded(Exception):
    """A case whose calls have no recording; the message says where and how to record."""

    def __init__(self, message: str, reason: Miss) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Run:
    settings: Settings
    corpus: Corpus
    cases: tuple[Row, ...]
    responder: Responder
    judge: Judge
    baseline: Baseline
    # The case cassettes: a Replayer in record mode none, else a vcrpy Recorder.
    cassettes: CaseCassettes | None
    templates: dict[str, str]
    # A judge model's standing against the crowd, and the JSON summary of its calibration
    # file when there is one; None for the crowd.
    judge_standing: JudgeStanding | None = None
    judge_calibration: CalibrationSummary | None = None
    # A crowd's ratings of part of the cases (--empathy-crowd), for prediction-powered estimates.
    crowd: CrowdFile | None = None

    @property
    def calibrating(self) -> bool:
        return self.settings.calibrate

    def calibration_path(self) -> Path:
        return self.settings.calibration_path(self.judge.name)

    @classmethod
    def from_settings(cls, settings: Settings) -> Run:
        """Everything a run needs, checked before any case runs; raises pytest.UsageError."""
        profiles = as_usage_error("--empathy-model", load_profiles, settings.rootpath / "pyproject.toml")
        # Every credential this run could meet, masked wherever it turns up.
        remember(p.api_key() for p in profiles.values())
        for url in [p.endpoint() for p in profiles.values()] + [settings.base_url, settings.judge_base_url]:
            remember(url_secrets(url))
        mask_library_logs()
        corpus = as_usage_error("--empathy-corpus", open_corpus, settings.corpus, text=settings.corpus_text)
        if settings.calibrate:
            return cls._calibration(settings, profiles, corpus)
        assert settings.model is not None
        replayer = _replayer(settings, settings.model)
        breaker = CircuitBreaker(settings.circuit_breaker)
        calls = _call_loop(settings)
        templates: dict[str, str] = {}

        if settings.model in corpus.responders or settings.model in corpus.rated:
            responder: Responder = RecordedResponder(settings.model)
        elif settings.model in profiles:
            template = as_usage_error("--empathy-template", response_template, settings.template)
            templates["response"] = template.sha256
            endpoint = _endpoint(
                "--empathy-model",
                "--empathy-base-url",
                profiles[settings.model],
                settings.base_url,
                replayer,
                corpus.name,
                breaker,
                calls,
            )
            responder = ModelResponder(settings.model, endpoint, template)
        else:
            recorded = sorted(set(corpus.responders) | set(corpus.rated))
            raise pytest.UsageError(
                f"--empathy-model: unknown responder {settings.model!r}: corpus {corpus.name} "
                f"records {', '.join(recorded) or 'no responses'}; model profiles: {', '.join(profiles)}"
            )

        judge_name = settings.judge or default_judge(settings.model, corpus)
        if judge_name is None:
            raise pytest.UsageError(
                f"--empathy-judge: corpus {corpus.name} has no ratings of {settings.model!r}; "
                f"name the judge that rates its responses (a model profile: {', '.join(profiles)})"
            )
        judge: Judge
        if judge_name.startswith(CROWD_FILE):
            judge = as_usage_error(
                "--empathy-judge", crowd_file, Path(judge_name[len(CROWD_FILE) :]), responder=settings.model
            )
        elif judge_name == CROWD:
            if settings.model not in corpus.rated:
                raise pytest.UsageError(
                    f"--empathy-judge: judge {CROWD!r} needs ratings of {settings.model!r} in corpus "
                    f"{corpus.name}, which rates only: {', '.join(corpus.rated) or 'nothing'}"
                )
            judge = CrowdRatings()
        elif judge_name in profiles:
            model_judge = _model_judge(settings, profiles[judge_name], replayer, corpus.name, breaker, calls)
            templates["judge"] = model_judge.rubric.sha256
            judge = model_judge
        else:
            raise pytest.UsageError(
                f"--empathy-judge: unknown judge {judge_name!r}: {CROWD} or a model profile ({', '.join(profiles)})"
            )

        if (responder.needs_text or judge.needs_text) and not corpus.has_text:
            corpus = as_usage_error(
                "--empathy-corpus-text", open_corpus, settings.corpus, text=settings.corpus_text, need_text=True
            )
        if isinstance(judge, CrowdFile):
            as_usage_error("--empathy-judge", judge.check_drawn_from, corpus)
        baseline = as_usage_error("--empathy-baseline", make_baseline, settings.baseline, corpus, judge)
        absent = [e for e in settings.emotions or () if e not in corpus.emotions]
        if absent:
            raise pytest.UsageError(f"--empathy-emotions: corpus {corpus.name} has no cases of {', '.join(absent)}")
        cases = corpus.select(emotions=settings.emotions, sample=settings.sample, seed=settings.seed)
        cassettes = None
        if responder.calls_model or judge.calls_model:
            cassettes = replayer or _recorder(settings, settings.model, corpus, responder, judge, templates, breaker)
        if settings.judge_min_agreement is not None and not judge.calls_model:
            raise pytest.UsageError(
                f"--empathy-judge-min-agreement: the judge {judge.name!r} is the crowd, the reference a "
                "calibration measures a judge model against; name a model with --empathy-judge"
            )
        standing, calibration = _standing(settings, judge) if isinstance(judge, ModelJudge) else (None, None)
        if settings.judge_correction and settings.crowd is not None:
            raise pytest.UsageError(
                "--empathy-crowd: a crowd's ratings of part of the cases put the gates on the crowd's scale, and "
                "--empathy-judge-correction would put them there by a calibration: give one of the two"
            )
        if settings.judge_correction:
            _check_correction(settings, judge, standing)
        crowd = None
        if settings.crowd is not None:
            if not isinstance(judge, ModelJudge):
                raise pytest.UsageError(
                    f"--empathy-crowd: the judge {judge.name!r} is no model; the crowd's ratings of part of the cases "
                    "correct a judge model's (name one with --empathy-judge)"
                )
            crowd = as_usage_error("--empathy-crowd", crowd_file, settings.crowd, responder=settings.model)
            as_usage_error("--empathy-crowd", crowd.check_drawn_from, corpus)
        return cls(
            settings,
            corpus,
            tuple(cases),
            responder,
            judge,
            baseline,
            cassettes,
            templates,
            standing,
            calibration,
            crowd,
        )

    @classmethod
    def _calibration(cls, settings: Settings, profiles: dict[str, ModelProfile], corpus: Corpus) -> Run:
        """A calibration run: the judge model rates every source's crowd-rated response to
        each selected row, each in a case of its own, with the crowd's rating as baseline."""
        unused = {
            "--empathy-model": settings.model,
            "--empathy-judge-correction": settings.judge_correction or None,
            "--empathy-baseline": settings.baseline,
            "--empathy-template": settings.template,
            "--empathy-base-url": settings.base_url,
            "--empathy-save": settings.save,
            "--empathy-compare": settings.compare,
            "--empathy-shard": settings.shard or None,
            "--empathy-judge-min-agreement": settings.judge_min_agreement,
        }
        given = [flag for flag, value in unused.items() if value is not None]
        if given:
            raise pytest.UsageError(
                f"--empathy-calibrate: a calibration rates the corpus's crowd-rated responses with the judge "
                f"alone; drop {', '.join(given)}"
            )
        if settings.judge not in profiles:
            raise pytest.UsageError(
                f"--empathy-calibrate: name the judge model to calibrate with --empathy-judge (a model profile: "
                f"{', '.join(profiles)})"
            )
        model = calibration_folder(settings.judge)
        written = settings.calibration_path(settings.judge)
        as_usage_error("--empathy-calibration", confined, written, written.parent, "calibration file")
        replayer = _replayer(settings, model)
        breaker = CircuitBreaker(settings.circuit_breaker)
        judge = _model_judge(settings, profiles[settings.judge], replayer, corpus.name, breaker, _call_loop(settings))
        if not corpus.has_text:
            corpus = as_usage_error(
                "--empathy-corpus-text", open_corpus, settings.corpus, text=settings.corpus_text, need_text=True
            )
        sources = [s for s in corpus.rated if s in corpus.responders]
        if HUMAN not in sources or len(sources) < 2:
            raise pytest.UsageError(
                f"--empathy-calibrate: corpus {corpus.name} needs crowd-rated human responses and at least one "
                f"other crowd-rated source (response_<name> and rating_<name> columns); it has: "
                f"{', '.join(sources) or 'none'}"
            )
        rows = corpus.select(emotions=settings.emotions, sample=settings.sample, seed=settings.seed)
        responder = RecordedResponder(RATED)
        templates = {"judge": judge.rubric.sha256}
        return cls(
            settings,
            corpus,
            tuple(rated_responses(rows, sources)),
            responder,
            judge,
            crowd_of_rated_response(),
            replayer or _recorder(settings, model, corpus, responder, judge, templates, breaker),
            templates,
        )

    def evaluate(self, row: Row) -> Evaluation:
        """The responder answers the case and the judge rates the answer (and, for the
        ``judge`` baseline, the human response), all in the case's cassette."""
        masked = masked_answers()
        with self.cassettes.cassette(row) if self.cassettes else nullcontext({}) as usage:
            try:
                response = self.responder.answer(row)
                rating = self.judge.rate(row, self.responder.name, response)
                baseline_rating = self.baseline.rate(row)
            except NotRecorded as error:
                raise self._not_recorded(row, error) from None
            except Unrated as error:
                raise self._unrated(row, error) from None
        cassette = None if self.cassettes is None else self.shown_path(self.cassettes.location(row))
        warning = None
        if masked_answers() > masked:
            warning = SecretMasked(
                f"case {row.case_id}: a model's answer carried a credential of this run; it is masked as "
                f"{MASK} in the answer, the judge's prompt, every report and the cassette {cassette}"
            )
        if self.crowd is not None:
            # Outside the cassette's try: asking the judge again cannot make the crowd's rating one of this answer.
            self.crowd.check_rated_answer(row, response)
        result = CaseResult(
            row.case_id,
            row.emotion,
            rating,
            baseline_rating,
            response,
            cassette,
            usage,
            rater=self.judge.rater(row, self.responder.name),
            baseline_rater=self.baseline.rater(row),
        )
        return Evaluation(result, warning)

    def models(self) -> set[str]:
        """The model names this run's calls go to (the responder's and the judge's)."""
        return {part.endpoint.profile.model for part in (self.responder, self.judge) if isinstance(part, ModelParts)}

    def key_warnings(self) -> list[UserWarning]:
        """A warning for each key this run sends that had whitespace around it, or that is too
        short to be masked, naming its variable, never the key."""
        sent = {
            part.endpoint.profile
            for part in (self.responder, self.judge)
            if isinstance(part, ModelParts) and part.endpoint.replayer is None and part.endpoint.profile.api_key_env
        }
        found: list[UserWarning] = []
        for profile in sorted(sent, key=lambda p: str(p.api_key_env)):
            variable, length = profile.api_key_env, profile.key_length()
            if profile.key_padded():
                found.append(
                    KeyStripped(
                        f"${variable} holds whitespace around its key (a pasted line end?); it is sent without it"
                    )
                )
            if 0 < length < SHORTEST_MASKED:
                found.append(
                    KeyNotMasked(
                        f"${variable} holds a key of {length} character(s), too short to tell from ordinary text: it "
                        "is sent but not masked in cassettes, logs or reports (a provider's key is far longer; a "
                        "placeholder for a server that checks none, such as EMPTY, needs no masking)"
                    )
                )
        return list({str(w): w for w in found}.values())

    def close(self) -> None:
        """Cancel the calls still out, then close the live clients of this process's endpoints."""
        endpoints = [part.endpoint for part in (self.responder, self.judge) if isinstance(part, ModelParts)]
        with ExitStack() as closing:
            for endpoint in endpoints:
                closing.callback(endpoint.close)
            for endpoint in endpoints:
                endpoint.calls.cancel()

    def shown_path(self, path: str | Path) -> str:
        """A path as results show it: relative to the rootdir when inside it, so that a saved
        run does not depend on where the repository was checked out."""
        return shown_path(self.settings.rootpath, path)

    def _unrated(self, row: Row, error: Unrated) -> Unrated:
        """The judge gave no rating: say how to ask it again when the answers were recorded. A
        crowd's ratings file is not asked: it says the same again."""
        if (
            self.cassettes is None
            or not self.judge.calls_model
            or self.settings.record in (RecordMode.NEW_EPISODES, RecordMode.ALL)
        ):
            return error
        return Unrated(
            f"{error}. Its answers are recorded in {self.shown_path(self.cassettes.path(row))}; ask it again with: "
            f"{self.record_command()} -k {shlex.quote(row.case_id)}"
        )

    def _not_recorded(self, row: Row, error: NotRecorded) -> CaseNotRecorded:
        assert self.cassettes is not None
        path = self.cassettes.path(row)
        reason, why = diagnose(path, error.template_sha256, self.templates)
        return CaseNotRecorded(
            f"{error}: {why}. Cassette: {self.shown_path(path)}. Record it with: {self.record_command()} "
            f"-k {shlex.quote(row.case_id)}",
            reason,
        )

    def record_command(self) -> str:
        """The command that records the missing calls of this run's selection, to be run from
        the rootdir: its paths are shown from there, as every path the plugin shows."""
        s = self.settings
        words = ["pytest", f"--empathy-model={s.model}" if s.model else "--empathy-calibrate"]
        words += [f"--empathy-judge={self._judge_named(s.judge)}"] if s.judge else []
        words += [f"--empathy-corpus={self.shown_path(s.corpus)}"] if s.corpus != RELEASE else []
        words += [f"--empathy-baseline={s.baseline}"] if s.baseline is not None else []
        words += [f"--empathy-template={self.shown_path(s.template)}"] if s.template else []
        words += [f"--empathy-judge-template={self.shown_path(s.judge_template)}"] if s.judge_template else []
        if s.cassettes != s.rootpath / "cassettes":
            words.append(f"--empathy-cassettes={self.shown_path(s.cassettes)}")
        words += [f"--empathy-emotions={','.join(s.emotions)}"] if s.emotions else []
        words += [f"--empathy-sample={s.sample}", f"--empathy-seed={s.seed}"] if s.sample else []
        words.append(f"--empathy-record={RecordMode.NEW_EPISODES}")
        return " ".join(shlex.quote(w) for w in words)

    def _judge_named(self, judge: str) -> str:
        """The judge as --empathy-judge names it: a crowd's ratings file by its path."""
        if judge.startswith(CROWD_FILE):
            return CROWD_FILE + self.shown_path(judge[len(CROWD_FILE) :])
        return judge


def calibration_folder(judge: str) -> str:
    """Where a judge's calibration cassettes live, under the cassettes directory."""
    return f"{judge}/calibration"


def _model_judge(
    settings: Settings,
    profile: ModelProfile,
    replayer: Replayer | None,
    corpus: str,
    breaker: CircuitBreaker,
    calls: CallLoop,
) -> ModelJudge:
    rubric = as_usage_error("--empathy-judge-template", judge_rubric, settings.judge_template)
    endpoint = _endpoint(
        "--empathy-judge",
        "--empathy-judge-base-url",
        profile,
        settings.judge_base_url,
        replayer,
        corpus,
        breaker,
        calls,
    )
    return ModelJudge(profile.name, endpoint, rubric)


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

    endpoints = [p.endpoint for p in (responder, judge) if isinstance(p, ModelParts)]
    largest: dict[str, int] = {}
    for endpoint in endpoints:
        called, bound = endpoint.profile.model, endpoint.profile.max_response_bytes
        largest[called] = max(bound, largest.get(called, bound))
    recorder = as_usage_error(
        "--empathy-cassettes",
        Recorder,
        settings.cassettes,
        model,
        settings.record,
        usable=lambda body: completion_text(body) is not None,
        hash_bodies=not corpus.redistributable,
        largest=largest,
        reask=judge.unrated_answers if isinstance(judge, ModelJudge) else None,
        calls=RunCalls(frozenset(templates.values()), frozenset(largest), corpus.name),
        unwritable=breaker.halt,
    )
    for endpoint in endpoints:
        endpoint.replays = recorder.replays
    return recorder


def _call_loop(settings: Settings) -> CallLoop:
    """The loop of the run's live calls, and while recording the calls it may have out at
    once (see Ahead)."""
    recording = settings.record is not RecordMode.NONE
    return CallLoop(settings.concurrency if recording and settings.concurrency > 1 else None)


def _replayer(settings: Settings, model: str) -> Replayer | None:
    """The replayer of a run in record mode none; None when calls may go live."""
    if settings.record is not RecordMode.NONE:
        return None
    return as_usage_error("--empathy-cassettes", Replayer, settings.cassettes, model)


def _standing(settings: Settings, judge: ModelJudge) -> tuple[JudgeStanding, CalibrationSummary | None]:
    """The judge's standing: its calibration file, when measured for this profile, model and
    rubric."""
    path = settings.calibration_path(judge.name)
    key = JudgeKey(judge.name, judge.endpoint.profile.model, judge.rubric.sha256)
    shown = shown_path(settings.rootpath, path)
    return as_usage_error("--empathy-calibration", calibrations.standing, path, key, shown)


def _check_correction(settings: Settings, judge: Judge, standing: JudgeStanding | None) -> None:
    """--empathy-judge-correction needs a calibration in force that can be inverted, and the
    Good rate deciding."""
    flag = "--empathy-judge-correction"
    if standing is None:
        raise pytest.UsageError(f"{flag}: the judge {judge.name!r} is the crowd: there is nothing to correct")
    if standing.pairs is None:
        raise pytest.UsageError(
            f"{flag}: needs a calibration in force for the judge {judge.name!r} ({standing.text}); "
            f"measure one with: pytest --empathy-judge={judge.name} --empathy-calibrate"
        )
    if settings.test is not GateTest.GOOD_RATE:
        raise pytest.UsageError(f"{flag}: corrects the Good rate; --empathy-test {settings.test} cannot use it")
    from pytest_empathy.analysis.correction import CalibrationSample

    reason = CalibrationSample.of(standing.pairs).unusable
    if reason is not None:
        raise pytest.UsageError(f"{flag}: the calibration in force cannot correct: {reason}")


def shown_path(rootpath: Path, path: str | Path) -> str:
    # By text: cheaper than pathlib, and this runs once per case.
    return str(path).removeprefix(f"{rootpath}{os.sep}")


def _endpoint(
    flag: str,
    url_flag: str,
    profile: ModelProfile,
    base_url: str | None,
    replayer: Replayer | None,
    corpus: str,
    breaker: CircuitBreaker,
    calls: CallLoop,
) -> ChatEndpoint:
    """A profile's endpoint; when calls may go live, its base URL and key must be there."""
    if replayer is None:
        url = profile.endpoint(base_url)
        if url is None and profile.local is None:
            hint = f"${profile.base_url_env} or " if profile.base_url_env else ""
            raise pytest.UsageError(f"{flag}: profile {profile.name!r} has no base URL: set {hint}{url_flag}")
        if url is None:
            assert profile.local is not None
            as_usage_error(flag, local_server.require, profile.local)
        elif profile.api_key_env and not profile.api_key():
            raise pytest.UsageError(
                f"{flag}: recording with profile {profile.name!r} needs its API key in ${profile.api_key_env}"
            )
        fault = profile.key_fault()
        if fault is not None:
            raise pytest.UsageError(f"{flag}: {fault}")
    return ChatEndpoint(profile, base_url, corpus, replayer, breaker, calls=calls)
