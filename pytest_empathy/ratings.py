"""The three-point rating scale of the study: Bad, Okay, Good."""

from __future__ import annotations

import enum


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
