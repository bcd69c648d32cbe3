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


# A cell a spreadsheet would run as a formula (a model's answer "=HYPERLINK(...)").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def render(document: dict[str, Any]) -> str:
    text: str = cases_frame(document).map(_inert).to_csv(index=False)
    return text


def _inert(value: Any) -> Any:
    """A text cell with a leading apostrophe where it would start a formula (OWASP's advice)."""
    return f"'{value}" if isinstance(value, str) and value.startswith(_FORMULA_START) else value
