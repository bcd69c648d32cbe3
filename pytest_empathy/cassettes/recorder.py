"""Recording through vcrpy: one cassette per case, matched on method, path and body,
scrubbed, written atomically. Only what a replay needs is kept; responses that are errors,
or not a usable chat completion, are not recorded at all.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent import futures
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TypedDict
from urllib.parse import urlsplit, urlunsplit

import vcr
from vcr.cassette import Cassette
from vcr.persisters.filesystem import CassetteNotFoundError, FilesystemPersister
from vcr.request import Request
from vcr.serialize import deserialize, serialize

from pytest_empathy.atomic import WriteError, write_atomic
from pytest_empathy.corpus.rows import Row
from pytest_empathy.modes import RecordMode
from pytest_empathy.results.case import Usage
from pytest_empathy.secrets import MaskingFailed, masked_path, redact, redact_document
from pytest_empathy.write_targets import confined

from . import format as cassette_format
from . import transport
from .format import CORPUS_HEADER, HASHED, TEMPLATE_HEADER, CaseCassettes, CassetteError, hashed_body
from .transport import SerializedResponse

# Every other header (authorization, api-key, cookies, organisation and project ids,
# rate-limit and tracing headers) is dropped.
_KEPT_REQUEST_HEADERS = {"content-type", TEMPLATE_HEADER, CORPUS_HEADER}
_KEPT_RESPONSE_HEADERS = {"content-type"}
# What a vcrpy cassette is made with, of the configuration a VCR merges.
_CASSETTE_ARGUMENTS = frozenset(inspect.signature(Cassette).parameters)


class Recorded(TypedDict):
    """An open cassette's calls as vcrpy hands them to its persister, in order."""

    requests: list[Request]
    responses: list[SerializedResponse]


class AtomicPersister(FilesystemPersister):
    """Writes a cassette to a temporary file beside it and renames it into place, so a
    process killed mid-write leaves the old cassette or none, never half of one. Reads only
    cassettes of format version 1, and names the file of any it cannot read."""

    @classmethod
    def load_cassette(
        cls, cassette_path: str | Path, serializer: ModuleType
    ) -> tuple[list[Request], list[SerializedResponse]]:
        path = Path(cassette_path)
        data = cassette_format.read_cassette(path)
        if data is None:
            raise CassetteNotFoundError()
        cassette_format.checked(path, data)
        try:
            requests, responses = deserialize(data, serializer)
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise CassetteError(f"cassette {path} is damaged ({error}); delete it and record it again") from None
        return requests, responses

    @staticmethod
    def save_cassette(cassette_path: str | Path, cassette_dict: Recorded, serializer: ModuleType) -> None:
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
class RunCalls:
    """The calls a recording run makes: built with which templates (their sha256), to which
    models, for which corpus. A recorded call of that corpus built with another template is
    stale; one of that corpus and those models is the run's own, which it may supersede.
    Calls of other corpora or models, and calls without the plugin's headers, are neither."""

    templates: frozenset[str]
    models: frozenset[str]
    corpus: str

    def stale(self, request: Request) -> bool:
        template = request.headers.get(TEMPLATE_HEADER)
        return bool(template and self.templates) and template not in self.templates and self._of_corpus(request)

    def own(self, request: Request) -> bool:
        return _model(request) in self.models and self._of_corpus(request)

    def _of_corpus(self, request: Request) -> bool:
        return bool(request.headers.get(CORPUS_HEADER) == self.corpus)


def _model(request: Request) -> str | None:
    try:
        model = json.loads(request.body)["model"]
    except (TypeError, ValueError, KeyError):
        return None
    return model if isinstance(model, str) else None


@dataclass(frozen=True)
class _Filtering:
    """The persister of a recorder. A cassette holds only what the run's templates replay:
    stale calls (see RunCalls) are left out when it loads and when it is written. It never
    writes an answer larger than its model takes, and leaves such answers out when it loads
    a cassette, with those ``reask`` names (in a recording of new episodes), so that they are
    asked again. What it leaves out leaves the file only when the cassette is written, with
    what was asked in its place. It writes nothing that leads out of ``root``."""

    root: Path
    largest: Mapping[str, int]
    reask: Callable[[list[tuple[str | None, str]]], set[int]] | None
    calls: RunCalls | None

    def load_cassette(
        self, cassette_path: str | Path, serializer: ModuleType
    ) -> tuple[list[Request], list[SerializedResponse]]:
        requests, responses = AtomicPersister.load_cassette(cassette_path, serializer)
        bodies = [_text(r["body"]["string"]) for r in responses]
        calls = [(q.headers.get(TEMPLATE_HEADER), b) for q, b in zip(requests, bodies, strict=True)]
        again = self.reask(calls) if self.reask else set()
        kept = [i for i, q in enumerate(requests) if i not in again and not self._stale(q) and self._fits(q, bodies[i])]
        return [requests[i] for i in kept], [responses[i] for i in kept]

    def save_cassette(self, cassette_path: str | Path, cassette_dict: Recorded, serializer: ModuleType) -> None:
        pairs = zip(cassette_dict["requests"], cassette_dict["responses"], strict=True)
        kept = [(q, r) for q, r in pairs if not self._stale(q) and self._fits(q, _text(r["body"]["string"]))]
        if not kept:
            # Only answers too large to keep: the cassette on disk, if any, stays as it was.
            return
        cassette_dict = Recorded(requests=[q for q, _ in kept], responses=[r for _, r in kept])
        # Checked again as it is written: a link may have been made while the case ran.
        confined(Path(cassette_path), self.root, "cassette")
        AtomicPersister.save_cassette(cassette_path, cassette_dict, serializer)

    def holds_stale(self, cassette_path: Path) -> bool:
        """Whether the cassette on disk holds a stale call (False when it cannot be read:
        loading it says why)."""
        try:
            requests, _ = AtomicPersister.load_cassette(cassette_path, cassette_format)
        except (CassetteNotFoundError, CassetteError):
            return False
        return any(self._stale(q) for q in requests)

    def _stale(self, request: Request) -> bool:
        return self.calls is not None and self.calls.stale(request)

    def _fits(self, request: Request, body: str) -> bool:
        size = len(body.encode())
        return size <= self.largest.get(_model(request) or "", size)


def _text(body: str | bytes) -> str:
    return body if isinstance(body, str) else body.decode("utf-8", errors="replace")


def _masked(body: str | bytes) -> str | bytes:
    """A response body with every known credential masked, decoded first when it is JSON
    (vcrpy may hold it as bytes)."""
    if isinstance(body, str):
        return redact_document(body)
    try:
        return redact_document(body.decode("utf-8")).encode("utf-8")
    except UnicodeDecodeError:
        return body


def _masked_response(response: SerializedResponse) -> SerializedResponse:
    """A server that echoes a credential, in its body or in a header it keeps: the recording
    keeps it masked, as every output does."""
    response["body"]["string"] = _masked(response["body"]["string"])
    response["headers"] = {
        name: [redact(value) for value in values]
        for name, values in response["headers"].items()
        if name.lower() in _KEPT_RESPONSE_HEADERS
    }
    return response


def _scrub_request(request: Request) -> Request:
    for name in list(request.headers):
        if name.lower() not in _KEPT_REQUEST_HEADERS:
            del request.headers[name]
        else:
            request.headers[name] = redact(request.headers[name])
    request.uri = _stable_uri(request.uri)
    return request


def _hash_body(request: Request) -> Request:
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
    """The URI without credentials (user, password, query, path segments that carry one),
    and without the port of a loopback server, which changes on every start of a local model
    and would churn the cassettes."""
    parts = urlsplit(uri)
    host = parts.hostname or ""
    netloc = host if host in ("127.0.0.1", "localhost", "::1") or parts.port is None else f"{host}:{parts.port}"
    # No query either: it may carry a key (?api_key=), and a replay matches the path alone,
    # masked the same way (see models.endpoint.chat_path).
    return urlunsplit((parts.scheme, netloc, masked_path(parts.path), "", ""))


_CUT_SHORT = (KeyboardInterrupt, asyncio.CancelledError, futures.CancelledError)

# Set on the thread of a case evaluated ahead of its test (``plugin.lookahead``): a case that
# fails there leaves its cassette's save here, for its test to make when it takes the case.
# One that no test takes writes nothing, however it ended, so that the next recording makes
# all of its calls (``once`` would refuse the rest of them in a cassette with a part).
DEFERRED_SAVES: ContextVar[list[Callable[[], None]] | None] = ContextVar("pytest_empathy_deferred_saves", default=None)


class Recorder(CaseCassettes):
    """Cassettes written by vcrpy in one of its record modes; calls go live where the mode
    lets them. An endpoint's calls go to the cassette open in the thread that makes them
    (see ``transport``)."""

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
        calls: RunCalls | None = None,
        unwritable: Callable[[str], None] | None = None,
    ) -> None:
        """``usable`` tells a response body worth recording (a usable answer) from one that
        must not be replayed as if it were; ``hash_bodies`` keeps a hash of each request's
        body instead of the body, for text that may not be passed on; ``largest`` bounds the
        answers of each model, in bytes; ``reask`` names, of a case's recorded calls as
        (template hash, answer body), those a recording of new episodes asks again;
        ``calls`` says which recorded calls are stale, and which the run's own;
        ``unwritable`` is told why, when a cassette could not be written (a full disk): no
        answer the run buys after that could be kept."""
        super().__init__(root, model)

        def keep_response(response: SerializedResponse) -> SerializedResponse | None:
            """The response as recorded, or None when it must not be recorded."""
            if not 200 <= response["status"]["code"] < 300 or not usable(response["body"]["string"]):
                return None
            failure = None
            try:
                return _masked_response(response)
            except Exception as error:  # whatever it is, its traceback holds the body
                failure = type(error).__name__
            # Raised here, outside the except block, so that no traceback reaches the frames
            # that hold the unmasked body.
            del response
            raise MaskingFailed(f"a response could not be masked ({failure}), so it was not recorded")

        self.vcr = vcr.VCR(
            record_mode=mode.value,
            match_on=("method", "path", "body"),
            decode_compressed_response=True,
            before_record_request=_hash_body if hash_bodies else _scrub_request,
            before_record_response=keep_response,
            serializer="pytest-empathy",
        )
        self.vcr.register_serializer("pytest-empathy", cassette_format)
        self.persister = _Filtering(root, largest or {}, reask if mode is RecordMode.NEW_EPISODES else None, calls)
        self.vcr.register_persister(self.persister)
        self.mode = mode
        self.calls = calls
        self.unwritable = unwritable

    @contextmanager
    def cassette(self, row: Row) -> Iterator[dict[str, Usage]]:
        """The case's cassette while its calls are made. A case whose calls all succeeded
        leaves it holding what the run replays: in ``all`` what it recorded; otherwise its
        own calls it did not make this time are dropped (a judge's rating of an answer the
        model no longer gives). ``once`` records new episodes into a cassette with stale
        calls, since the run's templates have no recording there."""
        usage: dict[str, Usage] = {}
        # Before any call: one whose answer could not be written there is not made.
        path = confined(self.path(row), self.root, "cassette")
        mode = self.mode
        if mode is RecordMode.ONCE and self.persister.holds_stale(path):
            mode = RecordMode.NEW_EPISODES
        configured = self.vcr.get_merged_config(path=str(path), record_mode=mode.value)
        cassette = Cassette.load(**{k: v for k, v in configured.items() if k in _CASSETTE_ARGUMENTS})
        loaded = len(cassette.data)
        opened = transport.OPEN.set(cassette)
        try:
            try:
                yield usage
            finally:
                transport.OPEN.reset(opened)
                usage.update(live_usage(cassette.data[loaded:]))
            self._keep_what_the_run_replays(cassette, loaded, mode)
        except _CUT_SHORT:
            # An interrupt, or the end of the run for a case started ahead whose test did not
            # run: the cassette stays as it was, so that the next recording makes all of the
            # case's calls (``once`` would refuse the rest of them in a cassette with a part).
            raise
        except BaseException:
            # A case that failed keeps what its calls recorded.
            deferred = DEFERRED_SAVES.get()
            if deferred is None:
                self._save(cassette)
            else:
                deferred.append(lambda: self._save(cassette))
            raise
        self._save(cassette)

    def _save(self, cassette: Cassette) -> None:
        try:
            cassette._save()
        except WriteError as error:
            if self.unwritable is not None:
                self.unwritable(str(error))
            raise

    def _keep_what_the_run_replays(self, cassette: Cassette, loaded: int, mode: RecordMode) -> None:
        if mode is RecordMode.ALL:
            cassette.drop_unused_requests = True
            return
        calls = self.calls
        if calls is None or mode is not RecordMode.NEW_EPISODES:
            return
        unused = {i for i in range(loaded) if not cassette.play_counts[i] and calls.own(cassette.data[i][0])}
        if unused:
            cassette.data[:] = [pair for i, pair in enumerate(cassette.data) if i not in unused]
            cassette.dirty = True

    def replays(self, url: str, body: Mapping[str, object]) -> bool:
        """Whether the cassette open in this thread would answer this chat completion itself."""
        cassette = transport.OPEN.get()
        if cassette is None:
            return False
        request = Request("POST", url, json.dumps(body).encode(), {"content-type": "application/json"})
        return bool(cassette.can_play_response_for(request))


def live_usage(interactions: Iterable[tuple[Request, SerializedResponse]]) -> dict[str, Usage]:
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
