"""One control per parameter kind: the widgets that show and edit a form field.

Every control is a ``Control`` over a :class:`~oda_widgets.form.model.Field`: ``row`` is what the
form shows (title with tooltip, input, units, message); what is typed goes into the field as is,
and the field's :class:`~oda_widgets.form.kinds.Kind` reads and checks it. ``get()`` returns the
value the dispatcher wants or raises ``InvalidParameter`` with a message naming the parameter,
``set(value)`` accepts what a user or a script would pass (text, numbers, astropy
``Time``/``Angle``/``Quantity``, lists, catalogs). Reading is strict: nothing is rounded or guessed
silently. A control built alone has a field of its own; a form binds it to the form's field.
"""

from __future__ import annotations

import html
import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

import ipywidgets as W
from ipywidgets.widgets.widget_description import DescriptionStyle
from ipywidgets.widgets.widget_string import HTMLStyle, TextStyle

from oda_widgets.client.description import ParameterSpec
from oda_widgets.errors import InvalidParameter, OdaError
from oda_widgets.form.kinds import SCW_PATTERN, CatalogKind, EnumKind, format_number, json_text
from oda_widgets.form.model import Field

__all__ = [
    "Control",
    "TextControl",
    "LongTextControl",
    "FileURLControl",
    "NumberControl",
    "IntegerControl",
    "AngleControl",
    "TimeControl",
    "TimeDeltaControl",
    "EnumControl",
    "BooleanControl",
    "StructuredControl",
    "InputListControl",
    "CatalogControl",
    "SCW_PATTERN",
    "format_number",
]

_TITLE_LAYOUT = {"width": "190px", "min_width": "190px"}
_INPUT_LAYOUT = {"width": "320px"}


# Layouts and styles are widgets of their own (one comm each); controls share the ones nobody
# mutates, which makes a form about a third cheaper to build.
_SHARED: dict[tuple, W.Widget] = {}


def _shared(key: tuple, make: Callable[[], W.Widget]) -> W.Widget:
    widget = _SHARED.get(key)
    if widget is None or widget.comm is None:  # closed (Widget.close_all()): make a new one
        widget = _SHARED[key] = make()
    return widget


def _layout(**kw) -> W.Layout:
    return _shared(("layout", *sorted(kw.items())), lambda: W.Layout(**kw))


def _style(cls):
    return _shared(("style", cls.__name__), cls)


class Control(ABC):
    """Base of all controls: title with tooltip, an input area, a message line, over a ``Field``.

    Subclasses build ``self.input`` (a widget or box), say which widgets hold the value
    (``value_widgets``), how to read the field's input from them (``read_input``) and how to show
    it (``render``). ``on_change(callback)`` is called after any change of the field.
    """

    #: True when the control shows the units next to its input (then the title does not)
    shows_units = False

    def __init__(self, spec: ParameterSpec, instrument: str = ""):
        self.spec = spec
        self.instrument = instrument
        self.field = Field(spec, instrument)
        title = (spec.label or spec.name) if self.shows_units else spec.title
        self.title = W.HTML(
            value=f"<b>{_escape(title)}</b>" + (" <i>(optional)</i>" if spec.optional else ""),
            layout=_layout(**_TITLE_LAYOUT),
            style=_style(HTMLStyle),
        )
        if spec.description:
            self.title.tooltip = spec.description
        # the message takes the room left and wraps: a long one never squeezes the input
        self.message = W.HTML(value="", layout=_layout(min_width="0", flex="1 1 0%"), style=_style(HTMLStyle))
        self.message.add_class("oda-field-message")
        self._rendering = False
        self.input = self.build()
        if spec.description:
            for w in self.value_widgets():
                w.tooltip = spec.description
        self.row = W.HBox([self.title, self.input, self.message], layout=_layout(align_items="center"))
        self.row.add_class("oda-field")
        self.row.add_class(f"oda-field-{_css_name(spec.name)}")
        self._callbacks: list[Callable[[Control], None]] = []
        self._fix_box: W.HBox | None = None
        self._shown_fixes: tuple = ()
        #: what a fix button does with its value (a form routes it through its model)
        self.fixer: Callable[[Any], Any] = self.field_fix
        #: what an uploaded file goes to: ``loader(content_bytes, file_name)`` (a form routes it
        #: through its model: ``set_scw_list``, ``set_user_catalog``)
        self.loader: Callable[[bytes, str], Any] = self.field_load
        for w in self.value_widgets():
            w.observe(self._edited, names="value")
        self.field.observe(self._field_changed)
        self._render()

    # -- to override -----------------------------------------------------------------------
    @abstractmethod
    def build(self) -> W.Widget:
        """Create and return the input widget(s)."""

    def value_widgets(self) -> list[W.Widget]:
        """Widgets whose ``value`` edits mean 'the parameter changed'."""
        return [self.input]

    def read_input(self) -> Any:
        """The field's input as the widgets hold it (the text typed, the choice made)."""
        return self.value_widgets()[0].value

    def render(self) -> None:
        """Show the field's input in the widgets."""
        self.value_widgets()[0].value = self.field.input

    # -- the field ---------------------------------------------------------------------------
    def bind(self, field: Field) -> None:
        """Show and edit ``field`` (a form's) instead of this control's own."""
        if field is self.field:
            return
        self.field.unobserve(self._field_changed)
        self.field = field
        field.observe(self._field_changed)
        self._render()

    def _render(self) -> None:
        self._rendering = True
        try:
            self.render()
        finally:
            self._rendering = False

    def _edited(self, _change=None) -> None:
        if not self._rendering:
            self.field.set_input(self.read_input())

    def _field_changed(self, _field: Field, _what: str) -> None:
        self._render()
        self._changed()

    def get(self) -> Any:
        """The value for the par_dict; ``InvalidParameter`` with a message if the input is wrong."""
        return self.field.value

    def set(self, value: Any) -> None:
        """Show ``value`` (text, number, astropy object... as the kind allows)."""
        self.field.set(value)

    def companions(self) -> dict[str, Any]:
        """Companion arguments (``T_format``...) to send with this parameter."""
        return self.field.companions()

    def set_companion(self, name: str, value: Any) -> None:
        """Apply a companion value (a format) read from a par_dict (controls without one ignore it)."""
        if name == self.spec.format_name:
            self.field.set_format(value)

    # -- shared ----------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.spec.name

    def fail(self, message: str) -> InvalidParameter:
        return InvalidParameter(message, parameter=self.spec.name)

    def validate(self) -> str | None:
        """The message for the current input (None when it is valid); shown next to the field."""
        try:
            self.get()
        except InvalidParameter as exc:
            return str(exc)
        return None

    def show(self, message: str | None, fixes: tuple | list = ()) -> None:
        """Show ``message`` next to the field (red), or clear it; ``fixes``: values offered as
        one-click buttons beside it ("Use 0.1")."""
        value = (
            ""
            if not message
            else (f'<span class="oda-field-error" style="color:#c62828">{_escape(message)}</span>')
        )
        if self.message.value != value:
            self.message.value = value
        self._show_fixes(tuple(fixes) if message else ())

    def _show_fixes(self, fixes: tuple) -> None:
        if fixes == self._shown_fixes:
            return
        self._shown_fixes = fixes
        if self._fix_box is None:
            if not fixes:
                return
            self._fix_box = W.HBox(layout=_layout(flex="0 0 auto"))
            self._fix_box.add_class("oda-field-fixes")
            self.row.children = (*self.row.children, self._fix_box)
        buttons = []
        for value in fixes:
            label = format_number(value)
            button = W.Button(
                description=f"Use {label}",
                tooltip=f"Put {label} into {self.spec.name}",
                layout=W.Layout(width="auto"),
            )
            button.add_class("oda-field-fix")
            button.on_click(lambda _b, v=value: self._fix(v))
            buttons.append(button)
        self._fix_box.children = buttons

    @property
    def fixes(self) -> tuple:
        """The values the fix buttons offer now."""
        return self._shown_fixes

    def _fix(self, value: Any) -> None:
        try:
            self.fixer(value)
        except OdaError as exc:
            self.show(str(exc))

    def field_fix(self, value: Any) -> Any:
        """Put a fix into this control's field (what a fix button does outside a form)."""
        self.field.set(value)
        return value

    def field_load(self, content: bytes, name: str) -> Any:
        """Read an uploaded file into this control's field (outside a form)."""
        return self.field.load(content, name)

    def _upload_widget(self, description: str, accept: str) -> W.FileUpload:
        upload = W.FileUpload(
            description=description, accept=accept, multiple=False, layout=W.Layout(width="auto")
        )
        upload.add_class("oda-field-upload")
        upload.observe(self._uploaded, names="value")
        return upload

    def _uploaded(self, change) -> None:
        files = change["new"]
        if not files:
            return
        upload = change["owner"]
        item = files[0]
        try:
            self.loader(bytes(item["content"]), str(item.get("name") or "upload"))
        except OdaError as exc:
            self.show(str(exc))  # a form shows it too (the field keeps it as its problem)
        finally:
            # the file's bytes would stay in the widget state (and in a saved notebook)
            upload.value = ()

    @property
    def shown_message(self) -> str:
        """The text shown next to the field ('' when none)."""
        return html.unescape(re.sub(r"<[^>]+>", "", self.message.value))

    def on_change(self, callback: Callable[[Control], None]) -> None:
        self._callbacks.append(callback)

    def _changed(self, _change=None) -> None:
        for cb in list(self._callbacks):
            cb(self)

    def reset(self) -> None:
        """Back to the description's default."""
        self.field.reset()

    def _empty(self) -> Any:
        """The value of an empty optional field, or a 'required' error."""
        return self.field.empty()


def _escape(text: str) -> str:
    return html.escape(str(text))


def _css_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)


class TextControl(Control):
    """A single-line string (``String``, ``Name``, unknown kinds, and any kind without a control)."""

    placeholder = ""

    def build(self):
        return W.Text(
            value=_text_of(self.field.input), placeholder=self.placeholder, layout=_layout(**_INPUT_LAYOUT)
        )

    def render(self):
        raw = self.field.input
        self.input.value = raw if isinstance(raw, str) else _text_of(raw)


def _text_of(raw: Any) -> str:
    return json_text(raw)


class LongTextControl(TextControl):
    """Multi-line text (``LongString``)."""

    def build(self):
        return W.Textarea(value=_text_of(self.field.input), rows=4, layout=_layout(**_INPUT_LAYOUT))


class FileURLControl(TextControl):
    """A file given by URL (``FileReference``/``FileURL``): through the API files travel as URLs."""

    placeholder = "https://…"


class NumberControl(Control):
    """A real number in the parameter's units, checked against its limits.

    Accepts text, numbers and astropy ``Quantity`` (converted to the parameter's units).
    """

    shows_units = True

    def build(self):
        self.text = W.Text(
            value=_text_of(self.field.input), layout=_layout(width="200px"), style=_style(TextStyle)
        )
        self.units = W.HTML(
            value=_escape(self.spec.units or "") if self.spec.units not in (None, "str") else "",
            layout=_layout(width="110px"),
            style=_style(HTMLStyle),
        )
        return W.HBox([self.text, self.units], layout=_layout())

    def value_widgets(self):
        return [self.text]

    def render(self):
        self.text.value = _text_of(self.field.input)


class IntegerControl(NumberControl):
    """A whole number: ``10.5`` is refused, never rounded (the server would answer 400)."""


class AngleControl(NumberControl):
    """An angle: decimal number in the parameter's units, or sexagesimal text.

    ``RA`` in ``hh:mm:ss`` (or ``17h45m``) is read as hours, other angles as degrees
    (``-29:44:42`` or ``-29d44m42s``); astropy ``Angle``/``Quantity`` are converted.
    """


class _FormatSwitch:
    """For controls with a format companion (``T_format``, ``time_bin_format``) shown as the
    ``fmt`` dropdown beside the value."""

    field: Field
    _rendering: bool

    def _format_widget(self) -> W.Dropdown:
        fmt = W.Dropdown(
            options=self.field.formats(),
            value=self.field.format,
            layout=_layout(width="90px"),
            style=_style(DescriptionStyle),
        )
        fmt.disabled = self.field.spec.format_name is None
        fmt.observe(self._format_picked, names="value")
        return fmt

    def _format_picked(self, change) -> None:
        if not self._rendering:
            self.field.set_format(change["new"])

    def _render_format(self) -> None:
        fmt = self.fmt  # type: ignore[attr-defined]
        options = self.field.formats()
        if list(fmt.options) != options:
            fmt.options = options
        if fmt.value != self.field.format:
            fmt.value = self.field.format

    def set_format(self, fmt: str) -> None:
        """Show the value in ``fmt`` (``isot``/``mjd``, ``sec``/``jd``); the same as using the switch."""
        self.field.set_format(fmt)


class TimeControl(_FormatSwitch, Control):
    """A time instant: text in ISO (``2017-03-06T13:26:48``) or MJD, whatever the format shown.

    When the dispatcher offers a format companion (``T_format``) a switch between ``isot`` and
    ``mjd`` converts the instant (astropy ``Time``, UTC); the value sent is in the format shown.
    """

    def build(self):
        self.text = W.Text(
            value=_text_of(self.field.input), layout=_layout(width="220px"), style=_style(TextStyle)
        )
        self.fmt = self._format_widget()
        return W.HBox([self.text, self.fmt], layout=_layout())

    def value_widgets(self):
        return [self.text]

    def render(self):
        self._render_format()
        self.text.value = _text_of(self.field.input)

    def instant(self, text: str | None = None):
        """The astropy ``Time`` the field holds (ISO or MJD text both understood)."""
        raw = self.field.input if text is None else text
        return self.field.kind.instant(self.field, _text_of(raw))  # type: ignore[attr-defined]


class TimeDeltaControl(_FormatSwitch, NumberControl):
    """A duration with a format companion (``time_bin`` with ``time_bin_format`` sec|jd)."""

    def build(self):
        super().build()
        self.fmt = self._format_widget()
        self.units.value = ""
        return W.HBox([self.text, self.fmt], layout=_layout())

    def render(self):
        self._render_format()
        super().render()


class EnumControl(Control):
    """A choice among ``allowed_values`` (a dropdown; optional ones offer '(none)')."""

    NONE_LABEL = EnumKind.NONE_LABEL

    def build(self):
        return W.Dropdown(
            options=_choices(self.field),
            value=self.field.input,
            layout=_layout(width="200px"),
            style=_style(DescriptionStyle),
        )

    def render(self):
        options = _choices(self.field)
        if list(self.input.options) != options:
            self.input.options = options
        self.input.value = self.field.input


def _choices(field: Field) -> list[tuple[str, Any]]:
    kind = field.kind
    if isinstance(kind, EnumKind):
        return kind.choices(field)
    values = list(field.spec.allowed_values or ()) + list(field.extra_choices)
    return [(str(v), v) for v in values]


class BooleanControl(Control):
    """A checkbox."""

    def build(self):
        return W.Checkbox(value=bool(self.field.input), indent=False)

    def read_input(self):
        return bool(self.input.value)

    def render(self):
        self.input.value = bool(self.field.input)


class StructuredControl(TextControl):
    """A JSON editor validated against ``restrictions.schema`` (with ``jsonschema``)."""

    def build(self):
        return W.Textarea(value=_text_of(self.field.input), rows=4, layout=_layout(**_INPUT_LAYOUT))


class InputListControl(TextControl):
    """A list of input products (``scw_list``): one id per line, or separated by commas/spaces,
    or a list file uploaded (text, CSV or FITS with a ``SWID``/``scw_id`` column); the line under
    it says how many science windows the list holds and where they came from.

    ScW ids are checked against 12 digits + '.' + 3 digits (``066500220010.001``).
    """

    def build(self):
        self.text = W.Textarea(
            value=_text_of(self.field.input),
            rows=2,
            placeholder="066500220010.001, 066500230010.001" if self.spec.name == "scw_list" else "",
            layout=_layout(**_INPUT_LAYOUT),
        )
        self.upload = self._upload_widget("List file", ".txt,.lst,.csv,.dat,.fits,.fit,.fts,.gz")
        self.summary = W.HTML(value="")
        self.summary.add_class("oda-field-summary")
        return W.VBox([W.HBox([self.text, self.upload]), self.summary])

    def value_widgets(self):
        return [self.text]

    def render(self):
        raw = self.field.input
        self.text.value = raw if isinstance(raw, str) else _text_of(raw)
        text = _escape(self.field.summary)
        if self.summary.value != text:
            self.summary.value = text


class CatalogControl(Control):
    """``selected_catalog``: a linked ``Catalog`` ("N sources from <name>") or pasted JSON.

    The value sent is the catalog's JSON string (PROTOCOL §6).
    """

    def build(self):
        self.summary = W.HTML(value="")
        self.text = W.Textarea(
            value="", rows=2, placeholder="link a Catalog or paste its JSON", layout=W.Layout(**_INPUT_LAYOUT)
        )
        self.clear_button = W.Button(description="Unlink", layout=W.Layout(width="80px"))
        self.clear_button.on_click(lambda _b: self.set(None))
        self.clear_button.layout.display = "none"
        self.upload = self._upload_widget("Catalog file", ".fits,.fit,.fts,.gz,.ecsv,.csv,.txt,.dat,.tsv")
        return W.VBox([self.summary, W.HBox([self.text, self.clear_button, self.upload])])

    def value_widgets(self):
        return [self.text]

    @property
    def catalog(self) -> Any:
        """The linked catalog, or None when the field holds text."""
        raw = self.field.input
        return raw if hasattr(raw, "to_selected_catalog") else None

    def render(self):
        if self.catalog is not None:
            self.text.value = ""
            self.text.layout.display = "none"
            self.clear_button.layout.display = None
            self.summary.value = _escape(self.field.summary or self.describe())
            return
        self.text.layout.display = None
        self.clear_button.layout.display = "none"
        self.text.value = _text_of(self.field.input)
        self.summary.value = ""

    def describe(self) -> str:
        """'N sources from <catalog>' for a linked catalog, '' otherwise."""
        return CatalogKind.describe(self.field)
