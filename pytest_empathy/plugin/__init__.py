"""pytest-empathy's hooks and fixtures: the only package that imports pytest. The work
lives in the packages they call.

The modules behind a benchmark (scipy, openai, vcrpy) are imported only once one is
configured, so that suites that never pass --empathy-model do not pay for them.
"""

from __future__ import annotations

import gc
import os
import types
import warnings
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pytest_empathy.errors import InputError

from .extensions import configure_extensions
from .extensions import pytest_addhooks as pytest_addhooks  # this plugin's hook: it adds the hookspecs
from .options import add_options, settings_of

if TYPE_CHECKING:
    from pytest_empathy.corpus.rows import Row
    from pytest_empathy.evaluation.run import BenchmarkRun
    from pytest_empathy.results.case import CaseResult

RUN_KEY: pytest.StashKey[BenchmarkRun] = pytest.StashKey()
CASSETTES_KEY: pytest.StashKey[Path] = pytest.StashKey()
CURRENT_ITEM_KEY: pytest.StashKey[pytest.Item] = pytest.StashKey()
TOOK_PROCESS_KEY: pytest.StashKey[bool] = pytest.StashKey()
FROZE_KEY: pytest.StashKey[bool] = pytest.StashKey()
# Known without importing it: this module is loaded by every pytest run.
BUILTIN_BENCHMARK = Path(__file__).with_name("benchmark.py")


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    try:
        _configure(config)
    except InputError as error:
        # The one place a bad option, or input the run cannot start with, becomes pytest's
        # usage error (an OptionError's message names the option).
        raise pytest.UsageError(str(error)) from None


def _configure(config: pytest.Config) -> None:
    settings = settings_of(config)
    settings = configure_extensions(config, settings)
    # As pytest names the paths it collects: absolute, symbolic links kept.
    config.stash[CASSETTES_KEY] = Path(os.path.abspath(settings.recording.cassettes))
    # Registered without a model too: the built-in benchmark's test still names the fixture.
    config.pluginmanager.register(evaluation_fixtures(config), "empathy-evaluation")
    if settings.selection.model is None and not settings.calibration.calibrate:
        return
    # From here the session takes process-wide state (credentials to mask, the log record
    # factory, llama.cpp servers), even if assembling the run then fails: released as it ends.
    config.stash[TOOK_PROCESS_KEY] = True
    from pytest_empathy.evaluation.assemble import assemble
    from pytest_empathy.evaluation.finish_plan import plan_finish
    from pytest_empathy.modes import RecordMode

    from .session import EmpathySession

    run = assemble(settings)
    config.stash[RUN_KEY] = run
    if settings.recording.record is not RecordMode.NONE:
        # Only while recording: the look-ahead's module loads the recorder, and with it vcrpy
        # and the openai client, which a replay never calls.
        from .lookahead import check_scheduling

        check_scheduling(config, settings.recording.concurrency)
    if not hasattr(config, "workerinput"):
        for warning in run.key_warnings():
            config.issue_config_time_warning(warning, stacklevel=2)
        deselecting = bool(config.option.keyword or config.option.markexpr)
        plan = plan_finish(run, settings, deselecting=deselecting)
        config.pluginmanager.register(EmpathySession(run, plan), "empathy-session")


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """The cassettes directory holds no tests, and may hold thousands of files for pytest to
    walk looking for them."""
    return True if collection_path == config.stash.get(CASSETTES_KEY, None) else None


def pytest_unconfigure(config: pytest.Config) -> None:
    """The session gives back what it took of the process: its run's clients, the llama.cpp
    servers it started, the credentials it masks and the log record factory masking them. A
    process may run another session (pytest.main() twice, an IDE's runner, pytester), which
    must see nothing of this one."""
    if config.stash.get(FROZE_KEY, False):
        gc.unfreeze()
    if not config.stash.get(TOOK_PROCESS_KEY, False):
        return
    from pytest_empathy.models import local_server
    from pytest_empathy.secrets import forget

    try:
        if RUN_KEY in config.stash:
            config.stash[RUN_KEY].close()
    finally:
        try:
            local_server.stop_all()
        finally:
            forget()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> Generator[None, None, None]:
    # Before every other implementation, so that -k, -m, --lf and ordering plugins see the
    # built-in benchmark's tests too.
    run = config.stash.get(RUN_KEY, None)
    if run is not None:
        from .collection import add_builtin_benchmark

        add_builtin_benchmark(session, run.settings.selection, items)
    return (yield)


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """What collection built lives until the session ends (the items, the corpus, the
    modules): it is moved out of the garbage collector's sight, which otherwise walked it on
    every full collection while the cases ran (py-spy: 30% of what a 2,000-case replay added
    to bare pytest). Given back at unconfigure, for a process's next session."""
    config = session.config
    # Not where the process froze objects of its own: unfreezing would give back those too.
    if RUN_KEY in config.stash and gc.get_freeze_count() == 0:
        gc.freeze()
        config.stash[FROZE_KEY] = True


def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    """The built-in benchmark named with --pyargs is the same module as when it is added."""
    if module_path != BUILTIN_BENCHMARK:
        return None
    from .collection import builtin_module

    return builtin_module(parent)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "empathy_case" not in metafunc.fixturenames:
        return
    run = metafunc.config.stash.get(RUN_KEY, None)
    if run is None:
        reason = "pytest-empathy: no --empathy-model (or --empathy-calibrate) given"
        metafunc.parametrize(
            "empathy_case", [pytest.param(None, marks=pytest.mark.skip(reason=reason))], ids=["no-model"]
        )
        return
    metafunc.parametrize("empathy_case", run.cases, ids=[row.case_id for row in run.cases])


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # empathy_evaluate, made once a session, records each result on the test running now.
    item.config.stash[CURRENT_ITEM_KEY] = item


def evaluation_fixtures(config: pytest.Config) -> types.ModuleType:
    """The holder of ``empathy_evaluate``, a session fixture closed over this run's config.

    It takes no arguments: pytest resolves a fixture's arguments on every test that uses it,
    before looking at its cache, and ``pytestconfig`` goes through ``request``, which pytest
    builds anew each time. On a 200,000-case replay that was a fifth of the time (py-spy).
    A module, because pytest finds the fixtures of any other holder on its type, and a
    fixture that is a bound method of a plugin object is deprecated for session scope.
    """

    @pytest.fixture(scope="session", name="empathy_evaluate")
    def empathy_evaluate() -> Iterator[Callable[[Row], CaseResult]]:
        """Evaluate a case: the responder answers, the judge rates, and the result goes to the
        controller on the report of the test that asked. Made once a session. While recording
        with --empathy-concurrency, the next tests' cases are evaluated ahead."""
        from pytest_empathy.errors import InputError
        from pytest_empathy.evaluation.run import CaseNotRecorded
        from pytest_empathy.models.endpoint import CallError
        from pytest_empathy.models.judges import Unrated
        from pytest_empathy.modes import RecordMode
        from pytest_empathy.results.case import UNRECORDED

        run = config.stash[RUN_KEY]
        with_response = run.settings.keeps_responses
        concurrency = run.settings.recording.concurrency
        recording = run.settings.recording.record is not RecordMode.NONE
        lookahead = None
        if concurrency > 1 and recording:
            from .lookahead import Lookahead

            lookahead = Lookahead(run.evaluate, concurrency, run.close)

        def evaluate(case: Row) -> CaseResult:
            item = config.stash[CURRENT_ITEM_KEY]
            properties = item.user_properties
            try:
                outcome = run.evaluate(case) if lookahead is None else lookahead.take(item, case)
            except CaseNotRecorded as error:
                properties.append((UNRECORDED, error.reason.value))
                failure = str(error)
            except (CallError, Unrated, InputError) as error:
                failure = str(error)
            else:
                if outcome.masked is not None:
                    warnings.warn(outcome.masked, stacklevel=2)
                properties.extend(outcome.result.to_properties(with_response=with_response))
                return outcome.result
            # Outside the except blocks: the message is the whole story, with no chained traceback.
            pytest.fail(failure, pytrace=False)

        yield evaluate
        if lookahead is not None:
            lookahead.close()

    holder = types.ModuleType(f"{__name__}.evaluation_fixtures")
    vars(holder)["empathy_evaluate"] = empathy_evaluate
    return holder
