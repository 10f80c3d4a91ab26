"""The notebooks in notebooks/ run top to bottom on the demo dispatcher and print real results."""

from __future__ import annotations

import json
import re

import nbformat
import pytest
from astropy.io import fits
from astropy.time import Time
from nb_helpers import NOTEBOOKS, outputs_text, widget_models

JWT = re.compile(r"eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]{8,}")


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ODA_WIDGETS_CACHE_DIR", str(tmp_path / "cache"))


def _no_errors(nb):
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, "\n".join("\n".join(e.traceback) for e in errors)


def test_quickstart_shows_the_explorer_on_the_demo_dispatcher(run_notebook):
    nb, _ = run_notebook(NOTEBOOKS / "quickstart.ipynb")
    _no_errors(nb)
    models = widget_models(nb)
    html = [m["state"].get("value", "") for m in models.values() if m["model_name"] == "HTMLModel"]
    assert any("Demo dispatcher" in v and "127.0.0.1" in v for v in html)
    dropdowns = [m["state"] for m in models.values() if m["model_name"] == "DropdownModel"]
    assert any("isgri_image" in d.get("_options_labels", []) for d in dropdowns)
    view = nb.cells[1].outputs[0]["data"]["application/vnd.jupyter.widget-view+json"]
    assert view["model_id"] in models  # the displayed Explorer's state is saved with the notebook


def test_seed_workflow_light_curve_image_catalog_spectra_and_files(run_notebook):
    nb, work = run_notebook(NOTEBOOKS / "seed_workflow.ipynb", timeout=600)
    _no_errors(nb)
    text = outputs_text(nb)
    m = re.search(r"done: (\d+) bins, peak (\d+) ct / s at (\S+)", text)
    assert m, text
    assert int(m.group(1)) == 600  # 10 min at 1 s
    # GRB 221009A triggered at 13:16:59 UTC; the peak comes within the next minutes
    assert 0 < (Time(m.group(3)) - Time("2022-10-09T13:16:59")).sec < 300
    m = re.search(r"done: (\d+) science windows, (\d+) sources", text)
    assert m and int(m.group(1)) == 20  # max_pointings=20
    assert "min_significance=10.0, exclude_new=True" in text
    spectra = re.search(r"done: spectra of (.*)", text).group(1)
    assert "1E 1740.7-2942" in spectra and "NEW" not in spectra
    files = sorted((work / "oda-products" / "isgri_spectrum").glob("*.fits"))
    assert len(files) >= 3 * 2  # spectrum, ARF, RMF per source
    with fits.open(files[0]) as hdul:
        assert len(hdul) >= 2
    assert (work / "oda-products" / "isgri_image" / "mosaic_image_0_mosaic.fits").exists()
    # nothing is written next to the notebook
    assert sorted(p.name for p in work.iterdir()) == ["oda-products", "seed_workflow.ipynb"]
    assert "disp.get_product(**par_dict)" in text or "DispatcherAPI" in text


def test_teaching_finds_new_1_and_its_turn_on(run_notebook):
    nb, _ = run_notebook(NOTEBOOKS / "teaching.ipynb", timeout=600)
    _no_errors(nb)
    text = outputs_text(nb)
    m = re.search(r"NEW_1: RA ([\d.]+), Dec (-?[\d.]+), significance ([\d.]+) sigma", text)
    assert m, text
    assert abs(float(m.group(1)) - 266.05) < 0.2 and abs(float(m.group(2)) + 28.65) < 0.2
    assert "March 2016:" in text and "new ones: none" in text
    m = re.search(r"NEW_1: mean rate before 2017 (-?[\d.]+) ct / s, after (-?[\d.]+) ct / s", text)
    before, after = float(m.group(1)), float(m.group(2))
    assert after > 1 and after > 10 * abs(before)


@pytest.mark.parametrize("name", ["quickstart.ipynb", "dashboard.ipynb", "seed_workflow.ipynb", "teaching.ipynb"])
def test_saved_notebooks_have_outputs_and_widget_state_and_no_token(name):
    path = NOTEBOOKS / name
    raw = path.read_text()
    assert not JWT.search(raw), f"{name} contains something that looks like a token"
    nb = nbformat.read(path, as_version=4)
    _no_errors(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.execution_count for c in code), f"{name} is not saved executed"
    models = widget_models(nb)
    assert models, f"{name} has no saved widget state"
    for m in models.values():
        assert '"token": "ey' not in json.dumps(m["state"])
    assert nb.metadata["kernelspec"]["name"] == "python3"
