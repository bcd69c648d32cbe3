"""The package as a team gets it: the sdist and the wheel that .ci/build makes (as CI and the
release workflow make them), every file of the source package in both, and the wheel installed
in a fresh virtualenv, running the README's first command and each ``pytest-empathy`` command
there, away from this checkout."""

from __future__ import annotations

import csv
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from pytest_empathy.crowd.sheets import attention_checks
from pytest_empathy.emotions import EMOTIONS

from .conftest import FAKE_KEY, ROOT, VERSION, require
from .test_crowd import crowd_answers, write_answers
from .test_workflow import line_of, staged_cassettes

SHIPPED_CASSETTES = ROOT / "cassettes" / "smollm2-135m"
# The README's second example, replayed as the model-CI workflow's shards replay.
SMOKE_REPLAY = [
    "pytest",
    "--pyargs",
    "pytest_empathy.plugin.benchmark",
    "--empathy-model=smollm2-135m",
    "--empathy-judge=smollm2-135m",
    "--empathy-corpus=smoke",
    "--empathy-baseline=human-raters",
    "--empathy-gate=off",
    "--empathy-record=none",
    "--empathy-shard",
]
Done = subprocess.CompletedProcess[str]


@dataclass(frozen=True)
class Built:
    sdist: Path
    wheel: Path


def made_once(tmp_path_factory: pytest.TempPathFactory, name: str, make: Callable[[Path], None]) -> Path:
    """The folder ``name``, filled by ``make`` once per test session: by the first xdist worker
    that asks for it, while the others wait."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the workers' temporary folders share this one
    folder, made = shared / name, shared / f"{name}.made"
    with (shared / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not made.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            make(folder)
            made.touch()
    return folder


def checked(command: list[str | Path], env: dict[str, str] | None = None) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{command}: {done.stdout[-3000:]}{done.stderr[-3000:]}"


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The sdist and the wheel of this checkout, by .ci/build."""
    require(shutil.which("git") is not None and (ROOT / ".git").exists(), "not a git checkout: .ci/build needs one")
    # .ci/build runs `python -m build` and twine: this interpreter's, which the test extra gives both.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    folder = made_once(
        tmp_path_factory, "dist", lambda out: checked([ROOT / ".ci" / "build", out], env={**os.environ, "PATH": path})
    )
    (sdist,) = folder.glob("*.tar.gz")
    (wheel,) = folder.glob("*.whl")
    return Built(sdist, wheel)


@pytest.fixture(scope="session")
def installed(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin folder of a fresh virtualenv holding the wheel and the dependencies it declares,
    resolved by pip from the wheel's metadata, at the versions this suite runs with (so that pip
    takes them from its cache). No pip of its own and no byte-compiling: both cost seconds that
    say nothing of the package."""

    def install(venv: Path) -> None:
        checked([sys.executable, "-m", "venv", "--without-pip", venv])
        frozen = subprocess.run(
            [sys.executable, "-m", "pip", "list", "--format=freeze", "--exclude-editable"],
            capture_output=True,
            text=True,
            check=True,
        )
        (venv / "suite-versions.txt").write_text(frozen.stdout)
        pip = [sys.executable, "-m", "pip", "--python", venv / "bin" / "python", "install", "--no-compile"]
        checked([*pip, "--constraint", venv / "suite-versions.txt", built.wheel])

    return made_once(tmp_path_factory, "venv", install) / "bin"


def package_files() -> set[str]:
    """Every file of the source package (tracked, or new and not ignored, as .ci/build copies
    them): what the package may read at run time, whatever its kind."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "pytest_empathy"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {name for name in listed.split("\0") if name and (ROOT / name).is_file()}


def scripts(sources: dict[str, str]) -> list[str]:
    """Of Python files by name, those run as a program (a ``__main__`` guard) but for the
    command's: a maintainer's script belongs outside the package."""
    guard = re.compile(r"^if __name__ == .__main__.:", re.M)
    return sorted(
        name for name, text in sources.items() if guard.search(text) and name != "pytest_empathy/cli/__main__.py"
    )


def test_the_package_holds_no_maintainer_script():
    sources = {name: (ROOT / name).read_text(encoding="utf-8") for name in package_files() if name.endswith(".py")}
    assert "pytest_empathy/cli/__main__.py" in sources and scripts(sources) == []


def test_the_sdist_and_the_wheel_hold_every_file_of_the_package(built):
    expected = package_files()
    assert {name for name in expected if not name.endswith(".py")}, "no data file listed"
    assert built.wheel.name == f"pytest_empathy-{VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(built.wheel) as wheel:
        in_wheel = set(wheel.namelist())
    assert sorted(expected - in_wheel) == []
    metadata = f"pytest_empathy-{VERSION}.dist-info/"
    assert sorted(name for name in in_wheel - expected if not name.startswith(metadata)) == []
    with zipfile.ZipFile(built.wheel) as wheel:
        assert scripts({name: wheel.read(name).decode() for name in in_wheel if name.endswith(".py")}) == []
    with tarfile.open(built.sdist) as sdist:
        in_sdist = {name.removeprefix(f"pytest_empathy-{VERSION}/") for name in sdist.getnames()}
    assert sorted(expected - in_sdist) == []


def in_venv(bin_folder: Path, command: str | list[str], cwd: Path) -> Done:
    """``command`` (a shell line, or words) run in ``cwd`` with the virtualenv first on PATH, as
    a shell where it is activated; nothing of this checkout on the module path."""
    env = {name: value for name, value in os.environ.items() if name not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{bin_folder}{os.pathsep}{env['PATH']}"
    words = ["bash", "--noprofile", "--norc", "-e", "-c", command] if isinstance(command, str) else command
    return subprocess.run(words, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False)


def readme_first_command() -> str:
    """The README's first command, after its two set-up steps (a virtualenv, ``pip install .``)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    line = re.search(r"```sh\n(.*)\n```", readme).group(1)
    make_venv, install, command = line.split(" && ")
    assert (make_venv, install) == ("python3.11 -m venv .venv", ".venv/bin/pip install .")
    return command


def test_the_installed_wheel_runs_the_readme_s_first_command_and_reports_its_result(installed, tmp_path):
    # `pip install .` builds the wheel and installs it: here the wheel .ci/build made is the `.venv`.
    (tmp_path / ".venv").symlink_to(installed.parent)
    imported = in_venv(installed, ["python", "-c", "import pytest_empathy; print(pytest_empathy.__file__)"], tmp_path)
    assert Path(imported.stdout.strip()).is_relative_to(installed.parent), imported.stdout + imported.stderr

    first = in_venv(installed, readme_first_command(), tmp_path)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert "2000 passed" in first.stdout.splitlines()[-1]
    result = json.loads((tmp_path / "empathy-report.json").read_text())
    # As the README says below the command, and the package's version as pyproject.toml names it.
    assert round(result["overall"]["good_gain_relative"], 3) == 0.313
    assert result["version"] == VERSION

    report = in_venv(
        installed,
        ["pytest-empathy", "report", "empathy-report.json", "--html", "r.html", "--markdown", "r.md", "--csv", "r.csv"],
        tmp_path,
    )
    assert report.returncode == 0, report.stderr
    assert report.stdout == "chatgpt-empathy: 2000 of 2000 cases rated, passed\n"
    assert (tmp_path / "r.html").read_text().startswith("<!doctype html>")
    assert "<img" in (tmp_path / "r.html").read_text()  # the plots, drawn by the installed matplotlib
    assert "chatgpt-empathy" in (tmp_path / "r.md").read_text()
    with (tmp_path / "r.csv").open(newline="", encoding="utf-8") as table:
        assert len(list(csv.DictReader(table))) == 2000


def test_each_pytest_empathy_command_runs_from_the_installed_wheel(installed, tmp_path):
    """The model-CI workflow's commands (replay in shards, merge, audit) and a crowd study's
    (export, import), on the cassettes that ship with the repository."""
    shutil.copytree(
        SHIPPED_CASSETTES, tmp_path / "cassettes" / "smollm2-135m", ignore=shutil.ignore_patterns("calibration")
    )
    halves = [" or ".join(EMOTIONS[:16]), " or ".join(EMOTIONS[16:])]
    for index, emotions in enumerate(halves):
        # --empathy-csv keeps the answers in the JSON result, which the crowd export reads.
        options = ["-k", emotions, f"--empathy-report=shard-{index}.json", f"--empathy-csv=shard-{index}.csv"]
        shard = in_venv(installed, [*SMOKE_REPLAY, *options], tmp_path)
        assert shard.returncode == 0, shard.stdout[-3000:] + shard.stderr[-3000:]
        assert "32 passed, 32 deselected" in shard.stdout.splitlines()[-1]

    merged = in_venv(
        installed, ["pytest-empathy", "merge", "shard-0.json", "shard-1.json", "-o", "merged.json"], tmp_path
    )
    assert merged.returncode == 0, merged.stderr
    assert merged.stdout == "smollm2-135m: 64 of 64 cases rated, passed\n"
    result = json.loads((tmp_path / "merged.json").read_text())
    assert result["complete"] and len({case["id"] for case in result["cases"]}) == 64

    cassettes = len(list((tmp_path / "cassettes").rglob("*.json")))
    clean = in_venv(installed, ["pytest-empathy", "audit-cassettes", "cassettes"], tmp_path)
    assert clean.returncode == 0
    assert clean.stdout == f"0 possible credential(s) in {cassettes} cassette(s) under cassettes\n"
    staged = tmp_path / "staged"
    _, leaky = staged_cassettes(staged)
    found = in_venv(installed, ["pytest-empathy", "audit-cassettes", str(leaky)], staged)
    assert found.returncode == 1
    assert found.stdout.splitlines()[0] == f"{leaky}: line {line_of(staged / leaky, FAKE_KEY)}: sk- style key"

    export = ["pytest-empathy", "crowd", "export", "--corpus", "smoke", "--result", "merged.json", "-o", "sheets"]
    exported = in_venv(installed, export, tmp_path)
    assert exported.returncode == 0, exported.stderr
    manifest = json.loads((tmp_path / "sheets" / "manifest.json").read_text())
    batches = len(manifest["batches"])
    # The smoke corpus's 64 answers in the 20 batches, one a rater, that --empathy-crowd needs.
    assert batches == 20
    assert exported.stdout.splitlines() == [
        "smollm2-135m: 64 answers and 20 attention checks in 20 batches: sheets/sheet.csv, sheets/manifest.json",
        "prediction-powered inference (--empathy-crowd) clusters its variance by rater, so it needs 20 raters or more "
        "and each emotion's crowd ratings from 2 or more of them: have each of these 20 batches rated by a rater of "
        "its own (20 raters, 64 ratings, each emotion's in 2 or more batches), and a batch whose rater an attention "
        "check drops rated again",
    ]
    with (tmp_path / "sheets" / "sheet.csv").open(newline="", encoding="utf-8") as sheet:
        checks = [row["response"] for row in csv.DictReader(sheet) if manifest["items"][row["item"]]["check"]]
    # The attention checks, read from the package's data, as this checkout holds them.
    assert len(checks) == batches and set(checks) <= {check.response for check in attention_checks()}

    rows, _ = crowd_answers(tmp_path, failing=-1, skipping=-1)
    write_answers(tmp_path / "answers.csv", rows)
    imported = in_venv(
        installed,
        ["pytest-empathy", "crowd", "import", "answers.csv", "--manifest", "sheets/manifest.json", "-o", "ratings.csv"],
        tmp_path,
    )
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.startswith(f"64 ratings of 64 cases by {batches} raters written to ratings.csv; ")
    with (tmp_path / "ratings.csv").open(newline="", encoding="utf-8") as ratings:
        assert len(list(csv.DictReader(ratings))) == 64
