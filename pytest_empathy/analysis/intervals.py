"""Confidence intervals for Good rates and their differences: pure functions over counts."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


def wilson_interval(successes: int, n: int, z: float) -> Interval:
    rate = successes / n
    centre = (rate + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(rate * (1 - rate) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return Interval(max(0.0, centre - half), min(1.0, centre + half))


def newcombe_interval(a: int, n1: int, b: int, n2: int, z: float) -> Interval:
    """Newcombe's hybrid score interval for the difference of two proportions a/n1 - b/n2."""
    p1, p2 = a / n1, b / n2
    w1, w2 = wilson_interval(a, n1, z), wilson_interval(b, n2, z)
    delta = p1 - p2
    low = delta - math.sqrt((p1 - w1.low) ** 2 + (w2.high - p2) ** 2)
    high = delta + math.sqrt((w1.high - p1) ** 2 + (p2 - w2.low) ** 2)
    return Interval(low, high)


def katz_interval(a: int, n1: int, b: int, n2: int, z: float) -> Interval:
    """Katz's log interval for the relative gain (a/n1) / (b/n2) - 1; needs a, b > 0."""
    log_ratio = math.log((a / n1) / (b / n2))
    se = math.sqrt(1 / a - 1 / n1 + 1 / b - 1 / n2)
    return Interval(math.exp(log_ratio - z * se) - 1, math.exp(log_ratio + z * se) - 1)


def newcombe_paired_interval(both: int, gained: int, lost: int, neither: int, z: float) -> Interval:
    """Newcombe's (1998) hybrid score interval for the difference of paired proportions,
    after - before = (gained - lost) / n."""
    n = both + gained + lost + neither
    after, before = (both + gained) / n, (both + lost) / n
    w_after, w_before = wilson_interval(both + gained, n, z), wilson_interval(both + lost, n, z)
    margins = (both + gained) * (lost + neither) * (both + lost) * (gained + neither)
    product = both * neither - gained * lost
    # Newcombe's continuity-corrected correlation.
    phi = 0.0 if margins == 0 else (max(product - n / 2, 0) if product > 0 else product) / math.sqrt(margins)
    delta = after - before
    low = delta - math.sqrt(
        max(
            0.0,
            (after - w_after.low) ** 2
            - 2 * phi * (after - w_after.low) * (w_before.high - before)
            + (w_before.high - before) ** 2,
        )
    )
    high = delta + math.sqrt(
        max(
            0.0,
            (w_after.high - after) ** 2
            - 2 * phi * (w_after.high - after) * (before - w_before.low)
            + (before - w_before.low) ** 2,
        )
    )
    return Interval(max(-1.0, low), min(1.0, high))
