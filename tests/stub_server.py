"""A small OpenAI-compatible chat server on 127.0.0.1 that injects faults on purpose.

It answers each request with the next scripted fault, if any, and otherwise with its
``answer`` (by default a short reply for a response request, ``Good`` for a judge request),
after ``latency`` seconds. Every request it sees is kept, headers included, for the tests to
inspect, and so is when each was served, for the performance benchmarks.
"""

from __future__ import annotations

import http.server
import json
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

Answer = tuple[int, dict[str, str], bytes]
JSON = {"content-type": "application/json"}


@dataclass(frozen=True)
class Drip:
    """A fault: the default answer sent a byte every ``every`` seconds, each read of the
    client well within its timeout while the whole takes far longer."""

    every: float


@dataclass(frozen=True)
class After:
    """A fault: ``answer`` sent once ``ready()`` holds (checked every 20 ms), or after
    ``within`` seconds if it never does; a test orders what the server sees without a sleep."""

    ready: Callable[[], bool]
    answer: Answer
    within: float = 60.0


def completion(content: str, finish_reason: str = "stop", choices: int = 1) -> bytes:
    return json.dumps(
        {
            "id": "chatcmpl-stub",
            "object": "chat.completion",
            "created": 0,
            "model": "stub",
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish_reason}
            ]
            * choices,
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        }
    ).encode()


def is_judge_request(body: dict[str, Any]) -> bool:
    return "Bad, Okay or Good" in body["messages"][0]["content"]


def default_answer(body: dict[str, Any]) -> Answer:
    content = "Good" if is_judge_request(body) else "That sounds really hard; I am here for you."
    return 200, JSON, completion(content)


@dataclass
class StubServer:
    url: str
    answer_of: Callable[[dict[str, Any]], Answer] = default_answer
    latency: float = 0.0
    # Faults to play, in order, for requests that match; None matches every request.
    script: list[tuple[Callable[[dict[str, Any]], bool] | None, Answer | Drip | After | float | str]] = field(
        default_factory=list
    )
    requests: list[tuple[dict[str, str], dict[str, Any]]] = field(default_factory=list)
    # When each request arrived, in time.monotonic() seconds: a test times a call from its
    # first attempt, not from the start of the process that makes it.
    arrivals: list[float] = field(default_factory=list)
    # (arrived, answered) per default answer, in time.monotonic() seconds
    served: list[tuple[float, float]] = field(default_factory=list)
    # When the client hung up on a dripping answer, in time.monotonic() seconds.
    hung_up: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def then(
        self, answer: Answer | Drip | After | float | str, when: Callable[[dict[str, Any]], bool] | None = None
    ) -> None:
        """Queue a fault: an (status, headers, body) answer, a delay in seconds before the
        default answer (a read time-out for a client with a shorter timeout), a Drip, an
        After, or "reset"."""
        self.script.append((when, answer))

    def answer(self, headers: dict[str, str], body: dict[str, Any]) -> Answer | Drip | None:
        arrived = time.monotonic()
        with self.lock:
            self.requests.append((headers, body))
            self.arrivals.append(arrived)
            for index, (when, scripted) in enumerate(self.script):
                if when is None or when(body):
                    del self.script[index]
                    answer = scripted
                    break
            else:
                answer = self.latency
        if answer == "reset":
            return None
        if isinstance(answer, Drip):
            return answer
        if isinstance(answer, After):
            ends = time.monotonic() + answer.within
            while not answer.ready() and time.monotonic() < ends:
                time.sleep(0.02)
            return answer.answer
        if isinstance(answer, float | int):
            time.sleep(answer)
            answered = self.answer_of(body)
            with self.lock:
                self.served.append((arrived, time.monotonic()))
            return answered
        return answer


@contextmanager
def stub_server(
    answer_of: Callable[[dict[str, Any]], Answer] = default_answer, latency: float = 0.0
) -> Iterator[StubServer]:
    stub: StubServer

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", 0))
            body = json.loads(self.rfile.read(length))
            answer = stub.answer(dict(self.headers.items()), body)
            if answer is None:
                # A reset: close at once with SO_LINGER 0, so the client gets an RST.
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True
                return
            if isinstance(answer, Drip):
                self._drip(stub.answer_of(body), answer.every)
                return
            status, headers, payload = answer
            head = [f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}", f"content-length: {len(payload)}"]
            head += [f"{name}: {value}" for name, value in headers.items()]
            # One send for the whole answer: no delayed-ACK stall between head and body.
            with suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode() + payload)

        def _drip(self, answer: Answer, every: float) -> None:
            status, headers, payload = answer
            head = [f"HTTP/1.1 {status} OK", f"content-length: {len(payload)}"]
            head += [f"{name}: {value}" for name, value in headers.items()]
            try:
                self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode())
                for byte in payload:
                    time.sleep(every)
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                with stub.lock:
                    stub.hung_up.append(time.monotonic())

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    stub = StubServer(f"http://127.0.0.1:{server.server_address[1]}/v1", answer_of, latency)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
