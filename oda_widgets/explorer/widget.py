"""``Explorer``: ask the dispatcher, follow the jobs, look at the products, follow up — in one widget.

The pieces do the work: :class:`~oda_widgets.form.QueryForm` builds and checks the request,
:class:`~oda_widgets.job_status.JobBoard` follows every job, :func:`~oda_widgets.results.results_view`
shows the products. The Explorer only connects them: a submitted job goes onto the board, a finished
job's products open in a tab, the catalog table's follow-up jobs join the board, a light curve's
brushed interval goes back into the form.

Layout: the query (form and job board) and the results sit side by side where the screen is wide
enough and stack on narrow ones — a wrapping flex row, no script measuring the page. The form's
sections fold; each job's results have a tab titled with the job.
"""

from __future__ import annotations

import html
import os
import threading
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from oda_widgets.cache import product_path
from oda_widgets.catalog import CatalogTable
from oda_widgets.client import Dispatcher, Job, OdaError, protocol, redact
from oda_widgets.errors import InvalidParameter
from oda_widgets.job_status.widget import short_id
from oda_widgets.light_curve import LightCurveView
from oda_widgets.products.collection import default_folder_name
from oda_widgets.results import results_view
from oda_widgets.static import StaticFallback, children_html

__all__ = ["Explorer", "DISPATCHER_URL_ENV"]

#: Environment variable naming the dispatcher the Explorer uses when no ``url`` is given.
DISPATCHER_URL_ENV = "ODA_DISPATCHER_URL"


class Explorer(StaticFallback, widgets.VBox):
    """The whole flow in one widget: query form, job board, results, follow-ups.

    ``Explorer()`` talks to ``$ODA_DISPATCHER_URL`` or, if that is not set, starts the built-in demo
    dispatcher in this process (simulated INTEGRAL data; nothing leaves the machine) and says so.
    ``Explorer(url)`` talks to that dispatcher, with ``token`` or the token oda_api would find
    (``url`` may also be a :class:`~oda_widgets.client.Dispatcher`). The demo gets no token unless given one.
    Jobs on a real dispatcher are remembered in the resume store (``store``; see
    :class:`~oda_widgets.job_status.JobBoard`), demo jobs are not.

    Every button is also a method: :meth:`submit`, :meth:`show_results`, :meth:`spectrum_for_selected`,
    :meth:`light_curves_for_selected`, :meth:`use_interval_as_t1_t2`, :meth:`show_api_code`,
    :meth:`save_products`. In a notebook, ``job = ex.submit(); await job`` waits without blocking the
    widgets; in a script ``ex.wait(job)`` does.

    Saved notebooks show a static snapshot of it (banner, form values, the pictures of the results
    on show) where no kernel draws the widget.
    """

    _static_html = children_html

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        instrument: str | None = None,
        product: str | None = None,
        store: Any = None,
        demo_speed: float = 1.0,
        **kwargs,
    ):
        from oda_widgets.form import QueryForm
        from oda_widgets.job_status import JobBoard

        self.demo_server = None
        if isinstance(url, Dispatcher):
            self.dispatcher = url
        else:
            url = url or os.environ.get(DISPATCHER_URL_ENV) or None
            if url is None:
                from oda_widgets import demo

                self.demo_server = demo.start(speed=demo_speed)
                url = self.demo_server.url
                # your real token (found in $ODA_TOKEN or .oda-token) is no business of the demo
                token = "" if token is None else token
            self.dispatcher = Dispatcher(url, token)
        #: every job the Explorer started or adopted, in order
        self.jobs: list[Job] = []
        #: ResultsView per job (by id(job)), built the first time the results are shown
        self.results: dict[int, Any] = {}
        #: the job whose products are shown under Results
        self.shown_job: Job | None = None
        self._lock = threading.RLock()

        self.banner = widgets.HTML(self._banner_html())
        self.banner.add_class("oda-explorer-banner")
        # the board below follows the jobs; the form's own status area would show them twice
        self.form = QueryForm(self.dispatcher, instrument, product, show_job=False)
        self.form.observe(lambda change: self._adopt(change["new"]), "job")
        # jobs of a real dispatcher go to the resume store (JobBoard.restore() after a kernel restart);
        # the demo's die with this kernel, so remembering them would only leave dead entries
        self.board = JobBoard(store=(self.demo_server is None) if store is None else store)

        self.job_picker = widgets.Dropdown(
            description="Job", options=[], layout=widgets.Layout(width="300px", min_width="220px")
        )
        self.job_picker.add_class("oda-explorer-job-picker")
        self.results_button = self._button(
            "Show results", "table", "oda-explorer-show-results", lambda: self.show_results()
        )
        self.api_code_button = self._button(
            "API code", "code", "oda-explorer-api-code-button", lambda: self.show_api_code()
        )
        self.save_button = self._button(
            "Save products", "save", "oda-explorer-save", lambda: self.save_products()
        )
        self.directory = widgets.Text(
            placeholder="folder in oda-products/ (default: <product>_<job>)",
            layout=widgets.Layout(width="300px", min_width="160px"),
        )
        self.directory.add_class("oda-explorer-directory")
        self.message = widgets.HTML()
        self.message.add_class("oda-explorer-message")
        self.code_view = widgets.Textarea(layout=widgets.Layout(width="95%", height="240px", display="none"))
        self.code_view.add_class("oda-explorer-api-code")
        self.results_title = widgets.HTML()
        self.results_title.add_class("oda-explorer-results-title")
        # One job's products on the page at a time, in that job's tab: the panes of the other tabs
        # are emptied rather than hidden with their views, because bqplot figures laid out in a
        # hidden (zero-size) pane draw negative sizes. A pane gets its view after its tab is selected.
        #: one tab per job whose results were shown, titled "<n>. <product>"
        self.results_tabs = widgets.Tab(layout=widgets.Layout(width="100%"))
        self.results_tabs.add_class("oda-explorer-results-tabs")
        self._tab_jobs: list[Job] = []
        self._no_results = _pane()
        self._picking = False
        self.job_picker.observe(self._job_picked, "value")
        self.results_tabs.observe(self._tab_picked, "selected_index")

        bar = widgets.HBox(
            [self.job_picker, self.results_button, self.api_code_button, self.save_button, self.directory],
            layout=widgets.Layout(flex_flow="row wrap"),
        )
        # Side by side when both columns fit at their basis (~1200 px), stacked below: flex-wrap is
        # the breakpoint. The query column keeps the form's width; the results take the rest.
        self.query_column = widgets.VBox(
            [_heading("Query"), self.form, _heading("Jobs"), self.board],
            layout=widgets.Layout(flex="0 1 600px", min_width="0", margin="0 16px 0 0"),
        )
        self.query_column.add_class("oda-explorer-query")
        self.results_column = widgets.VBox(
            [_heading("Results"), bar, self.message, self.code_view, self.results_title, self.results_tabs],
            layout=widgets.Layout(flex="1 1 580px", min_width="0"),
        )
        self.results_column.add_class("oda-explorer-results-column")
        self.columns = widgets.Box(
            [self.query_column, self.results_column],
            layout=widgets.Layout(
                display="flex", flex_flow="row wrap", align_items="flex-start", width="100%"
            ),
        )
        self.columns.add_class("oda-explorer-columns")

        super().__init__(children=[self.banner, self.columns], **kwargs)
        self.add_class("oda-explorer")

    # -- jobs -----------------------------------------------------------------------------------
    def submit(self, query_type: str | None = None) -> Job:
        """Send what the form shows (as the Submit button does); the job goes onto the board."""
        return self.form.submit(query_type)  # the form publishes it: _adopt puts it on the board

    def add_job(self, job: Job) -> Job:
        """Follow ``job`` here: on the board, in the job picker, its products shown when done."""
        with self._lock:
            if any(j is job for j in self.jobs):
                return job
            self.jobs.append(job)
        status = self.board.add(job)
        status.observe(lambda change, job=job: self._on_state(job, change["new"]), "state")
        self._update_picker(select=job)
        if status.state == "done":
            self._on_state(job, "done")
        return job

    def wait(self, job: Job | None = None, timeout: float | None = None):
        """Block until ``job`` (default: the picked one) is finished and show its results.

        For scripts; in a notebook ``await job`` keeps the widgets alive while waiting.
        Returns the :class:`~oda_widgets.results.ResultsView` (raises the job's error if it failed).
        """
        job = self._job(job)
        job.wait(timeout=timeout)
        return self.show_results(job)

    @property
    def job(self) -> Job | None:
        """The job picked in the Results bar (the latest one, unless you picked another)."""
        return self.job_picker.value

    def _job(self, job: Job | None) -> Job:
        job = job if job is not None else self.job
        if job is None:
            raise OdaError("No job yet: fill the form and press Submit (or call explorer.submit()).")
        return job

    def _adopt(self, job: Job | None) -> None:
        """A job the form or a catalog table published: follow it here (once)."""
        if job is not None:
            self.add_job(job)

    def _on_state(self, job: Job, state: str) -> None:
        # only the newest job's products pop up; an older job finishing must not take the view
        # away from what the user is looking at (they stay one pick away in the job bar)
        with self._lock:
            newest = bool(self.jobs) and self.jobs[-1] is job
        if state == "done" and newest and id(job) not in self.results:
            self._guarded(lambda: self.show_results(job))

    def _update_picker(self, select: Job | None = None) -> None:
        options = [
            (f"{i + 1}. {j.instrument}/{j.product} {short_id(j.job_id)}", j) for i, j in enumerate(self.jobs)
        ]
        current = select if select is not None else self.job_picker.value
        self._picking = True  # a change made here is not the user picking a job
        try:
            self.job_picker.options = options
            self.job_picker.value = current if any(j is current for _, j in options) else None
        finally:
            self._picking = False

    def _job_picked(self, change) -> None:
        job = change["new"]
        if self._picking or job is None:
            return
        if job.finished:
            self._guarded(lambda: self.show_results(job))
        else:
            self._say(
                f"{job.product} job {short_id(job.job_id)} is {job.state.value}: its products "
                "open here when it is done."
            )

    # -- results --------------------------------------------------------------------------------
    def show_results(self, job: Job | None = None):
        """Show the products of ``job`` (default: the picked one) under Results; returns its ResultsView.

        Views are built once per job and kept: picking an earlier job in the bar shows it again as it was.
        """
        job = self._job(job)
        with self._lock:
            view = self.results.get(id(job))
            if view is None:
                view = results_view(job.result(), dispatcher=job.dispatcher)
                self.results[id(job)] = view
                self._connect(view)
            self.shown_job = job
            self.results_title.value = (
                f"<b>{html.escape(job.instrument)}/{html.escape(job.product)}</b> "
                f"job <code>{html.escape(short_id(job.job_id))}</code>"
            )
            self._show_tab(job, view)
        self._update_picker(select=job)
        self._say(
            f"Showing the products of {job.instrument}/{job.product} job {short_id(job.job_id)}"
            + (f" — {len(view.problems)} shown as summaries" if view.problems else "")
        )
        return view

    def tab_title(self, job: Job) -> str:
        """The title of ``job``'s results tab: its number in the job list and its product."""
        number = next((i + 1 for i, j in enumerate(self.jobs) if j is job), len(self.jobs) + 1)
        return f"{number}. {job.product}"

    @property
    def results_area(self) -> widgets.VBox:
        """The pane of the results on show (its one child is the job's ResultsView); an empty box
        before any results were shown."""
        tabs = self.results_tabs
        index = tabs.selected_index
        if index is None or not tabs.children or self.shown_job is None:
            return self._no_results
        return tabs.children[index]

    def _show_tab(self, job: Job, view) -> None:
        """Select ``job``'s tab (made on first show), then put ``view`` into its pane; the other
        tabs' panes are emptied, so nothing of theirs is laid out while hidden."""
        tabs = self.results_tabs
        index = next((i for i, j in enumerate(self._tab_jobs) if j is job), None)
        panes = list(tabs.children)
        if index is None:
            self._tab_jobs.append(job)
            panes.append(_pane())
            index = len(panes) - 1
        self._picking = True  # a change made here is not the user picking a tab
        try:
            with tabs.hold_sync():
                if len(tabs.children) != len(panes):
                    tabs.children = panes
                    tabs.titles = tuple(self.tab_title(j) for j in self._tab_jobs)
                tabs.selected_index = index
        finally:
            self._picking = False
        # the pane is on show now: its view is laid out at its real size
        shown = panes[index]
        if shown.children != (view,):
            shown.children = (view,)
        shown.add_class(_RESULTS_CLASS)
        for pane in panes:
            if pane is not shown:
                pane.remove_class(_RESULTS_CLASS)
                if pane.children:
                    pane.children = ()

    def _tab_picked(self, change) -> None:
        index = change["new"]
        if self._picking or index is None or not 0 <= index < len(self._tab_jobs):
            return
        job = self._tab_jobs[index]
        if job is not self.shown_job:
            self._guarded(lambda: self.show_results(job))

    def _connect(self, view) -> None:
        """Wire a results view's outputs into the Explorer: the catalog table's follow-up jobs
        join the board, a light curve's "Use as T1/T2" fills this form."""
        table = view.first("catalog")
        if isinstance(table, CatalogTable):
            table.observe(lambda change: self._adopt(change["new"]), "follow_up_job")
        for lc in view.views.get("light_curves", []):
            if isinstance(lc, LightCurveView):  # one per kind of value (stacked views)
                lc.link_form(self.form)

    def _view_with(self, key: str, job: Job | None):
        """The first ``key`` view of ``job``'s results, or of the newest results that have one."""
        if job is not None:
            view = self.show_results(job).first(key)
            if view is None:
                raise OdaError(f"The {job.product} job has no {key.replace('_', ' ')} to work with.")
            return view
        picked = self.job
        candidates = [self.results[id(picked)]] if picked is not None and id(picked) in self.results else []
        candidates += [self.results[id(j)] for j in reversed(self.jobs) if id(j) in self.results]
        for view in candidates:
            found = view.first(key)
            if found is not None and not isinstance(found, widgets.HTML):
                return found
        what = {"catalog": "an image with a catalog (e.g. isgri_image)", "light_curves": "a light curve"}.get(
            key, key
        )
        raise OdaError(f"No results with {what} yet: run one first.")

    # -- follow-ups -----------------------------------------------------------------------------
    def spectrum_for_selected(self, job: Job | None = None) -> Job:
        """Spectra of the sources selected in the catalog table (of ``job``, default: the latest
        image); the new job goes onto the board and its spectra open when done."""
        table = self._view_with("catalog", job)
        return self.add_job(table.spectrum_for_selected())  # also published: added once

    def light_curves_for_selected(self, job: Job | None = None) -> Job:
        """Light curves of the sources selected in the catalog table (as :meth:`spectrum_for_selected`)."""
        table = self._view_with("catalog", job)
        return self.add_job(table.light_curves_for_selected())

    def use_interval_as_t1_t2(self, job: Job | None = None):
        """Put the interval brushed on a light curve into the form's T1/T2; returns the astropy Time pair."""
        lc = self._view_with("light_curves", job)
        return lc.use_as_t1_t2(self.form)

    def api_code(self, job: Job | None = None) -> str:
        """oda_api code for ``job`` (default: the picked one; no job yet: what the form shows).

        The token is never written out: the code reads it from ``os.environ['ODA_TOKEN']``.
        """
        job = job if job is not None else self.job
        if job is None:
            return self.form.api_code()
        par_dict = {"instrument": job.instrument, "product_type": job.product, **job.params}
        code = protocol.api_code(
            par_dict, job.dispatcher.url, with_token=bool(job.token), query_type=job.query_type
        )
        return redact(code, job.token)

    def show_api_code(self, job: Job | None = None) -> str:
        """Show :meth:`api_code` under the Results bar (and return it)."""
        code = self.api_code(job)
        self.code_view.value = code
        self.code_view.layout.display = None
        return code

    def save_products(self, directory: str | Path | None = None, job: Job | None = None) -> list[Path]:
        """Write every product of ``job`` (default: the picked one) as FITS/ECSV/… files into
        ``directory`` (default: the folder typed in the bar, else ``<product>_<job id>``). Relative
        folders are inside the products folder (:func:`oda_widgets.cache.products_dir`: the working
        directory's ``oda-products/``, never this project's ``notebooks/``). Returns the paths written."""
        job = self._job(job)
        collection = job.result()
        folder = product_path(
            directory or self.directory.value.strip() or None,
            default=default_folder_name(job.product, job.job_id),
        )
        paths = collection.save(folder)
        self._say(f"Saved {len(paths)} file(s) of {job.product} into {folder}")
        return paths

    # -- housekeeping ---------------------------------------------------------------------------
    def close(self) -> None:
        """Stop following the jobs, stop the demo dispatcher if this Explorer started it."""
        for status in list(self.board.statuses):
            status.cancel()
        if self.demo_server is not None:
            self.demo_server.stop()
        super().close()

    def _banner_html(self) -> str:
        url = html.escape(self.dispatcher.url)
        if self.demo_server is not None:
            return (
                f"<div style='background:#eef6ff;border-left:4px solid #1f77b4;padding:4px 8px'>"
                f"<b>Demo dispatcher</b> running in this kernel at <code>{url}</code>: simulated INTEGRAL "
                f"data, nothing leaves this machine. For the real service use "
                f"<code>Explorer(url=...)</code> or set <code>${DISPATCHER_URL_ENV}</code>.</div>"
            )
        info = self.dispatcher.token_info
        who = (
            f"as {html.escape(info.email or info.name or 'token user')}"
            if info is not None
            else "without a token (public data only)"
        )
        return f"<div>Dispatcher <code>{url}</code>, {who}.</div>"

    def _button(self, description: str, icon: str, css: str, action) -> widgets.Button:
        button = widgets.Button(description=description, icon=icon)
        button.add_class(css)
        button.on_click(lambda _b: self._guarded(action))
        return button

    def _guarded(self, action) -> Any:
        """Run a button's method; a failure is shown in the Explorer instead of lost in a log."""
        try:
            return action()
        except (OdaError, InvalidParameter, OSError) as exc:
            self._say(str(exc), error=True)
            return None

    def _say(self, text: str, *, error: bool = False) -> None:
        text = redact(text, self.dispatcher.token)
        colour = "#c62828" if error else "#333"
        self.message.value = f"<span style='color:{colour}'>{html.escape(text)}</span>" if text else ""

    def __repr__(self) -> str:
        kind = "demo dispatcher" if self.demo_server is not None else "dispatcher"
        return f"Explorer({kind} {self.dispatcher.url}, {len(self.jobs)} jobs)"


# the CSS class of the pane holding the results on show (one element on the page)
_RESULTS_CLASS = "oda-explorer-results"


def _pane() -> widgets.VBox:
    return widgets.VBox(layout=widgets.Layout(width="100%"))


def _heading(text: str) -> widgets.HTML:
    return widgets.HTML(f"<h3 style='margin:10px 0 4px'>{html.escape(text)}</h3>")
