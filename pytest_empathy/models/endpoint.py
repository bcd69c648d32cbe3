"""Chat-completion calls for responders and judges: live through the ``openai`` client on
``call_loop``'s event loop, recorded by the cassette open in the calling thread
(``cassettes.transport``), tried again as ``retries`` says within the profile's deadline and
stopped by the ``breaker``; a replay (record mode ``none``) answers from the case's cassette,
without the client.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NotRequired, TypedDict, cast
from urllib.parse import quote, urlsplit

from pytest_empathy.cassettes.format import CORPUS_HEADER, TEMPLATE_HEADER
from pytest_empathy.cassettes.replayer import Replayer
from pytest_empathy.secrets import MASK, MaskingFailed, carries_secret, clears_on_change, masked_path, redact, shown_url

from . import local_server, retries
from .breaker import CircuitBreaker
from .call_loop import Attempt, CallLoop
from .completions import completion_text, describe_unusable
from .messages import clean, shorten
from .profiles import ModelProfile

if TYPE_CHECKING:
    import openai

# Seconds an attempt needs at the least (or the timeout, when shorter): a retry that would
# leave less before the deadline is not made.
SHORTEST_ATTEMPT = 1.0

# What a replay matches recordings against when the profile has no URL (a model the plugin
# serves itself): only its path counts, and it is never contacted.
REPLAY_URL = "http://127.0.0.1:9/v1"


# Answers masked in this thread's calls (see ChatEndpoint.complete). A case is evaluated in one
# thread, and with --empathy-concurrency several threads evaluate cases at once.
_MASKED: ContextVar[int] = ContextVar("pytest_empathy_masked", default=0)


def masked_answers() -> int:
    """Answers that carried a known credential, masked in this thread's calls so far."""
    return _MASKED.get()


class ChatRequest(TypedDict):
    """The body of a chat completion request, as sent and as recorded."""

    model: str
    messages: list[dict[str, str]]
    temperature: float
    seed: int
    max_tokens: int
    response_format: NotRequired[dict[str, object]]


class CallError(RuntimeError):
    """A model call that failed; the message names the model and the fault, never a key."""


class EndpointDown(CallError):
    """A call that failed for the endpoint's sake (it is unreachable, slow, overloaded, or
    refuses the key), not for this request's: what the circuit breaker counts."""


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
    # Stops calling an endpoint that keeps failing; shared by the endpoints of a run.
    breaker: CircuitBreaker | None = None
    # While recording: whether the open cassette would answer a call (URL, body) itself, so
    # that the breaker stops only calls that would reach the endpoint.
    replays: Callable[[str, ChatRequest], bool] | None = None
    # The event loop its live calls run on: its own, or shared by the run's endpoints with
    # the slots that bound the calls out at once (--empathy-concurrency).
    calls: CallLoop = field(default_factory=CallLoop)
    _client: openai.AsyncOpenAI | None = field(default=None, repr=False)
    # Cases evaluated ahead (--empathy-concurrency) make the first calls from several threads.
    _making: threading.Lock = field(default_factory=threading.Lock, repr=False)
    # Set when the endpoint closes: later calls fail, and a call waiting to try again stops waiting.
    _closing: threading.Event = field(default_factory=threading.Event, repr=False)

    def __post_init__(self) -> None:
        self.calls.use()

    def _live(self) -> openai.AsyncOpenAI:
        """The ``openai`` client of live calls, made once. Imported only here: a replay needs
        neither it nor its 0.3 s and 40 MB of imports."""
        import openai

        from pytest_empathy.cassettes import transport

        with self._making:
            if self.calls.refusing:
                import asyncio

                raise asyncio.CancelledError("the run's calls were stopped")
            if self._closing.is_set():
                raise CallError(f"{self.profile.name}: the endpoint was closed at the end of the run")
            if self._client is None:
                base_url = self.profile.endpoint(self.base_url)
                if base_url is None and self.profile.local:
                    base_url = local_server.serve(self.profile.local)
                self._client = openai.AsyncOpenAI(
                    base_url=base_url,
                    # The header it makes is never recorded.
                    api_key=self.profile.api_key() or "no-key",
                    max_retries=0,
                    timeout=self.profile.timeout,
                    # Takes each call to the cassette open in the calling thread, if any, and
                    # holds one of the loop's slots while the call is out.
                    http_client=transport.client(self.calls.slot),
                )
        return self._client

    def _where(self) -> str:
        """The endpoint, without any credential written into the URL."""
        return shown_url(str(self._live().base_url))

    def _redact(self, text: str) -> str:
        key = self.profile.api_key()
        return redact(text.replace(key, MASK) if key else text)

    def complete(
        self,
        messages: list[dict[str, str]],
        *,
        template_sha256: str,
        max_tokens: int,
        response_format: dict[str, object] | None = None,
    ) -> str:
        """The text of the first choice of a chat completion."""
        body: ChatRequest = {
            "model": self.profile.model,
            "messages": messages,
            "temperature": self.profile.temperature,
            "seed": self.profile.seed,
            "max_tokens": max_tokens,
        }
        if response_format is not None:
            body["response_format"] = response_format
        text = self._call(body, template_sha256) if self.replayer is None else self._replay(body, template_sha256)
        size = len(text.encode())
        if size > self.profile.max_response_bytes:
            # A replayed one was recorded under a larger bound; new_episodes asks it again.
            fate = "not recorded" if self.replayer is None else "recorded under a larger bound"
            raise CallError(
                f"{self.profile.name}: an answer of {size} bytes, above the profile's max_response_bytes = "
                f"{self.profile.max_response_bytes}; not taken, {fate}"
            )
        content = completion_text(text)
        if content is None:
            raise CallError(f"{self.profile.name}: unusable answer ({describe_unusable(redact(text))})")
        # A server that echoes a credential, in the answer or another field of a live call's
        # body (escaped, maybe): it goes no further than this answer, and its recording masks it.
        if carries_secret(content) or (self.replayer is None and carries_secret(text)):
            content = redact(content)
            _MASKED.set(_MASKED.get() + 1)
        return content

    def _replay(self, body: ChatRequest, template_sha256: str) -> str:
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

    def _call(self, body: ChatRequest, template_sha256: str) -> str:
        """The body of a live call's answer, or of its recording when vcrpy has one; the
        circuit breaker counts the calls that fail."""
        where, breaker = self._where(), self.breaker
        # A call the open cassette answers says nothing of the endpoint: it is neither
        # stopped nor counted.
        if breaker is None or (self.replays and self.replays(f"{where}chat/completions", body)):
            return self._attempts(body, template_sha256, where)
        refusal = breaker.refusal(where)
        if refusal is not None:
            raise CallError(f"{self.profile.name}: {refusal}")
        try:
            text = self._attempts(body, template_sha256, where)
        except EndpointDown as error:
            breaker.failed(where, str(error).removeprefix(f"{self.profile.name}: "))
            raise
        except CallError:
            # The endpoint answered: a fault of this request does not count against it.
            breaker.succeeded(where)
            raise
        breaker.succeeded(where)
        return text

    def _attempts(self, body: ChatRequest, template_sha256: str, where: str) -> str:
        """Attempts at the call, tried again as ``retries`` says, within the profile's deadline."""
        import openai
        from vcr.errors import CannotOverwriteExistingCassetteException

        profile, name = self.profile, self.profile.name
        headers = {TEMPLATE_HEADER: template_sha256, CORPUS_HEADER: self.corpus}
        history = _History(profile.call_deadline())
        while True:
            wait: float | None = None
            try:
                return self._attempt(body, headers, history)
            except TimeoutError:
                history.add("cut off at the deadline")
                raise EndpointDown(f"{name}: no answer within {profile.deadline_text()}; {history}") from None
            except CannotOverwriteExistingCassetteException:
                raise NotRecorded(f"{name}: no recording of this call", template_sha256) from None
            except MaskingFailed as error:
                # One line, no traceback: the frames below held the unmasked body.
                raise CallError(f"{name}: {error}") from None
            except openai.APIConnectionError as error:
                outcome, fault = self._connection_fault(error, template_sha256, where)
            except openai.APIStatusError as error:
                outcome, fault = self._status_fault(error, where, history)
                wait = retries.retry_after(error.response.headers)
            except openai.APIError as error:
                raise CallError(f"{name}: {shorten(self._redact(str(error)))}") from None
            history.add(outcome)
            self._wait_to_try_again(history, fault, wait)

    def _connection_fault(self, error: openai.APIConnectionError, template_sha256: str, where: str) -> tuple[str, str]:
        """The outcome and the fault of an attempt that got no answer, to be tried again; the
        error a missing recording or a failed masking (the cause below the client's) is."""
        import openai
        from vcr.errors import CannotOverwriteExistingCassetteException

        name = self.profile.name
        if _caused_by(error, CannotOverwriteExistingCassetteException):
            raise NotRecorded(f"{name}: no recording of this call", template_sha256) from None
        if masking := _caused_by(error, MaskingFailed):
            raise CallError(f"{name}: {masking}") from None
        if isinstance(error, openai.APITimeoutError):
            fault = f"timed out after {self.profile.timeout:g}s"
            return fault, fault
        return "cannot connect", self._redact(f"cannot connect to {where} ({_cause(error)})")

    def _status_fault(self, error: openai.APIStatusError, where: str, history: _History) -> tuple[str, str]:
        """The outcome and the fault of an attempt the server refused, to be tried again; a
        CallError, or EndpointDown when the endpoint is at fault, if ``retries`` says not to."""
        outcome = f"HTTP {error.status_code}"
        # Redacted whole, then shortened: a key cut in two would no longer be found.
        fault = f"{self._redact(f'{outcome} from {where}')}: {shorten(self._redact(error.message))}"
        if not retries.should_retry(error.status_code, error.response.headers):
            history.add(outcome)
            down = error.status_code in (401, 403, 429) or error.status_code >= 500
            raise (EndpointDown if down else CallError)(
                f"{self.profile.name}: {fault}; not retried, {history}"
            ) from None
        return outcome, fault

    def _wait_to_try_again(self, history: _History, fault: str, wait: float | None) -> None:
        """The wait before the next attempt (``wait``, the server's, or the backoff); an
        EndpointDown when the retries are spent or the next attempt would come too close to
        the deadline."""
        profile, name = self.profile, self.profile.name
        if history.attempts > profile.max_retries:
            raise EndpointDown(f"{name}: {fault}; {history}, max_retries = {profile.max_retries}")
        asked = wait is not None
        wait = retries.backoff(history.attempts) if wait is None else wait
        # An attempt left less than this before the deadline would only be cut off.
        left = history.remaining() - wait
        if left < min(profile.timeout, SHORTEST_ATTEMPT):
            why = f"the server asked to wait {wait:g}s" if asked else f"the next attempt was due {wait:.1f}s later"
            where_to = "past" if left <= 0 else "too close to"
            raise EndpointDown(f"{name}: {fault}; {history}, then gave up: {why}, {where_to} {profile.deadline_text()}")
        if self._closing.wait(wait):
            import asyncio

            raise asyncio.CancelledError("the endpoint closed while the call waited to try again")

    def _attempt(self, body: ChatRequest, headers: dict[str, str], history: _History) -> str:
        """One attempt, cut off (TimeoutError) at the call's deadline whatever the server
        sends: the client's timeout bounds each read, and a server that drips its answer a
        byte at a time would hold a read-bounded call for ever."""
        client = self._live()
        limit = Attempt(history.remaining())

        async def attempt() -> str:
            async with self.calls.attempt(limit):
                # The client's typed parameters describe the same JSON; the body is sent as it is.
                sent = cast("dict[str, Any]", body)
                raw = await client.chat.completions.with_raw_response.create(**sent, extra_headers=headers)
            text: str = raw.http_response.text
            return text

        try:
            return self.calls.run(attempt())
        finally:
            history.waited += limit.waited

    def close(self) -> None:
        """Close the live client, if any was made, and stop the loop, cancelling the calls
        still out (a case started ahead that no test took); later calls fail."""
        with self._making:
            if self._closing.is_set():
                return
            self._closing.set()
            client, self._client = self._client, None
        try:
            if client is not None:
                self.calls.run(client.close(), closing=True)
        finally:
            self.calls.release()


@dataclass
class _History:
    """What the attempts of one call came to, and how long they took."""

    deadline: float
    started: float = field(default_factory=time.monotonic)
    outcomes: list[str] = field(default_factory=list)
    # Seconds spent waiting for a slot (--empathy-concurrency): not the endpoint's, and not
    # counted against the deadline.
    waited: float = 0.0

    @property
    def attempts(self) -> int:
        return len(self.outcomes)

    def add(self, outcome: str) -> None:
        self.outcomes.append(outcome)

    def remaining(self) -> float:
        return self.deadline - self._spent()

    def _spent(self) -> float:
        return time.monotonic() - self.started - self.waited

    def __str__(self) -> str:
        count = f"{self.attempts} attempt{'s' if self.attempts != 1 else ''}"
        return f"{count} in {self._spent():.1f}s ({', '.join(self.outcomes)})"


@functools.lru_cache(maxsize=64)  # asked for every replayed call, of one or two URLs
def chat_path(base_url: str) -> str:
    """The URL path the openai client posts a chat completion to under ``base_url``,
    percent-encoded as it is sent and recorded."""
    path = quote(urlsplit(base_url).path, safe="/%:@!$&'()*+,;=~")
    # Masked as the recording's URI is (see cassettes.recorder), so that it matches.
    return masked_path((path if path.endswith("/") else path + "/") + "chat/completions")


# Its paths are masked with the credentials known: emptied when those change.
clears_on_change(chat_path.cache_clear)


def _caused_by(error: BaseException, kind: type[BaseException]) -> BaseException | None:
    """The error of that kind in the chain that led to ``error``, if any."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _cause(error: BaseException) -> str:
    root = error
    while root.__cause__ is not None:
        root = root.__cause__
    return clean(f"{type(root).__name__}: {root}")
