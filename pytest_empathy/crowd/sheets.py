"""Rating sheets for a crowd, the way the study collected its ratings: shuffled batches, each
rated by one rater, with attention checks hidden among them, and a manifest of what the
sheets do not show (each item's case, the checks' answers) for the import to check against."""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import NotRequired, TypedDict

from pytest_empathy.analysis.clusters import FEW_RATERS
from pytest_empathy.atomic import WriteError, write_all
from pytest_empathy.corpus.rows import Row
from pytest_empathy.csv_text import rows_text
from pytest_empathy.errors import InputError
from pytest_empathy.models.crowd_judge import answer_sha256
from pytest_empathy.ratings import Rating

# The study asked raters how empathetic a reply was, compared with how they would have
# responded; these words are the project's own.
QUESTION = "How empathetic is this reply, compared with how you would have responded yourself?"
INSTRUCTIONS = (
    "Each item shows what happened to someone, what they said about it, and a reply written to them. "
    "Imagine you had been the listener. Rate the reply Bad if it is less empathetic than you would have been "
    "(it misses, dismisses or lectures about how they feel), Okay if it is about as empathetic as you would "
    "have been, and Good if it is more empathetic than you would have been (it understands how they feel, "
    "shares in it and offers support). A few items are checks with an obvious answer: rate every item with care."
)
MANIFEST_KIND = "pytest-empathy crowd sheets"
# The study's batches: ten items a rater.
LARGEST_BATCH = 10
# Schema 2: each case's answer_sha256, so that its ratings are known to be of that answer.
MANIFEST_SCHEMA = 2


class SheetError(InputError):
    pass


@dataclass(frozen=True)
class Item:
    """One reply to rate, under an id that says nothing: a case of the corpus, or an
    attention check with the answer it expects."""

    item: str
    situation: str
    utterance: str
    response: str
    case: str | None = None
    emotion: str | None = None
    expected: Rating | None = None


@dataclass(frozen=True)
class Sheets:
    responder: str
    corpus: str
    corpus_sha256: str
    seed: int
    sample: int | None
    batch_size: int
    checks: int
    batches: tuple[tuple[Item, ...], ...]


def attention_checks() -> list[Item]:
    """The project's attention checks, written for it: item ids are given when drawn."""
    text = (files(__package__) / "data" / "attention_checks.jsonl").read_text(encoding="utf-8")
    found = []
    for line in text.splitlines():
        check = json.loads(line)
        found.append(
            Item(
                "", check["situation"], check["utterance"], check["response"], expected=Rating.parse(check["expected"])
            )
        )
    return found


def draw(
    rows: Sequence[Row],
    responses: Mapping[str, str],
    *,
    responder: str,
    corpus: str,
    corpus_sha256: str,
    seed: int,
    sample: int | None = None,
    batch_size: int | None = None,
    checks: int = 1,
) -> Sheets:
    """The sheets for the answers ``responses`` (case id -> answer) to ``rows``: shuffled from
    ``seed`` and dealt to batches of at most ``batch_size`` items of which ``checks`` are
    attention checks, each batch shuffled again. ``batch_size`` None: at most ``LARGEST_BATCH``,
    and smaller where that makes fewer than ``FEW_RATERS`` batches."""
    largest = LARGEST_BATCH if batch_size is None else batch_size
    _check_drawable(rows, responses, responder=responder, corpus=corpus, largest=largest, checks=checks)
    rng = random.Random(f"crowd:{seed}")
    cases = [
        Item(
            _item_id(seed, row.case_id),
            row.situation or "",
            row.utterance or "",
            responses[row.case_id],
            case=row.case_id,
            emotion=row.emotion,
        )
        for row in rows
    ]
    rng.shuffle(cases)
    count = -(-len(cases) // (largest - checks))
    # Prediction-powered inference (--empathy-crowd) clusters its variance by rater: it needs
    # FEW_RATERS raters, one a batch, and each emotion's ratings from two or more of them
    # (_dealt keeps an emotion's cases apart).
    if batch_size is None:
        count = max(count, min(FEW_RATERS, len(cases)))
    pool = attention_checks()
    batches = []
    for number, dealt in enumerate(_dealt(cases, count, rng)):
        drawn = [
            Item(_item_id(seed, f"check:{number}:{k}"), c.situation, c.utterance, c.response, expected=c.expected)
            for k, c in enumerate(rng.sample(pool, checks))
        ]
        batch = dealt + drawn
        rng.shuffle(batch)
        batches.append(tuple(batch))
    used = max((len(batch) for batch in batches), default=largest)
    return Sheets(responder, corpus, corpus_sha256, seed, sample, used, checks, tuple(batches))


def _check_drawable(
    rows: Sequence[Row], responses: Mapping[str, str], *, responder: str, corpus: str, largest: int, checks: int
) -> None:
    """A SheetError unless a batch of ``largest`` items holds the checks and a case, and every
    case has an answer and a text to show."""
    if largest < 1 or not 0 <= checks < largest:
        raise SheetError(f"a batch of {largest} items cannot hold {checks} attention check(s) and a case")
    missing = [row.case_id for row in rows if not responses.get(row.case_id)]
    if missing:
        raise SheetError(f"no answer of {responder} to {len(missing)} case(s), the first {missing[0]}")
    absent = [row.case_id for row in rows if not (row.situation or row.utterance)]
    if absent:
        raise SheetError(f"corpus {corpus} has no text for case {absent[0]}: give the corpus text")


def _dealt(cases: Sequence[Item], count: int, rng: random.Random) -> list[list[Item]]:
    """``cases`` dealt to ``count`` batches, as cards are, one emotion after another (in an
    order drawn from ``rng``): an emotion's cases go to as many batches as they can, and the
    batches' sizes differ by one at most."""
    emotions = sorted({str(case.emotion) for case in cases})
    rng.shuffle(emotions)
    order = {emotion: position for position, emotion in enumerate(emotions)}
    grouped = sorted(cases, key=lambda case: order[str(case.emotion)])  # stable: each emotion's shuffle kept
    return [grouped[start::count] for start in range(count)]


def crowd_needed(sheets: Sheets) -> str:
    """In a line, the crowd prediction-powered inference needs of these sheets and why, or
    why they cannot serve it."""
    why = (
        "prediction-powered inference (--empathy-crowd) clusters its variance by rater, so it needs "
        f"{FEW_RATERS} raters or more and each emotion's crowd ratings from 2 or more of them"
    )
    batches = len(sheets.batches)
    if batches < FEW_RATERS:
        return (
            f"{why}: these {batches} batch(es), one a rater, are too few ({FEW_RATERS} batches need "
            f"{FEW_RATERS} answers or more and --batch-size at its default)"
        )
    answers = Counter(item.emotion for batch in sheets.batches for item in batch if item.case is not None)
    few = sorted(str(emotion) for emotion, count in answers.items() if count < 2)
    if few:
        named = ", ".join(few[:3]) + (", ..." if len(few) > 3 else "")
        return f"{why}: these sheets hold 1 answer of {len(few)} emotion(s), {named} (--sample 2 or more)"
    spread = Counter(emotion for batch in sheets.batches for emotion in {item.emotion for item in batch if item.case})
    return (
        f"{why}: have each of these {batches} batches rated by a rater of its own ({batches} raters, "
        f"{answers.total()} ratings, each emotion's in {min(spread.values())} or more batches), and a batch "
        "whose rater an attention check drops rated again"
    )


def _item_id(seed: int, what: str) -> str:
    """An id a rater cannot read a case, a source or a check from."""
    return "i" + hashlib.sha256(f"{seed}:{what}".encode()).hexdigest()[:12]


SHEET_COLUMNS = ("batch", "position", "item", "situation", "utterance", "response", "question", "choices")


def sheet_rows(sheets: Sheets) -> list[dict[str, str]]:
    """The sheet's rows as a survey tool takes them: nothing on them tells a check from a case."""
    return [
        {
            "batch": str(number),
            "position": str(position),
            "item": item.item,
            "situation": item.situation,
            "utterance": item.utterance,
            "response": item.response,
            "question": QUESTION,
            "choices": "Bad / Okay / Good",
        }
        for number, batch in enumerate(sheets.batches, start=1)
        for position, item in enumerate(batch, start=1)
    ]


class ManifestItem(TypedDict):
    """An item of the sheets: a case, with its emotion and the sha256 of the answer shown,
    or an attention check, with the rating it expects."""

    case: str | None
    emotion: str | None
    answer_sha256: str | None
    check: str | None


class Manifest(TypedDict):
    kind: str
    schema: int
    responder: str
    corpus: str
    corpus_sha256: str
    seed: int
    sample: int | None
    # What the raters were shown and how: written for whoever reads the file, not read back.
    batch_size: NotRequired[int]
    checks_per_batch: NotRequired[int]
    question: NotRequired[str]
    instructions: NotRequired[str]
    batches: list[list[str]]
    items: dict[str, ManifestItem]


def manifest(sheets: Sheets) -> Manifest:
    """What the sheets hide, for the import: each item's case and the sha256 of the answer
    shown (or the check and the rating it expects)."""
    return {
        "kind": MANIFEST_KIND,
        "schema": MANIFEST_SCHEMA,
        "responder": sheets.responder,
        "corpus": sheets.corpus,
        "corpus_sha256": sheets.corpus_sha256,
        "seed": sheets.seed,
        "sample": sheets.sample,
        "batch_size": sheets.batch_size,
        "checks_per_batch": sheets.checks,
        "question": QUESTION,
        "instructions": INSTRUCTIONS,
        "batches": [[item.item for item in batch] for batch in sheets.batches],
        "items": {
            item.item: {
                "case": item.case,
                "emotion": item.emotion,
                "answer_sha256": None if item.case is None else answer_sha256(item.response),
                "check": None if item.expected is None else item.expected.label,
            }
            for batch in sheets.batches
            for item in batch
        },
    }


# The name sheet_files gives a batch's file.
_BATCH_FILE = re.compile(r"batch-[0-9]{3,}\.csv")


def sheet_files(sheets: Sheets, directory: Path, *, per_batch: bool = False) -> dict[Path, str]:
    """What an export writes in ``directory``: ``sheet.csv`` (every batch),
    ``manifest.json`` and, with ``per_batch``, one ``batch-NNN.csv`` per batch."""
    rows = sheet_rows(sheets)
    written = {
        directory / "sheet.csv": _csv(rows),
        directory / "manifest.json": json.dumps(manifest(sheets), indent=1, ensure_ascii=False) + "\n",
    }
    if per_batch:
        for number in range(1, len(sheets.batches) + 1):
            written[directory / f"batch-{number:03d}.csv"] = _csv([row for row in rows if row["batch"] == str(number)])
    return written


def write(written: Mapping[Path, str]) -> None:
    """The files of an export (see ``sheet_files``), as one set: all of them or none."""
    try:
        write_all(written)
    except WriteError as error:
        raise SheetError(f"the sheets could not be written: {error}") from None


def _csv(rows: Sequence[Mapping[str, str]]) -> str:
    return rows_text(SHEET_COLUMNS, rows)


def stale_batch_files(directory: Path, written: Mapping[Path, str]) -> list[Path]:
    """The batch files in ``directory`` (by their name: ``batch-NNN.csv``) that an export
    writing ``written`` does not write: left beside it, they would be taken for part of it."""
    if not directory.is_dir():
        return []
    return sorted(
        path
        for path in directory.iterdir()
        if _BATCH_FILE.fullmatch(path.name) and path not in written and (path.is_symlink() or path.is_file())
    )


def remove(stale: Sequence[Path]) -> None:
    """Remove the stale batch files of an earlier export (a link, never what it leads to)."""
    for path in stale:
        try:
            path.unlink(missing_ok=True)
        except OSError as error:
            raise SheetError(
                f"the sheets were written, but {path}, a batch file of an earlier export, could not be removed "
                f"({error.strerror or error}): remove it, or it will be taken for part of this export"
            ) from None
