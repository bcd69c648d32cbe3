"""pytest-empathy's hooks registered with pytest, and the run's extensions asked of them:
the plugins' gates, JSON fields and report formats (written with ``--empathy-output``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from pytest_empathy import hookspec
from pytest_empathy.errors import OptionError
from pytest_empathy.evaluation.extensions import Extensions
from pytest_empathy.reports.registry import unknown_format
from pytest_empathy.settings import Settings

EXTENSIONS_KEY: pytest.StashKey[Extensions] = pytest.StashKey()
OUTPUTS_KEY: pytest.StashKey[dict[str, Path]] = pytest.StashKey()


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspec)


def configure_extensions(config: pytest.Config, settings: Settings) -> None:
    """The run's extensions, and the paths ``--empathy-output`` names for the plugins' formats."""
    extensions = Extensions(config.hook)
    config.stash[EXTENSIONS_KEY] = extensions
    config.stash[OUTPUTS_KEY] = _outputs(settings.storage.outputs, extensions)


def extensions(config: pytest.Config) -> Extensions:
    return config.stash[EXTENSIONS_KEY]


def report_paths(config: pytest.Config, reports: Mapping[str, Path]) -> dict[str, Path]:
    """The built-in reports asked for and the plugins' formats of ``--empathy-output``."""
    outputs = config.stash[OUTPUTS_KEY]
    return {**reports, **outputs}


def _outputs(outputs: Sequence[tuple[str, Path]], extensions: Extensions) -> dict[str, Path]:
    known = {report.name for report in extensions.formats()}
    for name, _ in outputs:
        if name not in known:
            raise OptionError.of("--empathy-output", unknown_format(name, known))
    return dict(outputs)
