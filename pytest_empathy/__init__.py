"""pytest-empathy: benchmark how empathetically a language model answers, and gate CI on it."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("pytest-empathy")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
