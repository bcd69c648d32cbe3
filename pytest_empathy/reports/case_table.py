"""The CSV of cases: one row per case."""

from __future__ import annotations

from pytest_empathy.csv_text import rows_text
from pytest_empathy.emotions import POLARITY
from pytest_empathy.results.result_document import ResultDocument

COLUMNS = ("id", "emotion", "polarity", "rating", "baseline_rating", "cassette", "utterance", "response")


def render(document: ResultDocument) -> str:
    """A row per case; columns empty for every case are left out."""
    cases = [case | {"polarity": POLARITY.get(case["emotion"])} for case in document["cases"]]
    columns = [c for c in COLUMNS if any(case.get(c) is not None for case in cases)]
    return rows_text(columns, cases)
