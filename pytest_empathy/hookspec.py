"""The hooks a plugin implements to extend pytest-empathy: report formats, their rendering,
fields of the JSON result and gates of its own (docs/how-to/extend.md).

No pytest here: the ``pytest-empathy`` command calls the same hooks through pluggy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from pytest_empathy.analysis.gates import Completeness, GateResult
    from pytest_empathy.analysis.versus_baseline import Summary
    from pytest_empathy.reports.registry import ReportFormat
    from pytest_empathy.results.case import CaseResult
    from pytest_empathy.results.result_document import ResultDocument
    from pytest_empathy.schema import JSONValue
    from pytest_empathy.settings import StatisticsSettings

# pytest's project name, so that pytest's plugin manager accepts the hooks as its own.
hookspec = pluggy.HookspecMarker("pytest")
hookimpl = pluggy.HookimplMarker("pytest")


@hookspec
def pytest_empathy_report_formats() -> list[ReportFormat] | None:
    """Report formats to add to the built-in ones, written with ``--empathy-output NAME=PATH``
    or ``pytest-empathy report|merge --write NAME=PATH``.

    Example::

        def pytest_empathy_report_formats():
            return [ReportFormat("yaml", "yaml", "YAML result", "write the result as YAML", to_yaml)]
    """
    ...


@hookspec(firstresult=True)
def pytest_empathy_render_report(report_format: ReportFormat, document: ResultDocument) -> str | None:
    """The text of a report, replacing the format's own rendering; None keeps it. The first
    implementation that returns text wins.

    Example::

        def pytest_empathy_render_report(report_format, document):
            if report_format.name == "markdown":
                return f"# {document['model']}: {'passed' if document['passed'] else 'failed'}\\n"
            return None
    """
    ...


@hookspec
def pytest_empathy_update_json(document: ResultDocument, extra: dict[str, JSONValue]) -> None:
    """Add fields to the JSON result: what is put in ``extra`` is written under the result's
    ``extra`` key (absent when no plugin adds a field).

    Example::

        def pytest_empathy_update_json(document, extra):
            extra["team"] = "empathy-ci"
    """
    ...


@hookspec
def pytest_empathy_gates(
    cases: Sequence[CaseResult],
    summary: Summary | None,
    completeness: Completeness,
    statistics: StatisticsSettings,
) -> list[GateResult] | None:
    """Gates of the plugin's own, decided after the built-in ones; a failed one fails the run.
    ``summary`` is None when no case was rated.

    Example::

        def pytest_empathy_gates(cases, summary, completeness, statistics):
            bad = sum(case.rating is Rating.BAD for case in cases if case.emotion == "afraid")
            return [GateResult("afraid-bad", bad <= 2, f"{bad} Bad answers to afraid, at most 2 allowed")]
    """
    ...
