"""SpectrumView's fit panel in a real JupyterLab: press Fit, the results table, the model over the data
and the residual plot appear; the same fit is the view's last_fit in the kernel."""

from __future__ import annotations

import pytest
from helpers import kernel_eval, open_and_run, page_errors, screenshot
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

SETUP = """\
from astropy import units as u
from oda_widgets import demo
from oda_widgets.client import Dispatcher
from oda_widgets.spectrum import SpectrumView

server = demo.start(speed=20.0)
params = dict(RA=299.59, DEC=35.2, T1="2015-06-06T00:00:00", T2="2015-06-09T00:00:00", max_pointings=10)
spectra = Dispatcher(server.url).submit("isgri", "isgri_spectrum", params).wait(timeout=120).spectra
cyg = next(s for s in spectra if s.source == "Cyg X-1")
"""

VIEW = """\
view = SpectrumView(cyg)
view.add_class("fit-under-test")
view.set_model("cutoffpl")
view.set_energy_range(20, 300)
view
"""


def test_fit_button_shows_results_model_and_residuals(page: Page, jupyter_server, make_notebook, tmp_path):
    errors = page_errors(page)
    nb = make_notebook(SETUP, VIEW, name="spectrum-fit")
    open_and_run(page, jupyter_server, nb, wait=True, timeout=120_000)
    root = page.locator(".fit-under-test")
    expect(root.locator(".oda-fit-panel")).to_be_visible(timeout=60_000)
    residuals = root.locator(".oda-fit-residuals")
    expect(residuals).to_have_count(0)

    button = root.locator(".oda-fit-button")
    button.scroll_into_view_if_needed()
    button.click()
    results = root.locator(".oda-fit-results")
    expect(results).to_contain_text("χ²/dof", timeout=60_000)
    expect(results).to_contain_text("cutoffpl.gamma")
    expect(results).to_contain_text("erg cm⁻² s⁻¹")
    expect(residuals).to_be_visible()
    # the model is drawn as a line over the data, the residuals as points
    page.wait_for_function(
        "() => [...document.querySelectorAll('.fit-under-test path.line')].some(p => (p.getAttribute('d') || '').length > 200)"
    )
    assert residuals.locator(".dot").count() > 10

    # the button ran view.fit(): the kernel holds the same result the table shows
    gamma = kernel_eval(page, "print(f\"{view.last_fit['gamma'].value.value:.4g}\")").strip()
    assert gamma and gamma in results.inner_text()
    shot = screenshot(page, "spectrum-fit")
    (tmp_path / shot.name).write_bytes(shot.read_bytes())
    results.scroll_into_view_if_needed()
    screenshot(page, "spectrum-fit-results")
    kernel_eval(page, "server.stop()")
    errors.assert_none()
