"""How far a judge agrees with the crowd on the same responses, and whether it favours
LLM-written ones: the figures of a judge's calibration (confusion matrix, weighted kappa,
Krippendorff's alpha, mean shift, source bias, bootstrap intervals).

See docs/explanation/statistics.md, "A judge's agreement with the crowd".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from pytest_empathy.ratings import Rating

from .proportions import Interval

BOOTSTRAP = 2000
SEED = 20240607
CONFIDENCE = 0.95
INTERVALS = f"percentile bootstrap over prompts, {BOOTSTRAP} draws, seed {SEED}, {CONFIDENCE:.0%}"

# (crowd, judge) ratings of one response.
Pair = tuple[Rating, Rating]


@dataclass(frozen=True)
class Agreement:
    """A judge against the crowd on one set of responses; each figure with its interval
    (None where a figure is undefined, as kappa when one side uses a single level, and
    where its resamples mostly are)."""

    n: int
    # rows: the crowd's Bad, Okay, Good; columns: the judge's
    confusion: tuple[tuple[int, int, int], ...]
    exact: float
    kappa_linear: float | None
    kappa_quadratic: float | None
    alpha_ordinal: float | None
    mean_shift: float
    intervals: Mapping[str, Interval | None]
    # Each undefined figure's reason, in words.
    undefined: Mapping[str, str]

    @property
    def good_rates(self) -> tuple[float, float]:
        """The crowd's Good rate and the judge's, on these responses."""
        return sum(self.confusion[2]) / self.n, sum(row[2] for row in self.confusion) / self.n


@dataclass(frozen=True)
class Calibration:
    """A judge's agreement with the crowd overall and per source, and its source bias."""

    overall: Agreement
    sources: Mapping[str, Agreement]
    # The mean shift on the LLM sources (pooled) minus the human source's, with its
    # interval; None without both kinds of source.
    source_bias: float | None
    source_bias_interval: Interval | None


def judged_gain(calibration: Calibration, source: str, over: str) -> tuple[float | None, float | None]:
    """The relative Good gain of ``source`` over ``over`` as the crowd saw it and as the judge
    does (the study's headline, +31.3% for chatgpt-empathy over human, as this judge sees it);
    None where ``over`` has no Good rating."""
    (crowd, judge), (crowd_over, judge_over) = (calibration.sources[s].good_rates for s in (source, over))
    return (crowd / crowd_over - 1 if crowd_over else None, judge / judge_over - 1 if judge_over else None)


def calibrate(by_prompt: Sequence[Mapping[str, Pair]], human: str) -> Calibration:
    """Agreement from each prompt's rated responses, by source (the same sources for every
    prompt); ``human`` names the source written by people."""
    sources = sorted(by_prompt[0])
    # (prompts, sources, 2): the crowd's score and the judge's.
    scores = np.array([[[int(p[s][0]), int(p[s][1])] for s in sources] for p in by_prompt])
    draws = np.random.default_rng(SEED).integers(0, len(by_prompt), size=(BOOTSTRAP, len(by_prompt)))
    every = list(range(len(sources)))
    llm = [i for i, s in enumerate(sources) if s != human]
    resampled = scores[draws]  # (draws, prompts, sources, 2)
    bias = interval = None
    if llm and human in sources:
        human_index = sources.index(human)
        bias = float(_shift(scores[:, llm]) - _shift(scores[:, [human_index]]))
        interval = _percentile(_shift(resampled[:, :, llm], axis=1) - _shift(resampled[:, :, [human_index]], axis=1))
    return Calibration(
        overall=_agreement(scores[:, every], resampled[:, :, every]),
        sources={s: _agreement(scores[:, [i]], resampled[:, :, [i]]) for i, s in enumerate(sources)},
        source_bias=bias,
        source_bias_interval=interval,
    )


def _shift(scores: np.ndarray, axis: int | None = None) -> np.ndarray:
    """The judge's mean score minus the crowd's, over prompts and sources (per draw, with
    ``axis`` 1 the prompts' axis of resampled scores)."""
    difference = scores[..., 1] - scores[..., 0]
    if axis is None:
        return np.asarray(difference.mean())
    means: np.ndarray = difference.reshape(difference.shape[0], -1).mean(axis=1)
    return means


def _agreement(scores: np.ndarray, resampled: np.ndarray) -> Agreement:
    """``scores``: (prompts, sources, 2); ``resampled``: (draws, prompts, sources, 2)."""
    table = confusion_tables(scores.reshape(1, -1, 2))[0]
    tables = confusion_tables(resampled.reshape(resampled.shape[0], -1, 2))
    figures = _figures(table[None])
    spread = _figures(tables)
    intervals = {name: _percentile(values) for name, values in spread.items()}
    return Agreement(
        n=int(table.sum()),
        confusion=tuple((int(row[0]), int(row[1]), int(row[2])) for row in table),
        exact=float(figures["exact"][0]),
        kappa_linear=_value(figures["kappa_linear"][0]),
        kappa_quadratic=_value(figures["kappa_quadratic"][0]),
        alpha_ordinal=_value(figures["alpha_ordinal"][0]),
        mean_shift=float(figures["mean_shift"][0]),
        intervals=intervals,
        undefined=_undefined(table)
        | {
            f"{name} interval": "more than a tenth of the resamples leave it undefined"
            for name in ("kappa_linear", "kappa_quadratic", "alpha_ordinal")
            if intervals[name] is None and not np.isnan(figures[name][0])
        },
    )


def _undefined(table: np.ndarray) -> dict[str, str]:
    """Why each figure undefined on this (3, 3) confusion matrix is."""
    constant = [
        f"{side} rated every response {Rating(int(np.argmax(totals)) + 1).label.capitalize()}"
        for side, totals in (("the crowd", table.sum(axis=1)), ("the judge", table.sum(axis=0)))
        if totals.max() == totals.sum()
    ]
    if not constant:
        return {}
    kappa = f"{' and '.join(constant)}, so kappa is 0 whatever the other side does: chance agreement by construction"
    reasons = {"kappa_linear": kappa, "kappa_quadratic": kappa}
    if len(constant) == 2 and np.trace(table) == table.sum():
        reasons["alpha_ordinal"] = "every rating is the same: no variation to agree on"
    return reasons


def confusion_tables(pairs: np.ndarray) -> np.ndarray:
    """(draws, responses, 2) scores -> (draws, 3, 3) confusion matrices, rows the crowd's."""
    cells = (pairs[..., 0] - 1) * 3 + (pairs[..., 1] - 1)
    counts = np.zeros((pairs.shape[0], 9), dtype=np.int64)
    np.add.at(counts, (np.arange(pairs.shape[0])[:, None], cells), 1)
    return counts.reshape(-1, 3, 3)


def _figures(tables: np.ndarray) -> dict[str, np.ndarray]:
    """Every figure of each (3, 3) table, vectorized over the first axis; NaN where
    undefined."""
    tables = tables.astype(float)
    n = tables.sum(axis=(1, 2))
    levels = np.arange(3)
    distance = np.abs(levels[:, None] - levels[None, :]).astype(float)
    crowd, judge = tables.sum(axis=2), tables.sum(axis=1)
    expected = crowd[:, :, None] * judge[:, None, :] / n[:, None, None]
    figures = {
        "exact": np.trace(tables, axis1=1, axis2=2) / n,
        "kappa_linear": _kappa(tables, expected, distance),
        "kappa_quadratic": _kappa(tables, expected, distance**2),
        "alpha_ordinal": _alpha_ordinal(tables),
        "mean_shift": (judge @ (levels + 1.0) - crowd @ (levels + 1.0)) / n,
    }
    return figures


def _kappa(observed: np.ndarray, expected: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """NaN where a side gives one rating throughout (why: docs/explanation/statistics.md,
    "A judge's agreement with the crowd")."""
    n = observed.sum(axis=(1, 2))
    varies = (observed.sum(axis=2).max(axis=1) < n) & (observed.sum(axis=1).max(axis=1) < n)
    disagreement = (observed * weights).sum(axis=(1, 2))
    chance = (expected * weights).sum(axis=(1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(varies & (chance > 0), 1 - disagreement / chance, np.nan)


def _alpha_ordinal(tables: np.ndarray) -> np.ndarray:
    """Krippendorff's alpha, ordinal metric, two coders rating every unit: from the
    coincidence matrix (each unit's pair counted both ways) and the values' frequencies."""
    coincidence = tables + tables.transpose(0, 2, 1)
    frequency = coincidence.sum(axis=2)
    total = frequency.sum(axis=1)
    # The ordinal metric: (sum of the frequencies from c to k, less half of both ends) squared.
    metric = np.zeros(tables.shape)
    for c in range(3):
        for k in range(3):
            low, high = min(c, k), max(c, k)
            between = frequency[:, low : high + 1].sum(axis=1)
            metric[:, c, k] = (between - (frequency[:, c] + frequency[:, k]) / 2) ** 2
    observed = (coincidence * metric).sum(axis=(1, 2))
    expected = (frequency[:, :, None] * frequency[:, None, :] * metric).sum(axis=(1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(expected > 0, 1 - (total - 1) * observed / expected, np.nan)


def _percentile(values: np.ndarray) -> Interval | None:
    kept = values[np.isfinite(values)]
    # An interval from a handful of defined draws would claim more than it knows.
    if kept.size < 0.9 * values.size:
        return None
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(kept, [tail, 100 - tail])
    return Interval(float(low), float(high))


def _value(x: float) -> float | None:
    return None if np.isnan(x) else float(x)
