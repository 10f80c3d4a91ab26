"""The form without widgets: a product's parameters as fields, their values checked, the request sent.

``FormModel(dispatcher, instrument, product)`` reads the dispatcher's description and holds one
:class:`Field` per user parameter; each field's :class:`~oda_widgets.form.kinds.Kind` parses and
checks what is typed, the checks of :mod:`oda_widgets.form.checks` compare fields (T1 before T2).
A script or a test drives it directly::

    model = FormModel(url, "isgri", "isgri_spectrum")
    model.set_values(E1_keV=25, T1="2017-03-06T13:26:48")
    model.errors            # {} or {parameter: message}
    model.values            # the par_dict
    job = model.submit()

:class:`~oda_widgets.form.QueryForm` is a view over it: its controls show and edit the fields.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Mapping
from typing import Any

from oda_widgets.client import links, protocol
from oda_widgets.client.description import InstrumentDescription, ParameterSpec, ProductDescription
from oda_widgets.client.dispatcher import Dispatcher
from oda_widgets.client.job import Job, resolve_job_link
from oda_widgets.errors import InvalidParameter, OdaError, RequestNotUnderstood
from oda_widgets.form.checks import checks, fixes_of
from oda_widgets.form.kinds import Kind, json_text, kind_for
from oda_widgets.form.memory import LastValues
from oda_widgets.redaction import redact

__all__ = ["Field", "FormModel", "default_dispatcher"]


def default_dispatcher(dispatcher: Dispatcher | str | None) -> Dispatcher:
    """A ``Dispatcher`` for what a form was given: a Dispatcher, a URL, or None for the built-in
    demo dispatcher of this process (started on first use)."""
    if dispatcher is None:
        from oda_widgets import demo

        dispatcher = demo.default_server().url
    if isinstance(dispatcher, str):
        return Dispatcher(dispatcher)
    return dispatcher


FieldObserver = Callable[["Field", str], Any]


class Field:
    """One parameter of a form: its spec, its kind, what was typed (``input``) and its format.

    ``value`` is the par_dict value (``InvalidParameter`` with a message naming the parameter if
    the input is wrong); ``set(value)`` takes what a user or a script would pass; ``set_format``
    switches the companion (``T_format``...) keeping the value; ``load(path_or_bytes)`` reads a
    file (a ScW list, a catalog). ``summary`` is the line shown under the field (how many science
    windows, where they came from); ``problem`` a failed load's message, shown until the next edit.
    Observers are called with ``(field, "input")``, ``(field, "format")`` or ``(field, "problem")``.
    """

    def __init__(self, spec: ParameterSpec, instrument: str = "", kind: Kind | None = None):
        self.spec = spec
        self.instrument = instrument
        self.kind = kind or kind_for(spec)
        #: values an open choice took besides the published ones
        self.extra_choices: list[Any] = []
        self._extra_formats: list[str] = []
        self.format: str | None = self.kind.initial_format(spec)
        self.input: Any = self.kind.initial_input(self)
        #: where the input came from ("12 science windows from scws.txt"), '' once edited by hand
        self.origin = ""
        #: why the last ``load`` failed (shown at the field until the input changes)
        self.problem: str | None = None
        self._observers: list[FieldObserver] = []

    @property
    def name(self) -> str:
        return self.spec.name

    # -- reading ---------------------------------------------------------------------------
    def fail(self, message: str, fixes: tuple | list = ()) -> InvalidParameter:
        """The error to raise for a wrong input (it names this parameter); ``fixes`` are values
        the field would take instead (offered as one-click fixes)."""
        details = {"fixes": list(fixes)} if fixes else None
        return InvalidParameter(message, parameter=self.spec.name, details=details)

    def empty(self) -> Any:
        """The value of an empty optional field (None), or a 'required' error."""
        if self.spec.optional:
            return None
        raise self.fail(f"{self.spec.name} is required")

    @property
    def value(self) -> Any:
        """The value for the par_dict (None: empty); ``InvalidParameter`` if the input is wrong."""
        value = self.kind.parse(self, self.input)
        if value is None:
            return None
        self.kind.validate(self, value)
        return self.kind.to_wire(self, value)

    @property
    def message(self) -> str | None:
        """What is wrong with the input (None when it is valid)."""
        try:
            _ = self.value
        except InvalidParameter as exc:
            return str(exc)
        return None

    @property
    def fixes(self) -> list[Any]:
        """Values this field would take instead of its wrong input (empty: none to offer)."""
        try:
            _ = self.value
        except InvalidParameter as exc:
            return list(exc.details.get("fixes") or [])
        return []

    @property
    def summary(self) -> str:
        """The line under the field: what the kind says of the input ("12 science windows"),
        with where it came from when it was loaded from a file."""
        own = self.kind.summary(self)
        if self.origin and own and not self.origin.startswith(own.split(" (")[0]):
            return f"{own} — {self.origin}"
        return self.origin or own

    def companions(self) -> dict[str, Any]:
        """Companion arguments (``T_format``...) to send with this parameter."""
        if self.spec.format_name and self.format:
            return {self.spec.format_name: self.format}
        return {}

    def formats(self) -> list[str]:
        """The formats offered for this field (empty: none)."""
        offered = self.kind.formats(self.spec)
        return offered + [f for f in self._extra_formats if f not in offered]

    @property
    def untouched(self) -> bool:
        """True when the field holds its default value in its default format."""
        try:
            value = self.value
        except InvalidParameter:
            return False
        return value == self.spec.default and all(
            fmt == self.spec.format_default for fmt in self.companions().values()
        )

    # -- writing ---------------------------------------------------------------------------
    def set_input(self, raw: Any) -> None:
        """What the user typed (text for most kinds), taken as is; checked when read."""
        if raw is self.input or (type(raw) is type(self.input) and _same(raw, self.input)):
            return
        self.input = raw
        self.origin = ""
        self.problem = None
        self._notify("input")

    def load(self, source: Any, name: str | None = None) -> Any:
        """Read the field's value from a file (a path, or the bytes of an upload named ``name``)
        as its kind does (ScW lists: text, CSV, FITS; catalogs: FITS, ECSV, CSV). Returns the value
        shown. A file that cannot be read raises ``InvalidParameter`` saying why (also kept in
        ``problem``) and changes nothing."""
        try:
            value, origin = self.kind.from_file(self, source, name)
        except InvalidParameter as exc:
            self.problem = str(exc)
            self._notify("problem")
            raise
        self.set(value)
        self.origin = origin
        self.problem = None
        self._notify("input")
        return value

    def set(self, value: Any) -> None:
        """Show ``value`` (text, number, astropy object... as the kind allows); ``InvalidParameter``
        if the field cannot take it (then nothing changes). Setting the value it already has
        still counts as an edit (observers hear it: a refusal shown at the field is cleared)."""
        raw = self.kind.to_input(self, value)
        if raw is self.input or (type(raw) is type(self.input) and _same(raw, self.input)):
            self._notify("input")
        else:
            self.set_input(raw)

    def set_format(self, fmt: str | None) -> None:
        """Switch the companion's format (``isot``/``mjd``, ``sec``/``jd``); the value is kept.

        Fields without a companion ignore it."""
        if not fmt or not self.spec.format_name or fmt == self.format:
            return
        if fmt not in self.formats():
            self._extra_formats.append(fmt)
        old, self.format = self.format, fmt
        self.input = self.kind.convert(self, self.input, old, fmt)
        self._notify("format")

    def reset(self) -> None:
        """Back to the description's default (and the default format)."""
        self.format = self.kind.initial_format(self.spec)
        self.input = self.kind.initial_input(self)
        self._notify("format")

    # -- observers -------------------------------------------------------------------------
    def observe(self, callback: FieldObserver) -> None:
        self._observers.append(callback)

    def unobserve(self, callback: FieldObserver) -> None:
        if callback in self._observers:
            self._observers.remove(callback)

    def _notify(self, what: str) -> None:
        for callback in list(self._observers):
            callback(self, what)

    def __repr__(self) -> str:
        return f"Field({self.name!r}, kind={self.kind.name!r}, input={self.input!r}, format={self.format!r})"


def _not_literal(name: str) -> str:
    return (
        f"{name}: the pasted value is not a literal (a variable or an expression); the code is "
        "read, never run — type the value here"
    )


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # arrays and other values without a plain truth value
        return False


ModelObserver = Callable[[str], Any]


class FormModel:
    """A dispatcher request being filled in: instrument, product, checked parameter values.

    ``FormModel(dispatcher, instrument, product)``: ``dispatcher`` is a ``Dispatcher``, a URL or
    None (the demo dispatcher). ``description`` given: used as is (nothing requested).
    ``remember=True`` (or a file path): the values last submitted for a product come back when it
    is chosen again (:class:`~oda_widgets.form.memory.LastValues`).

    Observers (``observe(callback)``) hear ``"instruments"``, ``"product"`` (new fields),
    ``"errors"`` (after any edit), ``"note"`` and ``"job"``; a view updates itself from them.
    """

    def __init__(
        self,
        dispatcher: Dispatcher | str | None = None,
        instrument: str | None = None,
        product: str | None = None,
        *,
        query_type: str = "Real",
        description: InstrumentDescription | None = None,
        remember: bool | str | os.PathLike = False,
    ):
        self._dispatcher_arg = dispatcher
        self._dispatcher: Dispatcher | None = None
        self.query_type = query_type
        self.instruments: list[str] = []
        self.instrument: str | None = None
        self.product: str | None = None
        self.description: InstrumentDescription | None = None
        self.product_description: ProductDescription | None = None
        #: the fields of the current product, in the dispatcher's order
        self.fields: dict[str, Field] = {}
        #: keys of the last ``set_values`` the product does not take
        self.unknown_keys: list[str] = []
        #: keys of the last pasted code whose value was not a literal (read, never run)
        self.not_literal: list[str] = []
        #: the last job submitted
        self.job: Job | None = None
        #: the one-line note for the user, and whether it reports an error
        self.note = ""
        self.note_is_error = False
        #: how a field's value is read; a view may read through its controls
        self.reader: Callable[[Field], Any] = lambda field: field.value
        self._descriptions: dict[str, InstrumentDescription] = (
            {description.instrument: description} if description is not None else {}
        )
        self._known: dict[str, Field] = {}  # last field per name: kept across switches
        self._own: dict[str, str | None] = {}  # each field's own message (None: valid)
        self._own_fixes: dict[str, list[Any]] = {}
        self._errors: dict[str, str] = {}
        self._fixes: dict[str, list[Any]] = {}
        self._resolver_note = False  # the note and src_name refusal come from the resolver
        self._resolving = False
        #: messages shown at a field until it is edited: the server's refusals, values refused by set_values
        self.refusals: dict[str, str] = {}
        self._catalog: Any = None
        self._observers: list[ModelObserver] = []
        self.memory = None if not remember else LastValues(None if remember is True else remember)
        self._recalled: set[tuple[str, str]] = set()

        if description is not None:
            instrument = instrument or description.instrument
            self.instruments = [instrument]
        else:
            self._load_instruments(instrument)
        if instrument is not None or self.instruments:
            self.select(instrument or self.instruments[0], product)

    # -- the dispatcher and its descriptions ------------------------------------------------
    @property
    def dispatcher(self) -> Dispatcher:
        """The ``Dispatcher`` requests go to (made from the URL, or the demo's, on first use)."""
        if self._dispatcher is None:
            self._dispatcher = default_dispatcher(self._dispatcher_arg)
        return self._dispatcher

    def _load_instruments(self, wanted: str | None) -> None:
        try:
            names = list(self.dispatcher.instruments())
        except OdaError as exc:
            self.say(f"Could not list the instruments: {exc}", error=True)
            names = []
        if wanted is not None and wanted not in names:
            names.append(wanted)
        self.instruments = names
        self._notify("instruments")

    def instrument_description(self, instrument: str) -> InstrumentDescription:
        """The (cached) description of ``instrument`` from the dispatcher."""
        if instrument not in self._descriptions:
            self._descriptions[instrument] = self.dispatcher.description(instrument)
        return self._descriptions[instrument]

    # -- choosing instrument and product ----------------------------------------------------
    def select(self, instrument: str, product: str | None = None) -> None:
        """Choose ``instrument`` (and ``product``, default: the current one if it has it, else its
        first). Values typed in parameters that the new product shares are kept."""
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
        if instrument not in self.instruments:
            self.instruments.append(instrument)
        self.instrument, self.description = instrument, desc
        self._show_product(desc.product(product))
        if self.memory is not None and (instrument, product) not in self._recalled:
            self._recalled.add((instrument, product))
            self.recall()

    def select_product(self, product: str) -> None:
        """Switch to another product of the current instrument (shared values are kept)."""
        if self.instrument is None:
            raise InvalidParameter("choose an instrument first", parameter="instrument")
        self.select(self.instrument, product)

    def recall(self) -> bool:
        """Fill in the values last submitted for this product (``remember=True``); True if any."""
        if self.memory is None or self.product is None or self.instrument is None:
            return False
        saved = self.memory.load(self.instrument, self.product)
        if not saved:
            return False
        try:
            self.set_values(saved)
        except InvalidParameter:
            pass  # a remembered value the product no longer takes: the field shows why
        return True

    def _show_product(self, product: ProductDescription) -> None:
        self.product = product.name
        self.product_description = product
        self.fields = {spec.name: self._field(spec) for spec in product.parameters}
        self.refusals.clear()
        self._notify("product")
        self.validate()

    def _field(self, spec: ParameterSpec) -> Field:
        """The field for ``spec``: the same one as before if nothing changed, else a new one that
        takes over the value of the old one (unless that was still its default)."""
        old = self._known.get(spec.name)
        if old is not None and old.spec == spec and old.instrument == self.instrument:
            return old
        field = Field(spec, self.instrument or "")
        field.observe(self._field_changed)
        if old is not None and not old.untouched:
            try:
                for name, fmt in old.companions().items():
                    if name == field.spec.format_name:
                        field.set_format(fmt)
                field.set(self.reader(old))
            except (InvalidParameter, ValueError, TypeError):
                field.reset()
        if field.kind.name == "catalog" and self._catalog is not None:
            field.set(self._catalog)
        self._known[spec.name] = field
        return field

    # -- checking ---------------------------------------------------------------------------
    def _message(self, field: Field) -> str | None:
        try:
            self.reader(field)
        except InvalidParameter as exc:
            self._own_fixes[field.name] = list(exc.details.get("fixes") or [])
            return str(exc)
        self._own_fixes.pop(field.name, None)
        return None

    def _field_changed(self, field: Field, what: str) -> None:
        if self.fields.get(field.name) is not field:
            return
        if what == "format" and field.spec.format_name:
            # one companion serves several parameters (T_format for T1 and T2): switch them all
            for other in self.fields.values():
                if other is not field and other.spec.format_name == field.spec.format_name:
                    other.set_format(field.format)
        if what != "problem":
            self.refusals.pop(field.name, None)
        if field.name in ("RA", "DEC", "src_name") and self._resolver_note and not self._resolving:
            # the user types a position (or another name): the resolver's message is stale
            self._clear_resolver_note()
        if field.kind.name == "catalog" and hasattr(field.input, "to_selected_catalog"):
            self._catalog = field.input  # a catalog loaded at the field is kept across products
        self._own[field.name] = self._message(field)
        self._publish()

    def _cross_errors(self) -> dict[str, str]:
        valid = {name: f for name, f in self.fields.items() if not self._own.get(name)}
        out: dict[str, str] = {}
        for check in checks():
            for name, message in check(valid, self.reader).items():
                out.setdefault(name, message)
        return out

    def _publish(self) -> None:
        errors = {name: m for name, m in self._own.items() if m and name in self.fields}
        fixes = {name: f for name, f in self._own_fixes.items() if f and name in errors}
        for name, message in self._cross_errors().items():
            if name not in errors:
                errors[name] = message
                if fixes_of(message):
                    fixes[name] = fixes_of(message)
        self._errors, self._fixes = errors, fixes
        self._notify("errors")

    def validate(self) -> dict[str, str]:
        """Check every field; returns {parameter: message} for the wrong ones."""
        self._own = {name: self._message(field) for name, field in self.fields.items()}
        self._publish()
        return dict(self._errors)

    @property
    def fixes(self) -> dict[str, list[Any]]:
        """{parameter: values it would take instead} for wrong fields with a known fix (the
        nearest valid time bins, RA wrapped into [0, 360)…): what the fix buttons offer."""
        return {k: list(v) for k, v in self._fixes.items()}

    def apply_fix(self, name: str, value: Any = None) -> Any:
        """Put a fix offered for ``name`` into the field (``value``: one of ``fixes[name]``;
        default the first). Returns the value set; ``InvalidParameter`` if none is offered."""
        offered = self._fixes.get(name) or []
        if value is None:
            if not offered:
                raise InvalidParameter(f"no fix is offered for {name}", parameter=name)
            value = offered[0]
        field = self.fields.get(name)
        if field is None:
            raise InvalidParameter(f"{self.product} has no parameter {name!r}", parameter=name)
        field.set(value)
        return value

    @property
    def errors(self) -> dict[str, str]:
        """{parameter: message} of the fields that are wrong now (ours and the server's)."""
        return {**self.refusals, **self._errors}

    @property
    def checked_errors(self) -> dict[str, str]:
        """{parameter: message} of our own checks only (what blocks a submission)."""
        return dict(self._errors)

    def shown_message(self, name: str) -> str | None:
        """The message to show next to field ``name`` (ours first, then the server's, then why a
        file could not be loaded there)."""
        field = self.fields.get(name)
        return self._errors.get(name) or self.refusals.get(name) or (field.problem if field else None)

    # -- values -----------------------------------------------------------------------------
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
        for name, field in self.fields.items():
            value = self.reader(field)
            # left empty where the default is empty: the dispatcher's own default, so not sent
            # (1.3.3 refuses an explicit null selected_catalog, and an empty p_list travels as
            # the text "[]"); an emptied non-null default goes as NUL
            if not (field.spec.empty_default and value in (None, [])):
                out[name] = value
            for comp, fmt in field.companions().items():
                out.setdefault(comp, fmt)
        return out

    @property
    def values(self) -> dict[str, Any]:
        """The par_dict for the dispatcher: ``instrument``, ``product_type``, every parameter."""
        return {"instrument": self.instrument, "product_type": self.product, **self.params}

    def set_values(self, data: Mapping[str, Any] | str | None = None, /, **kwargs: Any) -> None:
        """Fill the fields from a par_dict, keyword arguments, pasted API code (text) or a pasted
        link: the web frontend's query link (its *Share* button, the dispatcher's e-mails), a
        dispatcher job link (``/resolve-job-url``: asked for its parameters) or a poll URL.

        ``product``/``product_type``/``query_type`` are read as oda_api and the dispatcher spell
        them (:func:`~oda_widgets.client.protocol.read_par_dict`). Keys the product does not take
        are listed in ``unknown_keys``; pasted code whose value is not a literal (a variable, a
        call) in ``not_literal`` — the code is read, never run. Values a field cannot take raise
        ``InvalidParameter`` after every other value was placed (and stay shown at their field).

        Setting only times (``T1``/``T2``, with or without ``T_format``, e.g. an interval brushed
        on a light curve) keeps the form's time format: ``T_format`` then says how the given
        values are written, and they are shown converted (an MJD form stays MJD).
        """
        skipped: list[str] = []
        if isinstance(data, str):
            if links.is_link(data):
                data = self._link_par_dict(data)
            else:
                data, skipped = protocol.par_dict_from_code(data)
        given = dict(data or {})
        given.update(kwargs)
        request = protocol.read_par_dict(given)
        if request.query_type is not None:
            self.query_type = request.query_type
        if request.instrument is not None:
            self.select(request.instrument, request.product)
        elif request.product is not None:
            self.select_product(request.product)

        values = request.parameters
        companions = {f.spec.format_name for f in self.fields.values() if f.spec.format_name}
        times_only = self._times_only(request, values, companions)
        if not times_only:
            for name, value in values.items():
                if name in companions:
                    for field in self.fields.values():
                        if field.spec.format_name == name:
                            field.set_format(value)
        unknown: list[str] = []
        problems: list[InvalidParameter] = []
        for name, value in values.items():
            if name in companions or name in protocol.NOT_PARAMETERS:
                continue
            field = self.fields.get(name)
            if field is None:
                unknown.append(name)
                continue
            try:
                read_as = getattr(field.kind, "read_as", None)
                if times_only and read_as is not None:
                    value = read_as(field, value, values.get(field.spec.format_name or ""))
                field.set(value)
                self.refusals.pop(name, None)
            except InvalidParameter as exc:
                problems.append(exc)
        self.not_literal = [k for k in skipped if k != "token"]
        self.unknown_keys = unknown
        for name in self.not_literal:
            if name in self.fields:  # the field keeps its value; the message says why
                self.refusals[name] = _not_literal(name)
        for exc in problems:
            # shown at the field until it is edited, like the server's refusals
            self.refusals[exc.parameter or ""] = str(exc)
        self.validate()
        notes = []
        if self.not_literal:
            notes.append(
                f"Not a literal (the pasted code is read, never run; type these values): {', '.join(self.not_literal)}"
            )
        if unknown:
            notes.append(f"Not used by {self.instrument}/{self.product}: {', '.join(unknown)}")
        self.say(". ".join(notes), error=bool(self.not_literal))
        if problems:
            raise problems[0]

    def _times_only(self, request: protocol.ParDict, values: Mapping[str, Any], companions: set) -> bool:
        """True when a call sets nothing but time instants (and their format companion)."""
        if request.instrument is not None or request.product is not None or request.query_type is not None:
            return False
        times = {n for n, f in self.fields.items() if f.kind.name == "time"}
        given = set(values)
        return bool(given & times) and given <= times | companions

    def _link_par_dict(self, text: str) -> dict[str, Any]:
        """The par_dict of a pasted link (a job link is asked for its parameters first)."""
        link = links.read_link(text)
        if link.needs_resolving:
            own = self.dispatcher
            same = own.url.rstrip("/") == link.dispatcher_url.rstrip("/")
            link = resolve_job_link(own if same else Dispatcher(link.dispatcher_url, token=""), link)
        return dict(link.par_dict)

    def share_link(self, frontend_url: str | None = None) -> str:
        """The MMODA web frontend's link for what the form shows (the same query, opened in a
        browser; ``set_values(link)`` reads it back). ``frontend_url``: the frontend page
        (default: the dispatcher's, ``…/mmoda/dispatch-data`` → ``…/mmoda/``). The time format
        is kept; the token is never in it. A link longer than the dispatcher puts in its e-mails
        (``links.MAX_LINK_LENGTH``) is returned all the same, with a note saying so."""
        par_dict = {**self.values, "query_type": self.query_type}
        base = frontend_url or links.frontend_base(self.dispatcher.url)
        link = links.frontend_link(par_dict, base)
        if len(link) > links.MAX_LINK_LENGTH:
            self.say(
                f"This link is {len(link)} characters long: the dispatcher leaves links over "
                f"{links.MAX_LINK_LENGTH} out of its e-mails (a long selected_catalog is the usual cause)."
            )
        return link

    def set_scw_list(self, source: Any, *, name: str | None = None) -> list[str]:
        """Fill ``scw_list`` from a file path, the bytes of an uploaded file (named ``name``), text
        or a list: text, CSV (a ``SWID``/``scw_id`` column) or FITS. Bad rows are named with their
        line number (nothing is changed then); duplicates are removed; the note says how many
        science windows were read. Returns the list."""
        field = self._field_named("scw_list")
        try:
            value = field.load(source, name)
        except InvalidParameter as exc:
            self.say(str(exc), error=True)
            raise
        self.say(field.origin)
        return list(value)

    def set_user_catalog(self, source: Any, *, name: str | None = None) -> Any:
        """Send the sources of a catalog file (path or uploaded bytes named ``name``: FITS, ECSV,
        CSV… with name/RA/Dec columns; or an astropy Table) as ``selected_catalog``, now and after
        product switches. Returns the :class:`~oda_widgets.products.Catalog`."""
        field = self._field_named("selected_catalog")
        try:
            catalog = field.load(source, name)
        except InvalidParameter as exc:
            self.say(str(exc), error=True)
            raise
        self._catalog = catalog
        self.say(field.origin)
        return catalog

    def _field_named(self, name: str) -> Field:
        field = self.fields.get(name)
        if field is None:
            raise InvalidParameter(
                f"{self.instrument}/{self.product} has no {name} parameter", parameter=name
            )
        return field

    def link_catalog(self, catalog: Any) -> None:
        """Send ``catalog`` (a ``Catalog``) as ``selected_catalog``, now and after product switches."""
        self._catalog = catalog
        field = self.fields.get("selected_catalog")
        if field is not None:
            field.set(catalog)

    def reset(self) -> None:
        """Every field back to the dispatcher's default."""
        self._catalog = None
        for field in self.fields.values():
            field.reset()
        self.refusals.clear()
        self.unknown_keys = []
        self.say("")
        self.validate()

    # -- requests ---------------------------------------------------------------------------
    def api_code(self) -> str:
        """oda_api code asking for these values (the token read from ``$ODA_TOKEN``, never written)."""
        return protocol.api_code(
            self.values,
            self.dispatcher.url,
            with_token=bool(getattr(self.dispatcher, "token", None)),
            query_type=self.query_type,
        )

    def resolve(self, name: str | None = None) -> Any:
        """Fill RA and DEC from the source name (``src_name`` or ``name``); returns the SkyCoord.

        When the name is not resolved the error says why — the resolver does not know it, the
        dispatcher has no resolver (or keeps it for some roles), the network — and that RA/DEC
        still hold the previous position; the message stays at ``src_name`` until a name or a
        position is typed. The error raised is the dispatcher's (same type), with that message.
        """
        src = self.fields.get("src_name")
        if name is None:
            if src is None:
                raise InvalidParameter("This product has no source name", parameter="src_name")
            name = self.reader(src)
        elif src is not None:
            src.set(name)
        try:
            coord = self.dispatcher.resolve(str(name))
        except OdaError as exc:
            message = (
                f"{protocol.why_not_resolved(exc, str(name)).rstrip('.')}. {self._position_kept(str(name))}"
            )
            if src is not None:
                self.refusals["src_name"] = message
            self._resolver_note = True
            self.say(message, error=True)
            self._publish()
            raised = copy.copy(exc)
            raised.message = message
            raised.args = (message,)
            raise raised from exc
        self._resolving = True
        try:
            for key, angle in (("RA", coord.ra), ("DEC", coord.dec)):
                if key in self.fields:
                    self.fields[key].set(angle)
        finally:
            self._resolving = False
        self.refusals.pop("src_name", None)
        self._resolver_note = True
        self.say(f"{name}: RA {coord.ra.deg:.5f}°, DEC {coord.dec.deg:.5f}°")
        self._publish()
        return coord

    def _position_kept(self, name: str) -> str:
        shown = []
        for key in ("RA", "DEC"):
            field = self.fields.get(key)
            if field is not None:
                shown.append(f"{key} {json_text(field.input) or '(empty)'}")
        if not shown:
            return ""
        return f"{' and '.join(shown)} are unchanged: they are not {name}'s position."

    def _clear_resolver_note(self) -> None:
        self._resolver_note = False
        self.refusals.pop("src_name", None)
        self.say("")

    def submit(self, query_type: str | None = None) -> Job:
        """Send the request; returns the ``Job``.

        Wrong fields raise ``InvalidParameter`` before anything is sent; a parameter the
        dispatcher refuses is kept in ``refusals`` (shown at its field) and the error raised.
        """
        if self.instrument is None or self.product is None:
            raise InvalidParameter("choose an instrument and a product first", parameter="product_type")
        qt = query_type or self.query_type
        params = self.params
        self.refusals.clear()
        try:
            job = self.dispatcher.submit(self.instrument, self.product, params, query_type=qt)
        except RequestNotUnderstood as exc:
            name = protocol.blamed_parameter(str(exc), params, self.fields, named=exc.parameter)
            if name is not None:
                self.refusals[name] = str(exc)
            self._publish()
            raise
        self.job = job
        unsaved = ""
        if self.memory is not None:
            try:
                self.memory.save(self.instrument, self.product, params)
            except OdaError as exc:  # the job is sent: say so, and why the values were not kept
                unsaved = f" ({exc})"
        self.say(f"Submitted {self.instrument}/{self.product} ({qt}): job {job.job_id or ''}{unsaved}")
        self._notify("job")
        return job

    # -- notes and observers ----------------------------------------------------------------
    def say(self, text: str, *, error: bool = False) -> None:
        """Set the note for the user ('' clears it)."""
        self.note, self.note_is_error = text, error and bool(text)
        self._notify("note")

    def observe(self, callback: ModelObserver) -> None:
        """Call ``callback(what)`` after each change (see the class docstring)."""
        self._observers.append(callback)

    def _notify(self, what: str) -> None:
        for callback in list(self._observers):
            callback(what)

    def redact(self, text: str) -> str:
        """``text`` without the dispatcher's token (nor anything that looks like one)."""
        token = self._dispatcher.token if self._dispatcher is not None else None
        return redact(text, token)

    @property
    def url(self) -> Any:
        """The dispatcher's URL (or what was given for it, before the dispatcher is made)."""
        return getattr(self._dispatcher, "url", self._dispatcher_arg)

    def __repr__(self) -> str:
        return f"FormModel({self.url!r}, instrument={self.instrument!r}, product={self.product!r})"
