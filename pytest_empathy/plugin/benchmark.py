"""The built-in benchmark: one test per case of the run.

Collected by the plugin when ``--empathy-model`` (or ``--empathy-calibrate``) is on the
command line and no collected test takes ``empathy_case`` (see ``collection``); a project
that writes its own benchmark module keeps it. ``pytest --pyargs
pytest_empathy.plugin.benchmark`` collects it by name.
"""

from __future__ import annotations

from collections.abc import Callable

from pytest_empathy import Rating
from pytest_empathy.corpus.rows import Row
from pytest_empathy.results.case import CaseResult


def test_empathy(empathy_case: Row, empathy_evaluate: Callable[[Row], CaseResult]) -> None:
    result = empathy_evaluate(empathy_case)
    assert result.rating in Rating
