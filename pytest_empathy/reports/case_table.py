"""The CSV of cases: one row per case, as a pandas table."""

from __future__ import annotations

from typing import Any

from pytest_empathy.emotions import POLARITY

COLUMNS = ("id", "emotion", "polarity", "rating", "baseline_rating", "cassette", "utterance", "response")


def cases_frame(document: dict[str, Any]) -> Any:
    """One row per case, as a pandas DataFrame; columns empty for every case are left out."""
    import pandas as pd

    frame = pd.DataFrame(document["cases"], columns=[c for c in COLUMNS if c != "polarity"])
    frame.insert(2, "polarity", frame["emotion"].map(POLARITY))
    return frame.dropna(axis="columns", how="all")


def render(document: dict[str, Any]) -> str:
    text: str = cases_frame(document).to_csv(index=False)
    return text
