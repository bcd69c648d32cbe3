"""What installed plugins add to a run: gates of their own, fields of the JSON result and
report formats, asked of the hooks of ``pytest_empathy.hookspec``.

The pytest session builds it from ``config.hook``, the ``pytest-empathy`` command from its
own plugin manager; without plugins it adds nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from pytest_empathy.errors import InputError
from pytest_empathy.reports.registry import FORMATS, BuiltinFormats, ReportFormat

if TYPE_CHECKING:
    import pluggy

    from pytest_empathy.analysis.gates import Completeness, GateResult
    from pytest_empathy.analysis.versus_baseline import Summary
    from pytest_empathy.results.case import CaseResult
    from pytest_empathy.settings import StatisticsSettings


class Extensions(Protocol):
    def gates(
        self,
        cases: Sequence[CaseResult],
        summary: Summary | None,
        completeness: Completeness,
        statistics: StatisticsSettings,
    ) -> list[GateResult]:
        """The plugins' own gates, decided after the built-in ones."""
        ...

    def json_fields(self, document: Mapping[str, Any]) -> dict[str, Any]:
        """Fields the plugins add to the JSON result, written under its ``extra`` key."""
        ...

    def formats(self) -> Sequence[ReportFormat]:
        """The built-in report formats and the plugins'."""
        ...

    def render(self, report_format: ReportFormat, document: Mapping[str, Any]) -> str:
        """A report's text, as a plugin renders it or else as its format does."""
        ...


class NoExtensions(BuiltinFormats):
    def gates(
        self,
        cases: Sequence[CaseResult],
        summary: Summary | None,
        completeness: Completeness,
        statistics: StatisticsSettings,
    ) -> list[GateResult]:
        return []

    def json_fields(self, document: Mapping[str, Any]) -> dict[str, Any]:
        return {}


NO_EXTENSIONS: Extensions = NoExtensions()


@dataclass(frozen=True)
class PluginExtensions:
    """The extensions of the plugins registered with ``hook``'s plugin manager.

    pluggy returns the implementations' results last registered first: gates and formats
    are sorted by name and fields by key, so that the output is the same whatever the order.
    """

    hook: pluggy.HookRelay

    def gates(
        self,
        cases: Sequence[CaseResult],
        summary: Summary | None,
        completeness: Completeness,
        statistics: StatisticsSettings,
    ) -> list[GateResult]:
        decided = self.hook.pytest_empathy_gates(
            cases=cases, summary=summary, completeness=completeness, statistics=statistics
        )
        return sorted((gate for gates in decided if gates for gate in gates), key=lambda gate: gate.name)

    def json_fields(self, document: Mapping[str, Any]) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        self.hook.pytest_empathy_update_json(document=document, extra=extra)
        return dict(sorted(extra.items()))

    def formats(self) -> Sequence[ReportFormat]:
        added = sorted(
            (report for reports in self.hook.pytest_empathy_report_formats() if reports for report in reports),
            key=lambda report: report.name,
        )
        names = [report.name for report in (*FORMATS, *added)]
        clashing = sorted({name for name in names if names.count(name) > 1})
        if clashing:
            raise InputError(f"report formats named twice by the installed plugins: {', '.join(clashing)}")
        return (*FORMATS, *added)

    def render(self, report_format: ReportFormat, document: Mapping[str, Any]) -> str:
        text: str | None = self.hook.pytest_empathy_render_report(report_format=report_format, document=document)
        return report_format.render(document) if text is None else text
