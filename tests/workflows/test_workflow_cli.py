"""``python -m oda_widgets.demo --workflows DIR``: a teacher's notebook folder as one more instrument."""

from __future__ import annotations

import shutil
import subprocess
import sys

import requests
from workflow_helpers import SHARED_ONTOLOGY

from oda_widgets.demo.workflows import SHIPPED


def _run_cli(*args: str) -> tuple[str, list[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "oda_widgets.demo", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = proc.stdout.readline().strip().rsplit(" ", 1)[1]
        proc.stdout.readline()  # the token
        note = proc.stdout.readline().strip() if "--no-workflows" not in args else ""
        instruments = requests.get(f"{url}/instr-list", timeout=10).json()
    finally:
        proc.terminate()
        code = proc.wait(timeout=30)
    stderr = proc.stderr.read()
    assert code == 0, stderr[-2000:]
    return note, instruments, stderr


def test_a_teachers_folder_is_served_as_an_instrument(tmp_path_factory):
    folder = tmp_path_factory.mktemp("class") / "my-lesson"
    folder.mkdir()
    shutil.copy(SHIPPED / "light_curve.ipynb", folder / "cepheid.ipynb")
    note, instruments, _ = _run_cli(
        "--workflows", str(folder), "--no-shipped-workflows", "--ontology", str(SHARED_ONTOLOGY)
    )
    assert instruments == ["isgri", "jemx", "spi_acs", "my_lesson"]
    assert note == "workflow instruments: my_lesson"


def test_default_serves_the_shipped_workflows_and_no_workflows_turns_them_off():
    note, instruments, _ = _run_cli("--ontology", str(SHARED_ONTOLOGY))
    assert instruments[3:] == ["optical_photometry", "optical_imaging", "multiwavelength_sed"]
    assert note.startswith("workflow instruments: optical_photometry")
    _, instruments, _ = _run_cli("--no-workflows")
    assert instruments == ["isgri", "jemx", "spi_acs"]
