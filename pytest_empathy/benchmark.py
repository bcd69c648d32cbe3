"""What one process needs to run cases: the corpus, the selected cases, the responder, the
judge and the baseline; built alike on the controller and on every xdist worker."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from .baselines import Baseline, make_baseline
from .corpora import open_corpus
from .corpus import Corpus, CorpusError, Row
from .judges import Judge, UnknownJudge, default_judge, make_judge
from .responders import Responder, UnknownResponder, make_responder
from .results import CaseResult
from .settings import Settings


@dataclass(frozen=True)
class Benchmark:
    settings: Settings
    corpus: Corpus
    cases: tuple[Row, ...]
    responder: Responder
    judge: Judge
    baseline: Baseline

    @classmethod
    def from_settings(cls, settings: Settings) -> Benchmark:
        """Everything a run needs, checked before any case runs; raises pytest.UsageError."""
        assert settings.model is not None
        try:
            corpus = open_corpus(settings.corpus, text=settings.corpus_text)
        except CorpusError as error:
            raise pytest.UsageError(f"--empathy-corpus: {error}") from None
        try:
            responder = make_responder(settings.model, corpus)
        except UnknownResponder as error:
            raise pytest.UsageError(f"--empathy-model: {error}") from None
        judge_name = settings.judge or default_judge(settings.model, corpus)
        if judge_name is None:
            raise pytest.UsageError(
                f"--empathy-judge: corpus {corpus.name} has no ratings of {settings.model!r}; "
                "name the judge that rates its responses"
            )
        try:
            judge = make_judge(judge_name, settings.model, corpus)
        except UnknownJudge as error:
            raise pytest.UsageError(f"--empathy-judge: {error}") from None
        try:
            baseline = make_baseline(settings.baseline, corpus)
        except ValueError as error:
            raise pytest.UsageError(f"--empathy-baseline: {error}") from None
        absent = [e for e in settings.emotions or () if e not in corpus.emotions]
        if absent:
            raise pytest.UsageError(
                f"--empathy-emotions: corpus {corpus.name} has no cases of {', '.join(absent)}"
            )
        cases = corpus.select(emotions=settings.emotions, sample=settings.sample, seed=settings.seed)
        return cls(settings, corpus, tuple(cases), responder, judge, baseline)

    def evaluate(self, row: Row) -> CaseResult:
        """The responder answers the case and the judge rates the answer."""
        response = self.responder.answer(row)
        return CaseResult(
            case_id=row.case_id,
            emotion=row.emotion,
            rating=self.judge.rate(row, self.responder.name, response),
            baseline_rating=self.baseline.rate(row),
            response=response,
        )
