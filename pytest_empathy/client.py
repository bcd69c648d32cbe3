"""Chat-completion calls through the official ``openai`` client, for responders and judges.

While recording, the client retries 429 and 5xx answers with its backoff, which honours
``retry-after``, at most ``max_retries`` times, each call bounded by ``timeout``. While
replaying it never retries: a call without a recording fails at once, as ``NotRecorded``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import openai
from vcr.errors import CannotOverwriteExistingCassetteException

from . import local_server
from .profiles import ModelProfile
from .recording import CORPUS_HEADER, TEMPLATE_HEADER, usable_completion

# Where replayed calls "go": never contacted, since a replay is answered by the cassette.
REPLAY_URL = "http://127.0.0.1:9/v1"


class CallError(RuntimeError):
    """A model call that failed; the message names the model and the fault, never a key."""


class NotRecorded(RuntimeError):
    """A call that has no recording in the case's cassette, in a mode that does not record."""

    def __init__(self, message: str, template_sha256: str) -> None:
        super().__init__(message)
        self.template_sha256 = template_sha256


@dataclass
class ChatEndpoint:
    profile: ModelProfile
    base_url: str | None
    live: bool
    corpus: str
    _client: openai.OpenAI | None = field(default=None, repr=False)

    def client(self) -> openai.OpenAI:
        if self._client is None:
            base_url = self.profile.endpoint(self.base_url)
            if base_url is None and self.live and self.profile.local:
                base_url = local_server.serve(self.profile.local)
            self._client = openai.OpenAI(
                base_url=base_url or REPLAY_URL,
                # A key is only needed live; the header it makes is never recorded.
                api_key=self.profile.api_key() or "no-key",
                max_retries=self.profile.max_retries if self.live else 0,
                timeout=self.profile.timeout,
            )
        return self._client

    def _where(self) -> str:
        """The endpoint, without any user or password written into the URL."""
        parts = urlsplit(str(self.client().base_url))
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))

    def _redact(self, text: str) -> str:
        key = self.profile.api_key()
        return redact(text.replace(key, "***") if key else text)

    def complete(
        self,
        messages: list[dict[str, str]],
        *,
        template_sha256: str,
        max_tokens: int,
        response_format: dict[str, Any] | None = None,
    ) -> str:
        """The text of the first choice of a chat completion."""
        body: dict[str, Any] = {
            "model": self.profile.model,
            "messages": messages,
            "temperature": self.profile.temperature,
            "seed": self.profile.seed,
            "max_tokens": max_tokens,
        }
        if response_format is not None:
            body["response_format"] = response_format
        name = self.profile.name
        try:
            raw = self.client().chat.completions.with_raw_response.create(
                **body, extra_headers={TEMPLATE_HEADER: template_sha256, CORPUS_HEADER: self.corpus}
            )
        except CannotOverwriteExistingCassetteException:
            raise NotRecorded(f"{name}: no recording of this call", template_sha256) from None
        except openai.APIConnectionError as error:
            if _caused_by(error, CannotOverwriteExistingCassetteException):
                raise NotRecorded(f"{name}: no recording of this call", template_sha256) from None
            if isinstance(error, openai.APITimeoutError):
                raise CallError(f"{name}: timed out after {self.profile.timeout:g}s") from None
            raise CallError(self._redact(f"{name}: cannot connect to {self._where()} ({_cause(error)})")) from None
        except openai.APIStatusError as error:
            raise CallError(self._redact(
                f"{name}: HTTP {error.status_code} from {self._where()}"
                + (f" after {self.profile.max_retries} retries" if self.live and _retried(error) else "")
                + f": {_short(error.message)}"
            )) from None
        except openai.APIError as error:
            raise CallError(self._redact(f"{name}: {_short(str(error))}")) from None
        text = raw.http_response.text
        if not usable_completion(text):
            raise CallError(f"{name}: unusable answer ({describe_unusable(text)})")
        return raw.parse().choices[0].message.content


def describe_unusable(body: str) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return f"not JSON: {_short(body)!r}"
    if not isinstance(data, dict) or not isinstance(data.get("choices"), list):
        return "no choices in the response"
    if not data["choices"]:
        return "empty choices list"
    reasons = {c.get("finish_reason") for c in data["choices"] if isinstance(c, dict)}
    if "content_filter" in reasons:
        return "finish_reason content_filter: the provider's filter cut the answer"
    return "a choice without message text"


def _retried(error: openai.APIStatusError) -> bool:
    return error.status_code == 429 or error.status_code >= 500


def _caused_by(error: BaseException, kind: type[BaseException]) -> bool:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _cause(error: BaseException) -> str:
    root = error
    while root.__cause__ is not None:
        root = root.__cause__
    return redact(_short(f"{type(root).__name__}: {root}"))


def _short(text: str, limit: int = 200) -> str:
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
