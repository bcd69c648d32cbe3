"""Replay without an HTTP stack (record mode ``none``, where no call may go live): the case's
cassette is read once, and each request matched as vcrpy's replay matches (method, path and
the JSON body), each recording answering one request at most.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from pytest_empathy.bounded import loads
from pytest_empathy.corpus.rows import Row
from pytest_empathy.results.case import Usage

from .format import CaseCassettes, Interaction, load, same_request_body


class Replayer(CaseCassettes):
    """The open case's recorded calls; ``respond`` answers a request from them."""

    _unplayed: list[Interaction] | None = None

    @contextmanager
    def cassette(self, row: Row) -> Iterator[dict[str, Usage]]:
        # Nothing goes live, so the usage stays empty; a cassette that cannot be read fails
        # here, naming the file.
        self._unplayed = load(self.location(row))
        try:
            yield {}
        finally:
            self._unplayed = None

    def respond(self, method: str, path: str, body: object) -> tuple[int, str] | None:
        """The recorded status and body answering a request (its URL path, and its body as
        parsed JSON), or None when no recording is left that matches it."""
        assert self._unplayed is not None, "respond() outside an open cassette"
        for index, interaction in enumerate(self._unplayed):
            request = interaction["request"]
            if (
                request.get("method") == method
                and urlsplit(str(request.get("uri", ""))).path == path
                and same_request_body(_json(request.get("body")), body)
            ):
                del self._unplayed[index]
                response = interaction["response"]
                return response["status"]["code"], response["body"]["string"]
        return None


def _json(body: str | None) -> object:
    try:
        return loads(body) if body is not None else None
    except ValueError:
        return None
