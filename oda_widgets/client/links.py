"""Share links both ways: the MMODA web frontend's query URL and the dispatcher's job URLs.

The facts, from the frontend module (``oda-hub/mmoda-frontend-module``, ``js/mmoda.instrument.js``)
and the dispatcher (``cdci_data_analysis``, ``analysis/email_helper.py``, ``flask_app/app.py``):

* **Query link** (the frontend's *Share* button, the dispatcher's "products URL" in e-mails): the
  frontend page, ``?``, then one ``key=value`` pair per request key, form-encoded (space as ``+``).
  The frontend's Share leaves out ``job_id, session_id, use_resolver[local], user_catalog_file,
  token`` and keeps the dict's order; the dispatcher's ``generate_products_url_from_par_dict``
  sorts the keys, drops ``token``/``session_id``/``job_id`` and null values, writes ``scw_list``
  comma-separated and adds ``use_scws`` (``no``, or ``form_list`` with a list). We write what the
  dispatcher writes (its links are the ones people receive), so both read ours the same way.
  Opening one, the frontend reads the keys with PHP's rules (a repeated key: the last wins), fills
  its fields by name, ``JSON.parse``s ``selected_catalog`` and ignores keys it does not know.
* **The frontend page of a dispatcher**: production serves the dispatcher under the page's
  ``dispatch-data`` (``https://www.astro.unige.ch/mmoda/`` ↔ ``…/mmoda/dispatch-data``).
* **Job link** (``/resolve-job-url?job_id=&session_id=&token=``, in e-mails when the query link
  would be longer than 600 characters): exactly those three keys; the dispatcher answers 302 to the
  query link of that job, or to ``<products_url>?error_message=…&status_code=…``.
* **Poll URL** (``/run_analysis?…&job_id=&session_id=&query_status=``): a request of a running
  job; with the owner's token it re-attaches to it.

:func:`frontend_link` writes a query link, :func:`read_link` reads any of these (never keeping a
token beyond :attr:`Link.token`), :func:`poll_link`/:func:`job_link` write the dispatcher's.
Widget-free; nothing here makes a request.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from oda_widgets.client.protocol import CLIENT_FLAGS, JOB_STATE_KEYS, REQUEST_OPTIONS
from oda_widgets.errors import InvalidParameter, OdaError, RequestNotUnderstood, Unauthorized

__all__ = [
    "DISPATCH_DATA",
    "NOT_IN_LINKS",
    "MAX_LINK_LENGTH",
    "Link",
    "frontend_base",
    "frontend_link",
    "poll_link",
    "job_link",
    "is_link",
    "read_link",
]

#: Where the production frontend serves its dispatcher, below the page.
DISPATCH_DATA = "dispatch-data"
#: Frontend-only keys about uploaded files: files cannot travel in a link.
FILE_KEYS = frozenset({"user_catalog_file", "user_scw_list_file"})
#: Keys never written into a link: the token, the job's state, client flags, request options,
#: the frontend's resolver switch and file fields.
NOT_IN_LINKS = (
    CLIENT_FLAGS | JOB_STATE_KEYS | REQUEST_OPTIONS | FILE_KEYS | {"use_resolver[local]", "use_scws"}
)
#: The dispatcher leaves links longer than this out of its e-mails (``email_helper.py``); a long
#: ``selected_catalog`` is the usual cause.
MAX_LINK_LENGTH = 2000
#: Endpoints of the dispatcher a pasted URL may point at, and what their query strings hold.
_ENDPOINTS = ("resolve-job-url", "run_analysis", "download_products")
#: ``use_scws`` values that mean "the scw_list field is used".
_LIST_USED = ("form_list", "user_file")


def frontend_base(dispatcher_url: str) -> str:
    """The frontend page in front of ``dispatcher_url``: ``…/mmoda/dispatch-data`` →
    ``…/mmoda/``; a dispatcher without that suffix (the demo, a bare dispatcher) → its own root."""
    url = dispatcher_url.rstrip("/")
    if url.endswith("/" + DISPATCH_DATA):
        url = url[: -len(DISPATCH_DATA)]
    return url.rstrip("/") + "/"


def _value(key: str, value: Any) -> str:
    """A value as the dispatcher's ``urlencode`` writes it (``str()``), lists comma-joined for
    ``scw_list``, other lists and dicts as JSON (the frontend ``JSON.parse``s them)."""
    if hasattr(value, "item") and not isinstance(value, (list, tuple, dict, str)):
        value = value.item()  # numpy scalars
    if key == "scw_list" and isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value)
    return str(value)


def frontend_link(par_dict: Mapping[str, Any], base: str) -> str:
    """The web frontend's query link for ``par_dict`` (instrument, product_type, query_type and
    the parameters) on the frontend page ``base``: keys sorted, nulls and bookkeeping left out,
    ``use_scws`` added — as the dispatcher writes the links of its e-mails."""
    pairs = {k: v for k, v in par_dict.items() if k not in NOT_IN_LINKS and v is not None}
    scws = pairs.get("scw_list")
    if scws in ([], (), ""):
        pairs.pop("scw_list")
    pairs["use_scws"] = "form_list" if pairs.get("scw_list") else "no"
    query = urlencode([(k, _value(k, pairs[k])) for k in sorted(pairs)])
    return f"{base}?{query}"


def poll_link(dispatcher_url: str, par_dict: Mapping[str, Any], job_id: str, session_id: str) -> str:
    """The dispatcher's ``/run_analysis`` URL that polls a job (no token: the user's is added when
    it is used): the request's keys, ``job_id``, ``session_id`` and ``query_status=submitted``."""
    from oda_widgets.client.encoding import encode_params

    pairs = [(k, v) for k, v in par_dict.items() if k not in NOT_IN_LINKS and v is not None]
    wire = encode_params(dict(pairs))
    wire += [("job_id", job_id), ("session_id", session_id), ("query_status", "submitted")]
    return f"{dispatcher_url.rstrip('/')}/run_analysis?{urlencode(wire)}"


def job_link(dispatcher_url: str, job_id: str, session_id: str, token: str) -> str:
    """The dispatcher's own job link (what its e-mails carry when the query link is too long):
    ``/resolve-job-url`` with exactly ``job_id``, ``session_id`` and the owner's ``token``."""
    query = urlencode({"job_id": job_id, "session_id": session_id, "token": token})
    return f"{dispatcher_url.rstrip('/')}/resolve-job-url?{query}"


@dataclass
class Link:
    """A pasted link, read.

    ``kind`` is ``"query"`` (a frontend/products link: parameters only), ``"job"`` (a job's ids:
    a poll URL, or a ``/resolve-job-url`` link whose parameters the dispatcher still has to give:
    ``needs_resolving``). ``par_dict`` holds ``instrument``, ``product_type``, ``query_type`` and
    the parameters as text (``scw_list`` as a list), ready for ``FormModel.set_values``;
    ``dispatcher_url`` is where the link's dispatcher answers; ``dropped`` the keys read but not
    kept. ``token`` is the token a job link carries (never shown: the repr hides it and ``url``).
    """

    kind: str
    url: str = field(repr=False)  # may hold a token
    dispatcher_url: str = ""
    par_dict: dict[str, Any] = field(default_factory=dict)
    job_id: str | None = None
    session_id: str | None = None
    token: str | None = field(default=None, repr=False)
    dropped: list[str] = field(default_factory=list)

    @property
    def needs_resolving(self) -> bool:
        """True for a ``/resolve-job-url`` link: its parameters are with the dispatcher."""
        return self.kind == "job" and not self.par_dict

    @property
    def instrument(self) -> str | None:
        return self.par_dict.get("instrument")

    @property
    def product(self) -> str | None:
        return self.par_dict.get("product_type")

    @property
    def query_type(self) -> str:
        return str(self.par_dict.get("query_type") or "Real")

    @property
    def parameters(self) -> dict[str, Any]:
        """The product parameters (``par_dict`` without instrument, product_type, query_type)."""
        return {
            k: v for k, v in self.par_dict.items() if k not in ("instrument", "product_type", "query_type")
        }


def is_link(text: Any) -> bool:
    """True when ``text`` looks like a pasted link (``http(s)://…``) rather than API code."""
    if not isinstance(text, str):
        return False
    t = text.strip()
    return t.startswith(("http://", "https://")) and not any(c.isspace() for c in t)


def _catalog_value(value: str) -> str:
    """A ``selected_catalog`` from a link: JSON text; the dispatcher's compressed form
    (``z:`` + base64 of zlib of ``[catalog]``, ``email_helper.compress_request_url_params``) expanded."""
    if not value.startswith("z:"):
        return value
    try:
        raw = zlib.decompressobj().decompress(base64.b64decode(value[2:]), 16 * 2**20)
        return json.dumps(json.loads(raw)[0])
    except (ValueError, TypeError, IndexError, zlib.error) as exc:
        raise InvalidParameter(
            f"the link's selected_catalog is not readable ({type(exc).__name__})",
            parameter="selected_catalog",
        ) from None


def _error_from_link(values: Mapping[str, str]) -> OdaError:
    message = values.get("error_message", "")
    status = values.get("status_code", "")
    text = f"The dispatcher could not open this job: {message}" + (f" (HTTP {status})" if status else "")
    if status == "403":
        return Unauthorized(text, status_code=403)
    if status == "400":
        return RequestNotUnderstood(text)
    return OdaError(text, status_code=int(status) if status.isdigit() else None)


def read_link(url: str) -> Link:
    """Read a frontend query link, a dispatcher products/job link or a poll URL.

    Raises ``InvalidParameter`` for text that is not such a link (no instrument, no job ids) and
    the dispatcher's error (``Unauthorized``, ``RequestNotUnderstood``, ``OdaError``) for a link
    that carries one (``error_message``: what ``/resolve-job-url`` redirects to when it fails).
    """
    if not is_link(url):
        raise InvalidParameter("not a link: paste an http(s):// URL", parameter="link")
    parts = urlsplit(url.strip())
    path = parts.path
    endpoint = next((e for e in _ENDPOINTS if path.rstrip("/").endswith("/" + e)), None)
    if endpoint is not None:
        root = path.rstrip("/")[: -len(endpoint) - 1]
        dispatcher_url = urlunsplit((parts.scheme, parts.netloc, root, "", ""))
    elif "/" + DISPATCH_DATA in path:
        root = path[: path.index("/" + DISPATCH_DATA) + len(DISPATCH_DATA) + 1]
        dispatcher_url = urlunsplit((parts.scheme, parts.netloc, root, "", ""))
    else:
        page = path if path.endswith("/") else path + "/"
        dispatcher_url = urlunsplit((parts.scheme, parts.netloc, page + DISPATCH_DATA, "", ""))

    values: dict[str, Any] = {}
    scws: list[str] = []
    try:
        pairs = parse_qsl(parts.query, keep_blank_values=True, max_num_fields=10000)
    except ValueError as exc:  # more fields than any request has
        raise InvalidParameter(f"this link cannot be read: {exc}", parameter="link") from None
    for key, value in pairs:
        if key == "scw_list":
            scws.extend(s.strip() for s in value.split(",") if s.strip())
        elif key.endswith("[]"):
            values.setdefault(key[:-2], []).append(value)
        else:
            values[key] = value  # a repeated key: the last wins, as PHP reads the frontend's
    if "error_message" in values:
        raise _error_from_link(values)

    if endpoint == "resolve-job-url":
        job_id, session_id, token = (values.get(k) or None for k in ("job_id", "session_id", "token"))
        if not (job_id and session_id):
            raise InvalidParameter("this job link lacks its job_id or session_id", parameter="link")
        return Link("job", url, dispatcher_url, {}, job_id, session_id, token, [])

    dropped = []
    use_scws = values.pop("use_scws", None)
    if scws and use_scws not in (None, "", *_LIST_USED):
        dropped.append("scw_list")  # use_scws=no: the frontend does not use the list
    elif scws:
        values["scw_list"] = scws
    par_dict: dict[str, Any] = {}
    token = values.get("token") or None
    for key, value in values.items():
        if key in NOT_IN_LINKS:
            if key not in ("job_id", "session_id", "query_status"):
                dropped.append(key)
            continue
        if value == "":  # the frontend's Share writes every null as "key="
            continue
        par_dict[key] = _catalog_value(value) if key == "selected_catalog" else value
    if ("T1" in par_dict or "T2" in par_dict) and "T_format" not in par_dict:
        par_dict["T_format"] = "isot"  # the dispatcher's default
    if not par_dict.get("instrument"):
        raise InvalidParameter(
            "not an MMODA query link: it names no instrument (expected …?instrument=isgri&product_type=…)",
            parameter="link",
        )
    job_id, session_id = values.get("job_id") or None, values.get("session_id") or None
    kind = "job" if job_id and session_id else "query"
    return Link(kind, url, dispatcher_url, par_dict, job_id, session_id, token, dropped)
