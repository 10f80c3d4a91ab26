"""Execute notebooks with nbclient in a real kernel of this interpreter (no browser).

``run_notebook(path, env=None, timeout=300) -> (NotebookNode, workdir)`` runs a copy of ``path`` in a
temporary directory (so saved products land there) and returns the executed notebook (widget state
stored) and that directory.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient


@pytest.fixture
def run_notebook(tmp_path, monkeypatch):
    def run(path: str | Path, *, env: dict | None = None, timeout: int = 300):
        src = Path(path)
        work = tmp_path / src.stem
        work.mkdir()
        target = work / src.name
        shutil.copy(src, target)
        nb = nbformat.read(target, as_version=4)
        # the kernel inherits the environment: no user token, and the caller's overrides
        monkeypatch.delenv("ODA_TOKEN", raising=False)
        monkeypatch.delenv("ODA_DISPATCHER_URL", raising=False)
        for k, v in (env or {}).items():
            monkeypatch.setenv(k, v)
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3", store_widget_state=True,
                                resources={"metadata": {"path": str(work)}})
        client.execute()
        return nb, work

    return run
