"""Chat-completion calls for responders and judges.

Calls that may go live use the official ``openai`` client, which retries 429 and 5xx
answers with its backoff (honouring ``retry-after``) at most ``max_retries`` times, each
call bounded by ``timeout``; vcrpy records them. A replay (record mode ``none``) answers
each call from the case's cassette without the client: a call without a recording fails at
once, as ``NotRecorded``, whichever way it was looked up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from pytest_empathy.cassettes.format import CORPUS_HEADER, TEMPLATE_HEADER
from pytest_empathy.cassettes.replayer import Replayer

from . import local_server
from .completions import completion_text, describe_unusable
from .messages import MASK, carries_secret, clean, redact, shorten
from .profiles import ModelProfile

# What a replay matches recordings against when the profile has no URL (a model the plugin
# serves itself): only its path counts, and it is never contacted.
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
    corpus: str
    # In a replay, what answers every call; None when calls may go live.
    replayer: Replayer | None = None
    _client: Any = field(default=None, repr=False)
    # Answers that carried a known credential, masked before anything else saw them.
    masked: int = 0

    def client(self) -> Any:
        """The ``openai`` client of live calls, made once. Imported only here: a replay
        needs neither it nor its 0.3 s and 40 MB of imports."""
        import openai

        if self._client is None:
            base_url = self.profile.endpoint(self.base_url)
            if base_url is None and self.profile.local:
                base_url = local_server.serve(self.profile.local)
            self._client = openai.OpenAI(
                base_url=base_url,
                # The header it makes is never recorded.
                api_key=self.profile.api_key() or "no-key",
                max_retries=self.profile.max_retries,
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
        return redact(text.replace(key, MASK) if key else text)

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
        text = self._call(body, template_sha256) if self.replayer is None else self._replay(body, template_sha256)
        content = completion_text(text)
        if content is None:
            raise CallError(f"{self.profile.name}: unusable answer ({describe_unusable(redact(text))})")
        if carries_secret(content):
            # A server that echoes a credential: it goes no further than this answer.
            content = redact(content)
            self.masked += 1
        return content

    def _replay(self, body: dict[str, Any], template_sha256: str) -> str:
        assert self.replayer is not None
        path = chat_path(self.profile.endpoint(self.base_url) or REPLAY_URL)
        # The body is made of JSON types only (dicts, lists, strings, numbers), so it equals
        # the JSON the client would send; a round trip through json would cost 3% of a replay.
        recorded = self.replayer.respond("POST", path, body)
        if recorded is None:
            raise NotRecorded(f"{self.profile.name}: no recording of this call", template_sha256)
        status, text = recorded
        if not 200 <= status < 300:
            raise CallError(f"{self.profile.name}: HTTP {status} recorded in the cassette")
        return text

    def _call(self, body: dict[str, Any], template_sha256: str) -> str:
        """The body of a live call's answer, or of its recording when vcrpy has one."""
        import openai
        from vcr.errors import CannotOverwriteExistingCassetteException

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
            # Redacted whole, then shortened: a key cut in two would no longer be found.
            raise CallError(
                self._redact(
                    f"{name}: HTTP {error.status_code} from {self._where()}"
                    + (f" after {self.profile.max_retries} retries" if _retried(error) else "")
                )
                + f": {shorten(self._redact(error.message))}"
            ) from None
        except openai.APIError as error:
            raise CallError(f"{name}: {shorten(self._redact(str(error)))}") from None
        text: str = raw.http_response.text
        return text


def chat_path(base_url: str) -> str:
    """The URL path the openai client posts a chat completion to under ``base_url``,
    percent-encoded as it is sent and recorded."""
    path = quote(urlsplit(base_url).path, safe="/%:@!$&'()*+,;=~")
    return (path if path.endswith("/") else path + "/") + "chat/completions"


def _retried(error: Any) -> bool:
    status: int = error.status_code
    return status == 429 or status >= 500


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
    return clean(f"{type(root).__name__}: {root}")
