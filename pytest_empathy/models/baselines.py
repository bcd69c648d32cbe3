"""Baselines: the human responses, rated, that the model is compared with."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pytest_empathy.corpus.named import RELEASE
from pytest_empathy.corpus.rows import HUMAN, Corpus, Row
from pytest_empathy.errors import InputError
from pytest_empathy.modes import BaselineKind
from pytest_empathy.ratings import Counts, Rating

from .judges import CrowdRatings, Judge


@dataclass(frozen=True)
class Baseline:
    """Human responses rated per case by ``judge``, or, when the corpus has no ratings of
    them, fixed counts per emotion (``per_emotion``)."""

    kind: BaselineKind
    description: str
    judge: Judge | None = None
    per_emotion: Mapping[str, Counts] | None = None

    def rate(self, row: Row) -> Rating | None:
        if self.judge is None:
            return None
        return self.judge.rate(row, HUMAN, row.responses.get(HUMAN))

    def rater(self, row: Row) -> str | None:
        return None if self.judge is None else self.judge.rater(row, HUMAN)


class BaselineError(InputError):
    pass


def make_baseline(kind: BaselineKind, corpus: Corpus, judge: Judge) -> Baseline:
    if kind is BaselineKind.JUDGE:
        if judge.calls_model and HUMAN not in corpus.responders:
            raise BaselineError(
                f"{kind.value!r} needs the human responses of every case: corpus {corpus.name} "
                "has no response_human column"
            )
        if not judge.calls_model and HUMAN not in corpus.rated:
            raise BaselineError(f"{kind.value!r} with judge {judge.name!r} needs rating_human in corpus {corpus.name}")
        return Baseline(kind, f"the corpus's human responses, rated by the judge {judge.name}", judge=judge)
    if HUMAN in corpus.rated:
        return Baseline(kind, "the corpus's human responses, as rated by its crowd", judge=CrowdRatings())
    from pytest_empathy.corpus import release

    return Baseline(
        kind,
        f"the human responses of {RELEASE}, as rated by its crowd (built-in per-emotion counts)",
        per_emotion=release.human_counts(),
    )
