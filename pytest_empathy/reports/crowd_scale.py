"""A run on the crowd's scale, in words: the lines the terminal, the Markdown and the HTML
all show when a judge's calibration is in force."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pytest_empathy.analysis.gates import CALIBRATED
from pytest_empathy.formatting import change, p_value, percent


def raters(document: Mapping[str, Any]) -> str | None:
    """What every output says of who rated the two sides: "calibrated", when the gates use
    the correction, else "mixed raters: ..." when a judge model faces the crowd."""
    correction = document.get("judge_correction")
    if correction is not None and correction["decides"]:
        return CALIBRATED
    mixed: str | None = document.get("mixed_raters")
    return mixed


def lines(document: Mapping[str, Any]) -> list[str]:
    correction = document.get("judge_correction")
    if correction is None:
        return []
    if correction["unavailable"]:
        return [f"on the crowd's scale: not given: {correction['unavailable']}"]
    found = []
    for name, group in correction["groups"].items():
        model, baseline = group["model"], group["baseline"]
        whose = "corrected" if group["baseline_corrected"] else "the crowd's own"
        interval = group["good_rate_ci"]
        found.append(
            f"on the crowd's scale, {name}: model B/O/G {_shares(model)}, Good {percent(model['good'])} "
            f"[{percent(interval[0])}, {percent(interval[1])}]; baseline ({whose}) {_shares(baseline)}; Good change "
            f"{change(group['good_gain_absolute'], group['good_gain_absolute_ci'])} "
            f"({group['confidence']:.0%} CI)"
        )
    found.append(f"correction: {correction['method']}")
    assumption = correction["assumption"]
    if assumption is not None and not assumption["holds"]:
        found.append(
            "THE CORRECTION'S ASSUMPTION DOES NOT HOLD: the calibration shows the judge errs differently on human "
            f"and LLM-written responses (p {p_value(assumption['p_value'])}, {assumption['test']}); the corrected "
            "figures carry that difference"
        )
    elif assumption is not None:
        found.append(
            "its assumption, that the judge errs alike on human and LLM-written responses, is not rejected by the "
            f"calibration (p {p_value(assumption['p_value'])})"
        )
    return found


def _shares(shares: Mapping[str, float]) -> str:
    return "/".join(f"{100 * shares[k]:.0f}" for k in ("bad", "okay", "good")) + " %"
