"""Instruments, products and parameters of the demo dispatcher (PROTOCOL §4, §5.0).

One table of parameter declarations produces everything the server says about them: the
meta-data (modern nested form or the legacy JSON-string form), ``/api/par-names``, and the
server-side checks and normalisation that give ``analysis_parameters``.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from oda_widgets.client.protocol import BOOKKEEPING, REQUEST_OPTIONS

ONTO = "http://odahub.io/ontology#"
XSD = "http://www.w3.org/2001/XMLSchema#"

_OWL = {
    "Name": [XSD + "str", ONTO + "String", ONTO + "AstrophysicalObject"],
    "String": [XSD + "str", ONTO + "String"],
    "Angle": [ONTO + "Angle"],
    "Float": [XSD + "float", ONTO + "Float"],
    "Integer": [XSD + "int", ONTO + "Integer"],
    "Energy": [ONTO + "Energy", ONTO + "Frequency"],
    "DetectionThreshold": [ONTO + "DetectionThreshold"],
    "Time": [ONTO + "TimeInstant"],
    "TimeDelta": [ONTO + "TimeDeltaIsDeprecated"],
    "InputProdList": [ONTO + "InputProdList"],
    "UserCatalog": None,
}

# ASCII digits only: ``\d`` would take full-width digits, which no real backend reads
SCW_PATTERN = re.compile(r"^[0-9]{12}\.[0-9]{3}$")


class DemoError(Exception):
    """A request the server refuses; rendered as the real dispatcher's APIerror JSON."""

    def __init__(
        self,
        message: str,
        kind: str = "RequestNotUnderstood",
        status: int = 400,
        debug_message: str | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.status = status
        self.debug_message = debug_message


class RolesMissing(Exception):
    """Missing roles: a 403 with a run_analysis-shaped body."""

    def __init__(self, roles: list[str], lacking: dict[str, str]):
        lines = "\n".join(f" - {r}: {why}" for r, why in lacking.items())
        self.message = (
            "Unfortunately, your priviledges are not sufficient to make the request for this "
            "particular product and parameter combination.\n"
            f"- Your priviledge roles include {roles!r}\n"
            f"- You are lacking all of the following roles:\n{lines}\n"
            "You can request support if you think you should be able to make this request."
        )
        super().__init__(self.message)


@dataclass(frozen=True)
class Param:
    name: str | None
    cls: str
    units: str | None
    value: Any
    optional: bool = False
    min_value: float | None = None
    max_value: float | None = None
    allowed: tuple | None = None
    format_name: str | None = None

    def entry(self, legacy: bool) -> list[dict]:
        out: dict[str, Any] = {"name": self.name, "units": self.units, "value": self.value}
        if not legacy:
            restr: dict[str, Any] = {"is_optional": self.optional}
            if self.min_value is not None:
                restr["min_value"] = self.min_value
            if self.max_value is not None:
                restr["max_value"] = self.max_value
            if self.allowed is not None:
                restr["allowed_values"] = list(self.allowed)
            out["restrictions"] = restr
            owl = _OWL.get(self.cls)
            if owl:
                out["owl_uri"] = list(owl)
        entries = [out]
        if self.format_name and not legacy:
            entries.append({"name": self.format_name, "units": "str", "value": self.units})
        return entries


# --------------------------------------------------------------------------------------------
# Declarations

SOURCE_BLOCK = (
    "src_query",
    [
        Param("src_name", "Name", "str", "1E 1740.7-2942"),
        Param("RA", "Angle", "deg", 265.97845833),
        Param("DEC", "Angle", "deg", -29.74516667),
        Param("T1", "Time", "isot", "2017-03-06T13:26:48.000", format_name="T_format"),
        Param("T2", "Time", "isot", "2017-03-06T15:32:27.000", format_name="T_format"),
        Param("token", "Name", "str", None, optional=True),
    ],
)


def _osa_block(instr: str) -> list[Param]:
    return (
        [
            Param("user_catalog", "UserCatalog", None, None, optional=True),
            Param("scw_list", "InputProdList", None, [], optional=True),
            Param("selected_catalog", "UserCatalog", None, None, optional=True),
            Param("radius", "Angle", "deg", 15.0 if instr == "isgri" else 4.0),
            Param("max_pointings", "Integer", None, 50),
            Param("osa_version", "String", "str", "OSA11.2"),
            Param("integral_data_rights", "String", "str", "public", allowed=("public", "all-private")),
        ]
        + ([Param("jemx_num", "Integer", None, 2, allowed=(1, 2))] if instr == "jemx" else [])
        + [
            Param("E1_keV", "Energy", "keV", 20.0 if instr == "isgri" else 3.0),
            Param("E2_keV", "Energy", "keV", 40.0 if instr == "isgri" else 20.0),
        ]
    )


def _image_block(instr: str) -> list[Param]:
    return [
        Param("detection_threshold", "DetectionThreshold", "sigma", 7.0),
        Param("image_scale_min", "Float", None, None, optional=True),
        Param("image_scale_max", "Float", None, None, optional=True),
    ]


def _lc_block() -> list[Param]:
    return [Param("time_bin", "TimeDelta", "sec", 1000.0, format_name="time_bin_format")]


@dataclass
class Instrument:
    name: str
    query_name: str
    params: list[Param]
    products: dict[str, tuple[str, list[Param]]]
    synchronous: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def prod_dict(self) -> dict[str, str]:
        return {p: q for p, (q, _) in self.products.items()}

    def product_params(self, product: str) -> list[Param]:
        return SOURCE_BLOCK[1] + self.params + self.products[product][1]

    def all_params(self, product: str) -> dict[str, Param]:
        out: dict[str, Param] = {}
        for p in self.product_params(product):
            if p.name is not None and p.name not in out:
                out[p.name] = p
        return out


def _osa_instrument(instr: str) -> Instrument:
    return Instrument(
        instr,
        f"{instr}_parameters",
        _osa_block(instr),
        {
            f"{instr}_image": (f"{instr}_image_query", _image_block(instr)),
            f"{instr}_spectrum": (f"{instr}_spectrum_query", []),
            f"{instr}_lc": (f"{instr}_lc_query", _lc_block()),
        },
    )


INSTRUMENTS: dict[str, Instrument] = {
    "isgri": _osa_instrument("isgri"),
    "jemx": _osa_instrument("jemx"),
    "spi_acs": Instrument(
        "spi_acs",
        "spi_acs_parameters",
        [
            Param(None, "InputProdList", None, [1], optional=True),
            Param("selected_catalog", "UserCatalog", None, None, optional=True),
        ],
        {
            "spi_acs_lc": (
                "spi_acs_lc_query",
                [
                    Param("data_level", "String", "str", "ordinary", allowed=("ordinary", "realtime")),
                    Param("time_bin", "TimeDelta", "sec", 1.0, format_name="time_bin_format"),
                ],
            )
        },
        synchronous=True,
    ),
}

ENERGY_LIMITS = {"isgri": ("ISGRI", 15.0, 800.0), "jemx": ("JEM-X", 3.0, 35.0)}


# --------------------------------------------------------------------------------------------
# Meta-data and par-names


def unknown_instrument(name: Any, known: list[str] | None = None) -> DemoError:
    known = list(INSTRUMENTS) if known is None else known
    return DemoError(f'instrument: "{name}", known: {known!r}', "InstrumentNotRecognized")


def meta_data(instrument: str, product: str | None, legacy: bool = False) -> list:
    """The ``/api/meta-data`` answer. Raises KeyError for an unknown product (→ HTTP 500)."""
    instr = INSTRUMENTS.get(instrument)
    if instr is None:
        raise unknown_instrument(instrument)
    if product is not None and product not in instr.products:
        raise KeyError(product)

    def block(query_name, params, product_name=None):
        seen: set = set()
        entries: list = [{"query_name": query_name}]
        if product_name is not None:
            entries.append({"product_name": product_name})
        for p in params:
            for e in p.entry(legacy):
                if e["name"] is not None and e["name"] in seen:
                    continue
                seen.add(e["name"])
                entries.append(e)
        return json.dumps(entries) if legacy else entries

    out: list = [
        {"instrumet": instrument},
        {"prod_dict": instr.prod_dict},
        block(SOURCE_BLOCK[0], SOURCE_BLOCK[1]),
        block(instr.query_name, instr.params),
    ]
    for name, (query_name, params) in instr.products.items():
        if product is None or product == name:
            out.append(block(query_name, params, name))
    return [out]


def par_names(instrument: str, product: str | None, legacy: bool = False) -> list:
    instr = INSTRUMENTS.get(instrument)
    if instr is None:
        raise unknown_instrument(instrument)
    products = [product] if product is not None else list(instr.products)
    out: list = []
    for prod in products:
        if prod not in instr.products:
            raise KeyError(prod)
        for p in instr.product_params(prod):
            names = [p.name] + ([p.format_name] if p.format_name and not legacy else [])
            for n in names:
                if n == "user_catalog" or (n in out and n is not None):
                    continue
                out.append(n)
    return out


# --------------------------------------------------------------------------------------------
# Checking and normalising a request

#: Request keys the dispatcher understands besides the product parameters.
CONTROL_KEYS = BOOKKEEPING | REQUEST_OPTIONS | {"catalog_selected_objects", "T_format", "time_bin_format"}


def finite_float(name: str, v: Any) -> float:
    """A request value as a finite float, or the dispatcher's error for it."""
    try:
        x = float(v)
    except (TypeError, ValueError) as e:
        raise DemoError(f"Parameter {name} wrong value {v}. {e}") from None
    if not math.isfinite(x):
        raise DemoError(f"Parameter {name} wrong value {v}: should be a finite number")
    return x


def _int(name: str, v: Any) -> int:
    if isinstance(v, bool):
        raise DemoError(f"Parameter {name} wrong value {v}. an integer is required")
    if isinstance(v, int):
        return v
    try:
        return int(str(v).strip())
    except (TypeError, ValueError) as e:
        raise DemoError(f"Parameter {name} wrong value {v}. {e}") from None


def _bounds(p: Param, x: float) -> None:
    if p.min_value is not None and x < p.min_value:
        raise DemoError(
            f"Parameter {p.name} wrong value {x}: should be greater or equal than {float(p.min_value)}"
        )
    if p.max_value is not None and x > p.max_value:
        raise DemoError(
            f"Parameter {p.name} wrong value {x}: should be lower or equal than {float(p.max_value)}"
        )
    if p.allowed is not None and x not in p.allowed:
        raise DemoError(f"Parameter {p.name} wrong value {x}: not in allowed {tuple(p.allowed)!r}")


def _time(name: str, v: Any, fmt: str) -> str:
    from astropy.time import Time

    try:
        if fmt in ("mjd", "jd", "unix", "cxcsec", "gps", "decimalyear"):
            t = Time(float(v), format=fmt, scale="utc")
        else:
            t = Time(str(v), format=fmt, scale="utc")
        iso = t.isot
    except Exception as e:  # astropy raises many kinds for bad text
        raise DemoError(f"Parameter {name} wrong value {v}. {e}") from None
    return iso


def _osa_version(v: Any) -> str:
    text = str(v).strip()
    base = text.split("-", 1)[0]
    if base in ("OSA11.0", "OSA11.1") and "-" not in text:
        raise DemoError(
            f"Please note {base} is being phased out. We consider that for all or almost all "
            f"likely user requests OSA11.2 shoud be used instead of {base}."
        )
    if base not in ("OSA10.2", "OSA11.2"):
        raise DemoError(
            f"value {text} is not allowed. The OSA version should start with one of "
            "['OSA10.2', 'OSA11.2'], and may contain a subversion after a dash"
        )
    return text


def _scw_list(v: Any) -> list[str]:
    if v is None:
        return []
    items = v if isinstance(v, list) else [s for s in str(v).split(",") if s.strip()]
    out = []
    for item in items:
        s = str(item).strip()
        if not SCW_PATTERN.match(s):
            raise DemoError(
                f"scw_list parameter should be a list of science window ids like "
                f"066500220010.001, got: {str(item)[:100]}"
            )
        out.append(s)
    return out


def check_catalog(text: Any) -> dict:
    """Parse ``selected_catalog`` (a JSON string) and check the columns the server needs."""
    try:
        cat = json.loads(text) if isinstance(text, str) else text
        if not isinstance(cat, dict):
            raise ValueError("the catalog must be a JSON object")
        names = cat["cat_column_names"]
        cols = cat["cat_column_list"]
        if not isinstance(names, list) or not isinstance(cols, list) or len(names) != len(cols):
            raise ValueError("cat_column_names and cat_column_list do not match")
        lon, lat = cat.get("cat_lon_name", "ra"), cat.get("cat_lat_name", "dec")
        for need in ("meta_ID", "src_names", "significance", lon, lat):
            if need not in names:
                raise ValueError(f"missing column {need}")
        n = len(cols[0])
        if any(not isinstance(c, list) or len(c) != n for c in cols):
            raise ValueError("columns of different lengths")
        if n > 2000:
            raise ValueError("too many catalog rows")
        rows = []
        for i in range(n):
            row = {k: cols[j][i] for j, k in enumerate(names)}
            rows.append(
                {
                    "name": str(row["src_names"]),
                    "ra": float(row[lon]),
                    "dec": float(row[lat]),
                    "meta_ID": int(row["meta_ID"]),
                    "FLAG": int(row.get("FLAG") or 0),
                    "ISGRI_FLAG": int(row.get("ISGRI_FLAG") or 0),
                }
            )
    except (ValueError, KeyError, TypeError, IndexError) as e:
        raise DemoError(f"Error while setting catalog object : {e}") from None
    except RecursionError:
        # the real dispatcher answers 400 to a catalog nested too deeply to parse
        raise DemoError("Error while setting catalog object : the catalog is nested too deeply") from None
    return {"raw": cat, "rows": rows}


def _select_objects(catalog: dict, objects: Any) -> dict:
    """Keep the rows whose meta_ID is listed in ``catalog_selected_objects`` ("5,12")."""
    try:
        wanted = {int(x) for x in str(objects).split(",") if x.strip()}
    except ValueError:
        raise DemoError(
            f"Parameter catalog_selected_objects wrong value {str(objects)[:100]}: "
            "expected comma-separated meta_ID integers"
        ) from None
    return {"raw": catalog["raw"], "rows": [r for r in catalog["rows"] if r["meta_ID"] in wanted]}


@dataclass
class Request:
    """A checked request: the normalised ``analysis_parameters`` plus typed values for the backend."""

    instrument: Instrument
    product: str
    analysis_parameters: dict
    values: dict
    comment: str


def normalise(raw: dict, roles: list[str]) -> Request:
    """Check types, limits and roles; fill defaults; give ISO times and seconds like the real server."""
    instrument = raw.get("instrument")
    if not isinstance(instrument, str) or instrument not in INSTRUMENTS:
        raise unknown_instrument(instrument)
    instr = INSTRUMENTS[instrument]
    product = raw.get("product_type")
    if not isinstance(product, str) or product not in instr.products:
        raise DemoError(
            f"[ InstrumentQueryBackEnd : {instrument} ] constructor failed: product type "
            f"{product} not in query_dictionary {instr.prod_dict!r}"
        )
    params = instr.all_params(product)
    unknown = [k for k in raw if k not in params and k not in CONTROL_KEYS]
    allow_unknown = str(raw.get("allow_unknown_args", "")).lower() in ("true", "yes", "1")

    ap: dict[str, Any] = {}
    for k, v in raw.items():
        if (k in CONTROL_KEYS and k not in ("T_format", "time_bin_format")) or (
            allow_unknown and k in unknown
        ):
            ap[k] = v

    values: dict[str, Any] = {}
    t_format = str(raw.get("T_format") or "isot")
    for name, p in params.items():
        if name == "token":
            continue
        if name not in raw:
            values[name] = p.value
            if name == "user_catalog":
                continue
            ap[name] = _time(name, p.value, "isot") if p.cls == "Time" else p.value
            if p.format_name == "T_format":
                ap["T_format"] = "isot"
            if p.format_name == "time_bin_format":
                ap["time_bin_format"] = "sec"
            continue
        v = raw[name]
        if v is None:
            if not p.optional:
                raise DemoError(f"Non-optional parameter {name} is set to None")
            values[name] = ap[name] = None
            continue
        if isinstance(v, (list, dict)) and p.cls not in ("InputProdList", "UserCatalog"):
            raise DemoError(f"Parameter {name} wrong value {json.dumps(v)[:200]}: a single value is expected")
        if p.cls in ("Angle", "Float", "Energy", "DetectionThreshold"):
            x = finite_float(name, v)
            _bounds(p, x)
            values[name] = ap[name] = x
        elif p.cls == "Integer":
            x = _int(name, v)
            _bounds(p, x)
            values[name] = ap[name] = x
        elif p.cls == "Time":
            iso = _time(name, v, t_format)
            values[name] = ap[name] = iso
            ap["T_format"] = "isot"
        elif p.cls == "TimeDelta":
            fmt = str(raw.get("time_bin_format") or "sec")
            if fmt not in ("sec", "jd"):
                raise DemoError(f"Parameter time_bin_format wrong value {fmt}: not in allowed ('sec', 'jd')")
            x = finite_float(name, v) * (86400.0 if fmt == "jd" else 1.0)
            values[name] = ap[name] = x
            ap["time_bin_format"] = "sec"
        elif p.cls == "InputProdList":
            values[name] = ap[name] = _scw_list(v)
        elif p.cls == "UserCatalog":
            values[name] = check_catalog(v) if name == "selected_catalog" else None
            if name != "user_catalog":
                ap[name] = v
        else:
            s = str(v)
            if len(s) > 1000:
                raise DemoError(f"Parameter {name} wrong value {s[:50]}...: too long")
            if p.allowed is not None and s not in p.allowed:
                raise DemoError(f"Parameter {name} wrong value {s}: not in allowed {tuple(p.allowed)!r}")
            if name == "osa_version":
                s = _osa_version(s)
            values[name] = ap[name] = s

    objects = raw.get("catalog_selected_objects")
    if objects not in (None, "") and values.get("selected_catalog"):
        values["selected_catalog"] = _select_objects(values["selected_catalog"], objects)
    _instrument_checks(instr, values, roles)
    comment = ""
    if unknown and not allow_unknown:
        shown = [u[:60] for u in unknown[:10]]
        comment = (
            "Please note that argument " + shown[0] + " is not used"
            if len(shown) == 1
            else "Please note that arguments " + ", ".join(shown) + " are not used"
        )
    return Request(instr, product, ap, values, comment)


def _instrument_checks(instr: Instrument, v: dict, roles: list[str]) -> None:
    if v.get("DEC") is not None and not -90.0 <= v["DEC"] <= 90.0:
        raise DemoError(f"Parameter DEC wrong value {v['DEC']}: should be between -90 and 90")
    if v["T2"] <= v["T1"] and instr.name == "spi_acs":
        raise DemoError("T2 must be later than T1")
    if instr.name in ENERGY_LIMITS:
        label, lo, hi = ENERGY_LIMITS[instr.name]
        if v["E1_keV"] < lo or v["E2_keV"] > hi:
            raise DemoError(f"{label} energy range is restricted to {lo:g} - {hi:g} keV")
        if v["E2_keV"] <= v["E1_keV"]:
            raise DemoError(
                f"Parameter E2_keV wrong value {v['E2_keV']}: should be greater than E1_keV ({v['E1_keV']})"
            )
        if v["radius"] <= 0 or v["radius"] > 60:
            raise DemoError(f"Parameter radius wrong value {v['radius']}: should be between 0 and 60 deg")
        if v["max_pointings"] < 1:
            raise DemoError(
                f"Parameter max_pointings wrong value {v['max_pointings']}: should be greater or equal than 1"
            )
        if "time_bin" in v and v["time_bin"] < 1.0:
            raise DemoError(
                f"Parameter time_bin wrong value {v['time_bin']}: should be greater or equal than 1.0"
            )
        if "detection_threshold" in v and v["detection_threshold"] < 0:
            raise DemoError(
                "Parameter detection_threshold wrong value "
                f"{v['detection_threshold']}: should be greater or equal than 0.0"
            )
        lacking: dict[str, str] = {}
        n_scw = len(v.get("scw_list") or []) or v["max_pointings"]
        if n_scw > 500 and "unige-hpc-extreme" not in roles:
            lacking["unige-hpc-extreme"] = "it is needed to request more than 500 ScW"
        elif n_scw > 50 and "unige-hpc-full" not in roles:
            lacking["unige-hpc-full"] = "it is needed to request more than 50 ScW"
        if v["integral_data_rights"] == "all-private" and "integral-private-qla" not in roles:
            lacking["integral-private-qla"] = "it is needed to access private INTEGRAL data"
        nrt = any(s.endswith(".000") for s in (v.get("scw_list") or []))
        if nrt and v["integral_data_rights"] == "public" and "integral-public-nrt" not in roles:
            lacking["integral-public-nrt"] = "it is needed to access public NRT data"
        if lacking:
            raise RolesMissing(roles, lacking)
        if n_scw > 5000:
            raise DemoError("the demo dispatcher serves at most 5000 science windows per request")
    else:
        if v["data_level"] == "realtime" and "integral-realtime" not in roles:
            raise RolesMissing(roles, {"integral-realtime": "it is needed to access realtime SPI-ACS data"})
        if not math.isfinite(v["time_bin"]) or v["time_bin"] <= 0:
            raise DemoError(f"Parameter time_bin wrong value {v['time_bin']}: should be greater than 0")
