"""Messages about model calls: shortened to a line, and with credentials taken out."""

from __future__ import annotations

import os
from collections.abc import Iterable


def shorten(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


def secrets() -> Iterable[str]:
    """Values of the environment that look like credentials, to keep out of messages."""
    for name, value in os.environ.items():
        if len(value) >= 8 and any(word in name.upper() for word in ("KEY", "TOKEN", "SECRET")):
            yield value


def redact(text: str) -> str:
    for secret in secrets():
        text = text.replace(secret, "***")
    return text
