"""``Job``: one dispatcher request followed from submission to its products.

The dispatcher's state machine (PROTOCOL §2.1)::

    new ─► submitted ─► progress ─► ready ─► done
                                        └──► failed   (any step may end in failed)

``ready`` is not final: the backend finished, and one more poll with ``query_status=ready`` makes
the dispatcher assemble the products. Every poll resends the parameters with ``job_id``,
``session_id`` and the same token. A poll is one HTTP attempt, so a widget stays responsive;
``wait()`` (scripts) and ``await job`` (notebooks) loop with back-off.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from oda_widgets.client import links
from oda_widgets.client.dispatcher import Dispatcher, TransientFailure, new_session_id
from oda_widgets.client.protocol import user_parameters
from oda_widgets.errors import OdaError, ServerError, TokenExpired, Unauthorized
from oda_widgets.redaction import redact

if TYPE_CHECKING:
    from oda_widgets.products import ProductCollection

log = logging.getLogger(__name__)


class JobState(str, Enum):
    """Where a job is. ``READY`` means "results exist, fetch them": it is not final."""

    NEW = "new"
    SUBMITTED = "submitted"
    PROGRESS = "progress"
    READY = "ready"
    DONE = "done"
    FAILED = "failed"

    def __str__(self) -> str:
        return self.value

    @property
    def finished(self) -> bool:
        return self in (JobState.DONE, JobState.FAILED)


class WaitTimeout(OdaError, TimeoutError):
    """``wait(timeout)`` ran out of time; the job keeps running on the server and can be waited on again."""


#: Callback messages of INTEGRAL (OSA) backends and what they mean for a science window.
_COMPUTED = ("main done", "task complete")
_CACHED = ("restored from cache",)
_FAILED = ("analysis exception",)
_NOT_A_SCW = ("", "inapplicable", "none", "null")


def _step_kind(message: str) -> tuple[str, str]:
    """(kind, what a person reads) of a science window's last message at one analysis node."""
    if message in _FAILED:
        return "failed", "failed"
    if message in _CACHED:
        return "cached", "restored from cache"
    if message in _COMPUTED:
        return "computed", "computed"
    return "running", message or "running"


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


@dataclass
class Progress:
    """What the backend has reported so far, as data (no sentence to parse).

    INTEGRAL (ISGRI/JEM-X) jobs report per science window (ScW) and analysis node:
    ``scw_total`` distinct ScWs seen, of which ``scw_done`` computed, ``scw_cached`` restored
    from cache and ``scw_failed`` with an analysis exception; ``steps`` is the ScW × node grid.
    nb2workflow backends report a ``stage`` with ``stage_done``/``stage_total`` steps (and a
    ``substage``). ``last_node``/``last_message`` are the last report. ``fraction`` is ``None``
    when unknown. :attr:`summary` is the one-line sentence a text view shows, made from these.
    """

    fraction: float | None = None
    scw_total: int = 0
    scw_done: int = 0
    scw_cached: int = 0
    scw_failed: int = 0
    nodes: list[str] = field(default_factory=list)
    last_node: str = ""
    last_message: str = ""
    stage: str | None = None
    stage_done: float | None = None
    stage_total: float | None = None
    substage: str | None = None
    #: INTEGRAL: analysis node → science window → (kind, message) of its last report; kind is
    #: "computed", "cached", "failed" or "running" (then message is what the backend last said)
    steps: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)

    @property
    def scw_finished(self) -> int:
        """Science windows that are done one way or another (computed, cached or failed)."""
        return self.scw_done + self.scw_cached + self.scw_failed

    @property
    def scw_running(self) -> int:
        return self.scw_total - self.scw_finished

    @property
    def last_report(self) -> str:
        """``node: message`` of the last report (or just the message)."""
        if self.last_node and self.last_message:
            return f"{self.last_node}: {self.last_message}"
        return self.last_message

    @property
    def summary(self) -> str:
        """One line for a text view: "3/10 science windows (2 computed, 1 from cache); last: …"
        or "stage fit 2/4 (chain 3); last: …"; '' when nothing was reported."""
        text = ""
        if self.stage is not None or self.stage_total:
            counter = f"{self.stage_done:g}/{self.stage_total:g}" if self.stage_total else ""
            text = " ".join(
                p
                for p in (
                    f"stage {self.stage}" if self.stage else "",
                    counter,
                    f"({self.substage})" if self.substage else "",
                )
                if p
            )
        elif self.scw_total:
            parts = [f"{self.scw_done} computed", f"{self.scw_cached} from cache"]
            if self.scw_failed:
                parts.append(f"{self.scw_failed} failed")
            text = f"{self.scw_finished}/{self.scw_total} science windows ({', '.join(parts)})"
        tail = self.last_report
        if tail:
            text = f"{text}; last: {tail}" if text else tail
        return text

    @classmethod
    def from_job_monitor(cls, job_monitor: Mapping[str, Any] | None) -> Progress:
        """Progress from a response's ``job_monitor`` (its callback dicts are read, never kept)."""
        if not isinstance(job_monitor, Mapping):
            return cls()
        reports = [r for r in job_monitor.get("full_report_dict_list") or [] if isinstance(r, Mapping)]
        last = job_monitor.get("full_report_dict")
        if not isinstance(last, Mapping):
            last = reports[-1] if reports else None
        if not reports and last:
            reports = [last]
        if not reports:
            return cls()
        last = last if isinstance(last, Mapping) else reports[-1]

        nodes: list[str] = []
        per_scw: dict[str, dict[str, Any]] = {}
        steps: dict[str, dict[str, tuple[str, str]]] = {}
        for report in reports:
            node = str(report.get("node") or report.get("node_id") or "").strip()
            if node and node not in nodes:
                nodes.append(node)
            scw = str(report.get("scwid") or "").strip()
            if scw.lower() in _NOT_A_SCW:
                continue
            message = str(report.get("message") or "").strip().lower()
            if node:
                steps.setdefault(node, {})[scw] = _step_kind(message)
            entry = per_scw.setdefault(scw, {"computed": False, "cached": False, "failed": False, "last": ""})
            entry["computed"] |= message in _COMPUTED
            entry["cached"] |= message in _CACHED
            entry["failed"] |= message in _FAILED
            entry["last"] = message
        progress = cls(
            nodes=nodes,
            last_message=str(last.get("message") or "").strip() if last else "",
            last_node=str(last.get("node") or last.get("node_id") or "").strip() if last else "",
            steps=steps,
        )
        if per_scw:
            progress.scw_total = len(per_scw)
            for entry in per_scw.values():
                if entry["failed"]:
                    progress.scw_failed += 1
                elif entry["last"] in _COMPUTED + _CACHED:
                    # A ScW counts once it is quiet again; "cached" only if nothing was recomputed.
                    if entry["computed"]:
                        progress.scw_done += 1
                    else:
                        progress.scw_cached += 1
            progress.fraction = progress.scw_finished / progress.scw_total

        stage = last.get("stage") if last else None
        done, total = (
            _number(last.get("progress")) if last else None,
            _number(last.get("progress_max")) if last else None,
        )
        if stage is not None or (done is not None and total):
            progress.stage = None if stage is None else str(stage)
            if done is not None and total:
                progress.stage_done, progress.stage_total = done, total
                fraction = done / total
                sub_done, sub_total = _number(last.get("subprogress")), _number(last.get("subprogress_max"))
                if sub_done is not None and sub_total:
                    fraction += (sub_done / sub_total) / total
                progress.fraction = max(0.0, min(1.0, fraction))
            sub = last.get("substage") if last else None
            progress.substage = str(sub) if sub else None
        return progress


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _state_of(query_status: Any) -> JobState:
    try:
        return JobState(str(query_status))
    except ValueError:
        # job-monitor statuses like "unknown", "aliased", "post-processing": still running.
        return JobState.PROGRESS


class Job:
    """A dispatcher job: submit, poll, wait, fetch the products; safe to poll from a worker thread.

    Attributes a view reads: ``state``, ``progress`` (:class:`Progress`), ``comment`` (the
    dispatcher's notes, e.g. unused arguments), ``error`` (the typed error once failed),
    ``retrying`` / ``transient_error`` while the dispatcher is unreachable, ``last_response``
    (redacted). ``params`` never contains the token.
    """

    #: Polling back-off: 1 s, then ×1.2 per poll without a state change, at most ``poll_cap`` s.
    poll_initial = 1.0
    poll_factor = 1.2
    poll_cap = 20.0

    def __init__(
        self,
        dispatcher: Dispatcher,
        instrument: str,
        product: str,
        params: Mapping[str, Any] | None = None,
        *,
        query_type: str = "Real",
        job_id: str | None = None,
        session_id: str | None = None,
        state: JobState | str = JobState.NEW,
        query_status: str | None = None,
    ):
        self.dispatcher = dispatcher
        self.instrument = str(instrument)
        self.product = str(product)
        self.query_type = str(query_type)
        params = dict(params or {})
        token = params.pop("token", None)
        # A token given with the parameters wins over the dispatcher's (oda_api style par_dict).
        self._token: str | None = token if isinstance(token, str) and token else None
        self.params: dict[str, Any] = user_parameters(params)
        self.job_id = job_id
        self.session_id = session_id or new_session_id()
        self.state = JobState(state)
        self.query_status = query_status or self.state.value
        self.progress = Progress()
        self.comment = ""
        self.warning = ""
        self.error: OdaError | None = None
        self.last_response: dict[str, Any] | None = None
        self.retrying = False
        self.transient_error: str | None = None
        self.failures = 0
        self.polls = 0
        self.submitted_at: float | None = None
        self._polls_since_change = 0
        self._products: dict[str, Any] | None = None
        self._result: ProductCollection | None = None
        self._observers: list[Callable[[Job], Any]] = []
        self._last_snapshot: tuple[Any, ...] | None = None
        self._refused = False  # the dispatcher answered with an error status
        self._lock = threading.RLock()  # guards the attributes above
        # One request in flight per job; re-entrant so an observer may poll from its callback.
        self._poll_lock = threading.RLock()

    # -- wire ----------------------------------------------------------------------------------
    @property
    def token(self) -> str | None:
        return self._token or self.dispatcher.token

    def _wire_params(self) -> dict[str, Any]:
        with self._lock:
            wire = dict(self.params)
            wire.update(
                instrument=self.instrument,
                product_type=self.product,
                query_type=self.query_type,
                query_status=self.query_status,
                session_id=self.session_id,
            )
            if self.job_id and self.state is not JobState.NEW:
                wire["job_id"] = self.job_id
            if self._token:
                wire["token"] = self._token
        return wire

    # -- the state machine ---------------------------------------------------------------------
    def submit(self) -> Job:
        """Send the request (``query_status=new``) and return ``self``.

        Raises the typed error if the dispatcher refuses it (``RequestNotUnderstood`` with the
        offending ``parameter``, ``Unauthorized`` listing missing roles, …). If the dispatcher is
        momentarily unreachable the job stays ``NEW`` with ``retrying`` set; ``wait()`` goes on.
        """
        with self._lock:
            if self.state is not JobState.NEW:
                raise OdaError(
                    f"This job was already submitted (state {self.state}); make a new one to run it again."
                )
        self.poll()
        if self._refused and self.error is not None:
            raise self.error
        return self

    def resubmit(self, *, submit: bool = True) -> Job:
        """A new job for the same request (dispatcher, product, parameters, query type, and the
        token given with the parameters, if any); submitted unless ``submit=False`` (then the
        first :meth:`poll` sends it — what a widget does from its poller)."""
        params = dict(self.params)
        if self._token:
            params["token"] = self._token
        job = Job(self.dispatcher, self.instrument, self.product, params, query_type=self.query_type)
        return job.submit() if submit else job

    def poll(self) -> JobState:
        """Make exactly one request and update the job; returns the new state.

        ``READY`` is not final (poll again). Server-side failures end in ``FAILED`` with
        ``error`` set. An unreachable dispatcher sets ``retrying``; after the retry budget
        (``dispatcher.retries``) ``DispatcherUnavailable`` is raised and the job stays resumable.
        ``TokenExpired`` is raised before sending when the token has expired, and
        ``Unauthorized`` when the dispatcher refuses to show this job to this token (another
        user's job): in both cases the job is unchanged and resumes with a valid owner's token.
        """
        with self._poll_lock:
            if self.state.finished:
                return self.state
            wire = self._wire_params()
            try:
                body = self.dispatcher.run_analysis_attempt(wire)
            except TransientFailure as failure:
                self._transient(failure)
                return self.state
            except TokenExpired:
                raise
            except Unauthorized as err:
                if self.state is not JobState.NEW:
                    # The job itself is fine, this token may not follow it: its owner's token can.
                    raise
                self._fail(err)
                return self.state
            except OdaError as err:
                self._fail(err)
                return self.state
            self._apply(body)
            return self.state

    def _transient(self, failure: TransientFailure) -> None:
        policy = self.dispatcher.retries
        with self._lock:
            self.failures += 1
            self.polls += 1
            self.retrying = True
            self.transient_error = (
                f"dispatcher unreachable, retrying ({failure.reason}; "
                f"attempt {self.failures} of {policy.max_tries})"
            )
            give_up = self.failures >= policy.max_tries
            if give_up:
                waited = sum(policy.delay(n) for n in range(1, self.failures))
                hint = (
                    f" The job ({self.describe_ids()}) is kept: call wait() again, or "
                    "Job.from_dict(saved) later, to resume it."
                )
                unavailable = self.dispatcher.unavailable(failure, self.failures, waited, hint)
                # A fresh budget for whoever resumes the job.
                self.failures = 0
                self.retrying = False
                self.transient_error = str(unavailable)
        self._notify()
        if give_up:
            raise unavailable

    def _fail(self, err: OdaError) -> None:
        with self._lock:
            self._refused = True
            self.polls += 1
            self.error = err
            self.state = JobState.FAILED
            self.retrying = False
            self.transient_error = None
            self.failures = 0
        self._notify()

    def _apply(self, body: Mapping[str, Any]) -> None:
        body_redacted = redact(dict(body), self.token)
        status = str(body.get("query_status") or "")
        new_state = _state_of(status)
        monitor: Mapping[str, Any] = _mapping(body.get("job_monitor"))
        exit_status: Mapping[str, Any] = _mapping(body.get("exit_status"))
        products: Mapping[str, Any] = _mapping(body.get("products"))
        error = self.dispatcher.failure(body) if new_state is JobState.FAILED else None
        with self._lock:
            self.polls += 1
            changed = new_state is not self.state
            self.state = new_state
            self.query_status = status or self.query_status
            self.job_id = monitor.get("job_id") or products.get("job_id") or self.job_id
            self.session_id = body.get("session_id") or monitor.get("session_id") or self.session_id
            if self.submitted_at is None:
                self.submitted_at = time.time()
            # Later polls often answer with an empty comment: keep the last thing the server said.
            self.comment = str(redact(exit_status.get("comment") or "", self.token)) or self.comment
            self.warning = str(redact(exit_status.get("warning") or "", self.token)) or self.warning
            if monitor.get("full_report_dict") or monitor.get("full_report_dict_list"):
                self.progress = Progress.from_job_monitor(redact(dict(monitor), self.token))
            if new_state is JobState.DONE:
                self.progress.fraction = 1.0
                self._products = body_redacted.get("products") or {}
            self.error = error
            self.last_response = body_redacted
            self.retrying = False
            self.transient_error = None
            self.failures = 0
            self._polls_since_change = 0 if changed else self._polls_since_change + 1
        self._notify()

    def next_delay(self) -> float:
        """Seconds to wait before the next poll: 1 s × 1.2 per quiet poll up to ``poll_cap``,
        or the retry policy's delay while the dispatcher is unreachable."""
        with self._lock:
            if self.retrying and self.failures:
                return self.dispatcher.retries.delay(self.failures)
            return min(self.poll_cap, self.poll_initial * self.poll_factor**self._polls_since_change)

    @property
    def finished(self) -> bool:
        """True once ``DONE`` or ``FAILED``."""
        return self.state.finished

    # -- results -------------------------------------------------------------------------------
    def result(self) -> ProductCollection:
        """The products of a finished job, decoded (``ProductCollection``).

        Raises the job's error (``AnalysisFailed``, ``Unauthorized``…) if it failed, and
        ``OdaError`` if it is not finished yet.
        """
        with self._lock:
            if self.state is JobState.FAILED and self.error is not None:
                raise self.error
            if self.state is not JobState.DONE:
                raise OdaError(
                    f"The job is not finished (state {self.state}); use job.wait() or "
                    "await job to get its products."
                )
            if self._result is not None:
                return self._result
            products = self._products
        if products is None:
            products = self._refetch()
        from oda_widgets.products import ProductCollection

        try:
            collection = ProductCollection.from_response(products)
        except OdaError:
            raise
        except Exception as exc:  # malformed server data: a readable error, not a traceback
            raise OdaError(
                f"The products of {self.instrument}/{self.product} job "
                f"{self.job_id or ''} could not be read: {type(exc).__name__}: {exc}"
            ) from exc
        with self._lock:
            self._result = collection
        return collection

    def _refetch(self) -> dict[str, Any]:
        """Products of a job restored as done (``from_dict``): ask for them once more."""
        wire = self._wire_params()
        wire["query_status"] = "ready"
        wire["job_id"] = self.job_id
        body = self.dispatcher.run_analysis(wire, raise_on_failure=False)
        if body.get("query_status") == "failed":
            error = self.dispatcher.failure(body)
            self._fail(error)
            raise error
        self._apply(body)
        with self._lock:
            if self._products is None:
                raise OdaError("The dispatcher did not return the products of this job again.")
            return self._products

    def wait(self, timeout: float | None = None) -> ProductCollection:
        """Poll with back-off until the job finishes; returns its products.

        Raises the job's error if it failed, ``DispatcherUnavailable`` if the dispatcher stayed
        unreachable for the whole retry budget, ``WaitTimeout`` after ``timeout`` seconds (the job
        keeps running: call ``wait`` again).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.finished:
            self.poll()
            if self.finished:
                break
            delay = self._bounded_delay(deadline, timeout)
            time.sleep(delay)
        return self.result()

    def _bounded_delay(self, deadline: float | None, timeout: float | None) -> float:
        delay = self.next_delay()
        if deadline is None:
            return delay
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise WaitTimeout(
                f"The job is still {self.state} after {timeout:g} s "
                f"({self.describe_ids()}); it keeps running on the dispatcher, "
                "wait again to follow it.",
                details=self.to_dict(),
            )
        return min(delay, remaining)

    async def wait_async(self, timeout: float | None = None) -> ProductCollection:
        """Like :meth:`wait` without blocking the event loop (requests run in a thread)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.finished:
            await asyncio.to_thread(self.poll)
            if self.finished:
                break
            await asyncio.sleep(self._bounded_delay(deadline, timeout))
        return await asyncio.to_thread(self.result)

    def __await__(self) -> Any:
        return self.wait_async().__await__()

    # -- observers -----------------------------------------------------------------------------
    def observe(self, callback: Callable[[Job], Any]) -> Callable[[Job], Any]:
        """Call ``callback(job)`` after every poll that changed something (state, progress,
        retrying). Returns the callback, so it can be given to :meth:`unobserve`."""
        with self._lock:
            self._observers.append(callback)
        return callback

    def unobserve(self, callback: Callable[[Job], Any]) -> None:
        """Stop calling ``callback``."""
        with self._lock:
            if callback in self._observers:
                self._observers.remove(callback)

    def _notify(self) -> None:
        with self._lock:
            observers = list(self._observers)
            snapshot = self._snapshot()
            if snapshot == self._last_snapshot:
                return
            self._last_snapshot = snapshot
        for callback in observers:
            try:
                callback(self)
            except Exception:  # a broken view must not stop the job being followed
                log.exception("job observer %r failed", callback)

    def _snapshot(self) -> tuple[Any, ...]:
        p = self.progress
        return (
            self.state,
            self.job_id,
            p.fraction,
            p.summary,
            p.last_message,
            self.comment,
            self.retrying,
            self.transient_error,
            self.error is not None,
        )

    # -- persistence ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Everything needed to resume this job later; JSON-ready and without the token."""
        with self._lock:
            return {
                "url": self.dispatcher.url,
                "instrument": self.instrument,
                "product": self.product,
                "query_type": self.query_type,
                "params": redact(dict(self.params), self.token),
                "job_id": self.job_id,
                "session_id": self.session_id,
                "state": self.state.value,
                "query_status": self.query_status,
                "comment": self.comment,
                "submitted_at": self.submitted_at,
            }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], dispatcher: Dispatcher | None = None) -> Job:
        """A job rebuilt from :meth:`to_dict`; poll or wait to follow it again.

        ``dispatcher`` supplies the token (the dict has none); by default a ``Dispatcher`` for the
        saved URL with the discovered token.
        """
        try:
            url, instrument, product = d["url"], d["instrument"], d["product"]
        except KeyError as exc:
            raise OdaError(f"A saved job needs {exc.args[0]!r}; got keys {sorted(d)}") from None
        dispatcher = dispatcher or Dispatcher(url)
        state = JobState(d.get("state") or "new")
        job = cls(
            dispatcher,
            instrument,
            product,
            d.get("params") or {},
            query_type=d.get("query_type") or "Real",
            job_id=d.get("job_id"),
            session_id=d.get("session_id"),
            state=state,
            query_status=d.get("query_status") or state.value,
        )
        job.comment = d.get("comment") or ""
        job.submitted_at = d.get("submitted_at")
        if state is JobState.FAILED:
            job.error = OdaError("This job had failed when it was saved; submit it again to retry.")
        return job

    # -- links ---------------------------------------------------------------------------------
    def share_link(self, frontend_url: str | None = None) -> str:
        """The MMODA web frontend's link for this job's query (what its *Share* button gives, and
        the dispatcher's e-mails): opened by the same user it leads to this same job (the
        dispatcher's job id is a hash of the parameters and the user). No token inside.
        ``frontend_url``: the frontend page (default: the dispatcher's, see
        :func:`~oda_widgets.client.links.frontend_base`)."""
        par_dict = {
            "instrument": self.instrument,
            "product_type": self.product,
            "query_type": self.query_type,
            **self.params,
        }
        return links.frontend_link(par_dict, frontend_url or links.frontend_base(self.dispatcher.url))

    def poll_link(self) -> str:
        """The dispatcher URL that polls this job (``/run_analysis`` with its ids, no token):
        :meth:`from_url` re-attaches to the job from it, with its owner's token."""
        if not self.job_id:
            raise OdaError("This job has no job_id yet: submit it first.")
        par_dict = {
            "instrument": self.instrument,
            "product_type": self.product,
            "query_type": self.query_type,
            **self.params,
        }
        return links.poll_link(self.dispatcher.url, par_dict, self.job_id, self.session_id)

    @classmethod
    def from_url(cls, url: str, dispatcher: Dispatcher | None = None, *, submit: bool = True) -> Job:
        """The job a link points at, to poll or wait on.

        * a dispatcher job link (``…/resolve-job-url?job_id=&session_id=&token=``, from its
          e-mails): the dispatcher is asked for the job's parameters, and the job is re-attached by
          its ids (polled with the link's token, which is never saved);
        * a poll URL (:meth:`poll_link`, or any ``/run_analysis`` URL with ``job_id`` and
          ``session_id``): re-attached by its ids, with ``dispatcher``'s token;
        * a web frontend query link (:meth:`share_link`, the frontend's *Share*): the same request
          sent again — by the same user the dispatcher answers with the same job (its job id is a
          hash of the parameters and the user); ``submit=False`` returns it unsent.

        ``dispatcher`` defaults to the link's own (``…/dispatch-data`` below a frontend page).
        Raises ``InvalidParameter`` for a link that is none of these and the dispatcher's error
        for a job it does not give (unknown job, another user's token, an expired token).
        """
        link = links.read_link(url)
        if dispatcher is None:
            dispatcher = Dispatcher(link.dispatcher_url, token=link.token)
        if link.needs_resolving:
            link = resolve_job_link(dispatcher, link)
        params = dict(link.parameters)
        if link.token:
            params["token"] = link.token  # polls go with the owner's token; to_dict leaves it out
        if link.kind == "job" and link.job_id and link.session_id:
            return cls(
                dispatcher,
                str(link.instrument),
                str(link.product),
                params,
                query_type=link.query_type,
                job_id=link.job_id,
                session_id=link.session_id,
                state=JobState.SUBMITTED,
                query_status="submitted",
            )
        if not link.product:
            raise OdaError("This link names no product (product_type): it cannot start a job.")
        job = cls(dispatcher, str(link.instrument), str(link.product), params, query_type=link.query_type)
        return job.submit() if submit else job

    # -- text ----------------------------------------------------------------------------------
    def describe_ids(self) -> str:
        return f"job_id {self.job_id or '(not yet assigned)'}, session_id {self.session_id}"

    def __repr__(self) -> str:
        with self._lock:
            parts = [
                f"{self.product}@{self.instrument}",
                f"state={self.state.value}",
                f"job_id={self.job_id}",
                f"session_id={self.session_id}",
            ]
            if self.progress.summary:
                parts.append(f"progress={self.progress.summary!r}")
            if self.retrying:
                parts.append(f"retrying={self.transient_error!r}")
            if self.error is not None:
                parts.append(f"error={str(self.error)[:120]!r}")
        return str(redact(f"<Job {' '.join(parts)}>", self.token))


def resolve_job_link(dispatcher: Dispatcher, link: links.Link) -> links.Link:
    """Ask the dispatcher where a ``/resolve-job-url`` link leads (one GET, redirects not
    followed): the job's query link, read, with the job's ids and the link's token kept on it.

    Raises the dispatcher's error when it redirects to one (``error_message``: unknown job, a
    token of another user, an expired token) or answers anything but a redirect.
    """
    params = {"job_id": link.job_id, "session_id": link.session_id, "token": link.token or ""}

    def attempt() -> Any:
        return dispatcher._attempt("GET", "/resolve-job-url", params, allow_redirects=False)

    resp = dispatcher._retrying(attempt)
    location = resp.headers.get("Location")
    if resp.status_code not in (301, 302, 303, 307, 308) or not location:
        if resp.status_code >= 400:
            raise dispatcher._error(resp, {})
        raise ServerError(
            f"The dispatcher at {dispatcher.url} did not redirect the job link (HTTP {resp.status_code})"
        )
    target = urljoin(f"{dispatcher.url}/resolve-job-url", location)
    resolved = links.read_link(target)  # an error_message there raises the dispatcher's error
    resolved.kind = "job"
    resolved.job_id, resolved.session_id, resolved.token = link.job_id, link.session_id, link.token
    resolved.dispatcher_url = dispatcher.url
    return resolved


__all__ = ["Job", "JobState", "Progress", "WaitTimeout", "resolve_job_link"]
