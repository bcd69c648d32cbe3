"""Judges: where a response's Bad/Okay/Good rating comes from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from pytest_empathy.corpus.rows import Corpus, Row
from pytest_empathy.ratings import Rating

from .completions import completion_text
from .endpoint import ChatEndpoint
from .labels import LABELS, RETRY_PROMPT, parse_rating
from .messages import shorten
from .templates import Template

# The judge that reads the crowd's ratings recorded in the corpus.
CROWD = "human"
_SCHEMA = {
    "type": "object",
    "properties": {"rating": {"type": "string", "enum": list(LABELS)}},
    "required": ["rating"],
}


class Unrated(RuntimeError):
    """The judge's answer was not one of the three labels, even when asked again."""


class Judge(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def needs_text(self) -> bool: ...
    @property
    def calls_model(self) -> bool: ...

    def rate(self, row: Row, responder: str, response: str | None) -> Rating: ...
    def rater(self, row: Row, responder: str) -> str | None:
        """Who gave the rating, where the corpus says (a crowd's rater); None for a model."""
        ...


@dataclass(frozen=True)
class CrowdRatings:
    """The ratings the study's crowd gave, as recorded in the corpus."""

    name: str = CROWD
    description: str = "crowd ratings recorded in the corpus"
    needs_text: bool = False
    calls_model: bool = False

    def rate(self, row: Row, responder: str, response: str | None) -> Rating:
        return row.ratings[responder]

    def rater(self, row: Row, responder: str) -> str | None:
        return row.raters.get(responder)


@dataclass(frozen=True)
class ModelJudge:
    """An LLM asked with the judge rubric; structured output where the profile has it."""

    name: str
    endpoint: ChatEndpoint
    rubric: Template
    needs_text: bool = True
    calls_model: bool = True

    @property
    def description(self) -> str:
        return f"LLM judge {self.endpoint.profile.model}, rubric sha256 {self.rubric.sha256[:12]}"

    def rater(self, row: Row, responder: str) -> str | None:
        return None

    def rate(self, row: Row, responder: str, response: str | None) -> Rating:
        if not response:
            raise Unrated(f"{self.name}: no response of {responder!r} to rate")
        messages = [
            {
                "role": "user",
                "content": self.rubric.fill(
                    situation=row.situation or "", utterance=row.utterance or "", response=response
                ),
            }
        ]
        answer = self._ask(messages)
        rating = parse_rating(answer)
        if rating is None:
            # Asked once more, as a follow-up, so the retry is a request of its own.
            messages += [{"role": "assistant", "content": answer}, {"role": "user", "content": RETRY_PROMPT}]
            retry = self._ask(messages)
            rating = parse_rating(retry)
            if rating is None:
                raise Unrated(
                    f"{self.name} answered {_quote(answer)}, then {_quote(retry)}: "
                    f"not one of {', '.join(LABELS)}; the case is unrated"
                )
        return rating

    def unrated_answers(self, calls: Sequence[tuple[str | None, str]]) -> set[int]:
        """Of a case's recorded calls, as (template hash, answer body), the judge's answers
        that were no rating: asked again when recording new episodes. A first answer whose
        follow-up gave the rating is among them (the follow-up's recording then answers the
        follow-up again), so that nothing depends on which recorded call followed which."""
        return {i for i, (template, body) in enumerate(calls) if template == self.rubric.sha256 and not _rates(body)}

    def _ask(self, messages: list[dict[str, str]]) -> str:
        return self.endpoint.complete(
            messages,
            template_sha256=self.rubric.sha256,
            max_tokens=self.endpoint.profile.judge_max_tokens,
            response_format=_response_format(self.endpoint.profile.structured_output),
        )


def _response_format(kind: str) -> dict[str, object] | None:
    if kind == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": "rating", "schema": _SCHEMA, "strict": True}}
    if kind == "json_object_schema":
        return {"type": "json_object", "schema": _SCHEMA}
    return None


def _rates(body: str) -> bool:
    content = completion_text(body)
    return content is not None and parse_rating(content) is not None


def _quote(text: str) -> str:
    return repr(shorten(text, 80))


def default_judge(responder: str, corpus: Corpus) -> str | None:
    """The crowd when the corpus holds ratings of the responder, else no default."""
    return CROWD if responder in corpus.rated else None
