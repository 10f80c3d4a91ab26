"""Shared peers for the tests: our demo dispatcher and the real dispatcher, both real HTTP servers;
the shared data (``shared``/``samples``/``captures`` fixtures, ``$ODA_WIDGETS_SHARED``); and the
markers a test gets from the fixtures it uses (``real_dispatcher``, ``browser``), so
``-m "not real_dispatcher"`` really runs without that server."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import jwt
import pytest
import requests
from shared_data import CAPTURES, ROOT, SAMPLES, SHARED, SHARED_ONTOLOGY, WORKFLOW_RUNS

DISPATCHER_VENV = Path(os.environ.get("ODA_DISPATCHER_VENV", ROOT / ".venv-dispatcher"))
REAL_SECRET = "secretkey_test"

_CONF = """\
dispatcher:
    dummy_cache: dummy-cache
    products_url: http://127.0.0.1:{port}/products
    dispatcher_callback_url_base: http://127.0.0.1:{port}
    sentry_url:
    logstash_host:
    logstash_port:
    secret_key: '{secret}'
    bind_options: {{bind_host: 127.0.0.1, bind_port: {port}}}
    email_options: {{smtp_server: '127.0.0.1', smtp_port: 61025, smtp_server_password: '',
        sender_email_address: 'nobody@localhost', cc_receivers_email_addresses: [],
        bcc_receivers_email_addresses: [], email_sending_timeout: False,
        email_sending_timeout_default_threshold: 1800, email_sending_job_submitted: False,
        email_sending_job_submitted_default_interval: 60, sentry_for_email_sending_check: False}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def real_token(sub: str = "tester@example.org", roles: str = "general", ttl: float = 3600) -> str:
    """An HS256 JWT the real test dispatcher accepts (signed with its public test secret)."""
    return jwt.encode(
        {"sub": sub, "email": sub, "name": "Test User", "roles": roles, "exp": int(time.time() + ttl)},
        REAL_SECRET,
        algorithm="HS256",
    )


class RealDispatcher:
    """A running cdci-data-analysis 1.3.3 process (its own venv) in a temporary state directory."""

    def __init__(self, rundir: Path, multithread: bool = False):
        self.rundir = rundir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        conf = rundir / "conf.yml"
        conf.write_text(_CONF.format(port=self.port, secret=REAL_SECRET))
        py = DISPATCHER_VENV / "bin" / "python"
        script = DISPATCHER_VENV / "bin" / "run_osa_cdci_server.py"
        if not script.exists():
            raise RuntimeError(
                f"the real dispatcher is not installed in {DISPATCHER_VENV}: run .ci/run "
                "(it creates that venv per ../shared/REAL_DISPATCHER.md)"
            )
        cmd = [str(py), str(script), "-conf_file", str(conf)] + (["-multithread"] if multithread else [])
        self.log_path = rundir / "dispatcher.log"
        self._log = open(self.log_path, "w")
        env = {**os.environ, "DISPATCHER_DEBUG_MODE": "yes"}
        self.proc = subprocess.Popen(cmd, cwd=rundir, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("real dispatcher exited:\n" + self.log_path.read_text()[-3000:])
            try:
                if (
                    requests.get(
                        f"{self.url}/api/instr-list", params={"instrument": "mock"}, timeout=2
                    ).status_code
                    == 200
                ):
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("real dispatcher did not answer within 60 s")
            time.sleep(0.2)

    def set_backend_state(self, state: str | None) -> None:
        """Drive the `empty-async` instrument's backend (absent file = submitted)."""
        f = self.rundir / "DataServerQuery-status.state"
        if state is None:
            f.unlink(missing_ok=True)
        else:
            f.write_text(state)

    def call_back(self, job_id: str, session_id: str, action: str, **extra) -> None:
        params = {
            "job_id": job_id,
            "session_id": session_id,
            "instrument_name": "empty-async",
            "action": action,
            "node_id": extra.pop("node_id", "node_0"),
            "message": extra.pop("message", action),
            **extra,
        }
        r = requests.get(f"{self.url}/call_back", params=params, timeout=10)
        r.raise_for_status()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self._log.close()


@pytest.fixture(scope="module")
def real_dispatcher(tmp_path_factory):
    """The real dispatcher 1.3.3 on 127.0.0.1 (fresh state per test module)."""
    server = RealDispatcher(tmp_path_factory.mktemp("real-dispatcher"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def demo_dispatcher():
    """URL of an in-process demo dispatcher (fast jobs) shared by the session."""
    from oda_widgets import demo

    server = demo.start(speed=20.0)
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def workflow_demo():
    """The demo dispatcher in front of one real nb2service running the shipped workflow notebooks,
    shared by the session (tests/workflows, the products and browser tests of workflow products)."""
    from oda_widgets import demo

    t0 = time.monotonic()
    server = demo.start(ontology=SHARED_ONTOLOGY)
    service = server.workflows["optical_photometry"].service
    service.ensure_started()
    print(f"\nnb2service ready in {service.started_in:.1f} s ({time.monotonic() - t0:.1f} s with the demo)")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def workflow_jobs(workflow_demo):
    """The runs of ``WORKFLOW_RUNS``, submitted together once per session so they share the two
    cores; each job records the states it went through (``job.seen``). Later requests with the
    same values are answered from these jobs (and nb2service's cache), at no notebook run."""
    from oda_widgets.client import Dispatcher

    disp = Dispatcher(workflow_demo.url)
    out = {}
    for key, (instrument, product, params) in WORKFLOW_RUNS.items():
        job = disp.submit(instrument, product, params)
        job.seen = [job.state.value]
        job.observe(lambda j: j.seen.append(j.state.value) if j.seen[-1] != j.state.value else None)
        job.submitted_at_wall = time.monotonic()
        out[key] = job
    return out


def _run_in_fresh_thread(coro):
    """``asyncio.run(coro)`` on a thread of its own. Playwright's sync API (the browser tests) leaves
    an event loop marked as running on the main thread for the rest of the session, where
    ``asyncio.run`` would refuse to start; a fresh thread has no loop."""
    import asyncio
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="run-async") as pool:
        return pool.submit(asyncio.run, coro).result()


@pytest.fixture
def run_async():
    """``run_async(coro)``: run a coroutine to completion in a new event loop and return its result."""
    return _run_in_fresh_thread


@pytest.fixture(scope="session")
def shared() -> Path:
    """The shared data folder (``$ODA_WIDGETS_SHARED``, else ``shared/`` beside the repository)."""
    assert SHARED.is_dir(), f"{SHARED} is missing: put the project's shared/ beside the repository"
    return SHARED


@pytest.fixture(scope="session")
def samples(shared) -> Path:
    """Real INTEGRAL sample files."""
    assert SAMPLES.is_dir(), SAMPLES
    return SAMPLES


@pytest.fixture(scope="session")
def captures(shared) -> Path:
    """Captured responses of real dispatchers."""
    assert CAPTURES.is_dir(), CAPTURES
    return CAPTURES


#: A test that uses one of these fixtures (directly or through another) gets the marker.
MARKER_FIXTURES = {
    "real_dispatcher": {"real_dispatcher"},
    "browser": {"page", "browser", "context", "jupyter_server", "make_notebook"},
}


def pytest_collection_modifyitems(items):
    """Markers from the fixtures a test uses; then browser tests last: the quick layers report
    first, and the session-long Playwright instance starts only after them."""
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        for marker, fixtures in MARKER_FIXTURES.items():
            if used & fixtures and marker not in item.keywords:
                item.add_marker(getattr(pytest.mark, marker))
    items.sort(key=lambda item: "browser" in item.keywords)
