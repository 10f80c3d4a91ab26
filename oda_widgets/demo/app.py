"""The demo dispatcher's Flask application: the real dispatcher's endpoints and response shapes.

Flask is used because it is well kept and because the real dispatcher (cdci_data_analysis) is a
Flask application too, so redirects and error pages come out the same.
"""

from __future__ import annotations

import html
import json
import re
import secrets
import string
import time
import urllib.parse
from typing import Any

import jwt
from flask import Flask, Response, redirect, request
from werkzeug.exceptions import HTTPException, InternalServerError

from oda_widgets.client import links, protocol
from oda_widgets.client.encoding import decode_params
from oda_widgets.demo import generate, instruments, sky
from oda_widgets.demo.instruments import INSTRUMENTS, DemoError, RolesMissing
from oda_widgets.demo.jobs import FAIL_TRIGGER, Job, JobStore, job_id_for
from oda_widgets.products.numpy_product import PickledData

DISPATCHER_VERSION = "1.3.6"
ODA_API_VERSION = "1.3.5"
#: Largest request body accepted (a selected_catalog of a few thousand rows fits easily).
MAX_CONTENT_LENGTH = 4 * 1024 * 1024

_EXPIRED = (
    "The token provided is expired, please try to logout and login again. "
    "If already logged out, please clean the cookies, and resubmit you request."
)
_INVALID = (
    "The token provided is not valid, please try to logout and login again. "
    "If already logged out, please clean the cookies, and resubmit you request."
)


def _json(obj: Any, status: int = 200) -> Response:
    """``obj`` as a JSON response; streamed when it holds data to pickle on the fly (a large
    SPI-ACS curve): the same bytes as ``json.dumps``, without ever building them as one string."""
    lazy: list[PickledData] = []
    token = secrets.token_hex(8)

    def placeholder(o: Any) -> str:
        if isinstance(o, PickledData):
            lazy.append(o)
            return f"{token}-{len(lazy) - 1}"
        raise TypeError(f"{type(o).__name__} is not JSON serialisable")

    text = json.dumps(obj, default=placeholder)
    if not lazy:
        return Response(text, status=status, mimetype="application/json")
    parts = re.split(f'"({token}-\\d+)"', text)

    def body():
        for i, part in enumerate(parts):
            if i % 2 == 0:
                yield part
            else:
                yield '"'
                yield from lazy[int(part.rsplit("-", 1)[1])].base64_chunks()
                yield '"'

    return Response(body(), status=status, mimetype="application/json")


def api_error(err: DemoError) -> Response:
    """The APIerror body of the real dispatcher (PROTOCOL §1.4)."""
    body: dict[str, Any] = {"error_message": err.message}
    if err.debug_message is not None:
        body["debug_message"] = err.debug_message
    body.update(
        {
            "error": f"{err.kind}():{err.message}",
            "cdci_data_analysis_version": DISPATCHER_VERSION,
            "cdci_data_analysis_version_details": "unknown",
            "oda_api_version": ODA_API_VERSION,
            "installed_instruments": list(INSTRUMENTS),
            "debug_mode": "no",
            "config": {
                "dispatcher-config": {
                    "origin": {"set_by": "oda_widgets.demo"},
                    "cfg_dict": {"dispatcher": {"products_url": "demo"}},
                },
                "plugins": {"oda_widgets_demo": {"instruments": list(INSTRUMENTS)}},
            },
        }
    )
    return _json(body, err.status)


def _session_id() -> str:
    alphabet = string.ascii_uppercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(16))


def api_code(analysis_parameters: dict, url: str) -> str:
    """The oda_api snippet the dispatcher attaches to results (PROTOCOL §7)."""
    return protocol.api_code(analysis_parameters, url, layout="dispatcher")


def _request_params() -> dict:
    multi: dict[str, list[str]] = {}
    for source in (request.args, request.form if request.method == "POST" else None):
        if source is None:
            continue
        for k in source:
            multi.setdefault(str(k)[:200], []).extend(source.getlist(k))
    return decode_params(multi)


def _token_claims(token: Any) -> dict | None:
    """Verified claims of the request's token; None for a public request."""
    from oda_widgets.demo import DEMO_SECRET

    if token is None or token == "" or token == "None":
        return None
    if not isinstance(token, str):
        raise DemoError(
            "[ InstrumentQueryBackEnd : instrument-not-set ] constructor failed: token is not a string"
        )
    try:
        return jwt.decode(token, DEMO_SECRET, algorithms=["HS256"])
    except jwt.ExpiredSignatureError:
        raise DemoError(_EXPIRED, "RequestNotAuthorized", 403, debug_message="") from None
    except jwt.InvalidSignatureError:
        raise DemoError(_INVALID, "RequestNotAuthorized", 403, debug_message="") from None
    except jwt.DecodeError as e:
        raise DemoError(f"[ InstrumentQueryBackEnd : instrument-not-set ] constructor failed: {e}") from None
    except jwt.InvalidTokenError:
        raise DemoError(_INVALID, "RequestNotAuthorized", 403, debug_message="") from None


def _roles(claims: dict | None) -> list[str]:
    if not claims:
        return []
    roles = claims.get("roles", [])
    if isinstance(roles, str):
        roles = [r.strip() for r in roles.split(",") if r.strip()]
    return [str(r) for r in roles] if isinstance(roles, list) else []


def _exit_status(job_status: str, comment: str = "", **kw) -> dict:
    es = {
        "job_status": job_status,
        "status": 0,
        "message": "",
        "error_message": "",
        "debug_message": "",
        "comment": comment,
        "warning": "",
    }
    es.update(kw)
    return es


def _body(
    query_status: str,
    products: dict,
    exit_status: dict,
    job_monitor: dict,
    session_id: str,
    status_code: int | None = None,
) -> dict:
    body = {
        "query_status": query_status,
        "products": products,
        "exit_status": exit_status,
        "job_monitor": job_monitor,
        "job_status": job_monitor.get("status", query_status),
        "session_id": session_id,
    }
    if status_code is not None:
        body["status_code"] = status_code
    body["time_request"] = time.time()
    return body


class _DispatchData:
    """WSGI: the API answers below ``/dispatch-data`` too, where production serves it under the
    frontend page (``…/mmoda/dispatch-data``), so a link to the demo's root page finds its API."""

    PREFIX = "/" + links.DISPATCH_DATA

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == self.PREFIX or path.startswith(self.PREFIX + "/"):
            environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + self.PREFIX
            environ["PATH_INFO"] = path[len(self.PREFIX) :] or "/"
        return self.app(environ, start_response)


_FRONT_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>oda-widgets demo dispatcher</title></head>
<body><h1>oda-widgets demo dispatcher</h1>
<p>This address stands for the MMODA web frontend of the demo dispatcher. A link to it carries a
query: open it in Python with <code>QueryForm().set_values(link)</code> or
<code>Job.from_url(link)</code>.</p>{query}</body></html>"""


def products_link(analysis_parameters: dict) -> str:
    """The demo's "products URL" of a job (relative to its root page): what the real dispatcher
    writes into its e-mails and redirects ``/resolve-job-url`` to."""
    return links.frontend_link(analysis_parameters, "/")


def create_app(
    speed: float = 1.0, legacy_meta_data: bool = False, workflows=None, resolver: bool = True
) -> Flask:
    """The demo dispatcher as a Flask app (``speed`` scales job durations; ``workflows``: the
    :class:`~oda_widgets.demo.workflows.Workflows` instruments served besides INTEGRAL's;
    ``resolver=False``: no ``/resolve_name``)."""
    from oda_widgets.demo.workflows import Workflows
    from oda_widgets.errors import DispatcherUnavailable

    app = Flask("oda_widgets.demo")
    app.wsgi_app = _DispatchData(app.wsgi_app)  # type: ignore[method-assign]
    workflows = workflows if workflows is not None else Workflows([])
    app.extensions["oda_demo_workflows"] = workflows
    known_instruments = [*INSTRUMENTS, *workflows]
    app.config["MAX_CONTENT_LENGTH"] = MAX_CONTENT_LENGTH
    app.config["MAX_FORM_MEMORY_SIZE"] = MAX_CONTENT_LENGTH
    app.config["MAX_FORM_PARTS"] = 1000
    store = JobStore(speed)
    app.extensions["oda_demo_jobs"] = store

    @app.errorhandler(DemoError)
    def _demo_error(err: DemoError):
        return api_error(err)

    @app.errorhandler(DispatcherUnavailable)
    def _workflow_service_down(err: DispatcherUnavailable):
        # Not 503: clients retry those, and a service that failed to start will fail again.
        return api_error(DemoError(f"workflow service unavailable: {err}", "InternalError", 500))

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException):
        return err.get_response()

    @app.errorhandler(Exception)
    def _unexpected(err: Exception):
        app.logger.exception("unexpected error")
        return _json(
            {
                "message": "request not valid",
                "error_message": str(err)[:500],
                "cdci_data_analysis_version": DISPATCHER_VERSION,
                "oda_api_version": ODA_API_VERSION,
            },
            500,
        )

    def no_instrument(params: dict) -> DemoError:
        names = [k for k in params if k != "session_id"] + ["session_id"]
        return DemoError(f"have parameters: {names!r} ", "NoInstrumentSpecified")

    @app.get("/instr-list")
    def instr_list():
        return _json(known_instruments)

    @app.get("/api/instr-list")
    def api_instr_list():
        # As newer dispatchers do, but relative: the Host header is the client's to choose, and a
        # redirect built from it would send the query string (the token) wherever it names.
        qs = request.query_string.decode("latin-1")
        response = redirect(request.script_root + "/instr-list" + (f"?{qs}" if qs else ""), 302)
        response.autocorrect_location_header = False
        return response

    def _instrument_and_product(params: dict) -> tuple[str, str | None]:
        instrument = params.get("instrument")
        if instrument is None:
            raise no_instrument(params)
        if isinstance(instrument, str) and instrument in workflows:
            product = params.get("product_type")
            if product is not None and product not in workflows[instrument].products:
                raise InternalServerError()
            return instrument, product
        if not isinstance(instrument, str) or instrument not in INSTRUMENTS:
            raise instruments.unknown_instrument(instrument, known_instruments)
        product = params.get("product_type")
        if product is not None and (
            not isinstance(product, str) or product not in INSTRUMENTS[instrument].products
        ):
            # The real dispatcher does not handle this case: Flask's HTML 500 page.
            raise InternalServerError()
        return instrument, product

    @app.get("/api/meta-data")
    @app.get("/meta-data")
    def meta_data():
        instrument, product = _instrument_and_product(_request_params())
        if instrument in workflows:
            return _json(workflows[instrument].meta_data(product))
        return _json(instruments.meta_data(instrument, product, legacy_meta_data))

    @app.get("/meta-data-src")
    def meta_data_src():
        entries: list = [{"query_name": instruments.SOURCE_BLOCK[0]}]
        for p in instruments.SOURCE_BLOCK[1]:
            entries.extend(p.entry(legacy_meta_data))
        return _json([json.dumps(entries) if legacy_meta_data else entries])

    @app.get("/api/par-names")
    def par_names():
        instrument, product = _instrument_and_product(_request_params())
        if instrument in workflows:
            return _json(workflows[instrument].par_names(product))
        return _json(instruments.par_names(instrument, product, legacy_meta_data))

    @app.get("/call_back")
    def call_back():
        # Progress reports of backends: here nb2service's (INTEGRAL jobs are simulated).
        instrument = request.args.get("instrument_name", "")
        if instrument not in workflows:
            return _json({"error_message": f"no workflow instrument {instrument[:100]!r}"}, 404)
        known = workflows[instrument].call_back(
            request.args.get("job_id", ""), request.args.get("action", "")
        )
        return _json({}, 200 if known else 404)

    @app.get("/api/parameters")
    def parameters():
        return _json(_request_params())

    @app.get("/")
    def front_page():
        query = ""
        if request.args:
            shown = html.escape(
                ", ".join(f"{k}={v}"[:80] for k, v in list(request.args.items(multi=True))[:20])
            )
            query = f"<p>The query of this link: <code>{shown}</code></p>"
        return Response(_FRONT_PAGE.format(query=query), mimetype="text/html")

    @app.get("/resolve-job-url")
    def resolve_job_url():
        # the real dispatcher: exactly job_id, session_id and token; 302 to the job's products URL,
        # or to the products URL with error_message and status_code. Relative Locations: the
        # request's Host header is never echoed.
        expected = ["job_id", "session_id", "token"]
        given = sorted(request.args)
        try:
            unexpected = [k for k in given if k not in expected]
            missing = [k for k in expected if k not in given]
            if unexpected:
                raise DemoError(
                    f"found unexpected parameters: {unexpected[:10]}, expected only and only these {expected}"
                )
            if missing:
                raise DemoError(
                    f"NOT found expected parameters: {missing}, expected only and only these {expected}"
                )
            claims = _token_claims(request.args["token"])
            sub = (claims or {}).get("sub") or (claims or {}).get("email")
            job_id = request.args["job_id"][:64]
            job = store.get(job_id)
            if job is None or job.session_id != request.args["session_id"]:
                raise DemoError(f"unable to find any record for {job_id}", "InvalidJobIDProvided")
            if job.sub != sub:
                raise DemoError("Request not authorized", "RequestNotAuthorized", 403)
            ap = {k: v for k, v in job.request.analysis_parameters.items() if k not in protocol.CLIENT_FLAGS}
            return redirect(products_link(ap), 302)
        except DemoError as err:
            return redirect(
                "/?" + urllib.parse.urlencode({"error_message": err.message, "status_code": err.status}), 302
            )

    @app.get("/resolve_name")
    def resolve_name():
        if not resolver:
            return _json({"error_message": "no name resolver on this demo dispatcher"}, 404)
        name = request.args.get("name")
        if name is None:
            return _json({})
        name = name[:200]
        out: dict[str, Any] = {"name": name.replace("_", " ")}
        # every source and burst of the demo sky by its name or a common alias; otherwise the real
        # resolver's answer for an unknown name (no RA/DEC)
        found = sky.resolve(name)
        if found is None:
            out["message"] = f"{name} could not be resolved"
        else:
            out["RA"] = found.ra
            out["DEC"] = found.dec
            out["entity_portal_link"] = "http://cdsportal.u-strasbg.fr/?target=" + urllib.parse.quote(
                name.strip()
            )
            out["message"] = f"{name} successfully resolved"
        return _json(out)

    @app.route("/run_analysis", methods=["GET", "POST"])
    def run_analysis():
        params = _request_params()
        if params.get("instrument") is None:
            raise no_instrument(params)
        claims = _token_claims(params.get("token"))
        sub = (claims or {}).get("sub") or (claims or {}).get("email")
        roles = _roles(claims)
        session_id = params.get("session_id")
        if not isinstance(session_id, str) or not session_id or session_id == "new" or len(session_id) > 64:
            session_id = _session_id()
        params["session_id"] = session_id
        query_status = params.get("query_status") or "new"
        if not isinstance(query_status, str):
            raise DemoError(f"query_status wrong value {query_status!r}")
        job_id = params.get("job_id")
        if query_status != "new" and not job_id:
            raise DemoError(f'job_id must be present if query_status != "new" (it is "{query_status}")')
        if isinstance(params["instrument"], str) and params["instrument"] in workflows:
            body, status = workflows[params["instrument"]].run_analysis(
                params, sub, request.url_root.rstrip("/")
            )
            return _json(body, status)
        if not isinstance(params["instrument"], str) or params["instrument"] not in INSTRUMENTS:
            raise instruments.unknown_instrument(params["instrument"], known_instruments)

        try:
            req = instruments.normalise(params, roles)
        except RolesMissing as e:
            failed_id = job_id_for({k: v for k, v in params.items() if isinstance(v, (str, int, float))}, sub)
            return _json(
                _body(
                    "failed",
                    {},
                    _exit_status("failed", status=1, message=e.message),
                    {"job_id": failed_id, "session_id": session_id, "status": "failed"},
                    session_id,
                    status_code=403,
                ),
                403,
            )
        ap = req.analysis_parameters
        computed = job_id_for(ap, sub)
        if query_status != "new":
            if not isinstance(job_id, str):
                raise DemoError(f"unable to find any record for {job_id}", "InvalidJobIDProvided")
            if job_id != computed:
                known = store.get(job_id)
                if known is None:
                    raise DemoError(f"unable to find any record for {job_id[:64]}", "InvalidJobIDProvided")
                return _json(
                    _body(
                        "failed",
                        {},
                        _exit_status(
                            "failed",
                            status=1,
                            message="Request not authorized",
                            debug_message="the parameters or the user of this request do not match "
                            f"those of job {job_id}",
                        ),
                        {"job_id": job_id, "session_id": session_id, "status": "failed"},
                        session_id,
                        status_code=403,
                    ),
                    403,
                )
        url = request.url_root.rstrip("/")
        job = store.get(computed)
        if job is None:
            if query_status != "new":
                raise DemoError(f"unable to find any record for {computed}", "InvalidJobIDProvided")
            synchronous = req.instrument.synchronous or ap.get("query_type") == "Dummy"
            scw_ids = (
                [] if req.instrument.name == "spi_acs" else [s.scw_id for s in generate.observation(req).scws]
            )
            if req.instrument.name != "spi_acs" and not scw_ids:
                return _json(
                    _body(
                        "failed",
                        {},
                        _exit_status(
                            "failed",
                            req.comment,
                            status=1,
                            message="no science windows found",
                            error_message="No INTEGRAL science windows match this time range and sky region; "
                            "widen T1-T2 or the radius, or give scw_list.",
                        ),
                        {"job_id": computed, "session_id": session_id, "status": "failed"},
                        session_id,
                    )
                )
            job = store.create(computed, sub, req, session_id, params.get("token"), scw_ids, synchronous)
        return _json(_respond(store, job, req, query_status, session_id, url))

    return app


def _bookkeeping(req, job: Job, session_id: str, url: str) -> dict:
    return {
        "session_id": session_id,
        "job_id": job.job_id,
        "analysis_parameters": req.analysis_parameters,
        "api_code": api_code(req.analysis_parameters, url),
    }


def _failure(req, job: Job, session_id: str, url: str) -> dict:
    node = "ii_skyimage" if req.instrument.name != "spi_acs" else "spi_acs_lc"
    products = {
        "analysis_parameters": req.analysis_parameters,
        "api_code": api_code(req.analysis_parameters, url),
    }
    debug = json.dumps(
        {
            "node": node,
            "exception": f"AnalysisException('demo backend failure requested with src_name={FAIL_TRIGGER}')",
            "exception_kind": "handled",
        }
    )
    return _body(
        "failed",
        products,
        _exit_status(
            "failed",
            req.comment,
            status=1,
            message="failed: get dataserver products ",
            error_message=f"Instrument: {req.instrument.name}, product: {req.product}\n\n"
            "The demo backend failed on purpose "
            f"(src_name={FAIL_TRIGGER}).",
            debug_message=debug,
        ),
        {"job_id": job.job_id, "session_id": session_id, "status": "failed"},
        session_id,
    )


def _respond(store: JobStore, job: Job, req, query_status: str, session_id: str, url: str) -> dict:
    now = time.monotonic()
    backend = job.backend_status(now)
    assemble = job.finished is not None or (
        backend == "ready" and (query_status in ("ready", "done", "failed") or job.duration == 0)
    )
    if not assemble:
        reports = job.reports(now)
        monitor: dict[str, Any] = {"job_id": job.job_id, "session_id": session_id, "status": backend}
        if reports:
            monitor["full_report_dict"] = reports[-1]
        monitor["full_report_dict_list"] = reports
        products: dict = {}
        if query_status == "new":
            products = {"input_prod_list": [], **_bookkeeping(req, job, session_id, url)}
            products.pop("session_id")
            products.pop("job_id")
        return _body(backend, products, _exit_status(backend, req.comment), monitor, session_id)

    if job.failing:
        job.finished = "failed"
        return _failure(req, job, session_id, url)
    with job.lock:
        payload = store.cached_products(job.job_id)
        if payload is None:
            payload = generate.products(req)
            if req.instrument.name != "spi_acs":
                store.remember_products(job.job_id, payload)
    job.finished = "done"
    products = {k: v for k, v in payload.items() if k != "input_prod_list"}
    products.update(
        {
            "prod_process_message": "",
            "session_id": session_id,
            "job_id": job.job_id,
            "input_prod_list": payload.get("input_prod_list", []),
            "analysis_parameters": req.analysis_parameters,
            "api_code": api_code(req.analysis_parameters, url),
        }
    )
    return _body(
        "done",
        products,
        _exit_status("done", req.comment),
        {"job_id": job.job_id, "session_id": session_id, "status": "done"},
        session_id,
    )
