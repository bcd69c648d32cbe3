"""Saved runs: a run's JSON result kept under a name, for later runs to compare with.

A snapshot is the JSON result (model, judge, baseline, corpus and its checksum, template
hashes, package version, per-case ratings, statistics) plus its name and when it was saved.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .errors import InputError
from .ratings import Rating
from .report import SCHEMA, write_json

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
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SnapshotError(f"{path}: no such saved run") from None
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise SnapshotError(f"{path}: not a readable saved run ({error})") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise SnapshotError(f"{path}: not a saved run of schema {SCHEMA}")
    missing = [key for key in REQUIRED if key not in data]
    if missing:
        raise SnapshotError(f"{path}: the saved run lacks {', '.join(missing)}")
    check_cases(data["cases"], path, SnapshotError)
    return data


def check_cases(cases: object, path: Path, error: type[InputError]) -> None:
    """Cases of a JSON result: a list of id, emotion and a rating on the scale."""
    from .emotions import POLARITY

    if not isinstance(cases, list):
        raise error(f"{path}: its cases are not a list")
    for number, case in enumerate(cases, start=1):
        if not isinstance(case, dict) or not {"id", "emotion", "rating"} <= case.keys():
            raise error(f"{path}: case {number} lacks an id, an emotion or a rating")
        if case["emotion"] not in POLARITY:
            raise error(f"{path}: case {number} has an unknown emotion {case['emotion']!r}")
        for key in ("rating", "baseline_rating"):
            if key == "rating" or case.get(key) is not None:
                try:
                    Rating.parse(case[key])
                except ValueError as problem:
                    raise error(f"{path}: case {number}: {key}: {problem}") from None


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
