"""The crowd as a judge (``--empathy-judge crowd:FILE``): the ratings ``crowd import`` wrote,
one per case, each with its rater, so that the statistics see who rated what; and, with the
design of the export that drew the cases, the check that a run's cases and answers are those
the crowd rated."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pytest_empathy.bounded import MiB, read_bytes
from pytest_empathy.corpus.reader import rater_number
from pytest_empathy.corpus.rows import Corpus, Row
from pytest_empathy.csv_text import restored
from pytest_empathy.errors import InputError
from pytest_empathy.ratings import Rating

from . import CROWD_FILE
from .judges import Unrated

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

# The bound of every crowd file (a manifest, a platform's ratings, a ratings file): those of a
# study of the release's 2,000 cases are under 1 MiB.
LARGEST = 64 * MiB

# The columns of a ratings file of an earlier 'crowd import', which knew neither the answers
# rated nor the design of the export.
EARLIER_COLUMNS = ("responder", "case", "emotion", "rater", "rating", "seconds")
DESIGN_COLUMNS = ("corpus", "corpus_sha256", "sample", "seed")


def answer_sha256(answer: str) -> str:
    """The identity of an answer as the crowd read it: the sha256 of its UTF-8 text."""
    return hashlib.sha256(answer.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Design:
    """How 'crowd export' drew the cases the crowd rated: from which corpus (and which
    version of it), how many per emotion (None for all) and from which seed."""

    corpus: str
    corpus_sha256: str
    sample: int | None
    seed: int


@dataclass(frozen=True)
class CrowdFile:
    """A crowd's ratings of one responder's answers, read from a ratings file."""

    path: Path
    responder: str
    ratings: Mapping[str, tuple[Rating, str]]
    design: Design
    # Per case rated: its emotion, and the sha256 of the answer the crowd read.
    emotions: Mapping[str, str]
    answers: Mapping[str, str]
    # The answers' text, to check they are those the crowd read; and only the corpus read
    # with its text has the sha256 the export recorded (the release's figures have another).
    needs_text: bool = True
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
        self.check_rated_answer(row, response)
        return self.ratings[row.case_id][0]

    def rater(self, row: Row, responder: str) -> str | None:
        found = self.ratings.get(row.case_id)
        return None if found is None else found[1]

    def check_rated_answer(self, row: Row, response: str | None) -> None:
        """Unrated when the crowd rated the case, but an answer other than ``response``."""
        rated = self.answers.get(row.case_id)
        if rated is None:
            return
        answered = None if response is None else answer_sha256(response)
        if answered != rated:
            this_run = "no answer" if answered is None else f"sha256 {answered[:12]}"
            raise Unrated(
                f"{self.path}: the crowd rated another answer to case {row.case_id} (sha256 {rated[:12]}) than this "
                f"run's ({this_run}): the answers changed since the export; export and rate again, or replay the "
                "cassettes the export was made from"
            )

    def check_drawn_from(self, corpus: Corpus) -> None:
        """An InputError naming the file unless its cases are cases of ``corpus``, as the export
        read it, and among those the export drew: prediction-powered inference holds only for
        a random sample of the cases."""
        design = self.design
        if design.corpus != corpus.name:
            raise InputError(
                f"{self.path}: the crowd rated answers to cases of corpus {design.corpus}, not {corpus.name}"
            )
        if design.corpus_sha256 != corpus.sha256:
            raise InputError(
                f"{self.path}: corpus {corpus.name} changed since the export (sha256 {design.corpus_sha256[:12]} then, "
                f"{corpus.sha256[:12]} now): export and rate again"
            )
        emotion_of = {row.case_id: row.emotion for row in corpus.rows}
        # The export's own draw, from the same corpus: the same cases.
        drawn = {row.case_id for row in corpus.select(sample=design.sample, seed=design.seed)}
        for case, emotion in self.emotions.items():
            if case not in emotion_of:
                raise InputError(f"{self.path}: case {case} is not a case of corpus {corpus.name}")
            if emotion != emotion_of[case]:
                raise InputError(
                    f"{self.path}: case {case} is of emotion {emotion_of[case]} in corpus {corpus.name}, not {emotion}"
                )
            if case not in drawn:
                raise InputError(
                    f"{self.path}: case {case} is not among the {design.sample} per emotion 'crowd export' drew with "
                    f"seed {design.seed}: the ratings are then not of the random sample the export drew, which "
                    "prediction-powered inference needs"
                )


def load(path: Path, *, responder: str) -> CrowdFile:
    """The ratings file at ``path``, for the answers of ``responder``; an InputError names the
    file (and the row) when it cannot serve: another responder's, a case rated twice, rows of
    different exports."""
    rows = _rows(path)
    ratings: dict[str, tuple[Rating, str]] = {}
    emotions: dict[str, str] = {}
    answers: dict[str, str] = {}
    design: Design | None = None
    first: Mapping[str, str] = {}
    # Raters by number, as a corpus's are: a platform's participant ids never reach a result.
    raters: dict[str, str] = {}
    for number, row in enumerate(rows, start=2):
        where = f"{path}, row {number}"
        if None in row or None in row.values():
            raise InputError(f"{where}: {len(RATINGS_COLUMNS)} columns expected")
        if row["responder"] != responder:
            raise InputError(f"{where}: the crowd rated answers of {row['responder']}, not of {responder}")
        if row["case"] in ratings:
            raise InputError(
                f"{where}: case {row['case']} rated a second time; a crowd judge takes one rating per case"
            )
        if design is None:
            design, first = _design(where, row), row
        changed = [column for column in DESIGN_COLUMNS if row[column] != first[column]]
        if changed:
            raise InputError(
                f"{where}: {changed[0]} {row[changed[0]]!r}, not {first[changed[0]]!r} as in row 2: a ratings file "
                "holds the ratings of one export"
            )
        try:
            ratings[row["case"]] = (Rating.parse(row["rating"]), rater_number(raters, row["rater"]))
        except ValueError as error:
            raise InputError(f"{where}: {error}") from None
        emotions[row["case"]] = row["emotion"]
        answers[row["case"]] = row["answer_sha256"]
    if design is None:
        raise InputError(f"{path}: no ratings")
    return CrowdFile(path, responder, ratings, design, emotions, answers)


def _rows(path: Path) -> list[dict[str, str]]:
    """The rows of the ratings file at ``path``, their texts restored; an InputError when it
    cannot be read or is not a ratings file of this version's ``crowd import``."""
    try:
        text = read_bytes(path, largest=LARGEST, what="crowd file", error=InputError).decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: cannot be read ({error})") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        columns = list(reader.fieldnames or [])
        rows = [{key: restored(v) if isinstance(v, str) else v for key, v in row.items()} for row in reader]
    except csv.Error as error:
        raise InputError(f"{path}, row {reader.line_num}: malformed CSV ({error})") from None
    if columns == list(EARLIER_COLUMNS):
        raise InputError(
            f"{path}: written by an earlier 'crowd import' (no design of the export, no hashes of the answers rated): "
            "import the crowd's ratings again"
        )
    if columns != list(RATINGS_COLUMNS):
        raise InputError(f"{path}: not a ratings file of 'pytest-empathy crowd import' (columns {columns})")
    return rows


def _design(where: str, row: Mapping[str, str]) -> Design:
    try:
        sample = int(row["sample"]) if row["sample"] else None
        seed = int(row["seed"])
    except ValueError:
        raise InputError(f"{where}: sample {row['sample']!r} or seed {row['seed']!r} is not a whole number") from None
    return Design(row["corpus"], row["corpus_sha256"], sample, seed)
