"""How the reports read a result document: its statistics, present or null together, and each
group entry (against the baseline or a saved run): its counts' shares, its verdict, its
one-sided p-values, its Cliff's delta, what its tests detect, its intervals' levels; and what
decided a run whose gates were off."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from pytest_empathy.formatting import confidence
from pytest_empathy.modes import GateMode
from pytest_empathy.results.result_document import (
    ComparisonEntry,
    Counts,
    DetectableEntry,
    GroupEntry,
    MethodsEntry,
    OrdinalEntry,
    PairedEntry,
    ResultDocument,
)

# A group against the baseline, or against a saved run.
Entry = GroupEntry | PairedEntry


@dataclass(frozen=True)
class Statistics:
    """A run's figures against its baseline: the methods, and each group's entry."""

    methods: MethodsEntry
    overall: GroupEntry
    polarity: dict[str, GroupEntry]
    emotions: dict[str, GroupEntry]


def statistics(document: ResultDocument) -> Statistics | None:
    """The run's figures; None when it has none (no case rated, or a document whose
    statistics a migration dropped): then the four keys are null together."""
    overall = document["overall"]
    if overall is None:
        return None
    methods, polarity, emotions = document["methods"], document["polarity"], document["emotions"]
    assert methods is not None and polarity is not None and emotions is not None
    return Statistics(methods, overall, polarity, emotions)


def total(counts: Counts) -> int:
    return counts["bad"] + counts["okay"] + counts["good"]


def interval_levels(section: ResultDocument | ComparisonEntry) -> str:
    """What the intervals of a section (a run against its baseline, or a comparison with a
    saved run: its ``overall`` and ``emotions`` entries) are: confidence and adjustment for
    multiplicity, overall and by polarity, and by emotion."""
    overall, emotions = _entries(section)
    text = "intervals: " + _level(overall) + " overall and by polarity"
    emotion = next((entry for entry in emotions.values() if entry.get("good_rate_test")), None)
    return text if emotion is None else text + "; " + _level(emotion) + " by emotion"


def interval_heading(section: ResultDocument | ComparisonEntry, *, emotions: bool = False) -> str:
    """What a section's Good-change interval is, for a column's heading: ``90% CI`` overall
    and by polarity, ``99.38% CI, Bonferroni`` by emotion (simultaneous over the emotions)."""
    overall, by_emotion = _entries(section)
    entries = by_emotion.values() if emotions else [overall]
    entry = next((entry for entry in entries if entry.get("good_rate_test")), None)
    if entry is None:
        return "CI"
    test = entry["good_rate_test"]
    assert test is not None
    adjusted = str(entry.get("interval_adjustment") or "").startswith("Bonferroni")
    return f"{confidence(test['confidence'])} CI" + (", Bonferroni" if adjusted else "")


def _entries(section: ResultDocument | ComparisonEntry) -> tuple[Entry, Mapping[str, Entry]]:
    """A section's overall entry and its emotions' (a run without statistics has none)."""
    overall, emotions = section["overall"], section["emotions"]
    assert overall is not None and emotions is not None, "a section without statistics has no intervals"
    return overall, emotions


def _level(entry: Entry) -> str:
    test = entry.get("good_rate_test")
    shown = "-" if test is None else confidence(test["confidence"])
    return f"{shown} ({entry.get('interval_adjustment') or 'unadjusted'})"


def detects(found: DetectableEntry, missing: str = "n/a") -> str:
    """A group entry's ``detectable``: the smallest Good-rate difference, either way, its
    tests find at 80% power, in whole points."""
    gain, drop = found["gain"], found["drop"]
    if gain is None or drop is None:
        return missing
    return f"\u00b1{100 * max(gain, drop):.0f}"


def shares(counts: Counts, separator: str = "/", missing: str = "-") -> str:
    """Bad/Okay/Good as whole percentages of their total."""
    whole = total(counts)
    if whole == 0:
        return missing
    return separator.join(f"{100 * n / whole:.0f}" for n in (counts["bad"], counts["okay"], counts["good"]))


def verdict(entry: Entry) -> str:
    """``no test``, ``n.s.``, or the direction of a significant one-sided Good-rate test, of
    a group's entry in a JSON document (against the baseline or a saved run)."""
    if not entry.get("good_rate_test"):
        return "no test"
    if entry["verdict"]:
        return str(entry["verdict"])
    # No direction beside a Good-rate test: the ordinal test decides, and it is undecided.
    ordinal = entry.get("ordinal")
    undecided = entry.get("direction") is None and ordinal is not None and ordinal.get("undecided")
    return "undecided" if undecided else "n.s."


def one_sided_p(
    entry: Entry, *, holm: bool = False, test: Literal["good_rate_test", "ordinal"] = "good_rate_test"
) -> float | None:
    """A group entry's one-sided p-value of ``test`` (``good_rate_test`` or ``ordinal``) in
    the direction its statistic points (its Holm adjustment with ``holm``, for an emotion)."""
    block = entry.get(test)
    if not block:
        return None
    if block["statistic"] < 0:
        return block.get("p_worse_holm") if holm else block.get("p_worse")
    return block.get("p_better_holm") if holm else block.get("p_better")


def cliffs_delta(ordinal: OrdinalEntry | None) -> str:
    """An ordinal entry's Cliff's delta with its interval, as tables show it."""
    if not ordinal:
        return "n/a"
    delta = ordinal["delta"]
    if ordinal.get("undecided"):
        return f"{delta:+.2f} undecided"
    interval = ordinal["delta_ci"]
    assert interval is not None
    low, high = interval
    return f"{delta:+.2f} [{low:+.2f},{high:+.2f}]"


def gates_off(document: ResultDocument) -> str | None:
    """What decided a run whose gates against the baseline were off (--empathy-gate off);
    None when they were on."""
    if document.get("settings", {}).get("gate") != GateMode.OFF:
        return None
    if any(gate["name"].startswith("compare") for gate in document["gates"]):
        return "gates against the baseline off: completeness and the comparison with the saved run decided"
    return "gates off: only completeness was checked"
