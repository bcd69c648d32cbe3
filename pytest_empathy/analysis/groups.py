"""One shape for every comparison: overall, per polarity and per emotion, with Holm's
correction across the emotions."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from pytest_empathy.emotions import POLARITIES, POLARITY
from pytest_empathy.modes import GateTest
from pytest_empathy.ratings import Rating

from .rating_comparison import Direction, Verdict


class RatedCase(Protocol):
    """What the statistics read of a case's result."""

    @property
    def case_id(self) -> str: ...
    @property
    def emotion(self) -> str: ...
    @property
    def rating(self) -> Rating: ...
    @property
    def baseline_rating(self) -> Rating | None: ...
    @property
    def rater(self) -> str | None: ...
    @property
    def baseline_rater(self) -> str | None: ...


class Directional(Protocol):
    """A comparison with one-sided p-values: the first side better, and worse."""

    @property
    def p_better(self) -> float | None: ...
    @property
    def p_worse(self) -> float | None: ...


T = TypeVar("T", bound=Directional)


@dataclass(frozen=True)
class Group(Generic[T]):
    name: str
    comparison: T
    alpha: float
    # Emotions only: Holm-adjusted across the emotions, each direction a family of its own.
    p_better_holm: float | None = None
    p_worse_holm: float | None = None
    adjusted: bool = False
    # Emotions only: how many emotions the family holds, Holm's for the verdicts and
    # Bonferroni's for the intervals.
    family: int = 1

    @property
    def interval_adjustment(self) -> str:
        return interval_adjustment(self.family if self.adjusted else None)

    @property
    def p_better(self) -> float | None:
        return self.p_better_holm if self.adjusted else self.comparison.p_better

    @property
    def p_worse(self) -> float | None:
        return self.p_worse_holm if self.adjusted else self.comparison.p_worse

    @property
    def verdict(self) -> Direction | None:
        """Better or worse when the one-sided test in that direction is significant (after
        Holm for an emotion), else None."""
        if significant(self.p_better, self.alpha):
            return Direction.BETTER
        if significant(self.p_worse, self.alpha):
            return Direction.WORSE
        return None

    @property
    def significant(self) -> bool:
        return self.verdict is not None


@dataclass(frozen=True)
class Grouped(Generic[T]):
    overall: Group[T]
    polarity: dict[str, Group[T]]
    emotions: dict[str, Group[T]]


def interval_adjustment(family: int | None) -> str:
    """How a group's intervals are adjusted for multiplicity, in words: an emotion's in a
    family of ``family`` emotions; None for overall and polarity, which are not a family."""
    if family is None:
        return "unadjusted: overall and polarity are not a family"
    if family == 1:
        return "unadjusted: a single emotion"
    return f"Bonferroni over {family} emotions, simultaneous: each one-sided bound at alpha / {family}"


def bonferroni_level(alpha: float, family: int) -> float:
    """The one-sided level of each of ``family`` emotions' bounds that hold together at
    alpha (Bonferroni's), and of Holm's first step."""
    return alpha / max(1, family)


def grouped(emotions: Sequence[str], compare: Callable[[Sequence[str], float, int], T], *, alpha: float) -> Grouped[T]:
    """``compare`` over all the emotions, each polarity's and each emotion alone, its
    intervals' bounds one-sided at the level given (two-sided at 1 - 2 level), and the
    family its p-values are Holm's in (1 overall and per polarity; an emotion's, K, is
    compared with every level from alpha / K to alpha, which its test must hold).

    An emotion's verdict is Holm's; its intervals are Bonferroni's, each bound at alpha / K
    for K emotions, so that they hold together and every emotion whose interval excludes no
    difference is one that Holm calls (Bonferroni's rejections are among Holm's). Unadjusted,
    16 of the release's 32 emotion intervals excluded 0 where Holm called 5 emotions better."""
    family = len(emotions)
    found: dict[tuple[tuple[str, ...], float, int], T] = {}

    def once(members: Sequence[str], level: float, family: int) -> T:
        """``compare``, once for a group of the same emotions at the same level as one before:
        a run of one emotion is that emotion's, its polarity's and the whole run's."""
        key = (tuple(members), level, family)
        if key not in found:
            found[key] = compare(members, level, family)
        return found[key]

    by_emotion = {e: once([e], bonferroni_level(alpha, family), family) for e in emotions}
    better = holm([by_emotion[e].p_better for e in emotions])
    worse = holm([by_emotion[e].p_worse for e in emotions])
    return Grouped(
        overall=Group("overall", once(emotions, alpha, 1), alpha),
        polarity={p: Group(p, once([e for e in emotions if POLARITY[e] == p], alpha, 1), alpha) for p in POLARITIES},
        emotions={
            e: Group(e, by_emotion[e], alpha, b, w, adjusted=True, family=family)
            for e, b, w in zip(emotions, better, worse, strict=True)
        },
    )


# One-sided p-values (better, worse) of each test, Holm-adjusted across the emotions, by
# test and emotion.
HolmByTest = dict[GateTest, dict[str, tuple[float | None, float | None]]]


def holm_by_test(comparisons: Mapping[str, Verdict]) -> HolmByTest:
    """Both tests' one-sided p-values Holm-adjusted across the emotions: the deciding test's
    are the groups' own, the other's are reported beside them."""
    adjusted: HolmByTest = {}
    for kind in GateTest:
        tests = [c.test(kind) for c in comparisons.values()]
        better = holm([None if t is None else t.p_greater for t in tests])
        worse = holm([None if t is None else t.p_less for t in tests])
        adjusted[kind] = dict(zip(comparisons, zip(better, worse, strict=True), strict=True))
    return adjusted


def significant(p_value: float | None, alpha: float) -> bool:
    return p_value is not None and p_value < alpha


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm-Bonferroni adjusted p-values, in the input's order; None (no test) stays None."""
    indexed = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    m = len(indexed)
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(indexed):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted
