"""A run's circuit breaker: after a number of failed calls in a row to one endpoint, its
remaining calls fail at once instead of each waiting out its retries and deadline; once a
cassette could not be written (a full disk), no call is made at all, since its answer could
not be kept. It counts the calls of one process (under xdist, each worker its own)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from pytest_empathy.settings import DEFAULT_LIMIT

FLAG = "--empathy-circuit-breaker"


@dataclass
class CircuitBreaker:
    # Failed calls in a row that stop the calls to an endpoint; 0 never stops them.
    limit: int = DEFAULT_LIMIT
    # Per endpoint: the failed calls in a row, and what the last one said.
    _failures: dict[str, tuple[int, str]] = field(default_factory=dict)
    # Why no call is made any more, to any endpoint (see ``halt``).
    _halted: str | None = None
    # Cases evaluated ahead (--empathy-concurrency) count from several threads.
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def refusal(self, endpoint: str) -> str | None:
        """Why a call to ``endpoint`` is not made, or None when it may be."""
        if self._halted is not None:
            return f"not called: {self._halted}"
        count, last = self._failures.get(endpoint, (0, ""))
        if not self.limit or count < self.limit:
            return None
        return (
            f"not called: the last {count} calls to {endpoint} failed, the last with: {last}; "
            f"{FLAG}={self.limit} stops calling it for the rest of this run (0 never stops)"
        )

    def failed(self, endpoint: str, why: str) -> None:
        with self._lock:
            count, _ = self._failures.get(endpoint, (0, ""))
            self._failures[endpoint] = (count + 1, why)

    def halt(self, unwritten: str) -> None:
        """A cassette could not be written (``unwritten`` says why): every later call that
        would reach an endpoint is refused, whatever the limit."""
        with self._lock:
            if self._halted is None:
                self._halted = (
                    f"a cassette could not be written, so no answer of this run could be kept ({unwritten}); "
                    "no more calls are made in this run"
                )

    def succeeded(self, endpoint: str) -> None:
        with self._lock:
            self._failures.pop(endpoint, None)
