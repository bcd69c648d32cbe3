"""Which benchmark a session runs: the project's own, or the plugin's built-in one.

The rule: a collected test that takes ``empathy_case`` is the benchmark, and the plugin adds
nothing. When none does, the built-in benchmark (``benchmark.py``) is added only if the
model (or a calibration) was asked for on the command line (addopts and PYTEST_ADDOPTS
included): a model set in the ini file for a benchmark directory must not drag 2,000 cases
into a run of unrelated test paths. The built-in tests are added before any plugin selects
or orders the items (-k, -m, --lf, randomly), so they are selected and ordered as any others.

The module has one node id and one name wherever the package is installed, and however it is
collected (added, or named with --pyargs): its tests read
``pytest_empathy/plugin/benchmark.py::test_empathy[<case>]`` in every run, cache and JUnit
file, and no folder of the installation becomes a -k keyword.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

import pytest

from . import benchmark
from .options import Settings

NODE_ID = "pytest_empathy/plugin/benchmark.py"
PATH = Path(benchmark.__file__)


class _BuiltinModule(pytest.Module):
    """The built-in benchmark module, imported by its package name: pytest's own import
    would put the package's folder on sys.path."""

    def _getobj(self) -> ModuleType:
        return importlib.import_module(benchmark.__name__)


def takes_case(item: pytest.Item) -> bool:
    return "empathy_case" in getattr(item, "fixturenames", ())


def builtin_module(parent: pytest.Collector) -> pytest.Module:
    return _BuiltinModule.from_parent(parent, path=PATH, name=PATH.name, nodeid=NODE_ID)


def add_builtin_benchmark(session: pytest.Session, settings: Settings, items: list[pytest.Item]) -> None:
    if not settings.on_command_line or any(takes_case(item) for item in items):
        return
    module = builtin_module(session)
    # Collected here rather than through pytest's collection report, which --lf would
    # skip: it looks for the module at the rootdir, where an installed package never is.
    found = [item for item in module.collect() if isinstance(item, pytest.Item)]
    report = pytest.CollectReport(module.nodeid, "passed", None, list[pytest.Item | pytest.Collector](found))
    session.ihook.pytest_collectreport(report=report)
    for item in found:
        item.ihook.pytest_itemcollected(item=item)
    items.extend(found)


def no_case_ran(settings: Settings, subject: str, asked_with: str) -> str:
    """Why a session that ``asked_with`` an option (``--empathy-model=NAME``) ran no case of
    its ``subject`` (``model NAME``)."""
    if settings.on_command_line:
        return (
            f"pytest-empathy: {subject} ran no case: none was selected "
            "(-k, -m, --deselect or --lf left none, or the benchmark module failed to collect)"
        )
    return (
        f"pytest-empathy: {subject} (set in the ini file) ran no case: no selected test takes empathy_case, and "
        f"the built-in benchmark runs only when the option is on the command line: pytest {asked_with}"
    )
