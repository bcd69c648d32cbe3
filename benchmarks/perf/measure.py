"""Timing and memory of whole processes, as a user would see them, and the medians taken of
them."""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

# Runs pytest in this process, so that its peak memory is the controller's, and reports it.
RUNNER = (
    "import resource, sys, pytest\n"
    "code = pytest.main(sys.argv[1:])\n"
    "print('peak-rss-kib', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(code)\n"
)


@dataclass
class Run:
    seconds: float
    peak_mib: float
    output: str
    # When it started and ended, in time.monotonic() seconds (the stub's clock), and the CPU
    # seconds of its whole tree; known of watched() runs only.
    started: float = 0.0
    ended: float = 0.0
    cpu: float = 0.0


def cache_bytecode(folder: Path) -> None:
    """Bytecode cached (under ``folder``) as on any machine where Python can write it: a run
    that compiled every module would time the compiler, bare or not."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(folder / "pycache")


def run_pytest(directory: Path, *args: str, expect: str) -> Run:
    """One pytest process; fails the benchmark unless its summary line says ``expect``. Its
    peak memory is the pytest process's own (the controller's, under xdist)."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, "-q", *args], check=False, cwd=directory, capture_output=True, text=True
    )
    seconds = time.perf_counter() - start
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    if done.returncode != 0 or expect not in summary:
        raise SystemExit(
            f"pytest {' '.join(args)} in {directory} did not end in {expect!r} "
            f"(exit {done.returncode}):\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
        )
    peak = [line for line in done.stderr.splitlines() if line.startswith("peak-rss-kib ")]
    return Run(seconds, int(peak[-1].split()[1]) / 1024, done.stdout)


def watched(command: Sequence[str], directory: Path, env: dict[str, str] | None = None, every: float = 0.1) -> Run:
    """One process, timed from start to exit, with the peak resident memory of its whole
    tree (children included: xdist workers, a Node.js tool's helpers) sampled every
    ``every`` seconds. Fails the benchmark if it exits non-zero."""
    before = _children_cpu()
    # Output to a file, not a pipe, which a chatty tool would fill while nothing reads it.
    with tempfile.TemporaryFile("w+") as out:
        started = time.monotonic()
        process = subprocess.Popen(list(command), cwd=directory, env=env, stdout=out, stderr=subprocess.STDOUT)
        peak = 0.0
        while process.poll() is None:
            peak = max(peak, tree_mib(process.pid))
            time.sleep(every)
        ended = time.monotonic()
        out.seek(0)
        output = out.read()
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} in {directory} failed (exit {process.returncode}):\n{output[-3000:]}")
    return Run(ended - started, peak, output, started, ended, _children_cpu() - before)


def _children_cpu() -> float:
    """CPU seconds of the children waited for, and of theirs (xdist workers, for one)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def tree_mib(root: int) -> float:
    """Resident memory of a process and its descendants, in MiB, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parent = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    return total / 2**20


def in_turn(runs: int, measures: dict[str, Callable[[], Run]]) -> dict[str, list[Run]]:
    """``runs`` rounds of every measure, one after the other (a b c d a b c d ...), after one
    round not counted: a ratio of two measures is then taken within a round, so that the
    machine's speed drifting between rounds does not move it."""
    for measure in measures.values():
        measure()
    rounds: dict[str, list[Run]] = {name: [] for name in measures}
    for _ in range(runs):
        for name, measure in measures.items():
            rounds[name].append(measure())
    return rounds


def median(runs: list[Run]) -> float:
    return statistics.median(r.seconds for r in runs)


def median_ratio(top: list[Run], bottom: list[Run]) -> float:
    return statistics.median(a.seconds / b.seconds for a, b in zip(top, bottom, strict=True))


def print_table(rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def machine() -> str:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return f"{cpus} cpus, Python {sys.version.split()[0]}"
