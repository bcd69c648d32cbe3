"""Baselines: the human responses, rated, that the model is compared with."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from . import release
from .corpus import Corpus, Row
from .errors import InputError
from .judges import CrowdRatings, Judge
from .ratings import Counts, Rating
from .settings import JUDGE_BASELINE as JUDGE

HUMAN = "human"


@dataclass(frozen=True)
class Baseline:
    """Human responses rated per case by ``judge``, or, when the corpus has no ratings of
    them, fixed counts per emotion (``per_emotion``)."""

    name: str
    description: str
    judge: Judge | None = None
    per_emotion: Mapping[str, Counts] | None = None

    def rate(self, row: Row) -> Rating | None:
        if self.judge is None:
            return None
        return self.judge.rate(row, HUMAN, row.responses.get(HUMAN))


class BaselineError(InputError):
    pass


def make_baseline(name: str, corpus: Corpus, judge: Judge) -> Baseline:
    if name == JUDGE:
        if judge.calls_model and HUMAN not in corpus.responders:
            raise BaselineError(
                f"{JUDGE!r} needs the human responses of every case: corpus {corpus.name} "
                "has no response_human column"
            )
        if not judge.calls_model and HUMAN not in corpus.rated:
            raise BaselineError(f"{JUDGE!r} with judge {judge.name!r} needs rating_human in corpus {corpus.name}")
        return Baseline(name, f"the corpus's human responses, rated by the judge {judge.name}", judge=judge)
    if HUMAN in corpus.rated:
        return Baseline(
            name, "the corpus's human responses, as rated by its crowd", judge=CrowdRatings()
        )
    return Baseline(
        name,
        f"the human responses of {release.NAME}, as rated by its crowd (built-in per-emotion counts)",
        per_emotion=release_human_counts(),
    )


def release_human_counts() -> dict[str, Counts]:
    by_emotion: dict[str, list[Rating]] = {}
    for row in release.load_figures().rows:
        by_emotion.setdefault(row.emotion, []).append(row.ratings[HUMAN])
    return {emotion: Counts.of(ratings) for emotion, ratings in sorted(by_emotion.items())}
