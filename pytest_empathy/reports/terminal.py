"""The terminal summary of a run, from its JSON document."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pytest_empathy.formatting import gain, p_value, shares, verdict

_HEADER = (
    f"{'group':<13}{'n':>5}  {'model B/O/G %':>13}  {'base B/O/G %':>13}  "
    f"{'Good gain [95% CI]':>20}  {'test':>5}  {'p':>8}  {'p Holm':>8}  verdict"
)


def lines(document: Mapping[str, Any]) -> Iterator[str]:
    yield (
        f"model {document['model']}, judge {document['judge']} ({document['judge_rates']}), "
        f"baseline {document['baseline']} ({document['baseline_rates']})"
    )
    corpus = document["corpus"]
    state = "complete" if document["complete"] else "INCOMPLETE"
    yield f"corpus {corpus['name']}: {corpus['rated']} of {corpus['cases']} cases rated, {state}"
    for role, sha in document["templates"].items():
        yield f"{role} template sha256 {sha[:12]}"
    for model, usage in document["usage"].items():
        yield (
            f"live calls to {model}: {usage['calls']}, tokens {usage['prompt_tokens']} prompt + "
            f"{usage['completion_tokens']} completion"
        )
    recording = document["recording"]
    if recording is not None:
        yield f"cassettes {recording['cassettes']}, record mode {recording['mode']}"
        if recording["unrecorded"]:
            changed = (
                f", {recording['template_changed']} because a template changed" if recording["template_changed"] else ""
            )
            yield (
                f"{recording['unrecorded']} case(s) need (re-)recording{changed}; record them with: "
                f"{recording['command']}"
            )
    if document["overall"] is not None:
        if document["partial"]:
            yield "PARTIAL: every figure below is computed on the cases rated so far"
        yield ""
        yield _HEADER
        yield _row("overall", document["overall"])
        for name, entry in document["polarity"].items():
            if entry["n"]:
                yield _row(name, entry)
        for name, entry in document["emotions"].items():
            yield _row(name, entry)
    if document["comparison"] is not None:
        yield from _comparison_lines(document["comparison"])
    unused = document["unused_cassettes"]
    if unused["count"]:
        state = "deleted" if unused["pruned"] else "not used by any case (--empathy-prune-cassettes deletes them)"
        shown = ", ".join(unused["paths"][:3]) + (", ..." if unused["count"] > 3 else "")
        yield ""
        yield f"{unused['count']} cassette(s) of {document['model']} {state}: {shown}"
    yield ""
    for gate in document["gates"]:
        yield f"{'PASSED' if gate['passed'] else 'FAILED'} {gate['name']}: {gate['detail']}"


def _row(name: str, entry: Mapping[str, Any]) -> str:
    interval = entry["good_gain_relative_ci"]
    return (
        f"{name:<13}{entry['n']:>5}  {shares(entry['model']):>13}  {shares(entry['baseline']):>13}  "
        f"{gain(entry['good_gain_relative'], interval):>20}  {entry['test']:>5}  "
        f"{p_value(entry['p_value']):>8}  {p_value(entry.get('p_holm')):>8}  {verdict(entry)}"
    )


def _comparison_lines(comparison: Mapping[str, Any]) -> Iterator[str]:
    name = comparison["saved_run"] or comparison["path"]
    yield ""
    yield (
        f"compared with saved run {name} (model {comparison['model']}, judge {comparison['judge']}, "
        f"saved {comparison['saved_at'] or '?'}): {comparison['compared']} cases in both; "
        f"{comparison['only_in_run']} only in this run, {comparison['only_in_saved_run']} only in the saved run"
    )
    saved, now = comparison["templates"]["saved"], comparison["templates"]["run"]
    for role in dict.fromkeys([*now, *saved]):
        change = "unchanged" if saved.get(role) == now.get(role) else "CHANGED"
        yield f"{role} template: saved {(saved.get(role) or '-')[:12]}, now {(now.get(role) or '-')[:12]} ({change})"
    yield "test: Stuart-Maxwell on the paired ratings; Good change with Newcombe's paired 95% CI"
    yield ""
    yield (
        f"{'group':<13}{'n':>5}  {'saved B/O/G %':>13}  {'run B/O/G %':>13}  "
        f"{'Good change [95% CI]':>24}  {'p':>8}  {'p Holm':>8}  verdict"
    )
    groups = [("overall", comparison["overall"])]
    groups += [(p, g) for p, g in comparison["polarity"].items() if g["n"]]
    groups += list(comparison["emotions"].items())
    for group, entry in groups:
        change = "n/a" if entry["good_change"] is None else f"{100 * entry['good_change']:+.1f} pts"
        if entry["good_change_ci"] is not None:
            low, high = entry["good_change_ci"]
            change += f" [{100 * low:+.0f},{100 * high:+.0f}]"
        yield (
            f"{group:<13}{entry['n']:>5}  {shares(entry['saved']):>13}  {shares(entry['run']):>13}  "
            f"{change:>24}  {p_value(entry['p_value']):>8}  {p_value(entry.get('p_holm')):>8}  {verdict(entry)}"
        )


def failure_lines(document: Mapping[str, Any]) -> list[str]:
    return [f"empathy gate failed: {g['name']}: {g['detail']}" for g in document["gates"] if not g["passed"]]
