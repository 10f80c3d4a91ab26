"""Following jobs without blocking the notebook: one asyncio task per job, requests in threads.

In a Jupyter kernel the cell that starts a job returns at once: each job gets a task on the
kernel's own event loop; the task sends one request at a time in one of the poller's own worker
threads (``Job.poll`` is blocking ``requests`` code), comes back to the loop to report, then sleeps
``job.next_delay()`` (1 s × 1.2 per quiet poll up to a cap, as pyvo and oda_api do). A semaphore
bounds how many requests are in flight at once, however many jobs are followed.

A request still running after ``slow_after`` seconds (a server trickling its answer, a big
product coming over a slow link) gives its place back and waits in a separate, also bounded,
slow lane: slow jobs never hold up the polls of the others. Every request ends within the
dispatcher's deadline anyway (``Dispatcher(deadline=)``).

Outside a running event loop (plain scripts, tests) the same tasks run on one daemon thread with
its own loop, so the caller's thread is never blocked either. ``Poller.close()`` stops following
every job and ends the poller's threads; one poller can serve many boards (``default_poller()``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from oda_widgets.errors import OdaError

if TYPE_CHECKING:
    from oda_widgets.client import Job

log = logging.getLogger(__name__)

#: Requests in flight at once per poller, unless told otherwise.
DEFAULT_MAX_CONCURRENT = 6
#: Requests started per second per poller, unless told otherwise: many jobs starting together
#: are spread out instead of all polling every second (the web frontend polls every 5 s).
DEFAULT_MAX_RATE = 4.0
#: Seconds after which a request in flight counts as slow and gives its place to another job.
DEFAULT_SLOW_AFTER = 3.0


class Watch:
    """One job being followed. ``cancel()`` stops following it; ``error`` says why it ended early.

    ``on_update(job)`` runs after every poll and ``on_end(watch)`` once at the end, both on the
    thread of the loop that follows the job (the kernel's main thread in a notebook).
    """

    def __init__(
        self,
        poller: Poller,
        job: Job,
        on_update: Callable[[Job], Any] | None,
        on_end: Callable[[Watch], Any] | None,
    ):
        self.poller = poller
        self.job = job
        self.on_update = on_update
        self.on_end = on_end
        self.loop: asyncio.AbstractEventLoop | None = None
        self.error: BaseException | None = None
        self.cancelled = False
        self.ended = threading.Event()
        self._finish_lock = threading.Lock()
        self._task: asyncio.Task | None = None
        self._future: concurrent.futures.Future | None = None

    @property
    def running(self) -> bool:
        return not self.ended.is_set()

    def cancel(self) -> None:
        """Stop following the job (thread-safe). The job itself is untouched."""
        self.cancelled = True
        loop, task, future = self.loop, self._task, self._future
        if future is not None:
            future.cancel()  # thread-safe; cancels the task on the background loop
        elif loop is not None and task is not None and not loop.is_closed():
            if running_loop() is loop:
                task.cancel()
            else:
                loop.call_soon_threadsafe(task.cancel)

    def _finish(self) -> None:
        """Mark the watch ended and call ``on_end`` — once, whoever gets here first."""
        with self._finish_lock:
            if self.ended.is_set():
                return
            self.ended.set()
        if self.on_end is not None:
            try:
                self.on_end(self)
            except Exception:
                log.exception("on_end callback of %r failed", self)

    def _future_done(self, future: concurrent.futures.Future) -> None:
        # A task cancelled before it started never runs its own ``finally``.
        if future.cancelled():
            self.cancelled = True
            self._finish()

    def call_soon(self, callback: Callable[[], Any]) -> None:
        """Run ``callback`` on this watch's loop thread (from any thread); directly if none."""
        loop = self.loop
        if loop is None or loop.is_closed() or running_loop() is loop:
            callback()
        else:
            loop.call_soon_threadsafe(callback)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until following ended (not from the loop's own thread); True if it did."""
        if self.loop is not None and running_loop() is self.loop:
            raise OdaError(
                "Waiting here would block the event loop that follows the job; "
                "use `await job` in a notebook, or job.wait() in a script."
            )
        return self.ended.wait(timeout)

    def __repr__(self) -> str:
        what = "cancelled" if self.cancelled else "running" if self.running else "ended"
        return f"<Watch {self.job!r} {what}>"


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop running in this thread, or None (a plain thread, a script)."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class Poller:
    """Follows any number of jobs with at most ``max_concurrent`` requests in flight and at most
    ``max_rate`` requests started per second (``None``: no rate bound).

    A request running longer than ``slow_after`` seconds moves to a slow lane of at most
    ``max_slow`` requests (default: ``max_concurrent``), freeing its place for the other jobs.
    ``in_flight``/``max_in_flight`` count the requests holding a place, ``slow``/``max_slow_seen``
    those in the slow lane, ``polls`` all requests sent. Requests run in at most
    ``max_concurrent + max_slow`` worker threads of the poller's own; ``close()`` ends them.
    """

    def __init__(
        self,
        max_concurrent: int = DEFAULT_MAX_CONCURRENT,
        max_rate: float | None = DEFAULT_MAX_RATE,
        *,
        slow_after: float = DEFAULT_SLOW_AFTER,
        max_slow: int | None = None,
    ):
        if int(max_concurrent) < 1:
            raise ValueError(f"max_concurrent must be at least 1, got {max_concurrent!r}")
        if max_rate is not None and not max_rate > 0:
            raise ValueError(f"max_rate must be positive or None, got {max_rate!r}")
        if not slow_after > 0:
            raise ValueError(f"slow_after must be positive, got {slow_after!r}")
        self.max_concurrent = int(max_concurrent)
        self.max_rate = None if max_rate is None else float(max_rate)
        self.slow_after = float(slow_after)
        self.max_slow = self.max_concurrent if max_slow is None else int(max_slow)
        if self.max_slow < 0:
            raise ValueError(f"max_slow must be 0 or more, got {max_slow!r}")
        self._next_slot: dict[asyncio.AbstractEventLoop, float] = {}
        self.in_flight = 0
        self.max_in_flight = 0
        self.slow = 0
        self.max_slow_seen = 0
        self.polls = 0
        self.closed = False
        self._lock = threading.Lock()
        self._semaphores: dict[asyncio.AbstractEventLoop, tuple[asyncio.Semaphore, asyncio.Semaphore]] = {}
        self._thread_loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._watches: set[Watch] = set()

    def __repr__(self) -> str:
        return (
            f"Poller(max_concurrent={self.max_concurrent}, max_rate={self.max_rate}, "
            f"in_flight={self.in_flight}, slow={self.slow}, polls={self.polls}"
            + (", closed" if self.closed else "")
            + ")"
        )

    def watch(
        self,
        job: Job,
        on_update: Callable[[Job], Any] | None = None,
        on_end: Callable[[Watch], Any] | None = None,
    ) -> Watch:
        """Start following ``job`` and return at once; the :class:`Watch` stops it."""
        if self.closed:
            raise OdaError("This poller was closed (its board was closed); follow the job on another one.")
        watch = Watch(self, job, on_update, on_end)
        with self._lock:
            self._watches.add(watch)
        loop = running_loop()
        if loop is not None:
            watch.loop = loop
            watch._task = loop.create_task(self._follow(watch))
        else:
            loop = self._background_loop()
            watch.loop = loop
            # Not waiting for the task to start: the loop thread may be busy updating widgets
            # whose observers wait for locks the caller holds.
            watch._future = asyncio.run_coroutine_threadsafe(self._follow(watch), loop)
            watch._future.add_done_callback(watch._future_done)
        return watch

    # -- the loop ------------------------------------------------------------------------------
    async def _follow(self, watch: Watch) -> None:
        job = watch.job
        try:
            while not job.finished and not watch.cancelled:
                await self._pace()
                await self._poll(job)
                self._report(watch)
                if job.finished:
                    break
                await asyncio.sleep(job.next_delay())
        except asyncio.CancelledError:
            watch.cancelled = True
        except OdaError as exc:  # DispatcherUnavailable past the budget, TokenExpired…
            watch.error = exc
        except Exception as exc:  # a bug must end this job's watch, not the kernel's loop
            if isinstance(exc, RuntimeError) and "shutdown" in str(exc):
                # the interpreter is exiting or the poller closing (thread pools already shut):
                # stop quietly; the job goes on at the dispatcher and can be resumed from the store
                watch.cancelled = True
                return
            log.exception("following %r failed", job)
            watch.error = OdaError(
                f"Following the job stopped on an unexpected error: {type(exc).__name__}: {exc}"
            )
        finally:
            with self._lock:
                self._watches.discard(watch)
            watch._finish()

    async def _poll(self, job: Job) -> None:
        """One ``job.poll()`` in a worker thread, holding a place; after ``slow_after`` seconds
        the place goes back to the other jobs if the slow lane has room."""
        loop = asyncio.get_running_loop()
        places, slow_lane = self._semaphores_of(loop)
        await places.acquire()
        holding = True
        with self._lock:
            self.in_flight += 1
            self.polls += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            future = loop.run_in_executor(self._pool(), job.poll)
            done, _ = await asyncio.wait({future}, timeout=self.slow_after)
            if not done and not slow_lane.locked():
                await slow_lane.acquire()
                places.release()
                holding = False
                with self._lock:
                    self.in_flight -= 1
                    self.slow += 1
                    self.max_slow_seen = max(self.max_slow_seen, self.slow)
                try:
                    await future
                finally:
                    slow_lane.release()
                    with self._lock:
                        self.slow -= 1
            else:
                await future
        finally:
            if holding:
                places.release()
                with self._lock:
                    self.in_flight -= 1

    @staticmethod
    def _report(watch: Watch) -> None:
        if watch.on_update is None:
            return
        try:
            watch.on_update(watch.job)
        except Exception:  # a broken view must not stop the job being followed
            log.exception("on_update callback of %r failed", watch)

    async def _pace(self) -> None:
        """Wait for this request's slot: starts are at least ``1 / max_rate`` s apart."""
        if self.max_rate is None:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        with self._lock:
            slot = max(now, self._next_slot.get(loop, 0.0))
            self._next_slot[loop] = slot + 1.0 / self.max_rate
        if slot > now:
            await asyncio.sleep(slot - now)

    def _semaphores_of(self, loop: asyncio.AbstractEventLoop) -> tuple[asyncio.Semaphore, asyncio.Semaphore]:
        with self._lock:
            pair = self._semaphores.get(loop)
            if pair is None:
                pair = self._semaphores[loop] = (
                    asyncio.Semaphore(self.max_concurrent),
                    asyncio.Semaphore(self.max_slow),
                )
            return pair

    def _pool(self) -> concurrent.futures.ThreadPoolExecutor:
        """The poller's worker threads (not the loop's default executor, which a kernel shares
        with everything else and sizes by the number of CPUs)."""
        with self._lock:
            if self._executor is None:
                if self.closed:
                    raise RuntimeError("the poller was shut down")
                self._executor = concurrent.futures.ThreadPoolExecutor(
                    self.max_concurrent + self.max_slow, thread_name_prefix="oda-widgets-poll"
                )
            return self._executor

    def _background_loop(self) -> asyncio.AbstractEventLoop:
        """The daemon thread's loop, started on first use (scripts and tests)."""
        with self._lock:
            if self._thread_loop is None or self._thread_loop.is_closed():
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="oda-widgets-poller", daemon=True)
                thread.start()
                self._thread_loop, self._thread = loop, thread
            return self._thread_loop

    # -- the end -------------------------------------------------------------------------------
    def close(self, timeout: float = 5.0) -> None:
        """Stop following every job and end the poller's threads (idempotent).

        The jobs themselves go on at the dispatcher. A request already in a worker thread
        finishes first (within the dispatcher's deadline), then its thread ends too.
        """
        with self._lock:
            if self.closed:
                return
            self.closed = True
            watches = list(self._watches)
        for watch in watches:
            watch.cancel()
        loop, thread = self._thread_loop, self._thread
        if loop is not None and not loop.is_closed():
            try:
                asyncio.run_coroutine_threadsafe(self._wind_down(), loop).result(timeout)
            except Exception:  # cancelled tasks raise here or time out: the loop is stopped anyway
                pass
            loop.call_soon_threadsafe(loop.stop)
            if thread is not None:
                thread.join(timeout)
            if not loop.is_running():
                loop.close()
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)

    @staticmethod
    async def _wind_down() -> None:
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=2.0)

    def __enter__(self) -> Poller:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


_default: Poller | None = None
_default_lock = threading.Lock()


def default_poller() -> Poller:
    """The poller shared by every widget that was not given one (one bound per session)."""
    global _default
    with _default_lock:
        if _default is None or _default.closed:
            _default = Poller()
        return _default


__all__ = [
    "Poller",
    "Watch",
    "default_poller",
    "running_loop",
    "DEFAULT_MAX_CONCURRENT",
    "DEFAULT_MAX_RATE",
    "DEFAULT_SLOW_AFTER",
]
