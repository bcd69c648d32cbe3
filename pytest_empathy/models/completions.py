"""Reading OpenAI-style chat completions: the answer's text, or why there is none."""

from __future__ import annotations

from pytest_empathy.bounded import loads

from .messages import shorten


def completion_text(body: str) -> str | None:
    """The text of the first choice of a usable chat completion: at least one choice, every
    choice's message with text, none cut by a content filter. None for any other body."""
    try:
        choices = loads(body)["choices"]
        usable = bool(choices) and all(
            isinstance(c["message"]["content"], str)
            and c["message"]["content"].strip()
            and c.get("finish_reason") != "content_filter"
            for c in choices
        )
    except (ValueError, TypeError, KeyError):
        return None
    return choices[0]["message"]["content"] if usable else None


def describe_unusable(body: str) -> str:
    try:
        data = loads(body)
    except ValueError:
        return f"not JSON: {shorten(body)!r}"
    if not isinstance(data, dict) or not isinstance(data.get("choices"), list):
        return "no choices in the response"
    if not data["choices"]:
        return "empty choices list"
    reasons = {c.get("finish_reason") for c in data["choices"] if isinstance(c, dict)}
    if "content_filter" in reasons:
        return "finish_reason content_filter: the provider's filter cut the answer"
    return "a choice without message text"
