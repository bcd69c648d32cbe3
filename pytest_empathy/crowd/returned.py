"""The crowd's ratings read back (``pytest-empathy crowd import``) and checked against the
sheets' manifest; a rater who failed or skipped an attention check is dropped, with all their
ratings. What is kept, one row per rating of a case, is the ratings file that
``--empathy-judge crowd:FILE`` and ``--empathy-crowd FILE`` read."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from pytest_empathy import schema
from pytest_empathy.atomic import WriteError, write_atomic
from pytest_empathy.bounded import loads, read_bytes
from pytest_empathy.corpus.rows import ID_PATTERN, NAME_RULE
from pytest_empathy.csv_text import rows_text
from pytest_empathy.emotions import POLARITY
from pytest_empathy.errors import InputError
from pytest_empathy.models.crowd_judge import LARGEST, RATINGS_COLUMNS
from pytest_empathy.ratings import Rating
from pytest_empathy.schema import shown, validate

from .sheets import MANIFEST_KIND, MANIFEST_SCHEMA, Manifest, ManifestItem

REQUIRED = ("item", "rater", "rating")


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


def read_manifest(path: Path) -> Manifest:
    """The manifest at ``path``, checked against its schema and against itself (each item
    in one batch, each batch's items on the manifest); a ReturnedError naming the file and
    what is wrong, in one line, otherwise."""
    try:
        manifest = loads(read_bytes(path, largest=LARGEST, what="crowd file", error=ReturnedError))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise ReturnedError(f"{path}: not a manifest of crowd sheets ({error})") from None
    if not isinstance(manifest, dict) or manifest.get("kind") != MANIFEST_KIND:
        raise ReturnedError(f"{path}: not a manifest of crowd sheets (written by pytest-empathy crowd export)")
    schema = manifest.get("schema")
    if isinstance(schema, int) and not isinstance(schema, bool) and schema < MANIFEST_SCHEMA:
        raise _earlier(path)
    validate(manifest, _MANIFEST, path, ReturnedError, "manifest of crowd sheets")
    if any(entry["case"] and not entry.get("answer_sha256") for entry in manifest["items"].values()):
        raise _earlier(path)
    if schema != MANIFEST_SCHEMA:
        raise ReturnedError(f"{path}: manifest schema {schema!r}; this pytest-empathy reads schema {MANIFEST_SCHEMA}")
    checked = cast(Manifest, manifest)  # its shape validated above
    _check_items(path, checked)
    return checked


def _earlier(path: Path) -> ReturnedError:
    return ReturnedError(f"{path}: written by an earlier 'crowd export' (no hashes of the answers rated): export again")


_SHA256 = schema.text("[0-9a-f]{64}", rule="a sha256 in hexadecimal")
_MANIFEST = schema.obj(
    {
        "kind": schema.text(),
        "schema": schema.whole(),
        "responder": schema.text(ID_PATTERN.pattern, rule=f"a responder's name ({NAME_RULE})"),
        "corpus": schema.text(),
        "corpus_sha256": _SHA256,
        "seed": schema.whole(-math.inf),
        "sample": schema.nullable(schema.whole(1)),
        "batches": schema.array(schema.array(schema.text())),
        "items": schema.keyed(
            schema.obj(
                {
                    "case": schema.nullable(schema.text(ID_PATTERN.pattern, rule=f"a case id ({NAME_RULE})")),
                    "emotion": schema.nullable(schema.one_of(POLARITY)),
                    "check": schema.nullable(schema.one_of([rating.label for rating in Rating])),
                },
                {"answer_sha256": schema.nullable(_SHA256)},
            )
        ),
    }
)


def _check_items(path: Path, manifest: Manifest) -> None:
    """Each item on the manifest is a case or a check, and in exactly one batch."""
    items = manifest["items"]
    batch_of: dict[str, int] = {}
    for number, batch in enumerate(manifest["batches"], start=1):
        for item in batch:
            if item not in items:
                raise ReturnedError(f"{path}: item {item!r} of batch {number} is not among the manifest's items")
            if item in batch_of:
                raise ReturnedError(f"{path}: item {item!r} is in batch {batch_of[item]} and in batch {number}")
            batch_of[item] = number
    for item, entry in items.items():
        if item not in batch_of:
            raise ReturnedError(f"{path}: item {item!r} is in no batch")
        if (entry["case"] is None) == (entry["check"] is None) or (entry["case"] is None) != (entry["emotion"] is None):
            raise ReturnedError(f"{path}: item {item!r} is neither a case with its emotion nor an attention check")


def check(path: Path, manifest: Manifest) -> Returned:
    """The ratings in the CSV file at ``path`` (columns item, rater, rating, and optionally
    seconds), checked against ``manifest``; a row that cannot be used is a ReturnedError
    naming the file and the row."""
    items = manifest["items"]
    by_rater, duplicates = _ratings_by_rater(path, items)
    batch_of = {item: number for number, batch in enumerate(manifest["batches"]) for item in batch}
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
        kept.extend(_case_rows(manifest, rater, rated))
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


def _ratings_by_rater(
    path: Path, items: Mapping[str, ManifestItem]
) -> tuple[dict[str, dict[str, tuple[Rating, str]]], int]:
    """Each rater's rating and seconds per item, and how many rows repeated an earlier one
    whole; a row naming no item of the manifest, no rater or no rating on the scale, or
    rating an item the rater rated differently before, is a ReturnedError."""
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
        by_rater.setdefault(rater, {})[item] = (rating, _seconds(where, row.get("seconds")))
    return by_rater, duplicates


def _case_rows(manifest: Manifest, rater: str, rated: Mapping[str, tuple[Rating, str]]) -> Iterable[dict[str, str]]:
    """The rows of the ratings file for a rater kept: one per case rated (attention checks
    are left out), with the export's design."""
    items = manifest["items"]
    design = {
        "corpus": str(manifest["corpus"]),
        "corpus_sha256": str(manifest["corpus_sha256"]),
        "sample": "" if manifest["sample"] is None else str(manifest["sample"]),
        "seed": str(manifest["seed"]),
    }
    for item, (rating, seconds) in rated.items():
        case = items[item]["case"]
        if case is not None:
            yield {
                "responder": str(manifest["responder"]),
                "case": case,
                "emotion": items[item]["emotion"] or "",
                # A case's hash is on every manifest read_manifest takes.
                "answer_sha256": items[item]["answer_sha256"] or "",
                "rater": rater,
                "rating": rating.label,
                "seconds": seconds,
            } | design


def _passed_checks(
    rated: Mapping[str, tuple[Rating, str]], shown: Iterable[str], items: Mapping[str, ManifestItem]
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
        text = read_bytes(path, largest=LARGEST, what="crowd file", error=ReturnedError).decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise ReturnedError(f"{path}: cannot be read ({error})") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    number = 1
    try:
        missing = [column for column in REQUIRED if column not in (reader.fieldnames or [])]
        if missing:
            raise ReturnedError(
                f"{path}: no column {', '.join(missing)} (it needs item, rater, rating; seconds optional)"
            )
        for number, row in enumerate(reader, start=2):
            if None in row or any(row.get(column) is None for column in REQUIRED):
                raise ReturnedError(f"{path}, row {number}: {len(reader.fieldnames or [])} columns expected")
            yield number, row
    except csv.Error as error:
        raise ReturnedError(f"{path}, row {number + 1}: malformed CSV ({error})") from None


def _seconds(where: str, value: str | None) -> str:
    """The time a rating took, as the platform gave it: empty, or a number of 0 or more."""
    text = (value or "").strip()
    try:
        if text and not 0 <= float(text) < math.inf:
            raise ValueError(text)
    except ValueError:
        raise ReturnedError(f"{where}: seconds {shown(text)} is not a number of 0 or more") from None
    return text


def write(returned: Returned, path: Path) -> None:
    """The ratings file, whole or not at all (a full disk leaves the earlier one as it was)."""
    try:
        write_atomic(path, rows_text(RATINGS_COLUMNS, returned.kept))
    except WriteError as error:
        raise ReturnedError(f"the ratings could not be written: {error}") from None
