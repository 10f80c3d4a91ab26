"""``JobStatus``: one dispatcher job at a glance, updated while the notebook stays free.

What it shows: instrument and product, a short job id, the state in colour (submitted, progress,
ready, done, failed, retrying…), elapsed time and a progress bar; for INTEGRAL jobs a compact
science-window × analysis-step grid with counts (running, computed, restored from cache, failed)
and the last backend message; for stage-reporting backends their stage; the dispatcher's comment;
on failure the messages and an expandable debug text. Buttons, each also a method: *Retry*
(:meth:`JobStatus.retry`), *Resume* (:meth:`JobStatus.resume`), *Stop watching*
(:meth:`JobStatus.cancel`) and *Show results* (:meth:`JobStatus.show_results`).

Everything shown goes through :func:`oda_widgets.client.token.redact`: the token never reaches
the widget's state.
"""

from __future__ import annotations

import html
import json
import logging
import threading
import time
from typing import Any

import ipywidgets as widgets
import traitlets

from oda_widgets.client import DispatcherUnavailable, Job, JobState, OdaError, redact
from oda_widgets.client.job import Progress
from oda_widgets.job_status.poller import Poller, Watch, default_poller, running_loop
from oda_widgets.job_status.store import JobStore

log = logging.getLogger(__name__)

#: Colour of each state the widget can show (also used by ``JobBoard``).
STATE_COLOURS = {
    "new": "#6c757d",
    "submitted": "#1f6fb4",
    "progress": "#d48806",
    "ready": "#13a3a3",
    "done": "#2e7d32",
    "failed": "#c62828",
    "retrying": "#8e44ad",
    "unreachable": "#c62828",
    "stopped": "#6c757d",
}

#: What "stop" means here: the dispatcher offers no way to cancel a job.
NO_CANCEL = (
    "Stopped watching; the dispatcher has no cancel — the job may still run on the "
    "server. Resume to follow it again."
)

#: Science windows drawn per analysis step before "… N more".
MAX_SCW_CELLS = 400


def _elapsed(seconds: float) -> str:
    seconds = max(0, int(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def short_id(job_id: str | None) -> str:
    """The first 8 characters of a job id (enough to tell jobs apart), or "—". Plain text: it
    comes from the server, so HTML built with it escapes it."""
    return ("" if job_id is None else str(job_id))[:8] or "—"


def _make_button(description: str, icon: str, tooltip: str, css: str, style: str = "") -> widgets.Button:
    button = widgets.Button(
        description=description,
        icon=icon,
        tooltip=tooltip,
        button_style=style,
        layout=widgets.Layout(width="auto", display="none"),
    )
    button.add_class(css)
    return button


_CSS = """
<style>
.oda-job-status {border: 1px solid #ddd; border-radius: 4px; padding: 4px 8px; margin: 2px 0;}
.oda-job-status .oda-job-state {font-weight: bold; color: white; padding: 0 6px; border-radius: 3px;}
.oda-job-status table.oda-scw {border-collapse: collapse; font-size: 11px; margin: 2px 0;}
.oda-job-status table.oda-scw td, .oda-job-status table.oda-scw th {padding: 0 3px;}
.oda-job-status .oda-cell {display: inline-block; width: 9px; height: 9px; margin: 1px;
  border-radius: 2px; vertical-align: middle;}
.oda-job-status td.oda-cells {line-height: 10px; max-width: 640px;}
.oda-job-status .oda-scw-legend {font-size: 11px; color: #555;}
.oda-job-status .oda-cell-running {background: #f0ad4e;}
.oda-job-status .oda-cell-computed {background: #2e7d32;}
.oda-job-status .oda-cell-cached {background: #64b5f6;}
.oda-job-status .oda-cell-failed {background: #c62828;}
.oda-job-status .oda-comment {background: #fff8dc; border-left: 3px solid #e0b000; padding: 2px 6px;}
.oda-job-status .oda-error {background: #fdecea; border-left: 3px solid #c62828; padding: 2px 6px;}
.oda-job-status .oda-retrying {background: #f3e5f5; border-left: 3px solid #8e44ad; padding: 2px 6px;}
</style>
"""


class JobStatus(widgets.VBox):
    """A live view of one :class:`~oda_widgets.client.Job`; the cell that shows it returns at once.

    ``JobStatus(job)`` starts following the job (on the kernel's event loop; in a plain script on
    a background thread) and remembers it in the resume store so ``JobBoard.restore()`` finds it
    after a kernel restart. ``state`` is what the widget shows: ``new``, ``submitted``,
    ``progress``, ``ready``, ``done``, ``failed``, ``retrying`` (dispatcher unreachable for now),
    ``unreachable`` (retry budget spent; ``resume()`` later) or ``stopped`` (``cancel()``);
    ``history`` lists the states seen, in order.

    For scripts, ``job.wait()`` blocks until the products are there; in async code ``await job``.
    """

    state = traitlets.Unicode("new", help="What the widget shows (see the class docstring).")
    history = traitlets.List(traitlets.Unicode(), help="Every state shown so far, in order.")
    fraction = traitlets.Float(0.0, help="Value of the progress bar, 0 to 1.")
    message = traitlets.Unicode("", help="The one-line status text below the bar.")

    def __init__(
        self,
        job: Job,
        *,
        poller: Poller | None = None,
        store: JobStore | bool | None = True,
        start: bool = True,
        **kwargs,
    ):
        if not isinstance(job, Job):
            raise TypeError(
                f"JobStatus needs an oda_widgets.client.Job, got {type(job).__name__}; "
                "make one with Dispatcher(url).submit(instrument, product, params)."
            )
        self.poller = poller or default_poller()
        self.store: JobStore | None = JobStore() if store is True else (store or None)
        self.watch: Watch | None = None
        self.results_widget: widgets.Widget | None = None
        self._lock = threading.RLock()
        self._refresh_pending = False
        # the loop of the thread that made the widget (a kernel's): updates of an unwatched job
        # (start=False, then `await job` polling in a worker thread) are handed to it
        self._home_loop = running_loop()
        self._created = time.time()
        self._finished_at: float | None = None
        self._saved_state: str | None = None
        self._stopped_by_user = False
        self._last_grid = ""
        self.job = job

        self._header = widgets.HTML()
        self._header.add_class("oda-job-header")
        self._bar = widgets.FloatProgress(value=0.0, min=0.0, max=1.0, layout=widgets.Layout(width="100%"))
        self._bar.add_class("oda-job-bar")
        self._detail = widgets.HTML()
        self._detail.add_class("oda-job-detail")
        self._notes = widgets.HTML()
        self._notes.add_class("oda-job-notes")
        self._debug_text = widgets.HTML()
        self._debug = widgets.Accordion(
            children=[self._debug_text], selected_index=None, layout=widgets.Layout(display="none")
        )
        self._debug.set_title(0, "Debug details")
        self._debug.add_class("oda-job-debug")
        self.retry_button = _make_button("Retry", "redo", "Submit this request again", "oda-job-retry")
        self.resume_button = _make_button("Resume", "play", "Follow this job again", "oda-job-resume")
        self.stop_button = _make_button(
            "Stop watching",
            "stop",
            "Stop following (the job may go on running on the server)",
            "oda-job-stop",
        )
        self.results_button = _make_button(
            "Show results", "table", "Show the products below", "oda-job-show-results", "success"
        )
        self.retry_button.on_click(lambda _: self.retry())
        self.resume_button.on_click(lambda _: self.resume())
        self.stop_button.on_click(lambda _: self.cancel())
        self.results_button.on_click(lambda _: self.show_results())
        buttons = widgets.HBox([self.results_button, self.retry_button, self.resume_button, self.stop_button])
        self._results = widgets.VBox()
        self._results.add_class("oda-job-results")
        super().__init__(
            children=[
                widgets.HTML(_CSS),
                self._header,
                self._bar,
                self._detail,
                self._notes,
                self._debug,
                buttons,
                self._results,
            ],
            **kwargs,
        )
        self.add_class("oda-job-status")
        job.observe(self._on_job_change)
        self._refresh()
        if start:
            self.resume()

    # -- actions (each behind a button) --------------------------------------------------------
    def resume(self) -> JobStatus:
        """Follow the job (again): after ``cancel()``, after the dispatcher was unreachable for the
        whole retry budget, or for a job restored from the store. Does nothing for a finished job."""
        with self._lock:
            if self.job.finished or (self.watch is not None and self.watch.running):
                self._refresh()
                return self
            self._stopped_by_user = False
            self.watch = self.poller.watch(
                self.job, on_update=lambda _job: self._refresh(), on_end=self._on_watch_end
            )
        self._refresh()
        return self

    def cancel(self) -> None:
        """Stop following the job. The dispatcher has no cancel: the job may still run there."""
        with self._lock:
            self._stopped_by_user = True
            watch = self.watch
        if watch is not None:
            watch.cancel()
        self._refresh()

    def retry(self) -> Job:
        """Submit the same request again as a new job, follow it here, and return it."""
        old = self.job
        # sent by the first poll, from the poller: the button must not wait for the dispatcher
        new = old.resubmit(submit=False)
        self.cancel()
        old.unobserve(self._on_job_change)
        if self.store is not None:
            self._store_call(self.store.forget, old)
        with self._lock:
            self.job = new
            self._finished_at = None
            self._saved_state = None
            self._created = time.time()
            self.results_widget = None
            self._last_grid = ""
            self._results.children = ()
            self.history = []
        new.observe(self._on_job_change)
        self.resume()
        return new

    def show_results(self) -> widgets.Widget | None:
        """Show the products of the finished job below (``results_view``) and return that widget.

        If the job did not finish well the reason is shown instead and ``None`` returned.
        """
        try:
            collection = self.job.result()
        except OdaError as exc:
            self._results.children = [self._error_box(exc)]
            return None
        except Exception as exc:  # products that cannot be decoded: say so where the user looks
            log.exception("decoding the products of %r failed", self.job)
            self._results.children = [
                self._error_box(OdaError(f"The products could not be read: {type(exc).__name__}: {exc}"))
            ]
            return None
        # imported here: the results views (bqplot, anywidget) load only when results are shown
        from oda_widgets.results import results_view

        view: widgets.Widget
        try:
            view = results_view(collection, dispatcher=self.job.dispatcher)
        except Exception as exc:  # each view's own failure is shown at its product; this is a bug
            log.exception("results_view failed for %r", self.job)
            view = widgets.VBox(
                [
                    self._error_box(
                        OdaError(f"The results view failed ({type(exc).__name__}: {exc}); a summary instead.")
                    ),
                    self._collection_summary(collection),
                ]
            )
        self.results_widget = view
        self._results.children = [view]
        return view

    def wait(self, timeout: float | None = None) -> JobState:
        """Block until this widget stops following the job (finished, stopped or unreachable);
        returns the job's state. For scripts and tests; in a notebook use ``await job``."""
        watch = self.watch
        if watch is not None and not watch.wait(timeout):
            raise TimeoutError(f"Still following {self.job!r} after {timeout} s.")
        return self.job.state

    def close(self) -> None:
        """Stop following and remove the widget (the store entry is kept for later)."""
        if self.watch is not None:
            self.watch.cancel()
        self.job.unobserve(self._on_job_change)
        super().close()

    # -- updates -------------------------------------------------------------------------------
    def _on_job_change(self, _job: Job) -> None:
        """Job observer: may run in a worker thread; hands the refresh to the loop thread."""
        with self._lock:
            if self._refresh_pending:
                return
            self._refresh_pending = True
        watch = self.watch
        if watch is not None:
            watch.call_soon(self._refresh)
        elif (
            self._home_loop is not None
            and running_loop() is not self._home_loop
            and not self._home_loop.is_closed()
        ):
            self._home_loop.call_soon_threadsafe(self._refresh)
        else:
            self._refresh()

    def _on_watch_end(self, watch: Watch) -> None:
        self._refresh()

    def _shown_state(self) -> str:
        job, watch = self.job, self.watch
        if job.finished:
            return job.state.value
        if watch is not None and not watch.running:
            if isinstance(watch.error, DispatcherUnavailable):
                return "unreachable"
            return "stopped"
        if job.retrying:
            return "retrying"
        return job.state.value

    def _refresh(self) -> None:
        """Bring every part of the widget up to date with the job (on the loop's thread)."""
        with self._lock:
            self._refresh_pending = False
            job = self.job
            state = self._shown_state()
            if job.finished and self._finished_at is None:
                self._finished_at = time.time()
            self._save_if_changed(job)
            token = job.token
            progress = job.progress

            self._header.value = redact(self._header_html(job, state), token)
            self.fraction = self._bar_value(job, progress)
            self._bar.value = self.fraction
            self._bar.bar_style = {
                "done": "success",
                "failed": "danger",
                "unreachable": "danger",
                "retrying": "warning",
                "stopped": "",
            }.get(state, "info")
            self._detail.value = redact(self._detail_html(job, progress), token)
            self.message = redact(self._message(job, state, progress), token)
            self._notes.value = redact(self._notes_html(job, state), token)
            debug = redact(self._debug_text_of(job), token) if state == "failed" else ""
            self._debug_text.value = f"<pre style='white-space: pre-wrap'>{html.escape(debug)}</pre>"
            self._debug.layout.display = "" if debug else "none"

            following = self.watch is not None and self.watch.running
            self._show(self.results_button, state == "done")
            self._show(self.retry_button, state in ("failed", "unreachable", "stopped"))
            self._show(self.resume_button, state in ("unreachable", "stopped"))
            self._show(self.stop_button, following and not job.finished)
            if state != self.state:
                self.state = state
            if not self.history or self.history[-1] != state:
                self.history = [*self.history, state]

    @staticmethod
    def _show(button: widgets.Button, visible: bool) -> None:
        button.layout.display = "" if visible else "none"

    def _save_if_changed(self, job: Job) -> None:
        if self.store is None or job.state is JobState.NEW or self._saved_state == job.state.value:
            return
        self._saved_state = job.state.value
        self._store_call(self.store.save, job)

    def _store_call(self, method, job: Job) -> None:
        try:
            method(job)
        except OdaError as exc:  # a read-only cache must not stop the job being followed
            log.warning("job store: %s", exc)

    # -- what is shown -------------------------------------------------------------------------
    def _elapsed_seconds(self) -> float:
        start = self.job.submitted_at or self._created
        end = self._finished_at or time.time()
        return end - start

    def _header_html(self, job: Job, state: str) -> str:
        colour = STATE_COLOURS.get(state, "#6c757d")
        return (
            f"<b>{html.escape(job.instrument)}</b> · {html.escape(job.product)} · "
            f"<code title='{html.escape(job.describe_ids())}'>job {html.escape(short_id(job.job_id))}</code> · "
            f"<span class='oda-job-state oda-job-state-{state}' style='background:{colour}'>"
            f"{state}</span> · elapsed {_elapsed(self._elapsed_seconds())}"
        )

    @staticmethod
    def _bar_value(job: Job, progress: Progress) -> float:
        if job.state is JobState.DONE:
            return 1.0
        if progress.fraction is not None:
            # Counts cover only the science windows reported so far: not full before done.
            return max(0.0, min(0.97, float(progress.fraction)))
        # No count reported: show how far along the dispatcher's state machine the job is.
        return {
            JobState.NEW: 0.0,
            JobState.SUBMITTED: 0.05,
            JobState.PROGRESS: 0.1,
            JobState.READY: 0.95,
            JobState.FAILED: 0.0,
        }.get(job.state, 0.0)

    def _message(self, job: Job, state: str, progress: Progress) -> str:
        if state == "retrying":
            return job.transient_error or "dispatcher unreachable, retrying"
        if state == "unreachable":
            return str(self.watch.error) if self.watch and self.watch.error else "dispatcher unreachable"
        if state == "stopped":
            if self.watch is not None and self.watch.error is not None and not self._stopped_by_user:
                return str(self.watch.error)
            return NO_CANCEL
        if state == "failed":
            return str(job.error) if job.error else "The job failed."
        if state == "done":
            return "Done: the products are ready."
        return progress.summary or {
            "new": "not submitted yet",
            "submitted": "waiting for the backend",
            "progress": "running",
            "ready": "fetching the products",
        }.get(state, "")

    def _detail_html(self, job: Job, progress: Progress) -> str:
        parts = []
        # The final answer carries no job monitor: keep the last grid seen for this job.
        grid = self._scw_grid(job) or self._last_grid
        self._last_grid = grid
        if grid:
            parts.append(grid)
        elif progress.stage is not None or progress.summary:
            parts.append(f"<div class='oda-stage'>{html.escape(progress.summary)}</div>")
        if progress.scw_total:
            counts = (
                f"{progress.scw_total} science windows: {progress.scw_running} running, "
                f"{progress.scw_done} computed, {progress.scw_cached} restored from cache, "
                f"{progress.scw_failed} failed"
            )
            parts.append(f"<div class='oda-scw-counts'>{html.escape(counts)}</div>")
            tail = progress.last_report
            if tail:
                parts.append(f"<div class='oda-last'>last: {html.escape(tail)}</div>")
        return "".join(parts)

    @staticmethod
    def _scw_grid(job: Job) -> str:
        """INTEGRAL: one row per analysis step, one small square per science window coloured by
        its last message (hover for the ScW id) — compact however many ScWs there are."""
        cells = job.progress.steps  # node -> scw -> (kind, label)
        if not cells:
            return ""
        rows = []
        for node, per_scw in cells.items():
            squares = []
            for scw, (kind, label) in list(per_scw.items())[:MAX_SCW_CELLS]:
                squares.append(
                    f"<span class='oda-cell oda-cell-{kind}' "
                    f"title='{html.escape(scw)}: {html.escape(label)}'></span>"
                )
            more = len(per_scw) - MAX_SCW_CELLS
            if more > 0:
                squares.append(f" … {more} more")
            rows.append(
                f"<tr><td><code>{html.escape(node)}</code></td>"
                f"<td class='oda-cells'>{''.join(squares)}</td></tr>"
            )
        legend = "".join(
            f"<span class='oda-cell oda-cell-{k}'></span> {label} &nbsp;"
            for k, label in (
                ("running", "running"),
                ("computed", "computed"),
                ("cached", "restored from cache"),
                ("failed", "failed"),
            )
        )
        return (
            f"<table class='oda-scw'><tr><th>step</th><th>science windows</th></tr>"
            f"{''.join(rows)}</table><div class='oda-scw-legend'>{legend}</div>"
        )

    def _notes_html(self, job: Job, state: str) -> str:
        parts = []
        if state in ("retrying", "unreachable", "stopped"):
            css = (
                "oda-retrying"
                if state == "retrying"
                else "oda-error"
                if state == "unreachable"
                else "oda-comment"
            )
            parts.append(f"<div class='{css}'>{html.escape(self._message(job, state, job.progress))}</div>")
        elif not (state in ("submitted", "progress", "ready") and job.progress.summary):
            # While running with reported progress, the detail above already says it all.
            parts.append(
                f"<div class='oda-job-message'>{html.escape(self._message(job, state, job.progress))}</div>"
            )
        if job.comment:
            parts.append(f"<div class='oda-comment'>{html.escape(job.comment)}</div>")
        if getattr(job, "warning", ""):
            parts.append(f"<div class='oda-comment'>warning: {html.escape(job.warning)}</div>")
        if state == "failed" and job.error is not None:
            error_message = getattr(job.error, "error_message", "")
            if error_message and error_message not in str(job.error):
                parts.append(f"<div class='oda-error'>{html.escape(error_message)}</div>")
        return "".join(parts)

    @staticmethod
    def _debug_text_of(job: Job) -> str:
        err = job.error
        if err is None:
            return ""
        lines = [f"{type(err).__name__}: {err}"]
        if getattr(err, "error_message", ""):
            lines.append(f"error_message: {err.error_message}")
        if getattr(err, "debug_message", ""):
            lines.append(f"debug_message: {err.debug_message}")
        lines.append(job.describe_ids())
        if err.details:
            lines.append("details: " + json.dumps(err.details, indent=1, default=str, sort_keys=True))
        return "\n".join(lines)

    @staticmethod
    def _error_box(err: Exception) -> widgets.HTML:
        box = widgets.HTML(f"<div class='oda-error'>{html.escape(str(err))}</div>")
        box.add_class("oda-job-results-error")
        return box

    @staticmethod
    def _collection_summary(collection: Any) -> widgets.HTML:
        try:
            names = [name for name, _ in collection.items()]
        except Exception:
            names = []
        items = "".join(f"<li><code>{html.escape(str(n))}</code></li>" for n in names)
        return widgets.HTML(f"<b>{len(names)} products</b><ul>{items}</ul>")

    # -- text front ends -----------------------------------------------------------------------
    def __repr__(self) -> str:
        with self._lock:
            job = self.job
            lines = [
                f"JobStatus: {job.instrument} {job.product}, job {short_id(job.job_id)}, "
                f"{self.state}, elapsed {_elapsed(self._elapsed_seconds())}, "
                f"{self.fraction:.0%}",
                f"  {self.message}",
            ]
            if job.comment:
                lines.append(f"  comment: {job.comment}")
        return redact("\n".join(lines), job.token)

    def _repr_mimebundle_(self, **kwargs):
        # ipywidgets cuts text/plain at 110 characters; front ends without widgets deserve it all.
        bundle = super()._repr_mimebundle_(**kwargs)
        if isinstance(bundle, dict):
            bundle["text/plain"] = repr(self)
        return bundle


__all__ = ["JobStatus", "STATE_COLOURS", "NO_CANCEL", "short_id"]
