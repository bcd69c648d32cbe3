"""Text laid out for a terminal's width: prose wrapped with a hanging indent, a line clipped
where a summary keeps it to one, and tables whose columns are kept by priority while they fit."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

INDENT = "  "
ELLIPSIS = "..."

Row = TypeVar("Row")


def wrap(text: str, width: int | None) -> list[str]:
    """A line of prose in lines at most ``width`` wide (None: as it is), broken at spaces and
    continued with a hanging indent; a single word wider than that (a path) stays whole."""
    if width is None or len(text) <= width:
        return [text]
    return textwrap.wrap(text, width, subsequent_indent=INDENT, break_long_words=False, break_on_hyphens=False)


def clip(text: str, width: int) -> str:
    """A line cut to ``width``, marked where it was cut."""
    return text if len(text) <= width else text[: max(width - len(ELLIPSIS), 0)].rstrip() + ELLIPSIS


def listed(head: str, items: Sequence[str], width: int) -> str:
    """``head`` and as many of ``items`` as fit in ``width``, comma-separated, the rest as ``...``."""
    text = head + (": " if items else "")
    for i, item in enumerate(items):
        separator = ", " if i else ""
        rest = ", ..." if i + 1 < len(items) else ""
        if len(text) + len(separator) + len(item) + len(rest) > width and i:
            return text + ", ..."
        text += separator + item
    return text


@dataclass(frozen=True)
class Column(Generic[Row]):
    """A table's column: its heading (a newline puts it on two lines, so that the heading is
    no wider than the figures under it), how a row reads in it, and its priority: 0 is kept
    at any width, higher numbers only while they fit, lowest first."""

    heading: str
    cell: Callable[[Row], str]
    priority: int = 0
    left: bool = False


@dataclass(frozen=True)
class Table:
    lines: list[str]
    # The headings of the columns that did not fit, on one line each.
    left_out: list[str]


def table(columns: Sequence[Column[Row]], rows: Sequence[Row], width: int | None) -> Table:
    """``rows`` under ``columns`` in at most ``width`` characters (None: every column). The
    columns kept stay in their order; those of priority 0 are kept even where they do not fit,
    closer together first."""
    cells = [[column.cell(row) for column in columns] for row in rows]
    headings = [column.heading.split("\n") for column in columns]
    widths = [max(len(part) for part in [*heading, *(row[i] for row in cells)]) for i, heading in enumerate(headings)]
    kept, gap = (list(range(len(columns))), 2) if width is None else _fitting(columns, widths, width)
    lines = [_joined(columns, kept, widths, gap, parts) for parts in _heading_lines(headings, kept)]
    lines += [_joined(columns, kept, widths, gap, [row[i] for i in kept]) for row in cells]
    left_out = [" ".join(headings[i]) for i in range(len(columns)) if i not in kept]
    return Table(lines, left_out)


def _heading_lines(headings: list[list[str]], kept: list[int]) -> list[list[str]]:
    """The kept columns' headings, line by line: a heading on fewer lines than the deepest
    sits on its last lines, over its figures."""
    depth = max(len(headings[i]) for i in kept)
    padded = {i: [""] * (depth - len(headings[i])) + headings[i] for i in kept}
    return [[padded[i][level] for i in kept] for level in range(depth)]


def _fitting(columns: Sequence[Column[Row]], widths: list[int], width: int) -> tuple[list[int], int]:
    essential = [i for i, column in enumerate(columns) if column.priority == 0]
    gap = 2 if _span(widths, essential, 2) <= width else 1
    kept = list(essential)
    for i in sorted(range(len(columns)), key=lambda i: columns[i].priority):
        if i not in kept and _span(widths, [*kept, i], gap) <= width:
            kept.append(i)
    return sorted(kept), gap


def _span(widths: list[int], kept: list[int], gap: int) -> int:
    return sum(widths[i] for i in kept) + gap * (len(kept) - 1)


def _joined(columns: Sequence[Column[Row]], kept: list[int], widths: list[int], gap: int, parts: list[str]) -> str:
    aligned = [
        part.ljust(widths[i]) if columns[i].left else part.rjust(widths[i]) for i, part in zip(kept, parts, strict=True)
    ]
    return (" " * gap).join(aligned).rstrip()
