"""Credentials masked wherever the run may write them (messages, answers, recordings, logs),
in every form the run may meet them in: as set and without the whitespace around them, inside
base64 at any alignment and in hexadecimal, and with any of their characters escaped in the
encodings of ``pytest_empathy.escapes``, which the audit reads back too."""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

from pytest_empathy.escapes import ENCODINGS, MARKS

# Credentials the run knows beyond the environment's key-like variables: every profile's key
# and what base URLs carry (user, password, query values, path segments), registered when a
# run starts.
_KNOWN: set[str] = set()
# Shorter values are too likely to be ordinary words to replace wherever they occur: a key
# this short is not masked, and a run that sends one says so (see KeyNotMasked).
SHORTEST_MASKED = 6
# Shorter ones may still be ordinary words (``ollama``, ``content``): masked only as whole
# tokens, never inside a longer word, and never in a JSON object's keys, which a replay reads.
SHORTEST_MASKED_ANYWHERE = 16
MASK = "***"
# Longer values are never a key sent in a header (see _sendable).
_LONGEST_SENDABLE = 256
# Path segments after which a URL carries a credential (/token/<it>/), and segments shaped
# like one: letters of both cases and digits, a long hexadecimal string, a key's prefix.
_CREDENTIAL_SEGMENT = re.compile(
    r"(?:api[-_]?)?keys?|tokens?|secrets?|passwords?|auth|sig(?:nature)?|credentials?|access[-_]?tokens?", re.I
)
_KEY_SHAPED = re.compile(
    r"(?=[^/]*\d)(?=[^/]*[a-z])(?=[^/]*[A-Z])[\w.~+=-]{16,}"
    r"|(?=[^/]*\d)(?=[^/]*[a-fA-F])[0-9a-fA-F]{32,}"
    r"|(?:sk|pk|rk)-[\w-]{16,}",
    re.A,
)


class SecretMasked(UserWarning):
    """A model's answer carried a credential of the run, masked in every output."""


class MaskingFailed(RuntimeError):
    """A response could not be masked, so it was not recorded. Its message holds no body; it
    is raised outside the handler that failed, so no traceback carries the body's frames."""


@dataclass(frozen=True)
class _Masking:
    """How the credentials of one kind are found: those masked anywhere, or the short ones
    masked as whole tokens (see SHORTEST_MASKED_ANYWHERE)."""

    # Forms found by plain search, longest first (so that a key containing another is
    # replaced whole): each credential as set and stripped (if masked anywhere), and in the
    # encodings of a whole text (base64, hexadecimal).
    literal: tuple[str, ...]
    # Of those, the ones that hold no other: a text holds some form only if it holds one of
    # these (every answer of a replay is checked).
    probes: tuple[str, ...]
    # Each credential with any of its characters escaped (as set too, for a whole token).
    escaped: re.Pattern[str] | None
    # What a text holds when it may hold a whole token: the short credentials as set.
    words: tuple[str, ...] = ()

    def found_in(self, text: str) -> bool:
        if any(probe in text for probe in self.probes):
            return True
        return self._may_be_escaped(text) and self.escaped is not None and self.escaped.search(text) is not None

    def masked(self, text: str) -> str:
        if not self.found_in(text):
            return text
        for form in self.literal:
            if form in text:
                text = text.replace(form, MASK)
        if self.escaped is not None and self._may_be_escaped(text):
            text = self.escaped.sub(MASK, text)
        return text

    def _may_be_escaped(self, text: str) -> bool:
        return any(mark in text for mark in MARKS) or any(word in text for word in self.words)


@dataclass(frozen=True)
class _Credentials:
    anywhere: _Masking
    # Shorter than SHORTEST_MASKED_ANYWHERE: whole tokens only, never a JSON object's key.
    tokens: _Masking


_masking: _Credentials | None = None


# What was cached with the credentials masked (the URL paths of models/endpoint.py), emptied
# whenever the credentials known change, so that no caller has to know to.
_cached_with_masking: list[Callable[[], None]] = []


def clears_on_change(cache_clear: Callable[[], None]) -> None:
    """Have ``cache_clear`` called whenever remember() or forget() changes what is masked: a
    cache of values masked with the credentials known when they were made."""
    if cache_clear not in _cached_with_masking:
        _cached_with_masking.append(cache_clear)


def _changed() -> None:
    global _masking
    _masking = None
    for cache_clear in _cached_with_masking:
        cache_clear()


def remember(values: Iterable[str | None]) -> None:
    """Add credentials to those every message, answer and recording is cleaned of; the
    environment's key-like variables are read again too."""
    _KNOWN.update(v for v in values if v and len(v.strip()) >= SHORTEST_MASKED)
    _changed()


def known() -> frozenset[str]:
    """The credentials remember() was given and forget() has not cleared (the environment's
    aside): none in a process whose run has ended."""
    return frozenset(_KNOWN)


def url_secrets(url: str | None) -> list[str]:
    """What a URL carries that may be a credential: its user and password, its query values,
    and its path segments that name one or are shaped like one."""
    if not url:
        return []
    parts = urlsplit(url)
    found = [v for v in (parts.username, parts.password) if v] + [v for _, v in parse_qsl(parts.query) if v]
    found += [segment for segment, secret in _path_segments(parts.path) if secret]
    return found + [unquote(v) for v in found]


def _path_segments(path: str) -> list[tuple[str, bool]]:
    """A URL path's segments, each with whether it carries a credential: shaped like one, or
    after a segment that names one (``/token/<it>``)."""
    segments = path.split("/")
    return [
        (s, bool(s) and (_KEY_SHAPED.fullmatch(s) is not None or _CREDENTIAL_SEGMENT.fullmatch(before) is not None))
        for before, s in zip(["", *segments], segments, strict=False)
    ]


def masked_path(path: str) -> str:
    """A URL path with the segments that carry a credential masked, and every credential the
    run knows."""
    return redact("/".join(MASK if secret else s for s, secret in _path_segments(path)))


def shown_url(url: str) -> str:
    """A URL fit for a message: no user or password, no query or fragment, and no credential
    in its path."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, masked_path(parts.path), "", ""))


def secrets() -> list[str]:
    """Every credential to keep out of outputs, longest first. The environment is read once,
    and again at each remember(): every answer of a replay is checked, and reading it each
    time cost a replay 10%."""
    return sorted(_known_now(), key=len, reverse=True)


def _known_now() -> set[str]:
    found = set(_KNOWN)
    for name, value in os.environ.items():
        if len(value) >= 8 and any(word in name.upper() for word in ("KEY", "TOKEN", "SECRET", "PASSWORD")):
            found.add(value)
    return {form for value in found for form in (value, value.strip()) if len(form) >= SHORTEST_MASKED}


def _current() -> _Credentials:
    global _masking
    if _masking is None:
        known = _known_now()
        short = {value for value in known if len(value) < SHORTEST_MASKED_ANYWHERE}
        _masking = _Credentials(_built(known - short, tokens=False), _built(short, tokens=True))
    return _masking


def _built(known: set[str], *, tokens: bool) -> _Masking:
    literal = set() if tokens else set(known)
    for value in known:
        literal.update(form for encoding in ENCODINGS if encoding.forms for form in encoding.forms(value))
    probes = _probes(literal)
    escapable = [value for value in sorted(known, key=len, reverse=True) if value in _KNOWN or _sendable(value)]
    escaped = "|".join(_token(value) if tokens else _escapable(value) for value in escapable)
    return _Masking(
        tuple(sorted(literal, key=len, reverse=True)),
        tuple(probes),
        re.compile(escaped) if escaped else None,
        tuple(known) if tokens else (),
    )


def _probes(literal: set[str]) -> list[str]:
    """The forms of ``literal`` that hold no shorter one, shortest first: a text holds none
    of the forms unless it holds one of these."""
    probes: list[str] = []
    for form in sorted(literal, key=len):
        if not any(probe in form for probe in probes):
            probes.append(form)
    return probes


def _sendable(value: str) -> bool:
    """Whether a value of the environment may be met escaped: one a header could carry (a
    server may echo what it was sent, escaped; the keys the run sends always are). A longer
    value, or one with line ends (a private key, a certificate, a service account's JSON), is
    never sent, so it is masked as set and in base64 only: its pattern with every character
    escapable took seconds to build in every process."""
    return len(value) <= _LONGEST_SENDABLE and "\n" not in value and "\r" not in value


def _escapable(value: str) -> str:
    """A pattern of ``value`` with any of its characters written as an escape."""
    return "".join(_character(c) for c in value)


# Where a token may start: after no word character, or right after an escape (``\\n``,
# ``%20``, ``\\u0020``), which may stand for a space; and where it may end: before no word
# character (an escape after it starts with one that is none).
_TOKEN_START = r"(?:(?<!\w)|(?<=\\[nrtbf])|(?<=%[0-9a-fA-F]{2})|(?<=\\x[0-9a-fA-F]{2})|(?<=\\u[0-9a-fA-F]{4}))"
_TOKEN_END = r"(?!\w)"
# Not the end of a JSON object's key (``"content":``, escaped too when JSON is held in a
# string): a JSON document is read by its keys.
_NOT_A_KEY = r'(?!(?:\\)*"\s*:)'


def _token(value: str) -> str:
    """A pattern of ``value`` escaped as ``_escapable``, as a whole token: not inside a longer
    word (an edge that is no word character needs no boundary), and not as a JSON key."""
    start = _TOKEN_START if re.match(r"\w", value) else ""
    end = _TOKEN_END if re.search(r"\w$", value) else ""
    return f"{start}(?:{_escapable(value)}){end}{_NOT_A_KEY}"


def _character(char: str) -> str:
    """A pattern of ``char`` as itself or written in any escape."""
    ways = [re.escape(char), *(way for encoding in ENCODINGS if encoding.writes for way in encoding.writes(char))]
    return f"(?:{'|'.join(ways)})"


def redact(text: str) -> str:
    credentials = _current()
    return credentials.tokens.masked(credentials.anywhere.masked(text))


def _redact_key(key: str) -> str:
    """A JSON object's key with the credentials masked anywhere masked: a short one there is
    a word the document's reader looks for (``content``), not a secret."""
    return _current().anywhere.masked(key)


def carries_secret(text: str) -> bool:
    credentials = _current()
    return credentials.anywhere.found_in(text) or credentials.tokens.found_in(text)


def redact_document(text: str) -> str:
    """Text with every credential masked; a JSON document is decoded, every string masked
    (and every key, of the credentials masked anywhere), and encoded again when anything was,
    so that an escaped credential is found however the server escaped it. Unchanged when
    nothing was masked."""
    try:
        data = json.loads(text)
        masked = _redact_strings(data)
    except (ValueError, RecursionError):
        return redact(text)
    if masked == data:
        # What decoding loses is masked in the text itself: the first of two equal keys.
        return redact(text)
    encoded = json.dumps(masked, ensure_ascii=False)
    # A lone surrogate (``"\\udc00"``, as llama.cpp may write) has no UTF-8: kept escaped.
    return encoded if _utf8(encoded) else json.dumps(masked)


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _redact_strings(node: object) -> object:
    if isinstance(node, str):
        return redact(node)
    if isinstance(node, list):
        return [_redact_strings(item) for item in node]
    if isinstance(node, dict):
        return {_redact_key(key): _redact_strings(value) for key, value in node.items()}
    return node


# The loggers of the libraries a run drives (by prefix: httpx2 and httpcore2 log as such),
# whose logs show requests and responses whole: URLs with their credentials, headers, bodies
# that echo a key (vcrpy logs a response before it is masked).
_LIBRARY_LOGGERS = ("vcr", "httpx", "httpcore", "h11", "h2", "hpack", "openai", "urllib3", "requests", "anyio")
# The record factory in place before mask_library_logs installed its own, while it is installed.
_unmasked_factory: Callable[..., logging.LogRecord] | None = None


def mask_library_logs() -> None:
    """Every log record of those libraries, and of their child loggers created later, masked
    as it is made, before any handler (pytest's captured logs, live logs, JUnit XML) sees it.
    A record factory rather than filters: a logger's filters do not apply to its children."""
    global _unmasked_factory
    if _unmasked_factory is not None:
        return
    made = _unmasked_factory = logging.getLogRecordFactory()

    def masked_record(*args: object, **kwargs: object) -> logging.LogRecord:
        record = made(*args, **kwargs)
        if record.name.startswith(_LIBRARY_LOGGERS):
            _mask_record(record)
        return record

    logging.setLogRecordFactory(masked_record)


def forget() -> None:
    """Back to the state of a process that ran nothing: no credential registered, what was
    cached masked with them emptied, and the library logs' record factory the one found. A
    session calls it as it ends (the plugin's pytest_unconfigure), so that a process running
    several (pytest.main() twice, an IDE's runner, pytester's in-process runs) never masks one
    session's output with another's credentials, nor keeps the factory installed for good."""
    global _unmasked_factory
    _KNOWN.clear()
    _changed()
    if _unmasked_factory is not None:
        logging.setLogRecordFactory(_unmasked_factory)
        _unmasked_factory = None


def _mask_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a record that cannot be formatted shows its bare template
        message = str(record.msg)
    record.msg, record.args = redact(message), ()
    if record.exc_info:
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
