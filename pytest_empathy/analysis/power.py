"""How large a Good-rate difference a run can detect: the smallest difference a one-sided
test at the run's alpha finds with 80% power, at the run's sample size.

Unpaired: the normal approximation of the score test, the variance pooled under the null and
unpooled under the alternative (as statsmodels' ``power_proportions_2indep``). Paired:
Connor's (1987) approximation for McNemar's test, the discordant share taken from the run.
A run that can detect no difference within the possible range gets 1 (a hundred points);
one whose size cannot be judged (paired, with no discordant case) gets ``None``.

A saved-run check of a decline (``DetectableDrop``) is judged exactly instead: on the few
cases of an emotion the normal approximation is far off, and a run rated as its saved run was
has no discordant case to take the share from (see ``DROP_METHOD``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from .distributions import binomial_pmf, binomial_tail, log_factorials, normal_cdf, normal_quantile
from .proportions import GoodRateTest

POWER = 0.8
# The study's headline (GPT-4 with the empathy prompt against humans, crowd-rated): Good
# rate 64.75% against 49.30%. A run that cannot detect it cannot show what the study showed.
STUDY_EFFECT = 0.6475 - 0.4930

DROP_METHOD = (
    "'detects': the smallest drop of the Good rate that the check's one-sided paired test (Tango's score test at "
    "no change, McNemar's) finds with 80% power at its level (alpha; for an emotion alpha over the emotions, "
    "Holm's first step), computed exactly: the count of cases Good on one side only is binomial, and how many "
    "of them fell, binomial given it. The share of such discordant cases is this run's own, and at least the "
    "drop itself, as a drop of d points needs d points of the cases to fall: a run rated case by case as its "
    "saved run has none, and its figure assumes the drop is the only change, the most favourable case. "
    "'cannot fail': even with every case Good in the saved run and not in this one, the p-value (the normal "
    "tail beyond the square root of the cases) is not below the level. good-drop: the lower bound its "
    "interval is expected to have with nothing changed, this run's discordant cases split evenly"
)


def _one_sided_quantile(alpha: float) -> float:
    return normal_quantile(1 - 2 * alpha)


def power_unpaired(difference: float, rate2: float, n1: float, n2: float, alpha: float) -> float:
    """Power of the one-sided test at ``alpha`` when the first rate is ``rate2 + difference``
    (difference > 0: the test of a higher first rate)."""
    rate1 = rate2 + difference
    pooled = (n1 * rate1 + n2 * rate2) / (n1 + n2)
    null = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    alternative = math.sqrt(rate1 * (1 - rate1) / n1 + rate2 * (1 - rate2) / n2)
    if alternative == 0:
        return 1.0
    return normal_cdf((difference - _one_sided_quantile(alpha) * null) / alternative)


def power_paired(difference: float, discordant: float, n: float, alpha: float) -> float:
    """Power of McNemar's one-sided test at ``alpha`` for a difference of paired rates, given
    the share of discordant cases (Connor 1987)."""
    spread = discordant - difference * difference
    if spread <= 0:
        return 1.0
    return normal_cdf(
        (math.sqrt(n) * difference - _one_sided_quantile(alpha) * math.sqrt(discordant)) / math.sqrt(spread)
    )


def detectable_unpaired(rate2: float, n1: float, n2: float, alpha: float, *, upward: bool) -> float | None:
    """The smallest rise (or, with ``upward`` false, drop) of the first rate from ``rate2``
    that the one-sided test finds with 80% power."""
    if upward:
        return _smallest(lambda d: power_unpaired(d, rate2, n1, n2, alpha), 1 - rate2)
    # A drop of the first rate is a rise of the second's over it.
    return _smallest(lambda d: power_unpaired(d, rate2 - d, n2, n1, alpha), rate2)


def detectable_paired(discordant: float, n: float, alpha: float) -> float | None:
    """The smallest difference of paired rates, either way, found with 80% power."""
    return _smallest(lambda d: power_paired(d, discordant, n, alpha), discordant)


@dataclass(frozen=True)
class Detectable:
    """The smallest Good-rate gain and drop a group's one-sided tests find with 80% power, at
    ``alpha`` (Holm's first step, alpha over the number of emotions, for an emotion)."""

    alpha: float
    gain: float | None
    drop: float | None


def detectable(good: GoodRateTest | None, n1: float, n2: float, rate2: float | None, alpha: float) -> Detectable:
    """What a comparison of ``n1`` against ``n2`` ratings (the second side's Good rate
    ``rate2``) can detect, paired when ``good`` is."""
    if good is None or rate2 is None:
        return Detectable(alpha, None, None)
    if good.paired:
        assert good.discordant is not None
        either = detectable_paired(good.discordant, n1, alpha)
        return Detectable(alpha, either, either)
    return Detectable(
        alpha,
        detectable_unpaired(rate2, n1, n2, alpha, upward=True),
        detectable_unpaired(rate2, n1, n2, alpha, upward=False),
    )


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
    """What a saved-run check's one-sided paired test at ``level`` can detect on ``n`` cases:
    the smallest Good-rate drop found with 80% power (None: it can reject nothing, whatever
    falls), and the smallest p-value it can give at all."""

    level: float
    n: int
    drop: float | None
    smallest_p: float

    @property
    def can_fail(self) -> bool:
        return self.smallest_p < self.level


def detectable_drop(n: int, discordant: float, level: float) -> DetectableDrop:
    """The drop the paired test finds with 80% power on ``n`` cases, assuming the run's own
    discordant share, or the drop's where that is smaller."""
    smallest = smallest_paired_p(n)
    drop = None
    if smallest < level:
        # To a hundredth of a point: the figure is shown to a tenth.
        drop = _smallest(lambda d: power_paired_drop(d, max(discordant, d), n, level), 1.0, 1e-4)
    return DetectableDrop(level, n, drop, smallest)


def smallest_paired_p(n: int) -> float:
    """The smallest one-sided p-value the paired test gives on ``n`` cases: every case Good
    on one side only, all the same way (McNemar's z is then minus the root of n)."""
    return normal_cdf(-math.sqrt(n)) if n else 1.0


def fewest_cases_to_fail(level: float) -> int:
    """The fewest cases on which the paired test can reject at ``level`` at all."""
    n = max(1, math.floor(_one_sided_quantile(level) ** 2) - 1)
    while smallest_paired_p(n) >= level:
        n += 1
    return n


def power_paired_drop(drop: float, discordant: float, n: int, level: float) -> float:
    """The exact power of the one-sided paired test at ``level`` on ``n`` cases when the Good
    rate falls by ``drop``, a share ``discordant`` (at least ``drop``) of the cases Good on one
    side only: their count is binomial (n, discordant), and the number that fell binomial
    (count, (discordant + drop) / (2 discordant)) given it."""
    if discordant <= 0:
        return 0.0
    fell, rose = (discordant + drop) / (2 * discordant), (discordant - drop) / (2 * discordant)
    # Beyond nine standard deviations (and five counts) the binomial's mass is below 1e-15.
    mean, spread = n * discordant, 9 * math.sqrt(n * discordant * (1 - discordant)) + 5
    first, last = max(1, math.floor(mean - spread)), min(n, math.ceil(mean + spread))
    # P(at least `needed` of `count` fell), carried from one count to the next: the beta
    # function once, then X(count + 1) >= k when X(count) >= k, or X(count) = k - 1 and one
    # more fell.
    needed = _fewest_fallen(first, level)
    tail = binomial_tail(needed, first, fell, rose)
    total = 0.0
    table = log_factorials(n)
    log_fell, log_rose = math.log(fell), math.log(rose) if rose > 0 else -math.inf

    def fallen_exactly(k: int, count: int) -> float:
        """P(exactly k of count fell)."""
        if not 0 <= k <= count:
            return 0.0
        if rose <= 0:
            return float(k == count)
        return math.exp(table[count] - table[k] - table[count - k] + k * log_fell + (count - k) * log_rose)

    for count in range(first, last + 1):
        if count > first:
            tail += fell * fallen_exactly(needed - 1, count - 1)
        while needed < _fewest_fallen(count, level):
            tail -= fallen_exactly(needed, count)
            needed += 1
        total += binomial_pmf(count, n, discordant) * max(0.0, tail)
    return min(1.0, total)


@cache
def _fewest_fallen(count: int, level: float) -> int:
    """Of ``count`` discordant cases, the fewest that must have fallen (the rest risen) for the
    test to reject: McNemar's z, (count - 2 fallen) / root(count), with its p below ``level``;
    count + 1 when even all of them do not suffice."""
    root = math.sqrt(count)
    fallen = max(0, math.floor((count + _one_sided_quantile(level) * root) / 2) - 1)
    while fallen <= count and normal_cdf((count - 2 * fallen) / root) >= level:
        fallen += 1
    return fallen
