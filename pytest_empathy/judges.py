"""Judges: where a response's Bad/Okay/Good rating comes from."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Protocol

from .client import ChatEndpoint
from .corpus import Corpus, Row
from .prompts import LABELS, Template
from .ratings import Rating

HUMAN = "human"
RETRY_PROMPT = "Answer with exactly one word: Bad, Okay or Good."
_SCHEMA = {
    "type": "object",
    "properties": {"rating": {"type": "string", "enum": list(LABELS)}},
    "required": ["rating"],
}


class UnknownJudge(LookupError):
    pass


class Unrated(RuntimeError):
    """The judge's answer was not one of the three labels, even when asked again."""


class Judge(Protocol):
    name: str
    description: str
    needs_text: bool
    calls_model: bool

    def rate(self, row: Row, responder: str, response: str | None) -> Rating: ...


@dataclass(frozen=True)
class CrowdRatings:
    """The ratings the study's crowd gave, as recorded in the corpus."""

    name: str = HUMAN
    description: str = "crowd ratings recorded in the corpus"
    needs_text: bool = False
    calls_model: bool = False

    def rate(self, row: Row, responder: str, response: str | None) -> Rating:
        return row.ratings[responder]


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

    def rate(self, row: Row, responder: str, response: str | None) -> Rating:
        if not response:
            raise Unrated(f"{self.name}: no response of {responder!r} to rate")
        messages = [{
            "role": "user",
            "content": self.rubric.fill(
                situation=row.situation or "", utterance=row.utterance or "", response=response
            ),
        }]
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

    def _ask(self, messages: list[dict[str, str]]) -> str:
        return self.endpoint.complete(
            messages,
            template_sha256=self.rubric.sha256,
            max_tokens=self.endpoint.profile.judge_max_tokens,
            response_format=_response_format(self.endpoint.profile.structured_output),
        )


def _response_format(kind: str) -> dict[str, Any] | None:
    if kind == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": "rating", "schema": _SCHEMA, "strict": True}}
    if kind == "json_object_schema":
        return {"type": "json_object", "schema": _SCHEMA}
    return None


_LABEL = r"(bad|okay|good)"


def parse_rating(answer: str) -> Rating | None:
    """The label of an answer that is exactly a label: a JSON object {"rating": label}, the
    bare word, or "Rating: label", in any case, quoted or followed by a full stop. Anything
    else, including an answer naming two labels, is no rating: a label is never guessed."""
    text = answer.strip()
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        value = data.get("rating")
        text = value.strip() if isinstance(value, str) else ""
    text = text.strip("\"'`*. \n").lower()
    match = re.fullmatch(rf"(?:(?:rating|answer)\s*[:=-]\s*)?{_LABEL}", text)
    return Rating.parse(match.group(1)) if match else None


def _quote(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[:limit] + "...")


def default_judge(responder: str, corpus: Corpus) -> str | None:
    """``human`` when the corpus holds ratings of the responder, else no default."""
    return HUMAN if responder in corpus.rated else None
