"""Saved runs: a run's JSON document kept under a name, for later runs to compare with.

A saved run is the JSON document (model, judge, baseline, corpus and its checksum, template
hashes, package version, per-case ratings, statistics) plus its name and when it was saved,
under ``saved_run``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_empathy.analysis.gates import Completeness
from pytest_empathy.analysis.groups import RatedCase
from pytest_empathy.analysis.saved_run_checks import Check, Checked, check
from pytest_empathy.analysis.versus_saved_run import compare_with_saved_run
from pytest_empathy.errors import InputError
from pytest_empathy.ratings import Rating
from pytest_empathy.settings import StatisticsSettings

from . import document
from .run_result import SavedRun, SavedRunVersus

if TYPE_CHECKING:
    from .result_document import ResultDocument

NAME_PATTERN = re.compile(r"[A-Za-z0-9_.-]+")
LATEST = "latest"
REQUIRED = ("schema", "model", "judge", "baseline", "corpus", "templates", "cases")


class SavedRunError(InputError):
    pass


def saved_run_path(directory: Path, name: str) -> Path:
    if not NAME_PATTERN.fullmatch(name) or name == LATEST:
        raise SavedRunError(f"{name!r} is not a saved run's name: ASCII letters, digits and _ . - only, not {LATEST!r}")
    return directory / f"{name}.json"


def save(result: ResultDocument, path: Path, name: str, *, replace: bool) -> None:
    """Save a run; without ``replace``, a SavedRunError when a run of that name exists (one
    saved by a concurrent run included)."""
    saved_at = datetime.now(UTC).isoformat(timespec="seconds")
    try:
        document.write(result | {"saved_run": {"name": name, "saved_at": saved_at}}, path, replace=replace)
    except FileExistsError:
        raise SavedRunError(
            f"{path} not saved: another run saved {name!r} meanwhile; add --empathy-save-force to replace it"
        ) from None


def load(path: Path) -> ResultDocument:
    return document.read(path, SavedRunError, required=REQUIRED, what="saved run")


def ratings(saved: Mapping[str, Any]) -> dict[str, tuple[str, Rating]]:
    """Each case of a saved run, by id: its emotion and rating."""
    return {case["id"]: (case["emotion"], Rating.parse(case["rating"])) for case in saved["cases"]}


def raters(saved: Mapping[str, Any]) -> dict[str, str | None]:
    """Who rated each case of a saved run, by id: a rater's number, or None (a judge model)."""
    return {case["id"]: case.get("rater") for case in saved["cases"]}


def not_comparable(saved: SavedRun, *, judge: str, corpus: str) -> str | None:
    """Why a run of ``judge`` on ``corpus`` cannot be paired case by case with a saved run:
    rated by another judge, a change of the Good rate would be the judges' difference; on
    another corpus, the same case ids name other prompts. None when it can."""
    document = saved.document
    corpus_of = document["corpus"].get("name") if isinstance(document["corpus"], Mapping) else document["corpus"]
    if document["judge"] == judge and corpus_of == corpus:
        return None
    return (
        f"{saved.path} was rated by judge {document['judge']} on corpus {corpus_of}, this run by judge {judge} "
        f"on corpus {corpus}: a comparison case by case needs the same judge and corpus"
    )


def not_compared(saved: SavedRun, completeness: Completeness) -> str:
    """The compare line of a run without statistics: nothing was compared, and why."""
    return (
        f"not compared with {saved.path}: the run is incomplete ({completeness.rated} of "
        f"{completeness.expected} cases rated), and a comparison of part of it is never made"
    )


def compare(
    saved: SavedRun, cases: Iterable[RatedCase], *, statistics: StatisticsSettings, checks: Iterable[Check]
) -> tuple[SavedRunVersus, Checked]:
    """A run's cases against a saved run's, and the compare checks decided on them with the
    run's statistics (alpha, the drops to detect, whether too small a run fails)."""
    comparison = compare_with_saved_run(
        cases, ratings(saved.document), alpha=statistics.alpha, saved_raters=raters(saved.document)
    )
    checked = check(comparison, checks, drops=statistics.drops, require_power=statistics.require_power)
    return SavedRunVersus(saved, comparison), checked


def latest(directory: Path, model: str) -> Path | None:
    """The most recently saved run of a model in a directory."""
    found: list[tuple[str, Path]] = []
    for path in directory.glob("*.json"):
        try:
            data = load(path)
        except SavedRunError:
            continue
        if data["model"] == model:
            found.append((data.get("saved_run", {}).get("saved_at", ""), path))
    return max(found)[1] if found else None
