"""Which benchmark a session runs: a collected test that takes ``empathy_case``, or else the
built-in one, added only when the model (or a calibration) is asked for on the command line
(docs/tutorial/reproduce-the-study.md, "The built-in benchmark, or your own module", gives
the rule). The built-in module has one node id wherever the package is installed:
``pytest_empathy/plugin/benchmark.py``.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

import pytest

from pytest_empathy.settings import SelectionSettings, Settings

from . import benchmark

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


def add_builtin_benchmark(session: pytest.Session, selection: SelectionSettings, items: list[pytest.Item]) -> None:
    if not selection.on_command_line or any(takes_case(item) for item in items):
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
    if settings.selection.on_command_line:
        return (
            f"pytest-empathy: {subject} ran no case: none was selected "
            "(-k, -m, --deselect or --lf left none, or the benchmark module failed to collect)"
        )
    return (
        f"pytest-empathy: {subject} (set in the ini file) ran no case: no selected test takes empathy_case, and "
        f"the built-in benchmark runs only when the option is on the command line: pytest {asked_with}"
    )
