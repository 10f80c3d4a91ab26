"""One HTTP exchange with a dispatcher, bounded in time and size, with typed failures.

``Transport.exchange`` sends one request and reads the whole answer under three bounds:

* a **deadline** for the exchange as a whole — connecting, sending, the status line, the headers
  and every byte of the body. ``requests``' own ``timeout`` only bounds each socket read, so a
  server trickling a byte a second would hold a caller (a notebook cell, a polling thread)
  forever; here every socket read of the answer is given what is left of the deadline;
* a **size cap** on the body, counted as it streams (after gzip decoding): an answer announcing
  more is refused before reading it, one that goes on past the cap is dropped there, so a huge
  answer never sits in memory whole;
* **redirects** are followed only for ``GET`` and only to the same host (an ``http`` → ``https``
  upgrade of the same host included), at most a few hops within the same deadline; anything else
  (another host, ``file:``, ``gopher:``, a malformed ``Location``) is reported, never followed.

Whatever ``requests``/``urllib3`` raise becomes :class:`TransientFailure` (the dispatcher may be
back soon: refused connections, silent servers) or a typed :class:`~oda_widgets.errors.OdaError`
(a bad gzip body, a TLS failure, a body past the cap...). No raw ``requests`` exception escapes.

Creating a ``Transport`` also keeps tokens out of logs (:func:`oda_widgets.redaction.protect_logs`:
urllib3 logs every request line, query string included, at DEBUG level).
"""

from __future__ import annotations

import socket
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.cookies import extract_cookies_to_jar
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.response import HTTPResponse

from oda_widgets.errors import DispatcherUnavailable, Redirected, ResponseTooLarge, ServerError
from oda_widgets.redaction import protect_logs, redact_text, remember_token

__all__ = [
    "Transport",
    "Answer",
    "TransientFailure",
    "BoundedAdapter",
    "remember_token",
    "DEFAULT_DEADLINE",
    "DEFAULT_MAX_BODY",
    "CATALOGUE_DEADLINE",
    "CATALOGUE_MAX_BODY",
]

#: Seconds one exchange may take in all, by default (a mosaic answer is tens of MB).
DEFAULT_DEADLINE = 300.0
#: Largest answer accepted by default (bytes after decoding): the largest legitimate one is a
#: light curve of MAX_LIGHT_CURVE_BINS (12 M) bins, about 520 MB of JSON; more is refused with
#: ``ResponseTooLarge`` (``Dispatcher(max_response_bytes=)`` changes it).
DEFAULT_MAX_BODY = 768 * 2**20
#: The catalogue endpoints (instrument list, descriptions, parameter names, name resolver) answer
#: a few kB to a few hundred kB: they get tighter bounds than product answers.
CATALOGUE_DEADLINE = 60.0
CATALOGUE_MAX_BODY = 16 * 2**20
#: Redirect hops followed for one GET.
MAX_REDIRECTS = 5
_CHUNK = 64 * 1024
_REDIRECT_STATUS = frozenset({301, 302, 303, 307, 308})


class TransientFailure(Exception):
    """One attempt that did not reach a working dispatcher; ``reason`` is readable.

    ``retry`` says whether trying again soon makes sense (a refused connection does; an answer
    that did not complete within its deadline is not retried by a waiting caller).
    """

    def __init__(self, reason: str, status_code: int | None = None, *, retry: bool = True):
        super().__init__(reason)
        self.reason = reason
        self.status_code = status_code
        self.retry = retry


@dataclass
class Answer:
    """What a dispatcher answered: status, headers and the whole body (``content``)."""

    status_code: int
    reason: str
    headers: Mapping[str, str]
    content: bytes
    url: str
    #: the URLs of the redirects followed on the way, first first
    history: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    @property
    def path(self) -> str:
        """The path that answered (no query string, so no token)."""
        return urlsplit(self.url).path

    def __repr__(self) -> str:
        # never the URL's query string (the token) nor megabytes of body
        return f"<Answer HTTP {self.status_code} {self.path}, {len(self.content)} bytes>"


# -- the deadline, enforced on every socket read of an answer ------------------------------------


class _Deadline:
    """The end of one exchange (``time.monotonic()``); ``expired`` once a read ran into it."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.end = time.monotonic() + seconds
        self.expired = False

    def left(self) -> float:
        return self.end - time.monotonic()


_current = threading.local()


class _DeadlineSocket:
    """The connection's socket as http.client sees it while reading an answer: its ``makefile``
    gives a reader whose every ``recv`` may wait only for what is left of the deadline."""

    def __init__(self, sock: socket.socket, deadline: _Deadline):
        self._sock = sock
        self._deadline = deadline

    def makefile(self, *args: Any, **kwargs: Any) -> Any:
        f = self._sock.makefile(*args, **kwargs)
        raw = getattr(f, "raw", None)
        if raw is None or not hasattr(raw, "readinto"):
            return f
        read_timeout = self._sock.gettimeout()
        sock, deadline, plain_readinto = self._sock, self._deadline, raw.readinto

        def readinto(buffer: Any) -> Any:
            left = deadline.left()
            if left <= 0:
                deadline.expired = True
                raise TimeoutError(f"the answer did not complete within {deadline.seconds:g} s")
            sock.settimeout(left if read_timeout is None else min(read_timeout, left))
            try:
                return plain_readinto(buffer)
            except TimeoutError:
                if deadline.left() <= 0:
                    deadline.expired = True
                raise

        raw.readinto = readinto
        return f

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def _with_deadline(conn: HTTPConnection, getresponse: Callable[[], HTTPResponse]) -> HTTPResponse:
    """``getresponse()`` of ``conn`` reading through :class:`_DeadlineSocket` when the exchange on
    this thread has a deadline."""
    deadline = getattr(_current, "deadline", None)
    real = conn.sock
    if deadline is None or real is None:
        return getresponse()
    proxy = _DeadlineSocket(real, deadline)
    setattr(conn, "sock", proxy)  # noqa: B010  (a stand-in object, not a socket, for one call)
    try:
        return getresponse()
    finally:
        if conn.sock is proxy:
            conn.sock = real


# urllib3's connections return urllib3's response from getresponse (and say so the same way)
class _BoundedHTTPConnection(HTTPConnection):
    def getresponse(self) -> HTTPResponse:  # type: ignore[override]
        return _with_deadline(self, super().getresponse)


class _BoundedHTTPSConnection(HTTPSConnection):
    def getresponse(self) -> HTTPResponse:  # type: ignore[override]
        return _with_deadline(self, super().getresponse)


class _BoundedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _BoundedHTTPConnection


class _BoundedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _BoundedHTTPSConnection


_POOLS = {"http": _BoundedHTTPPool, "https": _BoundedHTTPSPool}


class BoundedAdapter(HTTPAdapter):
    """``requests`` adapter whose connections read answers within the exchange's deadline.

    Mount it on a ``requests.Session`` for ``http://`` and ``https://`` (``Transport`` does so on
    the session it is given); the pool options are ``HTTPAdapter``'s.
    """

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_POOLS)

    def proxy_manager_for(self, proxy: Any, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if hasattr(manager, "pool_classes_by_scheme"):
            manager.pool_classes_by_scheme = dict(_POOLS)
        return manager


# -- the exchange ----------------------------------------------------------------------------------


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80)
    return scheme, (parts.hostname or "").lower(), port


def _describe_connection_error(exc: Exception) -> str:
    text = str(exc)
    low = text.lower()
    if "refused" in low:
        return "connection refused"
    if "RemoteDisconnected" in text or "aborted" in low or "reset" in low:
        return "connection dropped by the server"
    if "resolve" in low or "Name or service not known" in text:
        return "host name not found"
    return "connection failed"


class Transport:
    """Exchanges with one dispatcher over a ``requests.Session``, bounded in time and size.

    ``read_timeout`` bounds the wait for any one byte (a silent server: a ``TransientFailure``,
    worth retrying); ``deadline`` the whole exchange; ``max_body`` the decoded answer.
    """

    def __init__(
        self,
        session: requests.Session | None = None,
        *,
        read_timeout: float = 120.0,
        deadline: float = DEFAULT_DEADLINE,
        max_body: int = DEFAULT_MAX_BODY,
    ):
        if not deadline > 0 or not read_timeout > 0:
            raise ValueError("deadline and read_timeout must be positive")
        if int(max_body) < 1:
            raise ValueError("max_body must be at least one byte")
        self.session = session or requests.Session()
        self.read_timeout = float(read_timeout)
        self.deadline = float(deadline)
        self.max_body = int(max_body)
        _bound(self.session)
        protect_logs()

    def exchange(
        self,
        method: str,
        url: str,
        *,
        params: Any = None,
        data: Any = None,
        follow_redirects: bool = False,
        deadline: float | None = None,
        max_body: int | None = None,
    ) -> Answer:
        """Send one request and read the whole answer (any status).

        Raises ``TransientFailure`` when no working dispatcher answered (refused, dropped, silent
        for ``read_timeout``, or not done within the deadline: then ``retry`` is False),
        ``Redirected`` for a redirect it will not follow, ``ResponseTooLarge`` past the cap,
        ``ServerError``/``DispatcherUnavailable`` for answers that cannot be read.
        """
        limit = _Deadline(min(self.deadline, deadline) if deadline else self.deadline)
        cap = min(self.max_body, max_body) if max_body else self.max_body
        history: list[str] = []
        origin = _origin(url)
        while True:
            answer = self._one(method, url, params, data, limit, cap, history)
            if not (follow_redirects and method == "GET" and answer.status_code in _REDIRECT_STATUS):
                answer.history = history
                return answer
            location = answer.headers.get("Location")
            if not location:
                answer.history = history
                return answer  # the caller reports a redirect to nowhere
            target = self._redirect_target(url, location, origin, answer.status_code)
            history.append(url)
            if len(history) > MAX_REDIRECTS:
                raise Redirected(
                    f"The dispatcher at {redact_text(history[0])} redirected more than {MAX_REDIRECTS} "
                    "times; not followed further.",
                    location=redact_text(target),
                    status_code=answer.status_code,
                )
            url, params, data = target, None, None

    @staticmethod
    def _redirect_target(url: str, location: str, origin: tuple[str, str, int], status: int) -> str:
        shown = redact_text(location)[:300]
        try:
            target = urljoin(url, location.strip())
            scheme, host, port = _origin(target)
        except ValueError:
            raise Redirected(
                f"The dispatcher answered HTTP {status} with a malformed Location ({shown!r}); not followed.",
                location=shown,
                status_code=status,
            ) from None
        if scheme not in ("http", "https") or not host:
            raise Redirected(
                f"The dispatcher redirects to {shown!r}, which is not an http(s) address; not followed.",
                location=shown,
                status_code=status,
            )
        o_scheme, o_host, o_port = origin
        same = host == o_host and (
            (scheme, port) == (o_scheme, o_port) or (o_scheme == "http" and scheme == "https" and port == 443)
        )
        if not same:
            # The token may sit in the query string: never send it to another host (or in clear).
            raise Redirected(
                f"The dispatcher redirects to another address ({redact_text(target)[:300]}); not followed. "
                "If the dispatcher has moved, use that address as the dispatcher URL.",
                location=redact_text(target),
                status_code=status,
            )
        return target

    def _one(
        self, method: str, url: str, params: Any, data: Any, limit: _Deadline, cap: int, history: list[str]
    ) -> Answer:
        left = limit.left()
        if left <= 0:
            raise TransientFailure(f"the answer did not complete within {limit.seconds:g} s", retry=False)
        _current.deadline = limit
        resp = None
        try:
            try:
                resp = self._send(
                    method, url, params, data, (min(self.read_timeout, left), self.read_timeout)
                )
                content = self._read(resp, cap, url)
            except requests.exceptions.SSLError as exc:
                raise DispatcherUnavailable(
                    f"The secure connection to {redact_text(url)} failed: {redact_text(str(exc))[:300]}"
                ) from None
            except (
                requests.Timeout,
                requests.ConnectionError,
                requests.exceptions.ChunkedEncodingError,
                TimeoutError,
                ConnectionError,
            ) as exc:
                if limit.expired or limit.left() <= 0:
                    raise TransientFailure(
                        f"the answer did not complete within {limit.seconds:g} s", retry=False
                    ) from None
                if isinstance(exc, (requests.Timeout, TimeoutError)):
                    raise TransientFailure(f"no answer within {self.read_timeout:g} s") from None
                raise TransientFailure(_describe_connection_error(exc)) from None
            except requests.exceptions.ContentDecodingError:
                raise ServerError(
                    f"The dispatcher at {redact_text(url)} sent a compressed answer that does not decompress "
                    "(bad gzip/deflate data)."
                ) from None
            except (requests.RequestException, ValueError, UnicodeError) as exc:
                raise ServerError(
                    f"The exchange with {redact_text(url)} failed: {type(exc).__name__}: "
                    f"{redact_text(str(exc))[:300]}"
                ) from None
        finally:
            _current.deadline = None
            if resp is not None:
                resp.close()
        return Answer(
            status_code=resp.status_code,
            reason=resp.reason or "",
            headers=dict(resp.headers),
            content=content,
            url=resp.url or url,
            history=list(history),
        )

    def _send(
        self, method: str, url: str, params: Any, data: Any, timeout: tuple[float, float]
    ) -> requests.Response:
        """``Session.request`` without its redirect machinery: even when told not to follow,
        ``Session.send`` parses the ``Location`` of a 30x (and raises on a malformed one)."""
        session = self.session
        prepared = session.prepare_request(requests.Request(method, url, params=params, data=data))
        target = prepared.url or url
        settings = session.merge_environment_settings(target, {}, True, None, None)
        adapter = session.get_adapter(target)
        resp = adapter.send(prepared, timeout=timeout, **settings)
        extract_cookies_to_jar(session.cookies, prepared, resp.raw)
        return resp

    @staticmethod
    def _read(resp: requests.Response, cap: int, url: str) -> bytes:
        if resp.status_code in _REDIRECT_STATUS:
            cap = min(cap, 64 * 1024)  # a redirect's body is never needed
        announced = resp.headers.get("Content-Length")
        if announced and announced.strip().isdigit() and int(announced) > cap:
            raise ResponseTooLarge(
                f"The dispatcher's answer ({_size(int(announced))}) is larger than the "
                f"{_size(cap)} accepted (max_response_bytes); refused unread.",
                limit=cap,
                received=0,
            )
        chunks: list[bytes] = []
        total = 0
        for chunk in resp.iter_content(_CHUNK):
            total += len(chunk)
            if total > cap:
                if resp.status_code in _REDIRECT_STATUS:
                    break
                chunks.clear()
                raise ResponseTooLarge(
                    f"The dispatcher's answer from {urlsplit(url).path} went on past the {_size(cap)} "
                    "accepted (max_response_bytes); dropped there.",
                    limit=cap,
                    received=total,
                )
            chunks.append(chunk)
        return b"".join(chunks)


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    value = float(n)
    for unit in ("KiB", "MiB", "GiB"):
        value /= 1024
        if value < 1024 or unit == "GiB":
            break
    return f"{value:.0f} {unit}"


_bounded_sessions: weakref.WeakSet[requests.Session] = weakref.WeakSet()


def _bound(session: requests.Session) -> None:
    """Mount ``BoundedAdapter`` on ``session`` (keeping the pool sizes of adapters already there)."""
    if session in _bounded_sessions:
        return
    for prefix in ("http://", "https://"):
        old = session.adapters.get(prefix)
        if isinstance(old, BoundedAdapter):
            continue
        if isinstance(old, HTTPAdapter):
            adapter = BoundedAdapter(
                pool_connections=int(getattr(old, "_pool_connections", 10)),
                pool_maxsize=int(getattr(old, "_pool_maxsize", 10)),
                pool_block=bool(getattr(old, "_pool_block", False)),
            )
        else:
            adapter = BoundedAdapter()
        session.mount(prefix, adapter)
    _bounded_sessions.add(session)
