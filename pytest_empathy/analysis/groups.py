"""One shape for every comparison: overall, per polarity and per emotion, with Holm's
correction across the emotions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from pytest_empathy.emotions import POLARITIES, POLARITY
from pytest_empathy.ratings import Rating


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


class Tested(Protocol):
    @property
    def p_value(self) -> float | None: ...


T = TypeVar("T", bound=Tested)


@dataclass(frozen=True)
class Group(Generic[T]):
    name: str
    comparison: T
    significant: bool
    # Only emotions have a Holm-adjusted p-value; their significance is judged on it.
    p_holm: float | None = None


@dataclass(frozen=True)
class Grouped(Generic[T]):
    overall: Group[T]
    polarity: dict[str, Group[T]]
    emotions: dict[str, Group[T]]


def grouped(emotions: Sequence[str], compare: Callable[[Sequence[str]], T], *, alpha: float) -> Grouped[T]:
    """``compare`` over all the emotions, each polarity's and each emotion alone; emotions
    are significant on their Holm-adjusted p-values."""

    def group(name: str, members: Sequence[str]) -> Group[T]:
        comparison = compare(members)
        return Group(name, comparison, significant(comparison.p_value, alpha))

    by_emotion = {e: compare([e]) for e in emotions}
    adjusted = holm([by_emotion[e].p_value for e in emotions])
    return Grouped(
        overall=group("overall", emotions),
        polarity={p: group(p, [e for e in emotions if POLARITY[e] == p]) for p in POLARITIES},
        emotions={
            e: Group(e, by_emotion[e], significant(p_holm, alpha), p_holm)
            for e, p_holm in zip(emotions, adjusted, strict=True)
        },
    )


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
