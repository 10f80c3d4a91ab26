"""Execute notebooks with nbclient in a real kernel of this interpreter (no browser).

``run_notebook(path, env=None, timeout=300) -> (NotebookNode, workdir)`` runs a copy of ``path`` in a
temporary directory, with the products folder (``$ODA_WIDGETS_PRODUCTS_DIR``) at ``workdir/oda-products``,
and returns the executed notebook (widget state stored) and that directory. ``append=[code, ...]``
adds cells after the notebook's own (checks of the state a lesson leaves, run in its kernel).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient


@pytest.fixture
def run_notebook(tmp_path, monkeypatch):
    def run(path: str | Path, *, env: dict | None = None, timeout: int = 300, append: tuple[str, ...] = ()):
        src = Path(path)
        work = tmp_path / src.stem
        work.mkdir()
        target = work / src.name
        shutil.copy(src, target)
        nb = nbformat.read(target, as_version=4)
        for cell in nb.cells:  # a run shows only what this run produces
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        nb.metadata.pop("widgets", None)
        nb.cells.extend(nbformat.v4.new_code_cell(code) for code in append)
        # the kernel inherits the environment: no user token, and the caller's overrides
        monkeypatch.delenv("ODA_TOKEN", raising=False)
        monkeypatch.delenv("ODA_DISPATCHER_URL", raising=False)
        monkeypatch.setenv("ODA_WIDGETS_PRODUCTS_DIR", str(work / "oda-products"))
        for k, v in (env or {}).items():
            monkeypatch.setenv(k, v)
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3", store_widget_state=True,
                                resources={"metadata": {"path": str(work)}})
        client.execute()
        return nb, work

    return run
