"""A workflow instrument of the demo dispatcher: one nb2service, its notebooks as products.

:class:`WorkflowInstrument` plays the dispatcher's nb2workflow plugin for one service: it builds the
instrument's meta-data from ``/api/v1.0/options`` (source block, one query block per notebook), checks
and normalises requests (HTTP 400 with the dispatcher's messages), and runs jobs through nb2service's
asynchronous API, answering ``/run_analysis`` with the dispatcher's job states and ``api=True``
product lists (see :mod:`.products`).

A job goes ``submitted`` (nb2service queued it) → ``progress`` (a kernel runs the notebook) →
``ready`` (nb2service has the result) → ``done`` or ``failed`` on the next poll that says
``query_status=ready``. As with the real dispatcher, the job learns the first three from
nb2service's call-backs (``/call_back`` of the demo), so a client's polls cost nb2service nothing;
nb2service is asked again only when it says the job is done, or when it has been silent for
:data:`RECHECK_S` seconds (it calls back only for the first of identical requests).
"""

from __future__ import annotations

import threading
import time
import urllib.parse
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from oda_widgets.demo.instruments import CONTROL_KEYS, DemoError
from oda_widgets.demo.jobs import job_id_for
from oda_widgets.demo.workflows.ontology import Ontology
from oda_widgets.demo.workflows.parameters import Parameter, from_options, token_parameter
from oda_widgets.demo.workflows.products import ProductError, build_products, comment_of
from oda_widgets.demo.workflows.service import WorkflowService

__all__ = ["WorkflowInstrument", "WorkflowRequest"]

#: Jobs remembered per instrument (their final answer included).
MAX_JOBS = 1000
#: Seconds without a call-back after which a poll asks nb2service itself.
RECHECK_S = 5.0


@dataclass
class _Product:
    name: str
    parameters: list[Parameter]  # the product block (not the source parameters)
    backend_names: frozenset[str]  # the notebook's parameter names
    outputs: dict  # nb2service's output declarations


@dataclass
class _Description:
    source: list[Parameter]  # source block, token last
    products: dict[str, _Product]


@dataclass
class WorkflowRequest:
    """A checked request: ``analysis_parameters`` as the dispatcher echoes them, the parameters
    for nb2service, and the note about arguments the product does not use."""

    product: str
    analysis_parameters: dict
    backend_parameters: dict
    comment: str


@dataclass
class _Job:
    job_id: str
    product: str
    session_id: str
    created: float
    final: dict | None = None  # the done/failed answer's products and exit status, once known
    delivered: bool = False  # a poll saying query_status=ready (or a new request) has had it
    backend: str = "new"  # what nb2service last said (or called back): submitted, progress, done
    checked: float = 0.0  # when nb2service was last asked (monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)


class WorkflowInstrument:
    """The instrument ``name`` backed by ``service``; ``ontology()`` gives the ontology to read
    annotations with (loaded when first needed). ``products``: the notebooks of the service this
    instrument offers (default: all); several instruments may share one service."""

    def __init__(self, name: str, service: WorkflowService, ontology, products: list[str] | None = None):
        self.name = name
        self.service = service
        self._only = list(products) if products is not None else None
        self._ontology_factory = ontology
        self._description: _Description | None = None
        self._lock = threading.Lock()
        self._jobs: OrderedDict[str, _Job] = OrderedDict()

    # -- description ---------------------------------------------------------------------------

    @property
    def ontology(self) -> Ontology:
        return self._ontology_factory()

    def description(self) -> _Description:
        with self._lock:
            if self._description is None:
                options = self.service.options()
                if self._only is not None:
                    missing = [p for p in self._only if p not in options]
                    if missing:
                        raise DemoError(
                            f"{self.name}: the workflow service has no notebook {missing[0]!r}",
                            "InternalError",
                            500,
                        )
                    options = {p: options[p] for p in self._only}
                self._description = self._describe(options)
            return self._description

    def _describe(self, options: dict) -> _Description:
        ontology = self.ontology
        source: dict[str, Parameter] = {}
        products: dict[str, _Product] = {}
        for product, spec in options.items():
            params = spec.get("parameters") or {}
            block: list[Parameter] = []
            for backend_name, desc in params.items():
                param, source_name = from_options(backend_name, desc, ontology)
                if source_name is not None:
                    # The source block is shared: one entry per name, the last product's default.
                    source[source_name] = param
                else:
                    block.append(param)
            products[product] = _Product(product, block, frozenset(params), spec.get("output") or {})
        return _Description([*source.values(), token_parameter()], products)

    @property
    def products(self) -> list[str]:
        if self._only is not None:
            return list(self._only)
        return list(self.description().products)

    def _check_product(self, product: Any) -> str:
        products = self.description().products
        if not isinstance(product, str) or product not in products:
            prod_dict = {p: f"{p}_query" for p in products}
            raise DemoError(
                f"[ InstrumentQueryBackEnd : {self.name} ] constructor failed: product type "
                f"{product} not in query_dictionary {prod_dict!r}"
            )
        return product

    def meta_data(self, product: str | None = None) -> list:
        """The ``/api/meta-data`` answer (modern nested form)."""
        d = self.description()
        if product is not None and product not in d.products:
            raise KeyError(product)

        def block(header: list[dict], params: list[Parameter]) -> list:
            out, seen = list(header), set()
            for p in params:
                for e in p.entries():
                    if e["name"] not in seen:
                        seen.add(e["name"])
                        out.append(e)
            return out

        out: list = [
            {"instrumet": self.name},
            {"prod_dict": {p: f"{p}_query" for p in d.products}},
            block([{"query_name": "src_query"}], d.source),
            [{"query_name": "instr_query"}],
        ]
        for name, prod in d.products.items():
            if product is None or product == name:
                out.append(block([{"query_name": f"{name}_query"}, {"product_name": name}], prod.parameters))
        return [out]

    def par_names(self, product: str | None = None) -> list[str]:
        d = self.description()
        names: list[str] = []
        chosen = [product] if product is not None else list(d.products)
        for prod in chosen:
            if prod not in d.products:
                raise KeyError(prod)
            for p in (*d.source, *d.products[prod].parameters):
                for n in (p.name, p.format_name):
                    if n is not None and n not in names:
                        names.append(n)
        return names

    # -- requests ------------------------------------------------------------------------------

    def request(self, raw: dict) -> WorkflowRequest:
        """Check and normalise ``/run_analysis`` arguments (:class:`DemoError`: HTTP 400)."""
        product = self._check_product(raw.get("product_type"))
        d = self.description()
        prod = d.products[product]
        params = {p.name: p for p in (*d.source, *prod.parameters)}
        t_format = raw.get("T_format")
        values: dict[str, Any] = {}
        for name, p in params.items():
            if name == "token":
                continue
            if name in raw:
                fmt = str(t_format) if p.kind == "Time" and t_format else None
                values[name] = p.parse(raw[name], fmt)
            else:
                values[name] = p.value
        ap: dict[str, Any] = {}
        for k, v in raw.items():
            if k in params and k != "token":
                ap[k] = values[k]
            elif k == "T_format":
                ap[k] = "isot"
            elif k in CONTROL_KEYS and k not in ("token", "time_bin_format"):
                ap[k] = v
        for name in params:
            if name != "token" and name not in ap:
                ap[name] = values[name]
        if any(p.kind == "Time" for p in params.values()) and "T_format" not in ap:
            ap["T_format"] = "isot"
        session_id = ap.pop("session_id", None)
        ap["session_id"] = session_id
        ap["token"] = raw.get("token")
        backend = {
            p.backend_name: p.backend_value(values[p.name])
            for p in params.values()
            if p.backend_name is not None and p.backend_name in prod.backend_names
        }
        unknown = [k for k in raw if k not in params and k not in CONTROL_KEYS]
        comment = ""
        if unknown:
            shown = [u[:60] for u in unknown[:10]]
            comment = (
                f"Please note that argument {shown[0]} is not used"
                if len(shown) == 1
                else "Please note that arguments " + ", ".join(shown) + " are not used"
            )
        return WorkflowRequest(product, ap, backend, comment)

    # -- jobs ----------------------------------------------------------------------------------

    def _job(self, job_id: str) -> _Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def _new_job(self, job_id: str, product: str, session_id: str) -> _Job:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                job = self._jobs[job_id] = _Job(job_id, product, session_id, time.time())
                while len(self._jobs) > MAX_JOBS:
                    self._jobs.popitem(last=False)
            return job

    def run_analysis(self, params: dict, sub: str | None, url: str) -> tuple[dict, int]:
        """One ``/run_analysis`` request for this instrument: (body, HTTP status)."""
        from oda_widgets.demo import app as demo_app

        session_id = params["session_id"]
        query_status = params.get("query_status") or "new"
        req = self.request(params)
        ap = req.analysis_parameters
        computed = job_id_for(ap, sub)
        job_id = params.get("job_id")
        if query_status != "new":
            if not isinstance(job_id, str) or self._job(job_id) is None:
                raise DemoError(f"unable to find any record for {str(job_id)[:64]}", "InvalidJobIDProvided")
            if job_id != computed:
                return self._mismatch(demo_app, job_id, session_id), 403
            job = self._job(job_id)
        else:
            job = self._new_job(computed, req.product, session_id)
        assert job is not None
        monitor_base = {"job_id": job.job_id, "session_id": session_id}

        def body(status: str, products: dict, exit_status: dict, monitor_extra: dict | None = None) -> dict:
            monitor = {**monitor_base, "status": status, **(monitor_extra or {})}
            return demo_app._body(status, products, exit_status, monitor, session_id)

        with job.lock:
            if job.final is None:
                stale = time.monotonic() - job.checked > RECHECK_S
                if job.backend in ("new", "done") or stale:
                    callback = f"{url}/call_back?" + urllib.parse.urlencode(
                        {"instrument_name": self.name, "job_id": job.job_id, "session_id": session_id}
                    )
                    state, payload = self._backend_state(req, callback)
                    job.backend, job.checked = state, time.monotonic()
                else:
                    state, payload = job.backend, None
                if state in ("submitted", "progress"):
                    products: dict = {}
                    if query_status == "new":
                        products = {
                            "input_prod_list": [],
                            "analysis_parameters": ap,
                            "api_code": demo_app.api_code(ap, url),
                        }
                    extra = (
                        {"full_report_dict": self._report(job, session_id, "progress")}
                        if state == "progress"
                        else None
                    )
                    return body(state, products, demo_app._exit_status(state, req.comment), extra), 200
                job.final = payload
            if not job.delivered and query_status not in ("new", "ready", "done", "failed"):
                # The result exists; like the real dispatcher, hand it out on the next poll that
                # says query_status=ready.
                report = {"full_report_dict": self._report(job, session_id, "done")}
                return body("ready", {}, demo_app._exit_status("ready", req.comment), report), 200
            job.delivered = True
            final = job.final
        if final["status"] == "failed":
            products = {"analysis_parameters": ap, "api_code": demo_app.api_code(ap, url)}
            es = demo_app._exit_status("failed", req.comment, status=1, **final["exit"])
            return body("failed", products, es), 200
        products = {
            **final["products"],
            "session_id": session_id,
            "job_id": job.job_id,
            "input_prod_list": [],
            "analysis_parameters": ap,
            "api_code": demo_app.api_code(ap, url),
        }
        comment = " ".join(c for c in (final["comment"], req.comment) if c)
        return body("done", products, demo_app._exit_status("done", comment)), 200

    def _report(self, job: _Job, session_id: str, action: str) -> dict:
        return {
            "session_id": session_id,
            "job_id": job.job_id,
            "work_dir": f"scratch_sid_{session_id}_jid_{job.job_id}",
            "file_name": "job_monitor.json",
            "instrument_name": self.name,
            "token": "None",
            "time_original_request": repr(job.created),
            "progressing": "",
            "action": action,
        }

    @staticmethod
    def _mismatch(demo_app, job_id: str, session_id: str) -> dict:
        return demo_app._body(
            "failed",
            {},
            demo_app._exit_status(
                "failed",
                status=1,
                message="Request not authorized",
                debug_message=f"the parameters or the user of this request do not match those of job {job_id}",
            ),
            {"job_id": job_id, "session_id": session_id, "status": "failed"},
            session_id,
            status_code=403,
        )

    def call_back(self, job_id: str, action: str) -> bool:
        """nb2service's news about a job (``action``: progress or done); False for an unknown job."""
        job = self._job(job_id)
        if job is None:
            return False
        if job.final is None and job.backend != "done":
            job.backend = "done" if action == "done" else "progress"
        return True

    def _backend_state(self, req: WorkflowRequest, callback: str | None = None) -> tuple[str, dict | None]:
        """Ask nb2service: ('submitted'|'progress', None) or ('done'|'failed', final payload)."""
        try:
            r = self.service.get(req.product, req.backend_parameters, callback)
        except DemoError:
            raise
        except Exception as e:  # the service is down or answered nonsense
            return "failed", {
                "status": "failed",
                "exit": {"message": "Error in the backend", "error_message": f"workflow service: {e}"},
            }
        try:
            data = r.json()
        except ValueError:
            data = None
        if r.status_code == 201 and isinstance(data, dict):
            return ("submitted" if data.get("workflow_status") == "submitted" else "progress"), None
        if r.status_code != 200 or not isinstance(data, dict):
            extra = ""
            if isinstance(data, dict) and data.get("exceptions"):
                extra = str(data["exceptions"][0])
            return "failed", {
                "status": "failed",
                "exit": {
                    "message": f"connection status code: {r.status_code}",
                    "error_message": extra or r.text[:2000],
                },
            }
        root = data.get("data") if isinstance(data.get("data"), dict) else data
        exceptions = root.get("exceptions") or []
        if exceptions:
            first = exceptions[0]
            if isinstance(first, dict):
                text = f"{first.get('ename', '')}: {first.get('evalue', '')}"
            else:
                text = str(first)
            return "failed", {"status": "failed", "exit": {"message": "Backend failed. " + text}}
        output = root.get("output")
        if not isinstance(output, dict):
            return "failed", {
                "status": "failed",
                "exit": {"message": "Backend failed. the notebook gave no output"},
            }
        declarations = self.description().products[req.product].outputs
        try:
            products = build_products(declarations, output, self.ontology)
        except ProductError as e:
            return "failed", {"status": "failed", "exit": {"message": str(e)}}
        return "done", {"status": "done", "products": products, "comment": comment_of(declarations, output)}
