"""The HTML report: one self-contained file (plots inline, no network) from a JSON result."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from html import escape
from importlib.metadata import PackageNotFoundError, version

from pytest_empathy.formatting import change, gain, p_value, percent
from pytest_empathy.reports.entries import (
    Statistics,
    cliffs_delta,
    detects,
    gates_off,
    interval_heading,
    interval_levels,
    one_sided_p,
    shares,
    statistics,
    total,
    verdict,
)
from pytest_empathy.results.result_document import ComparisonEntry, Counts, ResultDocument

from . import crowd_scale, plots
from . import saved_run_comparison as compared

DEPENDENCIES = ("pytest", "pytest-xdist", "scipy", "numpy", "pandas", "openai", "vcrpy", "matplotlib")

DASH = "\u2013"  # an en dash where a figure is missing
STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; color: #222; padding: 0 1rem; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; }
h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
.verdict { font-size: 1.2rem; font-weight: 600; padding: .5rem .8rem; border-radius: 6px; display: inline-block; }
.passed { background: #e3f2e6; color: #1d5e2e; } .failed { background: #fbe3df; color: #8a2415; }
.partial { background: #fff3cd; color: #6b4e00; padding: .4rem .8rem; border-radius: 6px; }
table { border-collapse: collapse; margin: .5rem 0; }
td, th { padding: .25rem .6rem; border-bottom: 1px solid #eee; text-align: left; vertical-align: top; }
th { background: #f6f6f6; } td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.wide { overflow-x: auto; } tr.note td { border-bottom: 1px solid #eee; padding-top: 0; }
dl { display: grid; grid-template-columns: max-content auto; gap: .2rem 1rem; } dt { color: #666; } dd { margin: 0; }
img { max-width: 100%; } code { font-size: 12px; } td code { white-space: nowrap; } .muted { color: #777; }
.rating-good { color: #1d5e2e; font-weight: 600; } .rating-okay { color: #7a5a00; }
.rating-bad { color: #8a2415; font-weight: 600; }
"""

FILTER_SCRIPT = """
function filterRows(table) {
  const selects = Array.from(document.querySelectorAll(`select[data-table="${table}"]`));
  let shown = 0;
  for (const row of document.querySelectorAll(`#${table} tbody tr`)) {
    const visible = selects.every((select) => !select.value || row.dataset[select.name] === select.value);
    row.style.display = visible ? '' : 'none';
    shown += visible ? 1 : 0;
  }
  document.getElementById(`${table}-shown`).textContent = shown;
}
document.addEventListener('DOMContentLoaded', () => {
  for (const filters of document.querySelectorAll('.filters')) filters.hidden = false;
});
"""


def _image(png: bytes, alt: str) -> str:
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _versions(result: ResultDocument) -> str:
    found = [f"pytest-empathy {result.get('version', '?')}"]
    for name in DEPENDENCIES:
        try:
            found.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            continue
    return ", ".join(found)


def _gates_off(result: ResultDocument) -> str:
    off = gates_off(result)
    return "" if off is None else f" <span class=muted>({escape(off)})</span>"


def _title(result: ResultDocument) -> str:
    """The model and what its run was decided against: the baseline where its gates were
    on, the saved run where a comparison was made."""
    against = [] if gates_off(result) else [result["baseline"]]
    if result["comparison"] is not None:
        against.append(f"saved run {compared.saved_run(result['comparison'])}")
    return f"{result['model']} against {' and '.join(against) or result['baseline']}"


def _p(p: float | None) -> str:
    return p_value(p, missing=DASH)


def _shares(counts: Counts) -> str:
    return shares(counts, separator=" / ", missing=DASH)


def _methods(result: ResultDocument, found: Statistics) -> str:
    methods = found.methods
    ordinal = methods.get("ordinal")
    return (
        f"Verdicts: the Good rate, one-sided {methods['good_rate_test']} "
        f"({'paired' if methods['paired'] else 'unpaired'}) at alpha {methods['alpha']:g}, with "
        f"intervals that invert the same test ({interval_levels(result)}); {methods['correction']}. "
        f"Study test: {methods['study_test']}; "
        f"{methods['exact_rule']}. Ordinal effect: Cliff's delta, "
        f"{ordinal['test'] if ordinal else 'not computed'}. The verdict column is the "
        f"{methods.get('gate_test', 'good-rate')} test's."
        + (f" Clustered ratings: {methods['clusters']}." if methods.get("clustered") else "")
    )


def _stats_table(found: Statistics) -> str:
    rows = [("overall", found.overall)]
    rows += [(name, entry) for name, entry in found.polarity.items() if entry["n"]]
    rows += list(found.emotions.items())
    body = []
    for name, entry in rows:
        body.append(
            f"<tr><td>{escape(name)}</td><td class=num>{entry['n']}/{total(entry['baseline'])}</td>"
            f"<td class=num>{_shares(entry['model'])}</td><td class=num>{_shares(entry['baseline'])}</td>"
            f"<td class=num>{percent(entry['good_rate'])}</td><td class=num>{percent(entry['baseline_good_rate'])}</td>"
            f"<td class=num>{change(entry['good_gain_absolute'], entry['good_gain_absolute_ci'])}</td>"
            f"<td class=num>{gain(entry['good_gain_relative'], entry['good_gain_relative_ci'])}</td>"
            f"<td class=num>{_p(one_sided_p(entry))}</td><td class=num>{_p(one_sided_p(entry, holm=True))}</td>"
            f"<td class=num>{cliffs_delta(entry['ordinal'])}</td>"
            f"<td class=num>{_p(one_sided_p(entry, test='ordinal'))}</td>"
            f"<td class=num>{_p(one_sided_p(entry, holm=True, test='ordinal'))}</td>"
            f"<td>{escape(verdict(entry))}</td><td class=num>{detects(entry['detectable'], missing=DASH)}</td>"
            f"<td>{entry['test']}</td>"
            f"<td class=num>{_p(entry['p_value'])}</td><td class=num>{_p(entry.get('p_holm'))}</td></tr>"
        )
        if entry["note"]:
            body.append(f"<tr class=note><td></td><td colspan=17 class=muted>{escape(entry['note'])}</td></tr>")
    return (
        "<div class=wide><table><thead><tr><th>group</th><th>n model/baseline</th><th>model B/O/G %</th>"
        "<th>baseline B/O/G %</th><th>model Good</th><th>baseline Good</th><th>Good change [CI]</th>"
        "<th>Good gain [CI]</th><th>p one-sided</th><th>p Holm</th><th>Cliff's delta [CI]</th>"
        "<th>ordinal p one-sided</th><th>ordinal p Holm</th><th>verdict</th>"
        "<th title='the smallest difference, in points, found with 80% power'>detects</th><th>study test</th>"
        "<th>study p</th><th>study p Holm</th></tr></thead><tbody>" + "".join(body) + "</tbody></table></div>"
    )


def _comparison(comparison: ComparisonEntry) -> str:
    """The saved-run comparison: which saved run, its templates against this run's, and
    every group's figures."""
    name = escape(compared.saved_run(comparison))
    templates = "".join(
        f"<tr><td>{escape(t.role)}</td><td><code title='{escape(t.saved or '')}'>{escape(compared.short(t.saved))}"
        f"</code></td><td><code title='{escape(t.run or '')}'>{escape(compared.short(t.run))}</code></td>"
        + ("<td class=failed>CHANGED</td>" if t.changed else "<td>unchanged</td>")
        + "</tr>"
        for t in compared.templates(comparison)
    )
    emotions = compared.emotion_rows(comparison, missing=DASH)
    declined = compared.declined(emotions)
    named = ", ".join(f"{escape(row.group)} (p Holm {escape(row.p_holm)})" for row in declined)
    rows = "".join(_comparison_row(row) for row in compared.summary_rows(comparison, missing=DASH) + emotions)
    clustering = compared.clustering(comparison)
    parts = [
        f"<h2>Compared with saved run {name}</h2>",
        f"<dl><dt>saved run</dt><dd>{name}: <code>{escape(comparison['path'])}</code></dd>",
        f"<dt>model</dt><dd>{escape(comparison['model'])}</dd><dt>judge</dt><dd>{escape(comparison['judge'])}</dd>",
        f"<dt>saved at</dt><dd>{escape(comparison['saved_at'] or DASH)}</dd>",
        f"<dt>cases</dt><dd>{escape(compared.coverage(comparison))}</dd></dl>",
        "<table><thead><tr><th>template sha256</th><th>saved</th><th>now</th><th></th></tr></thead>",
        f"<tbody>{templates}</tbody></table>",
        f"<p>Test: {escape(compared.TESTS)}; {escape(interval_levels(comparison))}.</p>",
        f"<p>Raters: {escape(clustering)}.</p>" if clustering else "",
        f"<p class=partial>Declined significantly after Holm: {named}</p>"
        if declined
        else "<p>No emotion declined significantly after Holm.</p>",
        "<div class=wide><table><thead><tr><th>group</th><th>n</th><th>saved B/O/G</th><th>run B/O/G</th>"
        "<th>saved Good</th><th>run Good</th><th>Good change [CI]</th>"
        "<th>p one-sided</th><th>p Holm</th><th>Cliff's delta [CI]</th><th>ordinal p one-sided</th>"
        f"<th>verdict</th><th>whole-scale test p</th></tr></thead><tbody>{rows}</tbody></table></div>",
    ]
    if comparison.get("tests"):
        parts.append(f"<p class=muted>{escape(comparison['tests'])}.</p>")
    changed = compared.changed_cases(comparison)
    if changed is not None:
        parts.append(_changed_cases(changed))
    return "\n".join(parts)


def _comparison_row(row: compared.Row) -> str:
    figures = (
        row.n,
        row.saved_counts,
        row.run_counts,
        row.saved_good,
        row.run_good,
        row.good_change,
        row.p,
        row.p_holm,
        row.delta,
        row.p_ordinal,
    )
    cells = "".join(f"<td class=num>{escape(str(figure))}</td>" for figure in figures)
    return (
        f"<tr><td>{escape(row.group)}</td>{cells}<td>{escape(row.verdict)}</td>"
        f"<td class=num><code>{escape(row.whole_test)}</code> {escape(row.whole_p)}</td></tr>"
    )


def _cases_table(result: ResultDocument) -> str:
    cases = result["cases"]
    with_text = any("utterance" in case or "response" in case for case in cases)
    emotions = sorted({case["emotion"] for case in cases})
    head = "<th>case</th><th>emotion</th><th>rating</th><th>baseline rating</th>"
    if with_text:
        head += "<th>utterance</th><th>response</th>"
    rows = []
    for case in cases:
        cells = (
            f"<td><code>{escape(case['id'])}</code></td><td>{escape(case['emotion'])}</td>"
            f"<td class=rating-{case['rating']}>{case['rating']}</td>"
            f"<td>{case['baseline_rating'] or DASH}</td>"
        )
        if with_text:
            cells += f"<td>{escape(case.get('utterance', ''))}</td><td>{escape(case.get('response', ''))}</td>"
        rows.append(f'<tr data-emotion="{escape(case["emotion"])}" data-rating="{case["rating"]}">{cells}</tr>')
    note = (
        ""
        if with_text
        else (
            "<p class=muted>No text in this result: the corpus was read as ratings only. Run with "
            "<code>--empathy-corpus-text</code> (or a corpus with text) to see utterances and responses.</p>"
        )
    )
    options = "".join(f'<option value="{escape(e)}">{escape(e)}</option>' for e in emotions)
    return (
        f"{note}<p>Emotion <select name=emotion data-table=cases onchange=filterRows('cases')>"
        f"<option value=''>all</option>{options}</select> "
        "Rating <select name=rating data-table=cases onchange=filterRows('cases')><option value=''>all</option>"
        "<option>bad</option><option>okay</option><option>good</option></select> "
        f"<span class=muted><span id=cases-shown>{len(cases)}</span> of {len(cases)} cases shown</span></p>"
        f"<table id=cases><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _changed_cases(changed: compared.ChangedCases) -> str:
    """Every changed case, worst first, with both answers, filterable by emotion and direction."""
    if not changed.count:
        return "<p>No case changed rating since the saved run.</p>"
    rows = []
    for case in changed.cases:
        way = compared.direction(case)
        rows.append(
            f'<tr data-emotion="{escape(case["emotion"])}" data-direction={way}>'
            f"<td><code>{escape(case['case_id'])}</code></td><td>{escape(case['emotion'])}</td>"
            f"<td class=rating-{case['saved']}>{case['saved']}</td><td class=rating-{case['run']}>{case['run']}</td>"
            f"<td>{way}</td><td>{escape(case['saved_response'] or DASH)}</td>"
            f"<td>{escape(case['run_response'] or DASH)}</td></tr>"
        )
    emotions = "".join(f"<option>{escape(e)}</option>" for e in sorted({case["emotion"] for case in changed.cases}))
    # Hidden until the script shows them: without it the table is a plain table of every case.
    filters = (
        "<p class=filters hidden>Emotion <select name=emotion data-table=changed onchange=filterRows('changed')>"
        f"<option value=''>all</option>{emotions}</select> Change <select name=direction data-table=changed "
        "onchange=filterRows('changed')><option value=''>all</option><option>worse</option><option>better</option>"
        f"</select> <span class=muted><span id=changed-shown>{changed.count}</span> of {changed.count} shown</span></p>"
    )
    return (
        f"<h3>{changed.count} cases changed rating ({changed.worse} worse, {changed.better} better)</h3>"
        + filters
        + "<table id=changed><thead><tr><th>case</th><th>emotion</th><th>saved</th><th>this run</th>"
        "<th>change</th><th>saved answer</th><th>this run's answer</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _raters(result: ResultDocument) -> str:
    said, shown = crowd_scale.raters(result), ""
    if said is not None:
        meaning = (
            "a difference between raters is part of every figure"
            if said == result.get("mixed_raters")
            else "the Good-rate gates decide on the crowd's scale"
        )
        shown += f"<dt>raters</dt><dd class=partial>{escape(said)}: {meaning}</dd>"
    lines = crowd_scale.lines(result)
    if lines:
        shown += f"<dt>crowd's scale</dt><dd>{'<br>'.join(escape(line) for line in lines)}</dd>"
    return shown


def render(result: ResultDocument) -> str:
    passed, standing = result["passed"], result.get("judge_standing")
    corpus = result["corpus"]
    templates = "".join(
        f"<dt>{escape(role)} template</dt><dd><code>{escape(sha)}</code></dd>"
        for role, sha in result.get("templates", {}).items()
    )
    state = "complete" if result["complete"] else f"INCOMPLETE ({corpus['rated']} of {corpus['cases']} cases rated)"
    gates = "".join(
        f"<tr><td class={'passed' if g['passed'] else 'failed'}>{'passed' if g['passed'] else 'FAILED'}</td>"
        f"<td>{escape(g['name'])}</td><td>{escape(g['detail'])}</td></tr>"
        for g in result["gates"]
    )
    outcome = "PASSED" if passed else "FAILED"
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        f"<title>pytest-empathy: {escape(_title(result))}</title><style>{STYLE}</style>",
        f"<script>{FILTER_SCRIPT}</script></head><body>",
        f"<h1>pytest-empathy: {escape(_title(result))}</h1>",
        f"<p class='verdict {outcome.lower()}'>{outcome}{_gates_off(result)}</p>",
        "<dl>",
        f"<dt>model</dt><dd>{escape(result['model'])}</dd>",
        f"<dt>judge</dt><dd>{escape(result['judge'])}: {escape(result['judge_rates'])}"
        + (f"<br><span class=partial>{escape(standing)}</span>" if standing else "")
        + "</dd>",
        f"<dt>baseline</dt><dd>{escape(result['baseline'])}: {escape(result['baseline_rates'])}</dd>",
        _raters(result),
        f"<dt>corpus</dt><dd>{escape(corpus['name'])}, {corpus['cases']} cases, "
        f"sha256 <code>{escape(corpus['sha256'][:16])}</code></dd>",
        templates,
        f"<dt>run</dt><dd>{escape(state)}</dd>",
        f"<dt>rendered</dt><dd>{datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}</dd>",
        f"<dt>versions</dt><dd>{escape(_versions(result))}</dd>",
        "</dl>",
        f"<h2>Gates</h2><table>{gates}</table>",
        "".join(f"<p class=partial>Warning: {escape(w)}</p>" for w in result.get("warnings", [])),
    ]
    # Right after the gates: in CI the comparison with the accepted run is what decides.
    if result["comparison"] is not None:
        parts.append(_comparison(result["comparison"]))
    found = statistics(result)
    parts += _no_statistics() if found is None else _figures(result, found)
    parts += ["<h2>Cases</h2>", _cases_table(result), "</body></html>"]
    return "\n".join(parts)


def _no_statistics() -> list[str]:
    return [
        "<p class=partial>No statistics: the run is incomplete. Rerun the missing cases, "
        "or pass <code>--empathy-allow-partial</code> to see figures labelled partial.</p>"
    ]


def _figures(result: ResultDocument, found: Statistics) -> list[str]:
    """The plots, the methods and the table of every group against the baseline."""
    partial = "<p class=partial>PARTIAL: every figure is computed on the cases rated so far.</p>"
    groups = {"overall": found.overall} | found.emotions
    return [
        *([partial] if result["partial"] else []),
        "<h2>Polarity</h2>",
        _image(plots.polarity_summary(found), "Good rate overall and per polarity"),
        "<h2>Ratings per emotion</h2>",
        _image(plots.rating_bars(groups, result["model"], result["baseline"]), "Bad/Okay/Good shares per emotion"),
        "<h2>Good-rate gain per emotion</h2>",
        _image(
            plots.gain_intervals(found.emotions, interval_heading(result, emotions=True)),
            "Good-rate gain per emotion with its intervals",
        ),
        "<h2>Statistics</h2>",
        f"<p class=muted>{escape(_methods(result, found))}</p>",
        _stats_table(found),
    ]
