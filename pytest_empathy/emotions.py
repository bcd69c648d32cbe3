"""The 32 EmpatheticDialogues emotions and their polarity, as labelled in the study's release."""

from __future__ import annotations

POSITIVE = "positive"
NEGATIVE = "negative"
POLARITIES = (POSITIVE, NEGATIVE)

_POSITIVE = (
    "anticipating",
    "caring",
    "confident",
    "content",
    "excited",
    "faithful",
    "grateful",
    "hopeful",
    "impressed",
    "joyful",
    "prepared",
    "proud",
    "surprised",
    "trusting",
)
# Nostalgic and sentimental count as negative in the release, against intuition.
_NEGATIVE = (
    "afraid",
    "angry",
    "annoyed",
    "anxious",
    "apprehensive",
    "ashamed",
    "devastated",
    "disappointed",
    "disgusted",
    "embarrassed",
    "furious",
    "guilty",
    "jealous",
    "lonely",
    "nostalgic",
    "sad",
    "sentimental",
    "terrified",
)

POLARITY: dict[str, str] = dict(sorted([(e, POSITIVE) for e in _POSITIVE] + [(e, NEGATIVE) for e in _NEGATIVE]))
EMOTIONS: tuple[str, ...] = tuple(POLARITY)
