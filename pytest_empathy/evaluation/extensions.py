"""What installed plugins add to a run: gates of their own and fields of the JSON result.

The pytest session and the ``pytest-empathy`` command build it from the hooks of
``pytest_empathy.hookspec``; without plugins it adds nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
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


class NoExtensions:
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
