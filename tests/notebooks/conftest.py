"""Execute notebooks with nbclient in a real kernel of this interpreter (no browser).

``run_notebook(path, env=None, timeout=300) -> (NotebookNode, workdir)`` runs a copy of ``path`` in a
temporary directory (so saved products land there) and returns the executed notebook (widget state
stored) and that directory.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"


def outputs_text(nb, cell_index: int | None = None) -> str:
    """All text (stream, plain-text results, errors) the notebook's code cells printed."""
    cells = nb.cells if cell_index is None else [nb.cells[cell_index]]
    parts = []
    for cell in cells:
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                parts.append(out.text)
            elif out.output_type in ("execute_result", "display_data"):
                parts.append(out.get("data", {}).get("text/plain", ""))
            elif out.output_type == "error":
                parts.append("\n".join(out.traceback))
    return "\n".join(parts)


def widget_models(nb) -> dict:
    """The widget models saved in the notebook's metadata (model id → {model_name, state, ...})."""
    return nb.metadata.get("widgets", {}).get(
        "application/vnd.jupyter.widget-state+json", {}).get("state", {})


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
