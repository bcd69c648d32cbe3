"""The report files a run can write: the built-in formats in one table (their options
``--empathy-<flag>``, the commands' flags and the writers are made from it), and the formats
plugins add through ``pytest_empathy.hookspec``, written with ``--empathy-output NAME=PATH``.

Light on purpose: pytest reads the options of every run. A renderer is imported only when
its report is written.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from pytest_empathy.atomic import WriteError, write_atomic
from pytest_empathy.errors import InputError

if TYPE_CHECKING:
    from pytest_empathy.results.result_document import ResultDocument

Renderer = Callable[["ResultDocument"], str]


@dataclass(frozen=True)
class ReportFormat:
    name: str
    # The pytest option is --empathy-<option>; the commands' flag is --<name>.
    option: str
    # What the terminal calls the file it wrote.
    title: str
    help: str
    # What turns a run's JSON document into the file's text: "module:function" in this
    # package for a built-in format, a function for a plugin's.
    renderer: str | Renderer
    # Whether it shows the responses, which the document then carries.
    shows_responses: bool = False
    # An environment variable naming a file the report is also appended to.
    append_to: str | None = None

    @property
    def flag(self) -> str:
        return f"--empathy-{self.option}"

    def render(self, document: ResultDocument) -> str:
        if callable(self.renderer):
            return self.renderer(document)
        module, function = self.renderer.split(":")
        render: Renderer = getattr(importlib.import_module(f"{__package__}.{module}"), function)
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


class ReportFormats(Protocol):
    """The formats a run knows and how each is rendered: the built-ins, or with the plugins'
    (``pytest_empathy.evaluation.extensions``)."""

    def formats(self) -> Sequence[ReportFormat]: ...

    def render(self, report_format: ReportFormat, document: ResultDocument) -> str: ...


class BuiltinFormats:
    def formats(self) -> Sequence[ReportFormat]:
        return FORMATS

    def render(self, report_format: ReportFormat, document: ResultDocument) -> str:
        return report_format.render(document)


BUILTIN_FORMATS: ReportFormats = BuiltinFormats()


def shows_responses(paths: Mapping[str, Path]) -> bool:
    return any(BY_NAME[name].shows_responses for name in paths)


def named_output(value: str, formats: ReportFormats) -> tuple[ReportFormat, Path]:
    """A ``NAME=PATH`` of the command's ``--write``: the format and the path to write it to."""
    name, path = split_output(value)
    return output_format(name, value, formats), Path(path)


def split_output(value: str) -> tuple[str, str]:
    """``NAME=PATH`` (``--empathy-output``, the command's ``--write``) as its name and path."""
    name, equals, path = value.partition("=")
    if not equals or not name or not path:
        raise InputError(f"{value!r}: give a format and a path as NAME=PATH")
    return name, path


def output_format(name: str, value: str, formats: ReportFormats) -> ReportFormat:
    """The plugin's format ``NAME=PATH`` names; a built-in one has its own option."""
    if name in BY_NAME:
        raise InputError(f"{value!r}: {name} is a built-in report format, written with an option of its own")
    by_name = {report.name: report for report in formats.formats()}
    if name not in by_name:
        raise InputError(f"{value!r}: no report format {name!r} (known: {', '.join(sorted(by_name))})")
    return by_name[name]


def write_reports(
    document: ResultDocument, paths: Mapping[str, Path], *, extensions: ReportFormats = BUILTIN_FORMATS
) -> list[str]:
    """Each report of ``paths`` (format name to path) rendered from a run's JSON document;
    a report that cannot be written stops none of the others: why each failed is returned."""
    # The plugins are asked only for a format that is not built in: a clash between two of
    # them fails the runs that write one, not every run.
    by_name = BY_NAME if set(paths) <= set(BY_NAME) else {report.name: report for report in extensions.formats()}
    failed = []
    for name, path in paths.items():
        report = by_name[name]
        text = extensions.render(report, document)
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
