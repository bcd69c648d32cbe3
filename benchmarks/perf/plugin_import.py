"""What the installed plugin costs a pytest run that never passes --empathy-model.

    python -m benchmarks.perf.plugin_import [--runs 21]

Two figures, each the median over the runs:

- the import of ``pytest_empathy.plugin`` after pytest itself, from ``python -X importtime``
  (what the plugin's own modules add, pytest's already counted);
- a whole ``pytest`` run of one trivial test, with the plugin and with ``-p no:empathy``,
  in turn, as a user would time it (the difference is the plugin's share: its imports, its
  options, its hooks).

Bytecode is cached in a temporary directory, as in a normal installation.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def import_microseconds(folder: Path, environment: dict[str, str]) -> int:
    code = "import pytest, argparse; import pytest_empathy.plugin"
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        cwd=folder,
        capture_output=True,
        text=True,
        env=environment,
        check=True,
    )
    match = re.search(r"\|\s*(\d+) \| pytest_empathy\.plugin$", done.stderr, re.MULTILINE)
    assert match, done.stderr[-500:]
    return int(match.group(1))


def pytest_seconds(folder: Path, environment: dict[str, str], *extra: str) -> float:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra, "test_one.py"]
    start = time.perf_counter()
    subprocess.run(command, cwd=folder, capture_output=True, env=environment, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        (folder / "test_one.py").write_text("def test_one():\n    assert True\n")
        environment = os.environ | {"PYTHONPYCACHEPREFIX": str(folder / "pycache")}
        environment.pop("PYTHONDONTWRITEBYTECODE", None)
        imports = [import_microseconds(folder, environment) for _ in range(options.runs)]
        pytest_seconds(folder, environment)  # warm the bytecode cache
        pytest_seconds(folder, environment, "-p", "no:empathy")
        with_plugin, without = [], []
        for _ in range(options.runs):
            with_plugin.append(pytest_seconds(folder, environment))
            without.append(pytest_seconds(folder, environment, "-p", "no:empathy"))
    added = [a - b for a, b in zip(with_plugin, without, strict=True)]
    print(f"import of pytest_empathy.plugin after pytest: {statistics.median(imports) / 1000:.1f} ms")
    print(
        f"pytest run of one test: {statistics.median(with_plugin) * 1000:.0f} ms with the plugin, "
        f"{statistics.median(without) * 1000:.0f} ms without; added {statistics.median(added) * 1000:+.0f} ms "
        f"(median of {options.runs} paired runs)"
    )


if __name__ == "__main__":
    main()
