"""Two groups of Bad/Okay/Good ratings compared: the model against its baseline (unpaired),
and a run against a saved run on the same cases (paired)."""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pytest_empathy.ratings import Counts, Rating

from .distributions import normal_quantile
from .independence import NO_TEST, independence_test
from .intervals import Interval, katz_interval, newcombe_interval, newcombe_paired_interval
from .marginal import stuart_maxwell


class Direction(enum.StrEnum):
    BETTER = "better"
    WORSE = "worse"
    SAME = "same"


@dataclass(frozen=True)
class Comparison:
    """A model's ratings against the baseline's, for one group of cases."""

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
    good_gain_relative_ci: Interval | None
    direction: Direction | None

    @property
    def n(self) -> int:
        return self.model.n


def compare(model: Counts, baseline: Counts, *, confidence: float = 0.95) -> Comparison:
    """Test whether the model's ratings are distributed like the baseline's, and by how much
    the model's Good rate differs."""
    rate, base_rate = model.good_rate, baseline.good_rate
    absolute = relative = None
    absolute_ci = relative_ci = None
    if rate is not None and base_rate is not None:
        z = normal_quantile(confidence)
        absolute = rate - base_rate
        absolute_ci = newcombe_interval(model.good, model.n, baseline.good, baseline.n, z)
        if base_rate > 0:
            relative = rate / base_rate - 1
        if model.good > 0 and baseline.good > 0:
            relative_ci = katz_interval(model.good, model.n, baseline.good, baseline.n, z)
    test, statistic, dof, p_value, cramers_v = independence_test(model, baseline)
    return Comparison(
        model=model,
        baseline=baseline,
        test=test,
        statistic=statistic,
        dof=dof,
        p_value=p_value,
        cramers_v=cramers_v,
        good_rate=rate,
        baseline_good_rate=base_rate,
        good_gain_absolute=absolute,
        good_gain_absolute_ci=absolute_ci,
        good_gain_relative=relative,
        good_gain_relative_ci=relative_ci,
        direction=direction(model, baseline),
    )


def direction(model: Counts, baseline: Counts) -> Direction | None:
    """Better or worse by the Good rate; on equal Good rates, by the mean rating, so that
    all-Bad against all-Okay still reads as worse."""
    if model.n == 0 or baseline.n == 0:
        return None
    for own, other in ((model.good / model.n, baseline.good / baseline.n), (_mean(model), _mean(baseline))):
        if not math.isclose(own, other, rel_tol=0, abs_tol=1e-12):
            return Direction.BETTER if own > other else Direction.WORSE
    return Direction.SAME


def _mean(counts: Counts) -> float:
    return (counts.bad + 2 * counts.okay + 3 * counts.good) / counts.n


@dataclass(frozen=True)
class PairedComparison:
    """Ratings of the same cases in a saved run (before) and this run (after)."""

    before: Counts
    after: Counts
    test: str
    statistic: float | None
    dof: int | None
    p_value: float | None
    good_change: float | None
    good_change_ci: Interval | None
    direction: Direction | None

    @property
    def n(self) -> int:
        return self.after.n


def compare_paired(pairs: Sequence[tuple[Rating, Rating]], *, confidence: float = 0.95) -> PairedComparison:
    """Marginal homogeneity of paired Bad/Okay/Good ratings (Stuart-Maxwell), and the change
    of the Good rate with Newcombe's interval for paired proportions."""
    before = Counts.of(b for b, _ in pairs)
    after = Counts.of(a for _, a in pairs)
    if not pairs:
        return PairedComparison(before, after, NO_TEST, None, None, None, None, None, None)
    table = np.zeros((3, 3), dtype=int)
    for b, a in pairs:
        table[b - 1, a - 1] += 1
    test, statistic, dof, p_value = stuart_maxwell(table)
    z = normal_quantile(confidence)
    good = np.array([[b == Rating.GOOD, a == Rating.GOOD] for b, a in pairs])
    both = int((good[:, 0] & good[:, 1]).sum())
    gained = int((~good[:, 0] & good[:, 1]).sum())
    lost = int((good[:, 0] & ~good[:, 1]).sum())
    neither = len(pairs) - both - gained - lost
    return PairedComparison(
        before=before,
        after=after,
        test=test,
        statistic=statistic,
        dof=dof,
        p_value=p_value,
        good_change=(gained - lost) / len(pairs),
        good_change_ci=newcombe_paired_interval(both, gained, lost, neither, z),
        direction=direction(after, before),
    )
