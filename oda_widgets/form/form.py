"""``QueryForm``: pick an instrument and a product, fill its parameters, submit.

The form is built from the dispatcher's own description of each product (``Dispatcher.description``),
one control per user parameter chosen by the rules of :mod:`oda_widgets.form.registry`. Values are
checked as they are typed; Submit stays disabled while a field is wrong. Everything a button does
is a method: ``submit()``, ``resolve()``, ``reset()``, ``show_api_code()``.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Mapping
from typing import Any

import ipywidgets as W

from oda_widgets.client.description import InstrumentDescription, ProductDescription
from oda_widgets.client.dispatcher import BOOKKEEPING
from oda_widgets.client.token import redact
from oda_widgets.errors import InvalidParameter, OdaError, RequestNotUnderstood
from oda_widgets.form.api_code import api_code, par_dict_from_code
from oda_widgets.form.controls import CatalogControl, Control, TimeControl
from oda_widgets.form.memory import LastValues
from oda_widgets.form.registry import control_for

__all__ = ["QueryForm"]

# Request arguments a pasted par_dict may carry that are not form fields (PROTOCOL §1.3).
_REQUEST_KEYS = (BOOKKEEPING - {"instrument", "product_type"}) | {
    "verbose",
    "run_asynch",
    "client-name",
    "use_scws",
    "use_resolver[local]",
}
_QUERY_TYPES = ("Real", "Dummy")
# Fields whose values must be in this order (message at the second one).
_ORDERED_PAIRS = (("T1", "T2"), ("E1_keV", "E2_keV"))
_BLOCK_TITLES = {"source": "Source", "instrument": "Instrument", "product": "Product"}


def _default_dispatcher() -> str:
    """URL of the process-wide demo dispatcher (started on first use)."""
    from oda_widgets import demo

    return demo.default_server().url


def _as_dispatcher(dispatcher):
    from oda_widgets.client.dispatcher import Dispatcher

    if dispatcher is None:
        dispatcher = _default_dispatcher()
    if isinstance(dispatcher, str):
        return Dispatcher(dispatcher)
    return dispatcher


class QueryForm(W.VBox):
    """A form for one dispatcher request.

    ``QueryForm(dispatcher, instrument, product)``: ``dispatcher`` is a ``Dispatcher`` or a URL
    (None: the demo dispatcher). ``form.values`` is the par_dict the dispatcher wants,
    ``form.set_values(...)`` fills the form from a dict or from pasted API code,
    ``form.submit()`` starts the job and returns it.

    Below the form a ``JobStatus`` follows the submitted job (``show_job=False``: not shown, for
    callers that follow jobs themselves). ``job_store`` goes to that ``JobStatus`` (the resume
    store); by default jobs of the built-in demo dispatcher are not remembered, others are.
    """

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
        self._dispatcher_arg = dispatcher
        self._dispatcher = None
        self.query_type = query_type
        self.instrument: str | None = None
        self.product: str | None = None
        self.description: InstrumentDescription | None = None
        self.product_description: ProductDescription | None = None
        self.controls: dict[str, Control] = {}
        self.unknown_keys: list[str] = []
        self.job = None
        self.job_view = None
        # a description given up front is used as is (no request for it)
        self._descriptions: dict[str, InstrumentDescription] = (
            {description.instrument: description} if description is not None else {}
        )
        self._known: dict[str, Control] = {}  # last control per name: kept across switches
        self._errors: dict[str, str] = {}
        self._own: dict[str, str | None] = {}  # each field's own message (None: valid)
        self._server_errors: dict[str, str] = {}
        self._catalog = None
        self._switching = False
        # remember=True (or a file path): values of each submitted product come back next time
        self.memory = None if not remember else LastValues(None if remember is True else remember)
        self._recalled: set[tuple[str, str]] = set()

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
            description="Paste code", icon="paste", tooltip="Fill the form from API code or a par_dict"
        )
        self.code_view = W.Textarea(layout=W.Layout(width="95%", height="220px"))
        self.code_view.add_class("oda-form-api-code")
        self.load_button = W.Button(description="Fill the form from this code", icon="arrow-up")
        self.load_button.add_class("oda-form-load-code")
        self.code_box = W.VBox([self.code_view, self.load_button], layout=W.Layout(display="none"))
        self.code_view.observe(self._code_edited, names="value")
        self.job_area = W.VBox()

        self.submit_button.on_click(lambda _b: self._guarded(self.submit))
        self.api_code_button.on_click(lambda _b: self._guarded(self.show_api_code))
        self.reset_button.on_click(lambda _b: self._guarded(self.reset))
        self.paste_button.on_click(lambda _b: self._guarded(self.show_paste))
        self.load_button.on_click(lambda _b: self._guarded(self.load_code))
        self.resolve_button.on_click(lambda _b: self._guarded(self.resolve))
        self.instrument_picker.observe(self._instrument_picked, names="value")
        self.product_picker.observe(self._product_picked, names="value")

        self.children = [
            W.HBox([self.instrument_picker, self.product_picker]),
            self.parameters_box,
            self.note,
            W.HBox([self.submit_button, self.api_code_button, self.paste_button, self.reset_button]),
            self.code_box,
            self.job_area,
        ]
        if description is not None:
            instrument = instrument or description.instrument
            self._set_instrument_options([instrument])
        else:
            self._load_instruments(instrument)
        if instrument is not None or self.instrument_picker.options:
            self.select(instrument or self.instrument_picker.options[0], product)

    @property
    def dispatcher(self):
        """The ``Dispatcher`` this form sends to (made from the URL, or the demo's, on first use)."""
        if self._dispatcher is None:
            self._dispatcher = _as_dispatcher(self._dispatcher_arg)
        return self._dispatcher

    # -- choosing instrument and product ------------------------------------------------------
    def _load_instruments(self, wanted: str | None) -> None:
        try:
            names = list(self.dispatcher.instruments())
        except OdaError as exc:
            self._say(f"Could not list the instruments: {exc}", error=True)
            names = []
        if wanted is not None and wanted not in names:
            names.append(wanted)
        self._set_instrument_options(names)

    def _set_instrument_options(self, names: list[str]) -> None:
        self._switching = True
        try:
            self.instrument_picker.options = names
        finally:
            self._switching = False

    def instrument_description(self, instrument: str) -> InstrumentDescription:
        """The (cached) description of ``instrument`` from the dispatcher."""
        if instrument not in self._descriptions:
            self._descriptions[instrument] = self.dispatcher.description(instrument)
        return self._descriptions[instrument]

    def select(self, instrument: str, product: str | None = None) -> None:
        """Show ``instrument`` (and ``product``, default: its first product).

        Values typed in parameters that the new product shares are kept.
        """
        desc = self.instrument_description(instrument)
        products = desc.described_products
        if not products:
            raise InvalidParameter(f"{instrument} offers no products", parameter="instrument")
        if product is None:
            product = self.product if self.product in products else products[0]
        if product not in products:
            raise InvalidParameter(
                f"{instrument} has no product {product!r}; it offers {', '.join(products)}",
                parameter="product_type",
            )
        self._switching = True
        try:
            if instrument not in self.instrument_picker.options:
                self.instrument_picker.options = [*self.instrument_picker.options, instrument]
            self.instrument_picker.value = instrument
            self.product_picker.options = products
            self.product_picker.value = product
        finally:
            self._switching = False
        self.instrument, self.description = instrument, desc
        self._show_product(desc.product(product))
        if self.memory is not None and (instrument, product) not in self._recalled:
            self._recalled.add((instrument, product))
            self.recall()

    def recall(self) -> bool:
        """Fill in the values last submitted for this product (``remember=True``); True if any."""
        if self.memory is None or self.product is None:
            return False
        saved = self.memory.load(self.instrument, self.product)
        if not saved:
            return False
        try:
            self.set_values(saved)
        except InvalidParameter:
            pass  # a remembered value the product no longer takes: the field shows why
        return True

    def select_product(self, product: str) -> None:
        """Switch to another product of the current instrument (shared values are kept)."""
        self.select(self.instrument, product)

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

    def _control(self, spec) -> Control:
        """A control for ``spec``: the same one as before if nothing changed, else a new one
        that takes over what the user had typed in the old one."""
        old = self._known.get(spec.name)
        if old is not None and old.spec == spec and old.instrument == self.instrument:
            return old
        control = control_for(spec, self.instrument or "")
        control.on_change(self._field_changed)
        fmt = getattr(control, "fmt", None)
        if spec.format_name and isinstance(fmt, W.Dropdown):
            fmt.observe(lambda change, c=control: self._format_changed(c, change["new"]), names="value")
        if old is not None:
            self._carry_over(old, control)
        if isinstance(control, CatalogControl) and self._catalog is not None:
            control.set(self._catalog)
        self._known[spec.name] = control
        return control

    def _format_changed(self, source: Control, fmt: str) -> None:
        """One companion serves several parameters (T_format for T1 and T2): switch them all."""
        if self.controls.get(source.name) is not source:
            return
        for control in self.controls.values():
            if control is not source and control.spec.format_name == source.spec.format_name:
                control.set_companion(control.spec.format_name, fmt)

    @staticmethod
    def _carry_over(old: Control, new: Control) -> None:
        try:
            value = old.get()
        except InvalidParameter:
            return
        untouched = value == old.spec.default and all(
            fmt == old.spec.format_default for fmt in old.companions().values()
        )
        if untouched:
            return  # the new product's own default is better
        try:
            for name, fmt in old.companions().items():
                new.set_companion(name, fmt)
            new.set(value)
        except (InvalidParameter, ValueError, TypeError):
            new.reset()

    def _show_product(self, product: ProductDescription) -> None:
        self.product = product.name
        self.product_description = product
        self.controls = {spec.name: self._control(spec) for spec in product.parameters}
        self._server_errors.clear()
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
            rows: list[W.Widget] = [W.HTML(f"<h4 style='margin:6px 0 2px'>{html.escape(title)}</h4>")]
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
            section = W.VBox(rows)
            section.add_class(f"oda-form-block-{block}")
            sections.append(section)
        self.parameters_box.children = sections
        self.validate()

    def _row(self, control: Control) -> W.Widget:
        if control.name == "src_name":
            return W.HBox([control.row, self.resolve_button])
        return control.row

    # -- validation ---------------------------------------------------------------------------
    def _field_changed(self, control: Control) -> None:
        if control.name not in self.controls or self.controls[control.name] is not control:
            return
        self._server_errors.pop(control.name, None)
        self._own[control.name] = control.validate()
        self._publish()

    def _pair_errors(self, own: Mapping[str, str | None]) -> dict[str, str]:
        """Order checks between fields that are each valid: T1 before T2, E1_keV below E2_keV."""
        out: dict[str, str] = {}
        for first, second in _ORDERED_PAIRS:
            a, b = self.controls.get(first), self.controls.get(second)
            if a is None or b is None or own.get(first) or own.get(second):
                continue
            try:
                if isinstance(a, TimeControl) and isinstance(b, TimeControl):
                    x, y = a.get(), b.get()
                    if x is None or y is None:
                        continue
                    if not a.instant() < b.instant():
                        out[second] = f"{second} must be after {first}"
                else:
                    x, y = a.get(), b.get()
                    if x is not None and y is not None and not x < y:
                        out[second] = f"{second} must be above {first} ({x:g})"
            except (InvalidParameter, TypeError):
                continue
        return out

    def _publish(self) -> None:
        """Show every field's message and enable Submit only when there is none of ours."""
        errors = {name: message for name, message in self._own.items() if message and name in self.controls}
        errors.update((k, v) for k, v in self._pair_errors(self._own).items() if k not in errors)
        self._errors = errors
        for name, control in self.controls.items():
            control.show(errors.get(name) or self._server_errors.get(name))
        self.submit_button.disabled = bool(errors) or self.product is None
        self.submit_button.tooltip = (
            "Fix the fields marked in red first" if errors else "Send this request to the dispatcher"
        )

    def validate(self) -> dict[str, str]:
        """Check every field; returns {parameter: message} for the wrong ones (shown in place)."""
        self._own = {name: control.validate() for name, control in self.controls.items()}
        self._publish()
        return dict(self._errors)

    @property
    def errors(self) -> dict[str, str]:
        """{parameter: message} of the fields that are wrong now (ours and the server's)."""
        return {**self._server_errors, **self._errors}

    # -- values ---------------------------------------------------------------------------------
    @property
    def params(self) -> dict[str, Any]:
        """The product parameters with their companions (``T_format``...), in the dispatcher's
        order; ``InvalidParameter`` if a field is wrong. Empty fields whose default is empty are
        left out (the dispatcher applies that default)."""
        errors = self.validate()
        if errors:
            name, message = next(iter(errors.items()))
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            raise InvalidParameter(message + more, parameter=name, details={"errors": errors})
        out: dict[str, Any] = {}
        for name, control in self.controls.items():
            value = control.get()
            # left empty where the default is empty: the dispatcher's own default, so not sent
            # (1.3.3 refuses an explicit null selected_catalog, and an empty p_list travels as
            # the text "[]"); an emptied non-null default goes as NUL
            if not (control.spec.empty_default and value in (None, [])):
                out[name] = value
            for comp, value in control.companions().items():
                out.setdefault(comp, value)
        return out

    @property
    def values(self) -> dict[str, Any]:
        """The par_dict for the dispatcher: ``instrument``, ``product_type``, every parameter."""
        return {"instrument": self.instrument, "product_type": self.product, **self.params}

    def set_values(self, data: Mapping[str, Any] | str | None = None, /, **kwargs) -> None:
        """Fill the form from a par_dict, keyword arguments, or pasted API code (text).

        Keys it does not know are listed in ``unknown_keys`` and shown in a note. Values that a
        field cannot take raise ``InvalidParameter`` after every other value was placed.
        """
        skipped: list[str] = []
        if isinstance(data, str):
            data, skipped = par_dict_from_code(data)
        values = dict(data or {})
        values.update(kwargs)

        product = values.pop("product", None)
        product_type = values.pop("product_type", None)
        query_type = values.pop("query_type", None)
        if product is None and product_type not in _QUERY_TYPES:
            product = product_type
        elif product_type in _QUERY_TYPES:
            query_type = product_type
        if query_type in _QUERY_TYPES:
            self.query_type = query_type
        instrument = values.pop("instrument", None)
        if instrument not in (None, "mock"):
            self.select(str(instrument), None if product is None else str(product))
        elif product is not None:
            self.select_product(str(product))

        companions = {c.spec.format_name: c for c in self.controls.values() if c.spec.format_name}
        problems: list[InvalidParameter] = []
        for name, value in values.items():
            if name in companions:
                for control in self.controls.values():
                    if control.spec.format_name == name:
                        control.set_companion(name, value)
        unknown = []
        for name, value in values.items():
            if name in companions or name in _REQUEST_KEYS:
                continue
            control = self.controls.get(name)
            if control is None:
                unknown.append(name)
                continue
            try:
                control.set(value)
                self._server_errors.pop(name, None)
            except InvalidParameter as exc:
                problems.append(exc)
        unknown.extend(k for k in skipped if k != "token" and k not in unknown)
        self.unknown_keys = unknown
        for exc in problems:
            # shown at the field until it is edited, like the server's refusals
            self._server_errors[exc.parameter] = str(exc)
        self.validate()
        if unknown:
            self._say(f"Not used by {self.instrument}/{self.product}: {', '.join(unknown)}", error=False)
        else:
            self._say("")
        if problems:
            raise problems[0]

    def link_catalog(self, catalog) -> None:
        """Send ``catalog`` (a ``Catalog``) as ``selected_catalog``; the field says how many sources."""
        self._catalog = catalog
        control = self.controls.get("selected_catalog")
        if control is not None:
            control.set(catalog)

    def reset(self) -> None:
        """Every field back to the dispatcher's default."""
        self._catalog = None
        for control in self.controls.values():
            control.reset()
        self._server_errors.clear()
        self.unknown_keys = []
        self._say("")
        self.validate()

    # -- actions ------------------------------------------------------------------------------
    def api_code(self) -> str:
        """oda_api code asking for what the form shows (token read from ``$ODA_TOKEN``)."""
        return api_code(
            self.values,
            self.dispatcher.url,
            with_token=bool(getattr(self.dispatcher, "token", None)),
            query_type=self.query_type,
        )

    def show_api_code(self) -> str:
        """Show the API code under the form (and return it)."""
        code = self.api_code()
        self.code_view.value = code
        self.code_box.layout.display = None
        return code

    def show_paste(self) -> None:
        """Open an empty box under the form to paste API code (or a par_dict) into."""
        self.code_view.value = ""
        self.code_box.layout.display = None

    def _code_edited(self, change) -> None:
        # pasted code may carry a token in clear: never keep it in widget state (it would be
        # saved with the notebook); the form never uses a pasted token anyway
        clean = redact(change["new"])
        if clean != change["new"]:
            self.code_view.value = clean

    def load_code(self, text: str | None = None) -> None:
        """Fill the form from ``text`` (default: the code box); the code is read, never run."""
        self.set_values(self.code_view.value if text is None else text)

    def resolve(self, name: str | None = None):
        """Fill RA and DEC from the source name (``src_name`` or ``name``); returns the SkyCoord."""
        src = self.controls.get("src_name")
        if name is None:
            if src is None:
                raise InvalidParameter("This product has no source name", parameter="src_name")
            name = src.get()
        elif src is not None:
            src.set(name)
        try:
            coord = self.dispatcher.resolve(name)
        except RequestNotUnderstood as exc:
            if src is not None:
                self._server_errors["src_name"] = str(exc)
                src.show(str(exc))
            raise
        for key, angle in (("RA", coord.ra), ("DEC", coord.dec)):
            if key in self.controls:
                self.controls[key].set(angle)
        self._say(f"{name}: RA {coord.ra.deg:.5f}°, DEC {coord.dec.deg:.5f}°")
        return coord

    def submit(self, query_type: str | None = None):
        """Send the request; returns the ``Job`` (shown below the form when JobStatus exists).

        Wrong fields raise ``InvalidParameter`` before anything is sent; a parameter the
        dispatcher refuses is shown at its field and the error raised.
        """
        qt = query_type or self.query_type
        params = self.params
        self._server_errors.clear()
        try:
            job = self.dispatcher.submit(self.instrument, self.product, params, query_type=qt)
        except RequestNotUnderstood as exc:
            name = exc.parameter if exc.parameter in self.controls else self._blamed(str(exc), params)
            if name is not None:
                self._server_errors[name] = str(exc)
                self.controls[name].show(str(exc))
            raise
        self.job = job
        unsaved = ""
        if self.memory is not None:
            try:
                self.memory.save(self.instrument, self.product, params)
            except OdaError as exc:  # the job is sent: say so, and why the values were not kept
                unsaved = f" ({exc})"
        self._say(
            f"Submitted {self.instrument}/{self.product} ({qt}): job "
            f"{getattr(job, 'job_id', '') or ''}{unsaved}"
        )
        self._show_job(job)
        return job

    def _blamed(self, message: str, params: Mapping[str, Any]) -> str | None:
        """The field whose text value the server quotes ("OSA11.0 is being phased out")."""
        for name, value in params.items():
            if (
                name in self.controls
                and isinstance(value, str)
                and len(value) >= 3
                and re.search(r"(?<![\w.-])" + re.escape(value) + r"(?![\w-])", message)
            ):
                return name
        return None

    def _show_job(self, job) -> None:
        if not self.show_job:
            return
        try:
            from oda_widgets.job_status import JobStatus
        except ImportError:
            return  # the job status widget is optional here: the Job is returned anyway
        self.job_view = JobStatus(job, store=self.job_store)
        self.job_area.children = [self.job_view]

    # -- messages ---------------------------------------------------------------------------
    def _say(self, text: str, *, error: bool = False) -> None:
        if not text:
            self.note.value = ""
            return
        color = "#c62828" if error else "#555"
        self.note.value = f'<span style="color:{color}">{html.escape(text)}</span>'

    def _guarded(self, action) -> None:
        """Run a button's method; its error is shown in the form instead of raised."""
        try:
            action()
        except OdaError as exc:
            d = self._dispatcher
            self._say(d.redact(str(exc)) if hasattr(d, "redact") else str(exc), error=True)

    def __repr__(self) -> str:
        url = getattr(self._dispatcher, "url", self._dispatcher_arg)
        return f"QueryForm({url!r}, instrument={self.instrument!r}, product={self.product!r})"
