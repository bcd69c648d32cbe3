"""Responders: where a case's answer comes from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from pytest_empathy.corpus.rows import Row

from .endpoint import ChatEndpoint
from .templates import Template


class Responder(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def needs_text(self) -> bool:
        """True when the responder reads the case's text, which then has to be loaded."""

    @property
    def calls_model(self) -> bool:
        """True when the responder calls a model, so the case needs a cassette."""

    def answer(self, row: Row) -> str | None: ...


@dataclass(frozen=True)
class RecordedResponder:
    """A column of responses recorded in the corpus; for a ratings-only corpus the text may
    be absent, and the answer is then None."""

    name: str
    needs_text: bool = False
    calls_model: bool = False

    def answer(self, row: Row) -> str | None:
        return row.responses.get(self.name)


@dataclass(frozen=True)
class ModelResponder:
    """A model behind an OpenAI-compatible endpoint, asked with the response template."""

    name: str
    endpoint: ChatEndpoint
    template: Template
    needs_text: bool = True
    calls_model: bool = True

    def answer(self, row: Row) -> str:
        prompt = self.template.fill(situation=row.situation or "", utterance=row.utterance or "")
        return self.endpoint.complete(
            [{"role": "user", "content": prompt}],
            template_sha256=self.template.sha256,
            max_tokens=self.endpoint.profile.max_tokens,
        ).strip()
