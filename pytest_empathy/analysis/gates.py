"""Gates: thresholds checked on a run's statistics at session finish."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pytest_empathy.formatting import (
    CALIBRATED,
    PREDICTION_POWERED,
    TENTATIVE_AGREEMENT,
    p_is,
    p_value,
    percent,
    points,
)
from pytest_empathy.modes import GateMode, GateTest
from pytest_empathy.ratings import Counts
from pytest_empathy.settings import StatisticsSettings

from .clusters import FEWEST_CLUSTERS
from .groups import Group, RatedCase, significant
from .ordinal import SHAPE
from .power import POWER, STUDY_EFFECT
from .proportions import GoodRateTest, Margin
from .rating_comparison import Comparison, Direction, GateMargins
from .versus_baseline import Summary, summarize

if TYPE_CHECKING:
    # numpy: loaded only when a calibration or a crowd's ratings are in force.
    from .correction import Assumption, Correction, CrowdScale
    from .ppi import Difference, RunEstimate


NO_MORE_BAD = "no-more-bad"


@dataclass(frozen=True)
class GateResult:
    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class JudgeStanding:
    """Where a judge model stands against the crowd, as every output says it."""

    text: str
    # Krippendorff's alpha (ordinal) of the calibration in force; None when none is.
    alpha: float | None = None
    # The calibration's (crowd, judge) pairs per source, one per prompt, and which source is
    # human: what a correction onto the crowd's scale rests on.
    pairs: Mapping[str, Sequence[Sequence[int]]] | None = None
    human: str = "human"


@dataclass(frozen=True)
class Decision:
    """A run's statistics (None when not computed), its gates, and the warnings of gates that
    cannot reach their verdict at this sample size."""

    summary: Summary | None
    gates: list[GateResult]
    warnings: list[str]
    # The run on the crowd's scale, with a calibration in force; None without one.
    correction: Correction | None = None


@dataclass(frozen=True)
class Completeness:
    expected: int
    rated: int
    missing: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        return self.rated == self.expected and not self.missing


def decide(
    cases: Sequence[RatedCase],
    completeness: Completeness,
    statistics: StatisticsSettings,
    per_emotion_baseline: Mapping[str, Counts] | None,
    *,
    mixed_raters: str | None = None,
    judge: JudgeStanding | None = None,
    baseline_judged: bool = False,
    prediction_powered: RunEstimate | None = None,
) -> Decision:
    """A run's statistics and gates from its rated cases, as the controller and a merge of
    shards both compute them. No statistics for an incomplete run unless partial is allowed.
    With ``require_power``, a gate that cannot reach its verdict fails.
    ``mixed_raters`` names a judge model compared with the crowd, on every gate's line;
    ``judge`` is a judge model's standing: for the judge-agreement gate, and with its
    calibration the run on the crowd's scale (``baseline_judged`` when the judge rated the
    baseline too), which the gates use with ``judge_correction``.
    ``prediction_powered`` is the run on the crowd's scale from a crowd's ratings of part of
    it: the gates use it against a crowd's baseline."""
    summary = _statistics(cases, completeness, statistics, per_emotion_baseline)
    correction = _correction(summary, cases, judge, statistics, baseline_judged, per_emotion_baseline)
    gates = check_gates(
        summary,
        completeness,
        mode=statistics.gate,
        min_good_gain=statistics.min_good_gain,
        allow_partial=statistics.allow_partial,
        margin=statistics.margin,
        bad_margin=statistics.bad_margin,
    )
    corrected = correction is not None and bool(correction.groups) and statistics.judge_correction
    powered = summary is not None and prediction_powered is not None and not baseline_judged
    if summary is None:
        warnings = []
    else:
        gates = _gates_on_crowd_scale(
            gates,
            summary,
            correction if corrected else None,
            prediction_powered if powered else None,
            statistics,
        )
        warnings = _power_warnings(summary, statistics, powered=powered, corrected=corrected)
    if statistics.require_power:
        gates += [GateResult("power", False, warning) for warning in warnings]
    if statistics.judge_min_agreement is not None:
        gates.append(judge_agreement(statistics.judge_min_agreement, judge))
    warnings += _rating_warnings(summary, judge)
    raters = CALIBRATED if corrected else PREDICTION_POWERED if powered else mixed_raters
    return Decision(summary, _labelled(gates, raters), warnings, correction)


def _labelled(gates: list[GateResult], raters: str | None) -> list[GateResult]:
    """The gates, each line saying whose ratings it rests on when they are not one kind of
    rater's on both sides."""
    if raters is None:
        return gates
    # The verdict compares a judge's opinion with the crowd's, or the judge's ratings
    # corrected onto the crowd's scale: every line says so.
    return [GateResult(g.name, g.passed, f"{raters}: {g.detail}") for g in gates]


def _statistics(
    cases: Sequence[RatedCase],
    completeness: Completeness,
    statistics: StatisticsSettings,
    per_emotion_baseline: Mapping[str, Counts] | None,
) -> Summary | None:
    """The run's statistics; None for an incomplete run unless partial is allowed."""
    if not cases or not (completeness.complete or statistics.allow_partial):
        return None
    return summarize(
        cases,
        alpha=statistics.alpha,
        decides=statistics.test,
        per_emotion_baseline=per_emotion_baseline,
        partial=not completeness.complete,
        margins=gate_margins(statistics),
    )


def _gates_on_crowd_scale(
    gates: list[GateResult],
    summary: Summary,
    correction: Correction | None,
    prediction_powered: RunEstimate | None,
    statistics: StatisticsSettings,
) -> list[GateResult]:
    """The gates on the Good rate decided on the crowd's scale, by the judge's calibration or
    by a crowd's ratings of part of the run, when either is in force."""
    if correction is not None:
        gates = decided_on_crowd_scale(gates, correction, statistics, clustered=summary.clustered)
    if prediction_powered is not None:
        gates = decided_by_prediction_powered(gates, prediction_powered, statistics)
    return gates


def _rating_warnings(summary: Summary | None, judge: JudgeStanding | None) -> list[str]:
    """What the ratings themselves leave in doubt: too few rater clusters, a judge that agrees
    poorly with the crowd."""
    warnings = [] if summary is None else cluster_warnings(summary)
    if judge is not None and judge.pairs is not None and (judge.alpha is None or judge.alpha < TENTATIVE_AGREEMENT):
        warnings.append(_judge_warning(judge.alpha))
    return warnings


def _correction(
    summary: Summary | None,
    cases: Sequence[RatedCase],
    judge: JudgeStanding | None,
    statistics: StatisticsSettings,
    baseline_judged: bool,
    per_emotion_baseline: Mapping[str, Counts] | None,
) -> Correction | None:
    """The run on the crowd's scale, by the judge's calibration; None without statistics or
    a calibration in force."""
    if summary is None or judge is None or judge.pairs is None:
        return None
    from .correction import correction_of

    return correction_of(
        cases,
        judge.pairs,
        judge.human,
        baseline_judged=baseline_judged,
        per_emotion_baseline=per_emotion_baseline,
        confidence=1 - 2 * statistics.alpha,
    )


def _power_warnings(summary: Summary, statistics: StatisticsSettings, *, powered: bool, corrected: bool) -> list[str]:
    """The gates this run is too small to decide, and what the crowd's scale changes in that."""
    warnings = power_warnings(summary, statistics.gate, statistics.margin)
    if powered and warnings:
        warnings.append(
            "the power figures above are the judge's own ratings': the gates on the crowd's scale rest on the crowd's "
            "ratings, fewer, and detect less than they say"
        )
    if corrected and warnings:
        warnings.append(
            "the power figures above are the judge's own ratings': the correction adds the calibration's "
            "uncertainty, so the gates on the crowd's scale detect less than they say"
        )
    # After the notes above: the no-more-bad gate stays on the judge's own ratings.
    return warnings + bad_power_warnings(summary, statistics.gate, statistics.bad_margin)


def gate_margins(statistics: StatisticsSettings) -> GateMargins:
    """The nulls the margin gates of these settings test: `not-worse` a Good rate lower by its
    margin (when given), `no-more-bad` a Bad rate higher by its, `min-good-gain R` a Good rate
    ratio of 1 + R (R not 0: no gain is tested at no difference already)."""
    margin, minimum = statistics.margin, statistics.min_good_gain
    good = None if margin is None else Margin(-margin / 100, greater=True)
    gain = Margin(0.0, greater=True, ratio=1 + minimum) if minimum else None
    return GateMargins(good, Margin(statistics.bad_margin / 100, greater=False), gain)


# The gates on the Good rate, which the crowd's scale decides when a run has it.
GOOD_RATE_GATES = (GateMode.BETTER.value, GateMode.NOT_WORSE.value, "min-good-gain")


def decided_on_crowd_scale(
    gates: list[GateResult], correction: Correction, statistics: StatisticsSettings, *, clustered: bool
) -> list[GateResult]:
    """The gates on the Good rate decided on the crowd's scale instead: the lower bound of
    the corrected difference (or relative gain) at 1 - 2 alpha, an approximate one-sided
    test (percentile bootstrap). They fail, undecided, when the calibration rejects the
    correction's assumption. The per-emotion gate stays on the judge's own ratings."""
    overall = correction.groups["overall"]
    scale = _CorrectedScale(overall, statistics, _caveats(statistics, clustered), _corrected_rates(overall))
    rejected = _assumption_rejected(correction.assumption)
    decided = []
    for gate in gates:
        if gate.name in GOOD_RATE_GATES and rejected is not None:
            gate = GateResult(gate.name, False, f"{scale.rates}; not decided: {rejected}")
        elif gate.name == GateMode.BETTER.value:
            gate = _better_on_crowd_scale(scale)
        elif gate.name == GateMode.NOT_WORSE.value:
            gate = _not_worse_on_crowd_scale(scale)
        elif gate.name == "min-good-gain":
            gate = _min_good_gain_on_crowd_scale(scale)
        elif gate.name == "no-emotion-worse":
            gate = _on_judge_own_ratings(gate, "the correction covers the run and each polarity")
        elif gate.name == NO_MORE_BAD:
            gate = _on_judge_own_ratings(
                gate, "the correction gives the Good rate's difference an interval, not the Bad rate's"
            )
        decided.append(gate)
    return decided


@dataclass(frozen=True)
class _CorrectedScale:
    """The run's overall figures on the crowd's scale by a calibration, and how each gate's
    line says them."""

    overall: CrowdScale
    statistics: StatisticsSettings
    caveats: str
    rates: str


def _assumption_rejected(assumption: Assumption | None) -> str | None:
    """Why the correction cannot decide a gate; None when its assumption holds."""
    if assumption is None:
        return "the calibration could not test the correction's assumption (no human and LLM-written sources)"
    if assumption.rejected:
        return (
            "the calibration rejects the correction's assumption that the judge errs alike on human and "
            f"LLM-written responses (p {p_value(assumption.p_value)})"
        )
    return None


def _caveats(statistics: StatisticsSettings, clustered: bool) -> str:
    return (
        f"approximate one-sided test at alpha {statistics.alpha:g} (percentile bootstrap); assumes the judge errs "
        "on this run's answers as on the calibration's" + ("; rater clusters not accounted for" if clustered else "")
    )


def _corrected_rates(overall: CrowdScale) -> str:
    whose = "" if overall.baseline_corrected else " (the crowd's own)"
    interval = overall.difference_ci
    return (
        f"on the crowd's scale, Good rate {percent(overall.model[2])} vs baseline {percent(overall.baseline[2])}"
        f"{whose}: {points(overall.difference)} [{_end(interval.low)}, {_end(interval.high)}] "
        f"({overall.confidence:.0%} CI)"
    )


def _better_on_crowd_scale(scale: _CorrectedScale) -> GateResult:
    passed = scale.overall.difference_ci.low > 0
    outcome = "better: the lower bound is above 0" if passed else "not shown better: the lower bound is not above 0"
    return GateResult(
        GateMode.BETTER.value,
        passed,
        f"{scale.rates}; {outcome} ({scale.caveats}){_on_crowd_scale(scale.statistics.test)}",
    )


def _not_worse_on_crowd_scale(scale: _CorrectedScale) -> GateResult:
    margin = _margin(scale.statistics)
    passed = scale.overall.difference_ci.low > -margin / 100
    relation = "above" if passed else "not above"
    return GateResult(
        GateMode.NOT_WORSE.value,
        passed,
        f"{scale.rates}; the lower bound is {relation} -{margin:g} pts ({scale.caveats})",
    )


def _min_good_gain_on_crowd_scale(scale: _CorrectedScale) -> GateResult:
    overall = scale.overall
    minimum = scale.statistics.min_good_gain or 0.0
    low = overall.gain_ci.low
    passed = low > minimum
    estimate = "unbounded (no Good rating on the baseline's side)" if overall.gain is None else f"{overall.gain:+.1%}"
    return GateResult(
        "min-good-gain",
        passed,
        f"relative Good gain on the crowd's scale {estimate}, lower bound "
        f"{'unbounded' if math.isinf(low) else f'{low:+.1%}'} ({overall.confidence:.0%} CI) "
        f"{'>' if passed else '<='} {minimum:+.1%} ({scale.caveats})",
    )


def _margin(statistics: StatisticsSettings) -> float:
    """The not-worse gate's margin, which that gate is never in force without."""
    if statistics.margin is None:
        raise ValueError("the not-worse gate needs a margin")
    return statistics.margin


def decided_by_prediction_powered(
    gates: list[GateResult], estimate: RunEstimate, statistics: StatisticsSettings
) -> list[GateResult]:
    """The gates on the Good rate decided on the crowd's scale by prediction-powered inference
    against the crowd's baseline (a one-sided t test at alpha); failed, undecided, when there is
    no estimate. The per-emotion gate stays on the judge's own ratings: an emotion's ten crowd
    ratings decide nothing."""
    versus = estimate.versus
    decided = []
    for gate in gates:
        if gate.name in GOOD_RATE_GATES and versus is None:
            why = estimate.not_estimated or estimate.versus_not_estimated
            gate = GateResult(gate.name, False, f"not decided: no prediction-powered comparison ({why})")
        elif versus is not None and gate.name == GateMode.BETTER.value:
            gate = _better_by_prediction_powered(versus, statistics)
        elif versus is not None and gate.name == GateMode.NOT_WORSE.value:
            gate = _not_worse_by_prediction_powered(versus, statistics)
        elif versus is not None and gate.name == "min-good-gain":
            gate = _min_good_gain_by_prediction_powered(versus, statistics)
        elif gate.name == "no-emotion-worse":
            gate = _on_judge_own_ratings(
                gate, "prediction-powered inference covers the run; an emotion's few crowd ratings decide nothing"
            )
        elif gate.name == NO_MORE_BAD:
            gate = _on_judge_own_ratings(
                gate, "prediction-powered inference compares the Good rate with the baseline's, not the Bad rate"
            )
        decided.append(gate)
    return decided


def _powered_rates(versus: Difference, alpha: float) -> str:
    low, high = versus.interval(alpha)
    return (
        f"on the crowd's scale, Good rate {percent(versus.model)} vs baseline {percent(versus.baseline)}: "
        f"{points(versus.difference)} [{points(low)}, {points(high)}] ({1 - 2 * alpha:.0%} CI)"
    )


def _better_by_prediction_powered(versus: Difference, statistics: StatisticsSettings) -> GateResult:
    alpha = statistics.alpha
    p = versus.p_greater()
    outcome = "better" if p < alpha else "not shown better"
    test = f"one-sided t test, {versus.degrees_of_freedom} df, {p_is(p)}, alpha {alpha:g}"
    return GateResult(
        GateMode.BETTER.value,
        p < alpha,
        f"{_powered_rates(versus, alpha)}; {outcome} ({test}){_on_crowd_scale(statistics.test)}",
    )


def _not_worse_by_prediction_powered(versus: Difference, statistics: StatisticsSettings) -> GateResult:
    alpha, margin = statistics.alpha, _margin(statistics)
    low, _ = versus.interval(alpha)
    passed = low > -margin / 100
    relation = "above" if passed else "not above"
    return GateResult(
        GateMode.NOT_WORSE.value,
        passed,
        f"{_powered_rates(versus, alpha)}; the lower bound is {relation} -{margin:g} pts (one-sided t test at alpha "
        f"{alpha:g}, {versus.degrees_of_freedom} df)",
    )


def _min_good_gain_by_prediction_powered(versus: Difference, statistics: StatisticsSettings) -> GateResult:
    alpha = statistics.alpha
    minimum = statistics.min_good_gain or 0.0
    bound = versus.gain_lower_bound(alpha)
    passed = bound is not None and bound > minimum
    estimated = "unbounded (no Good rating on the baseline's side)" if versus.gain is None else f"{versus.gain:+.1%}"
    shown = "not bounded (no Good rating on a side)" if bound is None else f"{bound:+.1%}"
    return GateResult(
        "min-good-gain",
        passed,
        f"relative Good gain on the crowd's scale {estimated}, lower bound {shown} ({1 - 2 * alpha:.0%} CI, "
        f"delta method on the log ratio) {'>' if passed else '<='} {minimum:+.1%}",
    )


def _on_judge_own_ratings(gate: GateResult, why: str) -> GateResult:
    return GateResult(gate.name, gate.passed, f"on the judge's own ratings ({why}): {gate.detail}")


def _end(bound: float) -> str:
    return "unbounded" if math.isinf(bound) else points(bound)


def judge_agreement(minimum: float, judge: JudgeStanding | None) -> GateResult:
    """The judge-agreement gate: the calibration in force shows a Krippendorff's alpha
    (ordinal) of at least ``minimum``; a judge without one fails it."""
    name = "judge-agreement"
    if judge is None or judge.alpha is None:
        standing = judge.text if judge is not None else "no judge model"
        return GateResult(name, False, f"needs a calibration in force with alpha >= {minimum:g}; {standing}")
    passed = judge.alpha >= minimum
    return GateResult(
        name, passed, f"judge's Krippendorff's alpha (ordinal) {judge.alpha:.3f} {'>=' if passed else '<'} {minimum:g}"
    )


def _judge_warning(alpha: float | None) -> str:
    """What a run says when its judge's calibration in force falls below Krippendorff's
    bound for tentative conclusions."""
    measured = "undefined" if alpha is None else f"{alpha:.3f}"
    return (
        f"the judge's ratings agree poorly with the crowd's: Krippendorff's alpha (ordinal) {measured}, below the "
        f"{TENTATIVE_AGREEMENT} Krippendorff sets for even tentative conclusions; every figure here rests on them"
    )


def cluster_warnings(summary: Summary) -> list[str]:
    """Clustered ratings whose design effect rests on too few raters to decide on."""
    design = summary.overall.comparison.design
    if design is None or design.undecided is None:
        return []
    return [
        f"clustered: the ratings come from {design.raters} raters, {design.clusters} on the side with fewer; a design "
        f"effect from fewer than {FEWEST_CLUSTERS} can understate how much they agree, so no gate decides on it"
    ]


def power_warnings(summary: Summary, mode: GateMode, margin: float | None) -> list[str]:
    """The gates in force that this run is too small to decide: a better gate that could not
    detect the study's effect, a not-worse margin smaller than the smallest detectable drop."""
    overall = summary.detectable["overall"]
    warnings = []
    # The sizes are the Good rate's: an ordinal better gate is not judged by them.
    good_rate_decides = summary.decides is GateTest.GOOD_RATE
    if mode is GateMode.BETTER and good_rate_decides:
        if overall.gain is None:
            warnings.append(f"better: this run's power to detect a gain is {overall.gain_method}")
        elif overall.gain > STUDY_EFFECT:
            warnings.append(
                f"better: at {POWER:.0%} power this run detects a gain of {points(overall.gain)} or more (one-sided, "
                f"alpha {overall.alpha:g}; {overall.gain_method}); the study's effect, {points(STUDY_EFFECT)}, would "
                "likely go unseen: add cases"
            )
    if mode is GateMode.NOT_WORSE and margin is not None:
        if overall.drop is None:
            warnings.append(f"not-worse: this run's power to detect a drop is {overall.drop_method}")
        elif overall.drop > margin / 100:
            warnings.append(
                f"not-worse: at {POWER:.0%} power this run detects a drop of {points(-overall.drop)} or more "
                f"({overall.drop_method}); a margin of {margin:g} pts is smaller, so a model truly within it would "
                "likely fail: add cases or widen it"
            )
    return warnings


def bad_power_warnings(summary: Summary, mode: GateMode, margin: float | None) -> list[str]:
    """The no-more-bad gate when this run cannot show its margin: the smallest margin shown
    with 80% power when the Bad rates are equal is wider."""
    shown = summary.bad_margin_shown.get("overall")
    method = summary.bad_margin_method.get("overall")
    if mode is GateMode.OFF or margin is None:
        return []
    if shown is None:
        return [f"{NO_MORE_BAD}: this run's power to show its margin is {method}"]
    if shown <= margin / 100:
        return []
    return [
        f"{NO_MORE_BAD}: at {POWER:.0%} power this run shows no more Bad answers than the baseline only within a "
        f"margin of {points(shown)} or more (one-sided, alpha {summary.alpha:g}, the Bad rates equal; {method}); a "
        f"margin of {margin:g} pts is smaller, so a model with no more Bad answers would likely fail: add cases or "
        "widen --empathy-bad-margin"
    ]


def check_gates(
    summary: Summary | None,
    completeness: Completeness,
    *,
    mode: GateMode,
    min_good_gain: float | None,
    allow_partial: bool,
    margin: float | None = None,
    bad_margin: float | None = None,
) -> list[GateResult]:
    """The gates in force and whether each passed; ``summary`` is None when no statistics
    were computed because the run is incomplete. ``margin`` is the not-worse gate's, in
    percentage points; ``bad_margin`` the no-more-bad gate's (None: not checked)."""
    gates = [_complete(completeness, allow_partial)]
    if summary is None or mode is GateMode.OFF:
        return gates
    overall = summary.overall
    decided = []
    if mode is GateMode.BETTER:
        decided.append(GateResult(mode.value, overall.verdict is Direction.BETTER, _better_detail(overall)))
    else:
        if margin is None:
            raise ValueError("the not-worse gate needs a margin")
        decided.append(_not_worse(overall, margin))
    if bad_margin is not None:
        decided.append(_no_more_bad(overall, bad_margin))
    # Under the Good-rate test `better` asks what `min-good-gain 0` asks; under the ordinal test
    # `better` answers the question itself, and only a relative gain asked for is bounded.
    if min_good_gain is None and mode is GateMode.BETTER and summary.decides is GateTest.GOOD_RATE:
        min_good_gain = 0.0
    if min_good_gain is not None:
        decided.append(_min_good_gain(overall, min_good_gain))
    decided.append(_no_emotion_worse(summary))
    design = overall.comparison.design
    if design is not None and design.undecided is not None:
        # Every one of them rests on the clustered figures.
        decided = [GateResult(g.name, False, f"{design.undecided}; {g.detail}") for g in decided]
    return gates + decided


def _complete(completeness: Completeness, allow_partial: bool) -> GateResult:
    detail = f"{completeness.rated} of {completeness.expected} cases rated"
    if completeness.rated == 0:
        return GateResult("complete", False, detail + ": nothing to compare")
    if completeness.complete:
        return GateResult("complete", True, detail)
    if completeness.missing:
        shown = ", ".join(completeness.missing[:3])
        more = len(completeness.missing) - 3
        detail += f"; without a rating: {shown}" + (f" and {more} more" if more > 0 else "")
    if allow_partial:
        return GateResult("complete", True, detail + " (partial run allowed: every figure is partial)")
    return GateResult("complete", False, detail + ": incomplete run, no statistics computed")


def _rates(c: Comparison) -> str:
    return (
        f"Good rate {percent(c.model.good_rate)} (n {c.model.n}) vs baseline "
        f"{percent(c.baseline.good_rate)} (n {c.baseline.n})"
    )


def _difference(good: GoodRateTest) -> str:
    interval = good.difference_ci
    return (
        f"{points(good.difference)} [{points(interval.low)}, {points(interval.high)}] "
        f"({good.confidence:.0%} CI, {'paired' if good.paired else 'unpaired'})"
    )


def _better_detail(overall: Group[Comparison]) -> str:
    c = overall.comparison
    if c.good is None or c.ordinal is None:
        return "no test: a group has no ratings"
    outcome = "better" if overall.verdict is Direction.BETTER else "not shown better"
    if c.decides is GateTest.ORDINAL:
        order = c.ordinal
        if order.p_greater is None or order.delta_ci is None:
            return f"{order.undecided}; {_rates(c)}; Cliff's delta {order.delta:+.3f} ({order.method})"
        return (
            f"{_rates(c)}; Cliff's delta {order.delta:+.3f} [{order.delta_ci.low:+.3f}, {order.delta_ci.high:+.3f}] "
            f"({order.confidence:.0%} CI, {'paired' if order.paired else 'unpaired'}); {outcome} "
            f"(one-sided {order.method}, {p_is(order.p_greater)}, alpha {overall.alpha:g})"
        )
    return (
        f"{_rates(c)}: {_difference(c.good)}; {outcome} "
        f"(one-sided {c.good.method}, {p_is(c.good.p_greater)}, alpha {overall.alpha:g})"
    )


def _not_worse(overall: Group[Comparison], margin: float) -> GateResult:
    c = overall.comparison
    if c.good is None:
        return GateResult(GateMode.NOT_WORSE.value, False, "no test: a group has no ratings")
    bound = c.good.difference_ci.low
    passed = bound > -margin / 100
    relation = "above" if passed else "not above"
    return GateResult(
        GateMode.NOT_WORSE.value,
        passed,
        f"{_rates(c)}: {_difference(c.good)}; the lower bound {points(bound)} is {relation} the margin "
        f"-{margin:g} pts (one-sided test at alpha {overall.alpha:g})"
        f"{_on_rate(c.decides, 'Good', NOT_WORSE_ON_GOOD_RATE)}",
    )


NOT_WORSE_ON_GOOD_RATE = "its margin is in points of the Good rate, a scale the ordinal effect does not have"
MIN_GOOD_GAIN_ON_GOOD_RATE = "a relative gain is a ratio of Good rates, which the ordinal effect has no counterpart of"


BAD_RATE_MARGIN = "its margin counts people given a Bad answer"
ON_CROWD_SCALE = "the crowd's scale is estimated for rates only"


def _on_crowd_scale(test: GateTest) -> str:
    return _on_rate(test, "Good", ON_CROWD_SCALE)


def _on_rate(decides: GateTest, rate: str, why: str) -> str:
    """What a gate on the Good or Bad rate says of itself when the run's verdicts use the
    ordinal test."""
    return f"; on the {rate} rate, not the ordinal test the run names: {why}" if decides is GateTest.ORDINAL else ""


def _no_more_bad(overall: Group[Comparison], margin: float) -> GateResult:
    """The co-condition of better and not-worse: the model's Bad rate is not higher than the
    baseline's by ``margin`` points or more. A non-inferiority test: the upper bound of the
    difference's interval at 1 - 2 alpha is below the margin exactly when the one-sided test
    at alpha rejects a Bad rate higher by the margin."""
    c = overall.comparison
    bad = c.bad
    if bad is None:
        return GateResult(NO_MORE_BAD, False, "no test: a group has no ratings")
    bound = bad.difference_ci.high
    passed = bound < margin / 100
    rates = f"Bad rate {percent(c.model.bad / c.model.n)} vs baseline {percent(bad.second_rate)}"
    relation = "below" if passed else "not below"
    return GateResult(
        NO_MORE_BAD,
        passed,
        f"{rates}: {_difference(bad)}; the upper bound {points(bound)} is {relation} the margin +{margin:g} pts "
        f"(one-sided {bad.method} at +{margin:g} pts, alpha {overall.alpha:g})"
        f"{_on_rate(c.decides, 'Bad', BAD_RATE_MARGIN)}",
    )


def _min_good_gain(overall: Group[Comparison], minimum: float) -> GateResult:
    good = overall.comparison.good
    if good is None:
        return GateResult("min-good-gain", False, "no test: a group has no ratings")
    c = overall.comparison
    # A model without a Good rating has a gain of -100% whatever the test: say so in words.
    if good.ratio_ci is None or not c.model.good:
        sides = [side for side, counts in (("the model's", c.model), ("the baseline's", c.baseline)) if not counts.good]
        where = " and ".join(sides) or "one"
        return GateResult("min-good-gain", False, f"no Good rating on {where} side: no relative gain to bound")
    bound = good.ratio_ci.low - 1
    # The interval's ends are null values the test keeps (an exact interval's end can sit
    # exactly on no gain): only a bound beyond the minimum rejects it, as `better` asks.
    passed = bound > minimum
    estimate = "unbounded (the baseline has no Good rating)" if good.ratio is None else f"{good.ratio - 1:+.1%}"
    return GateResult(
        "min-good-gain",
        passed,
        f"relative Good gain {estimate}, lower bound {bound:+.1%} ({good.confidence:.0%} CI, "
        f"{good.ratio_method}) {'>' if passed else '<='} {minimum:+.1%}"
        f"{_on_rate(overall.comparison.decides, 'Good', MIN_GOOD_GAIN_ON_GOOD_RATE)}",
    )


def _no_emotion_worse(summary: Summary) -> GateResult:
    """No emotion significantly worse after Holm, by the run's deciding test; where that is
    the ordinal test and an emotion's comparison decides nothing (unpaired: its shapes), by
    the Good rate, whose test holds its size there: a gate that counted undecided emotions
    as not worse would pass a model rated Bad throughout."""
    undecided = _undecided_emotions(summary)
    on_good_rate = summary.decides is GateTest.GOOD_RATE or bool(undecided)
    quantity = "Good rate" if on_good_rate else "ordinal effect (Cliff's delta)"
    if undecided:
        holm = summary.holm_by_test[GateTest.GOOD_RATE]
        worse = [(g.name, holm[g.name][1]) for g in summary.emotions.values() if significant(holm[g.name][1], g.alpha)]
    else:
        worse = [(g.name, g.p_worse) for g in summary.emotions.values() if g.verdict is Direction.WORSE]
    # The undecided emotions first, so that a line cut at the terminal's width still says it.
    if not worse:
        return GateResult(
            "no-emotion-worse", True, f"{undecided}no emotion's {quantity} significantly lower after Holm"
        )
    listed = ", ".join(f"{name} (one-sided Holm {p_is(p or 1.0)})" for name, p in worse)
    return GateResult("no-emotion-worse", False, f"{undecided}{quantity} significantly lower after Holm: {listed}")


def _undecided_emotions(summary: Summary) -> str:
    """Where the ordinal test decides and an emotion's ordinal comparison decides nothing,
    how many, and that the emotions are judged on the Good rate instead; empty otherwise."""
    undecided = [
        g.name
        for g in summary.emotions.values()
        if summary.decides is GateTest.ORDINAL and g.comparison.ordinal is not None and g.comparison.ordinal.undecided
    ]
    if not undecided:
        return ""
    return (
        f"{len(undecided)} of {len(summary.emotions)} emotions' ordinal effect undecided ({SHAPE}): "
        "every emotion judged on its Good rate instead; "
    )
