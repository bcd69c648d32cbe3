"""pytest-empathy: benchmark how empathetically a language model answers, and gate CI on it.

The names below are the public API (docs/reference/api.md); everything else is private.
"""

from __future__ import annotations

import importlib
from functools import cache

# Each name's module, imported only when the name is asked for: the plugin loads this
# package in every pytest run, and most runs need none of them. Their types are in
# __init__.pyi, so that no layer reaches the ones above it through this module.
_WHERE = {
    "CaseResult": "pytest_empathy.results.case",
    "GateResult": "pytest_empathy.analysis.gates",
    "Rating": "pytest_empathy.ratings",
    "ReportFormat": "pytest_empathy.reports.registry",
    "ResultDocument": "pytest_empathy.results.result_document",
    "StatisticsSettings": "pytest_empathy.settings",
    "merge": "pytest_empathy.evaluation.merge",
    "verdict": "pytest_empathy.evaluation.finish",
}
__all__ = sorted([*_WHERE, "__version__"])


def __getattr__(name: str) -> object:
    # Reading the installed metadata costs every pytest run a millisecond or two, and only a
    # run's result needs the version.
    if name == "__version__":
        return _version()
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


@cache
def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pytest-empathy")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"
