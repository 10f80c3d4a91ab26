"""Re-run the notebooks here on the demo dispatcher and save them with outputs and widget state.

    .venv/bin/python notebooks/execute.py [quickstart.ipynb ...]

Products the notebooks save go to a temporary folder; no token is used (``$ODA_TOKEN`` and
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


def execute(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory() as work:
        NotebookClient(nb, timeout=600, kernel_name="python3", store_widget_state=True,
                       resources={"metadata": {"path": work}}).execute()
    nbformat.write(nb, path)
    print(f"{path.name}: executed, {path.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    for var in ("ODA_TOKEN", "ODA_DISPATCHER_URL"):
        os.environ.pop(var, None)
    os.environ.setdefault("ODA_WIDGETS_CACHE_DIR", tempfile.mkdtemp(prefix="oda-widgets-cache-"))
    names = sys.argv[1:] or ["quickstart.ipynb", "seed_workflow.ipynb", "teaching.ipynb"]
    for name in names:
        execute(HERE / name)
