"""The crowd as a judge (``--empathy-judge crowd:FILE``): the ratings ``crowd import`` wrote,
one per case, each with its rater, so that the statistics see who rated what."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pytest_empathy.corpus.rows import Row
from pytest_empathy.errors import InputError
from pytest_empathy.models.judges import Unrated
from pytest_empathy.ratings import Rating

from . import CROWD_FILE
from .returned import RATINGS_COLUMNS


@dataclass(frozen=True)
class CrowdFile:
    """A crowd's ratings of one responder's answers, read from a ratings file."""

    path: Path
    responder: str
    ratings: Mapping[str, tuple[Rating, str]]
    needs_text: bool = False
    calls_model: bool = False

    @property
    def name(self) -> str:
        return f"{CROWD_FILE}{self.path.name}"

    @property
    def description(self) -> str:
        raters = len({rater for _, rater in self.ratings.values()})
        return f"a crowd's ratings of {self.responder}, {len(self.ratings)} cases by {raters} raters ({self.path})"

    def rate(self, row: Row, responder: str, response: str | None) -> Rating:
        if row.case_id not in self.ratings:
            raise Unrated(f"{self.name}: the crowd rated no answer to case {row.case_id} ({self.path})")
        return self.ratings[row.case_id][0]

    def rater(self, row: Row, responder: str) -> str | None:
        found = self.ratings.get(row.case_id)
        return None if found is None else found[1]


def load(path: Path, *, responder: str) -> CrowdFile:
    """The ratings file at ``path``, for the answers of ``responder``; an InputError names the
    file (and the row) when it cannot serve: another responder's, a case rated twice."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: cannot be read ({error})") from None
    reader = csv.DictReader(io.StringIO(text))
    if list(reader.fieldnames or []) != list(RATINGS_COLUMNS):
        raise InputError(f"{path}: not a ratings file of 'pytest-empathy crowd import' (columns {reader.fieldnames})")
    ratings: dict[str, tuple[Rating, str]] = {}
    for number, row in enumerate(reader, start=2):
        if row["responder"] != responder:
            raise InputError(f"{path}, row {number}: the crowd rated answers of {row['responder']}, not of {responder}")
        if row["case"] in ratings:
            raise InputError(
                f"{path}, row {number}: case {row['case']} rated a second time; a crowd judge takes one rating per case"
            )
        try:
            ratings[row["case"]] = (Rating.parse(row["rating"]), row["rater"])
        except ValueError as error:
            raise InputError(f"{path}, row {number}: {error}") from None
    if not ratings:
        raise InputError(f"{path}: no ratings")
    return CrowdFile(path, responder, ratings)
