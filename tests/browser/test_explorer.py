"""The Explorer in a real JupyterLab, and the smoke test of the browser-test machinery itself."""

from __future__ import annotations

import re
import sys

import pytest
from helpers import kernel_eval, open_and_run, page_errors, screenshot, wait_all_executed
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

# A button whose click only the kernel can answer: the label is written by a Python callback.
ROUND_TRIP = """\
import sys, ipywidgets as w, oda_widgets
b = w.Button(description="ping")
b.add_class("smoke-button")
out = w.Label(value="kernel ready")
out.add_class("smoke-echo")
def on_click(_):
    out.value = f"kernel saw click; prefix={sys.prefix}; oda_widgets={oda_widgets.__version__}"
b.on_click(on_click)
w.HBox([b, out])
"""


def test_lab_kernel_round_trip(page: Page, jupyter_server, make_notebook):
    """Lab runs this interpreter's kernel (oda_widgets importable) and a click reaches Python and back."""
    errors = page_errors(page)
    nb = make_notebook(ROUND_TRIP, name="smoke")
    open_and_run(page, jupyter_server, nb)
    wait_all_executed(page)
    echo = page.locator(".smoke-echo")
    expect(echo).to_have_text("kernel ready", timeout=30_000)
    page.locator(".smoke-button button, button.smoke-button").first.click()
    # the kernel is the interpreter running these tests (the project venv), with oda_widgets importable
    expect(echo).to_contain_text(f"kernel saw click; prefix={sys.prefix}; oda_widgets=", timeout=15_000)
    screenshot(page, "smoke-round-trip")
    errors.assert_none()


BROKEN_ESM = """\
import anywidget, traitlets
class Broken(anywidget.AnyWidget):
    _esm = "export default { render({ model, el }) { el.textContent = 'drawn'; throw new Error('oda-broken-render'); } };"
Broken()
"""


def test_page_errors_catch_a_failing_front_end(page: Page, jupyter_server, make_notebook):
    """The collector every browser test relies on does see an exception thrown by an anywidget view."""
    errors = page_errors(page)
    nb = make_notebook(BROKEN_ESM, name="broken")
    open_and_run(page, jupyter_server, nb, wait=True)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.jp-OutputArea-output')]"
        ".some(n => n.textContent.includes('drawn'))",
        timeout=30_000,
    )
    # console events reach Python asynchronously: poll the collector, bounded
    for _ in range(100):
        if any("oda-broken-render" in e for e in errors.errors):
            break
        page.wait_for_timeout(100)
    assert any("oda-broken-render" in e for e in errors.errors), (errors.errors, errors.ignored)
    with pytest.raises(AssertionError, match="oda-broken-render"):
        errors.assert_none()


EXPLORER_WITH_TOKEN = """\
import os, tempfile
os.environ["ODA_WIDGETS_CACHE_DIR"] = tempfile.mkdtemp()
os.chdir(tempfile.mkdtemp())
from oda_widgets import demo
from oda_widgets.explorer import Explorer
server = demo.start(speed=20)
secret = demo.make_token()
explorer = Explorer(server.url, token=secret, instrument="spi_acs")
explorer.form.set_values(T1="2022-10-09T13:16:00", T2="2022-10-09T13:26:00", time_bin=2)
explorer
"""

LINE_DRAWN = """() => { const p = document.querySelector('.oda-explorer-results .oda-lc-plot');
  return !!p && +(p.dataset.points || 0) > 50; }"""


def test_explorer_light_curve_api_code_and_save_buttons(page: Page, jupyter_server, make_notebook):
    """SPI-ACS from the form's Submit button; API code and Save products buttons; the token never in the page."""
    errors = page_errors(page)
    nb = make_notebook(EXPLORER_WITH_TOKEN, name="explorer")
    open_and_run(page, jupyter_server, nb, wait=True)
    expect(page.locator(".oda-explorer-banner")).to_contain_text("student@example.org", timeout=60_000)
    page.locator("button.oda-form-submit").click()
    expect(page.locator(".oda-job-status .oda-job-state-done").first).to_be_visible(timeout=60_000)
    page.wait_for_function(LINE_DRAWN, timeout=60_000)
    expect(page.locator(".oda-explorer-results-title")).to_contain_text("spi_acs/spi_acs_lc")

    page.locator("button.oda-explorer-api-code-button").click()
    code = page.locator(".oda-explorer-api-code textarea")
    expect(code).to_be_visible(timeout=15_000)
    expect(code).to_have_value(re.compile(r'"product": "spi_acs_lc"'))
    assert "os.environ['ODA_TOKEN']" in code.input_value()

    # a folder typed in the bar is inside the products folder (the working directory's oda-products/)
    page.locator(".oda-explorer-directory input").fill("saved-lc")
    page.locator("button.oda-explorer-save").click()
    expect(page.locator(".oda-explorer-message")).to_contain_text("Saved 1 file(s)", timeout=15_000)
    out = kernel_eval(
        page,
        "from astropy.io import fits; from oda_widgets.cache import products_dir; "
        "h = fits.open(products_dir() / 'saved-lc/spi_acs_lc_0_query.fits'); "
        "print(h[1].header['INSTRUME'], len(h[1].data))",
    )
    instrume, rows = out.split()
    assert instrume == "SPI-ACS" and int(rows) == 300, out  # 10 min at 2 s

    # brush an interval on the light curve and send it back to the form with "Use as T1/T2"
    results = page.locator(".oda-explorer-results")
    results.get_by_role("button", name="Select interval").click()
    plot = results.locator(".oda-lc-canvas").first
    plot.scroll_into_view_if_needed()  # mouse coordinates must be inside the viewport
    box = plot.bounding_box()
    y = box["y"] + box["height"] * 0.5
    page.mouse.move(box["x"] + box["width"] * 0.35, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, y, steps=8)
    page.mouse.up()
    use = results.get_by_role("button", name="Use as T1/T2")
    expect(use).to_be_enabled(timeout=15_000)
    use.click()
    t1, t2 = kernel_eval(page, "v = explorer.form.values; print(v['T1'], v['T2'])").split()
    # the brushed part of the 13:16-13:26 window, as ISO-T in the form
    assert "2022-10-09T13:16:00" < t1 < t2 < "2022-10-09T13:26:00", (t1, t2)

    secret = kernel_eval(page, "print(secret)").strip()
    assert secret.count(".") == 2 and secret not in page.content()
    page.locator(".oda-explorer-results").scroll_into_view_if_needed()
    screenshot(page, "explorer-light-curve")
    errors.assert_none()


def test_explorer_in_notebook_7(page: Page, jupyter_server, make_notebook):
    """The same widget in the Notebook 7 interface: form, Submit, the job done, the light curve drawn."""
    errors = page_errors(page)
    nb = make_notebook(EXPLORER_WITH_TOKEN, name="explorer-nb7")
    open_and_run(page, jupyter_server, nb, wait=True, ui="notebook")
    expect(page.locator(".oda-explorer-banner")).to_contain_text("student@example.org", timeout=60_000)
    page.locator("button.oda-form-submit").click()
    expect(page.locator(".oda-job-status .oda-job-state-done").first).to_be_visible(timeout=60_000)
    page.wait_for_function(LINE_DRAWN, timeout=60_000)
    screenshot(page, "explorer-notebook7")
    errors.assert_none()
