"""The real dispatcher as a test peer (cdci-data-analysis 1.3.3 in ``.venv-dispatcher``, see
../shared/REAL_DISPATCHER.md): its process, a free port, and tokens it accepts. ``tests/conftest.py``
turns it into the ``real_dispatcher`` fixture; tests import ``real_token``/``free_port`` from here
(never from a conftest: that name is ambiguous between test folders)."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import warnings
from pathlib import Path

import jwt
import requests
from shared_data import ROOT

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
    claims = {"sub": sub, "email": sub, "name": "Test User", "roles": roles, "exp": int(time.time() + ttl)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyJWT dislikes the short public test secret
        return jwt.encode(claims, REAL_SECRET, algorithm="HS256")


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
