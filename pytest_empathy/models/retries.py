"""When a failed model call is tried again, and after how long: the policy of the ``openai``
client, made explicit so that the endpoint can hold a deadline over the whole call and say
what happened (docs/explanation/reliability.md lists it)."""

from __future__ import annotations

import email.utils
import math
import random
import time
from collections.abc import Mapping

FIRST_BACKOFF = 0.5
LONGEST_BACKOFF = 8.0


def should_retry(status: int, headers: Mapping[str, str]) -> bool:
    told = headers.get("x-should-retry")
    if told in ("true", "false"):
        return told == "true"
    return status in (408, 409, 429) or status >= 500


def retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """The wait in seconds a server asked for, if any: ``retry-after-ms``, or ``retry-after``
    in seconds or as an HTTP date."""
    milliseconds = _number(headers.get("retry-after-ms"))
    if milliseconds is not None:
        return milliseconds / 1000
    value = headers.get("retry-after")
    if value is None:
        return None
    seconds = _number(value)
    if seconds is not None:
        return seconds
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def backoff(retry: int, jitter: float | None = None) -> float:
    """The wait before retry number ``retry`` (1 for the first) when the server named none."""
    sleep = min(FIRST_BACKOFF * 2.0 ** min(retry - 1, 32), LONGEST_BACKOFF)
    # Less a random quarter, so that the workers of a run do not retry in step.
    return sleep * (1 - 0.25 * (random.random() if jitter is None else jitter))


def _number(value: str | None) -> float | None:
    try:
        number = float(value) if value is not None else None
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) and number >= 0 else None
