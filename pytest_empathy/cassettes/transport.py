"""The HTTP transport of a recording run: every call goes through the cassette open in the
thread that made it (``OPEN``). vcrpy's own way, patching the HTTP library while a cassette
is open, allows one cassette at a time in a process; ``--empathy-concurrency`` evaluates
several cases at once, each in a thread with its cassette.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, suppress
from contextvars import ContextVar
from types import ModuleType
from typing import Any, TypedDict

import openai
from vcr.cassette import Cassette
from vcr.errors import CannotOverwriteExistingCassetteException
from vcr.request import Request

from .format import Headers, Status

# The cassette of the case evaluated in this thread, while it is evaluated.
OPEN: ContextVar[Cassette | None] = ContextVar("pytest_empathy_open_cassette", default=None)


def _httpx() -> ModuleType:
    """The HTTP library of the installed ``openai`` client (httpx, or its fork httpx2)."""
    return importlib.import_module(openai.DefaultAsyncHttpxClient.__mro__[1].__module__.partition(".")[0])


# Its objects (requests, responses, transports) are left untyped here: which library it is,
# and so their types, depends on the openai client installed.
httpx = _httpx()


Slot = Callable[[], AbstractAsyncContextManager[None]]


class SerializedBody(TypedDict):
    string: bytes | str


class SerializedResponse(TypedDict):
    """A response as vcrpy holds one in an open cassette (its body bytes, or text as loaded)."""

    status: Status
    headers: Headers
    body: SerializedBody


class CassetteTransport(httpx.AsyncBaseTransport):  # type: ignore[misc, name-defined]
    """Wraps the transport that would make a call, so that it goes through ``OPEN``, and holds
    a ``slot`` while it is out at the endpoint."""

    def __init__(self, inner: Any, slot: Slot) -> None:
        self.inner = inner
        self.slot = slot

    async def handle_async_request(self, request: Any) -> Any:
        """What vcrpy's patch does: play the recording when the cassette has one, refuse when
        it may not record, else make the call and append it, in vcrpy's serialized form, for
        the cassette's filters."""
        cassette = OPEN.get()
        if cassette is None:
            return (await self._sent(request))[0]
        recorded = Request(request.method, str(request.url), await request.aread(), request.headers)
        if cassette.can_play_response_for(recorded):
            return _played(cassette.play_response(recorded))
        if cassette.write_protected and cassette.filter_request(recorded):
            raise CannotOverwriteExistingCassetteException(cassette=cassette, failed_request=recorded)
        response, content = await self._sent(request)
        cassette.append(recorded, _serialized(response, content))
        return response

    async def _sent(self, request: Any) -> tuple[Any, bytes]:
        """The endpoint's response, read whole within the slot (not decoded: vcrpy's filters
        decode what it records), and its bytes."""
        async with self.slot():
            response = await self.inner.handle_async_request(request)
            try:
                content = b"".join([part async for part in response.stream])
            except BaseException:
                with suppress(Exception):  # the read's error is the one to tell
                    await response.stream.aclose()
                raise
            await response.stream.aclose()
        whole = httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=httpx.ByteStream(content),
            extensions=response.extensions,
        )
        return whole, content

    async def aclose(self) -> None:
        await self.inner.aclose()


def client(slot: Slot) -> Any:
    """The async HTTP client the ``openai`` client would make, its transports wrapped. Made
    first and wrapped after: a client given a transport of its own no longer mounts the
    proxies of the environment (HTTPS_PROXY, NO_PROXY)."""
    made = openai.DefaultAsyncHttpxClient()
    made._transport = CassetteTransport(made._transport, slot)
    made._mounts = {
        pattern: None if transport is None else CassetteTransport(transport, slot)
        for pattern, transport in made._mounts.items()
    }
    return made


def _serialized(response: Any, content: bytes) -> SerializedResponse:
    """A response as vcrpy serializes one: every header with the list of its values."""
    headers: dict[str, list[str]] = {}
    for name, value in response.headers.multi_items():
        headers.setdefault(name, []).append(value)
    return {
        "status": {"code": response.status_code, "message": response.reason_phrase},
        "headers": headers,
        "body": {"string": content},
    }


def _played(recorded: SerializedResponse) -> Any:
    body = recorded["body"]["string"]
    message = recorded["status"].get("message")
    return httpx.Response(
        recorded["status"]["code"],
        headers=[(name, value) for name, values in recorded["headers"].items() for value in values],
        stream=httpx.ByteStream(body if isinstance(body, bytes) else body.encode()),
        extensions={"reason_phrase": message.encode("ascii")} if message else None,
    )
