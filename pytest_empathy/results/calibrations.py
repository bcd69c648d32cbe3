"""A judge's calibration on disk: the agreement figures of one calibration run (see
``analysis.agreement``) with what they were measured for: the judge's profile, the model
behind it, the hash of its rubric, the corpus and the selection of responses.

Written by ``--empathy-calibrate`` and committed like saved runs; read by every later run
with that judge, which then names the calibration in force, or says why none is.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, cast

from pytest_empathy import schema
from pytest_empathy.analysis.gates import JudgeStanding
from pytest_empathy.atomic import write_atomic
from pytest_empathy.bounded import MiB, loads, read_bytes
from pytest_empathy.corpus.rows import ID_PATTERN, NAME_RULE
from pytest_empathy.errors import InputError
from pytest_empathy.formatting import agreement, figure
from pytest_empathy.schema import shown, validate

from .calibration_document import (
    AgreementEntry,
    CalibrationDocument,
    CalibrationSelection,
    RelativeGain,
)
from .result_document import CalibrationSummary, JudgeKeyEntry

if TYPE_CHECKING:
    # numpy: only a calibration run measures; every run with a judge model reads.
    from pytest_empathy.analysis.agreement import Agreement, Calibration, Pair
    from pytest_empathy.analysis.proportions import Interval

SCHEMA = 1
KIND = "pytest-empathy judge calibration"
# What every output says of a judge model until its agreement with the crowd is measured.
UNCALIBRATED = "uncalibrated judge: its agreement with the crowd's ratings has not been measured"
METHODS = {
    "confusion": "rows: the crowd's Bad, Okay, Good; columns: the judge's",
    "kappa": "Cohen's kappa, linear and quadratic weights",
    "alpha": "Krippendorff's alpha, ordinal metric, crowd and judge as two coders",
    "mean_shift": "the judge's mean score minus the crowd's (Bad 1, Okay 2, Good 3)",
    "source_bias": "mean shift on LLM-written responses minus mean shift on human responses",
}


class CalibrationError(InputError):
    pass


@dataclass(frozen=True)
class JudgeKey:
    """What a calibration holds for: the judge's profile, its model and its rubric."""

    profile: str
    model: str
    template_sha256: str

    def to_json(self) -> JudgeKeyEntry:
        return {"profile": self.profile, "model": self.model, "template_sha256": self.template_sha256}


def to_json(
    calibration: Calibration,
    by_prompt: Sequence[Mapping[str, Pair]],
    key: JudgeKey,
    *,
    corpus: str,
    corpus_sha256: str,
    selection: CalibrationSelection,
    human: str,
) -> CalibrationDocument:
    from pytest_empathy.analysis.agreement import INTERVALS, judged_gain

    gains = {
        source: _relative_gain(*judged_gain(calibration, source, human))
        for source in calibration.sources
        if source != human and human in calibration.sources
    }
    return {
        "schema": SCHEMA,
        "kind": KIND,
        "judge": key.to_json(),
        "corpus": {"name": corpus, "sha256": corpus_sha256},
        "selection": selection,
        "created": datetime.now(UTC).date().isoformat(),
        "methods": METHODS | {"intervals": INTERVALS},
        "overall": _agreement(calibration.overall),
        "sources": {source: _agreement(a) for source, a in calibration.sources.items()},
        "source_bias": {
            "value": calibration.source_bias,
            "interval": _interval(calibration.source_bias_interval),
            "human": human,
        },
        "relative_good_gain_over_human": gains,
        # What a correction onto the crowd's scale resamples: (crowd, judge) per source, one
        # entry per prompt, in the same prompt order for every source.
        "pairs": {
            source: [[int(p[source][0]), int(p[source][1])] for p in by_prompt] for source in calibration.sources
        },
    }


def _relative_gain(crowd: float | None, judge: float | None) -> RelativeGain:
    return {"crowd": crowd, "judge": judge}


def _agreement(a: Agreement) -> AgreementEntry:
    crowd, judge = a.good_rates
    return {
        "n": a.n,
        "confusion": [list(row) for row in a.confusion],
        "exact": a.exact,
        "kappa_linear": a.kappa_linear,
        "kappa_quadratic": a.kappa_quadratic,
        "alpha_ordinal": a.alpha_ordinal,
        "mean_shift": a.mean_shift,
        "good_rate": {"crowd": crowd, "judge": judge},
        "intervals": {name: _interval(interval) for name, interval in a.intervals.items()},
        "undefined": dict(a.undefined),
    }


def _interval(interval: Interval | None) -> list[float] | None:
    return None if interval is None else [interval.low, interval.high]


def save(document: CalibrationDocument, path: Path) -> None:
    write_atomic(path, json.dumps(document, indent=2, sort_keys=True) + "\n")


# A calibration of the release's 6,000 responses is about 0.5 MiB.
LARGEST = 16 * MiB


def load(path: Path) -> CalibrationDocument | None:
    """The calibration at ``path``; None when there is none, a CalibrationError naming the
    file and what is wrong (in one line) when it cannot be used: every figure of the type
    and in the range its method gives, each confusion matrix the tally of its pairs."""
    try:
        data = loads(read_bytes(path, largest=LARGEST, what="judge calibration", error=CalibrationError))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, ValueError) as problem:
        raise CalibrationError(f"{path}: not a readable judge calibration ({problem})") from None
    if not isinstance(data, dict) or data.get("kind") != KIND or data.get("schema") != SCHEMA:
        raise CalibrationError(f"{path}: not a judge calibration of schema {SCHEMA}")
    validate(data, _CALIBRATION, path, CalibrationError, "judge calibration")
    # Where the checks hand over to the types.
    document = cast(CalibrationDocument, data)
    try:
        _check_tallies(document)
    except schema.Invalid as problem:
        raise CalibrationError(f"{path}: not a usable judge calibration ({problem})") from None
    return document


def _bounds(low: float, high: float) -> schema.Check:
    return schema.nullable(schema.array(schema.number(low, high), length=2))


# Agreement statistics (kappa, alpha) lie in [-1, 1]; a mean shift of scores 1 to 3 in
# [-2, 2], and a difference of two of them (the source bias) in [-4, 4].
_STATISTIC = schema.nullable(schema.number(-1, 1))
_AGREEMENT = schema.obj(
    {
        "n": schema.whole(1),
        "confusion": schema.array(schema.array(schema.whole(), length=3), length=3),
        "exact": schema.number(0, 1),
        "kappa_linear": _STATISTIC,
        "kappa_quadratic": _STATISTIC,
        "alpha_ordinal": _STATISTIC,
        "mean_shift": schema.number(-2, 2),
        "good_rate": schema.obj({"crowd": schema.number(0, 1), "judge": schema.number(0, 1)}),
        "intervals": schema.obj(
            {},
            {
                "exact": _bounds(0, 1),
                "kappa_linear": _bounds(-1, 1),
                "kappa_quadratic": _bounds(-1, 1),
                "alpha_ordinal": _bounds(-1, 1),
                "mean_shift": _bounds(-2, 2),
            },
        ),
    },
    # Why a figure is null, in words (absent from files written before it was said).
    {"undefined": schema.keyed(schema.text())},
)
_CALIBRATION = schema.obj(
    {
        "judge": schema.obj(
            {
                "profile": schema.text(ID_PATTERN.pattern, rule=f"a profile's name ({NAME_RULE})"),
                "model": schema.text(),
                "template_sha256": schema.text("[0-9a-f]{64}", rule="a sha256 in hexadecimal"),
            }
        ),
        "corpus": schema.obj({"name": schema.text(), "sha256": schema.text()}),
        "created": schema.text(r"\d{4}-\d{2}-\d{2}", rule="a date (YYYY-MM-DD)"),
        "overall": _AGREEMENT,
        "sources": schema.keyed(_AGREEMENT),
        "source_bias": schema.obj(
            {"value": schema.nullable(schema.number(-4, 4)), "interval": _bounds(-4, 4), "human": schema.text()}
        ),
        "relative_good_gain_over_human": schema.keyed(
            schema.obj({"crowd": schema.nullable(schema.number(-1)), "judge": schema.nullable(schema.number(-1))})
        ),
        "pairs": schema.keyed(schema.array(schema.array(schema.whole(1, 3), length=2))),
    },
    {"methods": schema.keyed(schema.text()), "selection": schema.obj({})},
)


def _check_tallies(data: CalibrationDocument) -> None:
    """Each source's confusion matrix the tally of its pairs, the overall one their sum, and
    every figure read from a matrix equal to what it gives."""
    pairs, sources = data["pairs"], data["sources"]
    _check_sources(pairs, sources, data["source_bias"]["human"])
    total = [[0] * 3 for _ in range(3)]
    for source, scores in pairs.items():
        tally = _tally(scores)
        if sources[source]["confusion"] != tally:
            raise schema.Invalid(f"sources.{source}.confusion", "not the tally of its pairs")
        total = [[a + b for a, b in zip(row, more, strict=True)] for row, more in zip(total, tally, strict=True)]
    if data["overall"]["confusion"] != total:
        raise schema.Invalid("overall.confusion", "not the sum of the sources' confusion matrices")
    for where, entry in [("overall", data["overall"]), *((f"sources.{s}", e) for s, e in sources.items())]:
        _check_figures(where, entry)
    bias = data["source_bias"]["interval"]
    if bias is not None and bias[0] > bias[1]:
        raise schema.Invalid("source_bias.interval", f"{bias[0]} is above {bias[1]}")


def _check_sources(pairs: Mapping[str, Sequence[Sequence[int]]], sources: Mapping[str, object], human: str) -> None:
    """As many pairs for every source, one per prompt, and the same sources as the figures."""
    lengths = {len(scores) for scores in pairs.values()}
    if not pairs or len(lengths) != 1 or 0 in lengths:
        raise schema.Invalid("pairs", "not one (crowd, judge) pair per prompt for every source")
    if pairs.keys() != sources.keys() or human not in sources:
        raise schema.Invalid("sources", "not the sources of the pairs, the human one among them")


def _tally(scores: Sequence[Sequence[int]]) -> list[list[int]]:
    """The confusion matrix of (crowd, judge) pairs of scores 1 to 3."""
    tally = [[0] * 3 for _ in range(3)]
    for crowd, judge in scores:
        tally[crowd - 1][judge - 1] += 1
    return tally


def _check_figures(where: str, entry: AgreementEntry) -> None:
    confusion, n = entry["confusion"], entry["n"]
    read = {
        "n": sum(map(sum, confusion)),
        "exact": sum(confusion[k][k] for k in range(3)) / n,
        "good_rate.crowd": sum(confusion[2]) / n,
        "good_rate.judge": sum(row[2] for row in confusion) / n,
    }
    rates = entry["good_rate"]
    given = {"n": n, "exact": entry["exact"], "good_rate.crowd": rates["crowd"], "good_rate.judge": rates["judge"]}
    for name, value in read.items():
        if not math.isclose(given[name], value, rel_tol=1e-9, abs_tol=1e-12):
            raise schema.Invalid(f"{where}.{name}", f"{shown(given[name])}, but its confusion matrix gives {value:g}")
    for name, interval in entry["intervals"].items():
        if interval is not None and interval[0] > interval[1]:
            raise schema.Invalid(f"{where}.intervals.{name}", f"{interval[0]} is above {interval[1]}")


def standing(path: Path, key: JudgeKey, shown: str) -> tuple[JudgeStanding, CalibrationSummary | None]:
    """Where the judge stands: the calibration at ``path`` when it was measured for ``key``,
    else why none is in force; with the JSON result's summary of the calibration found (None
    when there is no file). ``shown`` is the path as outputs show it."""
    data = load(path)
    if data is None:
        return JudgeStanding(UNCALIBRATED), None
    recorded = JudgeKey(**data["judge"])
    overall = data["overall"]
    bias = data["source_bias"]
    summary: CalibrationSummary = {
        "path": shown,
        "created": data["created"],
        "judge": recorded.to_json(),
        "n": overall["n"],
        "alpha_ordinal": overall["alpha_ordinal"],
        "kappa_quadratic": overall["kappa_quadratic"],
        "kappa_linear": overall["kappa_linear"],
        "source_bias": bias["value"],
        "intervals": {
            "alpha_ordinal": overall["intervals"].get("alpha_ordinal"),
            "kappa_quadratic": overall["intervals"].get("kappa_quadratic"),
            "source_bias": bias["interval"],
        },
        "stale": None,
        "undefined": overall.get("undefined", {}),
    }
    if recorded != key:
        names = {"profile": "judge profile", "model": "model", "template_sha256": "rubric sha256"}
        differs = [
            f"{shown_name} {getattr(recorded, name)[:12]} (now {getattr(key, name)[:12]})"
            for name, shown_name in names.items()
            if getattr(recorded, name) != getattr(key, name)
        ]
        summary["stale"] = f"measured for another {', '.join(differs)}"
        text = (
            f"stale calibration: {shown} was {summary['stale']}; re-run --empathy-calibrate for this judge. "
            f"Until then, {UNCALIBRATED}"
        )
        return JudgeStanding(text), summary
    alpha = overall["alpha_ordinal"]
    # In force: kept with the run, so that its correction can be computed again from it.
    summary["pairs"] = data["pairs"]
    text = (
        f"measured: {agreement(alpha)} with the crowd, Krippendorff's alpha (ordinal) "
        f"{figure(alpha, summary['intervals']['alpha_ordinal'])}, "
        f"quadratic kappa {_kappa(overall, summary['intervals']['kappa_quadratic'])}, "
        f"source bias {figure(bias['value'], bias['interval'], signed=True)} (95% bootstrap intervals) on "
        f"{overall['n']} crowd-rated responses ({shown}, {data['created']}, rubric sha256 "
        f"{recorded.template_sha256[:12]})"
    )
    return JudgeStanding(text, alpha, data["pairs"], bias["human"]), summary


def _kappa(overall: AgreementEntry, interval: Sequence[float] | None) -> str:
    """The quadratic kappa as the standing shows it, with why it is undefined where it is."""
    reason = overall.get("undefined", {}).get("kappa_quadratic")
    return figure(overall["kappa_quadratic"], interval) + ("" if reason is None else f" ({reason})")
