"""What the benchmark scripts share: a demo dispatcher process, and JupyterLab + Chromium for the
browser timings. Not a test helper: benchmarks print figures, they assert nothing."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "browser"))
from helpers import ALL_EXECUTED, KERNEL_READY  # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
]
LAB_TOKEN = "oda-widgets-benchmark"

WS_COUNTER = """
(() => {
  const Native = window.WebSocket;
  window.__wsBytes = { rx: 0 };
  const size = (d) => typeof d === 'string' ? d.length : (d.byteLength !== undefined ? d.byteLength : (d.size || 0));
  class Counted extends Native {
    constructor(...a) { super(...a); this.addEventListener('message', (ev) => { window.__wsBytes.rx += size(ev.data); }); }
  }
  window.WebSocket = Counted;
})();
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_demo(speed: float) -> tuple[subprocess.Popen, str]:
    """``python -m oda_widgets.demo`` on a free port; returns the process and its URL once it answers."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "oda_widgets.demo", "--port", str(port), "--speed", str(speed)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the demo dispatcher exited at start")
        try:
            with urllib.request.urlopen(url + "/instr-list", timeout=2):
                return proc, url
        except OSError:
            time.sleep(0.2)
    proc.terminate()
    raise RuntimeError("the demo dispatcher did not answer within 60 s")


class Lab:
    """JupyterLab of this interpreter on 127.0.0.1 and a free port, in a temporary root."""

    def __init__(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="oda-bench-"))
        self.root = self.tmp / "root"
        self.root.mkdir()
        cfg = self.tmp / "cfg"
        (cfg / "labconfig").mkdir(parents=True)
        (cfg / "labconfig" / "page_config.json").write_text(
            json.dumps(
                {
                    "disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True},
                    # a source-only lab extension in the venv (dash's, from the benchmark peer
                    # plotly-resampler) must not open Lab's modal "Build recommended" dialog
                    "buildCheck": False,
                    "buildAvailable": False,
                }
            )
        )
        env = {
            **os.environ,
            "JUPYTER_CONFIG_DIR": str(cfg),
            "JUPYTER_RUNTIME_DIR": str(self.tmp / "rt"),
            "JUPYTER_PLATFORM_DIRS": "1",
            "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
        }
        env.pop("ODA_TOKEN", None)
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.log = open(self.tmp / "lab.log", "w")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyterlab",
                "--no-browser",
                "--allow-root",
                "--ServerApp.ip=127.0.0.1",
                f"--ServerApp.port={port}",
                "--ServerApp.port_retries=0",
                f"--IdentityProvider.token={LAB_TOKEN}",
                f"--ServerApp.root_dir={self.root}",
                "--LabApp.expose_app_in_browser=True",
                "--LabApp.news_url=None",
                "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                "--LabApp.extension_manager=readonly",
                f"--LabApp.workspaces_dir={self.tmp / 'ws'}",
            ],
            env=env,
            cwd=self.root,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{self.base}/api/status?token={LAB_TOKEN}", timeout=2):
                    break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((self.tmp / "lab.log").read_text()[-2000:]) from None
                time.sleep(0.2)

    def notebook(self, *cells: str) -> str:
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        name = f"bench-{uuid.uuid4().hex[:8]}.ipynb"
        nbformat.write(nb, self.root / name)
        return name

    def close_sessions(self):
        req = urllib.request.Request(
            f"{self.base}/api/sessions", headers={"Authorization": f"token {LAB_TOKEN}"}
        )
        with urllib.request.urlopen(req, timeout=10) as r:
            sessions = json.loads(r.read())
        for s in sessions:
            urllib.request.urlopen(
                urllib.request.Request(
                    f"{self.base}/api/sessions/{s['id']}",
                    method="DELETE",
                    headers={"Authorization": f"token {LAB_TOKEN}"},
                ),
                timeout=10,
            ).close()

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def open_notebook(page, lab: Lab, name: str) -> float:
    """Open and run ``name``; return the websocket bytes received before running its cells."""
    page.goto(f"{lab.base}/lab/tree/{name}?reset&token={LAB_TOKEN}")
    page.wait_for_function(KERNEL_READY, timeout=120_000)
    page.wait_for_timeout(500)
    rx0 = page.evaluate("() => window.__wsBytes.rx")
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function(ALL_EXECUTED, timeout=300_000)
    return rx0


@contextlib.contextmanager
def lab_page(*init_scripts: str):
    """``(lab, page)``: a JupyterLab server and a Chromium page on it that counts the websocket bytes
    it receives (``window.__wsBytes.rx``) and runs ``init_scripts`` before any page script."""
    from playwright.sync_api import sync_playwright

    lab = Lab()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            for script in (WS_COUNTER, *init_scripts):
                page.add_init_script(script)
            yield lab, page
            browser.close()
    finally:
        lab.stop()
