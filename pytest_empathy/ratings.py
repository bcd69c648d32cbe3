"""The three-point rating scale of the study (Bad, Okay, Good), and counts of ratings on it."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass


class Rating(enum.IntEnum):
    BAD = 1
    OKAY = 2
    GOOD = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value: object) -> Rating:
        """Read 1/2/3 or bad/okay/good (any case); anything else raises ValueError."""
        text = str(value).strip().lower()
        if text in _BY_TEXT:
            return _BY_TEXT[text]
        raise ValueError(f"rating {value!r} is not on the scale 1/2/3 or bad/okay/good")


_BY_TEXT = {str(r.value): r for r in Rating} | {r.label: r for r in Rating}


@dataclass(frozen=True)
class Counts:
    bad: int = 0
    okay: int = 0
    good: int = 0

    @classmethod
    def of(cls, ratings: Iterable[Rating]) -> Counts:
        tally = dict.fromkeys(Rating, 0)
        for rating in ratings:
            tally[rating] += 1
        return cls(tally[Rating.BAD], tally[Rating.OKAY], tally[Rating.GOOD])

    @property
    def n(self) -> int:
        return self.bad + self.okay + self.good

    @property
    def good_rate(self) -> float | None:
        return self.good / self.n if self.n else None

    def as_tuple(self) -> tuple[int, int, int]:
        return (self.bad, self.okay, self.good)

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.bad + other.bad, self.okay + other.okay, self.good + other.good)
