"""``QueryForm``: pick an instrument and a product, fill its parameters, submit.

The form is a view over a :class:`~oda_widgets.form.model.FormModel` (the fields, their checks,
the request): one control per field, chosen by the rules of :mod:`oda_widgets.form.registry`.
Values are checked as they are typed; Submit stays disabled while a field is wrong. Everything a
button does is a method: ``submit()``, ``resolve()``, ``reset()``, ``show_api_code()``. The job a
submission starts is published in the ``job`` trait (observe it to follow jobs elsewhere).
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as W
import traitlets

from oda_widgets.client import links
from oda_widgets.client.description import InstrumentDescription, ProductDescription
from oda_widgets.client.job import Job
from oda_widgets.errors import OdaError
from oda_widgets.form.controls import Control
from oda_widgets.form.memory import LastValues
from oda_widgets.form.model import Field, FormModel
from oda_widgets.form.registry import control_for
from oda_widgets.redaction import redact

__all__ = ["QueryForm"]

_BLOCK_TITLES = {"source": "Source", "instrument": "Instrument", "product": "Product"}


class QueryForm(W.VBox):
    """A form for one dispatcher request.

    ``QueryForm(dispatcher, instrument, product)``: ``dispatcher`` is a ``Dispatcher`` or a URL
    (None: the demo dispatcher). ``form.values`` is the par_dict the dispatcher wants,
    ``form.set_values(...)`` fills the form from a dict or from pasted API code,
    ``form.submit()`` starts the job and returns it (also published as ``form.job``).
    ``form.model`` is the widget-free :class:`~oda_widgets.form.model.FormModel` underneath.

    Below the form a ``JobStatus`` follows the submitted job (``show_job=False``: not shown, for
    callers that follow jobs themselves). ``job_store`` goes to that ``JobStatus`` (the resume
    store); by default jobs of the built-in demo dispatcher are not remembered, others are.
    """

    #: the job the last submission started (not synced to the page)
    job = traitlets.Instance(Job, allow_none=True)

    def __init__(
        self,
        dispatcher=None,
        instrument: str | None = None,
        product: str | None = None,
        *,
        query_type: str = "Real",
        description: InstrumentDescription | None = None,
        remember: bool | str | os.PathLike = False,
        show_job: bool = True,
        job_store: Any = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.show_job = show_job
        # the demo's jobs die with its process: remembering them would leave dead entries
        self.job_store = (dispatcher is not None) if job_store is None else job_store
        self.add_class("oda-query-form")
        self.controls: dict[str, Control] = {}
        self._known: dict[str, Control] = {}  # last control per name: kept across switches
        self.job_view = None
        self._switching = False
        #: the folding sections of the form by block ("source", "instrument", "product"): an
        #: Accordion each, open at first; ``selected_index = None`` folds one. Kept across product
        #: switches, so a folded section stays folded.
        self.sections: dict[str, W.Accordion] = {}

        self.instrument_picker = W.Dropdown(
            description="Instrument", options=[], layout=W.Layout(width="330px")
        )
        self.product_picker = W.Dropdown(description="Product", options=[], layout=W.Layout(width="330px"))
        self.instrument_picker.add_class("oda-form-instrument")
        self.product_picker.add_class("oda-form-product")
        self.parameters_box = W.VBox()
        self.note = W.HTML(value="")
        self.note.add_class("oda-form-note")
        self.submit_button = W.Button(description="Submit", button_style="primary", icon="play")
        self.submit_button.add_class("oda-form-submit")
        self.api_code_button = W.Button(description="API code", icon="code")
        self.reset_button = W.Button(description="Reset", icon="undo")
        self.resolve_button = W.Button(
            description="Resolve",
            icon="search",
            tooltip="Fill RA and DEC from the source name",
            layout=W.Layout(width="100px"),
        )
        self.resolve_button.add_class("oda-form-resolve")
        self.paste_button = W.Button(
            description="Paste code or link",
            icon="paste",
            tooltip="Fill the form from API code, a par_dict or an MMODA link",
            layout=W.Layout(width="auto"),
        )
        self.paste_button.add_class("oda-form-paste")
        self.share_button = W.Button(
            description="Share link",
            icon="link",
            tooltip="The MMODA web frontend's link for this query",
            layout=W.Layout(width="auto"),
        )
        self.share_button.add_class("oda-form-share")
        self.code_view = W.Textarea(layout=W.Layout(width="95%", height="220px"))
        self.code_view.add_class("oda-form-api-code")
        self.load_button = W.Button(
            description="Fill the form from this code or link", icon="arrow-up", layout=W.Layout(width="auto")
        )
        self.load_button.add_class("oda-form-load-code")
        self.code_box = W.VBox([self.code_view, self.load_button], layout=W.Layout(display="none"))
        self.code_view.observe(self._code_edited, names="value")
        self.job_area = W.VBox(layout=W.Layout(display=None if show_job else "none"))

        self.submit_button.on_click(lambda _b: self._guarded(self.submit))
        self.api_code_button.on_click(lambda _b: self._guarded(self.show_api_code))
        self.reset_button.on_click(lambda _b: self._guarded(self.reset))
        self.paste_button.on_click(lambda _b: self._guarded(self.show_paste))
        self.share_button.on_click(lambda _b: self._guarded(self.show_share_link))
        self.load_button.on_click(lambda _b: self._guarded(self.load_code))
        self.resolve_button.on_click(lambda _b: self._guarded(self.resolve))
        self.instrument_picker.observe(self._instrument_picked, names="value")
        self.product_picker.observe(self._product_picked, names="value")

        self.children = [
            W.HBox([self.instrument_picker, self.product_picker]),
            self.parameters_box,
            self.note,
            W.HBox(
                [
                    self.submit_button,
                    self.api_code_button,
                    self.share_button,
                    self.paste_button,
                    self.reset_button,
                ]
            ),
            self.code_box,
            self.job_area,
        ]
        self.model = FormModel(
            dispatcher,
            instrument,
            product,
            query_type=query_type,
            description=description,
            remember=remember,
        )
        # values are read through the controls, so a registered control may refine what it reads
        self.model.reader = self._read
        self._show_instruments()
        self._show_product()
        self._show_note()
        self.model.observe(self._model_changed)

    # -- the model underneath -----------------------------------------------------------------
    @property
    def dispatcher(self):
        """The ``Dispatcher`` this form sends to (made from the URL, or the demo's, on first use)."""
        return self.model.dispatcher

    @property
    def instrument(self) -> str | None:
        return self.model.instrument

    @property
    def product(self) -> str | None:
        return self.model.product

    @property
    def description(self) -> InstrumentDescription | None:
        return self.model.description

    @property
    def product_description(self) -> ProductDescription | None:
        return self.model.product_description

    @property
    def query_type(self) -> str:
        return self.model.query_type

    @query_type.setter
    def query_type(self, value: str) -> None:
        self.model.query_type = value

    @property
    def unknown_keys(self) -> list[str]:
        return self.model.unknown_keys

    @property
    def memory(self) -> LastValues | None:
        return self.model.memory

    def _read(self, field: Field) -> Any:
        control = self.controls.get(field.name)
        if control is not None and control.field is field:
            return control.get()
        return field.value

    def _model_changed(self, what: str) -> None:
        if what == "instruments":
            self._show_instruments()
        elif what == "product":
            self._show_product()
        elif what == "errors":
            self._publish()
        elif what == "note":
            self._show_note()
        elif what == "job":
            self.job = self.model.job
            self._show_job(self.model.job)

    # -- choosing instrument and product ------------------------------------------------------
    def instrument_description(self, instrument: str) -> InstrumentDescription:
        """The (cached) description of ``instrument`` from the dispatcher."""
        return self.model.instrument_description(instrument)

    def select(self, instrument: str, product: str | None = None) -> None:
        """Show ``instrument`` (and ``product``, default: its first product).

        Values typed in parameters that the new product shares are kept.
        """
        self.model.select(instrument, product)

    def select_product(self, product: str) -> None:
        """Switch to another product of the current instrument (shared values are kept)."""
        self.model.select_product(product)

    def recall(self) -> bool:
        """Fill in the values last submitted for this product (``remember=True``); True if any."""
        return self.model.recall()

    def _show_instruments(self) -> None:
        self._switching = True
        try:
            self.instrument_picker.options = list(self.model.instruments)
            if self.model.instrument in self.model.instruments:
                self.instrument_picker.value = self.model.instrument
        finally:
            self._switching = False

    def _instrument_picked(self, change) -> None:
        if not self._switching and change["new"]:
            self._guarded(lambda: self.select(change["new"]))
            if self.instrument != change["new"]:  # refused (e.g. a restricted instrument)
                self._switching = True
                try:
                    self.instrument_picker.value = self.instrument
                finally:
                    self._switching = False

    def _product_picked(self, change) -> None:
        if not self._switching and change["new"]:
            self._guarded(lambda: self.select(self.instrument, change["new"]))

    def _control(self, field: Field) -> Control:
        """The control showing ``field``: the one that already does, or a new one."""
        old = self._known.get(field.name)
        if old is not None and old.field is field:
            return old
        control = control_for(field.spec, field.instrument)
        control.bind(field)
        name = field.name
        control.fixer = lambda value, name=name: self.apply_fix(name, value)
        if name == "scw_list":
            control.loader = lambda content, file_name: self.set_scw_list(content, name=file_name)
        elif name == "selected_catalog":
            control.loader = lambda content, file_name: self.set_user_catalog(content, name=file_name)
        self._known[field.name] = control
        return control

    def _show_product(self) -> None:
        product = self.model.product_description
        if product is None:
            return
        self._switching = True
        try:
            if self.model.instrument not in self.instrument_picker.options:
                self.instrument_picker.options = list(self.model.instruments)
            self.instrument_picker.value = self.model.instrument
            self.product_picker.options = self.model.description.described_products
            self.product_picker.value = product.name
        finally:
            self._switching = False
        self.controls = {name: self._control(field) for name, field in self.model.fields.items()}
        sections = []
        for block in ("source", "instrument", "product"):
            specs = [s for s in product.parameters if s.block == block]
            if not specs:
                continue
            title = _BLOCK_TITLES[block]
            if block == "instrument":
                title += f": {self.instrument}"
            elif block == "product":
                title += f": {product.name}"
            rows: list[W.Widget] = []
            groups: dict[str, list[W.Widget]] = {}
            for spec in specs:
                row = self._row(self.controls[spec.name])
                if spec.group:
                    groups.setdefault(spec.group, []).append(row)
                else:
                    rows.append(row)
            for group, members in groups.items():
                box = W.VBox(
                    [W.HTML(f"<i>{html.escape(group)}</i>"), *members],
                    layout=W.Layout(border="1px solid #ddd", padding="2px 6px", margin="2px 0"),
                )
                box.add_class("oda-form-group")
                rows.append(box)
            sections.append(self._section(block, title, rows))
        self.parameters_box.children = sections
        self._publish()

    def _section(self, block: str, title: str, rows: list[W.Widget]) -> W.Accordion:
        """The folding section of ``block`` holding ``rows``, titled ``title``."""
        section = self.sections.get(block)
        if section is None:
            section = W.Accordion(children=(W.VBox(rows),), titles=(title,), layout=W.Layout(margin="2px 0"))
            section.selected_index = 0
            section.add_class(f"oda-form-block-{block}")
            self.sections[block] = section
            return section
        with section.hold_sync():
            section.children = (W.VBox(rows),)
            section.titles = (title,)
        return section

    def _row(self, control: Control) -> W.Widget:
        if control.name == "src_name":
            return W.HBox([control.row, self.resolve_button])
        return control.row

    # -- validation ---------------------------------------------------------------------------
    def _publish(self) -> None:
        """Show every field's message; Submit only when none of ours is left."""
        errors = self.model.checked_errors
        fixes = self.model.fixes
        for name, control in self.controls.items():
            control.show(self.model.shown_message(name), fixes.get(name, ()))
        self.submit_button.disabled = bool(errors) or self.product is None
        self.submit_button.tooltip = (
            "Fix the fields marked in red first" if errors else "Send this request to the dispatcher"
        )

    def validate(self) -> dict[str, str]:
        """Check every field; returns {parameter: message} for the wrong ones (shown in place)."""
        return self.model.validate()

    @property
    def errors(self) -> dict[str, str]:
        """{parameter: message} of the fields that are wrong now (ours and the server's)."""
        return self.model.errors

    # -- values ---------------------------------------------------------------------------------
    @property
    def params(self) -> dict[str, Any]:
        """The product parameters with their companions (``T_format``...), in the dispatcher's
        order; ``InvalidParameter`` if a field is wrong. Empty fields whose default is empty are
        left out (the dispatcher applies that default)."""
        return self.model.params

    @property
    def values(self) -> dict[str, Any]:
        """The par_dict for the dispatcher: ``instrument``, ``product_type``, every parameter."""
        return self.model.values

    def set_values(self, data: Mapping[str, Any] | str | None = None, /, **kwargs) -> None:
        """Fill the form from a par_dict, keyword arguments, or pasted API code (text).

        Keys it does not know are listed in ``unknown_keys`` and shown in a note. Values that a
        field cannot take raise ``InvalidParameter`` after every other value was placed.
        """
        self.model.set_values(data, **kwargs)

    @property
    def not_literal(self) -> list[str]:
        """Keys of the last pasted code whose value was not a literal (the code is never run)."""
        return self.model.not_literal

    @property
    def fixes(self) -> dict[str, list[Any]]:
        """{parameter: values it would take instead} (what the fix buttons offer)."""
        return self.model.fixes

    def apply_fix(self, name: str, value: Any = None) -> Any:
        """Put an offered fix into field ``name`` (default: the first offered); what a fix button
        does. Returns the value set."""
        return self.model.apply_fix(name, value)

    def set_scw_list(self, source: Any, *, name: str | None = None) -> list[str]:
        """Fill ``scw_list`` from a list file (path or uploaded bytes; text, CSV or FITS with a
        ``SWID``/``scw_id`` column) or text; what the *List file* button does. Bad rows are
        named by line, duplicates removed, the count shown. Returns the list."""
        return self.model.set_scw_list(source, name=name)

    def set_user_catalog(self, source: Any, *, name: str | None = None):
        """Send the sources of a catalog file (FITS, ECSV, CSV… with name/RA/Dec columns, or an
        astropy Table) as ``selected_catalog``; what the *Catalog file* button does."""
        return self.model.set_user_catalog(source, name=name)

    def share_link(self, frontend_url: str | None = None) -> str:
        """The MMODA web frontend's link for what the form shows (no token inside)."""
        return self.model.share_link(frontend_url)

    def show_share_link(self, frontend_url: str | None = None) -> str:
        """Show :meth:`share_link` under the form (and return it)."""
        link = self.share_link(frontend_url)
        self.code_view.value = link
        self.code_box.layout.display = None
        return link

    def link_catalog(self, catalog) -> None:
        """Send ``catalog`` (a ``Catalog``) as ``selected_catalog``; the field says how many sources."""
        self.model.link_catalog(catalog)

    def reset(self) -> None:
        """Every field back to the dispatcher's default."""
        self.model.reset()

    # -- actions ------------------------------------------------------------------------------
    def api_code(self) -> str:
        """oda_api code asking for what the form shows (token read from ``$ODA_TOKEN``)."""
        return self.model.api_code()

    def show_api_code(self) -> str:
        """Show the API code under the form (and return it)."""
        code = self.api_code()
        self.code_view.value = code
        self.code_box.layout.display = None
        return code

    def show_paste(self) -> None:
        """Open an empty box under the form to paste API code, a par_dict or a link into."""
        self.code_view.value = ""
        self.code_box.layout.display = None

    def _code_edited(self, change) -> None:
        # pasted code or a job link may carry a token in clear: never keep it in widget state (it
        # would be saved with the notebook); a job link is read at once, before the token goes
        text = change["new"]
        clean = redact(text)
        if clean == text:
            return
        if links.is_link(text):
            self._guarded(lambda: self.load_code(text))
        self.code_view.value = clean

    def load_code(self, text: str | None = None) -> None:
        """Fill the form from ``text`` (default: the box under the form): API code (read, never
        run), a par_dict, or a link (the web frontend's, a dispatcher job link)."""
        self.set_values(self.code_view.value if text is None else text)

    def resolve(self, name: str | None = None):
        """Fill RA and DEC from the source name (``src_name`` or ``name``); returns the SkyCoord."""
        return self.model.resolve(name)

    def submit(self, query_type: str | None = None) -> Job:
        """Send the request; returns the ``Job`` (shown below the form, and published as ``job``).

        Wrong fields raise ``InvalidParameter`` before anything is sent; a parameter the
        dispatcher refuses is shown at its field and the error raised.
        """
        return self.model.submit(query_type)

    def on_submit(self, callback: Callable[[Job], Any]) -> None:
        """Call ``callback(job)`` after each submission (the same as observing ``job``)."""
        self.observe(lambda change: change["new"] is not None and callback(change["new"]), "job")

    def _show_job(self, job) -> None:
        if not self.show_job or job is None:
            return
        from oda_widgets.job_status import JobStatus

        self.job_view = JobStatus(job, store=self.job_store)
        self.job_area.children = [self.job_view]

    # -- messages ---------------------------------------------------------------------------
    def _show_note(self) -> None:
        text = self.model.note
        if not text:
            self.note.value = ""
            return
        color = "#c62828" if self.model.note_is_error else "#555"
        self.note.value = f'<span style="color:{color}">{html.escape(text)}</span>'

    def _guarded(self, action) -> None:
        """Run a button's method; its error is shown in the form instead of raised."""
        try:
            action()
        except OdaError as exc:
            self.model.say(self.model.redact(str(exc)), error=True)

    def __repr__(self) -> str:
        return f"QueryForm({self.model.url!r}, instrument={self.instrument!r}, product={self.product!r})"
