"""The JSON result's shape, schema 7, as types: what ``results.document.to_json`` writes and
``read`` returns, and what every report renders. Each key is explained, with the schema's
history, in docs/reference/json-result.md."""

from __future__ import annotations

import json
from typing import NotRequired, TypedDict

from pytest_empathy.schema import JSONValue
from pytest_empathy.settings import SettingsEntry

# An interval's two ends.
Interval = list[float]
# An interval with an end null where it is unbounded (a relative gain's upper end).
OpenInterval = list[float | None]


class Counts(TypedDict):
    bad: int
    okay: int
    good: int


class Shares(TypedDict):
    bad: float
    okay: float
    good: float


class RateTestEntry(TypedDict):
    """The Good rate's one-sided test and what it was computed with."""

    method: str
    ratio_method: str
    alternative: str
    confidence: float
    paired: bool
    clustered: bool
    correction: str | None
    statistic: float
    p_better: float
    p_worse: float
    p_better_holm: NotRequired[float | None]
    p_worse_holm: NotRequired[float | None]
    verdict: str | None


class RankTestEntry(TypedDict):
    statistic: float | None
    p_value: float | None


class OrdinalEntry(TypedDict):
    """The ordinal effect (Cliff's delta), its test, and the classical rank and trend tests."""

    method: str
    alternative: str
    confidence: float
    paired: bool
    clustered: bool
    correction: str | None
    delta: float
    delta_ci: Interval | None
    superiority: float
    statistic: float
    p_better: float | None
    p_worse: float | None
    p_better_holm: NotRequired[float | None]
    p_worse_holm: NotRequired[float | None]
    verdict: str | None
    undecided: str | None
    rank_test: RankTestEntry | None
    trend_test: RankTestEntry | None


class BadRateEntry(TypedDict):
    """The model's Bad rate against the baseline's; the overall one decides no-more-bad."""

    method: str
    alternative: str
    confidence: float
    paired: bool
    clustered: bool
    correction: None
    model: float
    baseline: float | None
    difference: float
    difference_ci: Interval | None
    statistic: float
    p_higher: float
    p_lower: float
    detectable_margin: float | None
    detectable_margin_method: str | None


class DesignEffectEntry(TypedDict):
    raters: int
    good_rate: float | None
    ordinal: float | None
    bad_rate: float | None
    clusters: int


class DetectableEntry(TypedDict):
    """The smallest gain and drop the run shows with 80% power."""

    alpha: float
    power: float
    gain: float | None
    drop: float | None
    method: str


class GroupEntry(TypedDict):
    """The whole run, a polarity or an emotion against the baseline."""

    n: int
    model: Counts
    baseline: Counts
    test: str
    statistic: float | None
    dof: int | None
    p_value: float | None
    cramers_v: float | None
    good_rate: float | None
    baseline_good_rate: float | None
    good_gain_absolute: float | None
    good_gain_absolute_ci: Interval | None
    good_gain_relative: float | None
    good_gain_relative_ci: OpenInterval | None
    good_rate_test: RateTestEntry | None
    direction: str | None
    verdict: str | None
    significant: bool
    ordinal: OrdinalEntry | None
    bad_rate_test: BadRateEntry | None
    design_effect: DesignEffectEntry | None
    interval_adjustment: str | None
    detectable: DetectableEntry
    note: str | None
    partial: bool
    p_holm: NotRequired[float | None]


class EmotionIntervals(TypedDict):
    confidence: float
    adjustment: str
    why: str


class IntervalMethods(TypedDict):
    confidence: float
    sides: str
    difference: str
    ratio: str
    emotions: EmotionIntervals | None


class OrdinalMethods(TypedDict):
    effect: str
    test: str
    interval: str
    rank_test: str
    trend_test: str | None
    clusters: str | None


class MethodsEntry(TypedDict):
    """Every method the document's figures were computed with, named once."""

    study_test: str
    exact_rule: str
    good_rate_test: str
    bad_rate_test: str
    paired: bool
    clustered: bool
    clusters: str | None
    alternative: str
    alpha: float
    interval: IntervalMethods
    correction: str
    gate_test: str
    ordinal: OrdinalMethods | None


class CorpusEntry(TypedDict):
    name: str
    sha256: str
    selected: int
    cases: int
    rated: int
    missing: list[str]


class UsageEntry(TypedDict):
    calls: int
    prompt_tokens: int
    completion_tokens: int


class RecordingEntry(TypedDict):
    mode: str
    unrecorded: int
    template_changed: int
    cassettes: str
    command: str


class GateEntry(TypedDict):
    name: str
    passed: bool
    detail: str


class UnusedCassettesEntry(TypedDict):
    count: int
    paths: list[str]
    pruned: bool


class CaseEntry(TypedDict):
    id: str
    emotion: str
    rating: str
    baseline_rating: str | None
    rater: NotRequired[str]
    baseline_rater: NotRequired[str]
    cassette: NotRequired[str]
    utterance: NotRequired[str]
    response: NotRequired[str]


class JudgeKeyEntry(TypedDict):
    profile: str
    model: str
    template_sha256: str


class CalibrationIntervals(TypedDict):
    alpha_ordinal: list[float] | None
    kappa_quadratic: list[float] | None
    source_bias: list[float] | None


class CalibrationSummary(TypedDict):
    """The judge's calibration file as the run found it."""

    path: str
    created: str
    judge: JudgeKeyEntry
    n: int
    alpha_ordinal: float | None
    kappa_quadratic: float | None
    kappa_linear: float | None
    source_bias: float | None
    intervals: CalibrationIntervals
    stale: str | None
    undefined: dict[str, str]
    # In force only: the (crowd, judge) pairs per source its correction resamples.
    pairs: NotRequired[dict[str, list[list[int]]]]


class AssumptionEntry(TypedDict):
    test: str
    statistic: float
    p_value: float
    rejected: bool


class CrowdScaleEntry(TypedDict):
    """A group on the crowd's scale, by the judge's calibration."""

    n: int
    model: Shares
    baseline: Shares
    baseline_corrected: bool
    good_rate_ci: OpenInterval
    good_gain_absolute: float
    good_gain_absolute_ci: OpenInterval
    good_gain_relative: float | None
    good_gain_relative_ci: OpenInterval
    confidence: float


class CorrectionEntry(TypedDict):
    method: str
    decides: bool
    unavailable: str | None
    smallest_singular_value: float | None
    draws_not_inverted: float | None
    assumption: AssumptionEntry | None
    groups: dict[str, CrowdScaleEntry]


class EstimateEntry(TypedDict):
    estimate: float
    interval: list[float]
    standard_error: float
    effective_crowd: float


class ShareEstimate(TypedDict):
    estimate: float
    interval: list[float]


class VersusBaselineEntry(TypedDict):
    method: str
    model: float
    baseline: float
    difference: float
    standard_error: float
    confidence: float
    interval: list[float]
    p_greater: float
    degrees_of_freedom: int
    gain: float | None
    gain_lower_bound: float | None
    baseline_raters: int | None
    paired: bool


class PredictionPoweredEntry(TypedDict):
    """The crowd's Good rate and shares by prediction-powered inference; the figures are
    absent when nothing could be estimated (``not_estimated`` says why)."""

    method: str
    outside_run: int
    not_estimated: str | None
    crowd: NotRequired[int]
    judge_only: NotRequired[int]
    raters: NotRequired[int | None]
    confidence: NotRequired[float]
    lam: NotRequired[float]
    good: NotRequired[EstimateEntry]
    shares: NotRequired[dict[str, ShareEstimate]]
    versus_baseline: NotRequired[VersusBaselineEntry | None]
    versus_not_estimated: NotRequired[str | None]


class BadChangeEntry(TypedDict):
    """This run's Bad rate against the saved run's; the overall one decides bad-rise."""

    method: str
    alternative: str
    confidence: float
    saved: float
    run: float
    change: float
    change_ci: Interval | None
    statistic: float
    p_higher: float
    p_lower: float


class DropEntry(TypedDict):
    """The smallest Good-rate drop the comparison finds with 80% power."""

    level: float
    power: float
    drop: float | None
    smallest_p: float | None
    can_fail: bool


class RiseEntry(TypedDict):
    """What bad-rise can detect: ``rise``, the Bad rate's, in the shares a drop is."""

    level: float
    power: float
    rise: float | None
    smallest_p: float | None
    can_fail: bool


class PairedEntry(TypedDict):
    """A group of the cases both runs rated, this run against the saved one."""

    n: int
    saved: Counts
    run: Counts
    test: str
    statistic: float | None
    dof: int | None
    p_value: float | None
    good_rate_saved: float | None
    good_rate_run: float | None
    good_change: float | None
    good_change_ci: Interval | None
    bad_rate_test: BadChangeEntry | None
    interval_adjustment: str | None
    good_rate_test: RateTestEntry | None
    direction: str | None
    verdict: str | None
    significant: bool
    ordinal: OrdinalEntry | None
    design_effect: DesignEffectEntry | None
    detectable: DropEntry


class ChangedCase(TypedDict):
    case_id: str
    emotion: str
    saved: str
    run: str
    saved_response: str | None
    run_response: str | None


class ChangedCasesEntry(TypedDict):
    count: int
    worse: int
    better: int
    cases: list[ChangedCase]


class TemplatesCompared(TypedDict):
    saved: dict[str, str | None]
    run: dict[str, str]


class ComparisonEntry(TypedDict):
    """This run against a saved run, case by case."""

    saved_run: str | None
    saved_at: str | None
    path: str
    model: str
    judge: str
    templates: TemplatesCompared
    compared: int
    only_in_run: int
    only_in_saved_run: int
    tests: str
    clustered: NotRequired[bool]
    clusters: NotRequired[str]
    power: NotRequired[str]
    unchanged_bound: NotRequired[float | None]
    bad_rise_detectable: RiseEntry | None
    overall: PairedEntry
    polarity: dict[str, PairedEntry]
    emotions: dict[str, PairedEntry]
    changed_cases: ChangedCasesEntry | None


class SavedRunEntry(TypedDict):
    name: str
    saved_at: str


class ResultDocument(TypedDict):
    """A run's result (schema 7)."""

    schema: int
    version: str | None
    model: str
    judge: str
    judge_rates: str
    judge_standing: str | None
    baseline: str
    baseline_rates: str
    mixed_raters: str | None
    judge_calibration: CalibrationSummary | None
    judge_correction: CorrectionEntry | None
    prediction_powered: PredictionPoweredEntry | None
    corpus: CorpusEntry
    baseline_per_emotion: bool
    usage: dict[str, UsageEntry]
    settings: SettingsEntry
    templates: dict[str, str]
    recording: RecordingEntry | None
    complete: bool
    partial: bool
    passed: bool
    methods: MethodsEntry | None
    overall: GroupEntry | None
    polarity: dict[str, GroupEntry] | None
    emotions: dict[str, GroupEntry] | None
    gates: list[GateEntry]
    warnings: list[str]
    comparison: ComparisonEntry | None
    unused_cassettes: UnusedCassettesEntry
    cases: list[CaseEntry]
    # A saved run's name and when it was saved.
    saved_run: NotRequired[SavedRunEntry]
    # A document migrated from schema 2: why its statistics are null.
    statistics_dropped: NotRequired[str]
    # Fields that plugins add through the pytest_empathy_json_fields hook.
    extra: NotRequired[dict[str, JSONValue]]


def dumps(document: ResultDocument) -> str:
    """The document as the package writes it: indented by 2, keys in the order written."""
    return json.dumps(document, indent=2) + "\n"
