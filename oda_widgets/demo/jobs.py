"""Demo jobs: identity, life cycle and the INTEGRAL-style job monitor.

A job advances by wall-clock time since submission, scaled by the server's ``speed``, but the
client only sees a new state when it polls — like the real dispatcher, where ``ready`` turns into
``done`` only when a poll with ``query_status=ready`` makes it assemble the products.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from oda_widgets.client.protocol import NOT_IN_JOB_ID
from oda_widgets.demo.instruments import Request

#: Request keys that do not enter the job identity (as in the real dispatcher).
JOB_ID_EXCLUDED = NOT_IN_JOB_ID

#: Analysis nodes reported per science window, and the final node, per product kind.
NODES = {
    ("isgri", "image"): ("ii_skyimage", "mosaic_ii_skyimage"),
    ("isgri", "spectrum"): ("ii_spectra_extract", "ISGRISpectraSum"),
    ("isgri", "lc"): ("ii_lc_extract", "ISGRILCSum"),
    ("jemx", "image"): ("jemx_image", "mosaic_jemx"),
    ("jemx", "spectrum"): ("jemx_spe", "JEMXSpectraSum"),
    ("jemx", "lc"): ("jemx_lcr", "JEMXLCSum"),
}

#: ``src_name`` that makes the backend fail (HTTP 200, ``query_status: failed``).
FAIL_TRIGGER = "FAIL_BACKEND"


def job_id_for(analysis_parameters: dict, sub: str | None) -> str:
    """16 hex characters of an MD5 over the normalised parameters (nulls and bookkeeping keys
    dropped) plus the user's e-mail: the same request by the same user is the same job."""
    d = {k: v for k, v in analysis_parameters.items() if k not in JOB_ID_EXCLUDED and v is not None}
    if sub:
        d["sub"] = sub
    return hashlib.md5(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass
class Job:
    job_id: str
    sub: str | None
    request: Request
    session_id: str
    token: str | None
    created: float
    duration: float
    scw_ids: list[str]
    events: list[tuple[float, dict]] = field(default_factory=list)
    finished: str | None = None  # "done" | "failed" once a ready-poll assembled it
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def failing(self) -> bool:
        return str(self.request.values.get("src_name", "")).strip() == FAIL_TRIGGER

    def fraction(self, now: float) -> float:
        return 1.0 if self.duration <= 0 else (now - self.created) / self.duration

    def backend_status(self, now: float) -> str:
        f = self.fraction(now)
        if f < 0.1:
            return "submitted"
        if f < 1.0:
            return "progress"
        return "ready"

    def reports(self, now: float) -> list[dict]:
        f = self.fraction(now)
        return [e for at, e in self.events if at <= f]


def _plan(job: Job) -> None:
    """The callbacks an INTEGRAL backend would send: per ScW ``main starting``/``main done`` or
    ``restored from cache``, then the final node; spread over the run."""
    instr = job.request.instrument.name
    kind = job.request.product.rsplit("_", 1)[1]
    node, final = NODES[(instr, kind)]
    base = {
        "session_id": job.session_id,
        "job_id": job.job_id,
        "work_dir": f"scratch_sid_{job.session_id}_jid_{job.job_id}",
        "file_name": "job_monitor.json",
        "instrument_name": instr,
    }
    if job.token:
        base["token"] = job.token
    base.update({"time_original_request": repr(job.created), "progressing": ""})
    msgs: list[tuple[str, str, str]] = []
    for scw in job.scw_ids:
        cached = int(hashlib.md5(f"{scw}{node}".encode()).hexdigest()[:2], 16) < 90
        if cached:
            msgs.append((node, "restored from cache", scw))
        else:
            msgs.append((node, "main starting", scw))
            msgs.append((node, "main done", scw))
    if job.failing:
        msgs.append((node, "analysis exception", job.scw_ids[0] if job.scw_ids else "inapplicable"))
    else:
        msgs.append((final, "main starting", "inapplicable"))
        msgs.append((final, "main done", "inapplicable"))
    n = len(msgs)
    for i, (nd, message, scw) in enumerate(msgs):
        at = 0.1 + 0.85 * (i + 1) / n
        action = "done" if i == n - 1 else "progress"
        job.events.append((at, {**base, "action": action, "node": nd, "message": message, "scwid": scw}))


class JobStore:
    """All jobs of one demo server, plus a small cache of assembled products."""

    def __init__(self, speed: float = 1.0, cache_size: int = 8):
        self.speed = max(float(speed), 1e-3)
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._products: OrderedDict[str, dict] = OrderedDict()
        self._cache_size = cache_size

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def create(
        self,
        job_id: str,
        sub: str | None,
        request: Request,
        session_id: str,
        token: str | None,
        scw_ids: list[str],
        synchronous: bool,
    ) -> Job:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None:
                return job
            duration = 0.0 if synchronous else (2.0 + 0.08 * len(scw_ids)) / self.speed
            job = Job(job_id, sub, request, session_id, token, time.monotonic(), duration, list(scw_ids))
            if not synchronous:
                _plan(job)
            self._jobs[job_id] = job
            if len(self._jobs) > 10000:
                oldest = next(iter(self._jobs))
                del self._jobs[oldest]
            return job

    def cached_products(self, job_id: str) -> dict | None:
        with self._lock:
            p = self._products.get(job_id)
            if p is not None:
                self._products.move_to_end(job_id)
            return p

    def remember_products(self, job_id: str, products: dict) -> None:
        with self._lock:
            self._products[job_id] = products
            while len(self._products) > self._cache_size:
                self._products.popitem(last=False)
