"""Merging the JSON results of disjoint shards of one benchmark into the result of the whole.

Shards must agree on everything that defines the benchmark (model, judge, baseline, corpus,
templates, settings); their cases must not overlap. Statistics and gates are computed again
from the merged cases by the same code as a single run, so the verdict is the same.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_empathy.analysis.gates import Completeness, GateResult, JudgeStanding, decide
from pytest_empathy.analysis.saved_run_checks import Check
from pytest_empathy.errors import InputError
from pytest_empathy.modes import BaselineKind
from pytest_empathy.results import saved_runs
from pytest_empathy.results.case import Usage
from pytest_empathy.results.document import case_from_json, read, to_json
from pytest_empathy.results.result_document import ResultDocument
from pytest_empathy.results.run_result import RecordingStatus, RunResult, SavedRun

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


class MergeError(InputError):
    pass


def recompute(result: Mapping[str, Any], name: str) -> ResultDocument:
    """A result's statistics and gates computed again from its cases, as a merge of one
    shard: for a result migrated from a schema whose statistics are dropped."""
    return merge([result], [name])


def load(path: Path) -> ResultDocument:
    data = read(Path(path), MergeError, required=REQUIRED, what="JSON result")
    if not isinstance(data["corpus"], dict) or not {"name", "sha256", "selected", "cases"} <= data["corpus"].keys():
        raise MergeError(f"{path}: its corpus lacks name, sha256, selected or cases")
    return data


def merge(
    results: Sequence[Mapping[str, Any]],
    names: Sequence[str],
    *,
    compare_with: SavedRun | None = None,
    checks: Sequence[Check] = (),
) -> ResultDocument:
    """The shards' result as one run's; with ``compare_with``, compared with that saved run
    and ``checks`` decided on the comparison, as ``--empathy-compare-fail`` does in a run."""
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
        for key in ("name", "sha256", "selected"):
            if result["corpus"][key] != first["corpus"][key]:
                raise MergeError(f"{name} and {first_name} differ in corpus {key}")
    owner: dict[str, str] = {}
    for result, name in zip(results, names, strict=True):
        for case in result["cases"]:
            if case["id"] in owner:
                raise MergeError(f"case {case['id']} is in both {owner[case['id']]} and {name}: shards overlap")
            owner[case["id"]] = name
    cases = [case_from_json(case) for result in results for case in result["cases"]]
    # Shards must cover the whole selection: a shard that never ran leaves its cases missing.
    selected = first["corpus"]["selected"]
    collected = sum(r["corpus"]["cases"] for r in results)
    missing = sorted(n for r in results for n in r["corpus"].get("missing", []))
    if collected < selected:
        missing.append(f"{selected - collected} selected case(s) in no shard")
    completeness = Completeness(expected=max(selected, collected), rated=len(cases), missing=tuple(missing))
    per_emotion = None
    if first["baseline_per_emotion"]:
        from pytest_empathy.corpus import release

        per_emotion = release.human_counts()
    calibration = first["judge_calibration"]
    judge = None
    if first["judge_standing"] is not None:
        in_force = calibration is not None and calibration["stale"] is None
        judge = JudgeStanding(
            first["judge_standing"],
            calibration["alpha_ordinal"] if in_force else None,
            calibration.get("pairs") if in_force else None,
        )
    estimate = _prediction_powered(results)
    decision = decide(
        cases,
        completeness,
        first["settings"],
        per_emotion,
        mixed_raters=first["mixed_raters"],
        judge=judge,
        baseline_judged=first["baseline"] == BaselineKind.JUDGE.value,
        prediction_powered=estimate,
    )
    gates, warnings, versus = list(decision.gates), list(decision.warnings), None
    if compare_with is not None:
        mismatch = saved_runs.not_comparable(compare_with, judge=first["judge"], corpus=first["corpus"]["name"])
        if mismatch is not None:
            raise MergeError(f"--compare: {mismatch}")
    if compare_with is not None and decision.summary is not None:
        versus, checked = saved_runs.compare(compare_with, cases, settings=first["settings"], checks=checks)
        gates += checked.gates
        warnings += checked.warnings
    elif compare_with is not None:
        gates.append(GateResult("compare", False, saved_runs.not_compared(compare_with, completeness)))
    recordings = [r["recording"] for r in results if r.get("recording")]
    run = RunResult(
        model=first["model"],
        judge=first["judge"],
        judge_description=first["judge_rates"],
        baseline=first["baseline"],
        baseline_description=first["baseline_rates"],
        corpus=first["corpus"]["name"],
        corpus_sha256=first["corpus"]["sha256"],
        settings=first["settings"],
        completeness=completeness,
        summary=decision.summary,
        gates=tuple(gates),
        warnings=tuple(warnings),
        cases=tuple(cases),
        templates=first["templates"],
        recording=RecordingStatus(
            mode=recordings[0]["mode"],
            unrecorded=sum(r["unrecorded"] for r in recordings),
            template_changed=sum(r["template_changed"] for r in recordings),
            cassettes=recordings[0]["cassettes"],
            command=recordings[0]["command"],
        )
        if recordings
        else None,
        usage=_usage(results),
        baseline_per_emotion=first["baseline_per_emotion"],
        selected=selected,
        mixed_raters=first["mixed_raters"],
        judge_standing=first["judge_standing"],
        judge_calibration=calibration,
        judge_correction=decision.correction,
        versus_saved_run=versus,
        prediction_powered=estimate,
    )
    return to_json(run)


def _prediction_powered(results: Sequence[Mapping[str, Any]]) -> RunEstimate | None:
    """A merge cannot estimate it (the crowd's ratings are not in the results), and says so
    where the shards had it."""
    if not any(result.get("prediction_powered") for result in results):
        return None
    from pytest_empathy.analysis.ppi import not_estimated

    return not_estimated(
        "not estimated by a merge: the crowd's ratings are not part of the shards' results; "
        "run the whole benchmark with --empathy-crowd"
    )


def _usage(results: Sequence[Mapping[str, Any]]) -> dict[str, Usage]:
    total: dict[str, Usage] = {}
    for result in results:
        for model, u in result.get("usage", {}).items():
            total[model] = total.get(model, Usage()) + Usage(u["calls"], u["prompt_tokens"], u["completion_tokens"])
    return dict(sorted(total.items()))
