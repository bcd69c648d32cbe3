"""Replay cost per case and record throughput with the local llama.cpp server.

    python benchmarks/perf/record_replay.py [--emotions 16] [--runs 3]

In a temporary directory (nothing it writes is kept): records the smoke corpus's cases of the
first N emotions with SmolLM2-135M as responder and judge (the plugin starts the server),
then replays them several times, and runs as many trivial parametrized tests for reference.
Prints medians: record seconds per case and calls per second; replay of all and of half the
cases, whose difference is the marginal replay cost of a case; bare pytest for reference.
Needs the ``local`` extra.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCHMARK = (Path(__file__).parents[1] / "test_empathy.py").read_text()
EMOTIONS = (
    "afraid",
    "angry",
    "annoyed",
    "anticipating",
    "anxious",
    "apprehensive",
    "ashamed",
    "caring",
    "confident",
    "content",
    "devastated",
    "disappointed",
    "disgusted",
    "embarrassed",
    "excited",
    "faithful",
)


def pytest(directory: Path, *args: str) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=directory,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"pytest failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emotions", type=int, default=16, help="how many emotions (2 cases each)")
    parser.add_argument("--runs", type=int, default=3, help="replay runs to take the median of")
    options = parser.parse_args()
    emotions = ",".join(EMOTIONS[: options.emotions])
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "test_empathy.py").write_text(BENCHMARK)
        args = [
            "--empathy-model=smollm2-135m",
            "--empathy-judge=smollm2-135m",
            "--empathy-corpus=smoke",
            "--empathy-baseline=human-raters",
            f"--empathy-emotions={emotions}",
            "--empathy-gate=off",
            "--empathy-report=report.json",
        ]
        record = pytest(work, *args, "--empathy-record=once")
        cases = len(json.loads((work / "report.json").read_text())["cases"])
        calls = sum(len(json.loads(path.read_text())["interactions"]) for path in (work / "cassettes").rglob("*.json"))
        replay = statistics.median(pytest(work, *args) for _ in range(options.runs))
        # Half the cases: the difference is the marginal cost of a case, free of start-up.
        half = ",".join(EMOTIONS[: options.emotions // 2])
        half_args = [a if not a.startswith("--empathy-emotions=") else f"--empathy-emotions={half}" for a in args]
        replay_half = statistics.median(pytest(work, *half_args) for _ in range(options.runs))
        bare_dir = work / "bare"
        bare_dir.mkdir()
        (bare_dir / "test_bare.py").write_text(
            f"import pytest\n\n@pytest.mark.parametrize('i', range({cases}))\ndef test_bare(i):\n    assert i >= 0\n"
        )
        bare = statistics.median(pytest(bare_dir) for _ in range(options.runs))
    print(f"cases                       {cases}")
    print(f"model calls recorded        {calls}")
    print(f"record, server start incl.  {record:8.2f} s  ({record / cases:.2f} s/case, {calls / record:.2f} calls/s)")
    print(f"replay, median of {options.runs}         {replay:8.2f} s")
    print(f"bare pytest, median of {options.runs}    {bare:8.2f} s")
    half_cases = 2 * (options.emotions // 2)
    print(f"replay of {half_cases}, median        {replay_half:8.2f} s")
    print(f"replay cost per case        {1000 * (replay - replay_half) / (cases - half_cases):8.2f} ms/case (marginal)")


if __name__ == "__main__":
    main()
