"""The peers side by side: the same 2,000 cases x 2 calls (an answer, then a judge's rating of
it) in pytest-empathy, in plain pytest-recording + vcrpy + openai, in inspect_ai and in
promptfoo, first live against the stub server, then again from what each kept, offline.

    python -m benchmarks.perf.peers [--runs 3] [--live-runs 1] [--promptfoo PATH]

Live: 200 ms of latency per call and 16 calls in flight (pytest-empathy in one process with
``--empathy-concurrency 16``, and on 16 xdist workers as pytest-recording runs, having no
concurrency of its own; inspect_ai with 16 connections and samples; promptfoo with ``-j
16``), timed from start to exit and split into the time before the first call, the calls
(from the first call to the last answer, as the stub saw them) and the time after, with the
CPU seconds and the peak memory of the whole process tree. Offline: the stub stopped, each
tool re-run from its cassettes or cache (the pytest tools in one process), taking turns with
bare pytest on as many trivial tests, round after round; a ratio is the median of the ratios
within a round. A run that does not answer and rate every case, that makes other than 4,000
calls live, or that calls out during the re-run, fails the benchmark.

Every tool is given the same prompts (pytest-empathy's response template and judge rubric)
and the same synthetic corpus, each row's text its own so that no cache serves a repeat on
the first run. promptfoo's llm-rubric wraps the rubric in its own grading prompt and asks for
a JSON object; the stub answers it with one, with the same rating. A peer that is not
installed is left out with a line saying how to install it.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from benchmarks.perf.measure import Run, cache_bytecode, in_turn, machine, median, median_ratio, print_table, watched
from benchmarks.perf.workload import (
    BENCHMARK,
    CASES,
    LATENCY,
    bare_module,
    benchmark_args,
    rating_of,
    stub_answer,
    write_corpus,
    write_profile,
)
from pytest_empathy.models.templates import judge_rubric, response_template
from tests.stub_server import JSON, Answer, completion, stub_server

IN_FLIGHT = 16
PROGRAMS = Path(__file__).parent / "peer_programs"
PROMPTFOO_VERSION = "0.121"


@dataclass(frozen=True)
class Peer:
    name: str
    # Why it cannot run here, with how to install it; None when it can.
    missing: Callable[[], str | None]
    # Writes what it runs into its folder, given the stub's URL.
    prepare: Callable[[Path, str], None]
    live: Callable[[], list[str]]
    rerun: Callable[[], list[str]]
    # Whether a run's output shows every case answered and rated.
    complete: Callable[[Path, Run], bool]
    version: Callable[[], str]
    # How it was run, for the table.
    how: str = ""

    @property
    def key(self) -> str:
        return f"{self.name} {self.how}"

    def label(self) -> str:
        return " ".join(part for part in (self.name, self.version(), self.how) if part)


def pytest_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args]


def pytest_passed(folder: Path, run: Run) -> bool:
    lines = run.output.strip().splitlines()
    return bool(lines) and lines[-1].startswith(f"{CASES} passed") and "failed" not in lines[-1]


def nothing_missing() -> str | None:
    return None


def module_missing(module: str, package: str) -> Callable[[], str | None]:
    def missing() -> str | None:
        if importlib.util.find_spec(module) is None:
            return f"{package} is not installed: pip install -e '.[peers]' installs the Python peers"
        return None

    return missing


def empathy_prepare(folder: Path, url: str) -> None:
    (folder / "test_empathy.py").write_text(BENCHMARK)
    write_profile(folder, url)


def empathy_peer(how: str, *live: str) -> Peer:
    return Peer(
        "pytest-empathy",
        nothing_missing,
        empathy_prepare,
        lambda: pytest_command(*benchmark_args("--empathy-record=once", "--empathy-gate=off", *live)),
        lambda: pytest_command(*benchmark_args(), "-p", "no:xdist"),
        pytest_passed,
        lambda: importlib.metadata.version("pytest-empathy"),
        how,
    )


EMPATHY = empathy_peer(
    f"(one process, --empathy-concurrency {IN_FLIGHT})", "-p", "no:xdist", f"--empathy-concurrency={IN_FLIGHT}"
)
# As pytest-recording runs, for the two to be compared like with like.
EMPATHY_WORKERS = empathy_peer(f"(-n {IN_FLIGHT} live, one process offline)", "-n", str(IN_FLIGHT))


def vcrpy_prepare(folder: Path, url: str) -> None:
    shutil.copy(PROGRAMS / "vcrpy_peer.py", folder / "test_peer.py")
    # Made ahead: vcrpy makes a cassette's folder without exist_ok, and 16 workers saving
    # their first cassettes at once race for it (FileExistsError).
    (folder / "cassettes" / "test_peer").mkdir(parents=True, exist_ok=True)


VCRPY = Peer(
    "pytest-recording",
    module_missing("pytest_recording", "pytest-recording"),
    vcrpy_prepare,
    lambda: pytest_command("-p", "no:empathy", "--record-mode=once", "-n", str(IN_FLIGHT), "test_peer.py"),
    lambda: pytest_command("-p", "no:empathy", "--record-mode=none", "-p", "no:xdist", "test_peer.py"),
    pytest_passed,
    lambda: " + ".join(
        [importlib.metadata.version("pytest-recording")]
        + [f"{name} {importlib.metadata.version(name)}" for name in ("vcrpy", "openai")]
    ),
    f"(-n {IN_FLIGHT} live, one process offline)",
)


def nothing_to_prepare(folder: Path, url: str) -> None:
    pass


BARE = Peer(
    "bare pytest",
    nothing_missing,
    nothing_to_prepare,
    lambda: pytest_command(),
    lambda: pytest_command(),
    pytest_passed,
    lambda: importlib.metadata.version("pytest"),
    f"({CASES:,} trivial tests)",
)


def inspect_prepare(folder: Path, url: str) -> None:
    shutil.copy(PROGRAMS / "inspect_peer.py", folder / "inspect_peer.py")


def inspect_command() -> list[str]:
    return [sys.executable, "inspect_peer.py", str(IN_FLIGHT)]


def inspect_complete(folder: Path, run: Run) -> bool:
    return f"success, {CASES} of {CASES} samples answered and rated" in run.output


INSPECT = Peer(
    "inspect_ai",
    module_missing("inspect_ai", "inspect_ai"),
    inspect_prepare,
    inspect_command,
    inspect_command,
    inspect_complete,
    lambda: importlib.metadata.version("inspect_ai"),
    f"(--max-connections {IN_FLIGHT}, cache)",
)


def promptfoo_program(path: str | None) -> str | None:
    return path or shutil.which("promptfoo")


def promptfoo_peer(path: str | None) -> Peer:
    def missing() -> str | None:
        if promptfoo_program(path):
            return None
        if shutil.which("npm") is None:
            return "promptfoo is not installed, nor Node.js: install Node.js 20 or newer, then promptfoo"
        return f"promptfoo is not installed: npm install -g promptfoo@{PROMPTFOO_VERSION}, or --promptfoo PATH"

    def command() -> list[str]:
        program = promptfoo_program(path) or "promptfoo"
        return [program, "eval", "-c", "promptfooconfig.json", "-j", str(IN_FLIGHT), "--no-progress-bar", "--no-table"]

    def version() -> str:
        program = promptfoo_program(path) or "promptfoo"
        done = subprocess.run([program, "--version"], capture_output=True, text=True, check=True)
        return done.stdout.split()[0]

    return Peer(
        "promptfoo",
        missing,
        promptfoo_prepare,
        command,
        command,
        promptfoo_complete,
        version,
        f"(-j {IN_FLIGHT}, disk cache)",
    )


def promptfoo_prepare(folder: Path, url: str) -> None:
    def provider(model: str) -> dict[str, Any]:
        return {"id": f"openai:chat:{model}", "config": {"apiBaseUrl": url, "apiKey": "stub"}}

    rubric = nunjucks(judge_rubric().text).replace("{response}", "the output above")
    config = {
        "prompts": [nunjucks(response_template().text)],
        "providers": [provider("stub-model")],
        "defaultTest": {
            "options": {"provider": provider("stub-judge")},
            "assert": [{"type": "llm-rubric", "value": rubric}],
        },
        "tests": "file://corpus.csv",
        "outputPath": "results.json",
    }
    (folder / "promptfooconfig.json").write_text(json.dumps(config, indent=1))


def nunjucks(template: str) -> str:
    for name in ("situation", "utterance"):
        template = template.replace("{" + name + "}", "{{" + name + "}}")
    return template


def promptfoo_complete(folder: Path, run: Run) -> bool:
    stats = json.loads((folder / "results.json").read_text())["results"]["stats"]
    return bool(stats["successes"] == CASES and stats["errors"] == 0 and stats["failures"] == 0)


def peer_answer(body: dict[str, Any]) -> Answer:
    """The suite's answers, and promptfoo's grading prompt (which asks for a JSON object, the
    rubric in its last message) answered with the same rating in one."""
    if "JSON object" in body["messages"][0]["content"]:
        rating = rating_of(body["messages"][-1]["content"])
        return 200, JSON, completion(json.dumps({"reason": rating, "pass": True, "score": 1.0}))
    return stub_answer(body)


def environment(folder: Path, url: str) -> dict[str, str]:
    """Each tool's caches and settings kept in its own folder, and no call leaves the machine."""
    return {
        **os.environ,
        "OPENAI_API_KEY": "stub",
        "PEER_BASE_URL": url,
        "INSPECT_CACHE_DIR": str(folder / "inspect-cache"),
        "PROMPTFOO_CACHE_PATH": str(folder / "promptfoo-cache"),
        "PROMPTFOO_CONFIG_DIR": str(folder / "promptfoo-config"),
        "PROMPTFOO_DISABLE_TELEMETRY": "1",
        "PROMPTFOO_DISABLE_UPDATE": "1",
        "PROMPTFOO_DISABLE_SHARING": "1",
    }


@dataclass
class Live:
    run: Run
    # The first call's arrival and the last answer, as the stub timed them.
    first: float
    last: float

    @property
    def window(self) -> float:
        return self.last - self.first


def compare(runs: int, live_runs: int, promptfoo: str | None) -> None:
    """Runs every installed peer live, then offline in turn with bare pytest, and prints the table."""
    peers = []
    for peer in (EMPATHY, EMPATHY_WORKERS, VCRPY, INSPECT, promptfoo_peer(promptfoo)):
        why = peer.missing()
        if why:
            print(f"left out: {why}", flush=True)
        else:
            peers.append(peer)
    with tempfile.TemporaryDirectory(prefix="empathy-peers-") as tmp:
        cache_bytecode(Path(tmp))
        folders = {peer.key: Path(tmp) / str(i) for i, peer in enumerate(peers)}
        bare = Path(tmp) / "bare"
        bare.mkdir()
        (bare / "test_bare.py").write_text(bare_module(CASES))
        live: dict[str, list[Live]] = {}
        with stub_server(peer_answer, LATENCY) as stub:
            url = stub.url
            for peer in peers:
                folder = folders[peer.key]
                folder.mkdir()
                write_corpus(folder / "corpus.csv")
                (folder / "prompts.json").write_text(
                    json.dumps({"response": response_template().text, "judge": judge_rubric().text})
                )
            for _ in range(live_runs):
                for peer in peers:
                    folder = folders[peer.key]
                    # A live run starts from nothing kept: the re-run is timed on the last one's.
                    for kept in ("cassettes", "inspect-cache", "promptfoo-cache", "logs"):
                        shutil.rmtree(folder / kept, ignore_errors=True)
                    peer.prepare(folder, url)
                    stub.served.clear()
                    run = checked(peer, folder, peer.live(), url)
                    if len(stub.served) != 2 * CASES:
                        raise SystemExit(f"{peer.key}: {len(stub.served)} calls live, not {2 * CASES}")
                    first, last = min(arrived for arrived, _ in stub.served), max(done for _, done in stub.served)
                    live.setdefault(peer.key, []).append(Live(run, first, last))
                    print(f"{peer.key}: live {run.seconds:.1f} s, {len(stub.served)} calls", flush=True)
        # The stub is stopped: a call now fails the tool's run, and so the benchmark.
        measures: dict[str, Callable[[], Run]] = {"bare pytest": partial(checked, BARE, bare, BARE.rerun(), url)}
        for peer in peers:
            measures[peer.key] = partial(checked, peer, folders[peer.key], peer.rerun(), url)
        offline = in_turn(runs, measures)

    limit = 2 * CASES * LATENCY / IN_FLIGHT
    rows = [
        (
            "tool",
            f"live, {LATENCY * 1000:.0f} ms, {IN_FLIGHT} in flight: start, calls, end",
            "offline re-run",
            "re-run / bare",
            "memory, live / re-run",
        )
    ]
    bare_peak = statistics.median(r.peak_mib for r in offline["bare pytest"])
    rows.append(
        (
            "bare pytest, 2,000 trivial tests",
            "-",
            f"{median(offline['bare pytest']):.2f} s",
            "1.00",
            f"- / {bare_peak:.0f} MiB",
        )
    )
    for peer in peers:
        lives = live[peer.key]
        wall = statistics.median(entry.run.seconds for entry in lives)
        window = statistics.median(entry.window for entry in lives)
        before = statistics.median(entry.first - entry.run.started for entry in lives)
        after = statistics.median(entry.run.ended - entry.last for entry in lives)
        cpu = statistics.median(entry.run.cpu for entry in lives)
        live_peak = statistics.median(entry.run.peak_mib for entry in lives)
        rerun_peak = statistics.median(r.peak_mib for r in offline[peer.key])
        rows.append(
            (
                peer.label(),
                f"{wall:.1f} s: {before:.1f} + calls {window:.1f} + {after:.1f} s; CPU {cpu:.0f} s",
                f"{median(offline[peer.key]):.2f} s",
                f"{median_ratio(offline[peer.key], offline['bare pytest']):.2f}",
                f"{live_peak:.0f} MiB / {rerun_peak:.0f} MiB",
            )
        )
    print(
        f"\npeers: {CASES:,} cases x 2 calls; the calls' limit is {limit:g} s; medians of {live_runs} live "
        f"and {runs} offline runs, memory of the process tree; machine: {machine()}"
    )
    print_table(rows)


def checked(peer: Peer, folder: Path, command: list[str], url: str) -> Run:
    run = watched(command, folder, environment(folder, url))
    if not peer.complete(folder, run):
        raise SystemExit(f"{peer.key}: {' '.join(command)} did not answer and rate every case:\n{run.output[-3000:]}")
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="offline re-runs per median")
    parser.add_argument("--live-runs", type=int, default=1, help="live runs per median, a minute or more each")
    parser.add_argument("--promptfoo", help="the promptfoo program, if it is not on PATH")
    options = parser.parse_args()
    compare(options.runs, options.live_runs, options.promptfoo)


if __name__ == "__main__":
    main()
