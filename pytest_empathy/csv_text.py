"""Every CSV the package writes (the CSV of cases, crowd sheets, crowd ratings), written one
way: a cell a spreadsheet would run as a formula (a model's answer ``=HYPERLINK(...)``, a
rater id ``@SUM(...)``) starts with an apostrophe, as OWASP advises; a cell that starts with
an apostrophe gets one more, so that ``restored`` gives back exactly what was written."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

# What starts a formula in a spreadsheet (OWASP, "CSV Injection"), and the apostrophe that
# marks a cell as text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_TEXT_MARK = "'"


def inert(value: Any) -> Any:
    """A text cell a spreadsheet shows as text; any other value as it is."""
    if isinstance(value, str) and value.startswith((*_FORMULA_START, _TEXT_MARK)):
        return _TEXT_MARK + value
    return value


def restored(value: str) -> str:
    """A cell written by ``inert`` as it was before."""
    return value[1:] if value.startswith(_TEXT_MARK) else value


def rows_text(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> str:
    """A header of ``columns`` and a line per row, every cell made inert; a cell of None is
    empty."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([inert(column) for column in columns])
    writer.writerows([inert("" if row.get(c) is None else row[c]) for c in columns] for row in rows)
    return out.getvalue()
