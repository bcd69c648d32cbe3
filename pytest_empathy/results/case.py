"""What one case produced, as flat user properties of its test report.

Flat string properties travel to the xdist controller as they are, and ``--junitxml``
writes them into each test case, so one form serves both.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from pytest_empathy.ratings import Rating

PREFIX = "empathy_"
UNRECORDED = "empathy_unrecorded"


@dataclass(frozen=True, slots=True)
class Usage:
    """Live calls to one model and the tokens they used (replayed calls are not counted)."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.calls + other.calls,
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
        )


@dataclass(frozen=True, slots=True)
class CaseResult:
    case_id: str
    emotion: str
    rating: Rating
    baseline_rating: Rating | None = None
    response: str | None = None
    cassette: str | None = None
    usage: Mapping[str, Usage] = field(default_factory=dict)
    # Set on the controller from the corpus, for reports that show text; never sent.
    utterance: str | None = None
    # Who gave the rating and the baseline rating, as the corpus numbers its raters; None
    # for a judge model, or where the corpus names no rater.
    rater: str | None = None
    baseline_rater: str | None = None

    def to_properties(self, *, with_response: bool = False) -> list[tuple[str, str]]:
        properties = [
            ("empathy_case", self.case_id),
            _shared("empathy_emotion", self.emotion),
            _shared("empathy_rating", self.rating.label),
        ]
        if self.baseline_rating is not None:
            properties.append(_shared("empathy_baseline_rating", self.baseline_rating.label))
        if self.cassette is not None:
            properties.append(("empathy_cassette", self.cassette))
        if self.rater is not None:
            properties.append(("empathy_rater", self.rater))
        if self.baseline_rater is not None:
            properties.append(("empathy_baseline_rater", self.baseline_rater))
        if with_response and self.response is not None:
            properties.append(("empathy_response", self.response))
        for model, usage in self.usage.items():
            properties.append(
                (f"empathy_usage:{model}", f"{usage.calls} {usage.prompt_tokens} {usage.completion_tokens}")
            )
        return properties

    @classmethod
    def from_properties(cls, properties: Iterable[tuple[str, object]]) -> CaseResult | None:
        """The result carried by a report's properties, or None when it carries none."""
        values = {name: str(value) for name, value in properties if name.startswith(PREFIX)}
        if "empathy_rating" not in values:
            return None
        usage = {}
        for name, value in values.items():
            if name.startswith("empathy_usage:"):
                calls, prompt, completion = (int(x) for x in value.split())
                usage[name.split(":", 1)[1]] = Usage(calls, prompt, completion)
        baseline = values.get("empathy_baseline_rating")
        return cls(
            case_id=values["empathy_case"],
            emotion=values["empathy_emotion"],
            rating=Rating.parse(values["empathy_rating"]),
            baseline_rating=Rating.parse(baseline) if baseline else None,
            response=values.get("empathy_response"),
            cassette=values.get("empathy_cassette"),
            usage=usage,
            rater=values.get("empathy_rater"),
            baseline_rater=values.get("empathy_baseline_rater"),
        )


@functools.cache
def _shared(name: str, value: str) -> tuple[str, str]:
    """A property of few values, one tuple for every report that has it: reports are kept to
    the end of the run, and on a large corpus a tuple each was tens of megabytes."""
    return name, value


def total_usage(results: Iterable[CaseResult]) -> dict[str, Usage]:
    total: dict[str, Usage] = {}
    for result in results:
        for model, usage in result.usage.items():
            total[model] = total.get(model, Usage()) + usage
    return dict(sorted(total.items()))
