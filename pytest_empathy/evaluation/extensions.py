"""What installed plugins add to a run: gates of their own, fields of the JSON result and
report formats, asked of the hooks of ``pytest_empathy.hookspec``.

The pytest session asks ``config.hook``; the ``pytest-empathy`` command asks the plugins
installed under the entry-point group ``pytest_empathy``; without plugins nothing is added.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pluggy

from pytest_empathy import hookspec
from pytest_empathy.errors import InputError
from pytest_empathy.reports.registry import FORMATS, ReportFormat

if TYPE_CHECKING:
    from pytest_empathy.analysis.gates import Completeness, GateResult
    from pytest_empathy.analysis.versus_baseline import Summary
    from pytest_empathy.results.case import CaseResult
    from pytest_empathy.results.result_document import ResultDocument
    from pytest_empathy.schema import JSONValue
    from pytest_empathy.settings import StatisticsSettings

ENTRY_POINTS = "pytest_empathy"


class EmpathyPlugins(pluggy.PluginManager):
    """The plugins of a run outside pytest, their ``pytest_empathy_*`` functions taken as
    hooks with or without a marker, as pytest takes them."""

    def __init__(self) -> None:
        super().__init__("pytest")
        self.add_hookspecs(hookspec)

    def parse_hookimpl_opts(self, plugin: object, name: str) -> pluggy.HookimplOpts | None:
        marked = super().parse_hookimpl_opts(plugin, name)
        if marked is not None or not name.startswith("pytest_empathy_"):
            return marked
        if not inspect.isroutine(inspect.getattr_static(plugin, name, None)):
            return None
        return pluggy.HookimplOpts(
            wrapper=False, hookwrapper=False, optionalhook=False, tryfirst=False, trylast=False, specname=None
        )


@dataclass(frozen=True)
class Extensions:
    """The extensions of the plugins registered with ``hook``'s plugin manager.

    pluggy returns the implementations' results last registered first: gates and formats
    are sorted by name and fields by key, so that the output is the same whatever the order.
    """

    hook: pluggy.HookRelay

    @classmethod
    def installed(cls) -> Extensions:
        """The extensions of the plugins installed under the entry-point group ``pytest_empathy``."""
        plugins = EmpathyPlugins()
        plugins.load_setuptools_entrypoints(ENTRY_POINTS)
        return cls(plugins.hook)

    def gates(
        self,
        cases: Sequence[CaseResult],
        summary: Summary | None,
        completeness: Completeness,
        statistics: StatisticsSettings,
    ) -> list[GateResult]:
        """The plugins' own gates, decided after the built-in ones."""
        decided = self.hook.pytest_empathy_gates(
            cases=cases, summary=summary, completeness=completeness, statistics=statistics
        )
        return sorted((gate for gates in decided if gates for gate in gates), key=lambda gate: gate.name)

    def json_fields(self, document: ResultDocument) -> dict[str, JSONValue]:
        """Fields the plugins add to the JSON result, written under its ``extra`` key."""
        extra: dict[str, JSONValue] = {}
        self.hook.pytest_empathy_update_json(document=document, extra=extra)
        return dict(sorted(extra.items()))

    def formats(self) -> Sequence[ReportFormat]:
        """The built-in report formats and the plugins'."""
        added = sorted(
            (report for reports in self.hook.pytest_empathy_report_formats() if reports for report in reports),
            key=lambda report: report.name,
        )
        names = [report.name for report in (*FORMATS, *added)]
        clashing = sorted({name for name in names if names.count(name) > 1})
        if clashing:
            raise InputError(f"report formats named twice by the installed plugins: {', '.join(clashing)}")
        return (*FORMATS, *added)

    def render(self, report_format: ReportFormat, document: ResultDocument) -> str:
        """A report's text, as a plugin renders it or else as its format does."""
        text: str | None = self.hook.pytest_empathy_render_report(report_format=report_format, document=document)
        return report_format.render(document) if text is None else text


NO_EXTENSIONS = Extensions(EmpathyPlugins().hook)
