"""How figures read in every output (gate details, terminal, Markdown, HTML): one way to
write a rate, a p-value, a gain, an agreement figure; and the words every output uses for a
judge's agreement with the crowd and for figures on the crowd's scale."""

from __future__ import annotations

from collections.abc import Sequence


def percent(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate:.1%}"


# Below this, floating point says nothing about a p-value's digits.
P_FLOOR = 1e-15


def p_value(p: float | None, missing: str = "-") -> str:
    if p is None:
        return missing
    if p < P_FLOOR:
        return "< 1e-15"
    return f"{p:.3f}" if p >= 0.001 else f"{p:.1e}"


def change(difference: float | None, interval: Sequence[float] | None) -> str:
    """A difference of rates in percentage points with its interval, as tables show it."""
    if difference is None:
        return "n/a"
    text = points(difference)
    if interval is not None:
        text += f" [{100 * interval[0]:+.0f}, {100 * interval[1]:+.0f}]"
    return text


def confidence(level: float) -> str:
    """A confidence level: 90%, or a simultaneous level's digits, 99.69%."""
    return f"{100 * level:.4g}%"


def p_is(p: float) -> str:
    """A p-value in a sentence: ``p=0.023``, or ``p < 1e-15``."""
    text = p_value(p)
    return f"p {text}" if text.startswith("<") else f"p={text}"


def points(difference: float) -> str:
    """A difference of rates in percentage points."""
    return f"{100 * difference:+.1f} pts"


def gain(relative: float | None, interval: Sequence[float | None] | None = None) -> str:
    """A relative gain in whole percent, with its interval when there is one (an unbounded
    end, null in the JSON, as +inf: a valid test's ratio bound with no Good rating to bound it)."""
    if relative is None:
        return "n/a"
    text = f"{relative:+.0%}"
    if interval is not None:
        low, high = ("+inf" if end is None else f"{end:+.0%}" for end in interval)
        text += f" [{low},{high}]"
    return text


def figure(value: float | None, interval: Sequence[float] | None = None, *, signed: bool = False) -> str:
    """An agreement figure (a kappa, an alpha, a mean shift) to three decimals, with its
    interval when there is one; ``undefined`` where it is."""
    if value is None:
        return "undefined"
    text = f"{value:+.3f}" if signed else f"{value:.3f}"
    if interval is not None:
        low, high = (f"{x:+.3f}" if signed else f"{x:.3f}" for x in interval)
        text += f" [{low}, {high}]"
    return text


# Krippendorff's guidance for alpha (Content Analysis, 2nd ed., 2004, section 11.4.4): rely on
# ratings with alpha >= 0.800, draw only tentative conclusions from 0.667 <= alpha < 0.800, and
# none below 0.667.
FIRM_AGREEMENT = 0.8
TENTATIVE_AGREEMENT = 0.667
AGREEMENT_BANDS = "Krippendorff's bands: good from 0.800, tentative from 0.667, poor below"


def agreement(alpha: float | None) -> str:
    """A judge's agreement with the crowd in Krippendorff's bands of alpha (ordinal)."""
    if alpha is None:
        return "undefined agreement"
    if alpha >= FIRM_AGREEMENT:
        return "good agreement"
    if alpha >= TENTATIVE_AGREEMENT:
        return "tentative agreement"
    return "poor agreement"


# What every gate's detail starts with when the judge's ratings are corrected onto the crowd's scale.
CALIBRATED = "calibrated: the judge's ratings corrected onto the crowd's scale by its calibration"
PREDICTION_POWERED = (
    "prediction-powered: the judge's ratings of every case corrected by a crowd's ratings of a random sample of them"
)
