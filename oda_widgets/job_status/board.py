"""``JobBoard``: every job of the session in one place, polled with a bound, resumable after a
kernel restart."""

from __future__ import annotations

import functools
import html
import logging
import threading
import time
from collections import Counter
from collections.abc import Iterable

import ipywidgets as widgets
import requests

from oda_widgets.client import Dispatcher, Job, OdaError, redact
from oda_widgets.client.transport import BoundedAdapter
from oda_widgets.job_status.poller import DEFAULT_MAX_CONCURRENT, DEFAULT_MAX_RATE, Poller, default_poller
from oda_widgets.job_status.store import JobStore, job_key
from oda_widgets.job_status.widget import STATE_COLOURS, JobStatus, short_id

log = logging.getLogger(__name__)

#: Order of the states in the board's summary line.
_SUMMARY_ORDER = (
    "new",
    "submitted",
    "progress",
    "ready",
    "retrying",
    "done",
    "failed",
    "unreachable",
    "stopped",
)


def _jobs(n: int) -> str:
    return f"{n} job" if n == 1 else f"{n} jobs"


class _ClassOrInstance:
    """A method usable on the class (a new board is made) or on a board (``JobBoard.restore()``)."""

    def __init__(self, func):
        self.func = func
        functools.update_wrapper(self, func)

    def __get__(self, obj, cls):
        return functools.partial(self.func, obj if obj is not None else cls)


class JobBoard(widgets.VBox):
    """All jobs you follow in this session: a table of their states above one
    :class:`JobStatus` per job.

    ``board.add(job)`` follows a job; ``JobBoard.restore()`` (after a kernel restart) re-attaches
    to every unfinished job of the resume store and shows the finished ones, re-discovering the
    token (it is never stored). At most ``max_concurrent`` requests are in flight at once and
    at most ``max_rate`` start per second, over one shared HTTP session per board.

    Boards share the session's poller (``default_poller()``, one bound for every board) unless
    given their own ``poller`` or other bounds; a board that made its own poller stops it, and
    its threads, when closed (``board.close()``).
    """

    def __init__(
        self,
        jobs: Iterable[Job] = (),
        *,
        max_concurrent: int = DEFAULT_MAX_CONCURRENT,
        max_rate: float | None = DEFAULT_MAX_RATE,
        store: JobStore | bool | None = True,
        poller: Poller | None = None,
        **kwargs,
    ):
        if poller is not None:
            self.poller, self._own_poller = poller, False
        elif (max_concurrent, max_rate) == (DEFAULT_MAX_CONCURRENT, DEFAULT_MAX_RATE):
            self.poller, self._own_poller = default_poller(), False
        else:
            self.poller, self._own_poller = Poller(max_concurrent, max_rate), True
        self.store: JobStore | None = JobStore() if store is True else (store or None)
        self.statuses: list[JobStatus] = []
        self.problems: list[str] = []
        self.session = requests.Session()
        # Enough pooled connections for every request the poller lets through at once (its slow
        # lane included); each exchange bounded in time and size.
        adapter = BoundedAdapter(
            pool_connections=4, pool_maxsize=max(10, self.poller.max_concurrent + self.poller.max_slow)
        )
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self._dispatchers: dict[str, Dispatcher] = {}
        self._lock = threading.RLock()
        self._summary = widgets.HTML()
        self._summary.add_class("oda-job-board-summary")
        self._list = widgets.VBox()
        super().__init__(children=[self._summary, self._list], **kwargs)
        self.add_class("oda-job-board")
        for job in jobs:
            self.add(job)
        self._update_summary()

    # -- jobs ----------------------------------------------------------------------------------
    @property
    def jobs(self) -> list[Job]:
        """The jobs on the board, in the order they were added."""
        return [s.job for s in self.statuses]

    def add(self, job: Job, *, start: bool = True) -> JobStatus:
        """Follow ``job`` on this board; returns its :class:`JobStatus` (the existing one if the
        job is already here)."""
        if not isinstance(job, Job):
            raise TypeError(f"JobBoard.add needs an oda_widgets.client.Job, got {type(job).__name__}")
        with self._lock:
            for status in self.statuses:
                if status.job is job:
                    return status
            status = JobStatus(job, poller=self.poller, store=self.store or False, start=False)
            self.statuses.append(status)
            self._list.children = [*self._list.children, status]
        # Started outside the lock: the poller's thread takes it to update the summary.
        status.observe(lambda _change: self._update_summary(), "state")
        if start:
            status.resume()
        self._update_summary()
        return status

    def remove(self, job_or_status: Job | JobStatus, *, forget: bool = True) -> None:
        """Stop following a job and take it off the board (and out of the store if ``forget``)."""
        with self._lock:
            status = self._status_of(job_or_status)
            self.statuses.remove(status)
            self._list.children = [c for c in self._list.children if c is not status]
        status.close()
        if forget and self.store is not None:
            self.store.forget(status.job)
        self._update_summary()

    def status(self, job: Job) -> JobStatus:
        """The :class:`JobStatus` of a job on this board."""
        return self._status_of(job)

    def _status_of(self, job_or_status: Job | JobStatus) -> JobStatus:
        for status in self.statuses:
            if status is job_or_status or status.job is job_or_status:
                return status
        raise KeyError(f"{job_or_status!r} is not on this board")

    def dispatcher_for(self, url: str) -> Dispatcher:
        """A ``Dispatcher`` for ``url`` using this board's shared HTTP session (token discovered)."""
        with self._lock:
            disp = self._dispatchers.get(url)
            if disp is None:
                disp = self._dispatchers[url] = Dispatcher(url, session=self.session)
            return disp

    def close(self) -> None:
        """Stop following every job of the board and remove it (the resume store keeps them).

        The board's own poller, if it made one, stops with its threads; the HTTP session closes.
        """
        with self._lock:
            statuses = list(self.statuses)
            self._list.children = ()
        for status in statuses:
            status.close()
        if self._own_poller:
            self.poller.close()
        self.session.close()
        # the board's own parts too: a live widget holding closed ones cannot be saved
        self._list.close()
        self._summary.close()
        super().close()

    # -- resume --------------------------------------------------------------------------------
    @_ClassOrInstance
    def restore(
        self_or_cls, store: JobStore | None = None, dispatchers: dict[str, Dispatcher] | None = None
    ) -> JobBoard:
        """Pick up the jobs of the resume store (after a kernel restart).

        On the class, ``JobBoard.restore()`` makes a new board; on a board, it adds the stored
        jobs not yet there. Unfinished jobs are followed again, finished ones shown (their
        products are fetched again on *Show results*). The token is discovered again
        (``$ODA_TOKEN``, ``~/.oda-token``…) unless ``dispatchers`` maps a URL to a ``Dispatcher``.
        Entries that cannot be restored are listed in ``board.problems``.
        """
        board = (
            self_or_cls
            if isinstance(self_or_cls, JobBoard)
            else self_or_cls(store=store if store is not None else True)
        )
        store = store or board.store or JobStore()
        present = {job_key(job) for job in board.jobs}
        for entry in store.entries():
            if job_key(entry) in present:
                continue
            try:
                url = entry["url"]
                disp = (dispatchers or {}).get(url) or board.dispatcher_for(url)
                job = Job.from_dict(entry, disp)
            except (OdaError, KeyError, ValueError, TypeError) as exc:
                problem = f"Could not restore a saved job ({entry.get('job_id')}): {exc}"
                board.problems.append(str(redact(problem)))
                log.warning("%s", problem)
                continue
            board.add(job)
        board._update_summary()
        return board

    # -- waiting -------------------------------------------------------------------------------
    def wait(self, timeout: float | None = None) -> dict[str, int]:
        """Block until no job is being followed any more (scripts, tests); returns the counts of
        each state. Raises ``TimeoutError`` after ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for status in list(self.statuses):
            watch = status.watch
            if watch is None:
                continue
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not watch.wait(left):
                raise TimeoutError(f"Jobs still followed after {timeout} s: {self.counts()}")
        return self.counts()

    def counts(self) -> dict[str, int]:
        """How many jobs are in each state the widgets show."""
        return dict(Counter(s.state for s in self.statuses))

    # -- what is shown -------------------------------------------------------------------------
    def _update_summary(self) -> None:
        with self._lock:
            statuses = list(self.statuses)
        counts = Counter(s.state for s in statuses)
        parts = [
            f"<span style='color:{STATE_COLOURS.get(k, '#333')}'>{counts[k]} {html.escape(k)}</span>"
            for k in _SUMMARY_ORDER
            if counts.get(k)
        ]
        rows = []
        for i, s in enumerate(statuses, 1):
            job = s.job
            colour = STATE_COLOURS.get(s.state, "#333")
            rows.append(
                f"<tr><td>{i}</td><td>{html.escape(job.instrument)}</td>"
                f"<td>{html.escape(job.product)}</td><td><code>{html.escape(short_id(job.job_id))}</code></td>"
                f"<td class='oda-board-state' style='color:{colour}'><b>{html.escape(str(s.state))}</b></td></tr>"
            )
        problems = "".join(f"<div class='oda-error'>{html.escape(p)}</div>" for p in self.problems)
        table = (
            (
                "<table class='oda-board'><tr><th>#</th><th>instrument</th><th>product</th>"
                f"<th>job</th><th>state</th></tr>{''.join(rows)}</table>"
            )
            if rows
            else ""
        )
        text = (
            f"<b>{_jobs(len(statuses))}</b>" + (": " + ", ".join(parts) if parts else "") + problems + table
        )
        self._summary.value = text

    def __repr__(self) -> str:
        lines = [
            f"JobBoard: {_jobs(len(self.statuses))} "
            + ", ".join(f"{n} {k}" for k, n in sorted(self.counts().items()))
        ]
        for s in self.statuses:
            lines.append(f"  {s.job.instrument} {s.job.product} job {short_id(s.job.job_id)}: {s.state}")
        return "\n".join(lines)

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        if isinstance(bundle, dict):
            bundle["text/plain"] = repr(self)
        return bundle


__all__ = ["JobBoard"]
