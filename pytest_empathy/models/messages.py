"""Messages about model calls: credentials taken out, then shortened to a line.

Redaction comes first, on the whole text: a key cut short by shortening would no longer be
found, and its first characters would leak.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlsplit

# Credentials the run knows beyond the environment's key-like variables: every profile's key
# and what base URLs carry (user, password, query values), registered when a run starts.
_KNOWN: set[str] = set()
_secrets: list[str] | None = None
# Shorter values are too likely to be ordinary words to replace wherever they occur.
_SHORTEST = 6
MASK = "***"


class SecretMasked(UserWarning):
    """A model's answer carried a credential of the run, masked in every output."""


def shorten(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


def clean(text: str, limit: int = 200) -> str:
    """A message fit for any output: redacted, then shortened."""
    return shorten(redact(text), limit)


def remember(values: Iterable[str | None]) -> None:
    """Add credentials to those every message, answer and recording is cleaned of; the
    environment's key-like variables are read again too."""
    global _secrets
    _KNOWN.update(v for v in values if v and len(v) >= _SHORTEST)
    _secrets = None


def url_secrets(url: str | None) -> list[str]:
    """What a URL carries that may be a credential: its user and password, its query values."""
    if not url:
        return []
    parts = urlsplit(url)
    return [v for v in (parts.username, parts.password) if v] + [v for _, v in parse_qsl(parts.query) if v]


def secrets() -> list[str]:
    """Every credential to keep out of outputs, longest first (so that a key containing
    another is replaced whole). The environment is read once, and again at each remember():
    every answer of a replay is checked, and reading it each time cost a replay 10%."""
    global _secrets
    if _secrets is None:
        found = set(_KNOWN)
        for name, value in os.environ.items():
            if len(value) >= 8 and any(word in name.upper() for word in ("KEY", "TOKEN", "SECRET", "PASSWORD")):
                found.add(value)
        _secrets = sorted(found, key=len, reverse=True)
    return _secrets


def redact(text: str) -> str:
    for secret in secrets():
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def carries_secret(text: str) -> bool:
    return any(secret in text for secret in secrets())
