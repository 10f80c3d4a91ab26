"""End to end in JupyterLab: the quickstart notebook, an image, the catalog slider, spectra of the selection."""

from __future__ import annotations

import re

from helpers import (
    ROOT,
    cell_outputs_text,
    kernel_eval,
    open_and_run,
    page_errors,
    screenshot,
    wait_all_executed,
)
from playwright.sync_api import Page, expect

# Pixels of a canvas that are not transparent: > 0 once the mosaic is drawn.
PAINTED = """(c) => { if (!c.width || !c.height) return 0;
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }"""

# Points drawn by the spectrum view: bqplot Scatter dots under Results.
SPECTRUM_DOTS = """() => { const panes = document.querySelectorAll('.oda-explorer-results .oda-results-section');
  let n = 0; for (const p of panes) if (p.textContent.includes('Spectra'))
    n += p.querySelectorAll('.bqplot.figure .dot, .bqplot.figure path.dot').length;
  return n; }"""


def test_quickstart_image_slider_spectrum(page: Page, jupyter_server, make_notebook):
    errors = page_errors(page)
    nb = make_notebook(source=ROOT / "notebooks" / "quickstart.ipynb", name="quickstart")
    open_and_run(page, jupyter_server, nb)
    wait_all_executed(page)

    explorer = page.locator(".oda-explorer")
    expect(explorer).to_be_visible(timeout=60_000)
    expect(page.locator(".oda-explorer-banner")).to_contain_text("Demo dispatcher")

    # choose the ISGRI image and submit from the form
    page.locator(".widget-dropdown.oda-form-instrument > select").select_option("isgri")
    page.locator(".widget-dropdown.oda-form-product > select").select_option("isgri_image")
    expect(page.locator(".widget-dropdown.oda-form-product > select")).to_have_value("isgri_image")
    submit = page.locator("button.oda-form-submit")
    expect(submit).to_be_enabled(timeout=15_000)
    submit.click()
    screenshot(page, "quickstart-1-submitted")

    # the job board shows it done, and the mosaic opens under Results
    expect(page.locator(".oda-job-status .oda-job-state-done").first).to_be_visible(timeout=120_000)
    canvas = page.get_by_test_id("mosaic-canvas").first
    expect(canvas).to_be_visible(timeout=60_000)
    page.wait_for_function(
        f"() => ({PAINTED})(document.querySelector('[data-testid=mosaic-canvas]')) > 1000", timeout=30_000
    )
    rows = page.get_by_test_id("catalog-row")
    expect(rows.first).to_be_visible(timeout=30_000)
    canvas.scroll_into_view_if_needed()
    screenshot(page, "quickstart-2-mosaic")

    # move the significance slider between the middle two sources: about half remain, and Python sees the cut
    sig = sorted(
        float(x)
        for x in kernel_eval(
            page,
            "t = explorer.show_results(explorer.jobs[0]).first('catalog'); "
            "print(*t.selected['significance'])",
        ).split()
    )
    assert len(sig) >= 2, sig
    cut = (sig[len(sig) // 2 - 1] + sig[len(sig) // 2]) / 2
    count = page.get_by_test_id("catalog-count").first
    before = count.inner_text()
    page.get_by_test_id("catalog-slider").first.fill(f"{cut:.3f}")
    expect(count).not_to_have_text(before, timeout=15_000)
    shown, _total = (int(x) for x in re.match(r"(\d+) of (\d+) shown", count.inner_text()).groups())
    assert shown == len(sig) - len(sig) // 2, (shown, sig, cut)
    py = kernel_eval(page, "print(t.min_significance, len(t.selected), min(t.selected['significance']))")
    min_sig, n_selected, lowest = py.split()
    # the slider moves in steps of 1/1000 of its range: the cut lands on the nearest step
    assert abs(float(min_sig) - cut) < 0.5 and int(n_selected) == shown and float(lowest) >= float(min_sig), (
        py
    )
    screenshot(page, "quickstart-3-slider")

    # spectra of the selected sources: a new job on the board, drawn in a new Results tab
    page.get_by_test_id("catalog-spectrum").first.click()
    expect(page.get_by_test_id("catalog-status").first).to_contain_text("isgri_spectrum", timeout=30_000)
    expect(page.locator(".oda-job-status")).to_have_count(2, timeout=30_000)
    page.wait_for_function(f"() => ({SPECTRUM_DOTS})() > 10", timeout=120_000)
    expect(page.locator(".oda-explorer-results-title")).to_contain_text("isgri/isgri_spectrum")
    page.locator(".oda-explorer-results").scroll_into_view_if_needed()
    screenshot(page, "quickstart-4-spectrum")

    # the spectrum job asked for exactly the sources the slider left
    py = kernel_eval(
        page,
        "import json; j = explorer.jobs[-1]; "
        "print(j.product, j.state.value, "
        "len(json.loads(j.params['selected_catalog'])['cat_column_list'][0]))",
    )
    product, state, n_sources = py.split()
    assert product == "isgri_spectrum" and state == "done" and int(n_sources) == shown, py
    errors.assert_none()


def test_teaching_notebook_runs_in_lab(page: Page, jupyter_server, make_notebook):
    """The offline lesson top to bottom in Lab: `await job` cells, NEW_1 found, its light curve drawn."""
    errors = page_errors(page)
    nb = make_notebook(source=ROOT / "notebooks" / "teaching.ipynb", name="teaching")
    open_and_run(page, jupyter_server, nb)
    wait_all_executed(page, timeout=240_000)
    text = "\n".join(cell_outputs_text(page))
    m = re.search(r"NEW_1: RA ([\d.]+), Dec (-?[\d.]+), significance ([\d.]+) sigma", text)
    assert m and abs(float(m.group(1)) - 266.05) < 0.2, text[-2000:]
    assert "new ones: none" in text
    assert re.search(r"NEW_1: mean rate before 2017 -?[\d.]+ ct / s, after [\d.]+ ct / s", text)
    assert "Traceback" not in text
    # the lesson's light curve is drawn (the last output of the notebook)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.oda-lc-plot')].some(p => +(p.dataset.points || 0) > 10)",
        timeout=60_000,
    )
    expect(page.get_by_test_id("mosaic-canvas").first).to_be_attached()
    page.locator(".oda-lc-plot").last.scroll_into_view_if_needed()
    screenshot(page, "teaching-light-curve")
    errors.assert_none()
