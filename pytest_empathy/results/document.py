"""A run's result as a JSON document (schema 7, typed in ``result_document``): written from a
``RunResult``, read back, migrated from earlier schema versions and checked. Every report
renders from it. Its keys and the schema's history: docs/reference/json-result.md."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NotRequired, TypedDict, cast

from pytest_empathy import __version__, schema
from pytest_empathy.analysis import clusters, ordinal
from pytest_empathy.analysis.groups import Group, bonferroni_level, interval_adjustment, significant
from pytest_empathy.analysis.power import DROP_METHOD, POWER, Detectable, DetectableDrop
from pytest_empathy.analysis.proportions import (
    EXACT_WHEN,
    PAIRED,
    PAIRED_EXACT,
    PAIRED_RATIO,
    STANDARDIZED,
    STANDARDIZED_BOUNDED,
    STANDARDIZED_BOUNDED_HOW,
    STANDARDIZED_BOUNDED_WHEN,
    STANDARDIZED_RATIO,
    UNPAIRED,
    UNPAIRED_EXACT,
    UNPAIRED_EXACT_WHEN,
    UNPAIRED_RATIO,
    WIDENED,
    Interval,
)
from pytest_empathy.analysis.rating_comparison import Comparison, Direction, PairedComparison
from pytest_empathy.analysis.versus_baseline import Summary
from pytest_empathy.analysis.versus_saved_run import METHOD as SAVED_RUN_METHOD
from pytest_empathy.analysis.versus_saved_run import ChangedCase, SavedRunComparison
from pytest_empathy.atomic import write_atomic, write_new
from pytest_empathy.bounded import MiB, loads, read_bytes
from pytest_empathy.corpus.rows import ID_PATTERN, NAME_RULE
from pytest_empathy.emotions import POLARITY
from pytest_empathy.errors import InputError
from pytest_empathy.formatting import p_value
from pytest_empathy.modes import GateTest
from pytest_empathy.ratings import Counts, Rating
from pytest_empathy.results.calibrations import UNCALIBRATED
from pytest_empathy.results.result_document import (
    BadChangeEntry,
    BadRateEntry,
    CaseEntry,
    ChangedCasesEntry,
    ComparisonEntry,
    CorrectionEntry,
    CrowdScaleEntry,
    DesignEffectEntry,
    DetectableEntry,
    DropEntry,
    EmotionIntervals,
    GroupEntry,
    MethodsEntry,
    OpenInterval,
    OrdinalEntry,
    PairedEntry,
    PredictionPoweredEntry,
    RateTestEntry,
    RecordingEntry,
    ResultDocument,
    RiseEntry,
    Shares,
    dumps,
)
from pytest_empathy.results.result_document import Counts as CountsEntry
from pytest_empathy.results.result_document import Interval as Bounds
from pytest_empathy.schema import validate

from .case import CaseResult
from .run_result import RecordingStatus, RunResult, SavedRunVersus

if TYPE_CHECKING:
    from pytest_empathy.analysis.correction import Correction, CrowdScale
    from pytest_empathy.analysis.ppi import RunEstimate

SCHEMA = 7


class _TestDesign(TypedDict):
    alternative: str
    confidence: float
    paired: bool
    clustered: bool
    correction: str | None


class _HolmVerdict(TypedDict):
    p_better_holm: NotRequired[float | None]
    p_worse_holm: NotRequired[float | None]
    verdict: str | None


class _Verdict(TypedDict):
    good_rate_test: RateTestEntry | None
    direction: str | None
    verdict: str | None
    significant: bool


def to_json(run: RunResult) -> ResultDocument:
    summary, identity = run.summary, run.identity
    standing = identity.judge_standing
    return {
        "schema": SCHEMA,
        "version": __version__,
        "model": identity.model,
        "judge": identity.judge,
        "judge_rates": identity.judge_description,
        "judge_standing": None if standing is None else standing.text,
        "baseline": identity.baseline,
        "baseline_rates": identity.baseline_description,
        "mixed_raters": identity.mixed_raters,
        "judge_calibration": identity.judge_calibration,
        "judge_correction": _correction(run.judge_correction, bool(identity.settings.get("judge_correction"))),
        "prediction_powered": _prediction_powered(run.prediction_powered, alpha=identity.settings["alpha"]),
        "corpus": {
            "name": identity.corpus,
            "sha256": identity.corpus_sha256,
            "selected": identity.selected,
            "cases": run.completeness.expected,
            "rated": run.completeness.rated,
            "missing": list(run.completeness.missing),
        },
        "baseline_per_emotion": identity.per_emotion_baseline is not None,
        "usage": {
            model: {"calls": u.calls, "prompt_tokens": u.prompt_tokens, "completion_tokens": u.completion_tokens}
            for model, u in run.usage.items()
        },
        "settings": identity.settings,
        "templates": dict(identity.templates),
        "recording": None if run.recording is None else recording_entry(run.recording),
        "complete": run.completeness.complete,
        "partial": summary.partial if summary else not run.completeness.complete,
        "passed": run.passed,
        "methods": methods(summary) if summary else None,
        "overall": _group("overall", summary.overall, summary) if summary else None,
        "polarity": {p: _group(p, g, summary) for p, g in summary.polarity.items()} if summary else None,
        "emotions": {e: _group(e, g, summary) for e, g in summary.emotions.items()} if summary else None,
        "gates": [{"name": g.name, "passed": g.passed, "detail": g.detail} for g in run.gates],
        "warnings": list(run.warnings),
        "comparison": _comparison(run.versus_saved_run, identity.templates, run.cases)
        if run.versus_saved_run
        else None,
        "unused_cassettes": {
            "count": len(run.unused_cassettes),
            "paths": list(run.unused_cassettes),
            "pruned": run.pruned,
        },
        "cases": [_case(case) for case in sorted(run.cases, key=lambda c: c.case_id)],
    }


def recording_entry(recording: RecordingStatus) -> RecordingEntry:
    return {
        "mode": recording.mode,
        "unrecorded": recording.unrecorded,
        "template_changed": recording.template_changed,
        "cassettes": recording.cassettes,
        "command": recording.command,
    }


def _correction(correction: Correction | None, decides: bool) -> CorrectionEntry | None:
    if correction is None:
        return None
    from pytest_empathy.analysis.correction import ASSUMPTION_TEST, METHOD

    assumption = correction.assumption
    return {
        "method": METHOD,
        "decides": decides and bool(correction.groups),
        "unavailable": correction.reason,
        "smallest_singular_value": correction.smallest_singular_value,
        "draws_not_inverted": correction.draws_not_inverted,
        "assumption": None
        if assumption is None
        else {
            "test": ASSUMPTION_TEST,
            "statistic": assumption.statistic,
            "p_value": assumption.p_value,
            "rejected": assumption.rejected,
        },
        "groups": {name: _crowd_scale(group) for name, group in correction.groups.items()},
    }


def _crowd_scale(group: CrowdScale) -> CrowdScaleEntry:
    return {
        "n": group.n,
        "model": _shares(group.model),
        "baseline": _shares(group.baseline),
        "baseline_corrected": group.baseline_corrected,
        # An unbounded end (too many draws without an estimate) is null.
        "good_rate_ci": _bounded(group.model_good_ci),
        "good_gain_absolute": group.difference,
        "good_gain_absolute_ci": _bounded(group.difference_ci),
        "good_gain_relative": group.gain,
        "good_gain_relative_ci": _bounded(group.gain_ci),
        "confidence": group.confidence,
    }


def _shares(shares: tuple[float, float, float]) -> Shares:
    bad, okay, good = shares
    return {"bad": bad, "okay": okay, "good": good}


def _bounded(interval: Interval) -> OpenInterval:
    return [None if math.isinf(end) else end for end in (interval.low, interval.high)]


def _case(case: CaseResult) -> CaseEntry:
    entry: CaseEntry = {
        "id": case.case_id,
        "emotion": case.emotion,
        "rating": case.rating.label,
        "baseline_rating": case.baseline_rating.label if case.baseline_rating else None,
    }
    if case.rater is not None:
        entry["rater"] = case.rater
    if case.baseline_rater is not None:
        entry["baseline_rater"] = case.baseline_rater
    if case.cassette is not None:
        entry["cassette"] = case.cassette
    if case.utterance is not None:
        entry["utterance"] = case.utterance
    if case.response is not None:
        entry["response"] = case.response
    return entry


def case_from_json(case: CaseEntry) -> CaseResult:
    """A case of a JSON document, as written by ``_case``."""
    baseline = case.get("baseline_rating")
    return CaseResult(
        case_id=case["id"],
        emotion=case["emotion"],
        rating=Rating.parse(case["rating"]),
        baseline_rating=Rating.parse(baseline) if baseline else None,
        response=case.get("response"),
        cassette=case.get("cassette"),
        utterance=case.get("utterance"),
        rater=case.get("rater"),
        baseline_rater=case.get("baseline_rater"),
    )


def methods(summary: Summary) -> MethodsEntry:
    """What every figure of a document was computed with, named once."""
    paired = summary.paired
    return {
        "study_test": "Pearson's chi-square test of independence on the 2x3 table of group by rating, as in "
        "the study (two-sided), with Cramer's V; reported, deciding no gate",
        "exact_rule": "Freeman-Halton's exact test where an expected count is below 5 (no statistic of its own)",
        "good_rate_test": f"{PAIRED}; {PAIRED_EXACT}, {EXACT_WHEN}"
        if paired
        else f"{UNPAIRED} within an emotion ({UNPAIRED_EXACT}, {UNPAIRED_EXACT_WHEN}); {STANDARDIZED} for several; "
        f"on a side of either, {STANDARDIZED_BOUNDED} ({STANDARDIZED_BOUNDED_HOW}), {STANDARDIZED_BOUNDED_WHEN}",
        "bad_rate_test": "the Good rate's test and interval on the Bad counts; no-more-bad passes when the upper "
        "bound of the overall difference is below the margin (a non-inferiority test, one-sided at alpha)",
        "paired": paired,
        "clustered": summary.clustered,
        "clusters": clusters.METHOD
        if summary.clustered
        else "none: the ratings name no raters, each is taken as independent",
        "alternative": "one-sided: p_better tests a higher Good rate of the model, p_worse a lower one; "
        "the direction is the sign of the same statistic",
        "alpha": summary.alpha,
        "interval": {
            "confidence": 1 - 2 * summary.alpha,
            "sides": "two-sided; each bound is the one-sided bound of the test at alpha",
            "difference": f"{PAIRED}, inverted; {WIDENED} {EXACT_WHEN}"
            if paired
            else f"{UNPAIRED}, inverted ({UNPAIRED_EXACT}, {UNPAIRED_EXACT_WHEN}); {STANDARDIZED} for several",
            "ratio": f"{PAIRED_RATIO}, inverted; {WIDENED} {EXACT_WHEN}"
            if paired
            else f"{UNPAIRED_RATIO}, inverted ({UNPAIRED_EXACT}, {UNPAIRED_EXACT_WHEN}); {STANDARDIZED_RATIO} for "
            "several",
            "emotions": emotion_intervals(len(summary.emotions), summary.alpha),
        },
        "correction": "Holm across the emotions, each direction its own family; none for overall and polarity",
        "gate_test": summary.decides.value,
        "ordinal": {
            "effect": "Cliff's delta: P(model rated higher) - P(model rated lower), "
            + ("case by case" if paired else "over every pair of a model and a baseline rating")
            + "; probability of superiority (1 + delta) / 2",
            "test": f"{ordinal.EFFECT_PAIRED}; {ordinal.EFFECT_PAIRED_EXACT}, {EXACT_WHEN}"
            if paired
            else f"{ordinal.EFFECT_UNPAIRED}, within an emotion; {ordinal.EFFECT_STANDARDIZED} for several",
            "interval": "the same statistic's, two-sided at the confidence above",
            "rank_test": ordinal.RANK_PAIRED if paired else f"{ordinal.RANK_UNPAIRED}, within an emotion",
            "trend_test": None if paired else f"{ordinal.TREND}, within an emotion",
            "clusters": "the rank and trend tests take ratings as independent: reported, deciding no gate"
            if summary.clustered
            else None,
        },
    }


def _group(name: str, group: Group[Comparison], summary: Summary) -> GroupEntry:
    c = group.comparison
    good = c.good
    verdict = _verdict(group, summary.holm_by_test[GateTest.GOOD_RATE].get(name))
    ordinal_entry = _ordinal(group, summary.holm_by_test[GateTest.ORDINAL].get(name))
    # The test that does not decide the gates, whose verdict the note compares.
    other_test = verdict["good_rate_test"] if c.decides is GateTest.ORDINAL else ordinal_entry
    entry: GroupEntry = {
        "n": c.n,
        "model": _counts(c.model),
        "baseline": _counts(c.baseline),
        "test": c.study.test,
        "statistic": c.study.statistic,
        "dof": c.study.dof,
        "p_value": c.study.p_value,
        "cramers_v": c.cramers_v,
        "good_rate": c.model.good_rate,
        "baseline_good_rate": c.baseline.good_rate if good is None else good.second_rate,
        "good_gain_absolute": None if good is None else good.difference,
        "good_gain_absolute_ci": None if good is None else _interval(good.difference_ci),
        "good_gain_relative": None if good is None or good.ratio is None else good.ratio - 1,
        "good_gain_relative_ci": None if good is None or good.ratio_ci is None else _shifted(good.ratio_ci),
        "good_rate_test": verdict["good_rate_test"],
        "direction": verdict["direction"],
        "verdict": verdict["verdict"],
        "significant": verdict["significant"],
        "ordinal": ordinal_entry,
        "bad_rate_test": _bad_rate_test(group, summary),
        "design_effect": _design_effect(c.design),
        "interval_adjustment": group.interval_adjustment,
        "detectable": _detectable(summary.detectable[name]),
        "note": _disagreement(
            group,
            summary.study_p_holm.get(name) if group.adjusted else c.study.p_value,
            None if other_test is None else other_test["verdict"],
        ),
        "partial": summary.partial,
    }
    if group.adjusted:
        entry["p_holm"] = summary.study_p_holm.get(name)
    return entry


def emotion_intervals(family: int, alpha: float) -> EmotionIntervals:
    """What an emotion's intervals are, beside the verdicts Holm decides."""
    return {
        "confidence": 1 - 2 * bonferroni_level(alpha, family),
        "adjustment": interval_adjustment(family),
        "why": "Bonferroni's rejections are among Holm's: an emotion whose interval excludes no difference is one "
        "Holm calls; overall and polarity stay unadjusted, not being a family",
    }


def _bad_rate_test(group: Group[Comparison], summary: Summary) -> BadRateEntry | None:
    """A group's Bad rate against the baseline's; the overall one decides no-more-bad."""
    c = group.comparison
    bad = c.bad
    if bad is None:
        return None
    entry: BadRateEntry = {
        "method": bad.method,
        "alternative": "one-sided, each direction; no-more-bad tests the overall difference at its margin",
        "confidence": bad.confidence,
        "paired": bad.paired,
        "clustered": c.design is not None,
        # The emotions' Bad rates decide no gate; their intervals are at the group's level.
        "correction": None,
        "model": c.model.bad / c.model.n,
        "baseline": bad.second_rate,
        "difference": bad.difference,
        "difference_ci": _interval(bad.difference_ci),
        "statistic": bad.statistic,
        "p_higher": bad.p_greater,
        "p_lower": bad.p_less,
        "detectable_margin": summary.bad_margin_shown.get(group.name),
        "detectable_margin_method": summary.bad_margin_method.get(group.name),
    }
    return entry


def _design_effect(design: clusters.DesignEffects | None) -> DesignEffectEntry | None:
    """A group's design effects and its raters; ``clusters``: the comparison's G."""
    if design is None:
        return None
    return {
        "raters": design.raters,
        "good_rate": design.good,
        "ordinal": design.ordinal,
        "bad_rate": design.bad,
        "clusters": design.clusters,
    }


_QUANTITIES = {GateTest.GOOD_RATE: "the Good rate", GateTest.ORDINAL: "the ordinal effect (Cliff's delta)"}


def _disagreement(group: Group[Comparison], p_study: float | None, other: str | None) -> str | None:
    """Words for tests that disagree at the run's alpha, each Holm-adjusted for an emotion:
    the study's and the deciding test, and the deciding test and the other one, whose
    verdict is ``other``."""
    if p_study is None or group.comparison.deciding is None:
        return None
    notes = [*_study_disagrees(group, p_study), *_other_disagrees(group, other)]
    return "; ".join(notes) or None


def _study_disagrees(group: Group[Comparison], p_study: float) -> list[str]:
    """The study's test against the deciding one, where one is significant and the other not."""
    c = group.comparison
    holm = " after Holm" if group.adjusted else ""
    # Beside a table whose study p is unadjusted, an emotion's adjusted p says it is.
    study = f"{'Holm-adjusted ' if group.adjusted else ''}p {p_value(p_study)}"
    quantity = _QUANTITIES[c.decides]
    if p_study < group.alpha and not group.significant:
        return [
            f"the study's {c.study.test} test finds the Bad/Okay/Good distributions differ{holm} "
            f"({study}), but {quantity} does not differ significantly"
        ]
    if p_study >= group.alpha and group.significant:
        return [
            f"{quantity} is significantly {group.verdict}{holm}, but the study's {c.study.test} test does not "
            f"find the whole distributions differ ({study})"
        ]
    return []


def _other_disagrees(group: Group[Comparison], other: str | None) -> list[str]:
    """The test that does not decide against the one that does, where their verdicts differ."""
    decides = group.comparison.decides
    verdict = None if group.verdict is None else group.verdict.value
    if other == verdict:
        return []
    holm = " after Holm" if group.adjusted else ""
    (other_name,) = (name for kind, name in _QUANTITIES.items() if kind is not decides)
    said = f"is significantly {other}" if other else "shows no significant difference"
    return [f"{other_name} {said}{holm}, {_QUANTITIES[decides]} {'is ' + verdict if verdict else 'is not significant'}"]


def _comparison(versus: SavedRunVersus, templates: Mapping[str, str], cases: Sequence[CaseResult]) -> ComparisonEntry:
    saved, comparison = versus.saved.document, versus.comparison
    return {
        # The name the user calls it by, its file's: the one stored inside is where it was first saved.
        "saved_run": versus.saved.path.stem,
        "saved_at": saved.get("saved_run", {}).get("saved_at"),
        "path": str(versus.saved.path),
        "model": saved["model"],
        "judge": saved["judge"],
        "templates": {"saved": saved["templates"], "run": dict(templates)},
        "compared": comparison.compared,
        "only_in_run": comparison.only_in_run,
        "only_in_saved_run": comparison.only_in_saved_run,
        "tests": SAVED_RUN_METHOD,
        "clustered": comparison.overall.comparison.design is not None,
        "clusters": clusters.METHOD
        if comparison.overall.comparison.design is not None
        else "none: the runs name no raters, each rating is taken as independent",
        "power": DROP_METHOD,
        "unchanged_bound": comparison.unchanged_bound,
        "bad_rise_detectable": _rise(comparison.bad_rise_detectable),
        "overall": _paired(comparison.overall, comparison),
        "polarity": {p: _paired(g, comparison) for p, g in comparison.polarity.items()},
        "emotions": {e: _paired(g, comparison) for e, g in comparison.emotions.items()},
        "changed_cases": _changed_cases(comparison.changed, saved["cases"], cases),
    }


def _changed_cases(
    changed: Sequence[ChangedCase], saved_cases: Sequence[CaseEntry], cases: Sequence[CaseResult]
) -> ChangedCasesEntry:
    """The changed cases with both answers, where each run kept them."""
    ids = {case.case_id for case in changed}
    saved = {case["id"]: case.get("response") for case in saved_cases if case["id"] in ids}
    run = {case.case_id: case.response for case in cases if case.case_id in ids}
    worse = sum(1 for case in changed if case.worse)
    return {
        "count": len(changed),
        "worse": worse,
        "better": len(changed) - worse,
        "cases": [
            {
                "case_id": case.case_id,
                "emotion": case.emotion,
                "saved": case.saved.label,
                "run": case.run.label,
                "saved_response": saved.get(case.case_id),
                "run_response": run.get(case.case_id),
            }
            for case in changed
        ],
    }


def _paired(group: Group[PairedComparison], comparison: SavedRunComparison) -> PairedEntry:
    c, holm, found = group.comparison, comparison.holm_by_test, comparison.detectable[group.name]
    good = c.good
    entry: PairedEntry = {
        "n": c.n,
        "saved": _counts(c.before),
        "run": _counts(c.after),
        "test": c.whole.test,
        "statistic": c.whole.statistic,
        "dof": c.whole.dof,
        "p_value": c.whole.p_value,
        "good_rate_saved": c.before.good_rate,
        "good_rate_run": c.after.good_rate,
        "good_change": None if good is None else good.difference,
        "good_change_ci": None if good is None else _interval(good.difference_ci),
        "bad_rate_test": _bad_change(c),
        "interval_adjustment": group.interval_adjustment,
        **_verdict(group, holm[GateTest.GOOD_RATE].get(group.name)),
        "ordinal": _ordinal(group, holm[GateTest.ORDINAL].get(group.name)),
        "design_effect": _design_effect(c.design),
        "detectable": _drop(found),
    }
    return entry


def _drop(found: DetectableDrop) -> DropEntry:
    return {
        "level": found.level,
        "power": POWER,
        "drop": found.drop,
        "smallest_p": found.smallest_p,
        "can_fail": found.can_fail,
    }


def _rise(found: DetectableDrop | None) -> RiseEntry | None:
    """What bad-rise can detect: ``rise`` the Bad rate's, in the shares ``drop`` is."""
    if found is None:
        return None
    return {
        "level": found.level,
        "power": POWER,
        "rise": found.drop,
        "smallest_p": found.smallest_p,
        "can_fail": found.can_fail,
    }


def _bad_change(c: PairedComparison) -> BadChangeEntry | None:
    """This run's Bad rate against the saved run's; the overall one decides bad-rise."""
    bad = c.bad
    if bad is None:
        return None
    return {
        "method": bad.method,
        "alternative": "one-sided, each direction; bad-rise fails when the overall Bad rate is significantly higher",
        "confidence": bad.confidence,
        "saved": c.before.bad / c.n,
        "run": c.after.bad / c.n,
        "change": bad.difference,
        "change_ci": _interval(bad.difference_ci),
        "statistic": bad.statistic,
        "p_higher": bad.p_greater,
        "p_lower": bad.p_less,
    }


def _detectable(found: Detectable) -> DetectableEntry:
    return {"alpha": found.alpha, "power": POWER, "gain": found.gain, "drop": found.drop, "method": found.method}


def _verdict(
    group: Group[Comparison] | Group[PairedComparison], holm: tuple[float | None, float | None] | None = None
) -> _Verdict:
    """A group's Good-rate test and the verdict of the test that decides it; an emotion's
    with Holm's p-values."""
    good = group.comparison.good
    test: RateTestEntry | None = None
    if good is not None:
        test = {
            "method": good.method,
            "ratio_method": good.ratio_method,
            **_named(group, good.confidence, good.paired),
            "statistic": good.statistic,
            "p_better": good.p_greater,
            "p_worse": good.p_less,
            **_adjusted(group, holm, good.p_greater, good.p_less),
        }
    return {
        "good_rate_test": test,
        "direction": group.comparison.direction,
        "verdict": group.verdict,
        "significant": group.significant,
    }


def _ordinal(
    group: Group[Comparison] | Group[PairedComparison], holm: tuple[float | None, float | None] | None
) -> OrdinalEntry | None:
    """A group's ordinal effect, its test and the classical rank and trend tests."""
    order = group.comparison.ordinal
    if order is None:
        return None
    entry: OrdinalEntry = {
        "method": order.method,
        **_named(group, order.confidence, order.paired),
        "delta": order.delta,
        "delta_ci": _interval(order.delta_ci),
        "superiority": order.superiority,
        "statistic": order.statistic,
        "p_better": order.p_greater,
        "p_worse": order.p_less,
        **_adjusted(group, holm, order.p_greater, order.p_less),
        "undecided": order.undecided,
        "rank_test": None
        if order.rank_p_value is None
        else {"statistic": order.rank_statistic, "p_value": order.rank_p_value},
        "trend_test": None
        if order.trend_p_value is None
        else {"statistic": order.trend_statistic, "p_value": order.trend_p_value},
    }
    return entry


def _named(group: Group[Comparison] | Group[PairedComparison], confidence: float, paired: bool) -> _TestDesign:
    """What a test entry was computed with, beside its figures."""
    design = group.comparison.design
    return {
        "alternative": "one-sided, each direction",
        "confidence": confidence,
        "paired": paired,
        "clustered": design is not None,
        "correction": "Holm across the emotions" if group.adjusted else None,
    }


def _adjusted(
    group: Group[Comparison] | Group[PairedComparison],
    holm: tuple[float | None, float | None] | None,
    p_better: float | None,
    p_worse: float | None,
) -> _HolmVerdict:
    """A test's Holm-adjusted p-values (an emotion's) and its verdict at the group's alpha."""
    if group.adjusted and holm is not None:
        p_better_holm, p_worse_holm = holm
        return {
            "p_better_holm": p_better_holm,
            "p_worse_holm": p_worse_holm,
            "verdict": _direction_at(p_better_holm, p_worse_holm, group.alpha),
        }
    return {"verdict": _direction_at(p_better, p_worse, group.alpha)}


def _direction_at(p_better: float | None, p_worse: float | None, alpha: float) -> str | None:
    if significant(p_better, alpha):
        return Direction.BETTER.value
    return Direction.WORSE.value if significant(p_worse, alpha) else None


def _shifted(ratio: Interval) -> OpenInterval:
    """A ratio's interval as a relative gain's: ratio - 1; an unbounded end is null."""
    return [ratio.low - 1, None if math.isinf(ratio.high) else ratio.high - 1]


def _counts(counts: Counts) -> CountsEntry:
    return {"bad": counts.bad, "okay": counts.okay, "good": counts.good}


def _interval(interval: Interval | None) -> Bounds | None:
    return None if interval is None else [interval.low, interval.high]


def write(document: ResultDocument, path: Path, *, replace: bool = True) -> None:
    """Write a document atomically; without ``replace``, FileExistsError when ``path`` exists."""
    (write_atomic if replace else write_new)(path, dumps(document))


# A result of 200,000 cases is about 100 MB; a file much larger is not one, and reading it
# whole would take several times its size in memory.
LARGEST = 512 * MiB


# A document as json.loads returns it: migrated, then checked, before it is a ResultDocument.
Unchecked = dict[str, Any]


def read(path: Path, error: type[InputError], *, required: Sequence[str], what: str) -> ResultDocument:
    """A JSON document (a run's result or a saved run) read back, migrated to this schema
    and checked: size, keys, cases (ids unique, as many as the run says it rated);
    ``error`` names the file."""
    try:
        data: Unchecked = loads(read_bytes(path, largest=LARGEST, what=what, error=error))
    except FileNotFoundError:
        raise error(f"{path}: no such {what}") from None
    except (OSError, UnicodeDecodeError, ValueError) as problem:
        raise error(f"{path}: not a readable {what} ({problem})") from None
    if not isinstance(data, dict) or data.get("schema") not in MIGRATIONS.keys() | {SCHEMA}:
        raise error(f"{path}: not a {what} of schema {', '.join(map(str, sorted(MIGRATIONS)))} or {SCHEMA}")
    written = data["schema"]
    try:
        while data["schema"] != SCHEMA:
            data = MIGRATIONS[data["schema"]](data)
    except (TypeError, ValueError, AttributeError, KeyError) as problem:
        raise error(f"{path}: a {what} of schema {written} that cannot be read ({problem!r})") from None
    validate(data, _DOCUMENT, path, error, what)
    missing = [key for key in required if key not in data]
    if missing:
        raise error(f"{path}: the {what} lacks {', '.join(missing)}")
    _check_cases(data["cases"], path, error)
    corpus = data.get("corpus")
    rated = corpus.get("rated") if isinstance(corpus, dict) else None
    if rated is not None and rated != len(data["cases"]):
        raise error(f"{path}: says {rated} cases were rated but holds {len(data['cases'])}")
    # Where the checks hand over to the types: a key a reader requires was named in ``required``.
    return cast(ResultDocument, data)


def _from_schema_1(data: Unchecked) -> Unchecked:
    """Schema 1 called a saved run a snapshot, and did not keep the recording's command."""
    data = dict(data, schema=2)
    if "snapshot" in data:
        data["saved_run"] = data.pop("snapshot")
    comparison = data.get("comparison")
    if isinstance(comparison, dict):
        comparison = dict(comparison)
        comparison["saved_run"] = comparison.pop("snapshot", None)
        comparison.setdefault("saved_at", None)
        comparison["only_in_saved_run"] = comparison.pop("only_in_snapshot", 0)
        data["comparison"] = comparison
    if isinstance(data.get("recording"), dict):
        data["recording"] = {"cassettes": "", "command": ""} | data["recording"]
    return data


def _from_schema_2(data: Unchecked) -> Unchecked:
    """Schema 2's statistics decided gates on the chi-square test and knew no margin; what
    stays readable is the cases, the identity and the settings. The statistics are dropped,
    and computed again by whoever needs them (a merge, a report, a comparison with the
    cases)."""
    data = dict(data, schema=3, methods=None, overall=None, polarity=None, emotions=None, comparison=None)
    data["settings"] = {"margin": None, "require_power": False, "test": GateTest.GOOD_RATE.value} | dict(
        data.get("settings") or {}
    )
    data["warnings"] = []
    data["statistics_dropped"] = "migrated from schema 2: its statistics were computed by older methods"
    return data


def _from_schema_3(data: Unchecked) -> Unchecked:
    """Schema 3 decided every gate on the Good rate and computed no ordinal effect: its
    statistics stand, the ordinal entries are null."""
    data = dict(data, schema=4)
    crowd = data.get("judge") == "human" or data.get("baseline") != "human-raters"
    data.setdefault("mixed_raters", None if crowd else f"mixed raters: {data.get('judge')} vs the crowd")
    data.setdefault("judge_standing", None if data.get("judge") == "human" else UNCALIBRATED)
    data["settings"] = {"test": GateTest.GOOD_RATE.value} | dict(data.get("settings") or {})
    if isinstance(data.get("methods"), dict):
        data["methods"] = data["methods"] | {"gate_test": GateTest.GOOD_RATE.value, "ordinal": None, "clusters": None}
    for section in (data, data.get("comparison")):
        if not isinstance(section, dict):
            continue
        entries = [section.get("overall"), *(section.get("polarity") or {}).values()]
        entries += list((section.get("emotions") or {}).values())
        for entry in entries:
            if isinstance(entry, dict):
                entry.setdefault("ordinal", None)
                entry.setdefault("design_effect", None)
    return data


def _from_schema_4(data: Unchecked) -> Unchecked:
    """Schema 4 knew no calibrations: every judge model was uncalibrated."""
    data = dict(data, schema=5)
    data.setdefault("judge_calibration", None)
    data.setdefault("judge_correction", None)
    return data


def _from_schema_5(data: Unchecked) -> Unchecked:
    """Schema 5 did not list the changed cases, and they cannot be listed from its document
    (the saved run's ratings are not in it): null."""
    data = dict(data, schema=6)
    if isinstance(data.get("comparison"), dict):
        data["comparison"] = {"changed_cases": None} | data["comparison"]
    return data


def _prediction_powered(found: RunEstimate | None, *, alpha: float) -> PredictionPoweredEntry | None:
    if found is None:
        return None
    from pytest_empathy.analysis.ppi import DIFFERENCE_METHOD, METHOD

    document: PredictionPoweredEntry = {
        "method": METHOD,
        "outside_run": found.outside_run,
        "not_estimated": found.not_estimated,
    }
    if found.scale is None:
        return document
    good, shares = found.scale.good, found.scale.shares
    versus = found.versus
    return document | {
        "crowd": good.crowd,
        "judge_only": good.judge_only,
        "raters": good.raters,
        "confidence": found.confidence,
        "lam": good.lam,
        "good": {
            "estimate": good.estimate[0],
            "interval": list(good.interval[0]),
            "standard_error": good.standard_error[0],
            "effective_crowd": good.effective_crowd[0],
        },
        "shares": {
            rating.label: {"estimate": shares.estimate[i], "interval": list(shares.interval[i])}
            for i, rating in enumerate(Rating)
        },
        "versus_baseline": None
        if versus is None
        else {
            "method": DIFFERENCE_METHOD,
            "model": versus.model,
            "baseline": versus.baseline,
            "difference": versus.difference,
            "standard_error": versus.standard_error,
            "confidence": 1 - 2 * alpha,
            "interval": list(versus.interval(alpha)),
            "p_greater": versus.p_greater(),
            "degrees_of_freedom": versus.degrees_of_freedom,
            "gain": versus.gain,
            "gain_lower_bound": versus.gain_lower_bound(alpha),
            "baseline_raters": versus.baseline_raters,
            "paired": versus.paired,
        },
        "versus_not_estimated": found.versus_not_estimated,
    }


def _from_schema_6(data: Unchecked) -> Unchecked:
    """Schema 6 printed every interval unadjusted, an emotion's too: each group says so. It
    tested no Bad rate: every group's ``bad_rate_test`` is null, and so is a comparison's
    ``bad_rise_detectable``."""
    data = dict(data, schema=7)
    for section in (data, data.get("comparison")):
        if not isinstance(section, dict):
            continue
        for key in ("overall", "polarity", "emotions"):
            found = section.get(key)
            entries = [found] if key == "overall" else list((found or {}).values())
            for entry in entries:
                if isinstance(entry, dict):
                    entry.setdefault("interval_adjustment", "unadjusted (a document written before schema 7)")
                    entry.setdefault("bad_rate_test", None)
        if section is not data:
            section.setdefault("bad_rise_detectable", None)
    if isinstance(data.get("methods"), dict) and isinstance(data["methods"].get("interval"), dict):
        data["methods"]["interval"].setdefault("emotions", None)
    return data


MIGRATIONS = {
    1: _from_schema_1,
    2: _from_schema_2,
    3: _from_schema_3,
    4: _from_schema_4,
    5: _from_schema_5,
    6: _from_schema_6,
}


def _check_cases(cases: list[CaseEntry], path: Path, error: type[InputError]) -> None:
    """No case id twice (the schema checked each case's fields)."""
    seen: dict[str, int] = {}
    for number, case in enumerate(cases, start=1):
        if case["id"] in seen:
            raise error(f"{path}: case {number} repeats the id {case['id']!r} of case {seen[case['id']]}")
        seen[case["id"]] = number


def _rating(value: object, where: str) -> None:
    try:
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise ValueError(value)
        Rating.parse(value)
    except ValueError:
        raise schema.Invalid(where, f"{schema.shown(value)} is not a rating (bad, okay, good)") from None


# The fields of a document that a reader uses, each of its type; a field not named here (a
# newer version's) may be any JSON, nested at most schema.DEEPEST levels.
_TEXT = schema.nullable(schema.text())
_SHARE = schema.nullable(schema.number(0, 1))
_FIGURE = schema.nullable(schema.number())
_INTERVAL = schema.nullable(schema.array(_FIGURE, length=2))
_COUNTS = schema.obj({"bad": schema.whole(), "okay": schema.whole(), "good": schema.whole()})
_TEST = schema.nullable(
    schema.obj(
        {},
        {
            "statistic": _FIGURE,
            "confidence": _SHARE,
            **dict.fromkeys(("p_better", "p_worse", "p_better_holm", "p_worse_holm"), _SHARE),
            "verdict": _TEXT,
            "delta": schema.nullable(schema.number(-1, 1)),
            "delta_ci": _INTERVAL,
            "undecided": _TEXT,
        },
    )
)
_BAD_RATE_TEST = schema.nullable(
    schema.obj(
        {},
        {
            **dict.fromkeys(("confidence", "model", "baseline", "p_higher", "p_lower"), _SHARE),
            **dict.fromkeys(("statistic", "difference", "detectable_margin"), _FIGURE),
            "difference_ci": _INTERVAL,
            "detectable_margin_method": _TEXT,
        },
    )
)
_COMMON = {
    "test": _TEXT,
    "statistic": _FIGURE,
    "dof": _FIGURE,
    "p_value": _SHARE,
    "p_holm": _SHARE,
    "good_rate_test": _TEST,
    "ordinal": _TEST,
    "direction": _TEXT,
    "verdict": _TEXT,
    "significant": schema.flag,
}
_GROUP = schema.obj(
    {"n": schema.whole(), "model": _COUNTS, "baseline": _COUNTS},
    _COMMON
    | {
        "cramers_v": _SHARE,
        "good_rate": _SHARE,
        "baseline_good_rate": _SHARE,
        "good_gain_absolute": _FIGURE,
        "good_gain_absolute_ci": _INTERVAL,
        "good_gain_relative": _FIGURE,
        "good_gain_relative_ci": _INTERVAL,
        "note": _TEXT,
        "bad_rate_test": _BAD_RATE_TEST,
        "partial": schema.flag,
        "interval_adjustment": _TEXT,
        "detectable": schema.nullable(
            schema.obj({}, dict.fromkeys(("alpha", "power", "gain", "drop"), _FIGURE) | {"method": _TEXT})
        ),
    },
)
_PAIRED = schema.obj(
    {"n": schema.whole(), "saved": _COUNTS, "run": _COUNTS},
    _COMMON
    | {
        "good_rate_saved": _SHARE,
        "good_rate_run": _SHARE,
        "good_change": _FIGURE,
        "good_change_ci": _INTERVAL,
        "bad_rate_test": schema.nullable(
            schema.obj(
                {},
                {
                    **dict.fromkeys(("confidence", "saved", "run", "p_higher", "p_lower"), _SHARE),
                    **dict.fromkeys(("statistic", "change"), _FIGURE),
                    "change_ci": _INTERVAL,
                },
            )
        ),
        "interval_adjustment": _TEXT,
    },
)
_CASE = schema.obj(
    {
        "id": schema.text(ID_PATTERN.pattern, rule=f"a case id ({NAME_RULE})"),
        "emotion": schema.one_of(POLARITY),
        "rating": _rating,
    },
    {"baseline_rating": schema.nullable(_rating)}
    | dict.fromkeys(("rater", "baseline_rater", "cassette", "utterance", "response"), _TEXT),
)
_DOCUMENT = schema.obj(
    {},
    {
        "schema": schema.whole(),
        "version": _TEXT,
        **dict.fromkeys(("model", "judge", "baseline"), schema.text()),
        **dict.fromkeys(("judge_rates", "baseline_rates", "judge_standing", "mixed_raters"), _TEXT),
        "corpus": schema.either(
            schema.text(),
            schema.obj(
                {},
                {
                    "name": schema.text(),
                    "sha256": _TEXT,
                    "cases": schema.whole(),
                    "rated": schema.whole(),
                    "missing": schema.array(schema.text()),
                },
            ),
        ),
        "templates": schema.keyed(schema.text()),
        "settings": schema.obj({}),
        **dict.fromkeys(("complete", "partial", "passed"), schema.flag),
        "overall": schema.nullable(_GROUP),
        "polarity": schema.nullable(schema.keyed(_GROUP)),
        "emotions": schema.nullable(schema.keyed(_GROUP)),
        "gates": schema.array(schema.obj({"name": schema.text(), "passed": schema.flag, "detail": schema.text()})),
        "warnings": schema.array(schema.text()),
        "comparison": schema.nullable(
            schema.obj(
                {},
                {
                    **dict.fromkeys(("saved_run", "saved_at"), _TEXT),
                    **dict.fromkeys(("path", "model", "judge", "tests"), schema.text()),
                    "templates": schema.obj({"saved": schema.keyed(_TEXT), "run": schema.keyed(_TEXT)}),
                    **dict.fromkeys(("compared", "only_in_run", "only_in_saved_run"), schema.whole()),
                    "overall": _PAIRED,
                    "polarity": schema.keyed(_PAIRED),
                    "emotions": schema.keyed(_PAIRED),
                },
            )
        ),
        "cases": schema.array(_CASE),
        "saved_run": schema.obj({}, {"name": schema.text(), "saved_at": schema.text()}),
    },
)
