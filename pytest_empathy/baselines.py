"""Baselines: the human responses, rated, that the model is compared with."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from . import release
from .corpus import Corpus, Row
from .ratings import Rating
from .stats import Counts

HUMAN_RATERS = "human-raters"
BASELINES = (HUMAN_RATERS,)


@dataclass(frozen=True)
class Baseline:
    """Either a rating per case (``per_case``) or fixed counts per emotion (``per_emotion``)."""

    name: str
    description: str
    per_case: str | None = None
    per_emotion: Mapping[str, Counts] | None = None

    def rate(self, row: Row) -> Rating | None:
        return row.ratings[self.per_case] if self.per_case else None


def make_baseline(name: str, corpus: Corpus) -> Baseline:
    if name != HUMAN_RATERS:
        raise ValueError(f"unknown baseline {name!r}: available: {', '.join(BASELINES)}")
    if "human" in corpus.rated:
        return Baseline(
            name, "the corpus's human responses, as rated by its crowd", per_case="human"
        )
    return Baseline(
        name,
        f"the human responses of {release.NAME}, as rated by its crowd (built-in per-emotion counts)",
        per_emotion=release_human_counts(),
    )


def release_human_counts() -> dict[str, Counts]:
    by_emotion: dict[str, list[Rating]] = {}
    for row in release.load_figures().rows:
        by_emotion.setdefault(row.emotion, []).append(row.ratings["human"])
    return {emotion: Counts.of(ratings) for emotion, ratings in sorted(by_emotion.items())}
