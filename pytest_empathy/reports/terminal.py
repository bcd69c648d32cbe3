"""The terminal summary of a run, from its JSON document, laid out for the terminal's width
and pytest's verbosity: -qq one line, -q a summary of a few lines (the verdict, each gate,
what changed, where the reports are), by default the figures a CI log reader needs, -v every
column, emotion and note. The full table is always in the JSON and HTML reports."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from pytest_empathy.formatting import P_FLOOR, change, gain, p_value, percent
from pytest_empathy.reports import crowd_scale
from pytest_empathy.reports import saved_run_comparison as compared
from pytest_empathy.reports.entries import (
    Entry,
    Statistics,
    cliffs_delta,
    detects,
    gates_off,
    interval_levels,
    one_sided_p,
    shares,
    statistics,
    total,
    verdict,
)
from pytest_empathy.reports.layout import Column, clip, listed, table, wrap
from pytest_empathy.results.result_document import ComparisonEntry, GroupEntry, RecordingEntry, ResultDocument

# Lines of a -q summary at most: a CI log shows it without scrolling.
SHORT = 14


@dataclass(frozen=True)
class Layout:
    width: int
    # pytest's verbosity: -2 for -qq, -1 for -q, 0 by default, 1 and more for -v.
    verbosity: int = 0


@dataclass(frozen=True)
class Files:
    """What the session did with the document: the reports written (title, path), those that
    could not be (why, each), the saved run's path, and whether the run is a shard."""

    reports: tuple[tuple[str, str], ...] = ()
    unwritten: tuple[str, ...] = ()
    saved_run: str | None = None
    shard: bool = False


@dataclass(frozen=True)
class Line:
    text: str
    # A failure, shown red and bold.
    alarm: bool = False


def summary(document: ResultDocument, files: Files, layout: Layout) -> list[Line]:
    if layout.verbosity <= -2:
        return [Line(one_line(document, files), alarm=not _passed(document, files))]
    if layout.verbosity == -1:
        return _short(document, files, layout.width)
    return _detail(document, files, layout)


def one_line(document: ResultDocument, files: Files) -> str:
    """The run in one line, for -qq: the verdict, what failed by name, the key figures."""
    failed = [gate["name"] for gate in document["gates"] if not gate["passed"]]
    failed += [line.partition(":")[0] for line in files.unwritten]
    text = f"pytest-empathy: {document['model']} {_outcome(document, files)}"
    if failed:
        text += f" ({', '.join(failed)})"
    overall = document["overall"]
    if overall is None:
        return f"{text}: {_rated(document)}"
    text += (
        f": Good {percent(overall['good_rate'])} vs {document['baseline']} {percent(overall['baseline_good_rate'])} "
        f"({verdict(overall)})"
    )
    comparison = document["comparison"]
    if comparison is not None:
        saved = comparison["overall"]
        text += (
            f"; saved run {compared.saved_run(comparison)} {percent(saved['good_rate_saved'])} -> "
            f"{percent(saved['good_rate_run'])} ({verdict(saved)})"
        )
    return text


def _passed(document: ResultDocument, files: Files) -> bool:
    return bool(document["passed"]) and not files.unwritten


def _outcome(document: ResultDocument, files: Files) -> str:
    if files.shard:
        return "shard (pytest-empathy merge decides the gates)"
    return "PASSED" if _passed(document, files) else "FAILED"


def _rated(document: ResultDocument) -> str:
    corpus = document["corpus"]
    return f"{corpus['rated']} of {corpus['cases']} cases rated, no statistics"


def _verdict(document: ResultDocument, files: Files) -> str:
    text = f"{document['model']} {_outcome(document, files)}"
    overall = document["overall"]
    if overall is None:
        return f"{text}: {_rated(document)}"
    text += (
        f": Good {percent(overall['good_rate'])} vs {document['baseline']} {percent(overall['baseline_good_rate'])}, "
        f"{change(overall['good_gain_absolute'], overall['good_gain_absolute_ci'])} ({verdict(overall)})"
    )
    if document["partial"]:
        text += ", PARTIAL"
    off = gates_off(document)
    return text if off is None else f"{text}; {off}"


def _versus_saved_run(comparison: ComparisonEntry) -> str:
    overall = comparison["overall"]
    return (
        f"against saved run {compared.saved_run(comparison)}: Good {percent(overall['good_rate_saved'])} -> "
        f"{percent(overall['good_rate_run'])}, {change(overall['good_change'], overall['good_change_ci'])} "
        f"({verdict(overall)})"
    )


def _short(document: ResultDocument, files: Files, width: int) -> list[Line]:
    """About SHORT lines: warnings, then passed gates, fold into one line each where there
    are too many (each gate keeps its own line the longest); failed gates are cut only where
    they alone overflow, saying how many more."""
    gates = document["gates"]
    head = [Line(line, alarm=not _passed(document, files)) for line in wrap(_verdict(document, files), width)]
    failed = [Line(clip(f"FAILED {g['name']}: {g['detail']}", width), alarm=True) for g in gates if not g["passed"]]
    passed = [Line(clip(f"PASSED {g['name']}: {g['detail']}", width)) for g in gates if g["passed"]]
    warnings = [Line(clip(f"WARNING {w}", width)) for w in document.get("warnings", [])]
    tail = _short_tail_lines(document, files, width)
    room = SHORT - len(head) - len(tail)
    if len(failed) + len(passed) + len(warnings) > room and len(warnings) > 1:
        warnings = [Line(clip(f"{len(warnings)} warnings, the first: {warnings[0].text}", width))]
    if len(failed) + len(passed) + len(warnings) > room and len(passed) > 1:
        passed = [Line(listed("PASSED", [g["name"] for g in gates if g["passed"]], width))]
    if len(failed) + len(passed) + len(warnings) > room:
        kept = max(room - len(passed) - len(warnings) - 1, 1)
        more = len(failed) - kept
        failed = [*failed[:kept], Line(f"and {more} more failed gate(s): run without -q to read them", alarm=True)]
    return head + failed + passed + warnings + tail


def _short_tail_lines(document: ResultDocument, files: Files, width: int) -> list[Line]:
    """What follows the gates at -q, wrapped: recording, the comparison, the files."""
    tail = [Line(line) for text in _short_tail(document, files, width) for line in wrap(text, width)]
    return tail + [Line(line, alarm=True) for text in files.unwritten for line in wrap(text, width)]


def _short_tail(document: ResultDocument, files: Files, width: int) -> Iterator[str]:
    recording = document["recording"]
    if recording is not None and recording["unrecorded"]:
        yield f"{recording['unrecorded']} case(s) need (re-)recording: {recording['command']}"
    comparison = document["comparison"]
    if comparison is not None:
        worse = [row.group for row in compared.declined(compared.emotion_rows(comparison))]
        yield clip(_versus_saved_run(comparison), width)
        if worse:
            yield listed(f"{len(worse)} emotion(s) worse than the saved run", worse, width)
        changed = compared.changed_cases(comparison)
        if changed is not None and changed.count:
            yield listed(changed.brief, [case["case_id"] for case in changed.cases], width)
    if files.reports:
        yield "reports: " + ", ".join(f"{title} {path}" for title, path in files.reports)
    if files.saved_run is not None:
        yield f"saved run: {files.saved_run}"
    if files.shard:
        yield _SHARD


_SHARD = "shard: the gates above do not set the exit status; pytest-empathy merge decides them for the whole benchmark"


def _detail(document: ResultDocument, files: Files, layout: Layout) -> list[Line]:
    lines = [Line(line) for line in _figures(document, layout)]
    width = layout.width
    lines += _files_written(files, width)
    if files.shard:
        return lines + [Line(line) for line in wrap(_SHARD, width)]
    failures = [f"empathy gate failed: {g['name']}: {g['detail']}" for g in document["gates"] if not g["passed"]]
    if layout.verbosity > 0:
        return lines + [Line(line, alarm=True) for text in failures for line in wrap(text, width)]
    # The last lines of the log name what failed; each one's whole line is above.
    return lines + [Line(clip(text, width), alarm=True) for text in failures]


def _files_written(files: Files, width: int) -> list[Line]:
    """The reports written, those that could not be, and the saved run."""
    lines = [Line(line) for title, path in files.reports for line in wrap(f"{title}: {path}", width)]
    lines += [Line(line, alarm=True) for text in files.unwritten for line in wrap(text, width)]
    if files.saved_run is not None:
        lines += [Line(line) for line in wrap(f"saved run: {files.saved_run}", width)]
    return lines


def _figures(document: ResultDocument, layout: Layout) -> Iterator[str]:
    width = layout.width
    for text in _about(document):
        yield from wrap(text, width)
    found = statistics(document)
    if found is not None:
        yield from _versus_baseline_lines(document, found, layout)
    if document["comparison"] is not None:
        yield from _comparison_lines(document["comparison"], layout)
    yield from _unused_cassettes(document, width)
    yield ""
    for warning in document.get("warnings", []):
        yield from wrap(f"WARNING {warning}", width)
    for gate in document["gates"]:
        yield from wrap(f"{'PASSED' if gate['passed'] else 'FAILED'} {gate['name']}: {gate['detail']}", width)


def _versus_baseline_lines(document: ResultDocument, found: Statistics, layout: Layout) -> Iterator[str]:
    """The methods, the table of groups against the baseline, and their notes."""
    width, full = layout.width, layout.verbosity > 0
    if document["partial"]:
        yield "PARTIAL: every figure below is computed on the cases rated so far"
    groups = _groups(found)
    shown = groups if full else [g for g in groups if not g.hidden]
    laid = table(_VERSUS_BASELINE, shown, None if full else width)
    yield ""
    for text in _methods(document, found, full, "detects" in laid.left_out):
        yield from wrap(text, width)
    yield ""
    yield from laid.lines
    hidden = [g.entry for g in groups if g not in shown]
    yield from _left_out(hidden, "without a significant difference or a note", laid.left_out, width)
    for group in shown:
        if group.entry["note"]:
            yield from wrap(f"note, {group.name}: {group.entry['note']}", width)


def _unused_cassettes(document: ResultDocument, width: int) -> Iterator[str]:
    unused = document["unused_cassettes"]
    if not unused["count"]:
        return
    state = "deleted" if unused["pruned"] else "not used by any case (--empathy-prune-cassettes deletes them)"
    # What was deleted is listed whole; what could be, by its first paths.
    paths = unused["paths"] if unused["pruned"] else unused["paths"][:3]
    shown_paths = ", ".join(paths) + (", ..." if len(paths) < unused["count"] else "")
    yield ""
    yield from wrap(f"{unused['count']} cassette(s) of {document['model']} {state}: {shown_paths}", width)


def _about(document: ResultDocument) -> Iterator[str]:
    """Who rated what, on which corpus, with which templates, calls and cassettes."""
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


@dataclass(frozen=True)
class _Group:
    name: str
    entry: GroupEntry
    # An emotion without a significant difference or a note: a row only at -v.
    hidden: bool = False


def _groups(found: Statistics) -> list[_Group]:
    groups = [_Group("overall", found.overall)]
    groups += [_Group(name, entry) for name, entry in found.polarity.items() if entry["n"]]
    groups += [
        _Group(name, entry, hidden=not (entry.get("significant") or entry["note"]))
        for name, entry in found.emotions.items()
    ]
    return groups


def _left_out(hidden: Sequence[Entry], why: str, columns: list[str], width: int) -> list[str]:
    """One line, wrapped, on what a table leaves out at this verbosity and width, if anything."""
    parts = []
    if hidden:
        kinds = Counter(verdict(entry) for entry in hidden)
        parts.append(f"{len(hidden)} emotions {why} (" + ", ".join(f"{n} {kind}" for kind, n in kinds.items()) + ")")
    if columns:
        parts.append(f"{len(columns)} columns that need a wider terminal")
    if not parts:
        return []
    return wrap(f"not shown: {'; '.join(parts)}; -v and the JSON and HTML reports show every row and column", width)


_VERSUS_BASELINE: tuple[Column[_Group], ...] = (
    Column("group", lambda g: g.name, left=True),
    Column("n", lambda g: f"{g.entry['n']}/{total(g.entry['baseline'])}"),
    Column("model\nB/O/G %", lambda g: shares(g.entry["model"])),
    Column("base\nB/O/G %", lambda g: shares(g.entry["baseline"])),
    Column("Good change\n[CI]", lambda g: change(g.entry["good_gain_absolute"], g.entry["good_gain_absolute_ci"])),
    Column(
        "Good gain\n[CI]",
        lambda g: gain(g.entry["good_gain_relative"], g.entry["good_gain_relative_ci"]),
        priority=4,
    ),
    Column("p\n1-sided", lambda g: p_value(one_sided_p(g.entry)), priority=1),
    Column("p\nHolm", lambda g: p_value(one_sided_p(g.entry, holm=True))),
    Column("Cliff delta\n[CI]", lambda g: cliffs_delta(g.entry["ordinal"]), priority=5),
    Column("ordinal p\n1-sided", lambda g: p_value(one_sided_p(g.entry, test="ordinal")), priority=6),
    Column("ordinal p\nHolm", lambda g: p_value(one_sided_p(g.entry, holm=True, test="ordinal")), priority=7),
    Column("verdict", lambda g: verdict(g.entry), left=True),
    Column("detects", lambda g: detects(g.entry["detectable"]), priority=2),
    Column("study test", lambda g: f"{g.entry['test']} p {p_value(g.entry['p_value'])}", priority=3, left=True),
)


def unrecorded(recording: RecordingEntry, cases: int) -> str:
    """How many of a run's cases need recording, why, and the command that records them."""
    changed = recording["template_changed"]
    why = f", {changed} because a template changed since their cassettes were recorded" if changed else ""
    return (
        f"{recording['unrecorded']} of {cases} cases need (re-)recording{why}. Record exactly those (the rest is "
        f"left untouched) with: {recording['command']}"
    )


def _methods(document: ResultDocument, found: Statistics, full: bool, no_detects: bool) -> Iterator[str]:
    methods, overall = found.methods, found.overall
    decides = methods.get("gate_test", "good-rate")
    design = overall.get("design_effect") if methods.get("clustered") else None
    if full:
        yield (
            f"Good rate: one-sided {methods['good_rate_test']}, {'paired' if methods['paired'] else 'unpaired'}, "
            f"alpha {methods['alpha']:g}; {interval_levels(document)}; Holm across emotions; 'detects': the smallest "
            "Good-rate difference in points found with 80% power (at Holm's first step for an emotion)"
        )
        ordinal = methods.get("ordinal")
        if ordinal:
            yield f"ordinal: Cliff's delta, one-sided {ordinal['test']}, the same alpha, intervals and Holm"
        yield f"the verdict and the gates better and no-emotion-worse use the {decides} test"
        if design:
            yield (
                f"clustered ratings: {design['raters']} raters; design effect overall "
                f"{_design(design['good_rate'])} (Good rate), {_design(design['ordinal'])} (ordinal); "
                f"{methods['clusters']}"
            )
    else:
        text = (
            f"methods: Good rate one-sided {methods['good_rate_test']}, "
            f"{'paired' if methods['paired'] else 'unpaired'}, alpha {methods['alpha']:g}, Holm across emotions; "
            f"{interval_levels(document)}"
        )
        if methods.get("ordinal"):
            text += "; Cliff's delta beside it"
        text += f"; the verdict and the gates use the {decides} test"
        if design:
            text += (
                f"; ratings clustered by {design['raters']} raters, design effect {_design(design['good_rate'])} "
                f"(Good rate), {_design(design['ordinal'])} (ordinal)"
            )
        if not no_detects:
            text += (
                "; 'detects': the smallest Good-rate difference in points found with 80% power by the test"
                " deciding each side (the JSON's detectable names it)"
            )
        yield text
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


_VERSUS_SAVED_RUN: tuple[Column[compared.Row], ...] = (
    Column("group", lambda r: r.group, left=True),
    Column("n", lambda r: str(r.n)),
    Column("saved\nB/O/G %", lambda r: r.saved_shares),
    Column("run\nB/O/G %", lambda r: r.run_shares),
    Column("Good change\n[CI]", lambda r: r.good_change),
    Column("p\n1-sided", lambda r: r.p, priority=1),
    Column("p\nHolm", lambda r: r.p_holm),
    Column("Cliff delta\n[CI]", lambda r: r.delta, priority=3),
    Column("ordinal p\n1-sided", lambda r: r.p_ordinal, priority=4),
    Column("verdict", lambda r: r.verdict, left=True),
    Column("Stuart-Maxwell", lambda r: f"p {r.whole_p}", priority=2, left=True),
)


def _comparison_lines(comparison: ComparisonEntry, layout: Layout) -> Iterator[str]:
    width, full = layout.width, layout.verbosity > 0
    yield ""
    yield from wrap(
        f"compared with saved run {compared.saved_run(comparison)} ({compared.provenance(comparison)}): "
        f"{compared.coverage(comparison)}",
        width,
    )
    for template in compared.templates(comparison):
        state = "CHANGED" if template.changed else "unchanged"
        yield from wrap(
            f"{template.role} template: saved {compared.short(template.saved)}, "
            f"now {compared.short(template.run)} ({state})",
            width,
        )
    yield from wrap(f"test: {compared.TESTS}; {interval_levels(comparison)}", width)
    clustering = compared.clustering(comparison)
    if clustering is not None:
        yield from wrap(clustering, width)
    yield ""
    emotions = compared.emotion_rows(comparison)
    entries = comparison["emotions"]
    hidden = [] if full else [row for row in emotions if not entries[row.group].get("significant")]
    laid = table(
        _VERSUS_SAVED_RUN,
        compared.summary_rows(comparison) + [row for row in emotions if row not in hidden],
        None if full else width,
    )
    yield from laid.lines
    yield from _left_out([entries[row.group] for row in hidden], "without a significant change", laid.left_out, width)
    for line in compared.changed_lines(comparison):
        yield from wrap(line, width)
