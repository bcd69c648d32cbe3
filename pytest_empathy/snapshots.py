"""Saved runs: a run's JSON result kept under a name, for later runs to compare with.

A snapshot is the JSON result (model, judge, baseline, corpus and its checksum, template
hashes, package version, per-case ratings, statistics) plus its name and when it was saved.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .errors import InputError
from .report import read_result, write_json

NAME_PATTERN = re.compile(r"[A-Za-z0-9_.-]+")
LATEST = "latest"
REQUIRED = ("schema", "model", "judge", "baseline", "corpus", "templates", "cases")


class SnapshotError(InputError):
    pass


def snapshot_path(directory: Path, name: str) -> Path:
    if not NAME_PATTERN.fullmatch(name) or name == LATEST:
        raise SnapshotError(
            f"{name!r} is not a snapshot name: ASCII letters, digits and _ . - only, not {LATEST!r}"
        )
    return directory / f"{name}.json"


def save(result: dict[str, Any], path: Path, name: str) -> None:
    saved_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    write_json(result | {"snapshot": {"name": name, "saved_at": saved_at}}, path)


def load(path: Path) -> dict[str, Any]:
    return read_result(path, SnapshotError, required=REQUIRED, what="saved run")


def latest(directory: Path, model: str) -> Path | None:
    """The most recently saved run of a model in a directory."""
    found: list[tuple[str, Path]] = []
    for path in directory.glob("*.json"):
        try:
            data = load(path)
        except SnapshotError:
            continue
        if data["model"] == model:
            found.append((data.get("snapshot", {}).get("saved_at", ""), path))
    return max(found)[1] if found else None
