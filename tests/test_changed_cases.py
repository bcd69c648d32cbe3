"""The cases whose rating changed between a saved run and this run: which, in what order,
and what a document of an earlier schema says of them."""

from __future__ import annotations

import json
import random

import pytest

from pytest_empathy.analysis.versus_saved_run import TRANSITIONS, compare_with_saved_run
from pytest_empathy.errors import InputError
from pytest_empathy.ratings import Rating
from pytest_empathy.results.case import CaseResult
from pytest_empathy.results.document import SCHEMA, read

GOOD, OKAY, BAD = Rating.GOOD, Rating.OKAY, Rating.BAD


def listed(
    saved: dict[str, tuple[str, Rating]], run: dict[str, tuple[str, Rating]]
) -> list[tuple[str, Rating, Rating]]:
    results = [CaseResult(case_id, emotion, rating) for case_id, (emotion, rating) in run.items()]
    comparison = compare_with_saved_run(results, saved, alpha=0.05)
    return [(c.case_id, c.saved, c.run) for c in comparison.changed]


def test_changed_cases_are_listed_worst_first_then_the_gains_each_by_emotion_and_id():
    saved = {
        "sad-2": ("sad", OKAY),
        "sad-1": ("sad", GOOD),
        "afraid-9": ("afraid", GOOD),
        "afraid-1": ("afraid", GOOD),
        "joyful-1": ("joyful", BAD),
        "joyful-2": ("joyful", OKAY),
        "joyful-3": ("joyful", BAD),
        "caring-1": ("caring", GOOD),
        "caring-2": ("caring", OKAY),
    }
    run = {
        "sad-2": ("sad", BAD),  # okay -> bad
        "sad-1": ("sad", BAD),  # good -> bad
        "afraid-9": ("afraid", OKAY),  # good -> okay
        "afraid-1": ("afraid", BAD),  # good -> bad
        "joyful-1": ("joyful", GOOD),  # bad -> good
        "joyful-2": ("joyful", GOOD),  # okay -> good
        "joyful-3": ("joyful", OKAY),  # bad -> okay
        "caring-1": ("caring", GOOD),  # unchanged
        "caring-2": ("caring", OKAY),  # unchanged
    }
    assert listed(saved, run) == [
        ("afraid-1", GOOD, BAD),
        ("sad-1", GOOD, BAD),
        ("afraid-9", GOOD, OKAY),
        ("sad-2", OKAY, BAD),
        ("joyful-1", BAD, GOOD),
        ("joyful-2", OKAY, GOOD),
        ("joyful-3", BAD, OKAY),
    ]


def test_every_change_of_rating_is_listed_once_and_nothing_else():
    """Against a brute-force count over random ratings: each case whose two ratings differ,
    in the order of the transitions, and the worse ones exactly those rated lower now."""
    draw = random.Random(27)
    ratings = list(Rating)
    saved = {f"sad-{i}": ("sad", draw.choice(ratings)) for i in range(300)}
    run = {case_id: ("sad", draw.choice(ratings)) for case_id in saved}
    found = listed(saved, run)
    expected = sorted(
        ((case_id, saved[case_id][1], run[case_id][1]) for case_id in saved if saved[case_id][1] != run[case_id][1]),
        key=lambda case: (TRANSITIONS.index((case[1], case[2])), case[0]),
    )
    assert found == expected and len(TRANSITIONS) == 6
    results = [CaseResult(case_id, emotion, rating) for case_id, (emotion, rating) in run.items()]
    changed = compare_with_saved_run(results, saved, alpha=0.05).changed
    assert sum(c.worse for c in changed) == sum(1 for case_id in saved if run[case_id][1] < saved[case_id][1])


def test_a_case_in_one_run_only_is_counted_there_not_as_changed():
    saved = {"sad-1": ("sad", GOOD), "sad-2": ("sad", GOOD), "sad-gone": ("sad", GOOD)}
    run = {"sad-1": ("sad", BAD), "sad-2": ("sad", GOOD), "sad-new": ("sad", BAD)}
    results = [CaseResult(case_id, emotion, rating) for case_id, (emotion, rating) in run.items()]
    comparison = compare_with_saved_run(results, saved, alpha=0.05)
    assert [c.case_id for c in comparison.changed] == ["sad-1"]
    assert (comparison.compared, comparison.only_in_run, comparison.only_in_saved_run) == (2, 1, 1)


def test_no_case_changed_lists_none():
    same = {"sad-1": ("sad", GOOD), "afraid-1": ("afraid", BAD)}
    assert listed(same, same) == []


class Unreadable(InputError):
    pass


@pytest.mark.parametrize("schema", [3, 4, 5])
def test_a_comparison_of_an_earlier_schema_is_read_with_its_changed_cases_unknown(tmp_path, schema):
    """Schema 2's statistics, its comparison included, are dropped on the way; later ones keep
    their comparison, which did not list the cases."""
    counts = {"bad": 0, "okay": 0, "good": 1}
    group = {"n": 1, "saved": counts, "run": counts}
    comparison = {
        "saved_run": "accepted",
        "compared": 1,
        "only_in_run": 0,
        "overall": group,
        "polarity": {},
        "emotions": {},
    }
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"schema": schema, "comparison": comparison, "cases": []}))
    data = read(path, Unreadable, required=(), what="JSON result")
    assert data["schema"] == SCHEMA == 7
    assert data["comparison"]["changed_cases"] is None
