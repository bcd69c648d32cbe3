"""What one case produced, in the plain form that rides on a test report to the controller."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .ratings import Rating

# The keys of the user properties that carry a case's result, or why it has no recording.
PROPERTY = "empathy"
UNRECORDED = "empathy_unrecorded"


@dataclass(frozen=True)
class CaseResult:
    case_id: str
    emotion: str
    rating: Rating
    baseline_rating: Rating | None = None
    response: str | None = None

    def to_builtins(self) -> dict[str, Any]:
        # The response text stays on the worker: reports carry only what statistics need.
        return {
            "case": self.case_id,
            "emotion": self.emotion,
            "rating": int(self.rating),
            "baseline_rating": None if self.baseline_rating is None else int(self.baseline_rating),
        }

    @classmethod
    def from_builtins(cls, data: dict[str, Any]) -> CaseResult:
        baseline = data.get("baseline_rating")
        return cls(
            case_id=data["case"],
            emotion=data["emotion"],
            rating=Rating(data["rating"]),
            baseline_rating=None if baseline is None else Rating(baseline),
        )
