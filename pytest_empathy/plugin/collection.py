"""Which benchmark a session runs: the project's own, or the plugin's built-in one.

The rule: a collected test that takes ``empathy_case`` is the benchmark, and the plugin adds
nothing. When none does, the built-in benchmark (``benchmark.py``) is added only if the
model (or a calibration) was asked for on the command line: a model set in the ini file for
a benchmark directory must not drag 2,000 cases into a run of unrelated test paths. The
built-in tests are added before -k and -m deselect, so both select among them as usual.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

import pytest

from . import benchmark
from .options import Settings

NODE_ID = "pytest_empathy/plugin/benchmark.py"


class _BuiltinModule(pytest.Module):
    """The built-in benchmark module, imported by its package name: pytest's own import
    would put the package's folder on sys.path."""

    def _getobj(self) -> ModuleType:
        return importlib.import_module(benchmark.__name__)


def takes_case(item: pytest.Item) -> bool:
    return "empathy_case" in getattr(item, "fixturenames", ())


def add_builtin_benchmark(session: pytest.Session, settings: Settings, items: list[pytest.Item]) -> None:
    if not settings.on_command_line or any(takes_case(item) for item in items):
        return
    # One node id wherever the package is installed, named like the module: the tests read
    # pytest_empathy/plugin/benchmark.py::test_empathy[<case>] in every run and JUnit file.
    module = _BuiltinModule.from_parent(session, path=Path(benchmark.__file__), nodeid=NODE_ID)
    items.extend(session.genitems(module))


def no_case_ran(settings: Settings, model: str) -> str:
    """Why a session with a model configured ran no case."""
    if settings.on_command_line:
        return f"pytest-empathy: model {model} ran no case: -k or -m deselected every case of the benchmark"
    return (
        f"pytest-empathy: model {model} (empathy_model in the ini file) ran no case: no selected test takes "
        "empathy_case, and the built-in benchmark runs only when the model is named on the command line: "
        f"pytest --empathy-model={model}"
    )
