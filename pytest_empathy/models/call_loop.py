"""The event loop a process's live calls run on, in a thread of its own, and the slots that
bound how many are out at the endpoints at once (``--empathy-concurrency``)."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    # asyncio loads ssl: a run that never calls a model does without it.
    import asyncio

T = TypeVar("T")


class Attempt:
    """One attempt's time limit, and the seconds it waited for a slot, which do not count."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.waited = 0.0


# The attempt under way in this task, and its asyncio time-out: waiting for a slot moves it.
_ATTEMPT: ContextVar[tuple[Attempt, asyncio.Timeout] | None] = ContextVar("pytest_empathy_attempt", default=None)


# Async, so that an attempt can be cut off at its deadline (retries are ours); on a thread, so
# that a caller inside an event loop of its own can call, and so that several threads (cases
# evaluated ahead) can each wait on their own call. The responder's and the judge's endpoints
# share one loop, and so the slots: a slot is held from the moment a request is sent until its
# answer is read, and not while a case builds a request, reads an answer or writes its
# cassette, so that N slots keep N calls at the endpoints. Waiting for a slot is the run's own
# doing: it does not use up the call's deadline.
class CallLoop:
    def __init__(self, slots: int | None = None) -> None:
        """``slots``: the calls that may be out at once; None for no bound."""
        self.slots = slots
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._semaphore: asyncio.Semaphore | None = None
        self._lock = threading.Lock()
        # The endpoints that use it: the last to be done with it stops it for good.
        self._users = 0
        self._stopped = False
        # Set when the run ends (see cancel): no call starts any more.
        self.refusing = False

    def use(self) -> None:
        with self._lock:
            self._users += 1

    def run(self, coroutine: Coroutine[Any, Any, T], *, closing: bool = False) -> T:
        """Run a coroutine on the loop, in a copy of the caller's context (the cassette open
        in its thread), started on first use; an interrupted wait cancels it. Once the run's
        calls are cancelled, only what closes them (``closing``) still runs."""
        import asyncio

        with self._lock:
            if self._stopped or (self.refusing and not closing):
                coroutine.close()
                raise asyncio.CancelledError("the run's calls were stopped")
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                self._thread = threading.Thread(target=self._loop.run_forever, name="pytest-empathy-calls", daemon=True)
                self._thread.start()
            loop = self._loop
        future = asyncio.run_coroutine_threadsafe(coroutine, loop)
        try:
            return future.result()
        except BaseException:
            future.cancel()
            raise

    @asynccontextmanager
    async def attempt(self, attempt: Attempt) -> AsyncIterator[None]:
        """Cut the block off (TimeoutError) after the attempt's seconds, not counting those
        spent waiting for a slot."""
        import asyncio

        async with asyncio.timeout(attempt.seconds) as timer:
            token = _ATTEMPT.set((attempt, timer))
            try:
                yield
            finally:
                _ATTEMPT.reset(token)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Held while a request is out at an endpoint; first come, first served."""
        import asyncio

        if self.slots is None:
            yield
            return
        if self._semaphore is None:  # made on the loop, the only thread that runs this
            self._semaphore = asyncio.Semaphore(self.slots)
        under_way = _ATTEMPT.get()
        if under_way is None:
            async with self._semaphore:
                yield
            return
        attempt, timer = under_way
        deadline = timer.when()
        timer.reschedule(None)  # the wait does not count
        asked = time.monotonic()
        try:
            await self._semaphore.acquire()
        finally:
            waited = time.monotonic() - asked
            attempt.waited += waited
            timer.reschedule(None if deadline is None else deadline + waited)
        try:
            yield
        finally:
            self._semaphore.release()

    def cancel(self) -> None:
        """The run ends: cancel the calls still out (cases started ahead that no test took)
        and wait until they have ended; calls asked for later are cancelled at once. First,
        before any client closes: a call cut off by its client closing would look like a
        failed call, and its case would keep a cassette with a part of its calls."""
        with self._lock:
            self.refusing = True
            loop = self._loop
        if loop is not None:
            import asyncio

            asyncio.run_coroutine_threadsafe(_cancel_all(), loop).result()

    def release(self) -> None:
        """An endpoint is done with the loop: after the last one, the calls still out (a case
        started ahead that no test took) are cancelled, the loop stops, and calls made later
        are refused."""
        with self._lock:
            self._users -= 1
            if self._users > 0:
                return
            self._stopped = True
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
    """Cancel every other task, and wait until they have ended: a caller waiting on one
    would otherwise wait for ever."""
    import asyncio

    this = asyncio.current_task()
    tasks = [task for task in asyncio.all_tasks() if task is not this]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
