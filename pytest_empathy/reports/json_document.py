"""The JSON result: the run's document as it is."""

from __future__ import annotations

from typing import Any

from pytest_empathy.results.document import dumps


def render(document: dict[str, Any]) -> str:
    return dumps(document)
