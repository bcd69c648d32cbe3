"""The package's layers, checked in fresh interpreters: which libraries each part loads.

ruff's banned-api rule keeps ``import pytest`` inside ``pytest_empathy/plugin/`` by text; this
checks what really gets loaded, transitive imports included.
"""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from .conftest import BENCHMARK, ROOT

PACKAGE = Path(__file__).parents[1] / "pytest_empathy"
PYTEST = ("pytest", "_pytest")
HEAVY = ("openai", "vcr", "scipy", "numpy", "pandas", "matplotlib")
NETWORK = ("urllib.request", "http.client", "ssl")

# module -> what importing it must not load
RULES = {
    # Loaded by every pytest run of every project that has the plugin installed.
    "pytest_empathy.plugin": (*HEAVY, *NETWORK),
    # The pytest-empathy command: reports, merges and audits without pytest.
    "pytest_empathy.cli": (*PYTEST, *HEAVY, *NETWORK),
    "pytest_empathy.evaluation.merge": (*PYTEST, "openai", "vcr", "pandas", "matplotlib", *NETWORK),
    # A replay answers from cassettes: no vcrpy, no openai client, no HTTP.
    "pytest_empathy.cassettes.replayer": (*PYTEST, "openai", "vcr", "scipy", "numpy", *NETWORK),
    "pytest_empathy.models.endpoint": (*PYTEST, "openai", "vcr", "scipy"),
    # Statistics import scipy only when a test runs.
    "pytest_empathy.analysis.gates": (*PYTEST, "openai", "vcr", "scipy", "pandas", "matplotlib", *NETWORK),
    "pytest_empathy.corpus.named": (*PYTEST, *HEAVY, *NETWORK),
    "pytest_empathy.reports.registry": (*PYTEST, *HEAVY, *NETWORK),
}


def modules() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if "data" in parts:
            continue
        found.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return found


def loaded_by(module: str) -> set[str]:
    """The modules a fresh interpreter has loaded once ``module`` is imported."""
    code = f"import sys, json; import {module}; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(json.loads(done.stdout))


@pytest.fixture(scope="module")
def loaded() -> dict[str, set[str]]:
    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(modules(), pool.map(loaded_by, modules()), strict=True))


def test_only_the_plugin_package_loads_pytest(loaded):
    offenders = {m for m, found in loaded.items() if "pytest" in found and not m.startswith("pytest_empathy.plugin")}
    assert offenders == set()


@pytest.mark.parametrize("module", list(RULES))
def test_each_entry_point_loads_only_its_layer(loaded, module):
    found = loaded[module]
    assert [name for name in RULES[module] if name in found] == []


def test_the_rules_watch_modules_that_exist(loaded):
    assert set(RULES) <= set(loaded)
    # The check itself can fail: the recorder does load vcrpy.
    assert "vcr" in loaded["pytest_empathy.cassettes.recorder"]


SESSION = """
import json, sys, pytest
code = pytest.main(sys.argv[1:])
print("LOADED " + json.dumps(sorted(sys.modules)), "EXIT", int(code))
"""


@pytest.mark.parametrize(("record", "loads_recorder"), [("none", False), ("once", True)])
def test_a_replay_loads_neither_vcrpy_nor_the_openai_client(tmp_path, record, loads_recorder):
    """A whole session replaying the shipped cassettes: no vcrpy and no openai client (their
    imports were a third of a replay's start-up); recording, even with nothing left to record,
    loads both, which shows the check can fail."""
    (tmp_path / "test_empathy.py").write_text(BENCHMARK)
    args = [
        "--empathy-model=smollm2-135m",
        "--empathy-judge=smollm2-135m",
        "--empathy-corpus=smoke",
        "--empathy-emotions=joyful,afraid",
        "--empathy-baseline=human-raters",
        f"--empathy-cassettes={ROOT / 'cassettes'}",
        f"--empathy-record={record}",
        "--empathy-gate=off",
        "-q",
        "-p",
        "no:cacheprovider",
    ]
    done = subprocess.run([sys.executable, "-c", SESSION, *args], cwd=tmp_path, capture_output=True, text=True)
    last = done.stdout.splitlines()[-1]
    assert last.startswith("LOADED ") and last.endswith("EXIT 0"), done.stdout[-2000:] + done.stderr[-2000:]
    found = set(json.loads(last.removeprefix("LOADED ").rsplit(" EXIT", 1)[0]))
    assert {"vcr" in found, "openai" in found} == {loads_recorder}
