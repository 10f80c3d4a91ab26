"""Voilà dashboards in Chromium, served as ``scripts/start.sh --voila`` serves them: a standalone
Voilà over a folder of the shipped notebooks.

The Explorer (``notebooks/dashboard.ipynb``) on a 1400-px screen: form and results side by side, a
form section folded, an image → spectrum flow through the page's buttons, each job's results in a
tab titled with the job, the image drawn again when its tab is picked; on a narrow screen the
results go below the form. A lesson renders as a dashboard too (its ``await job`` cells run).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from helpers import ROOT, page_errors, screenshot
from peers import free_port
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

NOTEBOOKS = ROOT / "notebooks"

# Non-transparent pixels of the mosaic canvas on show: > 0 once the image is drawn.
MOSAIC_PAINTED = """() => { const c = document.querySelector('.oda-explorer-results [data-testid=mosaic-canvas]');
  if (!c || !c.width || !c.height) return 0;
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }"""

# Spectrum points drawn under Results, in a figure laid out at a real size.
SPECTRUM_DRAWN = """() => { const r = document.querySelector('.oda-explorer-results');
  const f = r && r.querySelector('.bqplot.figure svg');
  if (!f) return 0; const b = f.getBoundingClientRect();
  return b.width > 300 && b.height > 150 ? r.querySelectorAll('.dot').length : 0; }"""


def _copy_without_outputs(src: Path, dest: Path) -> None:
    nb = nbformat.read(src, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.metadata.pop("widgets", None)
    dest.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, dest)


@pytest.fixture(scope="module")
def voila_server(tmp_path_factory):
    """A standalone Voilà of this interpreter over a copy of notebooks/ (what start.sh --voila runs)."""
    root = tmp_path_factory.mktemp("voila-notebooks")
    for src in [NOTEBOOKS / "dashboard.ipynb", *sorted((NOTEBOOKS / "lessons").glob("*.ipynb"))]:
        _copy_without_outputs(src, root / src.relative_to(NOTEBOOKS))
    for data in (NOTEBOOKS / "lessons").glob("*.ecsv"):
        shutil.copy(data, root / "lessons" / data.name)
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(tmp_path_factory.mktemp("voila-config")),
        "JUPYTER_RUNTIME_DIR": str(tmp_path_factory.mktemp("voila-runtime")),
        "JUPYTER_PLATFORM_DIRS": "1",
        "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
        "ODA_WIDGETS_PRODUCTS_DIR": str(root / "oda-products"),
        "ODA_WIDGETS_CACHE_DIR": str(tmp_path_factory.mktemp("voila-cache")),
    }
    for private in ("ODA_TOKEN", "ODA_DISPATCHER_URL"):
        env.pop(private, None)
    port = free_port()
    cmd = [
        sys.executable, "-m", "voila", str(root), "--no-browser", f"--port={port}",
        "--Voila.ip=127.0.0.1", "--show_tracebacks=True",
    ]  # fmt: skip
    log_path = root.parent / f"{root.name}-voila.log"
    log = open(log_path, "w")
    proc = subprocess.Popen(cmd, env=env, cwd=root, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    try:
        # a GET would execute a notebook: readiness is the port accepting connections
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"voila exited early:\n{log_path.read_text()[-3000:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"voila did not listen within 120 s:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        yield {"base": f"http://127.0.0.1:{port}", "root": root, "log": log_path}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


def _box(page: Page, selector: str) -> dict:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, f"{selector} is not laid out"
    return box


def test_explorer_dashboard_wide_image_to_spectrum_in_tabs(page: Page, voila_server):
    """1400 px: form beside results; fold a section; image → spectrum through the page; one tab per job."""
    errors = page_errors(page)
    page.set_viewport_size({"width": 1400, "height": 1100})
    page.goto(f"{voila_server['base']}/voila/render/dashboard.ipynb")
    expect(page.locator(".oda-explorer-banner")).to_contain_text("Demo dispatcher", timeout=90_000)

    query, results = _box(page, ".oda-explorer-query"), _box(page, ".oda-explorer-results-column")
    assert results["x"] >= query["x"] + query["width"] - 1, (query, results)  # side by side
    assert abs(results["y"] - query["y"]) < 5 and results["width"] > 600, (query, results)

    page.locator(".widget-dropdown.oda-form-instrument > select").select_option("isgri")
    page.locator(".widget-dropdown.oda-form-product > select").select_option("isgri_image")
    expect(page.locator(".oda-form-block-product")).to_contain_text("isgri_image", timeout=15_000)
    # the instrument section folds and unfolds from its title
    instrument = page.locator(".oda-form-block-instrument")
    radius = instrument.get_by_text("radius", exact=True)
    expect(radius).to_be_visible()
    instrument.locator(".jupyter-widget-Collapse-header").click()
    expect(radius).to_be_hidden(timeout=10_000)

    submit = page.locator("button.oda-form-submit")
    expect(submit).to_be_enabled(timeout=15_000)
    submit.click()
    tabs = page.locator(".oda-explorer-results-tabs .lm-TabBar-tab")
    expect(tabs).to_have_count(1, timeout=120_000)
    expect(tabs.first).to_have_text("1. isgri_image")
    page.wait_for_function(f"() => ({MOSAIC_PAINTED})() > 1000", timeout=60_000)
    expect(page.get_by_test_id("catalog-row").first).to_be_visible(timeout=30_000)
    # the image is drawn beside the form, not below it
    assert _box(page, ".oda-explorer-results [data-testid=mosaic-canvas]")["x"] > query["x"] + query["width"]

    page.get_by_test_id("catalog-spectrum").first.click()
    expect(tabs).to_have_count(2, timeout=120_000)
    expect(tabs.nth(1)).to_have_text("2. isgri_spectrum")
    expect(tabs.nth(1)).to_have_class(re.compile(r"lm-mod-current"))
    page.wait_for_function(f"() => ({SPECTRUM_DRAWN})() > 10", timeout=120_000)
    expect(page.locator(".oda-explorer-results-title")).to_contain_text("isgri/isgri_spectrum")
    # the image's view is out of the page while its tab is hidden
    expect(page.get_by_test_id("mosaic-canvas")).to_have_count(0)
    page.evaluate("() => document.querySelector('.oda-explorer').scrollIntoView()")
    screenshot(page, "explorer-wide-image-spectrum")

    tabs.first.click()
    page.wait_for_function(f"() => ({MOSAIC_PAINTED})() > 1000", timeout=60_000)
    expect(page.locator(".oda-explorer-results-title")).to_contain_text("isgri/isgri_image")
    expect(page.locator(".oda-explorer-results .bqplot.figure")).to_have_count(0)
    page.evaluate("() => document.querySelector('.oda-explorer').scrollIntoView()")
    screenshot(page, "explorer-wide-image")
    errors.assert_none()


def test_explorer_dashboard_stacks_on_a_narrow_screen(page: Page, voila_server):
    """900 px: the results go below the form (the flex row wraps), each as wide as the page allows."""
    errors = page_errors(page)
    page.set_viewport_size({"width": 900, "height": 1000})
    page.goto(f"{voila_server['base']}/voila/render/dashboard.ipynb")
    expect(page.locator(".oda-explorer-banner")).to_contain_text("Demo dispatcher", timeout=90_000)
    query, results = _box(page, ".oda-explorer-query"), _box(page, ".oda-explorer-results-column")
    assert results["y"] >= query["y"] + query["height"] - 1, (query, results)
    assert results["width"] > 700, results
    errors.assert_none()


def test_a_lesson_runs_as_a_dashboard(page: Page, voila_server):
    """The GRB lesson in Voilà: its `await job` cells run, the light curve is drawn live, the T90
    line and the cumulative-counts plot are on the page (no code shown)."""
    errors = page_errors(page)
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.goto(f"{voila_server['base']}/voila/render/lessons/grb_duration.ipynb")
    expect(
        page.get_by_text(re.compile(r"T05 = [\d.]+ s, T95 = [\d.]+ s after the trigger: T90 = \d+ s"))
    ).to_be_visible(timeout=180_000)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.oda-lc-plot')].some(p => +(p.dataset.points || 0) > 100)",
        timeout=60_000,
    )
    expect(page.locator("img[src^='data:image/png']").first).to_be_attached()  # the matplotlib plot
    expect(page.get_by_text("ex = Explorer()")).to_have_count(0)  # a dashboard: outputs only
    errors.assert_none()
