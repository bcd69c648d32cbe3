"""How figures read in every output (gate details, terminal, Markdown, HTML): one way to
write a rate, a p-value, a gain and the shares of Bad/Okay/Good."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .modes import GateMode


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


def interval_levels(section: Mapping[str, Any]) -> str:
    """What the intervals of a section (a run against its baseline, or a comparison with a
    saved run: its ``overall`` and ``emotions`` entries) are: confidence and adjustment for
    multiplicity, overall and by polarity, and by emotion."""
    text = "intervals: " + _level(section["overall"]) + " overall and by polarity"
    emotion = next((entry for entry in section["emotions"].values() if entry.get("good_rate_test")), None)
    return text if emotion is None else text + "; " + _level(emotion) + " by emotion"


def interval_heading(section: Mapping[str, Any], *, emotions: bool = False) -> str:
    """What a section's Good-change interval is, for a column's heading: ``90% CI`` overall
    and by polarity, ``99.38% CI, Bonferroni`` by emotion (simultaneous over the emotions)."""
    entries = section["emotions"].values() if emotions else [section["overall"]]
    entry = next((entry for entry in entries if entry.get("good_rate_test")), None)
    if entry is None:
        return "CI"
    adjusted = str(entry.get("interval_adjustment") or "").startswith("Bonferroni")
    return f"{confidence(entry['good_rate_test']['confidence'])} CI" + (", Bonferroni" if adjusted else "")


def _level(entry: Mapping[str, Any]) -> str:
    test = entry.get("good_rate_test")
    shown = "-" if test is None else confidence(test["confidence"])
    return f"{shown} ({entry.get('interval_adjustment') or 'unadjusted'})"


def detects(found: Mapping[str, Any], missing: str = "n/a") -> str:
    """A group entry's ``detectable``: the smallest Good-rate difference, either way, its
    tests find at 80% power, in whole points."""
    if found["gain"] is None or found["drop"] is None:
        return missing
    return f"\u00b1{100 * max(found['gain'], found['drop']):.0f}"


def p_is(p: float) -> str:
    """A p-value in a sentence: ``p=0.023``, or ``p < 1e-15``."""
    text = p_value(p)
    return f"p {text}" if text.startswith("<") else f"p={text}"


def points(difference: float) -> str:
    """A difference of rates in percentage points."""
    return f"{100 * difference:+.1f} pts"


def gain(relative: float | None, interval: Sequence[float] | None = None) -> str:
    """A relative gain in whole percent, with its interval when there is one (an unbounded
    end, null in the JSON, as +inf: a valid test's ratio bound with no Good rating to bound it)."""
    if relative is None:
        return "n/a"
    text = f"{relative:+.0%}"
    if interval is not None:
        low, high = ("+inf" if end is None else f"{end:+.0%}" for end in interval)
        text += f" [{low},{high}]"
    return text


def shares(counts: Mapping[str, int], separator: str = "/", missing: str = "-") -> str:
    """Bad/Okay/Good as whole percentages of their total."""
    total = counts["bad"] + counts["okay"] + counts["good"]
    if total == 0:
        return missing
    return separator.join(f"{100 * counts[k] / total:.0f}" for k in ("bad", "okay", "good"))


def verdict(entry: Mapping[str, Any]) -> str:
    """``no test``, ``n.s.``, or the direction of a significant one-sided Good-rate test, of
    a group's entry in a JSON document (against the baseline or a saved run)."""
    if not entry.get("good_rate_test"):
        return "no test"
    if entry["verdict"]:
        return str(entry["verdict"])
    # No direction beside a Good-rate test: the ordinal test decides, and it is undecided.
    undecided = entry.get("direction") is None and (entry.get("ordinal") or {}).get("undecided")
    return "undecided" if undecided else "n.s."


def one_sided_p(entry: Mapping[str, Any], *, holm: bool = False, test: str = "good_rate_test") -> float | None:
    """A group entry's one-sided p-value of ``test`` (``good_rate_test`` or ``ordinal``) in
    the direction its statistic points (its Holm adjustment with ``holm``, for an emotion)."""
    block = entry.get(test)
    if not block:
        return None
    side = "p_worse" if block["statistic"] < 0 else "p_better"
    value: float | None = block.get(side + ("_holm" if holm else ""))
    return value


def cliffs_delta(ordinal: Mapping[str, Any] | None) -> str:
    """An ordinal entry's Cliff's delta with its interval, as tables show it."""
    if not ordinal:
        return "n/a"
    if ordinal.get("undecided"):
        return f"{ordinal['delta']:+.2f} undecided"
    low, high = ordinal["delta_ci"]
    return f"{ordinal['delta']:+.2f} [{low:+.2f},{high:+.2f}]"


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


def gates_off(document: Mapping[str, Any]) -> str | None:
    """What decided a run whose gates against the baseline were off (--empathy-gate off);
    None when they were on."""
    if document.get("settings", {}).get("gate") != GateMode.OFF:
        return None
    if any(gate["name"].startswith("compare") for gate in document["gates"]):
        return "gates against the baseline off: completeness and the comparison with the saved run decided"
    return "gates off: only completeness was checked"
