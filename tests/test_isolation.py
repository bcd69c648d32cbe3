"""The suite runs pytest and the pytest-empathy command in its own process (tests/conftest.py):
a run there must see nothing of the runs before it, and must find what a run in a new process
finds. The entry points themselves still run as processes here, once each."""

from __future__ import annotations

import gc
import json
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
from contextvars import ContextVar
from pathlib import Path

import pytest

from pytest_empathy.models import local_server
from pytest_empathy.models.endpoint import chat_path
from pytest_empathy.secrets import known

from .conftest import BENCHMARK, cli, synthetic_rows, write_corpus

# A credential only the first run knows: in a profile's URL and its key, under names that are
# not key-like, so that only the run can have told the package about them.
PASSWORD = "isolation-pa55word-1f0c"
KEY = "isolation-key-77d2a9e4b3"
PROFILE = f"""
[tool.pytest-empathy.models.private]
model = "private-model"
base_url = "https://user:{PASSWORD}@example.invalid/v1"
api_key_env = "ISOLATION_CREDENTIAL"
"""
# The second run's test, in the same process: what the package masks, and how it logs.
PROBE = f"""
import logging
from pytest_empathy.secrets import redact

def test_the_first_runs_credentials_are_not_known():
    assert redact("{PASSWORD} {KEY}") == "{PASSWORD} {KEY}"

def test_library_logs_are_made_by_the_factory_a_new_process_has():
    assert logging.getLogRecordFactory() is logging.LogRecord
"""
BOT = ["--empathy-model=bot", "--empathy-corpus=corpus.csv", "--empathy-gate=off", "-p", "no:cacheprovider"]


def bot_project(pytester: pytest.Pytester) -> None:
    """A corpus of two emotions whose responses and ratings are recorded: a run calls no model."""
    rows = synthetic_rows(per_emotion=2, rating=lambda emotion, i: (3, 2), emotions=("afraid", "joyful"))
    write_corpus(pytester.path / "corpus.csv", rows)


def test_two_sessions_in_one_process_see_nothing_of_each_other(pytester, monkeypatch):
    """As a user's process running pytest twice (pytest.main(), an IDE's runner, their own
    pytester tests) has it: no harness resets anything between the sessions or after them,
    so what the second sees is what the first's end released."""
    bot_project(pytester)
    pytester.makefile(".toml", pyproject=PROFILE)
    monkeypatch.setenv("ISOLATION_CREDENTIAL", KEY)
    url = f"https://example.invalid/{PASSWORD}/v1"
    pytester.makepyfile(
        test_first=f"""
        import logging
        from pytest_empathy.models.endpoint import chat_path
        from pytest_empathy.secrets import redact

        def test_the_session_masks_its_credentials():
            assert redact("{PASSWORD} {KEY}") == "*** ***"
            assert chat_path("{url}") == "/***/v1/chat/completions"
            assert logging.getLogRecordFactory() is not logging.LogRecord
        """
    )
    pytester.makepyfile(test_empathy=BENCHMARK)
    # pytester's own inline_run, as a user's pytest.main() is: not the suite's harness.
    first = pytest.Pytester.inline_run(pytester, *BOT)
    first.assertoutcome(passed=5)
    assert (known(), chat_path.cache_info().currsize, local_server.running()) == (frozenset(), 0, [])
    assert logging.getLogRecordFactory() is logging.LogRecord
    (pytester.path / "pyproject.toml").unlink()
    (pytester.path / "test_first.py").unlink()
    monkeypatch.delenv("ISOLATION_CREDENTIAL")
    pytester.makepyfile(
        test_second=PROBE
        + f"""
def test_no_url_path_is_cached_masked_with_the_first_sessions_credentials():
    from pytest_empathy.models.endpoint import chat_path

    assert chat_path("{url}") == "/{PASSWORD}/v1/chat/completions"
"""
    )
    second = pytest.Pytester.inline_run(pytester, "-p", "no:cacheprovider", "test_second.py")
    second.assertoutcome(passed=3)


def package_state() -> dict[str, object]:
    """What of the process-wide state a run may change: the module-level values of every
    loaded pytest_empathy module (its functions and classes by identity: a run, or a test's
    conftest, may replace one), the process-wide functions a run or a fault injected into it
    may replace (os's file operations, shutil's, socket.socket), the URL paths cached with
    the credentials masked (the one cache whose answers depend on more than its arguments),
    the log record factory, the loggers' levels and handlers, the threads (the non-daemon
    ones by identity: one left running keeps a process from exiting) and the environment."""
    state: dict[str, object] = {}
    for name, module in sorted(sys.modules.items()):
        if name == "pytest_empathy" or name.startswith("pytest_empathy."):
            for attribute, value in vars(module).items():
                if isinstance(value, ContextVar):
                    state[f"{name}.{attribute}"] = value.get()
                elif callable(value):
                    state[f"{name}.{attribute}"] = value
                elif not (isinstance(value, type(sys)) or attribute.startswith("__")):
                    state[f"{name}.{attribute}"] = repr(value)
    for module, attributes in ((os, ("replace", "rename", "fsync", "open", "unlink")), (socket, ("socket",))):
        state.update({f"{module.__name__}.{attribute}": getattr(module, attribute) for attribute in attributes})
    state.update({f"shutil.{name}": value for name, value in vars(shutil).items() if callable(value)})
    state["chat_path cache"] = chat_path.cache_info().currsize
    state["log record factory"] = logging.getLogRecordFactory()
    named = logging.Logger.manager.loggerDict.items()
    loggers = [("root", logging.getLogger())] + [(n, lg) for n, lg in named if isinstance(lg, logging.Logger)]
    state.update({f"logger {name}": (logger.level, list(logger.handlers)) for name, logger in loggers})
    state["threads"] = sorted(thread.name for thread in threading.enumerate())
    state["non-daemon threads"] = {thread for thread in threading.enumerate() if not thread.daemon}
    # Less pytest's own: the inner run's last test removes it, and the outer run sets it again.
    state.update({f"${name}": value for name, value in os.environ.items() if name != "PYTEST_CURRENT_TEST"})
    return state


def test_a_run_leaves_nothing_for_the_next(pytester, monkeypatch):
    bot_project(pytester)
    pytester.makefile(".toml", pyproject=PROFILE)
    monkeypatch.setenv("ISOLATION_CREDENTIAL", KEY)
    pytester.makepyfile(
        test_first=f"""
        import logging
        from pytest_empathy.secrets import redact

        def test_the_run_masks_its_credentials():
            assert redact("{PASSWORD} {KEY}") == "*** ***"
            assert logging.getLogRecordFactory() is not logging.LogRecord
        """
    )
    pytester.makepyfile(test_empathy=BENCHMARK)
    first = pytester.runpytest(*BOT)
    first.assert_outcomes(passed=5)
    (pytester.path / "pyproject.toml").unlink()
    (pytester.path / "test_first.py").unlink()
    monkeypatch.delenv("ISOLATION_CREDENTIAL")
    pytester.makepyfile(test_second=PROBE)
    pytester.runpytest("-p", "no:cacheprovider", "test_second.py").assert_outcomes(passed=2)


def test_an_inner_run_puts_the_package_state_back(pytester, monkeypatch):
    bot_project(pytester)
    pytester.makefile(".toml", pyproject=PROFILE)
    monkeypatch.setenv("ISOLATION_CREDENTIAL", KEY)
    pytester.makepyfile(test_empathy=BENCHMARK)
    before = package_state()
    pytester.runpytest(*BOT, "-n", "2").assert_outcomes(passed=4)
    pytester.runpytest(*BOT).assert_outcomes(passed=4)
    after = package_state()
    assert {k: v for k, v in after.items() if before.get(k) != v} == {}
    assert before.keys() == after.keys()


class Imports:
    """The modules an inner run has loaded as it ends, before pytester takes them out."""

    def __init__(self) -> None:
        self.loaded: dict[str, str] = {}

    def pytest_unconfigure(self) -> None:
        self.loaded = {name: getattr(module, "__file__", None) or "" for name, module in sys.modules.items()}


def test_an_inner_run_imports_no_module_the_suite_has_not(stub, pytester):
    """pytester takes what an inner run imported out of sys.modules again: a library module
    first imported there is imported anew by the next run, beside the classes its package
    still holds (an exception the client no longer maps). conftest imports them up front."""
    stub_options = ["--empathy-model=stub", "--empathy-judge=stub", "--empathy-corpus=corpus.csv"]
    stub_options += ["--empathy-baseline=human-raters", "--empathy-gate=off", "-p", "no:cacheprovider"]
    before = set(sys.modules)
    for args in (["--empathy-record=once", "--empathy-report=report.json"], ["--empathy-html=report.html", "-n", "2"]):
        imports = Imports()
        assert pytester.runpytest(*stub_options, *args, plugins=[imports]).ret == 0
        test_folder = str(pytester.path)
        imported = [n for n, file in imports.loaded.items() if n not in before and not file.startswith(test_folder)]
        assert imported == [], " ".join(imported)


def test_the_command_runs_as_a_process_as_in_this_one(pytester):
    bot_project(pytester)
    pytester.makepyfile(test_empathy=BENCHMARK)
    pytester.runpytest(*BOT, "--empathy-report=report.json").assert_outcomes(passed=4)
    statuses = []
    for args in (
        ["report", "report.json", "--markdown", "summary.md"],
        ["merge", "report.json"],
        ["report", "gone.json"],
    ):
        process = subprocess.run(
            [sys.executable, "-m", "pytest_empathy.cli", *args],
            cwd=pytester.path,
            capture_output=True,
            text=True,
            check=False,
        )
        here = cli(*args, cwd=pytester.path)
        assert (here.returncode, here.stdout, here.stderr) == (process.returncode, process.stdout, process.stderr)
        statuses.append(process.returncode)
    assert statuses == [0, 2, 2]  # a report; a usage error (no -o); a result that is not there


def result_of(path: Path) -> dict[str, object]:
    """A JSON result without what differs from one run to the next of the same cases."""
    document = json.loads(path.read_text())
    return {k: v for k, v in document.items() if k not in {"started", "finished", "duration", "run"}}


def timings_masked(lines: list[str]) -> list[str]:
    """A run's output without what differs from one run of the same cases to the next: its
    durations (``in 1.23s``, ``(0:00:01)``), and the width of the ``=`` rule that centres the
    final line on them (one more ``=`` when a run took 9.9 s, not 10.1 s)."""
    masked = (re.sub(r"\d+(?:\.\d+)?s\b|\(\d+:\d\d:\d\d\)", "<time>", line) for line in lines)
    return [re.sub(r"^=+ (.*<time>.*) =+$", r"=== \1 ===", line) for line in masked]


@pytest.mark.parametrize("mode", [[], ["-n", "2"]], ids=["no-workers", "n2"])
def test_an_inner_pytest_runs_as_a_process_as_in_this_one(pytester, mode):
    """The whole output alike, timings aside: under -n 2 the workers are processes of their
    own either way, and what they print reaches the run's output as it would from a process."""
    bot_project(pytester)
    pytester.makepyfile(test_empathy=BENCHMARK)
    # Where this process imported the package before a run could mark it for assertion
    # rewriting, pytest says so at the in-process run's start; a process of its own imports it
    # fresh. That notice is the harness's, not the run's: both runs are told to ignore it.
    args = (*BOT, "--empathy-report=report.json", "-W", "ignore::pytest.PytestAssertRewriteWarning", *mode)
    process = pytester.runpytest_subprocess(*args)
    processs_result = result_of(pytester.path / "report.json")
    here = pytester.runpytest(*args)
    assert here.ret == process.ret == 0
    assert here.parseoutcomes() == process.parseoutcomes()
    assert result_of(pytester.path / "report.json") == processs_result
    summary = [line for line in process.stdout.lines if line.startswith("corpus ")]
    assert summary and summary == [line for line in here.stdout.lines if line.startswith("corpus ")]
    # The header's list of installed plugins is in the order each process found them in.
    assert [line for line in timings_masked(here.stdout.lines) if not line.startswith("plugins: ")] == [
        line for line in timings_masked(process.stdout.lines) if not line.startswith("plugins: ")
    ]


def test_what_an_xdist_worker_writes_outside_capture_reaches_the_tests_descriptors(pytester, capfd):
    """An in-process run's workers inherit this process's file descriptors: what they write
    outside pytest's capture (startup warnings, 'Exception ignored', late logging) is not in
    the run's result but on this test's fd 2. A test that asserts a credential reaches no
    output of a run under -n 2 reads capfd too (test_real_local_server_round_trip)."""
    pytester.makeconftest(
        """
        import os

        def pytest_configure(config):
            if hasattr(config, "workerinput"):
                os.write(2, b"written by a worker outside capture\\n")
        """
    )
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest("-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    # Each worker's line, once: in the result or on this test's descriptors, so that the
    # result and capfd together are everything the run's processes wrote.
    seen = "".join(capfd.readouterr()) + result.stdout.str() + result.stderr.str()
    assert seen.count("written by a worker outside capture") == 2


FROZEN = """
import gc
from pathlib import Path

def test_empathy(empathy_case, empathy_evaluate):
    empathy_evaluate(empathy_case)
    Path("frozen.txt").write_text(str(gc.get_freeze_count()))
"""


def test_a_run_freezes_what_it_collected_while_its_cases_run_and_gives_it_back(pytester):
    """The collected session is out of the garbage collector's sight while the cases run, and
    back in it once the session ends (the harness's check of what a run left fails otherwise)."""
    bot_project(pytester)
    pytester.makepyfile(test_empathy=FROZEN)
    result = pytester.runpytest(*BOT)
    result.assert_outcomes(passed=4)
    assert int((pytester.path / "frozen.txt").read_text()) > 1000
    assert gc.get_freeze_count() == 0
