"""Replay without an HTTP stack: a case's calls answered straight from its cassette.

In record mode ``none`` no call may go live, so nothing needs patching or sending: the
case's cassette is read once, and each request is matched against it as a vcrpy replay
matches (method, path, and the JSON body), every recorded interaction answering one
request at most. A request that nothing matches has no recording, as it would have under
vcrpy; the caller tells why.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pytest_empathy.bounded import loads
from pytest_empathy.corpus.rows import Row
from pytest_empathy.results.case import Usage

from .format import CaseCassettes, checked, load, read_cassette, same_request_body

# How much cassette text read ahead of the cases (the template check) is kept for them: the
# suite's 2,000 cases hold about 6 MB; a corpus far larger is read again, case by case.
_KEPT_BYTES = 32 * 1024 * 1024


class Replayer(CaseCassettes):
    """The open case's recorded calls; ``respond`` answers a request from them."""

    _unplayed: list[dict[str, Any]] | None = None

    def __init__(self, root: Path, model: str) -> None:
        super().__init__(root, model)
        # Cassettes read ahead, by case id, each used once: reading and parsing a cassette was
        # a sixth of what a replayed case cost beyond bare pytest, and the check read each one.
        self._kept: dict[str, list[dict[str, Any]]] = {}
        self._kept_bytes = 0

    def interactions(self, row: Row, *, keep: bool = False) -> list[dict[str, Any]]:
        path = self.location(row)
        data = read_cassette(path)
        if data is None:
            return []
        found: list[dict[str, Any]] = checked(path, data)["interactions"]
        if keep and self._kept_bytes + len(data) <= _KEPT_BYTES:
            self._kept[row.case_id] = found
            self._kept_bytes += len(data)
        return found

    @contextmanager
    def cassette(self, row: Row) -> Iterator[dict[str, Usage]]:
        # Nothing goes live, so the usage stays empty; a cassette that cannot be read fails
        # here, naming the file.
        kept = self._kept.pop(row.case_id, None)
        self._unplayed = kept if kept is not None else load(self.location(row))
        try:
            yield {}
        finally:
            self._unplayed = None

    def respond(self, method: str, path: str, body: Any) -> tuple[int, str] | None:
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


def _json(body: str | None) -> Any:
    try:
        return loads(body) if body is not None else None
    except ValueError:
        return None
