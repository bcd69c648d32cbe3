"""Recording through vcrpy: one cassette per case, matched on method, path and body,
scrubbed, written atomically.

Only what a replay needs is kept: a request keeps its content type and the plugin's two
headers (see ``cassettes``); a response keeps its status, content type and body. Every
other header (authorization, api-key, cookies, organisation and project ids, rate-limit and
tracing headers) is dropped, and responses that are errors, or not a usable chat
completion, are not recorded at all.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import vcr
from vcr.persisters.filesystem import CassetteNotFoundError, FilesystemPersister
from vcr.request import Request
from vcr.serialize import deserialize, serialize

from pytest_empathy.atomic import write_atomic
from pytest_empathy.corpus.rows import Row
from pytest_empathy.models.messages import redact
from pytest_empathy.modes import RecordMode
from pytest_empathy.results.case import Usage

from . import format as cassette_format
from .format import CORPUS_HEADER, HASHED, TEMPLATE_HEADER, CaseCassettes, CassetteError, hashed_body

_KEPT_REQUEST_HEADERS = {"content-type", TEMPLATE_HEADER, CORPUS_HEADER}
_KEPT_RESPONSE_HEADERS = {"content-type"}


class AtomicPersister(FilesystemPersister):
    """Writes a cassette to a temporary file beside it and renames it into place, so a
    process killed mid-write leaves the old cassette or none, never half of one. Reads only
    cassettes of format version 1, and names the file of any it cannot read."""

    @classmethod
    def load_cassette(cls, cassette_path: str | Path, serializer: Any) -> Any:
        path = Path(cassette_path)
        text = cassette_format.read_text(path)
        if text is None:
            raise CassetteNotFoundError()
        cassette_format.checked(path, text)
        try:
            return deserialize(text, serializer)
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise CassetteError(f"cassette {path} is damaged ({error}); delete it and record it again") from None

    @staticmethod
    def save_cassette(cassette_path: str | Path, cassette_dict: dict[str, Any], serializer: Any) -> None:
        path = Path(cassette_path)
        try:
            data = serialize(cassette_dict, serializer)
        except TypeError:
            # vcrpy leaves a body that is not UTF-8 as bytes, which JSON cannot hold.
            raise CassetteError(
                f"cassette {path} not written: a body of its calls is not UTF-8 text; "
                "the cassette on disk, if any, is unchanged"
            ) from None
        write_atomic(path, data)


@dataclass(frozen=True)
class _Filtering:
    """The persister of a recorder. A cassette holds only what the run's templates replay:
    calls recorded with another template (``current`` names the run's template hashes) are
    left out when it loads and when it is written; in a recording of ``once``, a cassette
    holding any such call counts as absent, so its case is recorded anew, whole. It never
    writes an answer larger than its model takes, and leaves such answers out when it loads
    a cassette, with those ``reask`` names (in a recording of new episodes), so that they are
    asked again. What it leaves out leaves the file only when the cassette is written, with
    what was asked in its place."""

    largest: Mapping[str, int]
    reask: Callable[[list[tuple[str | None, str]]], set[int]] | None
    current: frozenset[str]
    anew_when_stale: bool

    def load_cassette(self, cassette_path: str | Path, serializer: Any) -> Any:
        requests, responses = AtomicPersister.load_cassette(cassette_path, serializer)
        stale = {i for i, q in enumerate(requests) if self._stale(q)}
        if stale and self.anew_when_stale:
            raise CassetteNotFoundError()
        bodies = [_text(r["body"]["string"]) for r in responses]
        calls = [(q.headers.get(TEMPLATE_HEADER), b) for q, b in zip(requests, bodies, strict=True)]
        again = self.reask(calls) if self.reask else set()
        kept = [i for i, q in enumerate(requests) if i not in again | stale and self._fits(q, bodies[i])]
        return [requests[i] for i in kept], [responses[i] for i in kept]

    def save_cassette(self, cassette_path: str | Path, cassette_dict: dict[str, Any], serializer: Any) -> None:
        pairs = zip(cassette_dict["requests"], cassette_dict["responses"], strict=True)
        kept = [(q, r) for q, r in pairs if not self._stale(q) and self._fits(q, _text(r["body"]["string"]))]
        if not kept:
            # Only answers too large to keep: the cassette on disk, if any, stays as it was.
            return
        cassette_dict = {"requests": [q for q, _ in kept], "responses": [r for _, r in kept]}
        AtomicPersister.save_cassette(cassette_path, cassette_dict, serializer)

    def _stale(self, request: Any) -> bool:
        """Recorded with a template the run does not use. A call without the header (from
        another tool), or a recorder told no templates, keeps everything: nothing says stale."""
        template = request.headers.get(TEMPLATE_HEADER)
        return bool(template and self.current) and template not in self.current

    def _fits(self, request: Any, body: str) -> bool:
        try:
            model = json.loads(request.body)["model"]
        except (TypeError, ValueError, KeyError):
            return True
        return len(body.encode()) <= self.largest.get(model, len(body.encode()))


def _text(body: str | bytes) -> str:
    return body if isinstance(body, str) else body.decode("utf-8", errors="replace")


def _masked(body: str | bytes) -> str | bytes:
    """A response body with every known credential masked (vcrpy may hold it as bytes)."""
    if isinstance(body, str):
        return redact(body)
    try:
        return redact(body.decode("utf-8")).encode("utf-8")
    except UnicodeDecodeError:
        return body


def _scrub_request(request: Any) -> Any:
    for name in list(request.headers):
        if name.lower() not in _KEPT_REQUEST_HEADERS:
            del request.headers[name]
    request.uri = _stable_uri(request.uri)
    return request


def _hash_body(request: Any) -> Any:
    """The request with its body hashed (see cassettes.format.hashed_body). vcrpy filters
    the live request the same way before matching (at times twice: hashing is idempotent),
    so a hashed recording still matches."""
    request = _scrub_request(request)
    try:
        body = json.loads(request.body)
    except (TypeError, ValueError):
        return request
    if isinstance(body, dict) and body.keys() != {"model", HASHED}:
        request.body = json.dumps(hashed_body(body), sort_keys=True)
    return request


def _stable_uri(uri: str) -> str:
    """The URI without credentials, and without the port of a loopback server, which changes
    on every start of a local model and would churn the cassettes."""
    parts = urlsplit(uri)
    host = parts.hostname or ""
    netloc = host if host in ("127.0.0.1", "localhost", "::1") or parts.port is None else f"{host}:{parts.port}"
    # No query either: it may carry a key (?api_key=), and a replay matches the path alone.
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class Recorder(CaseCassettes):
    """Cassettes written by vcrpy in one of its record modes; calls go live through the
    patched HTTP client where the mode lets them."""

    def __init__(
        self,
        root: Path,
        model: str,
        mode: RecordMode,
        *,
        usable: Callable[[str | bytes], bool],
        hash_bodies: bool = False,
        largest: Mapping[str, int] | None = None,
        reask: Callable[[list[tuple[str | None, str]]], set[int]] | None = None,
        templates: Iterable[str] = (),
    ) -> None:
        """``usable`` tells a response body worth recording (a usable answer) from one that
        must not be replayed as if it were; ``hash_bodies`` keeps a hash of each request's
        body instead of the body, for text that may not be passed on; ``largest`` bounds the
        answers of each model, in bytes; ``reask`` names, of a case's recorded calls as
        (template hash, answer body), those a recording of new episodes asks again;
        ``templates`` are the hashes of the run's templates, whose calls alone are kept."""
        super().__init__(root, model)

        def keep_response(response: dict[str, Any]) -> dict[str, Any] | None:
            """The response as recorded, or None when it must not be recorded."""
            if not 200 <= response["status"]["code"] < 300 or not usable(response["body"]["string"]):
                return None
            # A server that echoes a credential: the recording keeps it masked, as every output does.
            response["body"]["string"] = _masked(response["body"]["string"])
            response["headers"] = {
                name: value for name, value in response["headers"].items() if name.lower() in _KEPT_RESPONSE_HEADERS
            }
            return response

        self.vcr = vcr.VCR(
            record_mode=mode.value,
            match_on=("method", "path", "body"),
            decode_compressed_response=True,
            before_record_request=_hash_body if hash_bodies else _scrub_request,
            before_record_response=keep_response,
            serializer="pytest-empathy",
        )
        self.vcr.register_serializer("pytest-empathy", cassette_format)
        self.vcr.register_persister(
            _Filtering(
                largest or {},
                reask if mode is RecordMode.NEW_EPISODES else None,
                current=frozenset(templates),
                anew_when_stale=mode is RecordMode.ONCE,
            )
        )
        # The cassette open while a case runs, for replays().
        self._open: Any = None

    @contextmanager
    def cassette(self, row: Row) -> Iterator[dict[str, Usage]]:
        usage: dict[str, Usage] = {}
        with self.vcr.use_cassette(str(self.path(row))) as cassette:
            before = len(cassette.data)
            self._open = cassette
            try:
                yield usage
            finally:
                self._open = None
                usage.update(live_usage(cassette.data[before:]))

    def replays(self, url: str, body: dict[str, Any]) -> bool:
        """Whether the open cassette would answer this chat completion itself."""
        if self._open is None:
            return False
        request = Request("POST", url, json.dumps(body).encode(), {"content-type": "application/json"})
        return bool(self._open.can_play_response_for(request))


def live_usage(interactions: Iterable[tuple[Any, dict[str, Any]]]) -> dict[str, Usage]:
    """Calls and tokens per model of newly recorded interactions, from the responses' usage."""
    usage: dict[str, Usage] = {}
    for request, response in interactions:
        try:
            model = json.loads(request.body)["model"]
            tokens = json.loads(response["body"]["string"]).get("usage") or {}
        except (ValueError, TypeError, KeyError):
            continue
        usage[model] = usage.get(model, Usage()) + Usage(
            1, int(tokens.get("prompt_tokens") or 0), int(tokens.get("completion_tokens") or 0)
        )
    return usage
