"""How large a Good-rate difference a run can detect: the smallest difference a one-sided
test at the run's alpha finds with 80% power, at the run's sample size; and, for a saved-run
check of a decline, that drop judged exactly (``DetectableDrop``).

See docs/explanation/statistics.md, "Power and the smallest detectable difference".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cache, lru_cache
from typing import TYPE_CHECKING

from .distributions import NORMAL, Reference, binomial_pmf, binomial_tail, log_factorials, normal_cdf, normal_quantile

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray
from .proportions import (
    UNPAIRED_EXACT,
    GoodRateTest,
    bounded,
    decided_exactly,
    exact_cutover,
    exact_lower_bound_above,
    holm_cutover,
    inflation,
    tango,
)

POWER = 0.8
# The study's headline (GPT-4 with the empathy prompt against humans, crowd-rated): Good
# rate 64.75% against 49.30%. A run that cannot detect it cannot show what the study showed.
STUDY_EFFECT = 0.6475 - 0.4930

DROP_METHOD = (
    "'detects': the smallest drop of the Good rate that the check's one-sided paired test finds with 80% power at "
    "its level (alpha; for an emotion alpha over the emotions, Holm's first step): McNemar's exact test (binomial, "
    "conditional on the discordant cases) where they are so few that the z test's size would exceed alpha by a "
    f"third ({exact_cutover(0.05)} at alpha 0.05; for an emotion at any level Holm's steps compare its p-value "
    "with), Tango's score test at no change (McNemar's z) beyond. Its power "
    "is computed exactly, not approximated, each count of discordant cases by the test it gets: the count of "
    "cases Good on one side only is binomial, and how many of them fell binomial given it. The share of such "
    "discordant cases is this run's own, and at least the drop itself, as a drop of d points needs d points of "
    "the cases to fall; where this run has fewer (a replay rated case by case as its saved run has none) the "
    "figure assumes the drop is the only change, every such case having fallen: the most favourable case, which "
    "the line says. The drop is at most the saved run's Good rate, as only cases Good in it can fall: 'no drop "
    "the saved run allows' when none up to it is found with 80% power. "
    "'cannot fail': even with every case Good in the saved run falling and none rising, the p-value (a half to the "
    "power of the saved run's Good cases, exactly; beyond the cutover the normal tail beyond their square root) "
    "is not below the level. "
    "good-drop: how often it passes a model that changed nothing, exactly: the count of discordant cases binomial "
    "at this run's share, each of them as likely to have fallen as risen; it warns below 80%. Its bound with "
    "nothing changed is the interval's at an even split of this run's discordant cases (with few of them, the exact "
    "test's interval, the hull of Tango's and Clopper-Pearson's). Where the runs name raters, every figure is "
    "computed on n over the comparison's design effect (what the cases are worth as independent ones) and its tests "
    "referred to Student's t on G - 1 dof, as the comparison's own are: the score test, never the exact one"
)


def _one_sided_quantile(alpha: float, reference: Reference = NORMAL) -> float:
    """The critical value of a one-sided test at ``alpha`` referred to ``reference``."""
    return normal_quantile(1 - 2 * alpha) if reference.dof is None else reference.critical(1 - 2 * alpha)


def _rejection_chance(effect: float, null: float, alternative: float, alpha: float, reference: Reference) -> float:
    """The chance that a one-sided test at ``alpha`` rejects: its estimate normal about
    ``effect`` with spread ``alternative``, divided by a null spread ``null``.

    On the normal the null spread is known: Phi((effect - z_alpha null) / alternative).
    Clustered runs estimate it from G clusters and refer the ratio to Student's t on nu = G - 1
    dof (``clusters``): the estimated spread is null sqrt(chi2_nu / nu), of mean about null (1 -
    1 / (4 nu)) and variance null^2 / (2 nu), so estimate - t_alpha * spread is about normal
    with that mean and variance alternative^2 + t_alpha^2 null^2 / (2 nu): with equal spreads,
    the noncentral t's normal approximation (Abramowitz and Stegun 26.7.10). Against the
    noncentral t (scipy's ``nct``) a stated 80% is 80.0-80.2% at G = 12 to 40 at alpha 0.05 and
    at an emotion's level 0.05 / 32; t's quantile alone in the shifted normal stated 80% for
    79.5% and 76.7% at G = 12 (tests/test_clustered_power.py)."""
    critical = _one_sided_quantile(alpha, reference)
    if reference.dof is None:
        return normal_cdf((effect - critical * null) / alternative)
    nu = reference.dof
    spread = math.sqrt(alternative**2 + (critical * null) ** 2 / (2 * nu))
    return normal_cdf((effect - critical * null * (1 - 1 / (4 * nu))) / spread)


def power_unpaired(
    difference: float, rate2: float, n1: float, n2: float, alpha: float, reference: Reference = NORMAL
) -> float:
    """Power of the one-sided test at ``alpha`` when the first rate is ``rate2 + difference``
    (difference > 0: the test of a higher first rate), referred to ``reference``."""
    rate1 = rate2 + difference
    pooled = (n1 * rate1 + n2 * rate2) / (n1 + n2)
    null = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    alternative = math.sqrt(rate1 * (1 - rate1) / n1 + rate2 * (1 - rate2) / n2)
    if alternative == 0:
        return 1.0
    return _rejection_chance(difference, null, alternative, alpha, reference)


def power_paired(difference: float, discordant: float, n: float, alpha: float, reference: Reference = NORMAL) -> float:
    """Power of McNemar's one-sided test at ``alpha`` for a difference of paired rates, given
    the share of discordant cases (Connor 1987), referred to ``reference``."""
    spread = discordant - difference * difference
    if spread <= 0:
        return 1.0
    return _rejection_chance(math.sqrt(n) * difference, math.sqrt(discordant), math.sqrt(spread), alpha, reference)


def detectable_unpaired(
    rate2: float, n1: float, n2: float, alpha: float, *, upward: bool, reference: Reference = NORMAL
) -> float | None:
    """The smallest rise (or, with ``upward`` false, drop) of the first rate from ``rate2``
    that the one-sided test finds with 80% power."""
    if upward:
        return _smallest(lambda d: power_unpaired(d, rate2, n1, n2, alpha, reference), 1 - rate2)
    # A drop of the first rate is a rise of the second's over it.
    return _smallest(lambda d: power_unpaired(d, rate2 - d, n2, n1, alpha, reference), rate2)


def margin_unpaired(rate: float, n1: float, n2: float, alpha: float, reference: Reference = NORMAL) -> float | None:
    """The smallest non-inferiority margin that the one-sided test at ``alpha`` of a first rate
    higher by the margin rejects with 80% power when both rates are ``rate`` (Farrington and
    Manning's normal approximation): the variance under that null at the rates nearest the
    truth, the margin split between the sides in inverse proportion to their sizes (the
    restricted maximum likelihood's limit), and under the truth at ``rate`` on both sides."""
    spread = math.sqrt(rate * (1 - rate) * (1 / n1 + 1 / n2))

    def power(margin: float) -> float:
        first = min(1.0, rate + margin * n2 / (n1 + n2))
        second = max(0.0, rate - margin * n1 / (n1 + n2))
        null = math.sqrt(first * (1 - first) / n1 + second * (1 - second) / n2)
        if spread == 0:
            return 1.0
        return _rejection_chance(margin, null, spread, alpha, reference)

    return _smallest(power, 1.0)


def detectable_paired(discordant: float, n: float, alpha: float, reference: Reference = NORMAL) -> float | None:
    """The smallest difference of paired rates, either way, found with 80% power."""
    return _smallest(lambda d: power_paired(d, discordant, n, alpha, reference), discordant)


# Whose power a figure is, as the outputs name it (docs/explanation/statistics.md, "Power", says how each is found).
SCORE_POWER = "the score test's power, normal approximation"
PAIRED_POWER = "McNemar's test's power, Connor's approximation"
FARRINGTON_MANNING = "the score test's power, Farrington and Manning's approximation"
EXACT_POWER = "the exact unconditional test's power, exact"
BOUNDED_POWER = "Berger and Boos's valid test's power, exact over the baseline's count"
BOUNDED_POWER_GIVEN = (
    "Berger and Boos's valid test's power, exact given the baseline's counts (its Chernoff bound rests on every "
    "emotion's count)"
)


def no_discordant(rating: str) -> str:
    """Why a paired test's power is not judged: no case is rated ``rating`` on one side only."""
    return f"not judged: no case is {rating} on one side only, and the paired test's power rests on their share"


NO_RATINGS = "not judged: a side has no ratings"


@dataclass(frozen=True)
class Detectable:
    """The smallest Good-rate gain and drop a group's one-sided tests find with 80% power, at
    ``alpha`` (Holm's first step, alpha over the number of emotions, for an emotion), and
    whose power each is, or why there is none (``gain_method``, ``drop_method``)."""

    alpha: float
    gain: float | None
    drop: float | None
    gain_method: str = NO_RATINGS
    drop_method: str = NO_RATINGS

    @property
    def method(self) -> str:
        if self.gain_method == self.drop_method:
            return self.gain_method
        return f"gain: {self.gain_method}; drop: {self.drop_method}"


def detectable(
    good: GoodRateTest | None,
    n1: float,
    n2: float,
    rate2: float | None,
    alpha: float,
    reference: Reference = NORMAL,
    strata: Sequence[tuple[int, int, int, int]] | None = None,
) -> Detectable:
    """What a comparison of ``n1`` against ``n2`` ratings (the second side's Good rate
    ``rate2``) can detect, paired when ``good`` is, its tests referred to ``reference``; each
    side by the test that decides it: where that is Berger and Boos's (``proportions.bounded``),
    its power over the comparison's ``strata`` (good1, n1, good2, n2)."""
    if good is None or rate2 is None:
        return Detectable(alpha, None, None)
    if good.paired:
        assert good.discordant is not None
        either = detectable_paired(good.discordant, n1, alpha, reference)
        method = PAIRED_POWER if either is not None else no_discordant("Good")
        return Detectable(alpha, either, either, method, method)

    def exact(up: bool) -> float | None:
        first, second, shift = round(n1), round(n2), 1 if up else -1
        return _smallest(
            lambda d: power_exact_unpaired(rate2 + shift * d, rate2, first, second, alpha, higher=up),
            1 - rate2 if up else rate2,
        )

    sides = []
    for up in (True, False):
        if good.method == UNPAIRED_EXACT:
            figure, method = exact(up), EXACT_POWER
        elif bounded(good, greater=up):
            if strata is None:
                raise ValueError("the valid test's power rests on the comparison's strata: none given")
            # From the rate the valid test bounds: the baseline's standardized to the model's mix.
            standardized = rate2 if good.second_rate is None else good.second_rate
            figure, method = detectable_bounded(strata, standardized, alpha, greater=up)
        else:
            figure, method = detectable_unpaired(rate2, n1, n2, alpha, upward=up, reference=reference), SCORE_POWER
        if figure is None:
            method = f"not judged: the baseline's Good rate is {rate2:.0%}, leaving no {'gain' if up else 'drop'}"
        sides.append((figure, method))
    (gain, gain_method), (drop, drop_method) = sides
    return Detectable(alpha, gain, drop, gain_method, drop_method)


def detectable_bounded(
    strata: Sequence[tuple[int, int, int, int]], rate2: float, alpha: float, *, greater: bool
) -> tuple[float | None, str]:
    """The smallest rise (``greater``) or drop of the model's rate from the baseline's
    ``rate2`` that Berger and Boos's test over ``strata`` finds with 80% power, and whose power
    that is (``bounded_power``)."""
    if greater:
        return _smallest(lambda d: bounded_power(strata, rate2 + d, rate2, alpha, greater=True)[0], 1 - rate2), (
            bounded_power(strata, rate2, rate2, alpha, greater=True)[1]
        )
    return _smallest(lambda d: bounded_power(strata, rate2 - d, rate2, alpha, greater=False)[0], rate2), (
        bounded_power(strata, rate2, rate2, alpha, greater=False)[1]
    )


def margin_bounded(strata: Sequence[tuple[int, int, int, int]], rate: float, alpha: float) -> tuple[float | None, str]:
    """The smallest margin whose null, a first rate higher by it, Berger and Boos's test over
    ``strata`` rejects (its lower side) with 80% power when both rates are ``rate``."""
    method = bounded_power(strata, rate, rate, alpha, greater=False)[1]
    return _smallest(lambda m: bounded_power(strata, rate, rate, alpha, greater=False, difference=m)[0], 1.0), method


def bounded_power(
    strata: Sequence[tuple[int, int, int, int]],
    rate1: float,
    rate2: float,
    alpha: float,
    *,
    greater: bool,
    difference: float = 0.0,
) -> tuple[float, str]:
    """The power of Berger and Boos's one-sided test (``berger_boos``) at ``alpha`` of the
    null p1 = p2 + ``difference`` against a higher (``greater``) or lower first rate, the
    model's ratings of ``strata`` (good1, n1, good2, n2) at ``rate1`` throughout and the
    baseline's at ``rate2``, and how it is computed. The test rejects the model's count where
    the null's rate, the baseline's bound plus ``difference``, lies on the rejecting side of
    that count's rate (``berger_boos.rejecting_rates``). Where every emotion's weight per
    baseline rating is the same the bound is Clopper-Pearson's on the baseline's total, a
    binomial count at ``rate2``: the power sums over it, exactly. Otherwise (Chernoff's
    bound, resting on every emotion's count) it is the power given the baseline's counts."""
    import numpy as np

    from . import berger_boos

    n1, n2 = sum(s[1] for s in strata), sum(s[3] for s in strata)
    gamma = alpha * berger_boos.BASELINE_SHARE
    if berger_boos.rate_bound_method(strata) == berger_boos.CLOPPER_PEARSON:
        chances, bounds = _even_bounds(n2, rate2, gamma, greater)
        method = BOUNDED_POWER
    else:
        chances = np.ones(1)
        bounds = np.array([berger_boos.standardized_rate_bound(strata, gamma, upper=greater)])
        method = BOUNDED_POWER_GIVEN
    rates = berger_boos.rejecting_rates(n1, alpha, greater=greater)
    nulls = np.clip(bounds + difference, 0.0, 1.0)
    tails = _count_tails(n1, rate1)
    # Higher: the counts whose rate lies above the null's are rejected, from the fewest up;
    # lower: those whose rate lies at or below it, up to the most.
    found = np.searchsorted(rates, nulls, side="right")
    rejected = tails[found] if greater else 1.0 - tails[found]
    return min(1.0, max(0.0, float(chances @ rejected))), method


# A margin's search asks the same model's tails some thirty times (only the null moves).
@lru_cache(maxsize=64)
def _count_tails(n: int, rate: float) -> NDArray[np.float64]:
    """P(the model's count >= k), k = 0 .. ``n`` + 1, of ``n`` ratings at ``rate``."""
    import numpy as np

    tails = np.array([binomial_tail(k, n, rate, 1.0 - rate) for k in range(n + 2)])
    tails.setflags(write=False)
    return tails


# A power search asks the same baseline's bounds some thirty times.
@cache
def _even_bounds(n: int, rate: float, gamma: float, upper: bool) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The chance of each likely count of the baseline's ``n`` ratings at ``rate`` (beyond 9
    standard deviations and five counts its mass is below 1e-15) and its (1 - ``gamma``)
    bound, ``berger_boos.standardized_rate_bound`` on an even design: its total's."""
    import numpy as np

    from . import berger_boos

    mean, spread = n * rate, 9 * math.sqrt(n * rate * (1 - rate)) + 5
    counts = range(max(0, math.floor(mean - spread)), min(n, math.ceil(mean + spread)) + 1)
    chances = np.array([binomial_pmf(count, n, rate) for count in counts])
    bound = berger_boos.poisson_binomial_bound
    bounds = np.array([bound(c, n, gamma) if upper else 1.0 - bound(n - c, n, gamma) for c in counts])
    return chances, bounds


def power_exact_unpaired(rate1: float, rate2: float, n1: int, n2: int, level: float, *, higher: bool) -> float:
    """The exact power of the exact unconditional test (``proportions.unpaired`` where it
    decides) at one-sided ``level``, of a first rate higher (``higher``) or lower than the
    second, when they are ``rate1`` and ``rate2``: the chance of its rejection region, whose
    tables are, for each first count, the second's counts up to a threshold (higher) or from
    one (lower)."""
    total = 0.0
    for x1, threshold in enumerate(_exact_thresholds(n1, n2, level, higher)):
        rejected = (
            1.0 - binomial_tail(threshold, n2, rate2, 1.0 - rate2)
            if higher
            else binomial_tail(threshold, n2, rate2, 1.0 - rate2)
        )
        total += binomial_pmf(x1, n1, rate1) * rejected
    return min(1.0, max(0.0, total))


@cache
def _exact_thresholds(n1: int, n2: int, level: float, higher: bool) -> tuple[int, ...]:
    """For each first count, where the exact test at ``level`` stops (higher: the fewest
    second counts it does not reject) or starts (lower: the fewest it rejects) rejecting: its
    p-values at no difference rise with the second count (higher) or fall (lower), the
    statistic falling as the second count rises. Found by bisection."""
    from . import unconditional  # numpy: only where the exact test decides

    thresholds = []
    for x1 in range(n1 + 1):

        def rejected(x2: int, x1: int = x1) -> bool:
            return unconditional.rejects_no_difference(x1, n1, x2, n2, level, greater=higher)

        # higher: rejected below the threshold; lower: from it.
        low, high = 0, n2 + 1
        while low < high:
            middle = (low + high) // 2
            if middle <= n2 and rejected(middle) == higher:
                low = middle + 1
            else:
                high = middle
        thresholds.append(low)
    return tuple(thresholds)


def _smallest(power: Callable[[float], float], largest: float, tolerance: float = 1e-9) -> float | None:
    """The smallest difference in (0, largest] whose power reaches POWER; 1 if none does,
    None if the range is empty. Power rises with the difference over that range."""
    if largest <= 0:
        return None
    if power(largest) < POWER:
        return 1.0
    low, high = 0.0, largest
    while high - low > tolerance:
        middle = (low + high) / 2
        if power(middle) >= POWER:
            high = middle
        else:
            low = middle
    return high


@dataclass(frozen=True)
class DetectableDrop:
    """What a saved-run check's one-sided paired test at ``level`` can detect on ``n`` cases,
    ``saved_good`` of them Good in the saved run (no more can fall), a share ``discordant`` of
    them rated Good on one side only in this run: the smallest Good-rate drop found with 80%
    power (None: no drop the saved run allows is, or the test can reject nothing), and the
    smallest p-value it can give at all."""

    level: float
    n: int
    saved_good: int
    discordant: float
    drop: float | None
    smallest_p: float
    # Clustered ratings: the comparison's design effect (at least 1) and the t the tests use.
    design_effect: float = 1.0
    reference: Reference = NORMAL
    # An emotion's: the emotions whose Holm's steps its test holds its size at (``proportions.paired``).
    family: int = 1

    @property
    def test(self) -> str:
        """The paired test whose power the figures are, named as the comparison runs it."""
        if self.reference.dof is not None:
            return "McNemar's z test"
        return f"McNemar's test (exact up to {holm_cutover(self.level, self.family)} discordant cases, z beyond)"

    @property
    def effective_n(self) -> int:
        """The cases worth as much as independent ones: n over the design effect, at least 1."""
        return max(1, round(self.n / self.design_effect))

    @property
    def fewest_to_fail(self) -> int:
        """The fewest cases Good in the saved run with which the check can fail at all."""
        return math.ceil(fewest_cases_to_fail(self.level, self.reference, self.family) * self.design_effect)

    @property
    def can_fail(self) -> bool:
        return self.smallest_p < self.level

    @property
    def largest(self) -> float:
        """The largest drop the saved run allows: every case Good in it falls."""
        return self.saved_good / self.n if self.n else 0.0

    @property
    def best_case(self) -> bool:
        """Whether the figure assumes more cases rated otherwise than this run has: the drop
        then is the only change, every case rated otherwise having fallen."""
        return self.drop is not None and self.discordant < self.drop

    def power(self, drop: float) -> float:
        """The power at a drop of ``drop``, on the same assumptions as the figure."""
        discordant = max(self.discordant, drop)
        return power_paired_drop(drop, discordant, self.effective_n, self.level, self.reference, self.family)


# An exact power search is some twenty sums over the discordant count. Its arguments are an
# emotion's few counts (the discordant share a whole number of cases over n): runs compared in
# one process ask the same again (the size simulations of tests/test_verdicts.py).
@lru_cache(maxsize=4096, typed=True)
def detectable_drop(
    n: int,
    saved_good: int,
    discordant: float,
    level: float,
    *,
    design_effect: float | None = None,
    reference: Reference = NORMAL,
    family: int = 1,
) -> DetectableDrop:
    """The drop the paired test finds with 80% power on ``n`` cases, ``saved_good`` of them
    Good in the saved run, assuming the run's own discordant share, or the drop's where that is
    smaller; clustered, on n over ``design_effect`` and referred to ``reference``; ``family``
    the emotions an emotion's test holds Holm's every level for."""
    effect = inflation(design_effect)
    smallest = smallest_paired_p(saved_good / effect, level, reference, family)
    found = DetectableDrop(level, n, saved_good, discordant, None, smallest, effect, reference, family)
    if not found.can_fail or found.power(found.largest) < POWER:
        return found
    return replace(found, drop=_reaching_power(found.power, found.largest))


def _reaching_power(power: Callable[[float], float], largest: float) -> float:
    """The smallest drop in [0, ``largest``] whose power, which rises with the drop and reaches
    80% at ``largest``, is 80%, to a ten-thousandth of a point (the figure is shown to a tenth):
    regula falsi, the Illinois variant, which keeps a bracket and needs a few evaluations of
    the exact power where bisection needs twenty."""
    low, high = 0.0, largest
    below, above = power(low) - POWER, power(high) - POWER
    if below >= 0:
        return low
    side = 0
    while high - low > 1e-6:
        middle = (low * above - high * below) / (above - below)
        if not low < middle < high:
            middle = (low + high) / 2
        excess = power(middle) - POWER
        if excess >= 0:
            high, above = middle, excess
            if side == 1:
                below /= 2
            side = 1
        else:
            low, below = middle, excess
            if side == -1:
                above /= 2
            side = -1
    return high


def smallest_paired_p(saved_good: float, level: float, reference: Reference = NORMAL, family: int = 1) -> float:
    """The smallest one-sided p-value the paired test at ``level`` gives on cases ``saved_good``
    of which are Good in the saved run: all of them fall, none rises. McNemar's exact p is then
    a half to the power of ``saved_good``, where that test decides (``proportions.decided_exactly``); McNemar's
    z is minus the root of ``saved_good`` (with none, no case is Good on one side only and z
    is 0)."""
    if decided_exactly(saved_good, level, reference, family=family):
        return math.pow(0.5, saved_good)
    return reference.lower(-math.sqrt(saved_good))


def fewest_cases_to_fail(level: float, reference: Reference = NORMAL, family: int = 1) -> int:
    """The fewest cases Good in the saved run with which the paired test can reject at
    ``level`` at all, searched upward from a count at which neither test can."""
    n = max(1, math.floor(_one_sided_quantile(level) ** 2) - 1)
    while smallest_paired_p(n, level, reference, family) >= level:
        n += 1
    return n


def power_paired_drop(
    drop: float, discordant: float, n: int, level: float, reference: Reference = NORMAL, family: int = 1
) -> float:
    """The exact power of the one-sided paired test at ``level`` on ``n`` cases when the Good
    rate falls by ``drop``, a share ``discordant`` (at least ``drop``) of the cases Good on one
    side only: their count is binomial (n, discordant), and the number that fell binomial
    (count, (discordant + drop) / (2 discordant)) given it."""
    if discordant <= 0:
        return 0.0
    fell = (discordant + drop) / (2 * discordant)
    return _chance_enough_fell(n, discordant, fell, lambda count: _fewest_fallen(count, level, reference, family))


def unchanged_pass_rate(
    n: int, discordant: float, points: float, confidence: float, reference: Reference = NORMAL
) -> float:
    """The exact chance that good-drop:``points`` passes a model that changed nothing: the
    number of cases Good on one side only binomial (n, ``discordant``, this run's share),
    each of them as likely to have fallen as risen. The check passes while the lower bound of
    Tango's interval at ``confidence`` is above -``points``, that is while Tango's statistic at
    that change exceeds the interval's critical value: no interval is inverted."""
    change, critical, alpha = -points / 100, reference.critical(confidence), (1 - confidence) / 2

    def fails(count: int, fallen: int) -> bool:
        """Whether the interval's lower bound is at or below the change: Tango's, or where the
        exact test decides, the hull of Tango's and the exact interval's."""
        if tango(n, count - fallen, fallen, change) <= critical:
            return True
        return decided_exactly(count, alpha, reference) and not exact_lower_bound_above(
            change, n, count - fallen, count, alpha
        )

    def fewest_failing(count: int) -> int:
        """Of ``count`` discordant cases, the fewest that fell with which the check fails;
        the bound falls as more of them fell, the rest having risen."""
        low, high = 0, count + 1
        while low < high:
            middle = (low + high) // 2
            if fails(count, middle):
                high = middle
            else:
                low = middle + 1
        return low

    return 1.0 - _chance_enough_fell(n, discordant, 0.5, fewest_failing)


def points_passing_unchanged(
    n: int, discordant: float, confidence: float, failing: float = 0, reference: Reference = NORMAL
) -> int | None:
    """The fewest whole points with which good-drop passes a model that changed nothing 80%
    of the time or more (``unchanged_pass_rate``); None if not even 100 points do. Searched
    upward from ``failing``, points known to pass it less often (0 does: its interval's bound
    is above no change at most as often as its one-sided level), in doubling steps."""

    def enough(points: int) -> bool:
        return unchanged_pass_rate(n, discordant, points, confidence, reference) >= POWER

    low, step = math.floor(failing), 1
    high = min(100, low + step)
    while not enough(high):
        if high == 100:
            return None
        low, step = high, 2 * step
        high = min(100, low + step)
    while high - low > 1:
        middle = (low + high) // 2
        if enough(middle):
            high = middle
        else:
            low = middle
    return high


def _chance_enough_fell(n: int, discordant: float, fell: float, fewest: Callable[[int], int]) -> float:
    """P(at least ``fewest(count)`` of the discordant cases fell), their count binomial (n,
    ``discordant``), each of them fallen with chance ``fell`` (else risen) given it."""
    rose = 1.0 - fell
    # Beyond nine standard deviations (and five counts) the binomial's mass is below 1e-15.
    mean, spread = n * discordant, 9 * math.sqrt(n * discordant * (1 - discordant)) + 5
    first, last = max(0, math.floor(mean - spread)), min(n, math.ceil(mean + spread))
    # P(at least `needed` of `count` fell), carried from one count to the next: the beta
    # function once, then X(count + 1) >= k when X(count) >= k, or X(count) = k - 1 and one
    # more fell.
    needed = fewest(first)
    tail = binomial_tail(needed, first, fell, rose)
    total = 0.0
    table = log_factorials(n)
    log_fell = math.log(fell) if fell > 0 else -math.inf
    log_rose = math.log(rose) if rose > 0 else -math.inf

    def fallen_exactly(k: int, count: int) -> float:
        """P(exactly k of count fell)."""
        if not 0 <= k <= count:
            return 0.0
        if rose <= 0 or fell <= 0:
            return float(k == (count if rose <= 0 else 0))
        return math.exp(table[count] - table[k] - table[count - k] + k * log_fell + (count - k) * log_rose)

    chance_of_count = binomial_pmf(first, n, discordant)
    odds = discordant / (1 - discordant) if discordant < 1 else math.inf
    for count in range(first, last + 1):
        if count > first:
            # P(count) from P(count - 1); a count the binomial cannot reach keeps its zero.
            chance_of_count = (
                binomial_pmf(count, n, discordant)
                if math.isinf(odds) or chance_of_count == 0
                else chance_of_count * odds * (n - count + 1) / count
            )
            tail += fell * fallen_exactly(needed - 1, count - 1)
        target = fewest(count)
        while needed < target:
            tail -= fallen_exactly(needed, count)
            needed += 1
        while needed > target:
            needed -= 1
            tail += fallen_exactly(needed, count)
        total += chance_of_count * min(1.0, max(0.0, tail))
    return min(1.0, total)


@cache
def _fewest_fallen(count: int, level: float, reference: Reference, family: int = 1) -> int:
    """Of ``count`` discordant cases, the fewest that must have fallen (the rest risen) for the
    comparison's paired test to reject at ``level``; count + 1 when even all of them do not
    suffice. The test is the one ``proportions.paired`` runs: unclustered (normal reference)
    with at most ``holm_cutover`` discordant cases (over ``family`` emotions), McNemar's exact, its binomial tail at 1/2
    below ``level``; else McNemar's z, (count - 2 fallen) / root(count), its p below ``level``."""
    if count == 0:
        return 1
    if decided_exactly(count, level, reference, family=family):
        return next((k for k in range(count + 1) if binomial_tail(k, count, 0.5, 0.5) < level), count + 1)
    root = math.sqrt(count)
    fallen = max(0, math.floor((count + _one_sided_quantile(level) * root) / 2) - 1)
    while fallen <= count and reference.lower((count - 2 * fallen) / root) >= level:
        fallen += 1
    return fallen
