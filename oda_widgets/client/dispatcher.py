"""``Dispatcher``: talking HTTP to an ODA/MMODA dispatcher, with retries and typed errors.

Everything the server answers is parsed with :mod:`json` only (never ``eval``), every message
shown to a person goes through :func:`~oda_widgets.client.token.redact`, and each HTTP status is
mapped to one of the errors of :mod:`oda_widgets.errors` (PROTOCOL §1.4).
"""

from __future__ import annotations

import html.parser
import json
import logging
import re
import secrets
import string
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import requests

from oda_widgets.client.encoding import encode_params, should_post
from oda_widgets.client.protocol import BOOKKEEPING, missing_roles_in_message, parameter_in_message
from oda_widgets.client.token import (
    HOW_TO_GET_A_TOKEN,
    TokenInfo,
    discover_token,
    ensure_valid,
    redact,
)
from oda_widgets.client.transport import (
    CATALOGUE_DEADLINE,
    CATALOGUE_MAX_BODY,
    DEFAULT_DEADLINE,
    DEFAULT_MAX_BODY,
    Answer,
    TransientFailure,
    Transport,
    remember_token,
)
from oda_widgets.errors import (
    AnalysisFailed,
    DispatcherUnavailable,
    InvalidParameter,
    OdaError,
    Redirected,
    RequestNotUnderstood,
    ServerError,
    TokenExpired,
    Unauthorized,
)

if TYPE_CHECKING:
    from astropy.coordinates import SkyCoord

    from oda_widgets.client.description import InstrumentDescription
    from oda_widgets.client.job import Job

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Named deployments, as oda_api knows them (its site list resolves the same alias).
KNOWN_SITES = {
    "unige-production": "https://www.astro.unige.ch/mmoda/dispatch-data",
}

#: Statuses a proxy or a restarting dispatcher answer with: worth retrying.
TRANSIENT_STATUS = frozenset({502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying when the dispatcher is unreachable (502/503/504, refused, time-out).

    ``max_tries`` consecutive failed attempts are allowed; the wait before attempt *n+1* is
    ``initial × factor**(n-1)`` seconds, never more than ``cap``.
    """

    max_tries: int = 20
    initial: float = 1.0
    factor: float = 1.2
    cap: float = 30.0

    def __post_init__(self) -> None:
        if self.max_tries < 1:
            raise ValueError("RetryPolicy.max_tries must be at least 1")
        if self.initial < 0 or self.factor < 1 or self.cap < 0:
            raise ValueError("RetryPolicy needs initial >= 0, factor >= 1 and cap >= 0")

    def delay(self, failures: int) -> float:
        """Seconds to wait after ``failures`` consecutive failed attempts (``failures`` ≥ 1)."""
        return min(self.cap, self.initial * self.factor ** max(0, failures - 1))

    @property
    def budget(self) -> float:
        """Total seconds spent waiting before giving up (request time not included)."""
        return sum(self.delay(n) for n in range(1, self.max_tries))


def new_session_id() -> str:
    """A session id like oda_api's: 16 random characters from A–Z and 0–9."""
    alphabet = string.ascii_uppercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(16))


class _TextOfHTML(html.parser.HTMLParser):
    """Collects the visible text of an HTML error page (Flask's 500 page, a proxy's 502 page)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.parts.append(data.strip())


def _text_of(body: str, limit: int = 400) -> str:
    if "<" in body and ">" in body:
        parser = _TextOfHTML()
        try:
            parser.feed(body)
            body = " ".join(parser.parts)
        except Exception:  # malformed HTML: keep the raw text, the message is still useful
            pass
    body = " ".join(body.split())
    return body if len(body) <= limit else body[: limit - 1] + "…"


def error_from_response(
    status_code: int,
    content: bytes,
    *,
    url: str,
    reason: str = "",
    location: str | None = None,
    sent: Mapping[str, Any] | None = None,
    token: str | None = None,
) -> OdaError:
    """The typed error for a dispatcher answer with a non-200 status (PROTOCOL §1.4).

    30x → ``Redirected``; 400 → ``RequestNotUnderstood`` (``parameter`` when the message names
    one); 401/403 → ``Unauthorized`` (``missing_roles``) or ``TokenExpired``; 500 and anything
    else → ``ServerError``. Both 403 shapes are understood: the APIerror JSON and the
    run_analysis-shaped body with ``exit_status.message``. Messages are redacted.
    """
    code = status_code
    if 300 <= code < 400:
        if not location:
            m = re.search(rb'href="([^"]+)"', content or b"")
            location = m.group(1).decode("utf-8", "replace") if m else None
        # A redirect keeps the query string, token included.
        location = redact(location, token) if location else location
        base = re.split(r"/(?:api/)?(?:run_analysis|instr-list|meta-data|par-names)\b", location or "")[0]
        hint = f" If the dispatcher has moved, use Dispatcher({base!r})." if base else ""
        return Redirected(
            f"The dispatcher at {url} redirects this request (HTTP {code}) to "
            f"{location or 'an unstated address'}.{hint}",
            location=location,
            status_code=code,
        )
    try:
        body = json.loads(content)
    except ValueError:
        body = None
    text = redact(_text_of(content.decode("utf-8", "replace")), token) if body is None else ""
    body = redact(body, token)
    details = {k: v for k, v in body.items() if k != "config"} if isinstance(body, dict) else {}
    if isinstance(body, dict) and isinstance(body.get("exit_status"), dict):
        # run_analysis-shaped error (403 for missing roles, job/user mismatch)
        exit_status = body["exit_status"]
        message = (exit_status.get("message") or exit_status.get("error_message") or "").strip()
        debug = str(exit_status.get("debug_message") or "")
    elif isinstance(body, dict):
        message = str(body.get("error_message") or body.get("message") or body.get("error") or "").strip()
        debug = str(body.get("debug_message") or "")
    else:
        message, debug = text, ""
    if debug:
        details.setdefault("debug_message", debug)

    if code == 400:
        parameter = parameter_in_message(message, sent)
        return RequestNotUnderstood(
            message or "The dispatcher did not understand the request (HTTP 400).",
            parameter=parameter,
            details=details,
            status_code=400,
        )
    if code in (401, 403):
        roles = missing_roles_in_message(message)
        if "expired" in message.lower():
            return TokenExpired(message + " " + HOW_TO_GET_A_TOKEN, details=details, status_code=code)
        if not message:
            message = "The dispatcher refused the request (not authorized)."
        if debug and len(message) < 80:
            message = f"{message.rstrip('.')}: {debug}"
        if "does not match" in debug and "job_id" in debug:
            message += (
                "\nThis job belongs to another user (or was submitted with other parameters): "
                "follow it with the token it was submitted with."
            )
        if token is None and not (sent or {}).get("token"):
            message += "\nYou sent no token. " + HOW_TO_GET_A_TOKEN
        return Unauthorized(message, missing_roles=roles, details=details, status_code=code)
    if code == 500:
        what = message or "internal server error"
        return ServerError(
            f"The dispatcher at {url} failed while handling the request (HTTP 500): {what}",
            details=details,
            status_code=500,
        )
    return ServerError(
        f"The dispatcher at {url} answered with an unexpected HTTP {code}: "
        + (message or reason or "no explanation"),
        details=details,
        status_code=code,
    )


class Dispatcher:
    """A connection to one ODA/MMODA dispatcher.

    ``Dispatcher(url)`` finds your token like oda_api does (``$ODA_TOKEN``, ``./.oda-token``,
    ``~/.oda-token``, ``./.oda_api_context``); pass ``token=...`` to choose one, or ``token=""``
    for public requests only. ``url`` may also be a known site name such as
    ``"unige-production"``. Transient failures (502/503/504, refused connections, time-outs) are
    retried per ``retries``; everything else raises a typed error with a readable message.

    Every exchange is bounded: ``timeout`` seconds without a byte (a silent server, retried),
    ``deadline`` seconds for the whole answer (a server trickling its answer is given up on,
    ``DispatcherUnavailable``), and ``max_response_bytes`` for its size (``ResponseTooLarge``).
    The catalogue requests (instruments, descriptions, parameter names, name resolution) use at
    most 60 s and 16 MiB. Redirects are followed for catalogue requests to the same host only.
    """

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        timeout: float = 120.0,
        deadline: float = DEFAULT_DEADLINE,
        max_response_bytes: int = DEFAULT_MAX_BODY,
        retries: RetryPolicy | None = None,
        session: requests.Session | None = None,
    ):
        url = KNOWN_SITES.get(url, url)
        if not isinstance(url, str) or not re.match(r"^https?://", url):
            raise InvalidParameter(
                f"The dispatcher URL must start with http:// or https://, got {url!r} "
                f"(known site names: {', '.join(KNOWN_SITES)}).",
                parameter="url",
            )
        self.url = url.rstrip("/")
        self.timeout = float(timeout)
        self.retries = retries or RetryPolicy()
        self.transport = Transport(
            session, read_timeout=timeout, deadline=deadline, max_body=max_response_bytes
        )
        self.session = self.transport.session
        self.last_response: Any = None
        self._token: str | None = None
        self.token_info: TokenInfo | None = None
        self.token = discover_token() if token is None else token

    # -- token ---------------------------------------------------------------------------------
    @property
    def token(self) -> str | None:
        """The token sent with every request (``None`` = public). Setting it re-reads its payload."""
        return self._token

    @token.setter
    def token(self, value: str | None) -> None:
        value = value.strip() if isinstance(value, str) else value
        self.token_info = TokenInfo.from_token(value) if value else None
        self._token = value or None
        remember_token(self._token)

    def redact(self, obj: Any) -> Any:
        """``obj`` with this dispatcher's token (and any JWT) replaced by ``<token>``."""
        return redact(obj, self._token)

    def __repr__(self) -> str:
        who = "public" if self.token_info is None else repr(self.token_info.email)
        return f"Dispatcher({self.url!r}, user={who})"

    # -- HTTP ----------------------------------------------------------------------------------
    @property
    def deadline(self) -> float:
        """Seconds one exchange may take in all (connection, headers and the whole answer)."""
        return self.transport.deadline

    @property
    def max_response_bytes(self) -> int:
        """Largest answer accepted, in bytes (after decoding)."""
        return self.transport.max_body

    def _attempt(
        self,
        method: str,
        path: str,
        params: list[tuple[str, str]] | Mapping[str, Any],
        *,
        allow_redirects: bool = True,
        catalogue: bool = False,
    ) -> Answer:
        """One HTTP exchange (bounded in time and size, see ``Transport``); unreachable-server
        outcomes become ``TransientFailure``, every other failure a typed ``OdaError``.
        ``catalogue`` requests get the tighter bounds of small answers."""
        url = self.url + path
        resp = self.transport.exchange(
            method,
            url,
            params=params if method != "POST" else None,
            data=params if method == "POST" else None,
            follow_redirects=allow_redirects,
            deadline=CATALOGUE_DEADLINE if catalogue else None,
            max_body=CATALOGUE_MAX_BODY if catalogue else None,
        )
        if resp.status_code in TRANSIENT_STATUS:
            reason = f"HTTP {resp.status_code} {resp.reason or ''}".strip()
            raise TransientFailure(reason, resp.status_code)
        return resp

    def unavailable(
        self, failure: TransientFailure, tries: int, seconds: float, job_hint: str = ""
    ) -> DispatcherUnavailable:
        """The error for giving up after ``tries`` failed attempts over ``seconds``; ``job_hint``
        replaces the closing "Try again later." (e.g. how to resume a job)."""
        message = (
            f"The dispatcher at {self.url} is unreachable ({failure.reason}) after {tries} "
            f"{'try' if tries == 1 else 'tries'} over {seconds:.0f} s." + (job_hint or " Try again later.")
        )
        return DispatcherUnavailable(
            message, details={"reason": failure.reason, "tries": tries}, status_code=failure.status_code
        )

    def _retrying(self, attempt: Callable[[], T]) -> T:
        """Run ``attempt`` until it gets through or the retry budget is spent."""
        failures, t0 = 0, time.monotonic()
        while True:
            try:
                return attempt()
            except TransientFailure as failure:
                failures += 1
                if failures >= self.retries.max_tries or not failure.retry:
                    raise self.unavailable(failure, failures, time.monotonic() - t0) from None
                delay = self.retries.delay(failures)
                log.info(
                    "dispatcher unreachable (%s), retry %d/%d in %.1f s",
                    failure.reason,
                    failures + 1,
                    self.retries.max_tries,
                    delay,
                )
                time.sleep(delay)

    def _json(self, resp: Answer) -> Any:
        try:
            if b'"binarys"' in resp.content:
                # product payloads: base64 pickles decoded straight from the bytes (json-only parsing)
                from oda_widgets.products.wire import loads_response

                return loads_response(resp.content)
            return json.loads(resp.content)
        except RecursionError:
            raise ServerError(
                f"The dispatcher at {self.url} answered {resp.path} with JSON nested too deeply to read.",
                status_code=resp.status_code,
            ) from None
        except ValueError:
            raise ServerError(
                f"The dispatcher at {self.url} answered {resp.path} with "
                f"something that is not JSON (HTTP {resp.status_code}): "
                + self.redact(_text_of(resp.text or "(empty)")),
                status_code=resp.status_code,
            ) from None

    def _error(self, resp: Answer, sent: Mapping[str, Any] | None = None) -> OdaError:
        """The typed error for a non-200 answer (30x, 400, 403, 500, …)."""
        return error_from_response(
            resp.status_code,
            resp.content,
            url=self.url,
            reason=resp.reason or "",
            location=resp.headers.get("Location"),
            sent=sent,
            token=self._token,
        )

    def _get_json(self, path: str, params: Mapping[str, Any], *, with_token: bool) -> Any:
        """GET an endpoint (redirects followed), retried per policy; the JSON or a typed error."""
        params = {k: v for k, v in params.items() if v is not None}
        if with_token and self._token:
            ensure_valid(self._token)
            params["token"] = self._token

        def attempt() -> Any:
            resp = self._attempt("GET", path, params, catalogue=True)
            if resp.status_code != 200:
                raise self._error(resp, params)
            return self._json(resp)

        body = self._retrying(attempt)
        self.last_response = self.redact(body)
        return body

    # -- catalogue of instruments and parameters ------------------------------------------------
    def instruments(self) -> list[str]:
        """Names of the instruments this dispatcher offers to you (your token may unlock more)."""
        # Dispatchers ≥ 1.3.6 serve /instr-list (and redirect /api/instr-list there); 1.3.3 only
        # answers /api/instr-list, and only with an `instrument` argument (any value).
        try:
            names = self._get_json("/api/instr-list", {"instrument": "mock"}, with_token=True)
        except ServerError as exc:
            if exc.status_code != 404:
                raise
            names = self._get_json("/instr-list", {}, with_token=True)
        if not isinstance(names, list):
            raise ServerError(f"The dispatcher at {self.url} sent an instrument list that is not a list.")
        return [str(n) for n in names]

    def description(self, instrument: str, product: str | None = None) -> InstrumentDescription:
        """The parameters of an instrument (all products, or just ``product``) as a typed model."""
        from oda_widgets.client.description import parse_description

        try:
            payload = self._get_json(
                "/api/meta-data", {"instrument": instrument, "product_type": product}, with_token=True
            )
        except ServerError as exc:
            if product is not None and exc.status_code == 500:
                raise ServerError(
                    f"{exc} (dispatchers answer this way when instrument "
                    f"{instrument!r} has no product {product!r})",
                    details=exc.details,
                    status_code=500,
                ) from None
            raise
        return parse_description(payload)

    def par_names(self, instrument: str, product: str) -> list[str | None]:
        """Every argument name ``product`` accepts, format companions included (may hold ``None``)."""
        names = self._get_json(
            "/api/par-names", {"instrument": instrument, "product_type": product}, with_token=False
        )
        if not isinstance(names, list):
            raise ServerError(f"The dispatcher at {self.url} sent parameter names that are not a list.")
        return [None if n is None else str(n) for n in names]

    def resolve(self, name: str) -> SkyCoord:
        """Sky position of a source name, from the dispatcher's resolver (``/resolve_name``).

        Raises ``RequestNotUnderstood`` (``parameter="src_name"``) when the name is unknown,
        ``Unauthorized`` when the dispatcher reserves its resolver to some roles, and
        ``OdaError`` when this dispatcher has no resolver at all.
        """
        from astropy import units as u
        from astropy.coordinates import SkyCoord

        if not isinstance(name, str) or not name.strip():
            raise RequestNotUnderstood("Give a source name to resolve.", parameter="src_name")
        try:
            body = self._get_json("/resolve_name", {"name": name.strip()}, with_token=True)
        except ServerError as exc:
            if exc.status_code == 404:
                raise OdaError(
                    f"The dispatcher at {self.url} offers no name resolver; enter RA and DEC yourself.",
                    status_code=404,
                ) from None
            raise
        if not isinstance(body, dict) or body.get("RA") is None or body.get("DEC") is None:
            message = body.get("message") if isinstance(body, dict) else None
            raise RequestNotUnderstood(
                message or f"{name} could not be resolved", parameter="src_name", details={"response": body}
            )
        try:
            coord = SkyCoord(float(body["RA"]) * u.deg, float(body["DEC"]) * u.deg, frame="icrs")
        except (TypeError, ValueError):
            raise ServerError(
                f"The resolver returned unreadable coordinates for {name!r}: "
                f"RA={body['RA']!r}, DEC={body['DEC']!r}"
            ) from None
        coord.info.name = str(body.get("name") or name)
        return coord

    # -- analysis ------------------------------------------------------------------------------
    def prepare(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The parameters as sent: ``api`` added, this dispatcher's token added (and checked)."""
        prepared = dict(params)
        token = prepared.pop("token", None) or self._token
        ensure_valid(token)
        if token:
            prepared["token"] = token
        prepared.setdefault("api", "True")
        return prepared

    def _run_attempt(self, prepared: Mapping[str, Any]) -> dict[str, Any]:
        """One ``/run_analysis`` exchange. Returns the raw body, ``query_status: failed`` included.

        Raises ``TransientFailure`` for an unreachable server and a typed error for every other
        non-200 answer. Redirects are not followed (a moved dispatcher must be reported).
        """
        pairs = encode_params(prepared)
        method = "POST" if should_post(pairs) else "GET"
        log.debug("%s /run_analysis %s", method, self.redact(dict(prepared)))
        resp = self._attempt(method, "/run_analysis", pairs, allow_redirects=False)
        if resp.status_code != 200:
            raise self._error(resp, prepared)
        body = self._json(resp)
        if not isinstance(body, dict):
            raise ServerError(
                f"The dispatcher at {self.url} sent a run_analysis answer that is not a JSON object."
            )
        self.last_response = self.redact(body)
        return body

    def run_analysis_attempt(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Exactly one ``/run_analysis`` exchange (what a job's poll is); no retry.

        ``params`` is a par_dict; ``api`` and the token are added as :meth:`prepare` does.
        Returns the answer as received — ``query_status: failed`` included, and possibly echoing
        the token (redact before showing). Raises :class:`TransientFailure` when the dispatcher
        is unreachable (the caller decides whether and when to try again; :meth:`unavailable`
        makes the error for giving up), ``TokenExpired`` before sending an expired token, and
        the typed error of any other refusal.
        """
        return self._run_attempt(self.prepare(params))

    def failure(self, body: Mapping[str, Any]) -> OdaError:
        """The typed error for a run_analysis body with ``query_status: failed``."""
        body = self.redact(dict(body))
        exit_status: dict[str, Any] = body["exit_status"] if isinstance(body.get("exit_status"), dict) else {}
        message = str(exit_status.get("message") or "").strip()
        error_message = str(exit_status.get("error_message") or "").strip()
        debug_message = str(exit_status.get("debug_message") or "").strip()
        details = {
            "exit_status": exit_status,
            "job_id": (body.get("job_monitor") or {}).get("job_id"),
            "session_id": body.get("session_id"),
        }
        if body.get("status_code") in (401, 403):
            return Unauthorized(
                message or "The dispatcher refused the request (not authorized).",
                missing_roles=missing_roles_in_message(message),
                details=details,
                status_code=body["status_code"],
            )
        if not message:
            message = error_message.split("\n")[0].strip() if error_message else ""
        if not message:
            report = (body.get("job_monitor") or {}).get("full_report_dict") or {}
            last = report.get("message") if isinstance(report, dict) else None
            node = (report.get("node") or report.get("node_id")) if isinstance(report, dict) else None
            message = (
                "The analysis failed"
                + (f" ({node}: {last})" if last and node else f" ({last})" if last else "")
                + "."
            )
        return AnalysisFailed(
            message, error_message=error_message, debug_message=debug_message, details=details
        )

    def run_analysis(self, params: Mapping[str, Any], *, raise_on_failure: bool = True) -> dict[str, Any]:
        """Send one ``/run_analysis`` request (retried while the server is unreachable).

        ``params`` is a par_dict (``instrument``, ``product_type``, ``query_type``,
        ``query_status``, product parameters…). Returns the response JSON with the token
        redacted; raises ``AnalysisFailed`` for ``query_status: failed`` (unless
        ``raise_on_failure=False``: then that answer is returned too) and the typed errors of
        ``oda_widgets.errors`` for refused requests. For a job that runs a while use ``submit``.
        """
        prepared = self.prepare(params)
        prepared.setdefault("query_status", "new")
        body = self._retrying(lambda: self._run_attempt(prepared))
        if raise_on_failure and body.get("query_status") == "failed":
            raise self.failure(body)
        return dict(self.redact(body))

    def submit(
        self,
        instrument: str,
        product: str,
        params: Mapping[str, Any] | None = None,
        *,
        query_type: str = "Real",
    ) -> Job:
        """Start a job and return it after the first answer (``job.wait()`` / ``await job`` for the result).

        Raises right away if the dispatcher refuses the request (bad parameter, missing role…).
        """
        from oda_widgets.client.job import Job

        return Job(self, instrument, product, params or {}, query_type=query_type).submit()


__all__ = [
    "Dispatcher",
    "RetryPolicy",
    "TransientFailure",
    "KNOWN_SITES",
    "new_session_id",
    "error_from_response",
    "parameter_in_message",
    "missing_roles_in_message",
    "BOOKKEEPING",
]
