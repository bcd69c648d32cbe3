"""The case cassettes on disk: where each lives, their format, how one is read and checked.
vcrpy's format version 1 written as JSON, which a replay loads about twenty times faster
than YAML (YAML was most of a replayed case's cost). Light on purpose (no vcrpy): a replay
reads cassettes without it, and vcrpy writes them with ``serialize``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TypedDict

from pytest_empathy.bounded import MiB, loads, read_bytes
from pytest_empathy.corpus.rows import Row
from pytest_empathy.errors import InputError
from pytest_empathy.results.case import Usage
from pytest_empathy.write_targets import confined

SUFFIX = ".json"
# The hash of the template that built a request: tells a changed template from a missing
# recording.
TEMPLATE_HEADER = "x-empathy-template"
# Which corpus a call was recorded for: cassettes of one model may serve several corpora.
CORPUS_HEADER = "x-empathy-corpus"
# The key of a hashed request body (see hashed_body).
HASHED = "sha256_of_body"
# A case's cassette holds its answer and its rating, a few KiB (the shipped ones 5 KiB at
# most); long answers and judge repeats stay far below this.
LARGEST = 16 * MiB

# A recorded header's values, by name (vcrpy keeps a list per name).
Headers = dict[str, list[str]]


class RecordedRequest(TypedDict):
    method: str
    uri: str
    # The JSON text of the request's body (the hashed one, in a corpus that may not be passed on).
    body: str | None
    headers: Headers


class Status(TypedDict):
    code: int
    message: str


class RecordedBody(TypedDict):
    string: str


class RecordedResponse(TypedDict):
    status: Status
    headers: Headers
    body: RecordedBody


class Interaction(TypedDict):
    """A recorded call, as a cassette on disk holds it (what ``checked`` makes sure of)."""

    request: RecordedRequest
    response: RecordedResponse


class CassetteDocument(TypedDict):
    """vcrpy's cassette dictionary, format version 1."""

    version: int
    interactions: list[Interaction]


def cassette_path(root: Path, model: str, row: Row) -> Path:
    return Path(cassette_location(root, model, row))


def cassette_location(root: Path, model: str, row: Row) -> str:
    """Where a case's cassette lives, as text: what a replay needs of it three times a case,
    where even one Path made from one string cost a replayed case a tenth of its JSON."""
    return f"{root}/{model}/{row.emotion}/{row.case_id}{SUFFIX}"


class CaseCassettes:
    """The cassettes of one model under a root directory, one per case."""

    def __init__(self, root: Path, model: str) -> None:
        # Names are checked where they are read; this is the last line: nothing is written
        # outside the cassettes directory, by name or through a link.
        if (root / model).resolve() == root.resolve():
            raise CassetteError(f"cassettes of {model!r} would lie outside {root}")
        confined(root / model, root, f"the cassette folder of {model!r}")
        self.root = root
        self.model = model

    def path(self, row: Row) -> Path:
        return cassette_path(self.root, self.model, row)

    def location(self, row: Row) -> str:
        """The case's cassette path as text (see cassette_location)."""
        return cassette_location(self.root, self.model, row)

    def cassette(self, row: Row) -> AbstractContextManager[dict[str, Usage]]:
        """The case's cassette, open while its calls are made; yields the calls and tokens
        per model of what went live (filled in when the block ends)."""
        raise NotImplementedError

    def present(self) -> set[str]:
        """The locations (see ``location``) of the cassettes on disk, from one listing of
        each emotion folder: cheaper, for a large corpus, than asking for each case's file.
        One level of emotion folders: a model's folder also holds its calibration's folder."""
        found: set[str] = set()
        folder = f"{self.root}/{self.model}"
        try:
            with os.scandir(folder) as entries:
                emotions = [entry.name for entry in entries if entry.is_dir()]
        except OSError:
            return found  # none, or unreadable: each case says so when it reads its own
        for emotion in emotions:
            try:
                with os.scandir(f"{folder}/{emotion}") as entries:
                    found.update(f"{folder}/{emotion}/{e.name}" for e in entries if e.name.endswith(SUFFIX))
            except OSError:
                continue
        return found


class CassetteError(InputError):
    """A cassette that cannot be used; the message names the file."""


def hashed_body(body: Mapping[str, object]) -> dict[str, object]:
    """A request body as the cassettes of a corpus that may not be passed on keep it: the
    model, and the sha256 of the whole body (canonical JSON), which a replay recomputes."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return {"model": body.get("model"), HASHED: hashlib.sha256(canonical.encode("utf-8")).hexdigest()}


def same_request_body(recorded: object, body: object) -> bool:
    """Whether a recorded body (parsed JSON; a hashed one too) is the body of a request."""
    if isinstance(recorded, dict) and recorded.keys() == {"model", HASHED} and isinstance(body, dict):
        return recorded == hashed_body(body)
    return bool(recorded == body)


def serialize(cassette: Mapping[str, object]) -> str:
    """vcrpy's cassette dictionary as written to disk: indented, and with text left readable
    rather than escaped, keys sorted so that re-recording leaves unchanged calls unchanged."""
    return json.dumps(cassette, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def deserialize(text: str | bytes) -> CassetteDocument:
    cassette: CassetteDocument = loads(text)
    return cassette


def read_cassette(path: str | Path) -> bytes | None:
    """The contents of the cassette at ``path``, undecoded (JSON decodes UTF-8 itself, and a
    text file object per read was a third of reading one); None when there is none, or it
    is empty."""
    try:
        data = read_bytes(path, largest=LARGEST, what="cassette", error=CassetteError)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise CassetteError(f"cassette {path} cannot be read ({error})") from None
    return data if data.strip() else None


def checked(path: str | Path, text: str | bytes) -> CassetteDocument:
    """A cassette's contents, checked: JSON, format version 1, and every interaction with
    what a replay reads; otherwise a CassetteError naming the file."""
    try:
        data = deserialize(text)
    except ValueError as error:
        raise CassetteError(
            f"cassette {path} is damaged or truncated ({error}); delete it and record it again"
        ) from None
    version = data.get("version", "none") if isinstance(data, dict) else "none"
    if version != 1:
        raise CassetteError(f"cassette {path} is not of format version 1 (version: {version})")
    found = data.get("interactions")
    if not isinstance(found, list):
        raise CassetteError(f"cassette {path} is damaged (no list of interactions); delete it and record it again")
    for number, interaction in enumerate(found, start=1):
        if not _well_formed(interaction):
            raise CassetteError(
                f"cassette {path} is damaged (interaction {number} lacks its request's method, "
                "uri, body or headers, or its response's status, headers or body); delete it "
                "and record it again"
            )
    return data


def load(path: str | Path) -> list[Interaction]:
    """The checked interactions of the cassette at ``path``; none when there is no cassette."""
    data = read_cassette(path)
    return checked(path, data)["interactions"] if data is not None else []


def _well_formed(interaction: object) -> bool:
    if not isinstance(interaction, dict):
        return False
    try:
        request, response = interaction["request"], interaction["response"]
        return (
            {"method", "uri", "body", "headers"} <= request.keys()
            and "headers" in response
            and isinstance(response["status"]["code"], int)
            and isinstance(response["body"]["string"], str)
        )
    except (TypeError, KeyError, AttributeError):
        return False


def header(request: RecordedRequest, name: str) -> list[str]:
    """The values of a recorded request's header (vcrpy keeps a list per name; a cassette
    edited by hand may hold one value)."""
    headers: Mapping[str, object] = request.get("headers") or {}
    for key, values in headers.items():
        if key.lower() == name:
            return [str(v) for v in values] if isinstance(values, list) else [str(values)]
    return []


def recorded(path: Path, name: str) -> set[str]:
    """The values of a plugin header (the template hash, the corpus) over the requests
    recorded in a cassette; empty when it is absent or cannot be read."""
    try:
        interactions = load(path)
    except CassetteError:
        return set()
    return header_values(interactions, name)


def header_values(interactions: list[Interaction], name: str) -> set[str]:
    """The values of a header over the requests of recorded interactions."""
    return {value for interaction in interactions for value in header(interaction["request"], name)}
