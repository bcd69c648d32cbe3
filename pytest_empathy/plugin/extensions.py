"""pytest-empathy's hooks registered with pytest, and the run's extensions asked of them:
the plugins' gates, JSON fields and report formats (written with ``--empathy-output``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from pytest_empathy import hookspec
from pytest_empathy.errors import option_error
from pytest_empathy.evaluation.extensions import Extensions
from pytest_empathy.reports.registry import BY_NAME, ReportFormat, output_format
from pytest_empathy.settings import ReportOutput, Settings

EXTENSIONS_KEY: pytest.StashKey[Extensions] = pytest.StashKey()
# The plugins' formats --empathy-output names, by name, with the paths to write them to.
OUTPUTS_KEY: pytest.StashKey[dict[str, tuple[ReportFormat, Path]]] = pytest.StashKey()


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspec)


def configure_extensions(config: pytest.Config, settings: Settings) -> Settings:
    """The run's extensions, and the plugins' formats ``--empathy-output`` names; the
    settings, which keep the responses for a format of theirs that shows them."""
    extensions = Extensions(config.hook)
    config.stash[EXTENSIONS_KEY] = extensions
    outputs = _outputs(settings.storage.outputs, extensions)
    config.stash[OUTPUTS_KEY] = outputs
    if any(report.shows_responses for report, _ in outputs.values()):
        settings = replace(settings, storage=replace(settings.storage, reports_show_responses=True))
    return settings


def extensions(config: pytest.Config) -> Extensions:
    return config.stash[EXTENSIONS_KEY]


def report_paths(config: pytest.Config, reports: Mapping[str, Path]) -> dict[str, Path]:
    """The built-in reports asked for and the plugins' formats of ``--empathy-output``."""
    return {**reports, **{name: path for name, (_, path) in config.stash[OUTPUTS_KEY].items()}}


def report_titles(config: pytest.Config) -> dict[str, str]:
    """What the terminal calls each report a run writes, the plugins' included."""
    return {
        **{name: report.title for name, report in BY_NAME.items()},
        **{name: report.title for name, (report, _) in config.stash[OUTPUTS_KEY].items()},
    }


def _outputs(outputs: Sequence[ReportOutput], extensions: Extensions) -> dict[str, tuple[ReportFormat, Path]]:
    # The plugins are asked only when a format of theirs is named.
    return {
        output.name: (option_error(output.source, output_format, output.name, output.given, extensions), output.path)
        for output in outputs
    }
