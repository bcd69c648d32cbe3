"""Cases evaluated ahead of their tests while recording (``--empathy-concurrency N``): each
test also starts, on threads, the cases of the next 2N - 1 tests its process runs, so that N
calls stay in flight; cassettes and results are those of a sequential run.
docs/how-to/xdist-and-shards.md ("Calls in flight while recording") says what happens to a case
whose test does not run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from itertools import islice
from typing import TYPE_CHECKING, Any

import pytest

from pytest_empathy.cassettes.recorder import DEFERRED_SAVES

if TYPE_CHECKING:
    from pytest_empathy.corpus.rows import Row
    from pytest_empathy.evaluation.run import CaseOutcome


class Lookahead:
    """Cases evaluated ahead of their tests, on threads, while recording."""

    def __init__(self, evaluate: Callable[[Row], CaseOutcome], calls: int, stop: Callable[[], None]) -> None:
        """``stop`` cancels the calls still out and refuses later ones (closing the run's
        endpoints)."""
        self._evaluate = evaluate
        self._stop = stop
        self._cases = 2 * calls
        self._pool = ThreadPoolExecutor(max_workers=self._cases, thread_name_prefix="pytest-empathy-case")
        # node id -> (its case, the case's evaluation), started ahead of the test
        self._started: dict[str, tuple[Row, Future[CaseOutcome]]] = {}
        # case id -> its latest evaluation: a case is never evaluated twice at once, since
        # both would write its cassette
        self._latest: dict[str, Future[CaseOutcome]] = {}
        # evaluation -> the cassette saves its case's failure left for its test to make
        self._deferred: dict[Future[CaseOutcome], list[Callable[[], None]]] = {}
        self._positions: dict[str, int] | None = None

    def take(self, item: pytest.Item, row: Row) -> CaseOutcome:
        """The evaluation of ``row`` for the test ``item``: the one started ahead for it, or
        one started now; either way, the next tests' cases are started behind it."""
        started = self._started.pop(item.nodeid, None)
        if started is not None and started[0] is row and not started[1].cancelled():
            mine = started[1]
        else:
            self._wait_for(row)
            mine = self._start(row)
        for nodeid, upcoming in islice(self._upcoming(item), self._cases - 1):
            if nodeid not in self._started and not self._in_flight(upcoming):
                self._started[nodeid] = (upcoming, self._start(upcoming))
        deferred = self._deferred.pop(mine)
        try:
            return mine.result()
        except BaseException:
            for save in deferred:
                save()
            raise
        finally:
            if self._latest.get(row.case_id) is mine:
                del self._latest[row.case_id]

    def close(self) -> None:
        """Start no more cases, cancel those under way, and wait until their threads have
        ended: nothing writes a cassette after the run (and its recording lock) ends."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        try:
            self._stop()
        finally:
            self._pool.shutdown(wait=True)

    def _start(self, row: Row) -> Future[CaseOutcome]:
        deferred: list[Callable[[], None]] = []
        future = self._pool.submit(self._evaluated, row, deferred)
        self._latest[row.case_id] = future
        self._deferred[future] = deferred
        return future

    def _evaluated(self, row: Row, deferred: list[Callable[[], None]]) -> CaseOutcome:
        token = DEFERRED_SAVES.set(deferred)
        try:
            return self._evaluate(row)
        finally:
            DEFERRED_SAVES.reset(token)

    def _in_flight(self, row: Row) -> bool:
        future = self._latest.get(row.case_id)
        return future is not None and not future.done()

    def _wait_for(self, row: Row) -> None:
        future = self._latest.get(row.case_id)
        if future is not None:
            wait([future])  # its test, if any, sees how it ended

    def _upcoming(self, item: pytest.Item) -> Iterator[tuple[str, Row]]:
        """The cases of the tests this process runs after ``item``, in order, of those that
        evaluate one and are not marked to be skipped."""
        items = item.session.items
        if hasattr(item.config, "workerinput"):
            # Those the controller has sent this worker so far, which it runs in that order.
            following: Iterable[int] = _worker_queue(item.config)
        else:
            if self._positions is None:
                self._positions = {queued.nodeid: i for i, queued in enumerate(items)}
            # Lazily: a slice would copy the rest of a large session for every test.
            following = range(self._positions[item.nodeid] + 1, len(items))
        for index in following:
            row = _case_of(items[index])
            if row is not None:
                yield items[index].nodeid, row


def _worker_queue(config: pytest.Config) -> list[int]:
    """The indices of the items queued on this xdist worker, the next first."""
    worker = _worker(config)
    queue = worker.torun
    if hasattr(queue, "lock"):  # pytest-xdist 3.7 and later
        with queue.lock() as queued:
            indices = list(queued)
    else:  # a queue.Queue
        with queue.mutex:
            indices = list(queue.queue)
    return [i for i in (worker.nextitem_index, *indices) if isinstance(i, int)]


def _worker(config: pytest.Config) -> Any:
    """The xdist worker's side of this process, which holds the queue of tests sent to it."""
    for plugin in config.pluginmanager.get_plugins():
        if hasattr(plugin, "torun") and hasattr(plugin, "nextitem_index"):
            return plugin
    return None


def check_scheduling(config: pytest.Config, concurrency: int) -> None:
    """Cases are evaluated ahead only where this process knows the tests it runs next and no
    other process runs them: raises pytest.UsageError otherwise."""
    if concurrency == 1:
        return
    if getattr(config.option, "dist", "no") == "worksteal":
        raise pytest.UsageError(
            "--empathy-concurrency: xdist's worksteal scheduling moves tests a worker has queued, and so cases "
            "it has started, to another worker; use --dist load (the default) or --empathy-concurrency 1"
        )
    if hasattr(config, "workerinput") and _worker(config) is None:
        raise pytest.UsageError(
            "--empathy-concurrency: this pytest-xdist does not show a worker the tests queued on it; "
            "run with --empathy-concurrency 1"
        )


def _case_of(item: pytest.Item) -> Row | None:
    """The case a test evaluates, when it takes one and the evaluation fixture and is not
    marked to be skipped."""
    callspec = getattr(item, "callspec", None)
    if callspec is None or "empathy_evaluate" not in getattr(item, "fixturenames", ()):
        return None
    if item.get_closest_marker("skip") or item.get_closest_marker("skipif"):
        return None
    row: Row | None = callspec.params.get("empathy_case")
    return row
