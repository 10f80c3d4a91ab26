"""One control per parameter kind: the widget, its reading into a par_dict value, its messages.

Every control is a ``Control``: ``row`` is what the form shows (title with tooltip, input, units,
message), ``get()`` returns the value the dispatcher wants or raises ``InvalidParameter`` with a
message naming the parameter, ``set(value)`` accepts what a user or a script would pass (text,
numbers, astropy ``Time``/``Angle``/``Quantity``, lists, catalogs). Reading is strict: nothing is
rounded or guessed silently.
"""

from __future__ import annotations

import html
import json
import math
import numbers
import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

import ipywidgets as W
from ipywidgets.widgets.widget_description import DescriptionStyle
from ipywidgets.widgets.widget_string import HTMLStyle, TextStyle

from oda_widgets.client.description import OPEN_CHOICES, ParameterSpec
from oda_widgets.errors import InvalidParameter

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

SCW_PATTERN = re.compile(r"^\d{12}\.\d{3}$")
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


def _json_text(value: Any) -> str:
    """What a text box shows for ``value``: strings as they are, other values as JSON, None empty."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value)


def format_number(value: float) -> str:
    """Text that reads back as exactly the same number (``repr``: ``20.0`` stays ``20.0``)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return repr(float(value))  # numpy scalars too, without their np.float64(...) wrapper
    return str(value)


def _bound(x: float) -> str:
    return f"{x:g}"


class Control(ABC):
    """Base of all controls: title with tooltip, an input area, a message line.

    Subclasses build ``self.input`` (a widget or box) and implement ``get``/``set``; the form
    calls ``on_change(callback)`` to re-validate after any edit.
    """

    #: True when the control shows the units next to its input (then the title does not)
    shows_units = False

    def __init__(self, spec: ParameterSpec, instrument: str = ""):
        self.spec = spec
        self.instrument = instrument
        title = (spec.label or spec.name) if self.shows_units else spec.title
        self.title = W.HTML(
            value=f"<b>{_escape(title)}</b>" + (" <i>(optional)</i>" if spec.optional else ""),
            layout=_layout(**_TITLE_LAYOUT),
            style=_style(HTMLStyle),
        )
        if spec.description:
            self.title.tooltip = spec.description
        self.message = W.HTML(value="", layout=_layout(min_width="0"), style=_style(HTMLStyle))
        self.message.add_class("oda-field-message")
        self.input = self.build()
        if spec.description:
            for w in self.value_widgets():
                w.tooltip = spec.description
        self.row = W.HBox([self.title, self.input, self.message], layout=_layout(align_items="center"))
        self.row.add_class("oda-field")
        self.row.add_class(f"oda-field-{_css_name(spec.name)}")
        self._callbacks: list[Callable[[Control], None]] = []
        for w in self.value_widgets():
            w.observe(self._changed, names="value")

    # -- to override -----------------------------------------------------------------------
    @abstractmethod
    def build(self) -> W.Widget:
        """Create and return the input widget(s)."""

    def value_widgets(self) -> list[W.Widget]:
        """Widgets whose ``value`` edits mean 'the parameter changed'."""
        return [self.input]

    @abstractmethod
    def get(self) -> Any:
        """The value for the par_dict; ``InvalidParameter`` with a message if the input is wrong."""

    @abstractmethod
    def set(self, value: Any) -> None:
        """Show ``value`` (text, number, astropy object... as the kind allows)."""

    def companions(self) -> dict[str, Any]:
        """Companion arguments (``T_format``...) to send with this parameter."""
        return {}

    def set_companion(self, name: str, value: Any) -> None:
        """Apply a companion value (a format) read from a par_dict (controls without one ignore it)."""
        return None

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

    def show(self, message: str | None) -> None:
        """Show ``message`` next to the field (red), or clear it."""
        self.message.value = (
            ""
            if not message
            else (f'<span class="oda-field-error" style="color:#c62828">{_escape(message)}</span>')
        )

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
        self.set(self.spec.default)
        if self.spec.format_name:
            self.set_companion(self.spec.format_name, self.spec.format_default)

    def _empty(self) -> Any:
        """The value of an empty optional field, or a 'required' error."""
        if self.spec.optional:
            return None
        raise self.fail(f"{self.spec.name} is required")


def _escape(text: str) -> str:
    return html.escape(str(text))


def _css_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)


class TextControl(Control):
    """A single-line string (``String``, ``Name``, unknown kinds)."""

    placeholder = ""

    def build(self):
        return W.Text(
            value=self._text(self.spec.default), placeholder=self.placeholder, layout=_layout(**_INPUT_LAYOUT)
        )

    _text = staticmethod(_json_text)

    def get(self):
        text = self.input.value
        if text == "" or (text.strip() == "" and self.spec.optional):
            return self._empty()
        if self.spec.kind == "unknown" and not isinstance(self.spec.default, str):
            try:
                return json.loads(text)
            except ValueError:
                return text
        return text

    def set(self, value):
        self.input.value = self._text(value)


class LongTextControl(TextControl):
    """Multi-line text (``LongString``)."""

    def build(self):
        return W.Textarea(value=self._text(self.spec.default), rows=4, layout=_layout(**_INPUT_LAYOUT))


class FileURLControl(TextControl):
    """A file given by URL (``FileReference``/``FileURL``): through the API files travel as URLs."""

    placeholder = "https://…"

    def get(self):
        text = self.input.value.strip()
        if not text:
            return self._empty()
        if not re.match(r"^(https?|ftp)://\S+$", text):
            raise self.fail(f"{self.spec.name} must be a URL (http://, https:// or ftp://)")
        return text


class NumberControl(Control):
    """A real number in the parameter's units, checked against its limits.

    Accepts text, numbers and astropy ``Quantity`` (converted to the parameter's units).
    """

    shows_units = True

    def build(self):
        box = W.Text(
            value=self._text(self.spec.default), layout=_layout(width="200px"), style=_style(TextStyle)
        )
        self.units = W.HTML(
            value=_escape(self.spec.units or "") if self.spec.units not in (None, "str") else "",
            layout=_layout(width="110px"),
            style=_style(HTMLStyle),
        )
        self.text = box
        return W.HBox([box, self.units], layout=_layout())

    def value_widgets(self):
        return [self.text]

    def _text(self, value: Any) -> str:
        if value is None:
            return ""
        return format_number(value)

    def _quantity(self, value: Any) -> Any:
        from astropy import units as u

        if isinstance(value, u.Quantity):
            if not self.spec.units or self.spec.units == "str":
                return value.value
            try:
                return value.to_value(_unit(self.spec.units), equivalencies=u.spectral())
            except u.UnitsError as exc:
                raise self.fail(f"{self.spec.name}: {exc}") from None
        return value

    def parse(self, text: str) -> float:
        try:
            x = float(text)
        except ValueError:
            raise self.fail(f"{self.spec.name} must be a number, not {text!r}") from None
        if math.isnan(x) or math.isinf(x):
            raise self.fail(f"{self.spec.name} must be a finite number")
        return x

    def check_limits(self, x: float) -> None:
        units = f" {self.spec.units}" if self.spec.units and self.spec.units != "str" else ""
        lo, hi = self.spec.min_value, self.spec.max_value
        if lo is not None and x < lo:
            raise self.fail(
                f"{self.spec.name} must be ≥ {_bound(lo)}{units}"
                + (f" (allowed {_bound(lo)}–{_bound(hi)}{units})" if hi is not None else "")
            )
        if hi is not None and x > hi:
            raise self.fail(
                f"{self.spec.name} must be ≤ {_bound(hi)}{units}"
                + (f" (allowed {_bound(lo)}–{_bound(hi)}{units})" if lo is not None else "")
            )

    def get(self):
        text = self.text.value.strip()
        if not text:
            return self._empty()
        x = self.parse(text)
        self.check_limits(x)
        return x

    def set(self, value):
        self.text.value = self._text(self._quantity(value))


def _unit(units: str):
    from astropy import units as u

    aliases = {"sec": "s", "minute": "min", "sigma": ""}
    return u.Unit(aliases.get(units, units))


class IntegerControl(NumberControl):
    """A whole number: ``10.5`` is refused, never rounded (the server would answer 400)."""

    def parse(self, text: str) -> int:
        if not re.fullmatch(r"[+-]?\d+", text):
            raise self.fail(f"{self.spec.name} must be a whole number, not {text!r}")
        return int(text)

    def set(self, value):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        super().set(value)


class AngleControl(NumberControl):
    """An angle: decimal number in the parameter's units, or sexagesimal text.

    ``RA`` in ``hh:mm:ss`` (or ``17h45m``) is read as hours, other angles as degrees
    (``-29:44:42`` or ``-29d44m42s``); astropy ``Angle``/``Quantity`` are converted.
    """

    def parse(self, text: str) -> float:
        try:
            return float(text)
        except ValueError:
            pass
        from astropy import units as u
        from astropy.coordinates import Angle

        hours = self.spec.name.upper() == "RA" and not re.search(r"[d°]", text)
        try:
            angle = Angle(text, unit=u.hourangle if hours else u.deg)
        except (ValueError, u.UnitsError):
            raise self.fail(
                f"{self.spec.name} must be an angle in {self.spec.units or 'deg'} "
                f"or sexagesimal (e.g. 17:45:40.0 or -29d00m28s), not {text!r}"
            ) from None
        return float(angle.to_value(_unit(self.spec.units or "deg")))

    def get(self):
        x = super().get()
        if (
            x is not None
            and self.spec.name.upper() == "DEC"
            and not -90 <= x <= 90
            and (self.spec.units or "deg") == "deg"
        ):
            raise self.fail("DEC must be between -90 and 90 deg")
        return x

    def set(self, value):
        from astropy.coordinates import Angle

        if isinstance(value, Angle):
            value = value.to(_unit(self.spec.units or "deg"))
        super().set(value)


_TIME_CHOICES = ("isot", "mjd")


class _FormatSwitch:
    """For controls with a format companion (``T_format``, ``time_bin_format``) shown as the
    ``fmt`` dropdown beside the value; ``_format`` is the format the text is written in."""

    def companions(self):
        return {self.spec.format_name: self._format} if self.spec.format_name else {}

    def set_companion(self, name, value):
        if name == self.spec.format_name and value:
            if value not in self.fmt.options:
                self.fmt.options = [*list(self.fmt.options), value]
            self.fmt.value = value


class TimeControl(_FormatSwitch, Control):
    """A time instant: text in ISO (``2017-03-06T13:26:48``) or MJD, whatever the format shown.

    When the dispatcher offers a format companion (``T_format``) a switch between ``isot`` and
    ``mjd`` converts the instant (astropy ``Time``, UTC); the value sent is in the format shown.
    """

    def build(self):
        self.text = W.Text(value="", layout=_layout(width="220px"), style=_style(TextStyle))
        fmt = self.spec.format_default or self.spec.units or "isot"
        options = list(_TIME_CHOICES) + ([fmt] if fmt not in _TIME_CHOICES else [])
        if self.spec.format_name is None:
            options = [fmt]  # no companion to send: the server reads only its own format
        self.fmt = W.Dropdown(
            options=options, value=fmt, layout=_layout(width="90px"), style=_style(DescriptionStyle)
        )
        self.fmt.disabled = self.spec.format_name is None
        self._format = fmt
        self.fmt.observe(self._format_changed, names="value")
        self.text.value = self._text(self.spec.default, fmt)
        return W.HBox([self.text, self.fmt], layout=_layout())

    def value_widgets(self):
        return [self.text]

    @staticmethod
    def _text(value: Any, fmt: str) -> str:
        if value is None:
            return ""
        from astropy.time import Time

        if isinstance(value, Time):
            value = getattr(value.utc, fmt)
        return format_number(value)

    def instant(self, text: str | None = None):
        """The astropy ``Time`` the field holds (ISO or MJD text both understood)."""
        from astropy.time import Time

        text = (self.text.value if text is None else text).strip()
        try:
            number = float(text)
        except ValueError:
            number = None
        try:
            if number is not None:
                fmt = self._format if self._format not in ("isot", "iso", "fits") else "mjd"
                return Time(number, format=fmt, scale="utc")
            return Time(text, scale="utc")
        except ValueError:
            raise self.fail(
                f"{self.spec.name} must be a time in ISO (2017-03-06T13:26:48) or "
                f"MJD (57818.56), not {text!r}"
            ) from None

    def get(self):
        text = self.text.value.strip()
        if not text:
            return self._empty()
        t = self.instant(text)
        if self._format in ("isot", "iso", "fits"):
            # the text as typed when it already is ISO: round trips must not change it
            if _is_number(text):
                return getattr(t, self._format)
            return text
        if _is_number(text):
            return float(text)
        return float(getattr(t, self._format))

    def set(self, value):
        self.text.value = self._text(value, self._format)

    def set_format(self, fmt: str) -> None:
        """Show the instant in ``fmt`` (``isot`` or ``mjd``); the same as using the switch."""
        self.set_companion(self.spec.format_name or "", fmt)

    def _format_changed(self, change):
        old, new = change["old"], change["new"]
        text = self.text.value.strip()
        self._format = new
        if not text:
            return
        from astropy.time import Time

        try:
            number = float(text)
            t = Time(number, format=old if old not in ("isot", "iso", "fits") else "mjd", scale="utc")
        except ValueError:
            try:
                t = Time(text, scale="utc")
            except ValueError:
                self._changed()
                return  # unreadable text stays as typed; the message says why
        value = getattr(t, new)
        self.text.value = format_number(float(value)) if not isinstance(value, str) else value
        self._changed()


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


_DELTA_SECONDS = {"sec": 1.0, "s": 1.0, "jd": 86400.0, "day": 86400.0}


class TimeDeltaControl(_FormatSwitch, NumberControl):
    """A duration with a format companion (``time_bin`` with ``time_bin_format`` sec|jd)."""

    def build(self):
        super().build()
        fmt = self.spec.format_default or self.spec.units or "sec"
        options = ["sec", "jd"] + ([fmt] if fmt not in ("sec", "jd") else [])
        if self.spec.format_name is None:
            options = [fmt]
        self.fmt = W.Dropdown(
            options=options, value=fmt, layout=_layout(width="90px"), style=_style(DescriptionStyle)
        )
        self.fmt.disabled = self.spec.format_name is None
        self._format = fmt
        self.fmt.observe(self._format_changed, names="value")
        self.units.value = ""
        return W.HBox([self.text, self.fmt], layout=_layout())

    def check_limits(self, x):
        # limits are published in the parameter's own units; compare in those
        factor = _DELTA_SECONDS.get(self._format, 1.0) / _DELTA_SECONDS.get(self.spec.units or "sec", 1.0)
        units = self.spec.units or "sec"
        y = x * factor
        if self.spec.min_value is not None and y < self.spec.min_value:
            raise self.fail(f"{self.spec.name} must be ≥ {_bound(self.spec.min_value)} {units}")
        if self.spec.max_value is not None and y > self.spec.max_value:
            raise self.fail(f"{self.spec.name} must be ≤ {_bound(self.spec.max_value)} {units}")
        if x <= 0:
            raise self.fail(f"{self.spec.name} must be positive")

    def set(self, value):
        from astropy import units as u

        if isinstance(value, u.Quantity):
            value = value.to_value(u.s) / _DELTA_SECONDS.get(self._format, 1.0)
        super().set(value)

    def _format_changed(self, change):
        old, new = change["old"], change["new"]
        self._format = new
        text = self.text.value.strip()
        if text and _is_number(text) and old in _DELTA_SECONDS and new in _DELTA_SECONDS:
            self.text.value = format_number(float(text) * _DELTA_SECONDS[old] / _DELTA_SECONDS[new])
        self._changed()


class EnumControl(Control):
    """A choice among ``allowed_values`` (a dropdown; optional ones offer '(none)')."""

    NONE_LABEL = "(none)"

    def build(self):
        options = [(str(v), v) for v in (self.spec.allowed_values or ())]
        if self.spec.optional:
            options.insert(0, (self.NONE_LABEL, None))
        self._extra_allowed = self.spec.name in OPEN_CHOICES
        default = self.spec.default
        values = [v for _, v in options]
        if default not in values:
            options.append((str(default), default))
        return W.Dropdown(
            options=options, value=default, layout=_layout(width="200px"), style=_style(DescriptionStyle)
        )

    def get(self):
        value = self.input.value
        if value is None:
            return self._empty()
        return value

    def set(self, value):
        values = [v for _, v in self.input.options]
        if value not in values:
            # a text from a pasted par_dict may carry a number as a string, or vice versa
            for v in values:
                if v is not None and str(v) == str(value):
                    value = v
                    break
        if value not in values:
            if value is None and not self.spec.optional:
                raise self.fail(f"{self.spec.name} is required")
            if not self._extra_allowed:
                raise self.fail(
                    f"{self.spec.name} must be one of "
                    f"{', '.join(str(v) for v in values if v is not None)}; got {value!r}"
                )
            self.input.options = [*list(self.input.options), (str(value), value)]
        self.input.value = value


_TRUE = {"true", "yes", "1", "y", "t"}
_FALSE = {"false", "no", "0", "n", "f"}


class BooleanControl(Control):
    """A checkbox."""

    def build(self):
        return W.Checkbox(value=bool(self.spec.default), indent=False)

    def get(self):
        return bool(self.input.value)

    def set(self, value):
        if isinstance(value, str):
            if value.strip().lower() in _TRUE:
                value = True
            elif value.strip().lower() in _FALSE:
                value = False
            else:
                raise self.fail(f"{self.spec.name} must be true or false, not {value!r}")
        self.input.value = bool(value)


class StructuredControl(Control):
    """A JSON editor validated against ``restrictions.schema`` (with ``jsonschema``)."""

    def build(self):
        return W.Textarea(value=self._text(self.spec.default), rows=4, layout=_layout(**_INPUT_LAYOUT))

    _text = staticmethod(_json_text)

    def get(self):
        text = self.input.value.strip()
        if not text:
            return self._empty()
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise self.fail(f"{self.spec.name} must be JSON: {exc}") from None
        if self.spec.schema:
            import jsonschema

            try:
                jsonschema.validate(value, self.spec.schema)
            except jsonschema.ValidationError as exc:
                raise self.fail(f"{self.spec.name} does not match its schema: {exc.message}") from None
            except jsonschema.SchemaError:
                pass  # the server's schema itself is broken: the server will judge
        return value

    def set(self, value):
        self.input.value = self._text(value)


class InputListControl(Control):
    """A list of input products (``scw_list``): one id per line, or separated by commas/spaces.

    ScW ids are checked against 12 digits + '.' + 3 digits (``066500220010.001``).
    """

    def build(self):
        return W.Textarea(
            value=self._text(self.spec.default),
            rows=2,
            placeholder="066500220010.001, 066500230010.001" if self._is_scw() else "",
            layout=_layout(**_INPUT_LAYOUT),
        )

    def _is_scw(self) -> bool:
        return self.spec.name == "scw_list"

    @staticmethod
    def _text(value):
        if value is None:
            return ""
        if isinstance(value, str):
            return value
        return ", ".join(str(v) for v in value)

    def get(self):
        text = self.input.value.strip()
        if not text:
            if self.spec.default == [] or not self.spec.optional:
                return [] if self.spec.optional else self._empty()
            return None
        if text.startswith("["):
            try:
                items = json.loads(text)
            except ValueError as exc:
                raise self.fail(f"{self.spec.name} must be a list: {exc}") from None
            if not isinstance(items, list):
                raise self.fail(f"{self.spec.name} must be a list")
            items = [str(i) for i in items]
        else:
            items = [i for i in re.split(r"[,\s]+", text) if i]
        if self._is_scw():
            bad = [i for i in items if not SCW_PATTERN.match(i)]
            if bad:
                raise self.fail(
                    f"scw_list: {', '.join(bad[:3])}{'…' if len(bad) > 3 else ''} "
                    "not a ScW id (12 digits, a dot, 3 digits: 066500220010.001)"
                )
        return items

    def set(self, value):
        self.input.value = self._text(value)


class CatalogControl(Control):
    """``selected_catalog``: a linked ``Catalog`` ("N sources from <name>") or pasted JSON.

    The value sent is the catalog's JSON string (PROTOCOL §6).
    """

    def build(self):
        self.catalog = None
        self.summary = W.HTML(value="")
        self.text = W.Textarea(
            value="", rows=2, placeholder="link a Catalog or paste its JSON", layout=W.Layout(**_INPUT_LAYOUT)
        )
        self.clear_button = W.Button(description="Unlink", layout=W.Layout(width="80px"))
        self.clear_button.on_click(lambda _b: self.set(None))
        self.clear_button.layout.display = "none"
        if self.spec.default is not None:
            self.text.value = (
                self.spec.default if isinstance(self.spec.default, str) else json.dumps(self.spec.default)
            )
        return W.VBox([self.summary, W.HBox([self.text, self.clear_button])])

    def value_widgets(self):
        return [self.text]

    def get(self):
        if self.catalog is not None:
            return self.catalog.to_selected_catalog()
        text = self.text.value.strip()
        if not text:
            return self._empty()
        try:
            d = json.loads(text)
        except ValueError as exc:
            raise self.fail(f"{self.spec.name} must be a catalog JSON: {exc}") from None
        if not isinstance(d, dict) or "cat_column_list" not in d or "cat_column_names" not in d:
            raise self.fail(
                f"{self.spec.name} must be a catalog object with cat_column_names and cat_column_list"
            )
        return text

    def set(self, value):
        if value is not None and hasattr(value, "to_selected_catalog"):
            self.catalog = value
            self.text.value = ""
            self.text.layout.display = "none"
            self.clear_button.layout.display = None
            self.summary.value = _escape(self.describe())
            self._changed()
            return
        self.catalog = None
        self.text.layout.display = None
        self.clear_button.layout.display = "none"
        if isinstance(value, dict):
            value = json.dumps(value)
        self.text.value = "" if value is None else str(value)
        self.summary.value = ""

    def describe(self) -> str:
        """'N sources from <catalog>' for a linked catalog, '' otherwise."""
        if self.catalog is None:
            return ""
        try:
            n = len(self.catalog)
        except TypeError:
            n = len(json.loads(self.catalog.to_selected_catalog())["cat_column_list"][0])
        name = getattr(self.catalog, "name", None) or type(self.catalog).__name__
        return f"{n} source{'s' if n != 1 else ''} from {name}"
