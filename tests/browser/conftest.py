"""Browser-test peers: JupyterLab in a subprocess, driven through Debian's Chromium by pytest-playwright.

Fixtures offered to every browser test:

* ``jupyter_server`` (session): a real JupyterLab on 127.0.0.1 and a free port, started with this
  interpreter (``sys.executable -m jupyterlab``) so kernels run the project venv and ``import oda_widgets``
  works. A dict ``{"base", "token", "root"}``; ``root`` is the server's notebook directory (a tmp dir).
* ``make_notebook(*cells, name=None, source=None)``: writes a uniquely named notebook (kernelspec set, so
  Lab never asks for a kernel) into ``root`` and returns its file name; ``source=`` copies an existing
  notebook without its saved outputs (cells appended after it). Its kernel sessions are deleted afterwards.
* ``page`` (pytest-playwright) runs in ``/usr/bin/chromium`` with the closed-network flags, 1400×1000.

Helpers (``open_and_run``, ``page_errors``, ``screenshot``) live in ``tests/browser/helpers.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import nbformat
import pytest
from helpers import lab_api
from peers import free_port

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# --no-sandbox: CI runs as root; the background/component/sync flags keep Chromium off the closed network.
CHROMIUM_ARGS = [
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
# The Lab server's own access token (a local test server, not an ODA token).
LAB_TOKEN = "oda-widgets-browser-tests"
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def pytest_collection_modifyitems(items):
    """Everything under tests/browser is a browser test, whether or not the author marked it."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (or set CHROMIUM_PATH)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1400, "height": 1000}}


def _status(url: str) -> int:
    with urllib.request.urlopen(url, timeout=2) as r:
        return r.status


@pytest.fixture(scope="session")
def jupyter_server(tmp_path_factory):
    """A JupyterLab server of this interpreter, isolated from the user's Jupyter config."""
    root = tmp_path_factory.mktemp("nbroot")
    cfg = tmp_path_factory.mktemp("jupyter-config")
    (cfg / "labconfig").mkdir()
    # The announcements plugin would fetch news from GitHub and pop a toast over screenshots.
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
    # as scripts/start.sh sets up Lab for users: widget state is saved with the notebook
    settings = tmp_path_factory.mktemp("lab-settings")
    (settings / "@jupyter-widgets" / "jupyterlab-manager").mkdir(parents=True)
    (settings / "@jupyter-widgets" / "jupyterlab-manager" / "plugin.jupyterlab-settings").write_text(
        json.dumps({"saveState": True})
    )
    venv_bin = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(cfg),
        "JUPYTER_RUNTIME_DIR": str(tmp_path_factory.mktemp("jupyter-runtime")),
        "JUPYTER_PLATFORM_DIRS": "1",
        # kernels inherit PATH; the venv's bin first so any "python" resolves to the project venv
        "PATH": venv_bin + os.pathsep + os.environ.get("PATH", ""),
    }
    # never leak a user's ODA token into notebooks the tests save
    env.pop("ODA_TOKEN", None)
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--allow-root",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={LAB_TOKEN}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True",
        "--JupyterNotebookApp.expose_app_in_browser=True",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
        f"--LabApp.workspaces_dir={root / '.ws'}",
        f"--LabApp.user_settings_dir={settings}",
    ]
    log_path = root.parent / f"{root.name}-jupyter.log"
    log = open(log_path, "w")
    proc = subprocess.Popen(cmd, env=env, cwd=root, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"jupyterlab exited early:\n{log_path.read_text()[-3000:]}")
            try:
                if _status(f"{base}/api/status?token={LAB_TOKEN}") == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"jupyterlab did not answer within 120 s:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        yield {"base": base, "token": LAB_TOKEN, "root": root, "log": log_path}
    finally:
        proc.terminate()  # SIGTERM: the server shuts its kernels down (~3 s), then exits
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


@pytest.fixture
def make_notebook(jupyter_server):
    """``make_notebook(*cells, name=None) -> file name``: a fresh notebook (its own kernel) in the server root.

    Each cell is a code string. Kernel sessions of the notebooks made here are deleted after the test,
    so kernels do not pile up across tests.
    """
    names: list[str] = []

    def make(*cells: str, name: str | None = None, source: str | Path | None = None) -> str:
        """Code cells as strings; or ``source=`` an existing .ipynb copied in (e.g. ``notebooks/quickstart.ipynb``)."""
        if source is not None:
            nb = nbformat.read(Path(source), as_version=4)
            # a test sees only what its own run produces: no saved outputs or widget state
            for cell in nb.cells:
                if cell.cell_type == "code":
                    cell.outputs, cell.execution_count = [], None
            nb.metadata.pop("widgets", None)
            nb.cells.extend(nbformat.v4.new_code_cell(c) for c in cells)
        else:
            nb = nbformat.v4.new_notebook()
            nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
        nb.metadata["kernelspec"] = dict(KERNELSPEC)
        stem = name or (Path(source).stem if source is not None else "t")
        fname = f"{stem}-{uuid.uuid4().hex[:8]}.ipynb"
        nbformat.write(nb, jupyter_server["root"] / fname)
        names.append(fname)
        return fname

    yield make
    for s in lab_api(jupyter_server, "GET", "/api/sessions") or []:
        if any(s["path"].endswith(n) for n in names):
            try:
                lab_api(jupyter_server, "DELETE", f"/api/sessions/{s['id']}")
            except OSError:
                pass  # already gone with its page: nothing left to stop
