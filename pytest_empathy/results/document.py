"""A run's result as a JSON document: the schema, written from a ``RunResult``, read back
and checked, and migrated from earlier schema versions. Every report renders from it.

Schema 2 (this version) renamed what schema 1 called a snapshot: a saved run's ``snapshot``
is ``saved_run``, and a comparison's ``snapshot`` and ``only_in_snapshot`` are ``saved_run``
and ``only_in_saved_run``; a comparison also says when the saved run was saved, and
``recording`` names the cassette directory and the command that records what is missing.
Documents of schema 1 are read by migrating them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pytest_empathy import __version__
from pytest_empathy.analysis.comparison import Comparison, PairedComparison
from pytest_empathy.analysis.groups import Group
from pytest_empathy.analysis.intervals import Interval
from pytest_empathy.analysis.versus_baseline import Summary
from pytest_empathy.analysis.versus_saved_run import METHOD as SAVED_RUN_METHOD
from pytest_empathy.atomic import write_atomic
from pytest_empathy.emotions import POLARITY
from pytest_empathy.errors import InputError
from pytest_empathy.ratings import Counts, Rating

from .case import CaseResult
from .run import RunResult, SavedRunVersus

SCHEMA = 2


def to_json(run: RunResult) -> dict[str, Any]:
    summary = run.summary
    return {
        "schema": SCHEMA,
        "version": __version__,
        "model": run.model,
        "judge": run.judge,
        "judge_rates": run.judge_description,
        "baseline": run.baseline,
        "baseline_rates": run.baseline_description,
        "corpus": {
            "name": run.corpus,
            "sha256": run.corpus_sha256,
            "selected": run.selected,
            "cases": run.completeness.expected,
            "rated": run.completeness.rated,
            "missing": list(run.completeness.missing),
        },
        "baseline_per_emotion": run.baseline_per_emotion,
        "usage": {
            model: {"calls": u.calls, "prompt_tokens": u.prompt_tokens, "completion_tokens": u.completion_tokens}
            for model, u in run.usage.items()
        },
        "settings": run.settings,
        "templates": run.templates,
        "recording": None
        if run.recording is None
        else {
            "mode": run.recording.mode,
            "unrecorded": run.recording.unrecorded,
            "template_changed": run.recording.template_changed,
            "cassettes": run.recording.cassettes,
            "command": run.recording.command,
        },
        "complete": run.completeness.complete,
        "partial": summary.partial if summary else not run.completeness.complete,
        "passed": run.passed,
        "overall": _group(summary.overall, summary) if summary else None,
        "polarity": {p: _group(g, summary) for p, g in summary.polarity.items()} if summary else None,
        "emotions": {e: _group(g, summary) for e, g in summary.emotions.items()} if summary else None,
        "gates": [{"name": g.name, "passed": g.passed, "detail": g.detail} for g in run.gates],
        "comparison": _comparison(run.versus_saved_run, run.templates) if run.versus_saved_run else None,
        "unused_cassettes": {
            "count": len(run.unused_cassettes),
            "paths": list(run.unused_cassettes),
            "pruned": run.pruned,
        },
        "cases": [_case(case) for case in sorted(run.cases, key=lambda c: c.case_id)],
    }


def _case(case: CaseResult) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": case.case_id,
        "emotion": case.emotion,
        "rating": case.rating.label,
        "baseline_rating": case.baseline_rating.label if case.baseline_rating else None,
    }
    for key in ("cassette", "utterance", "response"):
        if getattr(case, key) is not None:
            entry[key] = getattr(case, key)
    return entry


def case_from_json(case: dict[str, Any]) -> CaseResult:
    """A case of a JSON document, as written by ``_case``."""
    baseline = case.get("baseline_rating")
    return CaseResult(
        case_id=case["id"],
        emotion=case["emotion"],
        rating=Rating.parse(case["rating"]),
        baseline_rating=Rating.parse(baseline) if baseline else None,
        response=case.get("response"),
        cassette=case.get("cassette"),
        utterance=case.get("utterance"),
    )


def _group(group: Group[Comparison], summary: Summary) -> dict[str, Any]:
    c = group.comparison
    entry = {
        "n": c.n,
        "model": _counts(c.model),
        "baseline": _counts(c.baseline),
        "test": c.test,
        "statistic": c.statistic,
        "dof": c.dof,
        "p_value": c.p_value,
        "cramers_v": c.cramers_v,
        "good_rate": c.good_rate,
        "baseline_good_rate": c.baseline_good_rate,
        "good_gain_absolute": c.good_gain_absolute,
        "good_gain_absolute_ci": _interval(c.good_gain_absolute_ci),
        "good_gain_relative": c.good_gain_relative,
        "good_gain_relative_ci": _interval(c.good_gain_relative_ci),
        "direction": c.direction,
        "significant": group.significant,
        "partial": summary.partial,
    }
    if group.name in summary.emotions:
        entry["p_holm"] = group.p_holm
    return entry


def _comparison(versus: SavedRunVersus, templates: dict[str, str]) -> dict[str, Any]:
    saved, comparison = versus.saved_run, versus.comparison
    return {
        "saved_run": saved.get("saved_run", {}).get("name"),
        "saved_at": saved.get("saved_run", {}).get("saved_at"),
        "path": versus.path,
        "model": saved["model"],
        "judge": saved["judge"],
        "templates": {"saved": saved["templates"], "run": templates},
        "compared": comparison.compared,
        "only_in_run": comparison.only_in_run,
        "only_in_saved_run": comparison.only_in_saved_run,
        "tests": SAVED_RUN_METHOD,
        "overall": _paired(comparison.overall),
        "polarity": {p: _paired(g) for p, g in comparison.polarity.items()},
        "emotions": {e: _paired(g) | {"p_holm": g.p_holm} for e, g in comparison.emotions.items()},
    }


def _paired(group: Group[PairedComparison]) -> dict[str, Any]:
    c = group.comparison
    return {
        "n": c.n,
        "saved": _counts(c.before),
        "run": _counts(c.after),
        "test": c.test,
        "statistic": c.statistic,
        "dof": c.dof,
        "p_value": c.p_value,
        "good_rate_saved": c.before.good_rate,
        "good_rate_run": c.after.good_rate,
        "good_change": c.good_change,
        "good_change_ci": _interval(c.good_change_ci),
        "direction": c.direction,
        "significant": group.significant,
    }


def _counts(counts: Counts) -> dict[str, int]:
    return {"bad": counts.bad, "okay": counts.okay, "good": counts.good}


def _interval(interval: Interval | None) -> list[float] | None:
    return None if interval is None else [interval.low, interval.high]


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2) + "\n"


def write(document: dict[str, Any], path: Path) -> None:
    write_atomic(path, dumps(document))


def read(path: Path, error: type[InputError], *, required: Sequence[str], what: str) -> dict[str, Any]:
    """A JSON document (a run's result or a saved run) read back, migrated to this schema
    and checked: keys, cases; ``error`` names the file."""
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{path}: no such {what}") from None
    except (OSError, UnicodeDecodeError, ValueError) as problem:
        raise error(f"{path}: not a readable {what} ({problem})") from None
    if not isinstance(data, dict) or data.get("schema") not in MIGRATIONS.keys() | {SCHEMA}:
        raise error(f"{path}: not a {what} of schema {', '.join(map(str, sorted(MIGRATIONS)))} or {SCHEMA}")
    while data["schema"] != SCHEMA:
        data = MIGRATIONS[data["schema"]](data)
    missing = [key for key in required if key not in data]
    if missing:
        raise error(f"{path}: the {what} lacks {', '.join(missing)}")
    _check_cases(data["cases"], path, error)
    return data


def _from_schema_1(data: dict[str, Any]) -> dict[str, Any]:
    """Schema 1 called a saved run a snapshot, and did not keep the recording's command."""
    data = dict(data, schema=2)
    if "snapshot" in data:
        data["saved_run"] = data.pop("snapshot")
    comparison = data.get("comparison")
    if isinstance(comparison, dict):
        comparison = dict(comparison)
        comparison["saved_run"] = comparison.pop("snapshot", None)
        comparison.setdefault("saved_at", None)
        comparison["only_in_saved_run"] = comparison.pop("only_in_snapshot", 0)
        data["comparison"] = comparison
    if isinstance(data.get("recording"), dict):
        data["recording"] = {"cassettes": "", "command": ""} | data["recording"]
    return data


MIGRATIONS = {1: _from_schema_1}


def _check_cases(cases: object, path: Path, error: type[InputError]) -> None:
    if not isinstance(cases, list):
        raise error(f"{path}: its cases are not a list")
    for number, case in enumerate(cases, start=1):
        if not isinstance(case, dict) or not {"id", "emotion", "rating"} <= case.keys():
            raise error(f"{path}: case {number} lacks an id, an emotion or a rating")
        if case["emotion"] not in POLARITY:
            raise error(f"{path}: case {number} has an unknown emotion {case['emotion']!r}")
        for key in ("rating", "baseline_rating"):
            if key == "rating" or case.get(key) is not None:
                try:
                    Rating.parse(case[key])
                except ValueError as problem:
                    raise error(f"{path}: case {number}: {key}: {problem}") from None
