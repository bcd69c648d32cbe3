"""pytest-empathy's hooks registered with pytest, and the run's extensions asked of them:
the plugins' gates, JSON fields and report formats (written with ``--empathy-output``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from pytest_empathy import hookspec
from pytest_empathy.errors import InputError
from pytest_empathy.evaluation.extensions import Extensions
from pytest_empathy.reports.registry import named_output

EXTENSIONS_KEY: pytest.StashKey[Extensions] = pytest.StashKey()
OUTPUTS_KEY: pytest.StashKey[dict[str, Path]] = pytest.StashKey()


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspec)


def configure_extensions(config: pytest.Config) -> None:
    """The run's extensions, and the paths ``--empathy-output`` names for the plugins' formats."""
    extensions = Extensions(config.hook)
    config.stash[EXTENSIONS_KEY] = extensions
    config.stash[OUTPUTS_KEY] = _outputs(config, extensions)


def extensions(config: pytest.Config) -> Extensions:
    return config.stash[EXTENSIONS_KEY]


def report_paths(config: pytest.Config, reports: Mapping[str, Path]) -> dict[str, Path]:
    """The built-in reports asked for and the plugins' formats of ``--empathy-output``."""
    outputs = config.stash[OUTPUTS_KEY]
    return {**reports, **outputs}


def _outputs(config: pytest.Config, extensions: Extensions) -> dict[str, Path]:
    values: list[str] | None = config.getoption("empathy_output")
    source, base = "--empathy-output", config.invocation_params.dir
    if not values:
        values = config.getini("empathy_output")
        source = "empathy_output (ini)"
        base = config.inipath.parent if config.inipath else config.rootpath
    outputs = {}
    for value in values or ():
        try:
            name, path = named_output(value, extensions)
        except InputError as error:
            raise pytest.UsageError(f"{source}: {error}") from None
        outputs[name] = base / path.expanduser()
    return outputs
