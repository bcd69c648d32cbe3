"""The terminal summary of a run, from its JSON document."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pytest_empathy.formatting import (
    P_FLOOR,
    change,
    cliffs_delta,
    detects,
    gain,
    one_sided_p,
    p_value,
    shares,
    verdict,
)
from pytest_empathy.reports import comparison as compared
from pytest_empathy.reports import crowd_scale

_HEADER = (
    f"{'group':<13}{'n':>9}  {'model B/O/G %':>13}  {'base B/O/G %':>13}  {'Good change [CI]':>22}  "
    f"{'Good gain [CI]':>18}  {'p 1-sided':>9}  {'p Holm':>8}  {'Cliff delta [CI]':>20}  {'p 1-sided':>9}  "
    f"{'p Holm':>8}  {'verdict':<8}  {'detects':>7}  study test"
)


def lines(document: Mapping[str, Any]) -> Iterator[str]:
    yield (
        f"model {document['model']}, judge {document['judge']} ({document['judge_rates']}), "
        f"baseline {document['baseline']} ({document['baseline_rates']})"
    )
    if document.get("judge_standing"):
        yield f"judge {document['judge']}: {document['judge_standing']}"
    said = crowd_scale.raters(document)
    if said is not None and said == document.get("mixed_raters"):
        yield (
            f"{said.upper()}: the judge rates the model, the crowd rated the baseline; a "
            "difference between raters is part of every figure below"
        )
    elif said is not None:
        yield f"{said.upper()}: the Good-rate gates decide on the crowd's scale"
    yield from crowd_scale.lines(document)
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
            yield unrecorded(recording, corpus["cases"])
    if document.get("statistics_dropped"):
        yield f"no statistics: {document['statistics_dropped']}"
    if document["overall"] is not None:
        if document["partial"]:
            yield "PARTIAL: every figure below is computed on the cases rated so far"
        yield ""
        yield from _methods(document["methods"], document["overall"])
        yield ""
        yield _HEADER
        groups = [("overall", document["overall"])]
        groups += [(name, entry) for name, entry in document["polarity"].items() if entry["n"]]
        groups += list(document["emotions"].items())
        for name, entry in groups:
            yield _row(name, entry)
        for name, entry in groups:
            if entry["note"]:
                yield f"note, {name}: {entry['note']}"
    if document["comparison"] is not None:
        yield from _comparison_lines(document["comparison"])
    unused = document["unused_cassettes"]
    if unused["count"]:
        state = "deleted" if unused["pruned"] else "not used by any case (--empathy-prune-cassettes deletes them)"
        # What was deleted is listed whole; what could be, by its first paths.
        paths = unused["paths"] if unused["pruned"] else unused["paths"][:3]
        shown = ", ".join(paths) + (", ..." if len(paths) < unused["count"] else "")
        yield ""
        yield f"{unused['count']} cassette(s) of {document['model']} {state}: {shown}"
    yield ""
    for warning in document.get("warnings", []):
        yield f"WARNING {warning}"
    for gate in document["gates"]:
        yield f"{'PASSED' if gate['passed'] else 'FAILED'} {gate['name']}: {gate['detail']}"


def unrecorded(recording: Mapping[str, Any], cases: int) -> str:
    """How many of a run's cases need recording, why, and the command that records them."""
    changed = recording["template_changed"]
    why = f", {changed} because a template changed since their cassettes were recorded" if changed else ""
    return (
        f"{recording['unrecorded']} of {cases} cases need (re-)recording{why}. Record exactly those (the rest is "
        f"left untouched) with: {recording['command']}"
    )


def _methods(methods: Mapping[str, Any], overall: Mapping[str, Any]) -> Iterator[str]:
    interval = methods["interval"]
    decides = methods.get("gate_test", "good-rate")
    yield (
        f"Good rate: one-sided {methods['good_rate_test']}, {'paired' if methods['paired'] else 'unpaired'}, "
        f"alpha {methods['alpha']:g}; intervals {interval['confidence']:.0%} (one-sided "
        f"{1 - methods['alpha']:.0%} bounds); Holm across emotions; 'detects': the smallest Good-rate difference "
        "in points found with 80% power (at Holm's first step for an emotion)"
    )
    if methods.get("ordinal"):
        yield f"ordinal: Cliff's delta, one-sided {methods['ordinal']['test']}, the same alpha, intervals and Holm"
    yield f"the verdict and the gates better and no-emotion-worse use the {decides} test"
    design = overall.get("design_effect")
    if methods.get("clustered") and design:
        yield (
            f"clustered ratings: {design['raters']} raters; design effect overall "
            f"{_design(design['good_rate'])} (Good rate), {_design(design['ordinal'])} (ordinal); {methods['clusters']}"
        )
    statistic = (
        "" if overall["statistic"] is None else f"{overall['test']} {overall['statistic']:.4f}, dof {overall['dof']}, "
    )
    v = "" if overall["cramers_v"] is None else f", Cramer's V {overall['cramers_v']:.3f}"
    # As the study reports it: the chi-square's upper tail is computed in the tail itself, so
    # its digits hold far below the 1e-15 that differences of probabilities lose.
    p = overall["p_value"]
    shown = "-" if p is None else (f"{p:.3e}" if p < P_FLOOR else p_value(p))
    yield f"study's test, overall ({_STUDY[overall['test']]}): {statistic}p {shown}{v}"


def _design(effect: float | None) -> str:
    return "n/a" if effect is None else f"{effect:.2f}"


_STUDY = {
    "chi2": "chi-square of independence, 2x3",
    "exact": "Freeman-Halton exact, an expected count below 5",
    "none": "no test",
}


def _row(name: str, entry: Mapping[str, Any]) -> str:
    n = f"{entry['n']}/{sum(entry['baseline'].values())}"
    return (
        f"{name:<13}{n:>9}  {shares(entry['model']):>13}  {shares(entry['baseline']):>13}  "
        f"{change(entry['good_gain_absolute'], entry['good_gain_absolute_ci']):>22}  "
        f"{gain(entry['good_gain_relative'], entry['good_gain_relative_ci']):>18}  "
        f"{p_value(one_sided_p(entry)):>9}  {p_value(one_sided_p(entry, holm=True)):>8}  "
        f"{cliffs_delta(entry['ordinal']):>20}  {p_value(one_sided_p(entry, test='ordinal')):>9}  "
        f"{p_value(one_sided_p(entry, holm=True, test='ordinal')):>8}  {verdict(entry):<8}  "
        f"{detects(entry['detectable']):>7}  {entry['test']} p {p_value(entry['p_value'])}"
    )


def _comparison_lines(comparison: Mapping[str, Any]) -> Iterator[str]:
    yield ""
    yield (
        f"compared with saved run {compared.saved_run(comparison)} ({compared.provenance(comparison)}): "
        f"{compared.coverage(comparison)}"
    )
    for template in compared.templates(comparison):
        state = "CHANGED" if template.changed else "unchanged"
        yield (
            f"{template.role} template: saved {compared.short(template.saved)}, "
            f"now {compared.short(template.run)} ({state})"
        )
    yield f"test: {compared.TESTS}"
    yield ""
    yield (
        f"{'group':<13}{'n':>5}  {'saved B/O/G %':>13}  {'run B/O/G %':>13}  "
        f"{'Good change [CI]':>24}  {'p 1-sided':>9}  {'p Holm':>8}  {'Cliff delta [CI]':>20}  {'p 1-sided':>9}  "
        f"{'verdict':<8}  Stuart-Maxwell"
    )
    for row in compared.summary_rows(comparison) + compared.emotion_rows(comparison):
        yield (
            f"{row.group:<13}{row.n:>5}  {row.saved_shares:>13}  {row.run_shares:>13}  "
            f"{row.good_change:>24}  {row.p:>9}  {row.p_holm:>8}  {row.delta:>20}  "
            f"{row.p_ordinal:>9}  {row.verdict:<8}  p {row.whole_p}"
        )


def failure_lines(document: Mapping[str, Any]) -> list[str]:
    return [f"empathy gate failed: {g['name']}: {g['detail']}" for g in document["gates"] if not g["passed"]]
