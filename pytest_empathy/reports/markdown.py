"""The Markdown summary of a run, fit for a pull-request comment or a CI job summary.

Every string of the document (a model's or a file's name, a saved run's date, a
calibration's, an answer) is text from outside the package: it is escaped (see ``escape``)
before it is laid out, so that none can add an image, a link, HTML, a mention or a table
column to a pull-request comment.
"""

from __future__ import annotations

import re
from typing import cast

from pytest_empathy.formatting import change, gain, p_value, percent
from pytest_empathy.reports.entries import (
    Statistics,
    cliffs_delta,
    gates_off,
    interval_heading,
    interval_levels,
    statistics,
    verdict,
)
from pytest_empathy.results.result_document import ComparisonEntry, GroupEntry, ResultDocument

from . import crowd_scale
from . import saved_run_comparison as compared

# What GitHub's Markdown reads as markup inside a line: code, emphasis, strikethrough, links
# and images, HTML and entities, table cells, mentions, math.
_MARKUP = re.compile(r"[\\`*_~\[\]<>&|@$]")


def escape(text: object) -> str:
    """``text`` as Markdown shows it, literally, in running text and in a table cell alike:
    on one line (a line break could start a heading or end a table), each markup character
    escaped with a backslash."""
    return _MARKUP.sub(r"\\\g<0>", " ".join(str(text).split()))


def _escaped(value: object) -> object:
    """A document with every string value in it escaped; numbers and flags as they are. Keys
    stay as they are, for the renderer to look up: where it shows one (a group's name), it
    escapes it there."""
    if isinstance(value, str):
        return escape(value)
    if isinstance(value, dict):
        return {key: _escaped(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_escaped(item) for item in value]
    return value


def _escaped_document(document: ResultDocument) -> ResultDocument:
    """The document escaped, of the same shape; without its cases (a result may hold 200,000),
    which the summary does not show, so does not copy."""
    shown = {key: _escaped(value) for key, value in document.items() if key != "cases"}
    return cast(ResultDocument, shown | {"cases": []})


def render(document: ResultDocument) -> str:
    document = _escaped_document(document)
    lines = [*_heading(document), *_raters(document)]
    # In CI the comparison with the accepted run is what a reviewer reads first.
    if document["comparison"] is not None:
        lines += [*_comparison(document["comparison"]), ""]
    found = statistics(document)
    if found is not None:
        lines += _versus_baseline(document, found)
    lines += [""] + [f"**Warning**: {warning}" for warning in document.get("warnings", [])]
    lines += ["", "| gate | result | detail |", "| --- | --- | --- |"]
    lines += [
        f"| {g['name']} | {'passed' if g['passed'] else '**FAILED**'} | {g['detail']} |" for g in document["gates"]
    ]
    # Under the gates, what a reviewer opens when a comparison failed.
    changed = None if document["comparison"] is None else compared.changed_cases(document["comparison"])
    if changed is not None:
        lines += ["", *_changed_cases(changed)]
    return "\n".join(lines) + "\n"


def _heading(document: ResultDocument) -> list[str]:
    """The outcome, and who rated which corpus."""
    corpus = document["corpus"]
    outcome = "passed" if document["passed"] else "FAILED"
    off = gates_off(document)
    if off is not None:
        outcome += f" ({off})"
    return [
        f"### pytest-empathy: {document['model']} {outcome}",
        "",
        f"Judge **{document['judge']}**, baseline **{document['baseline']}** ({document['baseline_rates']}), "
        f"corpus **{corpus['name']}**: {corpus['rated']} of {corpus['cases']} cases rated"
        + ("" if document["complete"] else " (INCOMPLETE)")
        + ".",
        "",
    ]


def _raters(document: ResultDocument) -> list[str]:
    """The judge's standing, and the crowd's scale where the figures are on it."""
    lines = []
    if document.get("judge_standing"):
        lines += [f"Judge **{document['judge']}**: {document['judge_standing']}.", ""]
    said = crowd_scale.raters(document)
    if said is not None and said == document.get("mixed_raters"):
        lines += [f"**{said}**: a difference between raters is part of every figure.", ""]
    elif said is not None:
        lines += [f"**{said}**: the Good-rate gates decide on the crowd's scale.", ""]
    return lines + [f"- {line}" for line in crowd_scale.lines(document)] + ([""] if crowd_scale.lines(document) else [])


def _versus_baseline(document: ResultDocument, found: Statistics) -> list[str]:
    """The methods, a row per group shown (overall, polarity, significant emotions), the notes."""
    lines = ["**PARTIAL**: figures computed on the cases rated so far.", ""] if document["partial"] else []
    methods = found.methods
    lines += [
        f"Good rate tested one-sided ({methods['good_rate_test']}, "
        f"{'paired' if methods['paired'] else 'unpaired'}, alpha {methods['alpha']:g}), "
        f"{interval_levels(document)}; the ordinal effect (Cliff's delta) and the "
        f"study's chi-square test beside it. Verdicts use the {methods.get('gate_test', 'good-rate')} test."
        + (" Ratings clustered by rater: tests corrected by the design effect." if methods.get("clustered") else ""),
        "",
        "| group | n | model Good | baseline Good | Good change [CI] | gain | Cliff's delta [CI] | verdict "
        "| study test p |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    groups = [("overall", found.overall)]
    groups += [(p, g) for p, g in found.polarity.items() if g["n"]]
    groups += [(e, g) for e, g in found.emotions.items() if g["significant"]]
    lines += [_group_row(name, group) for name, group in groups]
    significant = sum(1 for g in found.emotions.values() if g["significant"])
    lines += ["", _significant_emotions(significant, len(found.emotions), methods.get("gate_test", "good-rate"))]
    every = [("overall", found.overall), *found.polarity.items(), *found.emotions.items()]
    return lines + [f"- {escape(name)}: {g['note']}" for name, g in every if g["note"]]


def _group_row(name: str, group: GroupEntry) -> str:
    return (
        f"| {escape(name)} | {group['n']} | {percent(group['good_rate'])} "
        f"| {percent(group['baseline_good_rate'])} "
        f"| {change(group['good_gain_absolute'], group['good_gain_absolute_ci'])} "
        f"| {gain(group['good_gain_relative'])} | {cliffs_delta(group['ordinal'])} | {verdict(group)} "
        f"| {group['test']} {p_value(group['p_value'])} |"
    )


def _significant_emotions(significant: int, emotions: int, test: str) -> str:
    under = f"after Holm under the {test} test"
    if significant == 0:
        return f"No emotion of {emotions} differs significantly {under}."
    differ = "differs" if significant == 1 else "differ"
    return f"{significant} of {emotions} emotions {differ} significantly {under} (listed above)."


_COMPARISON_HEADER = (
    "| {first} | n | saved B/O/G | run B/O/G | saved Good | run Good | Good change [{interval}] | p 1-sided "
    "{holm}| Cliff's delta [CI] | verdict | whole-scale test p |"
)


def _comparison(comparison: ComparisonEntry) -> list[str]:
    """The saved-run comparison, short enough for a pull-request comment: the overall and
    polarity rows and the templates in view, each emotion's row folded away."""
    interval, clustering = interval_heading(comparison), compared.clustering(comparison)
    lines = [
        f"#### Compared with saved run {compared.saved_run(comparison)}",
        "",
        f"Saved run: {compared.provenance(comparison)}; {compared.coverage(comparison)}.",
        "",
    ]
    for template in compared.templates(comparison):
        state = "**CHANGED**" if template.changed else "unchanged"
        lines.append(
            f"- {template.role} template: saved `{compared.short(template.saved)}`, "
            f"now `{compared.short(template.run)}` ({state})"
        )
    lines += [
        "",
        f"Test: {compared.TESTS}; {interval_levels(comparison)}.",
        "",
        *([f"Raters: {clustering}.", ""] if clustering else []),
        *_comparison_table(compared.summary_rows(comparison), first="group", interval=interval, holm=False),
        "",
    ]
    emotions = compared.emotion_rows(comparison)
    declined = compared.declined(emotions)
    if declined:
        named = ", ".join(f"{escape(row.group)} (p Holm {row.p_holm})" for row in declined)
        lines.append(f"**Declined significantly after Holm**: {named}.")
    else:
        lines.append("No emotion declined significantly after Holm.")
    lines += [
        "",
        f"<details><summary>Per emotion: {len(emotions)} compared, {len(declined)} declined significantly</summary>",
        "",
        *_comparison_table(emotions, first="emotion", interval=interval_heading(comparison, emotions=True), holm=True),
        "",
        "</details>",
    ]
    return lines


# How many changed cases the summary lists, and how much of each answer it shows: a
# pull-request comment stays short; the JSON result lists every case whole.
MARKDOWN_CASES = 20
ANSWER_CHARS = 160


def _changed_cases(changed: compared.ChangedCases) -> list[str]:
    """The changed cases, folded: the first MARKDOWN_CASES, worst first, with both answers."""
    if not changed.count:
        return ["No case changed rating since the saved run."]
    lines = [
        f'<details id="changed-cases"><summary>{changed.brief}</summary>',
        "",
        "| case | emotion | saved -> run | saved answer | this run's answer |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += [
        f"| {case['case_id']} | {case['emotion']} | {compared.transition(case)} "
        f"| {_answer(case['saved_response'])} | {_answer(case['run_response'])} |"
        for case in changed.cases[:MARKDOWN_CASES]
    ]
    more = changed.count - MARKDOWN_CASES
    if more > 0:
        lines += ["", f"and {more} more in the JSON result"]
    return [*lines, "", "</details>"]


def _answer(text: str | None) -> str:
    """An answer in a table cell of a pull-request comment, cut to about ANSWER_CHARS. It comes
    escaped with the rest of the document (on one line, markup and pipes escaped): the cut
    never leaves a lone backslash, which would escape what follows it."""
    if text is None:
        return "-"
    if len(text) <= ANSWER_CHARS:
        return text
    cut = text[: ANSWER_CHARS - 3].rstrip()
    trailing = len(cut) - len(cut.rstrip("\\"))
    return cut[: len(cut) - trailing % 2] + "..."


def _comparison_table(rows: list[compared.Row], *, first: str, interval: str, holm: bool) -> list[str]:
    """The header, the alignment row and a row per group; ``holm`` adds the Holm column."""
    header = _COMPARISON_HEADER.format(first=first, interval=interval, holm="| p Holm " if holm else "")
    alignment = "| --- | " + "---: | " * (9 if holm else 8) + "--- | ---: |"
    return [header, alignment, *(_comparison_row(row, holm=holm) for row in rows)]


def _comparison_row(row: compared.Row, *, holm: bool) -> str:
    return (
        f"| {escape(row.group)} | {row.n} | {row.saved_counts} | {row.run_counts} | {row.saved_good} | {row.run_good} "
        f"| {row.good_change} | {row.p} " + (f"| {row.p_holm} " if holm else "") + f"| {row.delta} "
        f"| {row.verdict} | {row.whole_test} {row.whole_p} |"
    )
