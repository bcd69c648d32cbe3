"""pytest-empathy: benchmark how empathetically a language model answers, and gate CI on it."""

from __future__ import annotations

from functools import cache


def __getattr__(name: str) -> str:
    # Looked up only when asked for: reading the installed metadata costs every pytest run
    # a millisecond or two, and only a run's result needs the version.
    if name == "__version__":
        return _version()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@cache
def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pytest-empathy")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"
