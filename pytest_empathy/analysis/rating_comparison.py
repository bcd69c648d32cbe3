"""Two groups of Bad/Okay/Good ratings compared: the model against its baseline, and a run
against a saved run on the same cases; the gates decide on the Good rate or the ordinal
effect, the study's test of the whole distribution reported beside them.

See docs/explanation/statistics.md, "Two groups of ratings compared".
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pytest_empathy.modes import GateTest
from pytest_empathy.ratings import Counts, Rating

from . import ordinal
from .clusters import DesignEffects
from .distributions import NORMAL
from .independence import NO_TEST, independence_test
from .marginal import stuart_maxwell
from .ordinal import OrdinalTest
from .proportions import GoodRateTest, Margin, PairedCounts, paired, standardized, unpaired


class Direction(enum.StrEnum):
    BETTER = "better"
    WORSE = "worse"
    SAME = "same"


@dataclass(frozen=True)
class WholeTest:
    """A test of the whole Bad/Okay/Good distribution: its name, statistic (None where the
    test has none of its own, as an exact test), degrees of freedom and p-value."""

    test: str
    statistic: float | None
    dof: int | None
    p_value: float | None


class Verdict:
    """The direction and one-sided p-values of a comparison, all from the one test that
    decides it: the Good rate's or the ordinal effect's."""

    good: GoodRateTest | None
    ordinal: OrdinalTest | None
    decides: GateTest

    @property
    def deciding(self) -> GoodRateTest | OrdinalTest | None:
        return self.test(self.decides)

    def test(self, kind: GateTest) -> GoodRateTest | OrdinalTest | None:
        return self.good if kind is GateTest.GOOD_RATE else self.ordinal

    @property
    def direction(self) -> Direction | None:
        return direction_of(self.deciding)

    @property
    def p_better(self) -> float | None:
        test = self.deciding
        return None if test is None else test.p_greater

    @property
    def p_worse(self) -> float | None:
        test = self.deciding
        return None if test is None else test.p_less


@dataclass(frozen=True)
class Comparison(Verdict):
    """A model's ratings against the baseline's, for one group of cases."""

    model: Counts
    baseline: Counts
    # The study's test: chi-square of independence on the 2x3 table, or Freeman-Halton's.
    study: WholeTest
    cramers_v: float | None
    # None when a side has no ratings.
    good: GoodRateTest | None
    ordinal: OrdinalTest | None
    decides: GateTest = GateTest.GOOD_RATE
    # Where the ratings name their raters: the clusters and the design effects applied.
    design: DesignEffects | None = None
    # The model's Bad rate against the baseline's, by the Good rate's tests on the Bad counts
    # (first side the model: a positive difference is more Bad answers); None when a side has
    # no ratings.
    bad: GoodRateTest | None = None

    @property
    def n(self) -> int:
        return self.model.n


@dataclass(frozen=True)
class GateMargins:
    """The nulls the margin gates test on a comparison's intervals: `not-worse` a difference
    on the Good rate's lower bound, `no-more-bad` one on the Bad rate's upper bound, and
    `min-good-gain R` (R not 0) a ratio of 1 + R on the Good rate ratio's lower bound."""

    good: Margin | None = None
    bad: Margin | None = None
    gain: Margin | None = None


def compare(
    model: Counts,
    baseline: Counts,
    *,
    alpha: float,
    decides: GateTest = GateTest.GOOD_RATE,
    pairs: Sequence[tuple[Rating, Rating]] | None = None,
    strata: Sequence[tuple[Counts, Counts]] | None = None,
    design: DesignEffects | None = None,
    margins: GateMargins | None = None,
    family: int = 1,
) -> Comparison:
    """The model's ratings against the baseline's; ``pairs`` are the (model, baseline)
    ratings case by case, when both rated the same cases; ``strata`` are the (model,
    baseline) counts per emotion of a group of several emotions rated on different cases,
    whose baseline is then standardized to the model's mix; ``design`` the design effects of
    clustered ratings; ``margins`` the nulls the margin gates test on this comparison, at
    which an unpaired test must hold its size too; ``family`` the emotions an emotion's
    p-values are Holm's over, at whose every level an unpaired test must hold its size.
    Intervals are two-sided at 1 - 2 alpha, so that their bounds are the one-sided bounds of
    the tests at alpha."""
    margins = margins or GateMargins()
    test, statistic, dof, p_value, cramers_v = independence_test(model, baseline)
    good = order = None
    if model.n and baseline.n:
        confidence = 1 - 2 * alpha
        good_effect = None if design is None else design.good
        order_effect = None if design is None else design.ordinal
        reference = NORMAL if design is None else design.reference
        if pairs is not None:
            good, order = _paired_tests(pairs, confidence, design, family)
        elif strata is not None and len(strata) > 1:
            rates = [(m.good, m.n, b.good, b.n) for m, b in strata if m.n]
            good = standardized(
                rates,
                confidence=confidence,
                design_effect=good_effect,
                reference=reference,
                margin=margins.good,
                gain=margins.gain,
            )
            order = ordinal.standardized(strata, confidence=confidence, design_effect=order_effect, reference=reference)
        else:
            counts = (model.good, model.n, baseline.good, baseline.n)
            good = unpaired(
                *counts,
                confidence=confidence,
                design_effect=good_effect,
                reference=reference,
                margin=margins.good,
                family=family,
                gain=margins.gain,
            )
            # One rating on a side says nothing of its spread: no ordinal figure.
            if min(model.n, baseline.n) > 1:
                order = ordinal.unpaired(model, baseline, confidence=confidence)
    study = WholeTest(test, statistic, dof, p_value)
    bad = _bad_rate(
        model, baseline, alpha=alpha, pairs=pairs, strata=strata, design=design, margin=margins.bad, family=family
    )
    return Comparison(model, baseline, study, cramers_v, good, order, decides, design, bad)


def _bad_rate(
    model: Counts,
    baseline: Counts,
    *,
    alpha: float,
    pairs: Sequence[tuple[Rating, Rating]] | None,
    strata: Sequence[tuple[Counts, Counts]] | None,
    design: DesignEffects | None,
    margin: Margin | None,
    family: int,
) -> GoodRateTest | None:
    """The model's Bad rate against the baseline's, by the tests the Good rate gets in the
    same design (paired, standardized over several emotions, or unpaired), so that its
    interval and its test agree."""
    if not (model.n and baseline.n):
        return None
    confidence, effect = 1 - 2 * alpha, None if design is None else design.bad
    reference = NORMAL if design is None else design.reference
    if pairs is not None:
        # McNemar's exact test where few cases are discordant, as for the Good rate: its
        # interval holds Tango's, so no-more-bad's margin is bounded by Tango's at least (the
        # exact conditional test alone tests no difference only).
        bad = good_pairs(pairs, Rating.BAD)
        return paired(bad, confidence=confidence, design_effect=effect, reference=reference, family=family)
    if strata is not None and len(strata) > 1:
        rates = [(m.bad, m.n, b.bad, b.n) for m, b in strata if m.n]
        return standardized(
            rates, confidence=confidence, design_effect=effect, reference=reference, margin=margin, rate="Bad"
        )
    counts = (model.bad, model.n, baseline.bad, baseline.n)
    return unpaired(
        *counts,
        confidence=confidence,
        design_effect=effect,
        reference=reference,
        margin=margin,
        family=family,
        rate="Bad",
    )


def _paired_tests(
    pairs: Sequence[tuple[Rating, Rating]], confidence: float, design: DesignEffects | None, family: int
) -> tuple[GoodRateTest, OrdinalTest]:
    """The Good rate's paired test and the ordinal effect's of (first, second) ratings of the
    same cases, clustered by ``design`` where the ratings name raters; ``family`` the emotions
    whose Holm's steps the Good rate's test must hold its size at (``proportions.paired``)."""
    good_effect, order_effect = (None, None) if design is None else (design.good, design.ordinal)
    reference = NORMAL if design is None else design.reference
    good = paired(
        good_pairs(pairs), confidence=confidence, design_effect=good_effect, reference=reference, family=family
    )
    order = ordinal.paired_ratings(pairs, confidence=confidence, design_effect=order_effect, reference=reference)
    return good, order


def direction_of(test: GoodRateTest | OrdinalTest | None) -> Direction | None:
    """The sign of a test's statistic; None without a test, or with one that decides nothing."""
    if test is None or test.p_greater is None:
        return None
    if test.statistic > 0:
        return Direction.BETTER
    return Direction.WORSE if test.statistic < 0 else Direction.SAME


@dataclass(frozen=True)
class PairedComparison(Verdict):
    """Ratings of the same cases in a saved run (before) and this run (after)."""

    before: Counts
    after: Counts
    # Stuart-Maxwell's test of marginal homogeneity on the 3x3 table of paired ratings.
    whole: WholeTest
    # This run's Good rate against the saved run's, paired, and its ratings as an order.
    good: GoodRateTest | None
    ordinal: OrdinalTest | None
    decides: GateTest = GateTest.GOOD_RATE
    # Where the runs name their raters: the clusters and the design effects applied.
    design: DesignEffects | None = None
    # This run's Bad rate against the saved run's, paired, by the Good rate's test on the Bad
    # counts (first side this run: a positive difference is more Bad answers).
    bad: GoodRateTest | None = None

    @property
    def n(self) -> int:
        return self.after.n


def compare_paired(
    pairs: Sequence[tuple[Rating, Rating]], *, alpha: float, design: DesignEffects | None = None, family: int = 1
) -> PairedComparison:
    """Paired (before, after) ratings: Stuart-Maxwell on the whole scale, and the changes of
    the Good rate and of the Bad rate by the paired test and its interval (``paired``);
    ``design`` the design effects of clustered ratings; ``family`` the emotions an emotion's
    p-values are Holm's over, at whose every level its tests must hold their size."""
    before = Counts.of(b for b, _ in pairs)
    after = Counts.of(a for _, a in pairs)
    if not pairs:
        return PairedComparison(before, after, WholeTest(NO_TEST, None, None, None), None, None)
    table = [[0] * 3 for _ in range(3)]
    for b, a in pairs:
        table[b - 1][a - 1] += 1
    whole = WholeTest(*stuart_maxwell(table))
    run_first = [(a, b) for b, a in pairs]
    good, order = _paired_tests(run_first, 1 - 2 * alpha, design, family)
    # A rise in Bad answers is tested against no change, as the Good rate's fall is: McNemar's
    # exact test where few cases changed.
    bad = paired(
        good_pairs(run_first, Rating.BAD),
        confidence=1 - 2 * alpha,
        design_effect=None if design is None else design.bad,
        reference=NORMAL if design is None else design.reference,
        family=family,
    )
    return PairedComparison(before, after, whole, good, order, design=design, bad=bad)


def good_pairs(pairs: Iterable[tuple[Rating, Rating | None]], rating: Rating = Rating.GOOD) -> PairedCounts:
    """The Good ratings (or those of ``rating``) of two sides over the same cases, counted:
    (first, second) per case."""
    both = first_only = second_only = neither = 0
    for first, second in pairs:
        first_good, second_good = first == rating, second == rating
        if first_good and second_good:
            both += 1
        elif first_good:
            first_only += 1
        elif second_good:
            second_only += 1
        else:
            neither += 1
    return PairedCounts(both, first_only, second_only, neither)
