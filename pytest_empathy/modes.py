"""The choices that options take, one enum each; their values are what users type and what
the JSON result records.

Light on purpose: pytest reads the options of every run, with or without a benchmark.
"""

from __future__ import annotations

import enum


class RecordMode(enum.StrEnum):
    """How model calls meet their cassettes, as vcrpy's record modes."""

    NONE = "none"
    ONCE = "once"
    NEW_EPISODES = "new_episodes"
    ALL = "all"


class GateMode(enum.StrEnum):
    """The overall gate against the baseline."""

    BETTER = "better"
    NOT_WORSE = "not-worse"
    OFF = "off"


class GateTest(enum.StrEnum):
    """Which test decides the gates better and no-emotion-worse: the Good rate's (the study's
    quantity) or the ordinal effect's; the other is reported beside it."""

    GOOD_RATE = "good-rate"
    ORDINAL = "ordinal"


class BaselineKind(enum.StrEnum):
    """Who rates the human responses the model is compared with."""

    HUMAN_RATERS = "human-raters"
    JUDGE = "judge"


def choices(kind: type[enum.StrEnum]) -> str:
    return ", ".join(member.value for member in kind)
