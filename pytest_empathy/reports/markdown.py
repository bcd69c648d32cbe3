"""The Markdown summary of a run, fit for a pull-request comment or a CI job summary."""

from __future__ import annotations

from typing import Any

from pytest_empathy.formatting import change, cliffs_delta, gain, p_value, percent, verdict
from pytest_empathy.modes import GateMode

from . import crowd_scale


def render(document: dict[str, Any]) -> str:
    corpus = document["corpus"]
    outcome = "passed" if document["passed"] else "FAILED"
    if document.get("settings", {}).get("gate") == GateMode.OFF:
        outcome += " (gates off: only completeness was checked)"
    lines = [
        f"### pytest-empathy: {document['model']} {outcome}",
        "",
        f"Judge **{document['judge']}**, baseline **{document['baseline']}** ({document['baseline_rates']}), "
        f"corpus **{corpus['name']}**: {corpus['rated']} of {corpus['cases']} cases rated"
        + ("" if document["complete"] else " (INCOMPLETE)")
        + ".",
        "",
    ]
    if document.get("judge_standing"):
        lines += [f"Judge **{document['judge']}**: {document['judge_standing']}.", ""]
    said = crowd_scale.raters(document)
    if said is not None and said == document.get("mixed_raters"):
        lines += [f"**{said}**: a difference between raters is part of every figure.", ""]
    elif said is not None:
        lines += [f"**{said}**: the Good-rate gates decide on the crowd's scale.", ""]
    lines += [f"- {line}" for line in crowd_scale.lines(document)] + ([""] if crowd_scale.lines(document) else [])
    if document["overall"] is not None:
        if document["partial"]:
            lines += ["**PARTIAL**: figures computed on the cases rated so far.", ""]
        methods = document["methods"]
        lines += [
            f"Good rate tested one-sided ({methods['good_rate_test']}, "
            f"{'paired' if methods['paired'] else 'unpaired'}, alpha {methods['alpha']:g}), "
            f"{methods['interval']['confidence']:.0%} intervals; the ordinal effect (Cliff's delta) and the "
            f"study's chi-square test beside it. Verdicts use the {methods.get('gate_test', 'good-rate')} test."
            + (
                " Ratings clustered by rater: tests corrected by the design effect." if methods.get("clustered") else ""
            ),
            "",
            "| group | n | model Good | baseline Good | Good change [CI] | gain | Cliff's delta [CI] | verdict "
            "| study test p |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
        ]
        groups = [("overall", document["overall"])]
        groups += [(p, g) for p, g in document["polarity"].items() if g["n"]]
        groups += [(e, g) for e, g in document["emotions"].items() if g["significant"]]
        for name, group in groups:
            lines.append(
                f"| {name} | {group['n']} | {percent(group['good_rate'])} | {percent(group['baseline_good_rate'])} "
                f"| {change(group['good_gain_absolute'], group['good_gain_absolute_ci'])} "
                f"| {gain(group['good_gain_relative'])} | {cliffs_delta(group['ordinal'])} | {verdict(group)} "
                f"| {group['test']} {p_value(group['p_value'])} |"
            )
        significant = sum(1 for g in document["emotions"].values() if g["significant"])
        lines += [
            "",
            f"{significant} of {len(document['emotions'])} emotions differ significantly after Holm under the "
            f"{methods.get('gate_test', 'good-rate')} test (listed above).",
        ]
        every = [("overall", document["overall"]), *document["polarity"].items(), *document["emotions"].items()]
        notes = [(name, g["note"]) for name, g in every if g["note"]]
        lines += [f"- {name}: {note}" for name, note in notes]
    lines += [""] + [f"**Warning**: {warning}" for warning in document.get("warnings", [])]
    lines += ["", "| gate | result | detail |", "| --- | --- | --- |"]
    lines += [
        f"| {g['name']} | {'passed' if g['passed'] else '**FAILED**'} | {g['detail']} |" for g in document["gates"]
    ]
    return "\n".join(lines) + "\n"
