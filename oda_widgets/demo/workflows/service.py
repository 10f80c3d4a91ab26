"""An nb2service process serving one folder of workflow notebooks, on a free 127.0.0.1 port.

:class:`WorkflowService` starts ``nb2service`` (from the ``nb2workflow[service]`` package, in this
Python environment) on first use or when :meth:`WorkflowService.start_in_background` asks for it,
waits until its ``/api/v1.0/options`` answers, and stops it (SIGTERM, then SIGKILL) with its
kernels and scratch directory. Its environment makes it work offline: the chosen ontology file
(``ODA_ONTOLOGY_PATH``) with a ``sitecustomize`` that hands it to ``oda_api`` before nb2workflow
would fetch the ontology from the network, a private ``TMPDIR`` for job directories, the Agg
matplotlib backend, and this environment's Jupyter kernel first on the kernel search path.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests

from oda_widgets.errors import DispatcherUnavailable

__all__ = ["WorkflowService", "nb2workflow_available", "ENABLE_HINT", "SITE_DIR"]

log = logging.getLogger("oda_widgets.demo")

#: What to install for workflow instruments.
ENABLE_HINT = "pip install 'oda-widgets[workflows]'"
#: Folder put on nb2service's PYTHONPATH (its ``sitecustomize`` seeds the ontology).
SITE_DIR = Path(__file__).with_name("site")
#: How long nb2service may take to answer after it was started.
START_TIMEOUT = 120.0
#: Largest nb2service response read (products of a job included).
MAX_RESPONSE_BYTES = 256 * 1024 * 1024


def nb2workflow_available() -> bool:
    """True when nb2workflow (with its service extra) is importable in this environment."""
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in ("nb2workflow", "flasgger", "flask_caching"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WorkflowService:
    """One nb2service process over ``folder`` (each notebook there is a product)."""

    def __init__(self, folder: str | os.PathLike, ontology_path, *, workers: int = 2):
        """``ontology_path``: the ontology file, or a callable giving it when the service starts."""
        self.folder = Path(folder).resolve()
        self._ontology_path = ontology_path
        self.workers = workers
        self.url: str | None = None
        self.started_in: float | None = None  # seconds from launch to the first answer
        self._proc: subprocess.Popen | None = None
        self._scratch: Path | None = None
        self._log = None
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._options: dict | None = None
        self._session = requests.Session()
        self._stopped = False

    # -- life cycle ----------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start_in_background(self) -> None:
        """Start the process now without waiting for it (a server warming up at start)."""
        threading.Thread(target=self._start_quietly, name="nb2service-start", daemon=True).start()

    def _start_quietly(self) -> None:
        with contextlib.suppress(Exception):
            self.ensure_started()

    def ensure_started(self) -> str:
        """The service's URL, starting it first if needed (blocks up to :data:`START_TIMEOUT` s)."""
        with self._lock:
            if self._stopped:
                raise DispatcherUnavailable("the workflow service was stopped with the demo server")
            if self._ready.is_set() and self.running:
                return self.url  # type: ignore[return-value]
            if self._error is not None and not self.running:
                self._error = None  # the previous attempt failed: try again
            self._launch()
            return self.url  # type: ignore[return-value]

    def _launch(self) -> None:
        ontology = self._ontology_path() if callable(self._ontology_path) else self._ontology_path
        if self._stopped:
            raise DispatcherUnavailable("the workflow service was stopped with the demo server")
        port = _free_port()
        self._scratch = Path(tempfile.mkdtemp(prefix="oda-demo-nb2service-"))
        self._log = open(self._scratch / "nb2service.log", "wb")
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(SITE_DIR), env.get("PYTHONPATH", "")) if p)
        env["ODA_ONTOLOGY_PATH"] = str(Path(ontology).resolve())
        env["TMPDIR"] = str(self._scratch)
        env["MPLBACKEND"] = "Agg"
        # This environment's python3 kernel before a user's own kernel specs.
        env["JUPYTER_PATH"] = os.pathsep.join(
            p for p in (str(Path(sys.prefix) / "share" / "jupyter"), env.get("JUPYTER_PATH", "")) if p
        )
        env.pop("ODA_TOKEN", None)  # the demo's notebooks need no token; keep it out of their logs
        # nb2service through a small watcher that ends it if this process dies without stopping it.
        cmd = [sys.executable, str(SITE_DIR / "oda_demo_nb2service.py")]
        cmd += [
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--async-workers",
            str(self.workers),
            str(self.folder),
        ]
        t0 = time.monotonic()
        self._proc = subprocess.Popen(
            cmd,
            cwd=self._scratch,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its kernels are in its process group: stopped together
        )
        self.url = f"http://127.0.0.1:{port}"
        deadline = t0 + START_TIMEOUT
        while True:
            if self._stopped:
                self._terminate()
                raise DispatcherUnavailable("the workflow service was stopped with the demo server")
            if self._proc.poll() is not None:
                self._error = DispatcherUnavailable(
                    f"nb2service exited at start (code {self._proc.returncode}): {self.log_tail()}"
                )
                raise self._error
            try:
                r = self._session.get(f"{self.url}/api/v1.0/options", timeout=5)
                if r.status_code == 200:
                    self._options = r.json()
                    break
            except (requests.RequestException, ValueError):
                pass
            if time.monotonic() > deadline:
                self._terminate()
                self._error = DispatcherUnavailable(f"nb2service did not answer within {START_TIMEOUT:.0f} s")
                raise self._error
            time.sleep(0.2)
        self.started_in = time.monotonic() - t0
        self._ready.set()
        log.info("nb2service for %s ready at %s in %.1f s", self.folder.name, self.url, self.started_in)

    def log_tail(self, n: int = 3000) -> str:
        """The end of nb2service's log (for error messages)."""
        if self._scratch is None:
            return ""
        try:
            return (self._scratch / "nb2service.log").read_bytes()[-n:].decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self) -> None:
        """Stop nb2service and its kernels; remove its job directories (idempotent)."""
        self._stopped = True
        proc = self._proc
        if proc is not None and proc.poll() is None:
            # Signalled before taking the lock, so a start still waiting for the answer ends now.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGTERM)
        with self._lock:
            self._stopped = True
            self._terminate()

    def _terminate(self) -> None:
        proc, self._proc = self._proc, None
        self._ready.clear()
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None
        self._session.close()
        self._session = requests.Session()

    # -- the API -------------------------------------------------------------------------------

    def options(self) -> dict:
        """``/api/v1.0/options``: per product ``parameters`` and ``output`` declarations."""
        self.ensure_started()
        assert self._options is not None
        return self._options

    def get(
        self, product: str, params: dict[str, Any], callback: str | None = None, timeout: float = 60.0
    ) -> requests.Response:
        """One asynchronous ``/api/v1.0/get/<product>`` request (201 submitted/started, 200 done);
        nb2service calls ``callback`` (with ``action=progress``, then ``action=done``) for a new job."""
        url = self.ensure_started()
        query = {k: _wire(v) for k, v in params.items()}
        query["_async_request"] = "yes"
        if callback:
            query["_async_request_callback"] = callback
        r = self._session.get(f"{url}/api/v1.0/get/{product}", params=query, timeout=timeout, stream=True)
        size = int(r.headers.get("Content-Length") or 0)
        if size > MAX_RESPONSE_BYTES:
            r.close()
            raise DispatcherUnavailable(
                f"nb2service sent {size} bytes for {product}: more than the demo accepts"
            )
        r._content = r.raw.read(MAX_RESPONSE_BYTES + 1, decode_content=True)
        if len(r._content) > MAX_RESPONSE_BYTES:
            raise DispatcherUnavailable(f"nb2service sent more than {MAX_RESPONSE_BYTES} bytes for {product}")
        return r

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<WorkflowService {self.folder} {self.url or ''} {state}>"


def _wire(value: Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)
