"""How figures read in every output (gate details, terminal, Markdown, HTML): one way to
write a rate, a p-value, a gain and the shares of Bad/Okay/Good."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def percent(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate:.1%}"


def p_value(p: float | None, missing: str = "-") -> str:
    if p is None:
        return missing
    return f"{p:.3f}" if p >= 0.001 else f"{p:.1e}"


def gain(relative: float | None, interval: Sequence[float] | None = None) -> str:
    """A relative gain in whole percent, with its interval when there is one."""
    if relative is None:
        return "n/a"
    text = f"{relative:+.0%}"
    if interval is not None:
        text += f" [{interval[0]:+.0%},{interval[1]:+.0%}]"
    return text


def shares(counts: Mapping[str, int], separator: str = "/", missing: str = "-") -> str:
    """Bad/Okay/Good as whole percentages of their total."""
    total = counts["bad"] + counts["okay"] + counts["good"]
    if total == 0:
        return missing
    return separator.join(f"{100 * counts[k] / total:.0f}" for k in ("bad", "okay", "good"))


def verdict(entry: Mapping[str, Any]) -> str:
    """``no test``, ``n.s.``, or the direction of a significant difference, of a group's
    entry in a JSON document (against the baseline or a saved run)."""
    if entry["p_value"] is None:
        return "no test"
    return str(entry["direction"]) if entry["significant"] else "n.s."
