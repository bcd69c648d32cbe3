"""The performance suite: replay against bare pytest, recording against the latency limit,
the session-finish statistics and the controller's memory, in one table.

    python -m benchmarks.perf.suite [--runs 5] [--record-runs 3] [--live-runs 1] [--large-cases N]
                                    [--large-runs N] [--no-peers] [--promptfoo PATH]

Run it from the repository root. In a temporary directory (nothing it writes is kept) it
writes a 2,000-case corpus of synthetic text (32 emotions), records answer and rating
cassettes for it against a local stub OpenAI-compatible server (``tests/stub_server.py``),
and then measures, each figure the median of several runs:

(a) bare pytest on 2,000 trivial parametrized tests;
(b) replay of the 2,000 cases in one process; (c) the same on two xdist workers, against
    bare pytest on two workers (xdist alone, on 2,000 trivial tests, is slower than one
    process on a 2-core machine, so the target is what the plugin adds to xdist);
(d) recording with 200 ms of latency per call at -n 1, 4 and 16, in calls per second
    against the limit workers / latency, timed by the stub from the first call it receives to
    the last it answers (xdist hands out cases once every worker has collected, so this is
    the calling itself; the rate over the whole run, worker start-up included, is shown too);
(e) the statistics and gates computed at session finish for the 2,000 cases, in a fresh
    process, so that the import of what they compute with is included;
(f) the controller's peak resident memory during (b) and (c);
(g) recording all 2,000 cases (4,000 calls) with 200 ms of latency per call and 16 calls in
    flight: in one process with --empathy-concurrency 16, and on two workers with 8 each;
    the time from the first call to the last answer against the limit 4,000 x 0.2 s / 16
    = 50 s, and the peak memory of the whole process tree (workers included), sampled.
(h) a large corpus (--large-cases, 20,000 by default; the issue's size is 200,000) against
    bare pytest with as many parametrized tests: collecting it, then replaying it, time and
    peak memory, each at most 1.3 times bare pytest's (its first 320 cases are recorded, the
    others repeat their text and link to their cassettes);

Each pytest run is a fresh process, timed from start to exit, as a user would see it;
Python's bytecode is cached, in the temporary directory. (a), (b), (c) and bare pytest on two
workers run in turn, round after round, after one round that is not counted, and a ratio is
the median of the ratios within a round, so that a machine whose speed drifts (a shared one)
moves it less.

Then the peers' table (``benchmarks/perf/peers.py``): the same work in pytest-recording,
inspect_ai and promptfoo, live and cached, beside pytest-empathy and bare pytest; a peer
not installed is left out with a line saying how to install it. --no-peers leaves it out.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.perf import peers
from benchmarks.perf.measure import (
    Run,
    cache_bytecode,
    in_turn,
    machine,
    median,
    median_ratio,
    print_table,
    run_pytest,
    watched,
)
from benchmarks.perf.workload import (
    BENCHMARK,
    CASES,
    LATENCY,
    bare_module,
    benchmark_args,
    stub_answer,
    write_corpus,
    write_profile,
)
from pytest_empathy.cassettes.format import cassette_location
from pytest_empathy.corpus.reader import load_file
from pytest_empathy.emotions import EMOTIONS
from tests.stub_server import StubServer, stub_server

WORKER_COUNTS = (1, 4, 16)
LARGE = 20_000
# Cases of (h) recorded; the others repeat their text and their cassettes.
DISTINCT = 320


def record_throughput(work: Path, stub: StubServer, workers: int, runs: int) -> tuple[float, float, int]:
    """Median calls per second, as timed by the stub, and median wall seconds, of recording
    ``workers`` cases per emotion on ``workers`` workers into fresh cassettes."""
    rates, walls = [], []
    stub.latency = LATENCY
    for attempt in range(runs):
        stub.served.clear()
        run = run_pytest(
            work,
            *benchmark_args(
                "--empathy-record=once",
                f"--empathy-cassettes=recorded-{workers}-{attempt}",
                f"--empathy-sample={workers}",
                "--empathy-gate=off",
                "-n",
                str(workers),
            ),
            expect=f"{workers * len(EMOTIONS)} passed",
        )
        first = min(arrived for arrived, _ in stub.served)
        last = max(answered for _, answered in stub.served)
        rates.append(len(stub.served) / (last - first))
        walls.append(run.seconds)
    stub.latency = 0.0
    return statistics.median(rates), statistics.median(walls), len(stub.served)


LIVE_CALLS = 16
FRESH = itertools.count()
LIVE = {
    "one process": ("-p", "no:xdist", f"--empathy-concurrency={LIVE_CALLS}"),
    "-n 2": ("-n", "2", "--empathy-concurrency=8"),
}


def live_recording(work: Path, stub: StubServer, args: tuple[str, ...], runs: int) -> tuple[float, float, float]:
    """Median seconds from the first call to the last answer, as the stub times them, median
    wall seconds, and median peak memory of the process tree (MiB), of recording all cases
    into fresh cassettes with ``args``."""
    windows: list[float] = []
    walls: list[float] = []
    peaks: list[float] = []
    stub.latency = LATENCY
    for _ in range(runs):
        stub.served.clear()
        command = [sys.executable, "-m", "pytest", "-q", *benchmark_args("--empathy-record=once", "--empathy-gate=off")]
        run = watched([*command, f"--empathy-cassettes=live-{next(FRESH)}", *args], work, every=0.2)
        if f"{CASES} passed" not in run.output:
            raise SystemExit(f"recording with {' '.join(args)} did not pass every case:\n{run.output[-3000:]}")
        windows.append(max(answered for _, answered in stub.served) - min(arrived for arrived, _ in stub.served))
        walls.append(run.seconds)
        peaks.append(run.peak_mib)
    stub.latency = 0.0
    return statistics.median(windows), statistics.median(walls), statistics.median(peaks)


def large_corpus(tmp: Path, url: str, cases: int, runs: int) -> dict[str, list[Run]]:
    """``runs`` rounds of collecting ``cases`` cases and as many bare tests, then of replaying
    them and running the bare tests. Only the first ``DISTINCT`` cases are recorded; the
    others repeat their text, and their cassettes are links to those (recording 200,000
    cases would take the better part of an hour)."""
    work, bare = tmp / "large", tmp / "large-bare"
    work.mkdir()
    bare.mkdir()
    (work / "test_empathy.py").write_text(BENCHMARK)
    write_profile(work, url)
    (bare / "test_bare.py").write_text(bare_module(cases))
    write_corpus(work / "corpus.csv", DISTINCT, distinct=DISTINCT)
    run_pytest(work, *benchmark_args("--empathy-record=once", "-n", "2"), expect=f"{DISTINCT} passed")
    write_corpus(work / "corpus.csv", cases, distinct=DISTINCT)
    rows = load_file(work / "corpus.csv").rows
    [model] = (work / "cassettes").iterdir()
    for i in range(DISTINCT, cases):
        recorded = cassette_location(model.parent, model.name, rows[i % DISTINCT])
        os.link(recorded, cassette_location(model.parent, model.name, rows[i]))
    collected, passed = f": {cases}", f"{cases} passed"
    return in_turn(
        runs,
        {
            "bare collect": lambda: run_pytest(bare, "-q", "--collect-only", expect=collected),
            "collect": lambda: run_pytest(work, "-q", "--collect-only", *benchmark_args(), expect=collected),
            "bare": lambda: run_pytest(bare, expect=passed),
            # The gates would judge repeated text: the figure is what a replay costs.
            "replay": lambda: run_pytest(work, *benchmark_args("--empathy-gate=off"), expect=passed),
        },
    )


# At session finish the controller has the plugin imported and the cases collected; what the
# statistics cost there is the first decide() of a process, with what it imports.
FINISH = """
import json, sys, time
from pytest_empathy.analysis.gates import Completeness, decide
from pytest_empathy.settings import StatisticsSettings
from pytest_empathy.results.document import case_from_json
report = json.load(open(sys.argv[1]))
cases = [case_from_json(case) for case in report["cases"]]
completeness = Completeness(expected=len(cases), rated=len(cases))
timings = []
for _ in range(2):
    start = time.perf_counter()
    summary = decide(cases, completeness, StatisticsSettings.from_json(report["settings"]), None).summary
    timings.append(time.perf_counter() - start)
groups = [summary.overall, *summary.polarity.values(), *summary.emotions.values()]
print(*timings, sum(1 for g in groups if g.comparison.study.test == "exact"))
"""


def session_finish_seconds(report: Path, runs: int) -> tuple[float, float, int]:
    """Median seconds of the statistics and gates of a finished run in a fresh process, the
    first time (as at session finish) and again; and how many of its tests were exact."""
    firsts, agains = [], []
    exact = 0
    for _ in range(runs):
        done = subprocess.run([sys.executable, "-c", FINISH, str(report)], check=True, capture_output=True, text=True)
        first, again, exact_text = done.stdout.split()
        firsts.append(float(first))
        agains.append(float(again))
        exact = int(exact_text)
    return statistics.median(firsts), statistics.median(agains), exact


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per median of (a), (b), (c) and (e)")
    parser.add_argument("--record-runs", type=int, default=3, help="runs per median of (d)")
    parser.add_argument("--live-runs", type=int, default=1, help="runs per median of (g), about a minute each")
    parser.add_argument("--large-cases", type=int, default=LARGE, help="cases of (h) (200000: the issue's size)")
    parser.add_argument("--large-runs", type=int, help="runs per median of (h) (default: --runs; 200,000 take 8 min)")
    parser.add_argument("--no-peers", action="store_true", help="leave out the peers' table")
    parser.add_argument("--promptfoo", help="the promptfoo program, if it is not on PATH")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="empathy-perf-") as tmp, stub_server(stub_answer) as stub:
        cache_bytecode(Path(tmp))
        work, bare_dir = Path(tmp) / "benchmark", Path(tmp) / "bare"
        work.mkdir()
        bare_dir.mkdir()
        (work / "test_empathy.py").write_text(BENCHMARK)
        write_corpus(work / "corpus.csv")
        write_profile(work, stub.url)
        (bare_dir / "test_bare.py").write_text(bare_module(CASES))

        recorded = run_pytest(
            work,
            *benchmark_args("--empathy-record=once", "--empathy-report=recorded.json", "-n", "2"),
            expect=f"{CASES} passed",
        )
        report = json.loads((work / "recorded.json").read_text())
        print(
            f"recorded {len(stub.served)} calls of {CASES} cases against the stub in "
            f"{recorded.seconds:.1f} s; verdict {'passed' if report['passed'] else 'failed'}",
            flush=True,
        )

        passed = f"{CASES} passed"
        runs = in_turn(
            options.runs,
            {
                "bare": lambda: run_pytest(bare_dir, expect=passed),
                "replay": lambda: run_pytest(work, *benchmark_args(), expect=passed),
                # What xdist itself costs here: the floor under (c).
                "bare -n 2": lambda: run_pytest(bare_dir, "-n", "2", expect=passed),
                "replay -n 2": lambda: run_pytest(work, *benchmark_args("-n", "2"), expect=passed),
            },
        )
        finish, finish_again, exact = session_finish_seconds(work / "recorded.json", options.runs)
        recording = {w: record_throughput(work, stub, w, options.record_runs) for w in WORKER_COUNTS}
        live = {name: live_recording(work, stub, args, options.live_runs) for name, args in LIVE.items()}
        large = large_corpus(Path(tmp), stub.url, options.large_cases, options.large_runs or options.runs)

    def verdict(met: bool) -> str:
        return "met" if met else "MISSED"

    replay_ratio = median_ratio(runs["replay"], runs["bare"])
    parallel_ratio = median_ratio(runs["replay -n 2"], runs["bare -n 2"])
    rows = [
        ("(a) bare pytest, 2,000 tests", f"{median(runs['bare']):.2f} s", "", ""),
        (
            "(b) replay, 2,000 cases",
            f"{median(runs['replay']):.2f} s",
            f"(b)/(a) = {replay_ratio:.2f}, target <= 1.3",
            verdict(replay_ratio <= 1.3),
        ),
        ("    bare pytest, 2,000 tests, -n 2", f"{median(runs['bare -n 2']):.2f} s", "xdist alone", ""),
        (
            "(c) replay, -n 2",
            f"{median(runs['replay -n 2']):.2f} s",
            f"(c)/(bare -n 2) = {parallel_ratio:.2f}, target <= 1.2",
            verdict(parallel_ratio <= 1.2),
        ),
    ]
    for workers, (rate, wall, calls) in recording.items():
        limit = workers / LATENCY
        rows.append(
            (
                f"(d) record -n {workers}, {calls} calls",
                f"{rate:.1f} calls/s",
                f"{rate / limit:.0%} of {limit:g}/s, target >= 80% (whole run {wall:.1f} s: {calls / wall:.1f}/s)",
                verdict(rate / limit >= 0.8),
            )
        )
    rows += [
        (
            f"(e) statistics and gates ({exact} exact tests)",
            f"{finish * 1000:.0f} ms",
            f"imports included ({finish_again * 1000:.0f} ms without), target < 200 ms",
            verdict(finish < 0.2),
        ),
    ]
    for name in ("replay", "replay -n 2"):
        peak = statistics.median(r.peak_mib for r in runs[name])
        rows.append(
            (f"(f) controller peak, {name}", f"{peak:.0f} MiB", "target < 150 MB", verdict(peak * 1.048576 < 150))
        )
    limit = 2 * CASES * LATENCY / LIVE_CALLS
    for name, (window, wall, peak) in live.items():
        rows.append(
            (
                f"(g) record {2 * CASES} calls, {LIVE_CALLS} in flight, {name}",
                f"{window:.1f} s",
                f"{limit / window:.0%} of the limit {limit:g} s, target >= 95% (whole run {wall:.1f} s)",
                verdict(limit / window >= 0.95),
            )
        )
        rows.append(
            (
                f"    process tree peak, {name}",
                f"{peak:.0f} MiB",
                "target <= 450 MiB (2x inspect_ai's 223)",
                verdict(peak <= 450),
            )
        )
    cases = options.large_cases
    for name, bare_name in (("collect", "bare collect"), ("replay", "bare")):
        for measure, unit in (("seconds", "s"), ("peak_mib", "MiB")):
            ratio = statistics.median(
                getattr(a, measure) / getattr(b, measure) for a, b in zip(large[name], large[bare_name], strict=True)
            )
            figure = statistics.median(getattr(r, measure) for r in large[name])
            bare_figure = statistics.median(getattr(r, measure) for r in large[bare_name])
            rows.append(
                (
                    f"(h) {name} {cases:,} cases, {'time' if unit == 's' else 'memory'}",
                    f"{figure:.1f} {unit}",
                    f"{ratio:.2f}x bare pytest's {bare_figure:.1f} {unit}, target <= 1.3",
                    verdict(ratio <= 1.3),
                )
            )
    print(
        f"\nmedians of {options.runs} runs ((d): {options.record_runs}, (g): {options.live_runs}), "
        f"ratios within a round; machine: {machine()}"
    )
    print_table(rows)
    if not options.no_peers:
        print(flush=True)
        peers.compare(options.runs, options.live_runs, options.promptfoo)


if __name__ == "__main__":
    main()
