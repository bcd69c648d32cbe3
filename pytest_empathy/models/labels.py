"""The judge's labels: what it is asked to answer, and how its answer is read."""

from __future__ import annotations

import re

from pytest_empathy.bounded import loads
from pytest_empathy.ratings import Rating

LABELS = tuple(r.label.capitalize() for r in Rating)
RETRY_PROMPT = "Answer with exactly one word: Bad, Okay or Good."
_LABEL = r"(bad|okay|good)"
_ANSWER = re.compile(rf"(?:(?:rating|answer)\s*[:=-]\s*)?{_LABEL}")


def parse_rating(answer: str) -> Rating | None:
    """The label of an answer that is exactly a label: a JSON object {"rating": label}, the
    bare word, or "Rating: label", in any case, quoted or followed by a full stop. Anything
    else, including an answer naming two labels, is no rating: a label is never guessed."""
    text = answer.strip()
    if text.startswith("{"):  # only an object can be one; a failed parse per bare word cost a replay 2%
        try:
            data = loads(text)
        except ValueError:
            data = None
        if isinstance(data, dict):
            value = data.get("rating")
            text = value.strip() if isinstance(value, str) else ""
    match = _ANSWER.fullmatch(text.strip("\"'`*. \n").lower())
    return Rating.parse(match.group(1)) if match else None
