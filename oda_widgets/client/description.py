"""The dispatcher's product descriptions as a typed parameter model.

``parse_description(payload)`` turns the JSON of ``/api/meta-data`` into an
``InstrumentDescription``; ``.product(name)`` gives a ``ProductDescription`` whose
``parameters`` are ``ParameterSpec`` records a form (or a script) can use directly: a ``kind``
('time', 'angle', 'energy', 'integer', 'enum'...), units, default, optional flag, limits, allowed
values, JSON schema, label, description, group, ontology URIs and the format companion
(``T_format``...). Both the current nested form and the legacy form whose query blocks are JSON
strings (dispatchers up to 1.3.3) are read (PROTOCOL §4).

Not user parameters, so not in ``parameters``: ``token``, format companions, entries whose
name is null, and the internal ``user_catalog``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from oda_widgets.errors import InvalidParameter, ServerError

__all__ = [
    "ParameterSpec",
    "ProductDescription",
    "InstrumentDescription",
    "parse_description",
    "KINDS",
    "HIDDEN_NAMES",
    "KNOWN_LIMITS",
    "KNOWN_CHOICES",
    "OPEN_CHOICES",
    "TIME_FORMATS",
]

KINDS = (
    "string",
    "name",
    "long_string",
    "file_url",
    "float",
    "integer",
    "angle",
    "energy",
    "threshold",
    "time_interval",
    "time",
    "time_delta",
    "input_prod_list",
    "user_catalog",
    "boolean",
    "structured",
    "enum",
    "unknown",
)

#: Names that are never shown as form fields.
HIDDEN_NAMES = frozenset({"token", "user_catalog"})

#: Instrument limits the servers enforce without publishing them in ``restrictions``
#: (PROTOCOL §5.0): (instrument, parameter) -> (min, max) in the parameter's own units.
KNOWN_LIMITS: dict[tuple[str, str], tuple[float | None, float | None]] = {
    ("isgri", "E1_keV"): (15.0, 800.0),
    ("isgri", "E2_keV"): (15.0, 800.0),
    ("jemx", "E1_keV"): (3.0, 35.0),
    ("jemx", "E2_keV"): (3.0, 35.0),
}

#: Choices the servers accept but do not (or wrongly) publish, by parameter name (PROTOCOL §5.0).
#: ``osa_version``: its published ``allowed_values`` are special development versions, so the
#: normal base versions are offered instead.
KNOWN_CHOICES: dict[str, tuple[Any, ...]] = {
    "osa_version": ("OSA10.2", "OSA11.2"),
    "integral_data_rights": ("public", "all-private"),
    "jemx_num": (1, 2),
    "data_level": ("ordinary", "realtime"),
}
#: Parameters whose published allowed values are replaced by ``KNOWN_CHOICES``.
_OVERRIDDEN_CHOICES = frozenset({"osa_version"})
#: Parameters whose choices are suggestions: the server also takes other values from some users
#: (``osa_version`` suffixes and special versions for privileged roles).
OPEN_CHOICES = frozenset({"osa_version"})

#: Time formats ``units`` may carry for a time instant (astropy format names).
TIME_FORMATS = frozenset(
    {
        "isot",
        "iso",
        "mjd",
        "jd",
        "unix",
        "cxcsec",
        "gps",
        "decimalyear",
        "fits",
        "byear",
        "jyear",
        "datetime",
        "ijd",
    }
)
_TIME_DELTA_FORMATS = frozenset({"sec", "jd"})
_ANGLE_UNITS = frozenset({"deg", "arcsec", "arcmin", "rad", "mas", "hourangle"})
_ENERGY_UNITS = frozenset({"ev", "kev", "mev", "gev", "tev", "hz", "khz", "mhz", "ghz"})
_DURATION_UNITS = frozenset({"s", "minute", "hour", "day", "year", "min", "h", "d", "yr"})

# Ontology class (URI fragment) -> kind, most specific first.
_OWL_KINDS: tuple[tuple[str, str], ...] = (
    ("TimeInstant", "time"),
    ("TimeDeltaIsDeprecated", "time_delta"),
    ("TimeInterval", "time_interval"),
    ("Angle", "angle"),
    ("SpectralBoundary", "energy"),
    ("Energy", "energy"),
    ("Frequency", "energy"),
    ("DetectionThreshold", "threshold"),
    ("InputProdList", "input_prod_list"),
    ("StructuredParameter", "structured"),
    ("PhosphorosFiltersTable", "structured"),
    ("Boolean", "boolean"),
    ("bool", "boolean"),
    ("Integer", "integer"),
    ("int", "integer"),
    ("LongString", "long_string"),
    ("FileURL", "file_url"),
    ("FileReference", "file_url"),
    ("POSIXPath", "file_url"),
    ("AstrophysicalObject", "name"),
    ("Float", "float"),
    ("float", "float"),
    ("String", "string"),
    ("str", "string"),
)


@dataclass(frozen=True)
class ParameterSpec:
    """One user parameter of a product, as the dispatcher describes it.

    ``kind`` says what the value means (see ``KINDS``); ``units`` is the unit of numbers, or the
    time *format* of 'time'/'time_delta' parameters (``isot``, ``mjd``, ``sec``...).
    ``min_value``/``max_value`` are in ``units``. ``format_name``/``format_default`` name the
    companion argument (``T_format``) sent alongside and its default. ``notes`` says which parts
    of the server's description were unreadable and left out (a ``min_value`` that is not a
    number, an ``owl_uri`` that is not text...): the parameter is still usable without them.
    """

    name: str
    kind: str
    units: str | None
    default: Any
    optional: bool
    min_value: float | None = None
    max_value: float | None = None
    allowed_values: tuple[Any, ...] | None = None
    schema: dict[str, Any] | None = None
    label: str | None = None
    description: str | None = None
    group: str | None = None
    owl_uri: tuple[str, ...] = ()
    format_name: str | None = None
    format_default: str | None = None
    block: str = "product"
    notes: tuple[str, ...] = ()

    @property
    def empty_default(self) -> bool:
        """True when the default means 'nothing' (null, or an empty input-product list): such a
        value is better not sent at all."""
        return self.default is None or (self.kind == "input_prod_list" and self.default == [])

    @property
    def title(self) -> str:
        """What a form shows: the label (or the name), with the units in brackets when useful."""
        text = self.label or self.name
        if self.units and self.units != "str" and self.kind not in ("time", "time_delta"):
            text = f"{text} [{self.units}]"
        return text


@dataclass
class ProductDescription:
    """The parameters of one product: source, instrument and product blocks, in order."""

    instrument: str
    name: str
    query_name: str
    parameters: list[ParameterSpec] = field(default_factory=list)

    def parameter(self, name: str) -> ParameterSpec:
        """The parameter called ``name``; ``InvalidParameter`` if this product has none."""
        for spec in self.parameters:
            if spec.name == name:
                return spec
        raise InvalidParameter(f"{self.instrument}/{self.name} has no parameter {name!r}", parameter=name)

    @property
    def names(self) -> list[str]:
        """The user parameter names, in order."""
        return [spec.name for spec in self.parameters]

    @property
    def companions(self) -> dict[str, str | None]:
        """Format companions (``T_format``...) -> their default, in order of appearance."""
        out: dict[str, str | None] = {}
        for spec in self.parameters:
            if spec.format_name and spec.format_name not in out:
                out[spec.format_name] = spec.format_default
        return out

    def defaults(self) -> dict[str, Any]:
        """The par_dict of defaults: user parameters and format companions, as sent.

        Parameters whose default is null (or an empty input-product list) are left out: the
        dispatcher applies that default itself, and refuses some explicit forms of it
        (``selected_catalog`` null on 1.3.3; an empty list parameter other than ``scw_list``
        travels as the text ``[]`` and breaks the backend).
        ``instrument`` and ``product_type`` are not included (they are this object's
        ``instrument`` and ``name``).
        """
        out: dict[str, Any] = {}
        for spec in self.parameters:
            if not spec.empty_default:
                out[spec.name] = _copy(spec.default)
            if spec.format_name and spec.format_name not in out:
                out[spec.format_name] = spec.format_default
        return out


@dataclass
class InstrumentDescription:
    """An instrument: its products (``prod_dict``: product -> query name) and their parameters."""

    instrument: str
    products: dict[str, str]
    source_parameters: list[ParameterSpec] = field(default_factory=list)
    instrument_parameters: list[ParameterSpec] = field(default_factory=list)
    product_parameters: dict[str, list[ParameterSpec]] = field(default_factory=dict)
    query_names: dict[str, str] = field(default_factory=dict)
    legacy: bool = False

    def product(self, name: str) -> ProductDescription:
        """The description of product ``name`` (a key of ``products``)."""
        if name not in self.products:
            raise InvalidParameter(
                f"{self.instrument} has no product {name!r}; it offers: {', '.join(self.products) or 'none'}",
                parameter="product_type",
            )
        if name not in self.product_parameters:
            raise InvalidParameter(
                f"this description of {self.instrument} does not include product {name!r} "
                "(it was asked for another product); ask the dispatcher for it",
                parameter="product_type",
            )
        seen: set[str] = set()
        params: list[ParameterSpec] = []
        for spec in (*self.source_parameters, *self.instrument_parameters, *self.product_parameters[name]):
            if spec.name not in seen:
                seen.add(spec.name)
                params.append(spec)
        return ProductDescription(
            self.instrument, name, self.query_names.get(name, self.products[name]), params
        )

    @property
    def described_products(self) -> list[str]:
        """Products whose parameter block this description holds (all, unless filtered)."""
        return [p for p in self.products if p in self.product_parameters]


# -- parsing ---------------------------------------------------------------------------------

_JSON_TOKEN = re.compile(r'"(?:\\.|[^"\\])*"|\bNone\b|\bTrue\b|\bFalse\b')
_PY_LITERALS = {"None": "null", "True": "true", "False": "false"}


def _loads(text: str) -> Any:
    """JSON text; tolerates the ``None``/``True``/``False`` that oda_api's rewrite of legacy
    blocks left in old outputs, by turning those bare words (outside strings) into JSON — the
    text is still read by ``json`` only, never evaluated."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        fixed = _JSON_TOKEN.sub(lambda m: _PY_LITERALS.get(m.group(0), m.group(0)), text)
        try:
            return json.loads(fixed)
        except json.JSONDecodeError as exc:
            raise ServerError(f"A block of the product description is not JSON: {exc}") from None


def _copy(value: Any) -> Any:
    if isinstance(value, (list, dict)):
        return json.loads(json.dumps(value))
    return value


def _fragment(uri: str) -> str:
    return uri.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def _kind(
    name: str, units: str | None, value: Any, restrictions: Mapping[str, Any], owl: tuple[str, ...]
) -> str:
    if name in ("selected_catalog", "user_catalog"):
        return "user_catalog"
    allowed = restrictions.get("allowed_values")
    fragments = [_fragment(u) for u in owl]
    kind = None
    for fragment, candidate in _OWL_KINDS:
        if fragment in fragments:
            kind = candidate
            break
    if kind is None and restrictions.get("schema") is not None:
        kind = "structured"
    if kind is None:
        kind = _legacy_kind(name, units, value)
    if (allowed or name in KNOWN_CHOICES) and kind in ("string", "name", "integer", "float", "unknown"):
        return "enum"
    return kind


def _legacy_kind(name: str, units: str | None, value: Any) -> str:
    """Kind of an entry without ontology URIs (legacy dispatchers): from units, name and value."""
    u = (units or "").lower()
    if name == "scw_list" or (isinstance(value, list) and name.endswith("_list")):
        return "input_prod_list"
    if u == "jd":  # a format both durations (time_bin) and instants use
        return "time_delta" if name.endswith("bin") else "time"
    if u in _TIME_DELTA_FORMATS:
        return "time_delta"
    if u in TIME_FORMATS and not isinstance(value, (bool, list, dict)):
        return "time"
    if u in _ANGLE_UNITS:
        return "angle"
    if u in _ENERGY_UNITS:
        return "energy"
    if u == "sigma":
        return "threshold"
    if u in _DURATION_UNITS:
        return "time_interval"
    if name == "src_name":
        return "name"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, (dict, list)):
        return "structured"
    if isinstance(value, str) or u == "str":
        return "string"
    if value is None and u:
        return "float"
    return "unknown"


def _is_companion(entry: Mapping[str, Any], previous: ParameterSpec | None) -> bool:
    name = entry.get("name")
    if not isinstance(name, str) or not name.endswith("_format"):
        return False
    if "owl_uri" in entry or "restrictions" in entry:
        return False
    return previous is not None and previous.kind in ("time", "time_delta")


def _limit(value: Any, what: str, name: str, notes: list[str]) -> float | None:
    """A restriction's number, or None (with a note) when the server's value is not one."""
    if value is None:
        return None
    try:
        number = float(value) if not isinstance(value, bool) else None
    except (TypeError, ValueError, OverflowError):
        number = None
    if number is None or not math.isfinite(number):
        notes.append(f"{what} {str(value)[:40]!r} of {name} is not a finite number: ignored")
        return None
    return number


def _owl_uris(raw: Any, name: str, notes: list[str]) -> tuple[str, ...]:
    if not raw:
        return ()
    if isinstance(raw, str):
        return (raw,)
    if isinstance(raw, (list, tuple)) and all(isinstance(u, str) for u in raw):
        return tuple(raw)
    notes.append(f"owl_uri of {name} is not text: ignored")
    return tuple(u for u in raw if isinstance(u, str)) if isinstance(raw, (list, tuple)) else ()


def _spec(entry: Mapping[str, Any], block: str, instrument: str) -> ParameterSpec:
    name = entry["name"]
    notes: list[str] = []
    units = entry.get("units")
    if units is not None and not isinstance(units, str):
        notes.append(f"units {str(units)[:40]!r} of {name} are not text: ignored")
        units = None
    value = entry.get("value")
    restrictions = entry.get("restrictions")
    if restrictions is not None and not isinstance(restrictions, dict):
        notes.append(f"restrictions of {name} are not an object: ignored")
    restrictions = restrictions if isinstance(restrictions, dict) else {}
    extra: dict[str, Any] = entry["extra_metadata"] if isinstance(entry.get("extra_metadata"), dict) else {}
    owl = _owl_uris(entry.get("owl_uri"), name, notes)
    allowed = restrictions.get("allowed_values")
    if allowed is not None and not isinstance(allowed, (list, tuple)):
        notes.append(f"allowed_values of {name} is not a list: ignored")
        allowed = None
    kind = _kind(name, units, value, {**restrictions, "allowed_values": allowed}, owl)

    if "is_optional" in restrictions:
        optional = bool(restrictions["is_optional"])
    else:
        # Legacy entries carry no flag: a null default or an input list can be left empty.
        optional = value is None or kind in ("input_prod_list", "user_catalog")

    if name in KNOWN_CHOICES and (not allowed or name in _OVERRIDDEN_CHOICES):
        allowed = list(KNOWN_CHOICES[name])
        if value is not None and value not in allowed:
            allowed.insert(0, value)
    if kind == "boolean":
        allowed = None  # the published list is the accepted spellings of true/false

    min_value = _limit(restrictions.get("min_value"), "min_value", name, notes)
    max_value = _limit(restrictions.get("max_value"), "max_value", name, notes)
    known = KNOWN_LIMITS.get((instrument, name))
    if known is not None:
        min_value = known[0] if min_value is None else min_value
        max_value = known[1] if max_value is None else max_value

    schema = restrictions.get("schema")
    if schema is not None and not isinstance(schema, dict):
        notes.append(f"schema of {name} is not an object: ignored")
    return ParameterSpec(
        name=name,
        kind=kind,
        units=units,
        default=_copy(value),
        optional=optional,
        min_value=min_value,
        max_value=max_value,
        allowed_values=None if not allowed else tuple(allowed),
        schema=schema if isinstance(schema, dict) else None,
        label=extra.get("label") if isinstance(extra.get("label"), str) else None,
        description=extra.get("description") if isinstance(extra.get("description"), str) else None,
        group=extra.get("group") if isinstance(extra.get("group"), str) else None,
        owl_uri=owl,
        block=block,
        notes=tuple(notes),
    )


def _parse_block(entries: Iterable[Any], block: str, instrument: str) -> list[ParameterSpec]:
    """User parameters of one query block, companions attached to their parameter."""
    specs: list[ParameterSpec] = []
    seen: set[str] = set()
    previous: ParameterSpec | None = None
    companions: dict[str, str | None] = {}
    owner: dict[str, int] = {}  # companion name -> index of the parameter it follows
    for entry in entries:
        if not isinstance(entry, dict) or "name" not in entry:
            continue
        name = entry.get("name")
        if name is None:
            previous = None
            continue
        name = str(name)
        if name in seen:
            continue
        seen.add(name)
        if _is_companion(entry, previous):
            value = entry.get("value")
            companions[name] = None if value is None else str(value)
            owner[name] = len(specs) - 1
            continue
        spec = _spec({**entry, "name": name}, block, instrument)
        previous = spec
        specs.append(spec)
    # The server emits a shared companion once (T_format after T1): the other parameters of the
    # same kind in the block (T2) use it too.
    for comp, index in owner.items():
        kind = specs[index].kind
        for i, spec in enumerate(specs):
            if spec.kind == kind and spec.format_name is None and (i == index or kind == "time"):
                specs[i] = _replace(spec, format_name=comp, format_default=companions[comp])
    return [s for s in specs if s.name not in HIDDEN_NAMES]


def _replace(spec: ParameterSpec, **changes: Any) -> ParameterSpec:
    from dataclasses import replace

    return replace(spec, **changes)


def _block_entries(block: Any) -> tuple[dict[str, str], list[Any]]:
    """(header keys such as query_name/product_name, parameter entries) of one block."""
    if isinstance(block, str):
        block = _loads(block)
    if not isinstance(block, list):
        raise ServerError("A block of the product description is not a list.")
    header: dict[str, str] = {}
    params: list[Any] = []
    for entry in block:
        if isinstance(entry, str):
            entry = _loads(entry)
        if (
            isinstance(entry, dict)
            and "name" not in entry
            and ("query_name" in entry or "product_name" in entry)
        ):
            header.update({k: str(v) for k, v in entry.items() if k in ("query_name", "product_name")})
        else:
            params.append(entry)
    return header, params


def parse_description(payload: Any) -> InstrumentDescription:
    """The typed model of a ``/api/meta-data`` answer (nested or legacy JSON-string form).

    ``payload`` is the decoded JSON (or its text). An error body (the server's dict with
    ``error``/``error_message``) or anything else that is not a description raises
    ``ServerError`` with a readable message. Unreadable restrictions of a parameter are left out
    and listed in its ``notes``.
    """
    try:
        return _parse_description(payload)
    except ServerError:
        raise
    except RecursionError:
        raise ServerError("The product description is nested too deeply to read.") from None
    except Exception as exc:  # server data in a shape no rule above expected
        raise ServerError(
            f"The product description could not be read: {type(exc).__name__}: {str(exc)[:200]}"
        ) from exc


def _parse_description(payload: Any) -> InstrumentDescription:
    legacy = False
    if isinstance(payload, (bytes, bytearray)):
        payload = payload.decode("utf-8")
    if isinstance(payload, str):
        payload = _loads(payload)
    if isinstance(payload, dict):
        message = payload.get("error_message") or payload.get("error") or "not a description"
        raise ServerError(f"The dispatcher sent no product description: {message}")
    if not isinstance(payload, list) or not payload:
        raise ServerError("The product description is empty or not a list.")
    items = payload[0] if isinstance(payload[0], (list, str)) and len(payload) == 1 else payload
    if isinstance(items, str):
        items = _loads(items)
        legacy = True
    if not isinstance(items, list) or len(items) < 2:
        raise ServerError("The product description has no instrument header.")
    items = list(items)
    for i in range(2):
        if isinstance(items[i], str):
            items[i] = _loads(items[i])
            legacy = True
    head, prod = items[0], items[1]
    if not isinstance(head, dict) or not isinstance(prod, dict):
        raise ServerError("The product description does not start with instrument and prod_dict.")
    instrument = str(head.get("instrumet", head.get("instrument", "")))
    prod_dict = prod.get("prod_dict") or {}
    if not isinstance(prod_dict, dict):
        raise ServerError("The product description's prod_dict is not a mapping.")
    products = {str(k): str(v) for k, v in prod_dict.items()}

    desc = InstrumentDescription(instrument=instrument, products=products)
    query_to_product = {v: k for k, v in products.items()}
    for position, block in enumerate(items[2:]):
        legacy = legacy or isinstance(block, str)
        header, entries = _block_entries(block)
        query = header.get("query_name", "")
        if "product_name" in header or (position >= 2 and query in query_to_product):
            product = header.get("product_name") or query_to_product[query]
            desc.product_parameters[product] = _parse_block(entries, "product", instrument)
            desc.query_names[product] = query or products.get(product, "")
        elif query == "src_query" or position == 0:
            desc.source_parameters = _parse_block(entries, "source", instrument)
        else:
            desc.instrument_parameters = _parse_block(entries, "instrument", instrument)
    desc.legacy = legacy
    return desc
