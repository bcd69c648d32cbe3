"""A judge calibration file's shape, schema 1, as types: what ``results.calibrations`` writes
and reads back, and what the calibration's terminal summary renders."""

from __future__ import annotations

from typing import NotRequired, TypedDict

from pytest_empathy.results.result_document import JudgeKeyEntry
from pytest_empathy.settings import SamplingEntry


class GoodRates(TypedDict):
    crowd: float
    judge: float


class AgreementEntry(TypedDict):
    """A judge's agreement with the crowd, over every source or one."""

    n: int
    # Rows: the crowd's Bad, Okay, Good; columns: the judge's.
    confusion: list[list[int]]
    exact: float
    kappa_linear: float | None
    kappa_quadratic: float | None
    alpha_ordinal: float | None
    mean_shift: float
    good_rate: GoodRates
    intervals: dict[str, list[float] | None]
    # Why a figure is null, by figure (absent from files written before it was said).
    undefined: NotRequired[dict[str, str]]


class CorpusKey(TypedDict):
    name: str
    sha256: str


class CalibrationSelection(SamplingEntry):
    """Which responses were rated: the run's sampling, the prompts and their sources."""

    prompts: int
    sources: list[str]


class SourceBias(TypedDict):
    value: float | None
    interval: list[float] | None
    human: str


class RelativeGain(TypedDict):
    crowd: float | None
    judge: float | None


class CalibrationDocument(TypedDict):
    schema: int
    kind: str
    judge: JudgeKeyEntry
    corpus: CorpusKey
    selection: CalibrationSelection
    created: str
    methods: dict[str, str]
    overall: AgreementEntry
    sources: dict[str, AgreementEntry]
    source_bias: SourceBias
    relative_good_gain_over_human: dict[str, RelativeGain]
    # (crowd, judge) scores per source, one per prompt, in the same prompt order for every source.
    pairs: dict[str, list[list[int]]]
