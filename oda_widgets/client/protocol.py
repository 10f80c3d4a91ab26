"""The dispatcher protocol's facts, once (PROTOCOL §1.3, §5, §7): read here, used everywhere.

* which request keys are bookkeeping rather than user parameters (:data:`BOOKKEEPING` and the
  sets it is made of);
* how a par_dict names its product (:func:`read_par_dict`: ``product``/``product_type``/
  ``query_type`` as oda_api and the dispatcher spell them);
* "API code" both ways (:func:`api_code`, :func:`par_dict_from_code`);
* follow-up requests from a catalog selection (:func:`follow_up`);
* which parameter a refusal blames (:func:`parameter_in_message`, :func:`blamed_parameter`).

Widget-free; the client, the form, the catalog table and the demo dispatcher import these.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from oda_widgets.errors import (
    DispatcherUnavailable,
    InvalidParameter,
    OdaError,
    RequestNotUnderstood,
    ServerError,
    TokenExpired,
    Unauthorized,
)

__all__ = [
    "REQUEST_IDENTITY",
    "JOB_STATE_KEYS",
    "CLIENT_FLAGS",
    "BOOKKEEPING",
    "NOT_IN_JOB_ID",
    "REQUEST_OPTIONS",
    "FRONTEND_KEYS",
    "CATALOG_KEYS",
    "NOT_PARAMETERS",
    "NOT_FORWARDED",
    "QUERY_TYPES",
    "FOLLOW_UP_PRODUCTS",
    "ParDict",
    "user_parameters",
    "read_par_dict",
    "api_code",
    "api_code_parameters",
    "par_dict_from_code",
    "py_literal",
    "follow_up",
    "follow_up_product",
    "COMPANIONS",
    "MAX_LIGHT_CURVE_BINS",
    "accepted_parameters",
    "why_not_resolved",
    "parameter_in_message",
    "parameter_quoted_in_message",
    "blamed_parameter",
    "missing_roles_in_message",
]

# -- request keys (PROTOCOL §1.3) --------------------------------------------------------------

#: Which request this is: instrument, product and real or canned data.
REQUEST_IDENTITY = frozenset({"instrument", "product_type", "query_type"})
#: A job's place in the dispatcher's state machine, resent with every poll.
JOB_STATE_KEYS = frozenset({"query_status", "job_id", "session_id"})
#: Who asks and how (client flags): never part of what is asked for.
CLIENT_FLAGS = frozenset({"token", "api", "off_line", "oda_api_version", "dry_run", "async_dispatcher"})
#: Keys the client manages itself; they never belong to a job's user parameters.
BOOKKEEPING = REQUEST_IDENTITY | JOB_STATE_KEYS | CLIENT_FLAGS
#: Keys the dispatcher leaves out of a job's identity (the same request by the same user is the
#: same job, whatever session or token it came with).
NOT_IN_JOB_ID = JOB_STATE_KEYS | CLIENT_FLAGS
#: Options the dispatcher reads besides the parameters ("rarely needed").
REQUEST_OPTIONS = frozenset({"verbose", "run_asynch", "client-name", "allow_unknown_args", "return_progress"})
#: The web frontend's own keys: API clients do not send them, API code drops them (§7).
FRONTEND_KEYS = frozenset({"use_scws", "use_resolver[local]"})
#: The catalog selection of an image request: it belongs to that image, not to the next request.
CATALOG_KEYS = frozenset({"selected_catalog", "catalog_selected_objects"})
#: Keys of a par_dict that are never a product parameter.
NOT_PARAMETERS = BOOKKEEPING | REQUEST_OPTIONS | FRONTEND_KEYS
#: Parameters of an image request that are not copied into a follow-up request.
NOT_FORWARDED = BOOKKEEPING | CATALOG_KEYS
#: Values of ``query_type`` (in oda_api's ``get_product()``: ``product_type``).
QUERY_TYPES = ("Real", "Dummy")
#: Follow-up kinds → product suffix: ``<instrument>_spectrum``, ``<instrument>_lc``.
FOLLOW_UP_PRODUCTS = {"spectrum": "spectrum", "lc": "lc", "light_curve": "lc"}
#: Most points a light curve may be asked for: forms refuse bins that would give more, and the
#: demo dispatcher serves no more (12 million SPI-ACS native 0.05 s bins are 6.9 days; the demo
#: streams such a response).
MAX_LIGHT_CURVE_BINS = 12_000_000
#: Format companions and the parameters whose values they describe: legacy dispatchers (1.3.3)
#: leave the companions out of ``/api/par-names`` although they read them.
COMPANIONS = {"T_format": ("T1", "T2"), "time_bin_format": ("time_bin",)}


def user_parameters(par_dict: Mapping[str, Any]) -> dict[str, Any]:
    """``par_dict`` without the client's bookkeeping (instrument, product, job state, token, …)."""
    return {k: v for k, v in par_dict.items() if k not in BOOKKEEPING}


@dataclass
class ParDict:
    """A par_dict read the way the dispatcher and oda_api spell it.

    ``product`` is the product (``product_type`` on the wire, ``product=`` in oda_api's
    ``get_product``); ``query_type`` is ``Real``/``Dummy`` (oda_api's ``product_type=``) or None;
    ``instrument`` is None when absent or oda_api's placeholder ``mock``; ``parameters`` is the
    rest, as given.
    """

    instrument: str | None
    product: str | None
    query_type: str | None
    parameters: dict[str, Any] = field(default_factory=dict)


def read_par_dict(data: Mapping[str, Any]) -> ParDict:
    """Untangle ``product``/``product_type``/``query_type`` of a par_dict or of oda_api keywords.

    oda_api's ``get_product(product=..., product_type="Real")`` and the dispatcher's
    ``product_type=<product>, query_type=Real`` both work; a ``product_type`` that is a query
    type (``Real``/``Dummy``) is read as one.
    """
    values = dict(data)
    product = values.pop("product", None)
    product_type = values.pop("product_type", None)
    query_type = values.pop("query_type", None)
    if product is None and product_type not in QUERY_TYPES:
        product = product_type
    elif product_type in QUERY_TYPES:
        query_type = product_type
    instrument = values.pop("instrument", None)
    return ParDict(
        instrument=None if instrument in (None, "mock") else str(instrument),
        product=None if product is None else str(product),
        query_type=query_type if query_type in QUERY_TYPES else None,
        parameters=values,
    )


# -- API code (PROTOCOL §7) --------------------------------------------------------------------

#: What API code leaves out: the job's state and the frontend's keys (and the token, unless the
#: code is the dispatcher's own, which carries it in clear).
_NOT_IN_API_CODE = JOB_STATE_KEYS | FRONTEND_KEYS


def api_code_parameters(
    par_dict: Mapping[str, Any],
    *,
    query_type: str | None = None,
    keep_token: bool = False,
    keep_null: bool = True,
) -> dict[str, Any]:
    """The keyword arguments of ``get_product`` for ``par_dict``, keys sorted.

    ``product_type`` becomes ``product`` and the query type becomes ``product_type`` (oda_api's
    names); job state and frontend keys are dropped, the token too unless ``keep_token``.
    """
    drop = _NOT_IN_API_CODE if keep_token else _NOT_IN_API_CODE | {"token"}
    d: dict[str, Any] = {}
    qt = par_dict.get("query_type")
    for k, v in par_dict.items():
        if k in drop or k == "query_type" or (v is None and not keep_null):
            continue
        d["product" if k == "product_type" else k] = v
    if query_type or qt is not None:
        d["product_type"] = query_type or qt
    return dict(sorted(d.items()))


def py_literal(value: Any, indent: int = 4, level: int = 1) -> str:
    """Python source for a JSON-like value (``True``/``None``, not ``true``/``null``)."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(py_literal(v, indent, level + 1) for v in value) + "]"
    if isinstance(value, Mapping):
        return (
            "{"
            + ", ".join(f"{json.dumps(str(k))}: {py_literal(v, indent, level + 1)}" for k, v in value.items())
            + "}"
        )
    return json.dumps(str(value))


def api_code(
    par_dict: Mapping[str, Any],
    url: str,
    *,
    with_token: bool = False,
    query_type: str | None = None,
    layout: str = "widgets",
) -> str:
    """oda_api code that asks ``url`` for the same product as ``par_dict``.

    ``layout="widgets"`` (what the widgets show): the token is never written — with
    ``with_token`` the code reads it from ``os.environ['ODA_TOKEN']``. ``layout="dispatcher"``:
    the text the dispatcher attaches to its results (``DispatcherAPI.set_api_code``: JSON with
    ``True``/``False``, nulls dropped, the token as sent).
    """
    if layout == "dispatcher":
        d = api_code_parameters(par_dict, query_type=query_type, keep_token=True, keep_null=False)
        text = json.dumps(d, indent=4).replace("true", "True").replace("false", "False")
        return (
            f"from oda_api.api import DispatcherAPI\ndisp=DispatcherAPI(url='{url}', instrument='mock')\n\n"
            f"par_dict={text}\n\ndata_collection = disp.get_product(**par_dict)\n"
        )
    if layout != "widgets":
        raise ValueError(f"layout must be 'widgets' or 'dispatcher', got {layout!r}")
    d = api_code_parameters(par_dict, query_type=query_type)
    lines = [f"    {json.dumps(k)}: {py_literal(v)}," for k, v in d.items()]
    if with_token:
        lines.append("    \"token\": os.environ['ODA_TOKEN'],")
    head = ["import os", ""] if with_token else []
    return "\n".join(
        [
            *head,
            "from oda_api.api import DispatcherAPI",
            "",
            f"disp = DispatcherAPI(url={json.dumps(url)}, instrument='mock')",
            "",
            "par_dict = {",
            *lines,
            "}",
            "",
            "data_collection = disp.get_product(**par_dict)",
            "",
        ]
    )


# literal_eval raises TypeError for e.g. {[1]} (unhashable) and RecursionError/MemoryError for
# absurdly nested text; all mean "not a value we can take".
_NOT_LITERAL = (ValueError, TypeError, SyntaxError, RecursionError, MemoryError)


def _literal_items(keys: Iterable[Any], values: Iterable[Any], skipped: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in zip(keys, values):
        if k is None:  # {**other}: nothing literal to read
            continue
        try:
            key = ast.literal_eval(k)
        except _NOT_LITERAL:
            continue
        if not isinstance(key, str):
            continue
        try:
            out[key] = ast.literal_eval(v)
        except _NOT_LITERAL:
            skipped.append(key)
    return out


def par_dict_from_code(text: str) -> tuple[dict[str, Any], list[str]]:
    """(par_dict, names whose value was not a literal) read from pasted API code.

    Understands ``par_dict = {...}`` followed by ``get_product(**par_dict)``, a
    ``get_product(instrument=..., ...)`` call with keywords, or a bare dict literal. The text is
    parsed with ``ast`` and only literal values are read (``ast.literal_eval``): it is never run.
    """
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        raise InvalidParameter(
            f"The pasted code is not valid Python (line {exc.lineno}: {exc.msg})"
        ) from None
    except (RecursionError, MemoryError, ValueError) as exc:  # absurd nesting, NUL bytes
        raise InvalidParameter(f"The pasted code cannot be read ({type(exc).__name__})") from None
    skipped: list[str] = []
    found: dict[str, Any] = {}
    seen_any = False
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Dict)
            and any(isinstance(t, ast.Name) and t.id == "par_dict" for t in node.targets)
        ):
            found.update(_literal_items(node.value.keys, node.value.values, skipped))
            seen_any = True
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, (ast.Attribute, ast.Name))
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "get_product"
        ):
            kws = [kw for kw in node.keywords if kw.arg is not None]
            found.update(
                _literal_items([ast.Constant(kw.arg) for kw in kws], [kw.value for kw in kws], skipped)
            )
            seen_any = seen_any or bool(kws)
    if not seen_any:
        body = tree.body
        if len(body) == 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Dict):
            found.update(_literal_items(body[0].value.keys, body[0].value.values, skipped))
            seen_any = True
    if not seen_any:
        raise InvalidParameter(
            "No par_dict found in the pasted text: paste the API code "
            "(par_dict = {...}) or a dict of parameters."
        )
    return found, skipped


# -- follow-up requests ------------------------------------------------------------------------


def follow_up_product(instrument: str | None, kind: str) -> str:
    """``<instrument>_spectrum`` or ``<instrument>_lc`` for ``kind`` ``spectrum``/``lc``/``light_curve``."""
    suffix = FOLLOW_UP_PRODUCTS.get(kind)
    if suffix is None:
        raise InvalidParameter(f"kind must be 'spectrum' or 'lc', got {kind!r}", parameter="kind")
    if not instrument:
        raise InvalidParameter(
            "no instrument known for this catalog: give CatalogTable(..., "
            "instrument='isgri') or the image's analysis_parameters",
            parameter="instrument",
        )
    return f"{instrument}_{suffix}"


def accepted_parameters(params: Mapping[str, Any], names: Iterable[str | None]) -> dict[str, Any]:
    """``params`` restricted to what a product accepts: ``names`` is its ``/api/par-names`` (or
    its description's parameter names). Format companions go with their parameters even where the
    list omits them (legacy dispatchers)."""
    accepted = {n for n in names if n}
    kept = {k: v for k, v in params.items() if k in accepted}
    for companion, owners in COMPANIONS.items():
        if companion in params and companion not in kept and any(o in kept for o in owners):
            kept[companion] = params[companion]
    return {k: v for k, v in params.items() if k in kept}


def follow_up(
    params: Mapping[str, Any],
    selection: Any,
    kind: str,
    *,
    instrument: str | None = None,
    accepted: Iterable[str | None] | None = None,
) -> dict[str, Any]:
    """The par_dict of a follow-up request (spectrum or light curves of selected sources).

    ``params`` are the image request's parameters (its ``analysis_parameters``): the time,
    pointing and energy parameters are kept, bookkeeping and the old selection are not.
    ``selection`` is the new ``selected_catalog`` (its JSON string, or an object with
    ``to_selected_catalog()``), or None to leave it out. ``instrument`` defaults to the one in
    ``params``. ``accepted``: the names the follow-up product takes (its ``/api/par-names``); only
    those are carried over (without it, an image's ``detection_threshold`` goes to a spectrum and
    the dispatcher answers that it is not used). Returns ``instrument``, ``product_type`` and the
    parameters.
    """
    instrument = instrument or params.get("instrument")
    product = follow_up_product(instrument, kind)
    out: dict[str, Any] = {"instrument": instrument, "product_type": product}
    carried = {k: v for k, v in params.items() if k not in NOT_FORWARDED}
    if accepted is not None:
        carried = accepted_parameters(carried, accepted)
    out.update(carried)
    if selection is not None:
        to_json = getattr(selection, "to_selected_catalog", None)
        out["selected_catalog"] = to_json() if callable(to_json) else selection
    return out


# -- the name resolver ---------------------------------------------------------------------------


def why_not_resolved(error: OdaError, name: str) -> str:
    """A sentence saying why the dispatcher's ``/resolve_name`` did not give a position for
    ``name``: the resolver does not know it; the dispatcher has none (404) or keeps it for some
    roles (403; 1.3.3 asks for ``gallery contributor``); the resolver failed (500: e.g. its
    upstream service is not configured or down); or the dispatcher could not be reached."""
    detail = str(error).strip()
    if isinstance(error, DispatcherUnavailable):
        return f"{name!r} was not resolved: the network — {detail}"
    if isinstance(error, TokenExpired):
        return f"{name!r} was not resolved: your token has expired — {detail}"
    if isinstance(error, Unauthorized):
        roles = f" (roles needed: {', '.join(error.missing_roles)})" if error.missing_roles else ""
        return (
            f"{name!r} was not resolved: this dispatcher keeps its resolver for some users{roles} — {detail}"
        )
    if isinstance(error, RequestNotUnderstood):
        return f"{name!r} was not resolved: the resolver does not know this name ({detail})"
    if error.status_code == 404:
        return f"{name!r} was not resolved: this dispatcher has no name resolver; type RA and DEC yourself"
    if isinstance(error, ServerError):
        return f"{name!r} was not resolved: the dispatcher's resolver failed — {detail}"
    return f"{name!r} was not resolved: {detail}"


# -- which parameter a message blames ----------------------------------------------------------

_PARAMETER_PATTERNS = (
    re.compile(r"\b[Pp]arameter\s+['\"]?([A-Za-z_][\w\-\[\]]*)"),
    re.compile(r"^\s*['\"]?([A-Za-z_]\w*)['\"]?\s+value\b"),
    re.compile(r"^\s*['\"]?([A-Za-z_]\w*)['\"]?\s+(?:must|should|is|has)\b"),
    re.compile(r"\bargument\s+['\"]?([A-Za-z_]\w*)"),
)


def parameter_in_message(message: str, sent: Mapping[str, Any] | None = None) -> str | None:
    """The parameter a dispatcher error message blames, if it names one.

    Known phrasings first ("Parameter p wrong value …", "p value is restricted to …"); then any
    parameter that was sent and appears in the message as a whole word.
    """
    sent_names = [k for k in (sent or {}) if k not in BOOKKEEPING or k in ("instrument", "product_type")]
    if re.search(r"not enough segments|invalid token|signature verification|token provided", message, re.I):
        return "token"
    if re.search(r"\bproduct type \S+ not in\b", message):
        return "product_type"
    for pattern in _PARAMETER_PATTERNS:
        m = pattern.search(message)
        if m and (not sent_names or m.group(1) in sent_names or pattern is _PARAMETER_PATTERNS[0]):
            return m.group(1)
    best: tuple[int, str] | None = None
    for name in sent_names:
        m = re.search(r"(?<![\w.-])" + re.escape(name) + r"(?![\w-])", message)
        if m and (best is None or m.start() < best[0]):
            best = (m.start(), name)
    return best[1] if best else None


def parameter_quoted_in_message(
    message: str, sent: Mapping[str, Any], among: Iterable[str] | None = None
) -> str | None:
    """The parameter whose text value the message quotes ("OSA11.0 is being phased out")."""
    names = None if among is None else set(among)
    for name, value in sent.items():
        if (
            (names is None or name in names)
            and isinstance(value, str)
            and len(value) >= 3
            and re.search(r"(?<![\w.-])" + re.escape(value) + r"(?![\w-])", message)
        ):
            return name
    return None


def blamed_parameter(
    message: str, sent: Mapping[str, Any], among: Iterable[str], *, named: str | None
) -> str | None:
    """The field (one of ``among``) a refusal is about: the parameter the error names
    (``named``, e.g. ``RequestNotUnderstood.parameter``) if it is one of them, else the one
    whose text value the message quotes."""
    fields = set(among)
    if named in fields:
        return named
    return parameter_quoted_in_message(message, sent, fields)


def missing_roles_in_message(message: str) -> list[str]:
    """The roles a 403 message says are lacking (both phrasings the dispatcher uses)."""
    m = re.search(r"lacking all of the following roles:\s*\n(.*?)(?:\n[^\s-]|\Z)", message, re.S)
    if m:
        roles = re.findall(r"^\s*-\s*([^:\n]+?)\s*:", m.group(1), re.M)
        if roles:
            return roles
    m = re.search(r"following roles are missing:\s*([^\n]+)", message)
    if m:
        return [r.strip() for r in m.group(1).rstrip(". ").split(",") if r.strip()]
    return []
