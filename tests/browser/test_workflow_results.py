"""The Explorer in JupyterLab against the demo dispatcher fronting a real nb2service (the session's
``workflow_demo``): Submit → done → the right view for each workflow product. The notebook runs are
the session's (``workflow_jobs``); the Explorer's identical requests are answered from them."""

from __future__ import annotations

import json

import pytest
from helpers import element_screenshot, kernel_eval, open_and_run, page_errors, screenshot
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

TIMEOUT = 240

EXPLORER = """\
import os, tempfile
os.environ["ODA_WIDGETS_CACHE_DIR"] = tempfile.mkdtemp()
os.chdir(tempfile.mkdtemp())
from oda_widgets.explorer import Explorer
explorer = Explorer("{url}", token="", instrument="optical_imaging", product="sky_images")
explorer.form.set_values(pixels=64)
explorer
"""


def test_explorer_shows_each_workflow_product_with_its_view(
    page: Page, jupyter_server, make_notebook, workflow_demo, workflow_jobs
):
    for key in ("images", "sed"):
        workflow_jobs[key].wait(timeout=TIMEOUT)
    errors = page_errors(page, allow_detached_layout=True)
    nb = make_notebook(EXPLORER.format(url=workflow_demo.url), name="explorer-workflows")
    open_and_run(page, jupyter_server, nb, wait=True)
    results = page.locator(".oda-explorer-results")

    # two sky images, each in its own image viewer with its WCS grid, and the colour picture
    page.locator("button.oda-form-submit").click()
    expect(results.get_by_test_id("mosaic-root")).to_have_count(2, timeout=120_000)
    titles = results.get_by_test_id("mosaic-title")
    expect(titles.nth(0)).to_contain_text("Pleiades · B")
    expect(titles.nth(1)).to_contain_text("Pleiades · R")
    expect(results.locator(".oda-results-picture img, img.oda-results-picture")).to_have_count(1)
    expect(page.locator(".oda-explorer-results-title")).to_contain_text("optical_imaging/sky_images")
    page.wait_for_timeout(500)  # the canvases paint on the next frames
    for i, band in enumerate("BR"):
        root = results.get_by_test_id("mosaic-root").nth(i)
        element_screenshot(root, f"workflow-sky-image-{band}")

    # the SED: the table view (units in the header, plotted log-log with its upper limits), the
    # summary text and the FITS file with its type and Save
    kernel_eval(
        page,
        "explorer.form.select('multiwavelength_sed', 'sed'); explorer.form.set_values(detection_sigma=8.0); "
        "sed_job = explorer.submit()",
    )
    plot = results.get_by_test_id("table-plot")
    expect(plot).to_be_visible(timeout=120_000)
    expect(results.get_by_test_id("table-title")).to_have_text("Mrk 421 SED")
    expect(results.get_by_test_id("table-th-nuFnu")).to_contain_text("erg / (s cm2)")
    expect(results.get_by_test_id("table-log-x")).to_be_checked()
    ul = int(plot.get_attribute("data-upper-limits"))
    points = int(plot.get_attribute("data-points"))
    expected = kernel_eval(
        page,
        "t = explorer.results[id(sed_job)].first('tables').table; print(int(t['upper_limit'].sum()), len(t))",
    ).split()
    assert ul == int(expected[0]) > 0 and points + ul == int(expected[1]), (ul, points, expected)
    expect(results.locator(".oda-results-text")).to_contain_text("SED of Mrk 421")
    expect(results.locator(".oda-binary-summary")).to_contain_text("FITS file")
    results.locator(".oda-binary-save button, button.oda-binary-save").click()
    expect(results.locator(".oda-binary-message")).to_contain_text("Saved", timeout=15_000)
    assert kernel_eval(page, "import os; print(os.path.exists('Mrk_421_sed.fits'))").strip() == "True"
    table = results.get_by_test_id("table-root")
    table.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    element_screenshot(table, "workflow-sed-table")
    screenshot(page, "workflow-explorer-sed")
    errors.assert_none()


LC_EXPLORER = """\
import os, tempfile
os.environ["ODA_WIDGETS_CACHE_DIR"] = tempfile.mkdtemp()
from oda_widgets.explorer import Explorer
explorer = Explorer("{url}", token="", instrument="optical_photometry", product="light_curve")
explorer.form.set_values(T2="2023-09-11T00:00:00", seed=7)
explorer
"""


def test_explorer_light_curves_magnitude_above_flux_and_brush_to_t1_t2(
    page: Page, jupyter_server, make_notebook, workflow_demo, workflow_jobs
):
    workflow_jobs["lc"].wait(timeout=TIMEOUT)
    errors = page_errors(page, allow_detached_layout=True)
    nb = make_notebook(LC_EXPLORER.format(url=workflow_demo.url), name="explorer-workflow-lc")
    open_and_run(page, jupyter_server, nb, wait=True)
    page.locator("button.oda-form-submit").click()
    results = page.locator(".oda-explorer-results")
    plots = results.locator(".oda-lc-plot")
    # two stacked views: a magnitude curve (inverted axis) and a flux curve, both against MJD (UTC)
    page.wait_for_function(
        """() => { const f = [...document.querySelectorAll('.oda-explorer-results .oda-lc-plot')];
          return f.length >= 2 && f.every(x => +(x.dataset.points || 0) > 10); }""",
        timeout=120_000,
    )
    labels = kernel_eval(
        page,
        "v = explorer.results[id(explorer.job)].views['light_curves']; "
        "print([(x.x_label, x.y_label) for x in v])",
    )
    assert "Magnitude V [mag]" in labels and "Flux V [Jy]" in labels, labels
    assert labels.count("Time [MJD, UTC]") >= 2, labels
    # the MJD ticks the page drew are the notebook's days (60188 = 2023-09-01), not IJD or 51 544 days later
    ticks = [t[1] for t in json.loads(plots.first.get_attribute("data-xticks"))]
    assert "60190" in ticks and "60194" in ticks, ticks
    inverted = kernel_eval(
        page, "v = explorer.results[id(explorer.job)].views['light_curves']; print([x.inverted for x in v])"
    )
    assert inverted.strip() == "[True, False]"
    # drawn inverted in the page: on the magnitude plot larger values sit lower (larger y pixel)
    yticks = json.loads(plots.first.get_attribute("data-yticks"))
    assert len(yticks) >= 2 and (yticks[-1][0] - yticks[0][0]) * (yticks[-1][2] - yticks[0][2]) > 0, yticks
    yticks = json.loads(plots.nth(1).get_attribute("data-yticks"))
    assert len(yticks) >= 2 and (yticks[-1][0] - yticks[0][0]) * (yticks[-1][2] - yticks[0][2]) < 0, yticks
    page.set_viewport_size({"width": 1400, "height": 1800})  # both stacked views in one picture
    page.wait_for_timeout(500)
    element_screenshot(results.locator(".oda-results-section").first, "workflow-light-curves")
    page.set_viewport_size({"width": 1400, "height": 1000})

    # brush an interval on the magnitude curve (the select tool) and send it to the form (UTC, ISO)
    first = plots.first
    first.locator("[data-testid=lc-tool-select]").click()
    first.scroll_into_view_if_needed()
    box = first.locator("canvas").first.bounding_box()
    y = box["y"] + box["height"] * 0.5
    page.mouse.move(box["x"] + box["width"] * 0.3, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.6, y, steps=8)
    page.mouse.up()
    use = results.get_by_role("button", name="Use as T1/T2").first
    expect(use).to_be_enabled(timeout=15_000)
    use.click()
    t1, t2 = kernel_eval(page, "v = explorer.form.values; print(v['T1'], v['T2'])").split()
    assert "2023-09-01" < t1 < t2 < "2023-09-11T01", (t1, t2)
    errors.assert_none()
