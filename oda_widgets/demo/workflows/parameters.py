"""Workflow parameters as the dispatcher sees them: meta-data entries and request checking.

nb2service describes each notebook parameter by its ontology class (``owl_type`` + ``extra_ttl``),
its default and its Python type. The dispatcher's nb2workflow plugin turns that into one of the
dispatcher's parameter classes — the first class, going up the ontology hierarchy from the most
specific term, that claims one of the terms — and takes units, time format, limits and allowed
values from the ontology. Terms for the point of interest, the time span and the source name
become the standard source block (``RA``/``DEC``/``T1``/``T2``/``src_name``). :class:`Parameter`
is that result: the meta-data entries it publishes, and :meth:`Parameter.parse`, which checks a
request's value with the dispatcher's messages (``Parameter n_bins wrong value 5000: should be
lower or equal than 1000.0``) and gives the normalised value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from oda_widgets.demo.instruments import DemoError, finite_float
from oda_widgets.demo.workflows.ontology import ODA, Ontology, Term

__all__ = ["Parameter", "SOURCE_TERMS", "KINDS", "from_options", "token_parameter"]

XSD = "http://www.w3.org/2001/XMLSchema#"

#: Ontology terms that make a parameter one of the standard source parameters, and its name there.
SOURCE_TERMS = {
    ODA + "PointOfInterestRA": "RA",
    ODA + "PointOfInterestDEC": "DEC",
    ODA + "StartTime": "T1",
    ODA + "EndTime": "T2",
    ODA + "AstrophysicalObject": "src_name",
}
_SOURCE_NAMES = frozenset({*SOURCE_TERMS.values(), "token"})

#: The dispatcher's parameter classes in the order it tries them for one term, with the terms each
#: claims (the ``owl_uri`` it then publishes).
KINDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("String", (XSD + "str", ODA + "String")),
    ("NumericParameter", (ODA + "NumericParameter",)),
    ("Time", (ODA + "TimeInstant",)),
    ("InputProdList", (ODA + "InputProdList",)),
    ("Boolean", (XSD + "bool", ODA + "Boolean")),
    ("StructuredParameter", (ODA + "StructuredParameter",)),
    ("LongString", (XSD + "str", ODA + "String", ODA + "LongString")),
    ("Name", (XSD + "str", ODA + "String", ODA + "AstrophysicalObject")),
    ("FileReference", (XSD + "str", ODA + "String", ODA + "FileReference")),
    ("POSIXPath", (XSD + "str", ODA + "String", ODA + "FileReference", ODA + "POSIXPath")),
    ("FileURL", (XSD + "str", ODA + "String", ODA + "FileReference", ODA + "FileURL")),
    ("Float", (XSD + "float", ODA + "Float")),
    ("Integer", (XSD + "int", ODA + "Integer")),
    ("TimeInterval", (ODA + "TimeInterval",)),
    ("Angle", (ODA + "Angle",)),
    ("Energy", (ODA + "Energy", ODA + "Frequency")),
    ("DetectionThreshold", (ODA + "DetectionThreshold",)),
    ("TimeDelta", (ODA + "TimeDeltaIsDeprecated",)),
)
_STRINGS = frozenset({"String", "LongString", "Name", "FileReference", "POSIXPath", "FileURL"})
_FLOATS = frozenset({"Float", "TimeInterval", "Angle", "Energy", "DetectionThreshold"})
#: Units a class uses when the ontology names none.
_DEFAULT_UNITS = {"Angle": "deg", "Energy": "keV", "TimeInterval": "s", "DetectionThreshold": "sigma"}
_TRUE = ("True", "true", "yes", "1", True)
_FALSE = ("False", "false", "no", "0", False)
_TIME_NUMERIC_FORMATS = frozenset({"mjd", "jd", "unix", "cxcsec", "gps", "decimalyear", "byear", "jyear"})


@dataclass
class Parameter:
    """One parameter of a workflow instrument, on the dispatcher side."""

    name: str  # name in the dispatcher's form and requests
    backend_name: str | None  # name in the notebook (None: not sent to the notebook, e.g. token)
    kind: str  # the dispatcher parameter class (see KINDS); 'Parameter' when none matched
    value: Any  # the normalised default
    owl_uris: tuple[str, ...] = ()
    units: str | None = None
    optional: bool = False
    min_value: float | int | None = None
    max_value: float | int | None = None
    allowed_values: tuple | None = None
    extra_metadata: dict | None = field(default_factory=dict)
    time_format: str | None = None
    format_name: str | None = None  # 'T_format' for times
    python_type: str | None = None

    # -- meta-data ---------------------------------------------------------------------------

    def entries(self) -> list[dict]:
        """This parameter's entries in ``/api/meta-data`` (with its format companion)."""
        entry: dict[str, Any] = {"name": self.name, "units": self.units, "value": self.value}
        restrictions: dict[str, Any] = {"is_optional": self.optional}
        if self.allowed_values is not None:
            restrictions["allowed_values"] = list(self.allowed_values)
        if self.min_value is not None:
            restrictions["min_value"] = self.min_value
        if self.max_value is not None:
            restrictions["max_value"] = self.max_value
        entry["restrictions"] = restrictions
        if self.extra_metadata is not None:
            entry["extra_metadata"] = dict(self.extra_metadata)
        if self.owl_uris:
            entry["owl_uri"] = list(self.owl_uris)
        out = [entry]
        if self.format_name is not None:
            out.append({"name": self.format_name, "units": "str", "value": self.time_format})
        return out

    # -- requests ----------------------------------------------------------------------------

    def parse(self, raw: Any, time_format: str | None = None) -> Any:
        """The normalised value of a request's ``raw`` value; :class:`DemoError` (HTTP 400) with
        the dispatcher's message when it is not acceptable."""
        if isinstance(raw, str):
            raw = raw.strip()
        if raw is None:
            if not self.optional:
                raise DemoError(f"Non-optional parameter {self.name} is set to None")
            return None
        if isinstance(raw, (list, dict)) and self.kind not in ("StructuredParameter", "InputProdList"):
            raise DemoError(f"Parameter {self.name} wrong value {raw}: a single value is expected")
        if self.kind == "Boolean":
            if raw in _FALSE:
                return False
            if raw in _TRUE:
                return True
            raise DemoError(f"Wrong value for boolean parameter {self.name}")
        if self.kind == "Time":
            return self._time(raw, time_format or self.time_format or "isot")
        if self.kind in _FLOATS or self.kind in ("Integer", "NumericParameter"):
            value = self._number(raw)
            self._check_bounds(value)
        elif self.kind in _STRINGS:
            value = str(raw)
            if len(value) > 10000:
                raise DemoError(f"Parameter {self.name} wrong value {value[:50]}...: too long")
        else:
            value = raw
        if self.allowed_values is not None and value not in self.allowed_values:
            raise DemoError(
                f"Parameter {self.name} wrong value {raw}: not in allowed {list(self.allowed_values)}"
            )
        return value

    def _number(self, raw: Any) -> float | int:
        integer = self.kind == "Integer" or (self.kind == "NumericParameter" and self.python_type == "int")
        if isinstance(raw, bool):
            raise DemoError(f"Parameter {self.name} wrong value {raw}. a number is required")
        if integer:
            if isinstance(raw, float):
                raise DemoError(
                    f"{raw} is an invalid value for {self.name} since it cannot be used as an Integer"
                )
            try:
                return int(raw)
            except (TypeError, ValueError) as e:
                raise DemoError(f"Parameter {self.name} wrong value {raw}. {e}") from None
        return finite_float(self.name, raw)

    def _check_bounds(self, value: float | int) -> None:
        units = self.units if self.units is not None and self.kind != "DetectionThreshold" else ""
        shown = f"{value}{units}"
        if self.min_value is not None and value < self.min_value:
            raise DemoError(
                f"Parameter {self.name} wrong value {shown}: should be greater or equal than {float(self.min_value)}"
            )
        if self.max_value is not None and value > self.max_value:
            raise DemoError(
                f"Parameter {self.name} wrong value {shown}: should be lower or equal than {float(self.max_value)}"
            )

    def _time(self, raw: Any, fmt: str) -> Any:
        from astropy.time import Time

        try:
            value = float(raw) if fmt in _TIME_NUMERIC_FORMATS else str(raw)
            t = Time(value, format=fmt, scale="utc")
            # Requests come in any T_format; the dispatcher keeps the value in the default format.
            return getattr(t, self.time_format or "isot")
        except Exception:  # astropy raises many kinds for text it cannot read
            raise DemoError(
                f"Parameter {self.name} wrong value {raw}: can't be parsed as Time of {fmt} format"
            ) from None

    def backend_value(self, value: Any) -> Any:
        """The value as sent to nb2service (nulls as NUL, like the plugin)."""
        return "\x00" if value is None else value


def token_parameter() -> Parameter:
    """The ``token`` entry every source block ends with (never sent to the notebook)."""
    return Parameter(
        name="token",
        backend_name=None,
        kind="Name",
        value=None,
        owl_uris=dict(KINDS)["Name"],
        units="str",
        optional=True,
        extra_metadata=None,
    )


def _python_type(description: dict) -> str | None:
    t = description.get("python_type")
    text = t.get("type_object", "") if isinstance(t, dict) else str(t or "")
    for name in ("bool", "int", "float", "str", "list", "dict"):
        if f"'{name}'" in text:
            return name
    return None


def _kind(term: Term) -> tuple[str, tuple[str, ...]]:
    table = dict(KINDS)
    for uri in term.hierarchy:
        for name, uris in KINDS:
            if uri in uris:
                return name, table[name]
    return "Parameter", ()


def from_options(backend_name: str, description: dict, ontology: Ontology) -> tuple[Parameter, str | None]:
    """The dispatcher parameter for one entry of nb2service's ``parameters``, and the source-block
    name (``RA``...) when the term makes it a source parameter (else None)."""
    owl_type = str(description.get("owl_type") or "")
    term = ontology.term(owl_type, description.get("extra_ttl"))
    source = next((SOURCE_TERMS[u] for u in term.hierarchy if u in SOURCE_TERMS), None)
    name = source or backend_name
    if source is None and backend_name in _SOURCE_NAMES:
        # A notebook variable called like a source parameter but not annotated as one.
        name = backend_name + "_rename"
    kind, owl_uris = _kind(term)
    python_type = _python_type(description)
    units: str | None = None
    if kind in _STRINGS:
        units = "str"
    elif kind in _FLOATS or kind in ("Integer", "NumericParameter"):
        units = term.unit or _DEFAULT_UNITS.get(kind)
    time_format = None
    if kind == "Time":
        time_format = term.time_format or "isot"
        units = time_format
    extra_metadata: dict | None = dict(term.annotations) if kind != "Parameter" else None
    allowed = term.allowed_values
    if kind == "Boolean":
        allowed = (*_TRUE, *_FALSE)
    param = Parameter(
        name=name,
        backend_name=backend_name,
        kind=kind,
        value=None,
        owl_uris=owl_uris,
        units=units,
        optional=bool(description.get("is_optional")),
        min_value=term.min_value if kind in _FLOATS or kind in ("Integer", "NumericParameter") else None,
        max_value=term.max_value if kind in _FLOATS or kind in ("Integer", "NumericParameter") else None,
        allowed_values=allowed,
        extra_metadata=extra_metadata,
        time_format=time_format,
        format_name="T_format" if kind == "Time" else None,
        python_type=python_type,
    )
    default = description.get("default_value")
    try:
        param.value = param.parse(default)
    except DemoError:
        param.value = default  # the notebook's own default, shown as it is
    return param, source
