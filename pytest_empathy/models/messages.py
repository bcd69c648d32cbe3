"""Messages about model calls: credentials taken out, then shortened to a line.

Redaction comes first, on the whole text: a key cut short by shortening would no longer be
found, and its first characters would leak.
"""

from __future__ import annotations

from pytest_empathy.secrets import redact


def shorten(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


def clean(text: str, limit: int = 200) -> str:
    """A message fit for any output: redacted, then shortened."""
    return shorten(redact(text), limit)
