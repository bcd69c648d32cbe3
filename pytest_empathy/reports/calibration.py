"""The terminal summary of a calibration run, from its document (see results.calibrations)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pytest_empathy.analysis.gates import AGREEMENT_BANDS, agreement
from pytest_empathy.formatting import figure, percent
from pytest_empathy.ratings import Rating

_FIGURES = (
    ("exact", "exact agreement"),
    ("kappa_linear", "kappa linear"),
    ("kappa_quadratic", "kappa quadratic"),
    ("alpha_ordinal", "alpha ordinal"),
    ("mean_shift", "mean shift"),
)


def lines(document: Mapping[str, Any]) -> Iterator[str]:
    judge, selection = document["judge"], document["selection"]
    yield (
        f"judge {judge['profile']} (model {judge['model']}, rubric sha256 {judge['template_sha256'][:12]}) against "
        f"the crowd of {document['corpus']['name']}: {document['overall']['n']} responses to "
        f"{selection['prompts']} prompts, sources {', '.join(selection['sources'])}"
    )
    groups = {"overall": document["overall"], **document["sources"]}
    width = max(len(name) for name in groups) + 2
    yield f"{'':<{width}}{'n':>6}  " + "  ".join(f"{title:<24}" for _, title in _FIGURES).rstrip()
    for name, entry in groups.items():
        cells = [_cell(entry, key) for key, _ in _FIGURES]
        yield f"{name:<{width}}{entry['n']:>6}  " + "  ".join(f"{c:<24}" for c in cells).rstrip()
    labels = "/".join(r.label.capitalize() for r in Rating)
    yield f"confusion matrices (rows: the crowd's {labels}; columns: the judge's {labels}):"
    for name, entry in groups.items():
        yield f"  {name:<{width}}" + " | ".join(" ".join(f"{c:>5}" for c in row) for row in entry["confusion"])
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
        crowd, judge_rate = (groups[source]["good_rate"][who] for who in ("crowd", "judge"))
        yield (
            f"relative Good gain of {source} over {bias['human']}: crowd {_relative(found['crowd'])} "
            f"(Good {percent(crowd)}), as this judge sees it {_relative(found['judge'])} (Good {percent(judge_rate)})"
        )
    yield f"intervals: {document['methods']['intervals']}"


def _cell(entry: Mapping[str, Any], key: str) -> str:
    value, interval = entry[key], entry["intervals"].get(key)
    if key == "exact":
        return f"{percent(value)}" + ("" if interval is None else f" [{percent(interval[0])}, {percent(interval[1])}]")
    return figure(value, interval, signed=key == "mean_shift")


def _relative(gain: float | None) -> str:
    return "n/a" if gain is None else f"{gain:+.1%}"
