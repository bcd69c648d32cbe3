"""The JSON result: the run's document as it is."""

from __future__ import annotations

from pytest_empathy.results.result_document import ResultDocument, dumps


def render(document: ResultDocument) -> str:
    return dumps(document)
