"""Corpus files in the documented schema (docs/how-to/use-a-corpus.md, "The schema"), CSV or
JSONL: reading and validation. Rater labels are numbered in the order they first appear, one numbering for every
rater column, and only the numbers kept: a platform's participant ids never reach a result.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from pytest_empathy.emotions import POLARITY
from pytest_empathy.errors import InputError
from pytest_empathy.ratings import Rating

from .rows import ID_PATTERN, NAME_RULE, NOTHING, Corpus, Row, valid_name

_EMOTIONS = {emotion: emotion for emotion in POLARITY}

RESPONSE_PREFIX = "response_"
RATING_PREFIX = "rating_"
RATER_PREFIX = "rater_"
TEXT_COLUMNS = ("situation", "utterance")
# The release's own column names, read as the schema's.
ALIASES = {"dialog_id": "id", "speaker_uttr": "utterance", "sentiment": "polarity"}
ALIASED_PREFIXES = {"annotator_": RATER_PREFIX}


class CorpusError(InputError):
    """A corpus that cannot be used; the message names the file and, where it can, the row."""

    def __init__(self, source: str | Path, message: str, *, row: int | None = None) -> None:
        where = f"{source}" if row is None else f"{source}, row {row}"
        super().__init__(f"{where}: {message}")
        self.source = str(source)
        self.row = row


def load_file(path: str | Path, *, name: str | None = None, require_text: bool = True) -> Corpus:
    """Read and validate a CSV or JSONL corpus file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise CorpusError(path, f"cannot read the corpus file ({error.strerror or error})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise CorpusError(path, f"not UTF-8 text (bad byte at offset {error.start})") from None
    records: Iterable[tuple[int, dict[str, str]]]
    if path.suffix.lower() == ".jsonl":
        records = _jsonl_records(path, text)
    elif path.suffix.lower() == ".csv":
        records = _csv_records(path, text)
    else:
        raise CorpusError(path, "unknown corpus format: name a .csv or .jsonl file")
    rows = _validate(path, records, require_text=require_text)
    return Corpus(
        name=name or path.stem,
        source=str(path),
        sha256=hashlib.sha256(data).hexdigest(),
        rows=rows,
    )


# A field as large as a long answer may be; csv's default (128 KiB) refused real ones.
LARGEST_FIELD = 16 * 2**20


def _csv_records(path: Path, text: str) -> list[tuple[int, dict[str, str]]]:
    # The limit is the csv module's, for the whole process: raised while reading only, so the
    # records are read whole here rather than as they are validated.
    limit = csv.field_size_limit(LARGEST_FIELD)
    try:
        return list(_csv_rows(path, text))
    finally:
        csv.field_size_limit(limit)


def _csv_rows(path: Path, text: str) -> Iterator[tuple[int, dict[str, str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    number = 0
    try:
        header = next(reader, None)
        if header is None:
            raise CorpusError(path, "the file is empty: a header row is needed")
        columns = [_column(c) for c in header]
        duplicated = sorted({c for c in columns if columns.count(c) > 1})
        if duplicated:
            raise CorpusError(path, f"the header repeats column(s) {', '.join(duplicated)}")
        for number, values in enumerate(reader, start=1):
            if not values:
                continue
            if len(values) != len(columns):
                raise CorpusError(path, f"{len(values)} fields where the header has {len(columns)}", row=number)
            yield number, dict(zip(columns, values, strict=True))
    except csv.Error as error:
        # The row being read: the one after the last read (rows count from the first after the header).
        raise CorpusError(path, f"malformed CSV ({error})", row=number + 1) from None


def _jsonl_records(path: Path, text: str) -> Iterator[tuple[int, dict[str, str]]]:
    # Only "\n" ends a record: JSON strings may hold U+2028 and other line separators.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as error:
            raise CorpusError(path, f"not valid JSON ({error})", row=number) from None
        if not isinstance(record, dict):
            raise CorpusError(path, "not a JSON object", row=number)
        values: dict[str, str] = {}
        for key, value in record.items():
            column = _column(str(key))
            if isinstance(value, bool) or not isinstance(value, str | int):
                raise CorpusError(path, f"{key!r} must be a string", row=number)
            values[column] = str(value)
        yield number, values


def _column(name: str) -> str:
    """A column's name in the documented schema."""
    name = name.strip()
    for prefix, documented in ALIASED_PREFIXES.items():
        if name.startswith(prefix):
            return documented + name[len(prefix) :]
    return ALIASES.get(name, name)


def _validate(path: Path, records: Iterable[tuple[int, dict[str, str]]], *, require_text: bool) -> tuple[Row, ...]:
    required = ("id", "emotion", *TEXT_COLUMNS) if require_text else ("id", "emotion")
    rows: list[Row] = []
    first_row_of: dict[str, int] = {}
    seen = _Seen()
    for number, record in records:
        missing = [c for c in required if c not in record]
        if missing:
            raise CorpusError(path, f"missing column(s) {', '.join(missing)}", row=number)
        row = _row(path, number, record, seen)
        if require_text:
            for column in TEXT_COLUMNS:
                if not record[column].strip():
                    raise CorpusError(path, f"empty {column}", row=number)
        if row.id in first_row_of:
            raise CorpusError(path, f"duplicate id {row.id!r} (first in row {first_row_of[row.id]})", row=number)
        first_row_of[row.id] = number
        rows.append(row)
    if not rows:
        raise CorpusError(path, "the corpus has no rows")
    return tuple(rows)


def _row(path: Path, number: int, record: dict[str, str], seen: _Seen) -> Row:
    row_id = record["id"].strip()
    if not ID_PATTERN.fullmatch(row_id):
        raise CorpusError(path, f"id {row_id!r} must be ASCII letters, digits and _ . : - only", row=number)
    # The emotion's own string, shared by its rows, not a copy per row.
    emotion = _EMOTIONS.get(record["emotion"].strip().lower(), "")
    if not emotion:
        raise CorpusError(path, f"unknown emotion {record['emotion']!r} (known: {', '.join(POLARITY)})", row=number)
    polarity = record.get("polarity", "").strip().lower()
    if polarity and polarity != POLARITY[emotion]:
        raise CorpusError(
            path,
            f"polarity {polarity!r} contradicts {emotion!r}, which is {POLARITY[emotion]}",
            row=number,
        )
    responses, ratings, raters = _responders_columns(path, number, record, seen)
    return Row(
        id=row_id,
        emotion=emotion,
        situation=record.get("situation"),
        utterance=record.get("utterance"),
        responses=responses or NOTHING,
        ratings=seen.shared(ratings),
        raters=raters or NOTHING,
    )


def _responders_columns(
    path: Path, number: int, record: dict[str, str], seen: _Seen
) -> tuple[dict[str, str], dict[str, Rating], dict[str, str]]:
    """A row's responses, ratings and raters, by responder; a CorpusError names an empty
    response or rater, a rating off the scale, and a rater without a rating."""
    responses: dict[str, str] = {}
    ratings: dict[str, Rating] = {}
    raters: dict[str, str] = {}
    for column, value in record.items():
        if column not in seen.kinds:
            seen.kinds[column] = _kind(path, number, column)
        kind = seen.kinds[column]
        if kind is None:
            continue
        prefix, responder = kind
        if prefix == RESPONSE_PREFIX:
            if not value.strip():
                raise CorpusError(path, f"empty {column}", row=number)
            responses[responder] = value
        elif prefix == RATING_PREFIX:
            try:
                ratings[responder] = Rating.parse(value)
            except ValueError as error:
                raise CorpusError(path, f"{column}: {error}", row=number) from None
        else:
            if not value.strip():
                raise CorpusError(path, f"empty {column}: a rater column names the rater of every row", row=number)
            raters[responder] = rater_number(seen.rater_numbers, value)
    unrated = sorted(set(raters) - set(ratings))
    if unrated:
        raise CorpusError(
            path, f"rater_{unrated[0].replace('-', '_')} without rating_{unrated[0].replace('-', '_')}", row=number
        )
    return responses, ratings, raters


def rater_number(numbers: dict[str, str], label: str) -> str:
    """The pseudonym of a rater's label (a platform's participant id) within one file: its
    number in the order the labels first appear, ``numbers`` holding those met so far."""
    return numbers.setdefault(label.strip(), str(len(numbers) + 1))


@dataclass
class _Seen:
    """What the rows of one file read so far have in common."""

    # Of each column name, what it holds and of which responder (None: no responder's).
    # Worked out once per name, not once per row: on a corpus of 200,000 rows it was most of
    # the time spent reading it.
    kinds: dict[str, tuple[str, str] | None] = field(default_factory=dict)
    # Each rater label's number.
    rater_numbers: dict[str, str] = field(default_factory=dict)
    # Each combination of ratings met, one mapping for all the rows that have it: there are
    # few, and a mapping per row was a fifth of a large corpus's memory.
    ratings: dict[tuple[tuple[str, Rating], ...], Mapping[str, Rating]] = field(default_factory=dict)

    def shared(self, ratings: dict[str, Rating]) -> Mapping[str, Rating]:
        if not ratings:
            return NOTHING
        return self.ratings.setdefault(tuple(ratings.items()), MappingProxyType(ratings))


def _kind(path: Path, number: int, column: str) -> tuple[str, str] | None:
    for prefix in (RESPONSE_PREFIX, RATING_PREFIX, RATER_PREFIX):
        if column.startswith(prefix):
            responder = _responder(column, prefix)
            if not valid_name(responder):
                raise CorpusError(path, f"column {column!r}: the responder's name must be {NAME_RULE}", row=number)
            return prefix, responder
    return None


def _responder(column: str, prefix: str) -> str:
    return column[len(prefix) :].replace("_", "-")
