"""How large a Good-rate difference a run can detect: the smallest difference a one-sided
test at the run's alpha finds with 80% power, at the run's sample size.

Unpaired: the normal approximation of the score test, the variance pooled under the null and
unpooled under the alternative (as statsmodels' ``power_proportions_2indep``). Paired:
Connor's (1987) approximation for McNemar's test, the discordant share taken from the run.
A run that can detect no difference within the possible range gets 1 (a hundred points);
one whose size cannot be judged (paired, with no discordant case) gets ``None``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from .distributions import normal_cdf, normal_quantile
from .proportions import GoodRateTest

POWER = 0.8
# The study's headline (GPT-4 with the empathy prompt against humans, crowd-rated): Good
# rate 64.75% against 49.30%. A run that cannot detect it cannot show what the study showed.
STUDY_EFFECT = 0.6475 - 0.4930


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


def _smallest(power: Callable[[float], float], largest: float) -> float | None:
    """The smallest difference in (0, largest] whose power reaches POWER; 1 if none does,
    None if the range is empty. Power rises with the difference over that range."""
    if largest <= 0:
        return None
    if power(largest) < POWER:
        return 1.0
    low, high = 0.0, largest
    while high - low > 1e-9:
        middle = (low + high) / 2
        if power(middle) >= POWER:
            high = middle
        else:
            low = middle
    return high
