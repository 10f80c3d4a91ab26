"""The seed workflow notebook run whole in JupyterLab, and a notebook saved in Lab re-opened: its
widgets (mosaic, catalog, light curve) show again from the saved widget state, no cell re-run."""

from __future__ import annotations

import json
import re

from helpers import ROOT, cell_outputs_text, lab_api, open_and_run, page_errors, screenshot, wait_all_executed
from playwright.sync_api import Page, expect

# Non-transparent pixels of the first mosaic canvas: > 0 once the image is drawn.
MOSAIC_PAINTED = """() => { const c = document.querySelector('[data-testid=mosaic-canvas]');
  if (!c || !c.width || !c.height) return 0;
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }"""

# A drawn light curve: a canvas plot that has drawn a line through many points.
CURVE_DRAWN = "() => [...document.querySelectorAll('.oda-lc-plot')].some(p => +(p.dataset.points || 0) > 50)"

SPECTRUM_DOTS = "() => document.querySelectorAll('.bqplot.figure .dot, .bqplot.figure path.dot').length"


def test_seed_workflow_runs_whole_in_lab(page: Page, jupyter_server, make_notebook):
    """The classic MMODA tutorial, every cell run in Lab: light curve, image, catalog cut, spectra, files."""
    # the Explorer (first cell) is scrolled out while later cells update it: its figures are laid
    # out detached, then again when shown — checked below
    errors = page_errors(page, allow_detached_layout=True)
    nb = make_notebook(source=ROOT / "notebooks" / "seed_workflow.ipynb", name="seed")
    open_and_run(page, jupyter_server, nb)
    wait_all_executed(page, timeout=300_000)
    text = "\n".join(cell_outputs_text(page))
    assert "Traceback" not in text, text[-3000:]
    assert re.search(r"done: 600 bins, peak \d+ ct / s at 2022-10-09T13:", text), text[-3000:]
    assert re.search(r"done: 20 science windows, \d+ sources", text)
    spectra = re.search(r"done: spectra of (.*)", text)
    assert spectra and "NEW" not in spectra.group(1) and "1E 1740.7-2942" in spectra.group(1)
    assert re.search(r"isgri_spectrum: \d+ files", text)
    page.wait_for_function(MOSAIC_PAINTED, timeout=60_000)
    page.wait_for_function(CURVE_DRAWN, timeout=60_000)
    page.wait_for_function(f"() => ({SPECTRUM_DOTS})() > 20", timeout=60_000)
    screenshot(page, "seed-workflow")
    # back to the Explorer: the spectra under its Results are drawn at a real size
    results = page.locator(".oda-explorer-results").first
    results.scroll_into_view_if_needed()
    page.wait_for_function(
        """() => { const r = document.querySelector('.oda-explorer-results');
      const f = r && r.querySelector('.bqplot.figure svg');
      if (!f) return false; const b = f.getBoundingClientRect();
      return b.width > 200 && b.height > 100 && r.querySelectorAll('.dot').length > 20; }""",
        timeout=60_000,
    )
    errors.assert_none()


SAVED_CELLS = (
    "from oda_widgets import demo\n"
    "from oda_widgets.client import Dispatcher\n"
    "from oda_widgets.results import results_view\n"
    "server = demo.start(speed=50)\n"
    "disp = Dispatcher(server.url, token='')\n"
    "image = disp.submit('isgri', 'isgri_image', {'max_pointings': 10}).wait(timeout=120)\n"
    "view = results_view(image)\n"
    "view.first('catalog').set_min_significance(8)\n"
    "view",
    "from oda_widgets.light_curve import LightCurveView\n"
    "lc = disp.submit('spi_acs', 'spi_acs_lc', {'time_bin': 1}).wait(timeout=60)\n"
    "LightCurveView(lc.light_curves)",
)


def test_a_saved_notebook_shows_its_results_when_reopened(page: Page, jupyter_server, make_notebook):
    """Run in Lab, save, shut the kernel down, open again: the mosaic, the catalog with its cut and
    the light curve show again from the widget state saved in the notebook — no cell re-run."""
    errors = page_errors(page)
    nb = make_notebook(*SAVED_CELLS, name="saved")
    open_and_run(page, jupyter_server, nb)
    wait_all_executed(page, timeout=180_000)
    page.wait_for_function(MOSAIC_PAINTED, timeout=60_000)
    page.wait_for_function(CURVE_DRAWN, timeout=60_000)
    curve = page.locator(".oda-lc-plot").first
    points, view = curve.get_attribute("data-points"), curve.get_attribute("data-view")
    shown = page.get_by_test_id("catalog-count").first.inner_text()
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty", timeout=30_000)
    saved = json.loads((jupyter_server["root"] / nb).read_text())
    assert saved["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    for session in lab_api(jupyter_server, "GET", "/api/sessions") or []:
        if session["path"].endswith(nb):
            lab_api(jupyter_server, "DELETE", f"/api/sessions/{session['id']}")

    page.goto(f"{jupyter_server['base']}/lab/tree/{nb}?reset&token={jupyter_server['token']}")
    page.wait_for_function(MOSAIC_PAINTED, timeout=60_000)
    page.wait_for_function(CURVE_DRAWN, timeout=60_000)
    # the same points over the same range, from the saved state alone
    expect(curve).to_have_attribute("data-points", points)
    expect(curve).to_have_attribute("data-view", view)
    expect(page.get_by_test_id("catalog-count").first).to_have_text(shown)
    expect(page.get_by_test_id("catalog-row").first).to_be_attached()
    screenshot(page, "saved-notebook-reopened")
    errors.assert_none()


NATURAL_SIZES = """() => [...document.querySelectorAll('.jp-OutputArea-output img')]
  .filter(i => i.complete && i.naturalWidth > 0).map(i => [i.naturalWidth, i.naturalHeight])"""


def test_a_shipped_notebook_opened_before_running_shows_pictures(page: Page, jupyter_server):
    """The seed tutorial as shipped (saved run, not signed here, so untrusted): without running a
    cell, Lab shows the views' static pictures — light curve, sky image, spectra — not text lines."""
    from oda_widgets.static import LIGHT_CURVE_SIZE, MOSAIC_SIZE, SPECTRUM_SIZE

    errors = page_errors(page)
    name = "seed-as-shipped.ipynb"
    (jupyter_server["root"] / name).write_text((ROOT / "notebooks" / "seed_workflow.ipynb").read_text())
    page.goto(f"{jupyter_server['base']}/lab/tree/{name}?reset&token={jupyter_server['token']}")
    expect(page.locator(".jp-OutputArea-output img").first).to_be_attached(timeout=60_000)
    # Lab renders cells as they scroll into view: bring each into view, collecting picture sizes
    cells = page.evaluate("() => window.jupyterapp.shell.currentWidget.content.widgets.length")
    seen: set[tuple[int, int]] = set()
    for i in range(cells):
        page.evaluate(f"() => window.jupyterapp.shell.currentWidget.content.scrollToItem({i}, 'start')")
        page.wait_for_function(
            f"() => {{ const c = window.jupyterapp.shell.currentWidget.content.widgets[{i}];"
            " return !!c && !!c.node.isConnected && [...c.node.querySelectorAll('img')].every(i => i.complete); }",
            timeout=30_000,
        )
        seen |= {tuple(s) for s in page.evaluate(NATURAL_SIZES)}
    assert {LIGHT_CURVE_SIZE, MOSAIC_SIZE, SPECTRUM_SIZE} <= seen, seen
    assert "Error displaying widget" not in page.content()
    for session in lab_api(jupyter_server, "GET", "/api/sessions") or []:
        if session["path"].endswith(name):
            lab_api(jupyter_server, "DELETE", f"/api/sessions/{session['id']}")
    errors.assert_none()


def test_the_exported_html_page_shows_every_view_offline(page: Page, tmp_path):
    """``python -m oda_widgets.static`` on the shipped seed tutorial: the page, opened from disk with
    no server and no network, shows the light curve, the sky image and the spectra as decoded images."""
    from oda_widgets.static import LIGHT_CURVE_SIZE, MOSAIC_SIZE, SPECTRUM_SIZE, export_html

    src = tmp_path / "seed_workflow.ipynb"
    src.write_text((ROOT / "notebooks" / "seed_workflow.ipynb").read_text())
    html_page = export_html(src)
    page.goto(html_page.as_uri())
    page.wait_for_function(
        "() => [...document.images].length > 0 && [...document.images].every(i => i.complete)", timeout=30_000
    )
    sizes = {
        tuple(s)
        for s in page.evaluate("() => [...document.images].map(i => [i.naturalWidth, i.naturalHeight])")
    }
    assert {LIGHT_CURVE_SIZE, MOSAIC_SIZE, SPECTRUM_SIZE} <= sizes, sizes
    page.locator("img").nth(1).scroll_into_view_if_needed()
    screenshot(page, "seed-workflow-exported-html")
