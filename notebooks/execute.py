"""Re-run the notebooks here on the demo dispatcher and save them with outputs, widget state and
the views' static pictures (what GitHub, nbviewer and nbconvert show).

    .venv/bin/python notebooks/execute.py [quickstart.ipynb lessons/grb_duration.ipynb ...]

Each notebook runs in its own folder, as Jupyter runs it; products it saves go to a temporary
products folder (``$ODA_WIDGETS_PRODUCTS_DIR``). No token is used (``$ODA_TOKEN`` and
``$ODA_DISPATCHER_URL`` are removed from the kernel's environment).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
NOTEBOOKS = [
    "quickstart.ipynb",
    "dashboard.ipynb",
    "seed_workflow.ipynb",
    "teaching.ipynb",
    *sorted(str(p.relative_to(HERE)) for p in (HERE / "lessons").glob("*.ipynb")),
]


def execute(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb,
        timeout=900,
        kernel_name="python3",
        store_widget_state=True,
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    nbformat.write(nb, path)
    print(f"{path.relative_to(HERE)}: executed, {path.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    for var in ("ODA_TOKEN", "ODA_DISPATCHER_URL"):
        os.environ.pop(var, None)
    os.environ.setdefault("ODA_WIDGETS_CACHE_DIR", tempfile.mkdtemp(prefix="oda-widgets-cache-"))
    os.environ["ODA_WIDGETS_PRODUCTS_DIR"] = tempfile.mkdtemp(prefix="oda-widgets-products-")
    for name in sys.argv[1:] or NOTEBOOKS:
        execute(HERE / name)
