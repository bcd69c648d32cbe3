"""Judges: where a response's Bad/Okay/Good rating comes from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .corpus import Corpus, Row
from .ratings import Rating

HUMAN = "human"


class UnknownJudge(LookupError):
    pass


class Judge(Protocol):
    name: str
    description: str
    needs_text: bool

    def rate(self, row: Row, responder: str, response: str | None) -> Rating: ...


@dataclass(frozen=True)
class CrowdRatings:
    """The ratings the study's crowd gave, as recorded in the corpus."""

    name: str = HUMAN
    description: str = "crowd ratings recorded in the corpus"
    needs_text: bool = False

    def rate(self, row: Row, responder: str, response: str | None) -> Rating:
        return row.ratings[responder]


def default_judge(responder: str, corpus: Corpus) -> str | None:
    """``human`` when the corpus holds ratings of the responder, else no default."""
    return HUMAN if responder in corpus.rated else None


def make_judge(name: str, responder: str, corpus: Corpus) -> Judge:
    if name != HUMAN:
        raise UnknownJudge(f"unknown judge {name!r}: available judges: {HUMAN}")
    if responder not in corpus.rated:
        raise UnknownJudge(
            f"judge {HUMAN!r} needs ratings of {responder!r} in corpus {corpus.name}, "
            f"which rates only: {', '.join(corpus.rated) or 'nothing'}"
        )
    return CrowdRatings()
