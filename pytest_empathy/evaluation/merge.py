"""Merging the JSON results of disjoint shards of one benchmark into the result of the whole.

Shards must agree on everything that defines the benchmark (model, judge, baseline, corpus,
templates, settings); their cases must not overlap. Statistics and gates are computed again
from the merged cases by the same code as a single run, so the verdict is the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pytest_empathy.analysis.gates import Completeness, JudgeStanding
from pytest_empathy.analysis.saved_run_checks import Check
from pytest_empathy.errors import InputError
from pytest_empathy.modes import BaselineKind
from pytest_empathy.results import saved_runs
from pytest_empathy.results.case import Usage
from pytest_empathy.results.document import case_from_json, read
from pytest_empathy.results.result_document import ResultDocument
from pytest_empathy.results.run_result import RecordingStatus, RunIdentity, SavedRun
from pytest_empathy.schema import JSONValue
from pytest_empathy.settings import StatisticsSettings

from .extensions import NO_EXTENSIONS, Extensions
from .finish import finish

if TYPE_CHECKING:
    from pytest_empathy.analysis.ppi import RunEstimate

# What shards of one benchmark must share.
IDENTITY = (
    "schema",
    "version",
    "model",
    "judge",
    "judge_rates",
    "baseline",
    "baseline_rates",
    "baseline_per_emotion",
    "mixed_raters",
    "judge_standing",
    "judge_calibration",
    "templates",
    "settings",
)


REQUIRED = (*IDENTITY, "corpus", "cases", "gates", "passed", "complete", "partial", "overall", "polarity", "emotions")


# What names the corpus a shard is of: shards of one run agree on it.
CORPUS_IDENTITY: tuple[Literal["name", "sha256", "selected"], ...] = ("name", "sha256", "selected")


class MergeError(InputError):
    pass


def recompute(result: ResultDocument, name: str) -> ResultDocument:
    """A result's statistics and gates computed again from its cases, as a merge of one
    shard: for a result migrated from a schema whose statistics are dropped."""
    return merge([result], [name])


def load(path: Path) -> ResultDocument:
    data = read(Path(path), MergeError, required=REQUIRED, what="JSON result")
    if not isinstance(data["corpus"], dict) or not {"name", "sha256", "selected", "cases"} <= data["corpus"].keys():
        raise MergeError(f"{path}: its corpus lacks name, sha256, selected or cases")
    return data


def merge(
    results: Sequence[ResultDocument],
    names: Sequence[str],
    *,
    compare_with: SavedRun | None = None,
    checks: Sequence[Check] = (),
    extensions: Extensions = NO_EXTENSIONS,
) -> ResultDocument:
    """The shards' result as one run's; with ``compare_with``, compared with that saved run
    and ``checks`` decided on the comparison, as ``--empathy-compare-fail`` does in a run.
    The plugins' JSON fields of the shards are kept where all shards agree on them."""
    if not results:
        raise MergeError("merge needs a result")
    first, first_name = results[0], names[0]
    for result, name in zip(results[1:], names[1:], strict=True):
        for key in IDENTITY:
            if result.get(key) != first.get(key):
                raise MergeError(
                    f"{name} and {first_name} differ in {key}: {result.get(key)!r} against "
                    f"{first.get(key)!r}; only shards of one benchmark merge"
                )
        for key in CORPUS_IDENTITY:
            if result["corpus"][key] != first["corpus"][key]:
                raise MergeError(f"{name} and {first_name} differ in corpus {key}")
    _check_disjoint(results, names)
    cases = [case_from_json(case) for result in results for case in result["cases"]]
    if compare_with is not None:
        mismatch = saved_runs.not_comparable(compare_with, judge=first["judge"], corpus=first["corpus"]["name"])
        if mismatch is not None:
            raise MergeError(f"--compare: {mismatch}")
    finished = finish(
        _identity(first),
        cases,
        _completeness(results, rated=len(cases)),
        StatisticsSettings.from_json(first["settings"]),
        compare=compare_with,
        checks=checks,
        recording=_recording(results),
        usage=_usage(results),
        prediction_powered=_prediction_powered(results),
        extensions=extensions,
    )
    document = finished.document
    extra = _agreed_extra(results) | document.get("extra", {})
    if extra:
        document["extra"] = extra
    return document


def _check_disjoint(results: Sequence[ResultDocument], names: Sequence[str]) -> None:
    owner: dict[str, str] = {}
    for result, name in zip(results, names, strict=True):
        for case in result["cases"]:
            if case["id"] in owner:
                raise MergeError(f"case {case['id']} is in both {owner[case['id']]} and {name}: shards overlap")
            owner[case["id"]] = name


def _completeness(results: Sequence[ResultDocument], *, rated: int) -> Completeness:
    """The shards' cases against the whole selection: a shard that never ran leaves its cases
    missing."""
    selected = results[0]["corpus"]["selected"]
    collected = sum(r["corpus"]["cases"] for r in results)
    missing = sorted(n for r in results for n in r["corpus"].get("missing", []))
    if collected < selected:
        missing.append(f"{selected - collected} selected case(s) in no shard")
    return Completeness(expected=max(selected, collected), rated=rated, missing=tuple(missing))


def _identity(first: ResultDocument) -> RunIdentity:
    """The benchmark the shards are of, as the first one names it (they all agree)."""
    per_emotion = None
    if first["baseline_per_emotion"]:
        from pytest_empathy.corpus import release

        per_emotion = release.human_counts()
    calibration = first["judge_calibration"]
    judge = None
    if first["judge_standing"] is not None:
        in_force = calibration if calibration is not None and calibration["stale"] is None else None
        judge = JudgeStanding(
            first["judge_standing"],
            None if in_force is None else in_force["alpha_ordinal"],
            None if in_force is None else in_force.get("pairs"),
        )
    return RunIdentity(
        model=first["model"],
        judge=first["judge"],
        judge_description=first["judge_rates"],
        baseline=first["baseline"],
        baseline_description=first["baseline_rates"],
        corpus=first["corpus"]["name"],
        corpus_sha256=first["corpus"]["sha256"],
        selected=first["corpus"]["selected"],
        templates=first["templates"],
        # Written back verbatim, so that a merge of shards of an older schema keeps their entry.
        settings=first["settings"],
        per_emotion_baseline=per_emotion,
        baseline_judged=first["baseline"] == BaselineKind.JUDGE.value,
        mixed_raters=first["mixed_raters"],
        judge_standing=judge,
        judge_calibration=calibration,
    )


def _recording(results: Sequence[ResultDocument]) -> RecordingStatus | None:
    recordings = [recording for recording in (result.get("recording") for result in results) if recording]
    if not recordings:
        return None
    return RecordingStatus(
        mode=recordings[0]["mode"],
        unrecorded=sum(r["unrecorded"] for r in recordings),
        template_changed=sum(r["template_changed"] for r in recordings),
        cassettes=recordings[0]["cassettes"],
        command=recordings[0]["command"],
    )


def _agreed_extra(results: Sequence[ResultDocument]) -> dict[str, JSONValue]:
    """The plugins' fields of the shards, kept only when every shard has the same."""
    extras = [result.get("extra") for result in results]
    first = extras[0]
    return dict(first) if first and all(extra == first for extra in extras) else {}


def _prediction_powered(results: Sequence[ResultDocument]) -> RunEstimate | None:
    """A merge cannot estimate it (the crowd's ratings are not in the results), and says so
    where the shards had it."""
    if not any(result.get("prediction_powered") for result in results):
        return None
    from pytest_empathy.analysis.ppi import not_estimated

    return not_estimated(
        "not estimated by a merge: the crowd's ratings are not part of the shards' results; "
        "run the whole benchmark with --empathy-crowd"
    )


def _usage(results: Sequence[ResultDocument]) -> dict[str, Usage]:
    total: dict[str, Usage] = {}
    for result in results:
        for model, u in result.get("usage", {}).items():
            total[model] = total.get(model, Usage()) + Usage(u["calls"], u["prompt_tokens"], u["completion_tokens"])
    return dict(sorted(total.items()))
