"""A demo ODA dispatcher with INTEGRAL-like products, for teaching, tests and offline work.

It speaks the real dispatcher's protocol (``/instr-list``, ``/api/meta-data``, ``/api/par-names``,
``/run_analysis``, ``/resolve_name``) for three instruments — ``isgri``, ``jemx`` and ``spi_acs`` —
and builds its products from a sky of real bright hard-X-ray sources (see :mod:`.sky`), so the
official ``oda_api`` client and :class:`oda_widgets.client.Dispatcher` work against it unchanged.

>>> from oda_widgets import demo
>>> with demo.start() as server:              # doctest: +SKIP
...     print(server.url)

What to expect:

* ISGRI/JEM-X jobs go ``submitted → progress → ready → done`` over a few seconds (``speed``
  scales that), with an INTEGRAL job monitor (one report per science window and analysis node);
  SPI-ACS and ``query_type="Dummy"`` requests are ``done`` at once. The same parameters by the
  same user are the same job (``job_id``), and the same request always gives the same bytes.
* Tokens: :func:`make_token` signs HS256 JWTs with :data:`DEMO_SECRET`; roles gate the same
  parameter combinations as on the real service (``all-private`` → ``integral-private-qla``,
  more than 50 pointings → ``unige-hpc-full``, SPI-ACS ``realtime`` → ``integral-realtime``).
* Errors on demand: out-of-range energies, malformed values, unknown products, missing roles and
  expired or forged tokens answer as the real dispatcher does; ``src_name="FAIL_BACKEND"`` makes
  the backend fail (HTTP 200, ``query_status: failed``).
* The sky (:mod:`.sky`, :mod:`.history`): INTEGRAL's sky of 2002–2024 — the bright persistent
  sources, the historic transients at their real positions during their real outbursts
  (MAXI J1820+070 in 2018, V404 Cyg in 2015, Swift J1727.8-1613 in 2023, GX 339-4, ...), and
  invented new transients ``NEW_1`` near the Galactic Centre during 2017, ``NEW_2`` in Cygnus
  (June–September 2015), ``NEW_3`` near Vela X-1 (first half of 2020); SPI-ACS light curves show
  the bright GRBs of the mission at their real trigger times (GRB 221009A on 2022-10-09 at
  13:16:59.99 UTC, GRB 230307A, GRB 130427A, GRB 170817A, ...), the SGR 1806-20 giant flare and a
  synthetic burst every few hours. ``/resolve_name`` knows all of them by name and common aliases.

* Workflow instruments (:mod:`.workflows`): when nb2workflow is installed (``pip install
  'oda-widgets[workflows]'``), real nb2workflow services run notebooks behind the demo — by
  default the shipped ``multiwavelength`` instrument (a Cepheid light curve, Pleiades images, the
  SED of Mrk 421); ``workflows=[folder, ...]`` adds folders of your own (one instrument each).
  Each nb2service starts on first use of its instrument and stops with the server.

Differences from the real service: products are always in API form (the ``api`` flag is not
needed); ``/resolve_name`` knows only the demo sky and needs no role; no e-mails, no downloads.
"""

from __future__ import annotations

import logging
import os
import threading
import time

import jwt

_log = logging.getLogger("oda_widgets.demo")

#: The shared secret of the demo server's tokens (public on purpose: demo only).
DEMO_SECRET = "oda-widgets-demo-secret-not-for-production"


def make_token(
    email: str = "student@example.org", roles=("general",), ttl: float = 86400, expired: bool = False
) -> str:
    """A token the demo server accepts: ``sub``/``email`` = ``email``, ``roles`` as the
    comma-separated string MMODA issues, valid ``ttl`` seconds (already expired if ``expired``)."""
    now = int(time.time())
    roles = [roles] if isinstance(roles, str) else list(roles)
    payload = {
        "sub": email,
        "email": email,
        "name": email.split("@")[0],
        "roles": ", ".join(roles),
        "iat": now - (int(ttl) + 120 if expired else 0),
        "exp": now - 60 if expired else now + int(ttl),
        "msdone": False,
        "msfail": False,
    }
    return jwt.encode(payload, DEMO_SECRET, algorithm="HS256")


#: Worker threads that run requests; connections (idle or slow) cost no thread, only a socket.
THREADS = 8
#: Open connections accepted at once; beyond it new ones wait in the listen queue.
CONNECTION_LIMIT = 500
#: Seconds a connection may stay idle (or send a request slower than that) before it is closed.
IDLE_TIMEOUT = 30

requests_log = logging.getLogger("oda_widgets.demo.requests")


class _RequestLog:
    """WSGI middleware: one log line per request (``quiet=False``), tokens redacted."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        status: list[str] = []

        def record_status(line, headers, exc_info=None):
            status.append(line.split(" ", 1)[0])
            return start_response(line, headers, exc_info)

        try:
            return self.app(environ, record_status)
        finally:
            from oda_widgets.redaction import redact_text

            query = environ.get("QUERY_STRING") or ""
            target = environ.get("PATH_INFO", "") + (f"?{query}" if query else "")
            requests_log.info(
                "%s",
                redact_text(
                    f'{environ.get("REMOTE_ADDR", "-")} "{environ.get("REQUEST_METHOD")} {target}" '
                    f"{status[0] if status else '-'}"
                ),
            )


class DemoServer:
    """A running demo dispatcher: ``url``, ``stop()``; a context manager; ``str(server) == url``.

    Served by waitress: requests run in a fixed pool of ``THREADS`` workers, connections are
    handled asynchronously (an idle or half-open one holds no thread and is closed after
    ``IDLE_TIMEOUT`` s), bodies are read fully before a worker sees them.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        speed: float = 1.0,
        legacy_meta_data: bool = False,
        quiet: bool = True,
        workflows=None,
        shipped_workflows: bool = True,
        ontology=None,
        resolver: bool = True,
    ):
        from waitress.server import create_server

        from oda_widgets.demo.app import MAX_CONTENT_LENGTH, create_app
        from oda_widgets.demo.instruments import INSTRUMENTS
        from oda_widgets.demo.workflows import SHIPPED, Workflows
        from oda_widgets.redaction import protect_logs

        if workflows is False:
            folders: list | None = []
        elif workflows is None:
            folders = None if shipped_workflows else []
        else:
            extra = [workflows] if isinstance(workflows, (str, os.PathLike)) else list(workflows)
            folders = ([SHIPPED] if shipped_workflows else []) + extra
        #: The workflow instruments (:class:`~oda_widgets.demo.workflows.Workflows`).
        self.workflows = Workflows(folders, ontology=ontology, reserved=INSTRUMENTS)
        if self.workflows.note:
            _log.info("%s", self.workflows.note)
        protect_logs()
        if quiet:
            # waitress warns at every request that waits for a worker: normal for a demo polled by
            # many jobs, and noise in a notebook (the command line, quiet=False, keeps it)
            logging.getLogger("waitress.queue").setLevel(logging.ERROR)
        self.app = create_app(
            speed=speed, legacy_meta_data=legacy_meta_data, workflows=self.workflows, resolver=resolver
        )
        self._server = create_server(
            self.app if quiet else _RequestLog(self.app),
            host=host,
            port=port,
            threads=THREADS,
            connection_limit=CONNECTION_LIMIT,
            channel_timeout=IDLE_TIMEOUT,
            cleanup_interval=min(10, IDLE_TIMEOUT),
            # bodies past Flask's limit are answered 413 by the app; this only bounds buffering
            max_request_body_size=4 * MAX_CONTENT_LENGTH,
            asyncore_use_poll=True,
            ident="oda-widgets-demo",
            expose_tracebacks=False,
            # answers (tens of MB for a day of SPI-ACS) stay in memory, not spooled to a file
            outbuf_overflow=256 * 2**20,
        )
        self.host = host
        self.port = int(self._server.effective_port)
        self.url = f"http://{host}:{self.port}"
        self._thread: threading.Thread | None = threading.Thread(
            target=self._server.run, name=f"oda-demo-{self.port}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and release the port; stop the workflow services (idempotent)."""
        self.workflows.stop()
        if self._thread is None:
            return
        server = self._server

        def close_everything():
            # runs on the server's own thread: its loop ends once no channel is left
            for channel in list(server._map.values()):
                channel.close()

        server.trigger.pull_trigger(close_everything)
        self._thread.join(timeout=10)
        server.task_dispatcher.shutdown(timeout=5)
        self._thread = None

    def __enter__(self) -> DemoServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def __str__(self) -> str:
        return self.url

    def __repr__(self) -> str:
        state = "running" if self._thread is not None else "stopped"
        return f"<DemoServer {self.url} {state}>"


def start(
    port: int = 0,
    speed: float = 1.0,
    *,
    host: str = "127.0.0.1",
    legacy_meta_data: bool = False,
    quiet: bool = True,
    workflows=None,
    shipped_workflows: bool = True,
    ontology=None,
    resolver: bool = True,
) -> DemoServer:
    """Start a demo dispatcher in a background thread; ``port=0`` picks a free port.

    ``speed`` scales how fast ISGRI/JEM-X jobs progress (``speed=20`` finishes in well under a
    second); ``legacy_meta_data`` makes ``/api/meta-data`` speak the old JSON-string form (INTEGRAL
    instruments); ``quiet=False`` logs one line per request (logger
    ``oda_widgets.demo.requests``, INFO; tokens in query strings replaced by ``<token>``).

    Workflow instruments: ``workflows=None`` serves the shipped ones when nb2workflow is installed;
    a folder (or a list of folders) of notebooks adds one instrument per folder (named after it);
    ``workflows=False`` serves none; ``shipped_workflows=False`` leaves the shipped ones out.
    ``ontology`` names the ontology file to use instead of choosing one (see
    :func:`oda_widgets.demo.workflows.ontology.choose_ontology`). ``resolver=False`` serves no
    ``/resolve_name`` (a dispatcher without a name resolver: 404).

    The API also answers below ``/dispatch-data/`` and the root page stands for the web frontend,
    as in production (``…/mmoda/`` and ``…/mmoda/dispatch-data``), so share links made for the
    demo open with ``Job.from_url`` and ``QueryForm.set_values``.
    """
    return DemoServer(
        host=host,
        port=port,
        speed=speed,
        legacy_meta_data=legacy_meta_data,
        quiet=quiet,
        workflows=workflows,
        shipped_workflows=shipped_workflows,
        ontology=ontology,
        resolver=resolver,
    )


_DEFAULT: DemoServer | None = None
_DEFAULT_LOCK = threading.Lock()


def default_server(workflows=None) -> DemoServer:
    """The demo dispatcher shared by every widget of this process, started on first use.

    Forms and the Explorer use it when no dispatcher URL is given, so a notebook runs offline
    with one server however many widgets it makes; it stops when the process exits.
    ``workflows`` (as for :func:`start`) applies when this call starts the server.
    """
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None or _DEFAULT._thread is None:
            import atexit

            _DEFAULT = start(workflows=workflows)
            atexit.register(_DEFAULT.stop)
        return _DEFAULT


__all__ = ["start", "default_server", "make_token", "DEMO_SECRET", "DemoServer"]
