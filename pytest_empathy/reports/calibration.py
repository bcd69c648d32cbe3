"""The terminal summary of a calibration run, from its document (see results.calibrations)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from pytest_empathy.formatting import AGREEMENT_BANDS, agreement, figure, percent
from pytest_empathy.ratings import Rating
from pytest_empathy.reports.layout import Column, table, wrap
from pytest_empathy.results.calibration_document import AgreementEntry, CalibrationDocument

Group = tuple[str, AgreementEntry]
# Each figure's column, and its priority where the terminal is too narrow for all of them:
# the gate's alpha and the quadratic kappa first.
_FIGURES = (
    ("exact", "exact agreement", 1),
    ("kappa_linear", "kappa linear", 3),
    ("kappa_quadratic", "kappa quadratic", 0),
    ("alpha_ordinal", "alpha ordinal", 0),
    ("mean_shift", "mean shift", 2),
)


def _column(key: str, title: str, priority: int) -> Column[Group]:
    return Column(title, lambda group: _cell(group[1], key), priority=priority, left=True)


_COLUMNS: tuple[Column[Group], ...] = (
    Column("", lambda group: group[0], left=True),
    Column("n", lambda group: str(group[1]["n"])),
    *(_column(*spec) for spec in _FIGURES),
)


def lines(document: CalibrationDocument, width: int | None = None) -> Iterator[str]:
    """The calibration's figures in lines at most ``width`` wide (None: every column, prose on
    one line each)."""
    for text in _lines(document, width):
        yield from wrap(text, width)


def _lines(document: CalibrationDocument, width: int | None) -> Iterator[str]:
    judge, selection = document["judge"], document["selection"]
    yield (
        f"judge {judge['profile']} (model {judge['model']}, rubric sha256 {judge['template_sha256'][:12]}) against "
        f"the crowd of {document['corpus']['name']}: {document['overall']['n']} responses to "
        f"{selection['prompts']} prompts, sources {', '.join(selection['sources'])}"
    )
    groups = {"overall": document["overall"], **document["sources"]}
    laid = table(_COLUMNS, list(groups.items()), width)
    yield from laid.lines
    if laid.left_out:
        yield f"not shown: {', '.join(laid.left_out)} (a wider terminal, -v or the calibration file show them)"
    yield from _undefined(groups)
    labels = "/".join(r.label.capitalize() for r in Rating)
    yield f"confusion matrices (rows: the crowd's {labels}; columns: the judge's {labels}):"
    named = max(len(name) for name in groups) + 2
    for name, entry in groups.items():
        yield f"  {name:<{named}}" + " | ".join(" ".join(f"{c:>5}" for c in row) for row in entry["confusion"])
    alpha, interval = document["overall"]["alpha_ordinal"], document["overall"]["intervals"].get("alpha_ordinal")
    yield (
        f"measured: {agreement(alpha)} with the crowd, Krippendorff's alpha (ordinal) {figure(alpha, interval)} "
        f"({AGREEMENT_BANDS})"
    )
    bias = document["source_bias"]
    yield (
        f"source bias (mean shift on LLM-written responses minus on {bias['human']} ones): "
        f"{figure(bias['value'], bias['interval'], signed=True)}"
    )
    for source, found in document["relative_good_gain_over_human"].items():
        rates = groups[source]["good_rate"]
        crowd, judge_rate = rates["crowd"], rates["judge"]
        yield (
            f"relative Good gain of {source} over {bias['human']}: crowd {_relative(found['crowd'])} "
            f"(Good {percent(crowd)}), as this judge sees it {_relative(found['judge'])} (Good {percent(judge_rate)})"
        )
    yield f"intervals: {document['methods']['intervals']}"


def _undefined(groups: Mapping[str, AgreementEntry]) -> Iterator[str]:
    """A line for each reason a figure is undefined, naming the figures and the groups."""
    found: dict[tuple[str, str], list[str]] = {}
    for name, entry in groups.items():
        figures: dict[str, list[str]] = {}
        for figure_name, reason in entry.get("undefined", {}).items():
            figures.setdefault(reason, []).append(figure_name.replace("_", " "))
        for reason, undefined in figures.items():
            found.setdefault((", ".join(undefined), reason), []).append(name)
    for (shown, reason), where in found.items():
        yield f"{shown} undefined in {', '.join(where)}: {reason}"


def _cell(entry: AgreementEntry, key: str) -> str:
    value, interval = _figure(entry, key), entry["intervals"].get(key)
    if key == "exact":
        return f"{percent(value)}" + ("" if interval is None else f" [{percent(interval[0])}, {percent(interval[1])}]")
    return figure(value, interval, signed=key == "mean_shift")


def _figure(entry: AgreementEntry, key: str) -> float | None:
    """The figure of a column of _FIGURES."""
    figures = {
        "exact": entry["exact"],
        "kappa_linear": entry["kappa_linear"],
        "kappa_quadratic": entry["kappa_quadratic"],
        "alpha_ordinal": entry["alpha_ordinal"],
        "mean_shift": entry["mean_shift"],
    }
    return figures[key]


def _relative(gain: float | None) -> str:
    return "n/a" if gain is None else f"{gain:+.1%}"
