"""What one process needs to run cases: the corpus, the selected cases, the responder, the
judge, the baseline and the cassettes; built alike on the controller and on every xdist
worker from the settings, and checked before any case runs."""

from __future__ import annotations

import os
import shlex
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import pytest

from pytest_empathy.cassettes.format import CaseCassettes
from pytest_empathy.cassettes.misses import Miss, diagnose
from pytest_empathy.cassettes.replayer import Replayer
from pytest_empathy.corpus.named import RELEASE, open_corpus
from pytest_empathy.corpus.rows import Corpus, Row
from pytest_empathy.models import local_server
from pytest_empathy.models.baselines import Baseline, make_baseline
from pytest_empathy.models.completions import completion_text
from pytest_empathy.models.endpoint import ChatEndpoint, NotRecorded
from pytest_empathy.models.judges import CROWD, CrowdRatings, Judge, ModelJudge, default_judge
from pytest_empathy.models.profiles import ModelProfile, load_profiles
from pytest_empathy.models.responders import ModelResponder, RecordedResponder, Responder
from pytest_empathy.models.templates import judge_rubric, response_template
from pytest_empathy.modes import RecordMode
from pytest_empathy.results.case import CaseResult

from .options import Settings, as_usage_error


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

    @classmethod
    def from_settings(cls, settings: Settings) -> Run:
        """Everything a run needs, checked before any case runs; raises pytest.UsageError."""
        assert settings.model is not None
        profiles = as_usage_error("--empathy-model", load_profiles, settings.rootpath / "pyproject.toml")
        corpus = as_usage_error("--empathy-corpus", open_corpus, settings.corpus, text=settings.corpus_text)
        replayer = Replayer(settings.cassettes, settings.model) if settings.record is RecordMode.NONE else None
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
        if judge_name == CROWD:
            if settings.model not in corpus.rated:
                raise pytest.UsageError(
                    f"--empathy-judge: judge {CROWD!r} needs ratings of {settings.model!r} in corpus "
                    f"{corpus.name}, which rates only: {', '.join(corpus.rated) or 'nothing'}"
                )
            judge: Judge = CrowdRatings()
        elif judge_name in profiles:
            rubric = as_usage_error("--empathy-judge-template", judge_rubric, settings.judge_template)
            templates["judge"] = rubric.sha256
            endpoint = _endpoint(
                "--empathy-judge",
                "--empathy-judge-base-url",
                profiles[judge_name],
                settings.judge_base_url,
                replayer,
                corpus.name,
            )
            judge = ModelJudge(judge_name, endpoint, rubric)
        else:
            raise pytest.UsageError(
                f"--empathy-judge: unknown judge {judge_name!r}: {CROWD} or a model profile ({', '.join(profiles)})"
            )

        if (responder.needs_text or judge.needs_text) and not corpus.has_text:
            corpus = as_usage_error(
                "--empathy-corpus-text", open_corpus, settings.corpus, text=settings.corpus_text, need_text=True
            )
        baseline = as_usage_error("--empathy-baseline", make_baseline, settings.baseline, corpus, judge)
        absent = [e for e in settings.emotions or () if e not in corpus.emotions]
        if absent:
            raise pytest.UsageError(f"--empathy-emotions: corpus {corpus.name} has no cases of {', '.join(absent)}")
        cases = corpus.select(emotions=settings.emotions, sample=settings.sample, seed=settings.seed)
        cassettes: CaseCassettes | None = None
        if responder.calls_model or judge.calls_model:
            if replayer is None:
                # vcrpy only when calls may go live: a replay does without its imports.
                from pytest_empathy.cassettes.recorder import Recorder

                cassettes = Recorder(
                    settings.cassettes,
                    settings.model,
                    settings.record,
                    usable=lambda body: completion_text(body) is not None,
                )
            else:
                cassettes = replayer
        return cls(settings, corpus, tuple(cases), responder, judge, baseline, cassettes, templates)

    def evaluate(self, row: Row) -> CaseResult:
        """The responder answers the case and the judge rates the answer (and, for the
        ``judge`` baseline, the human response), all in the case's cassette."""
        with self.cassettes.cassette(row) if self.cassettes else nullcontext({}) as usage:
            try:
                response = self.responder.answer(row)
                rating = self.judge.rate(row, self.responder.name, response)
                baseline_rating = self.baseline.rate(row)
            except NotRecorded as error:
                raise self._not_recorded(row, error) from None
        cassette = None if self.cassettes is None else self.shown_path(self.cassettes.path(row))
        return CaseResult(
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

    def shown_path(self, path: Path) -> str:
        """A path as results show it: relative to the rootdir when inside it, so that a saved
        run does not depend on where the repository was checked out."""
        # By text: cheaper than pathlib, and this runs once per case.
        return str(path).removeprefix(f"{self.settings.rootpath}{os.sep}")

    def _not_recorded(self, row: Row, error: NotRecorded) -> CaseNotRecorded:
        assert self.cassettes is not None
        path = self.cassettes.path(row)
        reason, why = diagnose(path, error.template_sha256, self.templates.values())
        return CaseNotRecorded(
            f"{error}: {why}. Cassette: {path}. Record it with: {self.record_command()} -k {shlex.quote(row.case_id)}",
            reason,
        )

    def record_command(self) -> str:
        """The command that records the missing calls of this run's selection."""
        s = self.settings
        words = ["pytest", f"--empathy-model={s.model}"]
        words += [f"--empathy-judge={self.judge.name}"] if s.judge else []
        words += [f"--empathy-corpus={s.corpus}"] if s.corpus != RELEASE else []
        words += [f"--empathy-baseline={s.baseline}"] if s.baseline is not None else []
        words += [f"--empathy-template={s.template}"] if s.template else []
        words += [f"--empathy-judge-template={s.judge_template}"] if s.judge_template else []
        words += [f"--empathy-cassettes={s.cassettes}"] if s.cassettes != s.rootpath / "cassettes" else []
        words += [f"--empathy-emotions={','.join(s.emotions)}"] if s.emotions else []
        words += [f"--empathy-sample={s.sample}", f"--empathy-seed={s.seed}"] if s.sample else []
        words.append(f"--empathy-record={RecordMode.NEW_EPISODES}")
        return " ".join(shlex.quote(w) for w in words)


def _endpoint(
    flag: str, url_flag: str, profile: ModelProfile, base_url: str | None, replayer: Replayer | None, corpus: str
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
    return ChatEndpoint(profile, base_url, corpus, replayer)
