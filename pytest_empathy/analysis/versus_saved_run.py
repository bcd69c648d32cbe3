"""A run compared with a saved run on the cases both rated: did the ratings get worse?

The same cases rated twice are paired, so the test is one of marginal homogeneity on the
paired ratings (Stuart-Maxwell), and the Good rate's change gets Newcombe's interval for
paired proportions. Emotions are corrected with Holm, as in the comparison with the baseline.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from pytest_empathy.ratings import Rating

from .comparison import PairedComparison, compare_paired
from .groups import Grouped, RatedCase, grouped

METHOD = (
    "Stuart-Maxwell test of marginal homogeneity on the paired ratings (exact where the "
    "discordant pairs are few); Newcombe's interval for the paired change of the Good rate; "
    "Holm across the emotions"
)


@dataclass(frozen=True)
class SavedRunComparison(Grouped[PairedComparison]):
    compared: int
    only_in_run: int
    only_in_saved_run: int


def compare_with_saved_run(
    results: Iterable[RatedCase], saved: Mapping[str, tuple[str, Rating]], *, alpha: float
) -> SavedRunComparison:
    """``saved`` maps each case id of the saved run to its emotion and rating."""
    after = {result.case_id: (result.emotion, result.rating) for result in results}
    common = sorted(saved.keys() & after.keys())
    pairs: dict[str, list[tuple[Rating, Rating]]] = {}
    for case_id in common:
        emotion = after[case_id][0]
        pairs.setdefault(emotion, []).append((saved[case_id][1], after[case_id][1]))

    def comparison(members: Sequence[str]) -> PairedComparison:
        return compare_paired([pair for e in members for pair in pairs[e]])

    groups = grouped(sorted(pairs), comparison, alpha=alpha)
    return SavedRunComparison(
        groups.overall,
        groups.polarity,
        groups.emotions,
        compared=len(common),
        only_in_run=len(after.keys() - saved.keys()),
        only_in_saved_run=len(saved.keys() - after.keys()),
    )
