"""Baselines: the human responses, rated, that the model is compared with."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pytest_empathy.corpus.names import RELEASE
from pytest_empathy.corpus.rows import HUMAN, RATED, Corpus, Row
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
    # "mixed raters: <judge> vs the crowd" when a judge model rates the model and the crowd
    # rated the baseline: a difference of raters is then part of every verdict.
    mixed_raters: str | None = None
    # Whose responses the baseline rates: the human ones, or in a calibration the rated one.
    responder: str = HUMAN

    def rate(self, row: Row) -> Rating | None:
        if self.judge is None:
            return None
        return self.judge.rate(row, self.responder, row.responses.get(self.responder))

    def rater(self, row: Row) -> str | None:
        return None if self.judge is None else self.judge.rater(row, self.responder)


def crowd_of_rated_response() -> Baseline:
    """A calibration's baseline: the crowd's rating of the very response the judge rates."""
    return Baseline(
        BaselineKind.HUMAN_RATERS, "the crowd's rating of the same response", judge=CrowdRatings(), responder=RATED
    )


class BaselineError(InputError):
    pass


def make_baseline(kind: BaselineKind | None, corpus: Corpus, judge: Judge) -> Baseline:
    """The baseline of ``kind``; None picks the like-for-like one: the judge's own ratings of
    the human responses when the judge is a model, the crowd's when the crowd rates."""
    if kind is None:
        if judge.calls_model and HUMAN not in corpus.responders:
            raise BaselineError(
                f"judge {judge.name!r} is a model, and the like-for-like baseline (the same judge rating the human "
                f"responses of the same cases) needs a response_human column, which corpus {corpus.name} lacks; "
                f"pass --empathy-baseline {BaselineKind.HUMAN_RATERS} to compare with the crowd's ratings instead "
                "(mixed raters: every output will say so), or use a corpus with human responses"
            )
        kind = BaselineKind.JUDGE if judge.calls_model else BaselineKind.HUMAN_RATERS
    mixed = f"mixed raters: {judge.name} vs the crowd" if judge.calls_model else None
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
        return Baseline(
            kind, "the corpus's human responses, as rated by its crowd", judge=CrowdRatings(), mixed_raters=mixed
        )
    from pytest_empathy.corpus import release

    return Baseline(
        kind,
        f"the human responses of {RELEASE}, as rated by its crowd (built-in per-emotion counts)",
        per_emotion=release.human_counts(),
        mixed_raters=mixed,
    )
