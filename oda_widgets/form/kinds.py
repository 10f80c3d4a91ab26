"""Parameter kinds: how each sort of parameter reads what a person types, checks it and sends it.

A :class:`Kind` knows, for one sort of parameter (a time, an angle, a list of science windows…):

* ``to_input(field, value)`` — what the field holds for a value a user or a script gives (text,
  numbers, astropy ``Time``/``Angle``/``Quantity``, lists, catalogs);
* ``parse(field, raw)`` — the value read from that input (``field.fail(...)`` for a message);
* ``validate(field, value)`` — limits and other checks of a parsed value;
* ``to_wire(field, value)`` — the par_dict value (default: the value as parsed);
* ``formats``/``convert`` — the companion argument (``T_format``, ``time_bin_format``) and how the
  input changes when it is switched.

Which kind a parameter has is decided by an ordered list of ``(predicate, kind)`` rules over its
:class:`~oda_widgets.client.description.ParameterSpec`, most specific first. A new kind is one
entry::

    class ScwListFile(Kind):
        name = "scw_list_file"
        def parse(self, field, raw): ...

    register_kind(lambda spec: spec.name == "scw_list_file", ScwListFile())

Its field is shown as a text box unless a control is registered for it too
(:func:`oda_widgets.form.register`). Nothing here imports ipywidgets.
"""

from __future__ import annotations

import json
import math
import numbers
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from oda_widgets.client.description import OPEN_CHOICES, ParameterSpec
from oda_widgets.client.scw_list import SCW_PATTERN, scw_id_problem

if TYPE_CHECKING:
    from oda_widgets.form.model import Field

__all__ = [
    "Kind",
    "TextKind",
    "FileURLKind",
    "NumberKind",
    "IntegerKind",
    "AngleKind",
    "RightAscensionKind",
    "DeclinationKind",
    "RadiusKind",
    "CountKind",
    "EnergyKind",
    "ThresholdKind",
    "TimeKind",
    "TimeDeltaKind",
    "EnumKind",
    "BooleanKind",
    "StructuredKind",
    "InputListKind",
    "CatalogKind",
    "KindRule",
    "register_kind",
    "unregister_kind",
    "kind_rules",
    "kind_for",
    "SCW_PATTERN",
    "format_number",
    "json_text",
    "TEXT_LIMITS",
]

#: Longest text a field takes, by parameter kind: the web frontend's limits — a single-line
#: text box is Drupal's textfield (``#maxlength`` 128, ``modules/system/system.module``), a
#: ``LongString`` a textarea with ``maxlength`` 10000 (frontend-tab-generator ``instr.inc``); URLs
#: up to the 2048 characters browsers and servers commonly accept; JSON up to 1 MB.
TEXT_LIMITS = {"text": 128, "long_string": 10_000, "file_url": 2048, "structured": 1_000_000}


def json_text(value: Any) -> str:
    """What a text box shows for ``value``: strings as they are, other values as JSON, None empty."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value)


def format_number(value: Any) -> str:
    """Text that reads back as exactly the same number (``repr``: ``20.0`` stays ``20.0``)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return repr(float(value))  # numpy scalars too, without their np.float64(...) wrapper
    return str(value)


def _bound(x: float) -> str:
    return f"{x:g}"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _unit(units: str) -> Any:
    from astropy import units as u

    aliases = {"sec": "s", "minute": "min", "sigma": ""}
    return u.Unit(aliases.get(units, units))


class Kind:
    """How a sort of parameter reads, checks and sends its value. Subclass and override.

    The input (``field.input``) is what a control shows and edits: text for most kinds, the
    chosen value for enumerations and booleans, a linked catalog or text for catalogs.
    """

    #: the kind's name (controls are chosen by it)
    name = "text"

    # -- the companion (format) argument ---------------------------------------------------
    def initial_format(self, spec: ParameterSpec) -> str | None:
        """The format the field starts in (None: the kind has no format)."""
        return None

    def formats(self, spec: ParameterSpec) -> list[str]:
        """The formats offered (the first ones are the usual choices)."""
        return []

    def convert(self, field: Field, raw: Any, old: str | None, new: str) -> Any:
        """The input in format ``new`` for ``raw`` written in ``old`` (as is when unreadable)."""
        return raw

    # -- reading and writing ----------------------------------------------------------------
    def initial_input(self, field: Field) -> Any:
        """The input of a fresh field: its default, as the kind shows it."""
        return self.to_input(field, field.spec.default)

    def to_input(self, field: Field, value: Any) -> Any:
        """The input for a value given by a user or a script; ``field.fail`` if it cannot be one."""
        return json_text(value)

    def parse(self, field: Field, raw: Any) -> Any:
        """The value of input ``raw``; ``field.empty()`` for an empty input."""
        text = json_text(raw)
        if text == "" or (text.strip() == "" and field.spec.optional):
            return field.empty()
        return text

    def validate(self, field: Field, value: Any) -> None:
        """Raise ``field.fail(message)`` if a parsed (non-empty) value is not acceptable."""

    def to_wire(self, field: Field, value: Any) -> Any:
        """The par_dict value of a parsed, valid value."""
        return value

    def order_key(self, field: Field, value: Any) -> Any:
        """What cross-field order checks compare (T1 before T2, E1 below E2)."""
        return value

    def summary(self, field: Field) -> str:
        """A line shown under the field besides its message ('' for none): how many science
        windows a list holds, how many sources a catalog has."""
        return ""

    def from_file(self, field: Field, source: Any, name: str | None = None) -> tuple[Any, str]:
        """(value for ``field.set``, a line saying what was read) from a file (path or bytes)."""
        raise field.fail(f"{field.name} is not read from files")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


def check_length(field: Field, text: str, limit_kind: str) -> None:
    """Refuse text longer than the frontend takes for this kind of field (``TEXT_LIMITS``); a
    default longer than that is always allowed."""
    limit = max(TEXT_LIMITS[limit_kind], len(json_text(field.spec.default)))
    if len(text) > limit:
        raise field.fail(
            f"{field.name} is {len(text):,} characters long; at most {limit:,} are taken "
            "(the web frontend's limit for this field)"
        )


class TextKind(Kind):
    """A string (``String``, ``Name``, ``LongString``); unknown kinds read JSON when they can."""

    name = "text"

    def parse(self, field, raw):
        text = super().parse(field, raw)
        if text is not None:
            limits = {"long_string": "long_string", "unknown": "structured"}  # unknown kinds may be JSON
            check_length(field, text, limits.get(field.spec.kind, "text"))
        if text is not None and field.spec.kind == "unknown" and not isinstance(field.spec.default, str):
            try:
                return json.loads(text)
            except ValueError:
                return text
        return text


class FileURLKind(Kind):
    """A file given by URL (``FileReference``/``FileURL``): through the API files travel as URLs."""

    name = "file_url"

    def parse(self, field, raw):
        text = json_text(raw).strip()
        if not text:
            return field.empty()
        check_length(field, text, "file_url")
        if not re.match(r"^(https?|ftp)://\S+$", text):
            raise field.fail(f"{field.name} must be a URL (http://, https:// or ftp://)")
        return text


class NumberKind(Kind):
    """A real number in the parameter's units, checked against its limits; astropy ``Quantity``
    values are converted to those units."""

    name = "number"

    def to_input(self, field, value):
        value = self.quantity_value(field, value)
        if value is None:
            return ""
        return format_number(value)

    def quantity_value(self, field: Field, value: Any) -> Any:
        from astropy import units as u

        units = field.spec.units
        if isinstance(value, u.Quantity):
            if not units or units == "str":
                return value.value
            try:
                return value.to_value(_unit(units), equivalencies=u.spectral())
            except u.UnitsError as exc:
                raise field.fail(f"{field.name}: {exc}") from None
        return value

    def number(self, field: Field, text: str) -> float:
        try:
            x = float(text)
        except ValueError:
            raise field.fail(f"{field.name} must be a number, not {text!r}") from None
        if math.isnan(x) or math.isinf(x):
            raise field.fail(f"{field.name} must be a finite number")
        return x

    def parse(self, field, raw):
        text = json_text(raw).strip()
        if not text:
            return field.empty()
        return self.number(field, text)

    def validate(self, field, value):
        spec = field.spec
        units = f" {spec.units}" if spec.units and spec.units != "str" else ""
        lo, hi = spec.min_value, spec.max_value
        if lo is not None and value < lo:
            raise field.fail(
                f"{field.name} must be ≥ {_bound(lo)}{units}"
                + (f" (allowed {_bound(lo)}–{_bound(hi)}{units})" if hi is not None else "")
            )
        if hi is not None and value > hi:
            raise field.fail(
                f"{field.name} must be ≤ {_bound(hi)}{units}"
                + (f" (allowed {_bound(lo)}–{_bound(hi)}{units})" if lo is not None else "")
            )


class IntegerKind(NumberKind):
    """A whole number: ``10.5`` is refused, never rounded (the server would answer 400)."""

    name = "integer"

    def number(self, field, text):
        if not re.fullmatch(r"[+-]?\d+", text):
            raise field.fail(f"{field.name} must be a whole number, not {text!r}")
        return int(text)

    def to_input(self, field, value):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return super().to_input(field, value)


class AngleKind(NumberKind):
    """An angle: decimal number in the parameter's units, or sexagesimal text.

    ``RA`` in ``hh:mm:ss`` (or ``17h45m``) is read as hours, other angles as degrees
    (``-29:44:42`` or ``-29d44m42s``); astropy ``Angle``/``Quantity`` are converted. NaN, infinities
    and numbers too large for a float (``1e309``) are refused.
    """

    name = "angle"
    #: read ``hh:mm:ss`` as hours (right ascensions)
    hours = False

    def number(self, field, text):
        try:
            x = float(text)
        except ValueError:
            x = self._sexagesimal(field, text)
        if not math.isfinite(x):
            raise field.fail(f"{field.name} must be a finite angle, not {text!r}")
        return x

    def _sexagesimal(self, field: Field, text: str) -> float:
        from astropy import units as u
        from astropy.coordinates import Angle

        hours = (self.hours or field.name.upper() == "RA") and not re.search(r"[d°]", text)
        try:
            angle = Angle(text, unit=u.hourangle if hours else u.deg)
        except (ValueError, u.UnitsError):
            raise field.fail(
                f"{field.name} must be an angle in {field.spec.units or 'deg'} "
                f"or sexagesimal (e.g. 17:45:40.0 or -29d00m28s), not {text!r}"
            ) from None
        return float(angle.to_value(_unit(field.spec.units or "deg")))

    def degrees(self, field: Field, value: float) -> float:
        """``value`` (in the parameter's units) in degrees."""
        units = field.spec.units or "deg"
        return value if units == "deg" else float((value * _unit(units)).to_value("deg"))

    def from_degrees(self, field: Field, deg: float) -> float:
        units = field.spec.units or "deg"
        return deg if units == "deg" else float((deg * _unit("deg")).to_value(_unit(units)))

    def to_input(self, field, value):
        if value is not None and not isinstance(value, (str, numbers.Real)):
            # astropy.coordinates is slow to import: only for values that may be an Angle
            from astropy.coordinates import Angle

            if isinstance(value, Angle):
                value = value.to(_unit(field.spec.units or "deg"))
        return super().to_input(field, value)


class RightAscensionKind(AngleKind):
    """A right ascension: in [0, 360) degrees. A value outside is refused, not wrapped — RA 400
    is not silently RA 40 — and the wrapped value is offered as a one-click fix."""

    name = "right_ascension"
    hours = True

    def validate(self, field, value):
        super().validate(field, value)
        deg = self.degrees(field, value)
        if not 0.0 <= deg < 360.0:
            wrapped = round(deg % 360.0, 10) % 360.0
            raise field.fail(
                f"{field.name} must be in [0, 360) deg; {format_number(value)} is outside — "
                f"use {format_number(wrapped)} if you mean the same direction",
                fixes=(self.from_degrees(field, wrapped),),
            )


class DeclinationKind(AngleKind):
    """A declination: in [-90, 90] degrees."""

    name = "declination"

    def validate(self, field, value):
        super().validate(field, value)
        if not -90.0 <= self.degrees(field, value) <= 90.0:
            raise field.fail(f"{field.name} must be between -90 and 90 deg")


class RadiusKind(AngleKind):
    """A search radius on the sky: above 0 and at most 180 degrees (the whole sky), within the
    description's limits when it gives them."""

    name = "radius"

    def validate(self, field, value):
        super().validate(field, value)
        deg = self.degrees(field, value)
        if not 0.0 < deg <= 180.0:
            raise field.fail(
                f"{field.name} must be above 0 and at most 180 deg (the whole sky), not {format_number(value)}"
            )


class CountKind(IntegerKind):
    """A number of things to take (``max_pointings``): at least 1."""

    name = "count"

    def validate(self, field, value):
        super().validate(field, value)
        if value < 1:
            raise field.fail(f"{field.name} must be at least 1, not {value}")


class EnergyKind(NumberKind):
    """An energy (or frequency) bound: a positive number, within the description's limits."""

    name = "energy"

    def validate(self, field, value):
        super().validate(field, value)
        if value <= 0:
            raise field.fail(f"{field.name} must be a positive energy, not {format_number(value)}")


class ThresholdKind(NumberKind):
    """A detection threshold in sigma: not negative."""

    name = "threshold"

    def validate(self, field, value):
        super().validate(field, value)
        if value < 0:
            raise field.fail(f"{field.name} must not be negative, not {format_number(value)}")


#: Formats of a time instant offered besides the parameter's own.
TIME_CHOICES = ("isot", "mjd")
_ISO_FORMATS = ("isot", "iso", "fits")


class TimeKind(Kind):
    """A time instant: text in ISO (``2017-03-06T13:26:48``) or MJD, whatever the format shown.

    With a format companion (``T_format``) the format switches between ``isot`` and ``mjd`` and
    the instant is kept (astropy ``Time``, UTC); the value sent is in the format shown.
    """

    name = "time"

    def initial_format(self, spec):
        return spec.format_default or spec.units or "isot"

    def formats(self, spec):
        fmt = self.initial_format(spec)
        if spec.format_name is None:
            return [fmt]  # no companion to send: the server reads only its own format
        return list(TIME_CHOICES) + ([fmt] if fmt not in TIME_CHOICES else [])

    def to_input(self, field, value):
        if value is None:
            return ""
        from astropy.time import Time

        if isinstance(value, Time):
            value = getattr(value.utc, field.format or "isot")
        return format_number(value)

    def instant(self, field: Field, text: str) -> Any:
        """The astropy ``Time`` of ``text`` (ISO or MJD both understood)."""
        from astropy.time import Time

        text = text.strip()
        try:
            number = float(text)
        except ValueError:
            number = None
        if number is not None and not math.isfinite(number):
            raise field.fail(f"{field.name} must be a finite time, not {text!r}")
        try:
            if number is not None:
                fmt = field.format if field.format not in (*_ISO_FORMATS, None) else "mjd"
                return Time(number, format=fmt, scale="utc")
            return Time(text, scale="utc")
        except (ValueError, OverflowError):
            raise field.fail(
                f"{field.name} must be a time in ISO (2017-03-06T13:26:48) or MJD (57818.56), not {text!r}"
            ) from None

    def read_as(self, field: Field, value: Any, fmt: str | None) -> Any:
        """The astropy ``Time`` of ``value`` written in format ``fmt`` (a ``T_format`` value:
        ``isot``, ``mjd``…); what a caller that sets times without switching the form reads."""
        from astropy.time import Time

        if isinstance(value, Time):
            return value
        text = json_text(value).strip()
        if fmt in (*_ISO_FORMATS, None) or not _is_number(text):
            return self.instant(field, text)
        try:
            return Time(float(text), format=fmt, scale="utc")
        except (ValueError, OverflowError):
            raise field.fail(f"{field.name}: {text!r} is not a time in format {fmt}") from None

    def parse(self, field, raw):
        text = json_text(raw).strip()
        if not text:
            return field.empty()
        t = self.instant(field, text)
        fmt = field.format or "isot"
        if fmt in _ISO_FORMATS:
            # the text as typed when it already is ISO: round trips must not change it
            return getattr(t, fmt) if _is_number(text) else text
        if _is_number(text):
            return float(text)
        return float(getattr(t, fmt))

    def order_key(self, field, value):
        return self.instant(field, json_text(field.input))

    def convert(self, field, raw, old, new):
        text = json_text(raw).strip()
        if not text:
            return raw
        from astropy.time import Time

        try:
            number = float(text)
            t = Time(number, format=old if old not in (*_ISO_FORMATS, None) else "mjd", scale="utc")
        except ValueError:
            try:
                t = Time(text, scale="utc")
            except ValueError:
                return raw  # unreadable text stays as typed; the message says why
        value = getattr(t, new)
        return format_number(float(value)) if not isinstance(value, str) else value


_DELTA_SECONDS = {"sec": 1.0, "s": 1.0, "jd": 86400.0, "day": 86400.0}


#: Longest duration taken for a time bin: a century (INTEGRAL flew 22 years; nothing is binned
#: coarser than the whole archive).
MAX_DURATION_SECONDS = 100 * 365.25 * 86400.0


class TimeDeltaKind(NumberKind):
    """A duration with a format companion (``time_bin`` with ``time_bin_format`` sec|jd):
    positive, at most a century, within the description's limits."""

    name = "time_delta"

    def seconds(self, field: Field, value: float) -> float:
        """``value`` (in the field's format) in seconds."""
        return value * _DELTA_SECONDS.get(field.format or "sec", 1.0)

    def from_seconds(self, field: Field, seconds: float) -> float:
        """``seconds`` in the field's format, rounded to 12 significant digits (no float noise)."""
        return float(f"{seconds / _DELTA_SECONDS.get(field.format or 'sec', 1.0):.12g}")

    def initial_format(self, spec):
        return spec.format_default or spec.units or "sec"

    def formats(self, spec):
        fmt = self.initial_format(spec)
        if spec.format_name is None:
            return [fmt]
        return ["sec", "jd"] + ([fmt] if fmt not in ("sec", "jd") else [])

    def validate(self, field, value):
        # limits are published in the parameter's own units; compare in those
        spec = field.spec
        units = spec.units or "sec"
        factor = _DELTA_SECONDS.get(field.format or "sec", 1.0) / _DELTA_SECONDS.get(units, 1.0)
        y = value * factor
        if spec.min_value is not None and y < spec.min_value:
            raise field.fail(f"{field.name} must be ≥ {_bound(spec.min_value)} {units}")
        if spec.max_value is not None and y > spec.max_value:
            raise field.fail(f"{field.name} must be ≤ {_bound(spec.max_value)} {units}")
        if value <= 0:
            raise field.fail(f"{field.name} must be positive")
        if self.seconds(field, value) > MAX_DURATION_SECONDS:
            raise field.fail(
                f"{field.name} of {format_number(value)} {field.format or 'sec'} is longer than a century"
            )

    def to_input(self, field, value):
        from astropy import units as u

        if isinstance(value, u.Quantity):
            value = value.to_value(u.s) / _DELTA_SECONDS.get(field.format or "sec", 1.0)
        return super().to_input(field, value)

    def convert(self, field, raw, old, new):
        text = json_text(raw).strip()
        if text and _is_number(text) and old in _DELTA_SECONDS and new in _DELTA_SECONDS:
            return format_number(float(text) * _DELTA_SECONDS[old] / _DELTA_SECONDS[new])
        return raw


class EnumKind(Kind):
    """A choice among ``allowed_values``; optional ones may be left empty. For open choices
    (``osa_version``) other values are taken as given (the server decides)."""

    name = "enum"
    NONE_LABEL = "(none)"

    def initial_input(self, field):
        return field.spec.default

    def choices(self, field: Field) -> list[tuple[str, Any]]:
        """(label, value) pairs offered, in order."""
        spec = field.spec
        options = [(str(v), v) for v in (spec.allowed_values or ())]
        if spec.optional:
            options.insert(0, (self.NONE_LABEL, None))
        values = [v for _, v in options]
        if spec.default not in values:
            options.append((str(spec.default), spec.default))
        options += [(str(v), v) for v in field.extra_choices]
        return options

    def to_input(self, field, value):
        values = [v for _, v in self.choices(field)]
        if value not in values:
            # a text from a pasted par_dict may carry a number as a string, or vice versa
            for v in values:
                if v is not None and str(v) == str(value):
                    return v
            if value is None and not field.spec.optional:
                raise field.fail(f"{field.name} is required")
            if field.name not in OPEN_CHOICES:
                raise field.fail(
                    f"{field.name} must be one of "
                    f"{', '.join(str(v) for v in values if v is not None)}; got {value!r}"
                )
            field.extra_choices.append(value)
        return value

    def parse(self, field, raw):
        if raw is None:
            return field.empty()
        return raw


_TRUE = {"true", "yes", "1", "y", "t"}
_FALSE = {"false", "no", "0", "n", "f"}


class BooleanKind(Kind):
    """True or false (text such as ``yes``/``no`` is understood)."""

    name = "boolean"

    def to_input(self, field, value):
        if isinstance(value, str):
            if value.strip().lower() in _TRUE:
                return True
            if value.strip().lower() in _FALSE:
                return False
            raise field.fail(f"{field.name} must be true or false, not {value!r}")
        return bool(value)

    def parse(self, field, raw):
        return bool(raw)


class StructuredKind(Kind):
    """JSON, validated against ``restrictions.schema`` (with ``jsonschema``)."""

    name = "structured"

    def parse(self, field, raw):
        text = json_text(raw).strip()
        if not text:
            return field.empty()
        check_length(field, text, "structured")
        try:
            value = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise field.fail(f"{field.name} must be JSON: {exc}") from None
        return value

    def validate(self, field, value):
        if field.spec.schema:
            import jsonschema

            try:
                jsonschema.validate(value, field.spec.schema)
            except jsonschema.ValidationError as exc:
                raise field.fail(f"{field.name} does not match its schema: {exc.message}") from None
            except jsonschema.SchemaError:
                pass  # the server's schema itself is broken: the server will judge


class InputListKind(Kind):
    """A list of input products (``scw_list``): one id per line, or separated by commas/spaces.

    ScW ids are checked against 12 ASCII digits + '.' + 3 digits (``066500220010.001``);
    full-width digits are refused, not converted. Repeated ids are sent once (the summary line
    says how many were dropped). Lists are also read from files (text, CSV, FITS):
    :meth:`from_file`.
    """

    name = "input_list"

    def to_input(self, field, value):
        if value is None:
            return ""
        if isinstance(value, str):
            return value
        return ", ".join(str(v) for v in value)

    def items(self, field: Field, raw: Any) -> list[str] | None:
        """The ids as typed (repeats included); None for an empty input."""
        text = json_text(raw).strip()
        if not text:
            return None
        if text.startswith("["):
            try:
                items = json.loads(text)
            except ValueError as exc:
                raise field.fail(f"{field.name} must be a list: {exc}") from None
            if not isinstance(items, list):
                raise field.fail(f"{field.name} must be a list")
            return [str(i) for i in items]
        return [i for i in re.split(r"[,\s]+", text) if i]

    def parse(self, field, raw):
        spec = field.spec
        items = self.items(field, raw)
        if items is None:
            if spec.default == [] or not spec.optional:
                return [] if spec.optional else field.empty()
            return None
        return list(dict.fromkeys(items))

    def to_wire(self, field, value):
        # scw_list travels as repeated keys (client.encoding); the dispatcher reads no other list
        # that way: it splits an InputProdList's text on commas (1.3.3's InputProdList._split), so
        # a JSON list would arrive as '["a"', ' "b"]'. One comma-separated string reads right.
        if field.name != "scw_list" and isinstance(value, list) and value:
            return ",".join(value)
        return value

    def validate(self, field, value):
        if field.name == "scw_list":
            bad = [(i, scw_id_problem(i)) for i in value if not SCW_PATTERN.match(i)]
            if bad:
                shown = "; ".join(f"{i!r} {why}" for i, why in bad[:3])
                raise field.fail(f"scw_list: {shown}{'; …' if len(bad) > 3 else ''}")

    def summary(self, field):
        try:
            items = self.items(field, field.input)
        except Exception:
            return ""
        if not items:
            return ""
        n = len(dict.fromkeys(items))
        what = "science window" if field.name == "scw_list" else "item"
        text = f"{n} {what}{'s' if n != 1 else ''}"
        repeated = len(items) - n
        if repeated:
            text += f" ({repeated} repeated id{'s' if repeated != 1 else ''} sent once)"
        return text

    def from_file(self, field, source, name=None):
        from oda_widgets.client.scw_list import read_scw_list

        try:
            scws = read_scw_list(source, name)
        except Exception as exc:
            if hasattr(exc, "parameter"):
                raise field.fail(str(exc)) from None
            raise
        return list(scws.ids), scws.summary


class CatalogKind(Kind):
    """``selected_catalog``: a linked catalog (anything with ``to_selected_catalog()``) or its
    JSON text; the value sent is the catalog's JSON string (PROTOCOL §6)."""

    name = "catalog"

    def initial_input(self, field):
        default = field.spec.default
        if default is None:
            return ""
        return default if isinstance(default, str) else json.dumps(default)

    def to_input(self, field, value):
        if value is not None and hasattr(value, "to_selected_catalog"):
            return value
        if isinstance(value, dict):
            return json.dumps(value)
        return "" if value is None else str(value)

    def parse(self, field, raw):
        if hasattr(raw, "to_selected_catalog"):
            return raw.to_selected_catalog()
        text = json_text(raw).strip()
        if not text:
            return field.empty()
        try:
            d = json.loads(text)
        except ValueError as exc:
            raise field.fail(f"{field.name} must be a catalog JSON: {exc}") from None
        if not isinstance(d, dict) or "cat_column_list" not in d or "cat_column_names" not in d:
            raise field.fail(
                f"{field.name} must be a catalog object with cat_column_names and cat_column_list"
            )
        return text

    def from_file(self, field, source, name=None):
        from oda_widgets.products.user_catalog import read_user_catalog

        try:
            catalog = read_user_catalog(source, name)
        except Exception as exc:
            if hasattr(exc, "parameter"):
                raise field.fail(str(exc)) from None
            raise
        return catalog, f"{len(catalog)} source{'s' if len(catalog) != 1 else ''} from {catalog.name}"

    def summary(self, field):
        return self.describe(field)

    @staticmethod
    def describe(field: Field) -> str:
        """'N sources from <catalog>' for a linked catalog, '' otherwise."""
        catalog = field.input
        if not hasattr(catalog, "to_selected_catalog"):
            return ""
        try:
            n = len(catalog)
        except TypeError:
            n = len(json.loads(catalog.to_selected_catalog())["cat_column_list"][0])
        name = getattr(catalog, "name", None) or type(catalog).__name__
        return f"{n} source{'s' if n != 1 else ''} from {name}"


# -- the registry ------------------------------------------------------------------------------

Predicate = Callable[[ParameterSpec], bool]
KindRule = tuple[Predicate, Kind]


def _spec_kind(*kinds: str) -> Predicate:
    return lambda spec: spec.kind in kinds


#: Integer parameters that count things to take: at least 1.
COUNT_NAMES = frozenset({"max_pointings"})
#: Ontology classes (URI fragments) of right ascensions and declinations.
_RA_TERMS = frozenset({"RightAscension", "RightAscensionDegrees", "PointOfInterestRA"})
_DEC_TERMS = frozenset({"Declination", "DeclinationDegrees", "PointOfInterestDEC"})


def _fragments(spec: ParameterSpec) -> set[str]:
    return {u.rsplit("#", 1)[-1] for u in spec.owl_uri}


def _is_ra(spec: ParameterSpec) -> bool:
    return spec.name.upper() in ("RA", "RA_OBJ") or bool(_fragments(spec) & _RA_TERMS)


def _is_dec(spec: ParameterSpec) -> bool:
    return spec.name.upper() in ("DEC", "DEC_OBJ") or bool(_fragments(spec) & _DEC_TERMS)


# Most specific first. ``spec.kind`` comes from owl_uri/units/restrictions/name
# (client.description); the few direct checks cover what it does not say.
_BUILTIN: list[KindRule] = [
    (lambda s: s.name == "selected_catalog" or s.kind == "user_catalog", CatalogKind()),
    (_spec_kind("input_prod_list"), InputListKind()),
    (_spec_kind("boolean"), BooleanKind()),
    (lambda s: bool(s.allowed_values), EnumKind()),
    (_spec_kind("time"), TimeKind()),
    (_spec_kind("time_delta"), TimeDeltaKind()),
    (_spec_kind("structured"), StructuredKind()),
    (lambda s: s.schema is not None, StructuredKind()),
    (lambda s: s.kind == "integer" and s.name in COUNT_NAMES, CountKind()),
    (_spec_kind("integer"), IntegerKind()),
    (lambda s: s.kind == "angle" and _is_ra(s), RightAscensionKind()),
    (lambda s: s.kind == "angle" and _is_dec(s), DeclinationKind()),
    (lambda s: s.kind == "angle" and (s.name == "radius" or s.name.endswith("_radius")), RadiusKind()),
    (_spec_kind("angle"), AngleKind()),
    (_spec_kind("energy"), EnergyKind()),
    (_spec_kind("threshold"), ThresholdKind()),
    (_spec_kind("float", "time_interval"), NumberKind()),
    (_spec_kind("file_url"), FileURLKind()),
    (lambda s: True, TextKind()),
]

_USER: list[KindRule] = []


def register_kind(predicate: Predicate, kind: Kind, first: bool = True) -> KindRule:
    """Give parameters where ``predicate(spec)`` is true the kind ``kind``.

    ``first=True`` puts the rule before every rule registered so far (built-ins included);
    ``first=False`` after the user rules but still before the built-ins. Returns the rule (give
    it to :func:`unregister_kind` to remove it).
    """
    rule = (predicate, kind)
    if first:
        _USER.insert(0, rule)
    else:
        _USER.append(rule)
    return rule


def unregister_kind(rule: KindRule) -> None:
    """Remove a rule added with :func:`register_kind`."""
    _USER.remove(rule)


def kind_rules() -> list[KindRule]:
    """The rules in the order they are tried."""
    return [*_USER, *_BUILTIN]


def kind_for(spec: ParameterSpec) -> Kind:
    """The kind of the first rule that accepts ``spec``."""
    for predicate, kind in kind_rules():
        if predicate(spec):
            return kind
    return _BUILTIN[-1][1]
