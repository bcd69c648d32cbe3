"""The case cassettes on disk: where each lives, how one is read and checked, what it says
about how it was recorded, and which are outdated or unused.

One cassette per case, in vcrpy's YAML format (version 1). A request keeps its content
type and two headers of this plugin: the hash of the template that built it (to tell a
changed template from a missing recording) and the corpus it was recorded for (so that
pruning never touches another corpus's cassettes).

Light on purpose (no vcrpy): a replay reads cassettes without it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml

from .corpus import Row
from .errors import InputError

TEMPLATE_HEADER = "x-empathy-template"
# Which corpus a call was recorded for: cassettes of one model may serve several corpora.
CORPUS_HEADER = "x-empathy-corpus"

T = TypeVar("T")
# libyaml when PyYAML was built with it: a cassette loads several times faster.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def cassette_path(root: Path, model: str, row: Row) -> Path:
    return root / model / row.emotion / f"{row.case_id}.yaml"


class CaseCassettes:
    """The cassettes of one model under a root directory, one per case."""

    def __init__(self, root: Path, model: str) -> None:
        self.root = root
        self.model = model

    def path(self, row: Row) -> Path:
        return cassette_path(self.root, self.model, row)


class CassetteError(InputError):
    """A cassette that cannot be used; the message names the file."""


def load(path: Path, parse: Callable[[str], T]) -> T | None:
    """The cassette at ``path`` parsed by ``parse``, or None when there is none (or it is
    empty). Only format version 1 is read; any file that cannot be read is a CassetteError
    naming it."""
    if not path.is_file():
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CassetteError(f"cassette {path} cannot be read ({error})") from None
    if not text.strip():
        return None
    # vcrpy writes the version last: a cassette cut short has none.
    version = re.search(r"^version:\s*(\S*)\s*$", text, re.MULTILINE)
    if version is None:
        raise CassetteError(f"cassette {path} is damaged or truncated (no version line); "
                            "delete it and record it again")
    if version.group(1) != "1":
        raise CassetteError(f"cassette {path} is not of format version 1 (version: {version.group(1)})")
    try:
        return parse(text)
    except (yaml.YAMLError, ValueError, KeyError, TypeError, AttributeError) as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise CassetteError(f"cassette {path} is damaged ({first}); delete it and record it again") from None


def interactions(text: str) -> list[dict[str, Any]]:
    """The recorded interactions of a cassette's text, as plain dictionaries."""
    found = yaml.load(text, Loader=_LOADER)["interactions"]
    if not isinstance(found, list) or not all(_well_formed(i) for i in found):
        raise ValueError("an interaction lacks its request's method, uri or body, or its response's status or body")
    return found


def _well_formed(interaction: Any) -> bool:
    try:
        request, response = interaction["request"], interaction["response"]
        return {"method", "uri", "body"} <= request.keys() and isinstance(response["status"]["code"], int) \
            and isinstance(response["body"]["string"], str | bytes)
    except (TypeError, KeyError, AttributeError):
        return False


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


def recorded_templates(path: Path) -> set[str]:
    """The template hashes of the requests recorded in a cassette (empty when it is absent
    or cannot be read)."""
    try:
        recorded = load(path, interactions) or []
    except CassetteError:
        return set()
    hashes = set()
    for interaction in recorded:
        for name, values in (interaction["request"].get("headers") or {}).items():
            if name.lower() == TEMPLATE_HEADER:
                hashes.update(values if isinstance(values, list) else [values])
    return hashes


_RECORDED_TEMPLATE = re.compile(TEMPLATE_HEADER + r":\s*\n\s*-\s*([0-9a-f]{64})")


def outdated(cassettes: CaseCassettes, rows: Iterable[Row], templates: Mapping[str, str]) -> dict[str, list[Row]]:
    """For each template (by role), the rows whose cassette was recorded with another
    version of it: the current hash is absent and a hash of no current template is there.
    A text search: cheaper than parsing every cassette (a damaged one fails in its case)."""
    found: dict[str, list[Row]] = {role: [] for role in templates}
    current = set(templates.values())
    for row in rows:
        try:
            text = cassettes.path(row).read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            continue
        recorded = set(_RECORDED_TEMPLATE.findall(text))
        if not recorded - current:
            continue
        for role, sha in templates.items():
            if sha not in recorded:
                found[role].append(row)
    return {role: rows for role, rows in found.items() if rows}


def unused(cassettes: CaseCassettes, rows: Iterable[Row], corpus: str) -> list[Path]:
    """Cassettes of the model, recorded for this corpus, that belong to none of the rows.
    Cassettes of other corpora, or of unknown corpus, are never listed."""
    used = {cassettes.path(row) for row in rows}
    marker = re.compile(CORPUS_HEADER + r":\s*\n\s*-\s*" + re.escape(corpus) + r"\s*$", re.MULTILINE)
    return sorted(
        p for p in (cassettes.root / cassettes.model).rglob("*.yaml")
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
