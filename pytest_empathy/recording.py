"""vcrpy glue: one cassette per case, matched on method, path and body, scrubbed, atomic.

Only what a replay needs is kept: a request keeps its content type and the hash of the
template that built it (to tell a changed template from a missing recording); a response
keeps its status, content type and body. Every other header (authorization, api-key,
cookies, organisation and project ids, rate-limit and tracing headers) is dropped, and
responses that are errors, or not a usable chat completion, are not recorded at all.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import vcr
import yaml
from vcr.persisters.filesystem import CassetteNotFoundError, FilesystemPersister
from vcr.serialize import deserialize, serialize

from .corpus import Row
from .errors import InputError
from .results import Usage

TEMPLATE_HEADER = "x-empathy-template"
# Which corpus a call was recorded for: cassettes of one model may serve several corpora.
CORPUS_HEADER = "x-empathy-corpus"
_KEPT_REQUEST_HEADERS = {"content-type", TEMPLATE_HEADER, CORPUS_HEADER}
_KEPT_RESPONSE_HEADERS = {"content-type"}


def cassette_path(root: Path, model: str, row: Row) -> Path:
    return root / model / row.emotion / f"{row.case_id}.yaml"


class CassetteError(InputError):
    """A cassette that cannot be used; the message names the file."""


class AtomicPersister(FilesystemPersister):
    """Writes a cassette to a temporary file beside it and renames it into place, so a
    process killed mid-write leaves the old cassette or none, never half of one. Reads only
    cassettes of format version 1, and names the file of any it cannot read."""

    @classmethod
    def load_cassette(cls, cassette_path: str | Path, serializer: Any) -> Any:
        path = Path(cassette_path)
        if not path.is_file():
            raise CassetteNotFoundError()
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise CassetteError(f"cassette {path} cannot be read ({error})") from None
        if not text.strip():
            raise CassetteNotFoundError()
        # vcrpy writes the version last: a cassette cut short has none.
        version = re.search(r"^version:\s*(\S*)\s*$", text, re.MULTILINE)
        if version is None:
            raise CassetteError(f"cassette {path} is damaged or truncated (no version line); "
                                "delete it and record it again")
        if version.group(1) != "1":
            raise CassetteError(f"cassette {path} is not of format version 1 (version: {version.group(1)})")
        try:
            return deserialize(text, serializer)
        except (yaml.YAMLError, ValueError, KeyError, TypeError, AttributeError) as error:
            first = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise CassetteError(f"cassette {path} is damaged ({first}); delete it and record it again") from None

    @staticmethod
    def save_cassette(cassette_path: str | Path, cassette_dict: dict[str, Any], serializer: Any) -> None:
        data = serialize(cassette_dict, serializer)
        path = Path(cassette_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(data)
            os.replace(temporary, path)
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)


def _scrub_request(request: Any) -> Any:
    for name in list(request.headers):
        if name.lower() not in _KEPT_REQUEST_HEADERS:
            del request.headers[name]
    request.uri = _stable_uri(request.uri)
    return request


def _stable_uri(uri: str) -> str:
    """The URI without credentials, and without the port of a loopback server, which changes
    on every start of a local model and would churn the cassettes."""
    parts = urlsplit(uri)
    host = parts.hostname or ""
    netloc = host if host in ("127.0.0.1", "localhost", "::1") or parts.port is None else f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


def _keep_response(response: dict[str, Any]) -> dict[str, Any] | None:
    """The response as recorded, or None when it must not be recorded."""
    if not 200 <= response["status"]["code"] < 300 or not usable_completion(response["body"]["string"]):
        return None
    response["headers"] = {
        name: value for name, value in response["headers"].items()
        if name.lower() in _KEPT_RESPONSE_HEADERS
    }
    return response


def usable_completion(body: bytes | str) -> bool:
    """A chat completion with at least one choice whose message has text, not cut by a
    content filter."""
    try:
        data = json.loads(body)
        choices = data["choices"]
        return bool(choices) and all(
            isinstance(c["message"]["content"], str) and c["message"]["content"].strip()
            and c.get("finish_reason") != "content_filter"
            for c in choices
        )
    except (ValueError, TypeError, KeyError):
        return False


class Recorder:
    def __init__(self, root: Path, model: str, mode: str) -> None:
        self.root = root
        self.model = model
        self.mode = mode
        self.vcr = vcr.VCR(
            record_mode=mode,
            match_on=("method", "path", "body"),
            decode_compressed_response=True,
            before_record_request=_scrub_request,
            before_record_response=_keep_response,
            serializer="yaml",
        )
        self.vcr.register_persister(AtomicPersister)

    def path(self, row: Row) -> Path:
        return cassette_path(self.root, self.model, row)

    @contextmanager
    def cassette(self, row: Row) -> Iterator[dict[str, Usage]]:
        """The case's cassette, open; yields the usage of the calls recorded in it (filled
        in when the block ends)."""
        usage: dict[str, Usage] = {}
        with self.vcr.use_cassette(str(self.path(row))) as cassette:
            before = len(cassette.data)
            try:
                yield usage
            finally:
                usage.update(live_usage(cassette.data[before:]))


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


def recorded_templates(path: Path) -> set[str]:
    """The template hashes of the requests recorded in a cassette (empty when it is absent)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return set()
    hashes = set()
    for interaction in data.get("interactions", []):
        for name, values in interaction.get("request", {}).get("headers", {}).items():
            if name.lower() == TEMPLATE_HEADER:
                hashes.update(values if isinstance(values, list) else [values])
    return hashes


_RECORDED_TEMPLATE = re.compile(TEMPLATE_HEADER + r":\s*\n\s*-\s*([0-9a-f]{64})")


def outdated(recorder: Recorder, rows: Iterable[Row], templates: Mapping[str, str]) -> dict[str, list[Row]]:
    """For each template (by role), the rows whose cassette was recorded with another
    version of it: the current hash is absent and a hash of no current template is there.
    A text search: cheaper than parsing every cassette (a damaged one fails in its case)."""
    found: dict[str, list[Row]] = {role: [] for role in templates}
    current = set(templates.values())
    for row in rows:
        try:
            text = recorder.path(row).read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            continue
        recorded = set(_RECORDED_TEMPLATE.findall(text))
        if not recorded - current:
            continue
        for role, sha in templates.items():
            if sha not in recorded:
                found[role].append(row)
    return {role: rows for role, rows in found.items() if rows}


def unused(recorder: Recorder, rows: Iterable[Row], corpus: str) -> list[Path]:
    """Cassettes of the recorder's model, recorded for this corpus, that belong to none of
    the rows. Cassettes of other corpora, or of unknown corpus, are never listed."""
    used = {recorder.path(row) for row in rows}
    marker = re.compile(CORPUS_HEADER + r":\s*\n\s*-\s*" + re.escape(corpus) + r"\s*$", re.MULTILINE)
    return sorted(
        p for p in (recorder.root / recorder.model).rglob("*.yaml")
        if p not in used and marker.search(p.read_text(encoding="utf-8", errors="replace"))
    )


class RecordingLock:
    """One recording run at a time per cassette directory: two would write the same files.
    Held by the controller for the whole session; the operating system drops it when the
    process ends, however it ends."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / ".recording.lock"
        self.handle: Any = None

    def acquire(self) -> None:
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise CassetteError(
                f"another run is recording into {self.path.parent} (process {holder}); wait for it "
                "to finish, or record into another --empathy-cassettes directory"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self.handle = handle

    def release(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None
