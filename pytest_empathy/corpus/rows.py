"""Corpus rows and corpora: a speaker's emotional experience per row, with any recorded
responses and ratings, and the selection of the cases a run takes from them."""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Never

from pytest_empathy.emotions import POLARITY
from pytest_empathy.ratings import Rating

# The responder whose responses are the human baseline.
HUMAN = "human"
# Ids become test ids and file names: no spaces, brackets or path separators.
ID_PATTERN = re.compile(r"[A-Za-z0-9_.:-]+")
# Where a calibration case keeps the one response it rates, its crowd rating and rater.
RATED = "rated"
NAME_RULE = "ASCII letters, digits and _ . : - only, not . or .."


def valid_name(name: str) -> bool:
    """A responder's, model's or profile's name: it names a cassette folder, so it holds the
    characters of case ids only (no path separator) and is not . or .."""
    return bool(ID_PATTERN.fullmatch(name)) and name not in (".", "..")


# What a row has none of: one mapping for every row, which a large corpus would otherwise
# hold hundreds of thousands of empty copies of.
NOTHING: Mapping[str, Never] = MappingProxyType({})


def _nothing() -> Mapping[str, Never]:
    return NOTHING


@dataclass(frozen=True, slots=True)
class Row:
    """One corpus row: a speaker's emotional experience, with any recorded responses and ratings."""

    id: str
    emotion: str
    situation: str | None = None
    utterance: str | None = None
    responses: Mapping[str, str] = field(default_factory=_nothing)
    ratings: Mapping[str, Rating] = field(default_factory=_nothing)
    # Who gave each rating, as an opaque number (see the reader), where the corpus says.
    raters: Mapping[str, str] = field(default_factory=_nothing)
    # The case's id in test ids, cassette names and results; made once, not at each use.
    case_id: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "case_id", f"{self.emotion}-{self.id}")

    @property
    def polarity(self) -> str:
        return POLARITY[self.emotion]


@dataclass(frozen=True)
class Corpus:
    name: str
    source: str
    sha256: str
    rows: tuple[Row, ...]
    # False for text whose licence forbids passing it on (the release's): cassettes then
    # keep a hash of each request's body instead of the body, which quotes the text.
    redistributable: bool = True

    @property
    def has_text(self) -> bool:
        return all(row.utterance is not None for row in self.rows)

    @property
    def responders(self) -> tuple[str, ...]:
        """Responders whose responses are recorded in every row."""
        return _common_keys(row.responses for row in self.rows)

    @property
    def rated(self) -> tuple[str, ...]:
        """Responders whose ratings are recorded in every row."""
        return _common_keys(row.ratings for row in self.rows)

    @property
    def emotions(self) -> tuple[str, ...]:
        return tuple(sorted({row.emotion for row in self.rows}))

    def select(self, *, emotions: Sequence[str] | None = None, sample: int | None = None, seed: int = 0) -> list[Row]:
        """The rows to run, grouped by emotion, each group in corpus order.

        Sampling draws from each emotion's ids with a generator seeded by the seed and the
        emotion, so every process (xdist workers included) draws the same cases.
        """
        by_emotion: dict[str, list[Row]] = {}
        for row in self.rows:
            if emotions is None or row.emotion in emotions:
                by_emotion.setdefault(row.emotion, []).append(row)
        selected: list[Row] = []
        for emotion in sorted(by_emotion):
            rows = by_emotion[emotion]
            if sample is not None and sample < len(rows):
                rng = random.Random(f"{seed}:{emotion}")
                keep = set(rng.sample(sorted(row.id for row in rows), sample))
                rows = [row for row in rows if row.id in keep]
            selected.extend(rows)
        return selected


def rated_responses(rows: Iterable[Row], sources: Sequence[str]) -> list[Row]:
    """The calibration cases of ``rows``: each source's crowd-rated response to a row as a
    case of its own, with id ``<source>.<row id>`` and the response, its crowd rating and
    rater under RATED, so that a judge rates it as any response and the crowd's rating is
    its baseline."""
    return [
        Row(
            f"{source}.{row.id}",
            row.emotion,
            row.situation,
            row.utterance,
            responses={RATED: row.responses[source]},
            ratings={RATED: row.ratings[source]},
            raters={RATED: row.raters[source]} if source in row.raters else {},
        )
        for row in rows
        for source in sources
    ]


def rated_source(case: Row) -> tuple[str, str]:
    """A calibration case's source and the id of the row it answers (source names hold no '.')."""
    source, _, row_id = case.id.partition(".")
    return source, row_id


def _common_keys(mappings: Iterable[Mapping[str, object]]) -> tuple[str, ...]:
    keys: set[str] | None = None
    for mapping in mappings:
        keys = set(mapping) if keys is None else keys & set(mapping)
    return tuple(sorted(keys or ()))
