"""Responders: where a case's answer comes from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .corpus import Corpus, Row


class UnknownResponder(LookupError):
    pass


class Responder(Protocol):
    name: str
    # True when the responder reads the case's text, which then has to be loaded.
    needs_text: bool

    def answer(self, row: Row) -> str | None: ...


@dataclass(frozen=True)
class RecordedResponder:
    """A column of responses recorded in the corpus; for a ratings-only corpus the text may
    be absent, and the answer is then None."""

    name: str
    needs_text: bool = False

    def answer(self, row: Row) -> str | None:
        return row.responses.get(self.name)


def make_responder(name: str, corpus: Corpus) -> Responder:
    recorded = sorted(set(corpus.responders) | set(corpus.rated))
    if name in recorded:
        return RecordedResponder(name)
    raise UnknownResponder(
        f"unknown responder {name!r}: corpus {corpus.name} records "
        + (", ".join(recorded) if recorded else "no responses")
    )
