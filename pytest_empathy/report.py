"""A run's result as JSON and as the lines of the terminal summary."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__
from .emotions import POLARITY
from .errors import InputError
from .gates import Completeness, GateResult
from .ratings import Counts, Rating
from .regression import PairedGroup, Regression
from .results import CaseResult, Usage
from .stats import Interval
from .summary import Group, Summary

SCHEMA = 1


@dataclass(frozen=True)
class Recording:
    """How the run's model calls were recorded, and which cases lacked a recording."""

    mode: str
    unrecorded: int
    template_changed: int
    cassettes: str = ""
    command: str = ""


@dataclass(frozen=True)
class RunResult:
    """Everything the controller knows at session finish."""

    model: str
    judge: str
    judge_description: str
    baseline: str
    baseline_description: str
    corpus: str
    corpus_sha256: str
    settings: dict[str, Any]
    completeness: Completeness
    summary: Summary | None
    gates: tuple[GateResult, ...]
    cases: tuple[CaseResult, ...]
    templates: dict[str, str]
    recording: Recording | None
    regression: Regression | None = None
    unused_cassettes: tuple[str, ...] = ()
    pruned: bool = False
    usage: dict[str, Usage] = field(default_factory=dict)
    # True when the baseline is the release's per-emotion counts, not a rating per case.
    baseline_per_emotion: bool = False
    # Cases the corpus options selected, before -k or -m: what shards of a run must cover.
    selected: int = 0

    @property
    def passed(self) -> bool:
        return all(gate.passed for gate in self.gates)


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
        "recording": None if run.recording is None else {
            "mode": run.recording.mode,
            "unrecorded": run.recording.unrecorded,
            "template_changed": run.recording.template_changed,
        },
        "complete": run.completeness.complete,
        "partial": summary.partial if summary else not run.completeness.complete,
        "passed": run.passed,
        "overall": _group(summary.overall, summary) if summary else None,
        "polarity": {p: _group(g, summary) for p, g in summary.polarity.items()} if summary else None,
        "emotions": {e: _group(g, summary) for e, g in summary.emotions.items()} if summary else None,
        "gates": [{"name": g.name, "passed": g.passed, "detail": g.detail} for g in run.gates],
        "comparison": _comparison(run.regression, run.templates) if run.regression else None,
        "unused_cassettes": {"count": len(run.unused_cassettes), "paths": list(run.unused_cassettes),
                             "pruned": run.pruned},
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
    """A case of a JSON result, as written by ``_case``."""
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


def read_result(path: Path, error: type[InputError], *, required: Sequence[str], what: str) -> dict[str, Any]:
    """A JSON result (or a saved run) read back and checked: schema, keys, cases; ``error``
    names the file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{path}: no such {what}") from None
    except (OSError, UnicodeDecodeError, ValueError) as problem:
        raise error(f"{path}: not a readable {what} ({problem})") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise error(f"{path}: not a {what} of schema {SCHEMA}")
    missing = [key for key in required if key not in data]
    if missing:
        raise error(f"{path}: the {what} lacks {', '.join(missing)}")
    _check_cases(data["cases"], path, error)
    return data


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


def _group(group: Group, summary: Summary) -> dict[str, Any]:
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


def _comparison(regression: Regression, templates: dict[str, str]) -> dict[str, Any]:
    snapshot = regression.snapshot
    return {
        "snapshot": snapshot.get("snapshot", {}).get("name"),
        "path": snapshot.get("path"),
        "model": snapshot["model"],
        "judge": snapshot["judge"],
        "templates": {"saved": snapshot["templates"], "run": templates},
        "compared": regression.compared,
        "only_in_run": regression.only_in_run,
        "only_in_snapshot": regression.only_in_snapshot,
        "tests": "Stuart-Maxwell test of marginal homogeneity on the paired ratings (exact "
                 "where the discordant pairs are few); Newcombe's interval for the paired "
                 "change of the Good rate; Holm across the emotions",
        "overall": _paired(regression.overall),
        "polarity": {p: _paired(g) for p, g in regression.polarity.items()},
        "emotions": {e: _paired(g) | {"p_holm": g.p_holm} for e, g in regression.emotions.items()},
    }


def _paired(group: PairedGroup) -> dict[str, Any]:
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


def write_json(data: dict[str, Any], path: Path) -> None:
    """Write JSON atomically: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=2)
            out.write("\n")
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


_HEADER = (
    f"{'group':<13}{'n':>5}  {'model B/O/G %':>13}  {'base B/O/G %':>13}  "
    f"{'Good gain [95% CI]':>20}  {'test':>5}  {'p':>8}  {'p Holm':>8}  verdict"
)


def terminal_lines(run: RunResult) -> Iterator[str]:
    yield (
        f"model {run.model}, judge {run.judge} ({run.judge_description}), "
        f"baseline {run.baseline} ({run.baseline_description})"
    )
    state = "complete" if run.completeness.complete else "INCOMPLETE"
    yield (
        f"corpus {run.corpus}: {run.completeness.rated} of {run.completeness.expected} "
        f"cases rated, {state}"
    )
    for role, sha in run.templates.items():
        yield f"{role} template sha256 {sha[:12]}"
    for model, usage in run.usage.items():
        yield (f"live calls to {model}: {usage.calls}, tokens {usage.prompt_tokens} prompt + "
               f"{usage.completion_tokens} completion")
    recording = run.recording
    if recording is not None:
        yield f"cassettes {recording.cassettes}, record mode {recording.mode}"
        if recording.unrecorded:
            changed = (f", {recording.template_changed} because a template changed"
                       if recording.template_changed else "")
            yield (f"{recording.unrecorded} case(s) need (re-)recording{changed}; record them with: "
                   f"{recording.command}")
    summary = run.summary
    if summary is not None:
        if summary.partial:
            yield "PARTIAL: every figure below is computed on the cases rated so far"
        yield ""
        yield _HEADER
        yield _row(summary.overall)
        for group in summary.polarity.values():
            if group.comparison.n:
                yield _row(group)
        for group in summary.emotions.values():
            yield _row(group)
    if run.regression is not None:
        yield from _comparison_lines(run.regression, run.templates)
    if run.unused_cassettes:
        state = "deleted" if run.pruned else "not used by any case (--empathy-prune-cassettes deletes them)"
        shown = ", ".join(run.unused_cassettes[:3]) + (", ..." if len(run.unused_cassettes) > 3 else "")
        yield ""
        yield f"{len(run.unused_cassettes)} cassette(s) of {run.model} {state}: {shown}"
    yield ""
    for gate in run.gates:
        yield f"{'PASSED' if gate.passed else 'FAILED'} {gate.name}: {gate.detail}"


def _row(group: Group) -> str:
    c = group.comparison
    return (
        f"{group.name:<13}{c.n:>5}  {_shares(c.model):>13}  {_shares(c.baseline):>13}  "
        f"{_gain(c.good_gain_relative, c.good_gain_relative_ci):>20}  {c.test:>5}  "
        f"{_p(c.p_value):>8}  {_p(group.p_holm):>8}  {_verdict(group)}"
    )


def _comparison_lines(regression: Regression, templates: dict[str, str]) -> Iterator[str]:
    snapshot = regression.snapshot
    name = snapshot.get("snapshot", {}).get("name", snapshot.get("path"))
    yield ""
    yield (f"compared with saved run {name} (model {snapshot['model']}, judge {snapshot['judge']}, "
           f"saved {snapshot.get('snapshot', {}).get('saved_at', '?')}): {regression.compared} cases "
           f"in both; {regression.only_in_run} only in this run, {regression.only_in_snapshot} only "
           "in the saved run")
    for role in dict.fromkeys([*templates, *snapshot["templates"]]):
        saved, now = snapshot["templates"].get(role), templates.get(role)
        change = "unchanged" if saved == now else "CHANGED"
        yield f"{role} template: saved {(saved or '-')[:12]}, now {(now or '-')[:12]} ({change})"
    yield "test: Stuart-Maxwell on the paired ratings; Good change with Newcombe's paired 95% CI"
    yield ""
    yield (f"{'group':<13}{'n':>5}  {'saved B/O/G %':>13}  {'run B/O/G %':>13}  "
           f"{'Good change [95% CI]':>24}  {'p':>8}  {'p Holm':>8}  verdict")
    groups = [regression.overall, *(g for g in regression.polarity.values() if g.comparison.n),
              *regression.emotions.values()]
    for group in groups:
        c = group.comparison
        change = "n/a" if c.good_change is None else f"{100 * c.good_change:+.1f} pts"
        if c.good_change_ci is not None:
            change += f" [{100 * c.good_change_ci.low:+.0f},{100 * c.good_change_ci.high:+.0f}]"
        verdict = "no test" if c.p_value is None else (c.direction if group.significant else "n.s.")
        yield (f"{group.name:<13}{c.n:>5}  {_shares(c.before):>13}  {_shares(c.after):>13}  "
               f"{change:>24}  {_p(c.p_value):>8}  {_p(group.p_holm):>8}  {verdict}")


def _shares(counts: Counts) -> str:
    if counts.n == 0:
        return "-"
    return "/".join(f"{round(100 * x / counts.n)}" for x in counts.as_tuple())


def _gain(gain: float | None, interval: Interval | None) -> str:
    if gain is None:
        return "n/a"
    text = f"{gain:+.0%}"
    if interval is not None:
        text += f" [{interval.low:+.0%},{interval.high:+.0%}]"
    return text


def _p(p: float | None) -> str:
    if p is None:
        return "-"
    return f"{p:.3f}" if p >= 0.001 else f"{p:.1e}"


def _verdict(group: Group) -> str:
    if group.comparison.p_value is None:
        return "no test"
    return group.comparison.direction if group.significant else "n.s."


def failure_lines(gates: Sequence[GateResult]) -> list[str]:
    return [f"empathy gate failed: {g.name}: {g.detail}" for g in gates if not g.passed]


def markdown(result: dict[str, Any]) -> str:
    """A short summary of a JSON result, fit for a pull-request comment or a CI job summary."""
    corpus = result["corpus"]
    verdict = "passed" if result["passed"] else "FAILED"
    if result.get("settings", {}).get("gate") == "off":
        verdict += " (gates off: only completeness was checked)"
    lines = [
        f"### pytest-empathy: {result['model']} {verdict}",
        "",
        f"Judge **{result['judge']}**, baseline **{result['baseline']}** ({result['baseline_rates']}), "
        f"corpus **{corpus['name']}**: {corpus['rated']} of {corpus['cases']} cases rated"
        + ("" if result["complete"] else " (INCOMPLETE)") + ".",
        "",
    ]
    if result["overall"] is not None:
        if result["partial"]:
            lines += ["**PARTIAL**: figures computed on the cases rated so far.", ""]
        lines += ["| group | n | model Good | baseline Good | gain | test | p | verdict |",
                  "| --- | ---: | ---: | ---: | ---: | --- | ---: | --- |"]
        groups = [("overall", result["overall"])]
        groups += [(p, g) for p, g in result["polarity"].items() if g["n"]]
        groups += [(e, g) for e, g in result["emotions"].items() if g["significant"]]
        for name, group in groups:
            gain = group["good_gain_relative"]
            verdict_cell = "no test" if group["p_value"] is None else (
                group["direction"] if group["significant"] else "n.s.")
            lines.append(
                f"| {name} | {group['n']} | {_rate(group['good_rate'])} | {_rate(group['baseline_good_rate'])} "
                f"| {'n/a' if gain is None else f'{gain:+.0%}'} | {group['test']} | {_p(group['p_value'])} "
                f"| {verdict_cell} |"
            )
        significant = sum(1 for g in result["emotions"].values() if g["significant"])
        lines += ["", f"{significant} of {len(result['emotions'])} emotions differ significantly after Holm "
                      "(listed above)."]
    lines += ["", "| gate | result | detail |", "| --- | --- | --- |"]
    lines += [f"| {g['name']} | {'passed' if g['passed'] else '**FAILED**'} | {g['detail']} |" for g in result["gates"]]
    return "\n".join(lines) + "\n"


def _rate(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate:.1%}"


def cases_frame(result: dict[str, Any]) -> Any:
    """One row per case, as a pandas DataFrame."""
    import pandas as pd

    columns = ["id", "emotion", "polarity", "rating", "baseline_rating", "cassette", "utterance", "response"]
    frame = pd.DataFrame(result["cases"], columns=[c for c in columns if c != "polarity"])
    frame.insert(2, "polarity", frame["emotion"].map(POLARITY))
    return frame.dropna(axis="columns", how="all")


def write_text(text: str, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def write_reports(result: dict[str, Any], *, html: Path | None = None, markdown_path: Path | None = None,
                  csv: Path | None = None) -> None:
    """The human-readable reports of a JSON result; the Markdown summary also goes to GitHub's
    job summary when ``GITHUB_STEP_SUMMARY`` names a file."""
    if html is not None:
        from .html_report import render

        write_text(render(result), html)
    if markdown_path is not None:
        summary = markdown(result)
        write_text(summary, markdown_path)
        step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if step_summary:
            try:
                with open(step_summary, "a", encoding="utf-8") as out:
                    out.write(summary)
            except OSError as error:
                # The summary file is the CI's, not the user's: its failure fails nothing.
                print(f"pytest-empathy: cannot append to $GITHUB_STEP_SUMMARY ({error})", file=sys.stderr)
    if csv is not None:
        csv.parent.mkdir(parents=True, exist_ok=True)
        cases_frame(result).to_csv(csv, index=False)
