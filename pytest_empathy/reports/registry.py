"""The report files a run can write, in one table: the options (``--empathy-<flag>``), the
``pytest-empathy`` commands' flags and the writers are all made from it, so a new format is
one entry here and its renderer beside this module.

Light on purpose: pytest reads the options of every run. A renderer is imported only when
its report is written.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_empathy.atomic import WriteError, write_atomic

if TYPE_CHECKING:
    from pytest_empathy.results.result_document import ResultDocument


@dataclass(frozen=True)
class ReportFormat:
    name: str
    # The pytest option is --empathy-<option>; the commands' flag is --<name>.
    option: str
    # What the terminal calls the file it wrote.
    title: str
    help: str
    # "module:function" in this package, turning a run's JSON document into the file's text.
    renderer: str
    # Whether it shows the responses, which the document then carries.
    shows_responses: bool = False
    # An environment variable naming a file the report is also appended to.
    append_to: str | None = None

    @property
    def flag(self) -> str:
        return f"--empathy-{self.option}"

    def render(self, document: ResultDocument) -> str:
        module, function = self.renderer.split(":")
        render: Callable[[ResultDocument], str] = getattr(importlib.import_module(f"{__package__}.{module}"), function)
        return render(document)


FORMATS = (
    ReportFormat("json", "report", "JSON result", "write the JSON result to PATH", "json_document:render"),
    ReportFormat(
        "html",
        "html",
        "HTML report",
        "write a self-contained HTML report with plots to PATH",
        "html_page:render",
        shows_responses=True,
    ),
    ReportFormat(
        "markdown",
        "markdown",
        "Markdown summary",
        "write a short Markdown summary to PATH (and append it to $GITHUB_STEP_SUMMARY when set)",
        "markdown:render",
        append_to="GITHUB_STEP_SUMMARY",
    ),
    ReportFormat(
        "csv", "csv", "CSV of cases", "write one row per case to PATH", "case_table:render", shows_responses=True
    ),
)
BY_NAME = {f.name: f for f in FORMATS}


def shows_responses(paths: Mapping[str, Path]) -> bool:
    return any(BY_NAME[name].shows_responses for name in paths)


def write_reports(document: ResultDocument, paths: Mapping[str, Path]) -> list[str]:
    """Each report of ``paths`` (format name to path) rendered from a run's JSON document;
    a report that cannot be written stops none of the others: why each failed is returned."""
    failed = []
    for name, path in paths.items():
        report = BY_NAME[name]
        text = report.render(document)
        try:
            write_atomic(path, text)
        except WriteError as error:
            failed.append(f"{report.title} not written: {error}")
            continue
        target = os.environ.get(report.append_to) if report.append_to else None
        if target:
            try:
                with open(target, "a", encoding="utf-8") as out:
                    out.write(text)
            except OSError as error:
                # That file is the CI's, not the user's: its failure fails nothing.
                print(f"pytest-empathy: cannot append to ${report.append_to} ({error})", file=sys.stderr)
    return failed
