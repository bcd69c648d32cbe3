"""The crowd's ratings read back (``pytest-empathy crowd import``) and checked against the
sheets' manifest: every row names an item of the sheets and a rating on the scale; a row
repeated whole counts once, and a rater who rated an item twice, differently, is refused; a
rater who failed an attention check of a batch they rated (answered the opposite extreme) or
skipped one is dropped, all their ratings with them, and counted. What is kept is one row per
rating of a case, with the sha256 of the answer rated and the export's design (corpus, sample,
seed): the ratings file ``--empathy-judge crowd:FILE`` and ``--empathy-crowd FILE`` read."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_empathy.atomic import write_atomic
from pytest_empathy.errors import InputError
from pytest_empathy.ratings import Rating

from .sheets import MANIFEST_KIND, MANIFEST_SCHEMA

REQUIRED = ("item", "rater", "rating")
# What was rated and how, then the export's design, the same in every row.
RATINGS_COLUMNS = (
    "responder",
    "case",
    "emotion",
    "answer_sha256",
    "rater",
    "rating",
    "seconds",
    "corpus",
    "corpus_sha256",
    "sample",
    "seed",
)


class ReturnedError(InputError):
    pass


@dataclass(frozen=True)
class Returned:
    """The ratings kept, and what the checks set aside."""

    kept: tuple[dict[str, str], ...]
    raters: int
    dropped_raters: tuple[str, ...]
    dropped_ratings: int
    duplicates: int
    incomplete_batches: int
    cases_without_rating: int


def read_manifest(path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise ReturnedError(f"{path}: not a manifest of crowd sheets ({error})") from None
    if not isinstance(manifest, dict) or manifest.get("kind") != MANIFEST_KIND:
        raise ReturnedError(f"{path}: not a manifest of crowd sheets (written by pytest-empathy crowd export)")
    schema = manifest.get("schema")
    unhashed = any(entry.get("case") and not entry.get("answer_sha256") for entry in manifest.get("items", {}).values())
    if unhashed or (isinstance(schema, int) and schema < MANIFEST_SCHEMA):
        raise ReturnedError(
            f"{path}: written by an earlier 'crowd export' (no hashes of the answers rated): export again"
        )
    if schema != MANIFEST_SCHEMA:
        raise ReturnedError(f"{path}: manifest schema {schema!r}; this pytest-empathy reads schema {MANIFEST_SCHEMA}")
    return manifest


def check(path: Path, manifest: Mapping[str, Any]) -> Returned:
    """The ratings in the CSV file at ``path`` (columns item, rater, rating, and optionally
    seconds), checked against ``manifest``; a row that cannot be used is a ReturnedError
    naming the file and the row."""
    items: Mapping[str, Mapping[str, Any]] = manifest["items"]
    by_rater: dict[str, dict[str, tuple[Rating, str]]] = {}
    first_row: dict[tuple[str, str], int] = {}
    duplicates = 0
    for number, row in _rows(path):
        where = f"{path}, row {number}"
        item, rater = row["item"].strip(), row["rater"].strip()
        if item not in items:
            raise ReturnedError(f"{where}: item {item!r} is on none of the sheets of this manifest")
        if not rater:
            raise ReturnedError(f"{where}: no rater")
        try:
            rating = Rating.parse(row["rating"])
        except ValueError as error:
            raise ReturnedError(f"{where}: {error}") from None
        if (rater, item) in first_row:
            before = by_rater[rater][item][0]
            if before is rating:
                duplicates += 1  # the same answer sent twice, as platforms do on a resubmit
                continue
            raise ReturnedError(
                f"{where}: rater {rater!r} rated item {item!r} {rating.label}, "
                f"but {before.label} in row {first_row[rater, item]}"
            )
        first_row[rater, item] = number
        by_rater.setdefault(rater, {})[item] = (rating, (row.get("seconds") or "").strip())

    batch_of = {item: number for number, batch in enumerate(manifest["batches"]) for item in batch}
    design = {
        "corpus": str(manifest["corpus"]),
        "corpus_sha256": str(manifest["corpus_sha256"]),
        "sample": "" if manifest["sample"] is None else str(manifest["sample"]),
        "seed": str(manifest["seed"]),
    }
    kept: list[dict[str, str]] = []
    dropped: list[str] = []
    dropped_ratings = incomplete = 0
    for rater, rated in sorted(by_rater.items()):
        batches = {batch_of[item] for item in rated}
        shown = [item for b in batches for item in manifest["batches"][b]]
        incomplete += sum(1 for b in batches if any(item not in rated for item in manifest["batches"][b]))
        if not _passed_checks(rated, shown, items):
            dropped.append(rater)
            dropped_ratings += len(rated)
            continue
        for item, (rating, seconds) in rated.items():
            case = items[item]["case"]
            if case is not None:
                kept.append(
                    {
                        "responder": str(manifest["responder"]),
                        "case": case,
                        "emotion": items[item]["emotion"] or "",
                        "answer_sha256": items[item]["answer_sha256"],
                        "rater": rater,
                        "rating": rating.label,
                        "seconds": seconds,
                    }
                    | design
                )
    cases = {entry["case"] for entry in items.values() if entry["case"] is not None}
    rated_cases = {row["case"] for row in kept}
    kept.sort(key=lambda row: (row["case"], row["rater"]))
    return Returned(
        kept=tuple(kept),
        raters=len(by_rater) - len(dropped),
        dropped_raters=tuple(dropped),
        dropped_ratings=dropped_ratings,
        duplicates=duplicates,
        incomplete_batches=incomplete,
        cases_without_rating=len(cases - rated_cases),
    )


def _passed_checks(
    rated: Mapping[str, tuple[Rating, str]], shown: Iterable[str], items: Mapping[str, Mapping[str, Any]]
) -> bool:
    """No attention check of the batches a rater rated answered at the opposite extreme (Good
    for a plainly Bad reply, Bad for a plainly Good one), and none skipped, since the rater's
    care cannot then be told. Okay passes: the question asks how the reply compares with how
    the rater would have answered, and an attentive rater with high standards may find even a
    warm reply only as good as their own; dropping them would keep the lenient raters."""
    for item in shown:
        expected = items[item]["check"]
        if expected is None:
            continue
        if item not in rated or rated[item][0] is _OPPOSITE[Rating.parse(expected)]:
            return False
    return True


_OPPOSITE = {Rating.BAD: Rating.GOOD, Rating.GOOD: Rating.BAD}


def _rows(path: Path) -> Iterable[tuple[int, dict[str, str]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise ReturnedError(f"{path}: cannot be read ({error})") from None
    reader = csv.DictReader(io.StringIO(text))
    missing = [column for column in REQUIRED if column not in (reader.fieldnames or [])]
    if missing:
        raise ReturnedError(f"{path}: no column {', '.join(missing)} (it needs item, rater, rating; seconds optional)")
    for number, row in enumerate(reader, start=2):
        if None in row or any(row.get(column) is None for column in REQUIRED):
            raise ReturnedError(f"{path}, row {number}: {len(reader.fieldnames or [])} columns expected")
        yield number, row


def write(returned: Returned, path: Path) -> None:
    out = io.StringIO()
    writer = csv.DictWriter(out, RATINGS_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(returned.kept)
    try:
        write_atomic(path, out.getvalue())
    except OSError as error:
        raise ReturnedError(f"{path}: the ratings could not be written ({error.strerror or error})") from None
