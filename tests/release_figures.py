"""The release's figures for a few emotions, counted here from the file the package ships with
the csv module alone (not the package's corpus reader), so that a test replaying part of the
release checks the plugin's figures against an independent count."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

FIGURES = Path(__file__).resolve().parents[1] / "pytest_empathy" / "corpus" / "data" / "welivita-pu-2024.csv"
LABELS = {"1": "bad", "2": "okay", "3": "good"}


def release_rows(emotions: Iterable[str]) -> list[dict[str, str]]:
    wanted = set(emotions)
    with FIGURES.open(newline="", encoding="utf-8") as figures:
        return [row for row in csv.DictReader(figures) if row["emotion"] in wanted]


def release_cases(emotions: Iterable[str]) -> int:
    """How many of the release's cases these emotions have."""
    return len(release_rows(emotions))


def release_counts(responder: str, emotions: Iterable[str]) -> dict[str, int]:
    """The crowd's Bad/Okay/Good counts of one responder's answers (``chatgpt-empathy``) in
    these emotions."""
    column = "rating_" + responder.replace("-", "_")
    counted = Counter(LABELS[row[column]] for row in release_rows(emotions))
    return {label: counted[label] for label in LABELS.values()}
