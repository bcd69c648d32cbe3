"""pytest-empathy's hooks and fixtures. The work lives in the modules they call."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from .settings import add_options, read_settings

if TYPE_CHECKING:
    from .benchmark import Benchmark
    from .corpus import Row
    from .results import CaseResult

# The modules behind a benchmark (scipy, openai, vcrpy) are imported only once one is
# configured, so that suites that never pass --empathy-model do not pay for them.

BENCHMARK_KEY = pytest.StashKey["Benchmark"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    settings = read_settings(config)
    if settings.model is None:
        return
    from .benchmark import Benchmark
    from .session import EmpathySession

    benchmark = Benchmark.from_settings(settings)
    config.stash[BENCHMARK_KEY] = benchmark
    if not hasattr(config, "workerinput"):
        deselecting = bool(config.option.keyword or config.option.markexpr)
        config.pluginmanager.register(EmpathySession(benchmark, deselecting=deselecting), "empathy-session")


def pytest_unconfigure(config: pytest.Config) -> None:
    if BENCHMARK_KEY in config.stash:
        from . import local_server

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
    from .benchmark import CaseNotRecorded
    from .client import CallError
    from .errors import InputError
    from .judges import Unrated
    from .results import UNRECORDED

    benchmark = request.config.stash[BENCHMARK_KEY]

    def evaluate(case: Row) -> CaseResult:
        try:
            result = benchmark.evaluate(case)
        except CaseNotRecorded as error:
            request.node.user_properties.append((UNRECORDED, error.reason))
            failure = str(error)
        except (CallError, Unrated, InputError) as error:
            failure = str(error)
        else:
            with_response = benchmark.settings.html is not None or benchmark.settings.csv is not None
            request.node.user_properties.extend(result.to_properties(with_response=with_response))
            return result
        # Outside the except blocks: the message is the whole story, with no chained traceback.
        pytest.fail(failure, pytrace=False)

    return evaluate
