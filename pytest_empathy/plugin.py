"""pytest-empathy's hooks and fixtures. The work lives in the modules they call."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from . import local_server
from .benchmark import Benchmark, CaseNotRecorded
from .client import CallError
from .corpus import Row
from .judges import Unrated
from .results import PROPERTY, UNRECORDED, CaseResult
from .session import EmpathySession
from .settings import add_options, read_settings

BENCHMARK_KEY = pytest.StashKey[Benchmark]()


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    settings = read_settings(config)
    if settings.model is None:
        return
    benchmark = Benchmark.from_settings(settings)
    config.stash[BENCHMARK_KEY] = benchmark
    if not hasattr(config, "workerinput"):
        config.pluginmanager.register(EmpathySession(benchmark), "empathy-session")


def pytest_unconfigure(config: pytest.Config) -> None:
    local_server.stop_all()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "empathy_case" not in metafunc.fixturenames:
        return
    benchmark = metafunc.config.stash.get(BENCHMARK_KEY, None)
    if benchmark is None:
        reason = "pytest-empathy: no --empathy-model given"
        metafunc.parametrize("empathy_case", [pytest.param(None, marks=pytest.mark.skip(reason=reason))],
                             ids=["no-model"])
        return
    metafunc.parametrize(
        "empathy_case", benchmark.cases, ids=[row.case_id for row in benchmark.cases]
    )


@pytest.fixture
def empathy_evaluate(request: pytest.FixtureRequest) -> Callable[[Row], CaseResult]:
    """Evaluate a case: the responder answers, the judge rates, and the result goes to the
    controller on this test's report."""
    benchmark = request.config.stash[BENCHMARK_KEY]

    def evaluate(case: Row) -> CaseResult:
        try:
            result = benchmark.evaluate(case)
        except CaseNotRecorded as error:
            request.node.user_properties.append((UNRECORDED, error.reason))
            pytest.fail(str(error), pytrace=False)
        except (CallError, Unrated) as error:
            pytest.fail(str(error), pytrace=False)
        request.node.user_properties.append((PROPERTY, result.to_builtins()))
        return result

    return evaluate
