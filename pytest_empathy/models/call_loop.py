"""The event loop a process's live calls run on, in a thread of its own, and the slots that
bound how many are out at the endpoints at once.

Async, so that an attempt can be cut off at its deadline (retries are ours); on a thread, so
that a caller inside an event loop of its own can call, and so that several threads (cases
evaluated ahead, ``--empathy-concurrency``) can each wait on their own call. The responder's
and the judge's endpoints share one loop, and so the slots: a slot is held from the moment a
request is sent until its answer is read, and not while a case builds a request, reads an
answer or writes its cassette, so that N slots keep N calls at the endpoints.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    # asyncio loads ssl: a run that never calls a model does without it.
    import asyncio

T = TypeVar("T")


class CallLoop:
    def __init__(self, slots: int | None = None) -> None:
        """``slots``: the calls that may be out at once; None for no bound."""
        self.slots = slots
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._semaphore: asyncio.Semaphore | None = None
        self._starting = threading.Lock()
        # The endpoints that use it: the last to close stops it.
        self._users = 0

    def use(self) -> None:
        with self._starting:
            self._users += 1

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the loop, in a copy of the caller's context (the cassette open
        in its thread), started on first use; an interrupted wait cancels it."""
        import asyncio

        with self._starting:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                self._thread = threading.Thread(target=self._loop.run_forever, name="pytest-empathy-calls", daemon=True)
                self._thread.start()
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            return future.result()
        except BaseException:
            future.cancel()
            raise

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Held while a request is out at an endpoint; first come, first served."""
        import asyncio

        if self.slots is None:
            yield
            return
        if self._semaphore is None:  # made on the loop, the only thread that runs this
            self._semaphore = asyncio.Semaphore(self.slots)
        async with self._semaphore:
            yield

    def release(self) -> None:
        """An endpoint is done with the loop: the last one cancels the calls still out (a
        case started ahead that no test took) and stops it."""
        with self._starting:
            self._users -= 1
            if self._users > 0:
                return
            loop, thread = self._loop, self._thread
            self._loop = self._thread = self._semaphore = None
        if loop is None or thread is None:
            return
        import asyncio

        try:
            asyncio.run_coroutine_threadsafe(_cancel_all(), loop).result()
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()
            loop.close()


async def _cancel_all() -> None:
    import asyncio

    this = asyncio.current_task()
    for task in asyncio.all_tasks():
        if task is not this:
            task.cancel()
