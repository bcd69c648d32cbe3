"""A run on the crowd's scale, in words: the lines the terminal, the Markdown and the HTML
all show when a judge's calibration is in force."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pytest_empathy.formatting import CALIBRATED, PREDICTION_POWERED, p_value, percent, points
from pytest_empathy.modes import BaselineKind
from pytest_empathy.results.result_document import ResultDocument, Shares


def raters(document: ResultDocument) -> str | None:
    """What every output says of who rated the two sides: "calibrated", when the gates use
    the correction; "prediction-powered", when a crowd's ratings of part of the run carry the
    judge's onto the crowd's scale for the gates; else "mixed raters: ..." when a judge model
    faces the crowd."""
    correction = document.get("judge_correction")
    if correction is not None and correction["decides"]:
        return CALIBRATED
    if document.get("prediction_powered") and document["baseline"] != BaselineKind.JUDGE.value:
        return PREDICTION_POWERED
    mixed: str | None = document.get("mixed_raters")
    return mixed


def lines(document: ResultDocument) -> list[str]:
    return _correction_lines(document) + _prediction_powered_lines(document)


def _prediction_powered_lines(document: ResultDocument) -> list[str]:
    found = document.get("prediction_powered")
    if not found:
        return []
    if found["not_estimated"]:
        return [f"on the crowd's scale by prediction-powered inference: {found['not_estimated']}"]
    good, shares = found["good"], found["shares"]
    low, high = good["interval"]
    lines = [
        f"on the crowd's scale by prediction-powered inference: Good {percent(good['estimate'])} "
        f"[{percent(low)}, {percent(high)}] ({found['confidence']:.0%} CI); Bad/Okay/Good "
        + "/".join(percent(shares[label]["estimate"]) for label in ("bad", "okay", "good"))
        + f"; {found['crowd']} crowd ratings by {found['raters']} raters and {found['judge_only']} judge-only cases, "
        f"worth {good['effective_crowd']:.0f} crowd ratings drawn alike alone (lam {found['lam']:.2f}); "
        f"{found['method']}"
        + (f"; {found['outside_run']} crowd rating(s) of cases outside the run, unused" if found["outside_run"] else "")
    ]
    versus = found["versus_baseline"]
    if versus is None:
        lines.append(f"against the baseline on the crowd's scale: not compared: {found['versus_not_estimated']}")
        return lines
    low, high = versus["interval"]
    gain = "unbounded" if versus["gain"] is None else f"{versus['gain']:+.1%}"
    bound = "none" if versus["gain_lower_bound"] is None else f"{versus['gain_lower_bound']:+.1%}"
    lines.append(
        f"against the baseline on the crowd's scale: Good {percent(versus['model'])} vs {percent(versus['baseline'])}, "
        f"{points(versus['difference'])} [{points(low)}, {points(high)}] ({versus['confidence']:.0%} CI), "
        f"one-sided p {p_value(versus['p_greater'])} with {versus['degrees_of_freedom']} df; relative gain {gain}, "
        f"lower bound {bound}; {versus['method']}"
    )
    return lines


def _correction_lines(document: ResultDocument) -> list[str]:
    correction = document.get("judge_correction")
    if correction is None:
        return []
    if correction["unavailable"]:
        return [f"on the crowd's scale: not given: {correction['unavailable']}"]
    found = []
    for name, group in correction["groups"].items():
        model, baseline = group["model"], group["baseline"]
        whose = "corrected" if group["baseline_corrected"] else "the crowd's own"
        found.append(
            f"on the crowd's scale, {name}: model B/O/G {_shares(model)}, Good {percent(model['good'])} "
            f"{_interval(group['good_rate_ci'], percent)}; baseline ({whose}) {_shares(baseline)}; Good change "
            f"{points(group['good_gain_absolute'])} {_interval(group['good_gain_absolute_ci'], points)} "
            f"({group['confidence']:.0%} CI)"
        )
    found.append(
        f"correction: {correction['method']}; the judge's error matrix has smallest singular value "
        f"{correction['smallest_singular_value']:.3f}, {correction['draws_not_inverted']:.1%} of the draws could "
        "not be inverted"
    )
    assumption = correction["assumption"]
    if assumption is not None and assumption["rejected"]:
        found.append(
            "THE CORRECTION'S ASSUMPTION IS REJECTED: the calibration shows the judge erring differently on human "
            f"and LLM-written responses (p {p_value(assumption['p_value'])} at alpha 0.05, {assumption['test']}); "
            "the figures on the crowd's scale decide no gate"
        )
    elif assumption is not None:
        found.append(
            "its assumption, that the judge errs alike on human and LLM-written responses, is not rejected by the "
            f"calibration (p {p_value(assumption['p_value'])}); that is no proof, and this run's model was not "
            "part of the test"
        )
    return found


def _shares(shares: Shares) -> str:
    return "/".join(f"{100 * share:.0f}" for share in (shares["bad"], shares["okay"], shares["good"])) + " %"


def _interval(ends: Sequence[float | None], shown: Callable[[float], str]) -> str:
    return "[" + ", ".join("unbounded" if end is None else shown(end) for end in ends) + "]"
