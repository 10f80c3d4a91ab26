"""The query form in a real JupyterLab: renders, refuses an out-of-range energy, submits once fixed."""

from __future__ import annotations

import pytest
from helpers import open_and_run, page_errors, screenshot
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

FORM = """\
from oda_widgets import demo
from oda_widgets.client import Dispatcher
from oda_widgets.form import QueryForm
server = demo.start(speed=20.0)
form = QueryForm(Dispatcher(server.url, token=demo.make_token()), "isgri", "isgri_spectrum")
form
"""


def test_form_validates_and_submits(page: Page, jupyter_server, make_notebook):
    errors = page_errors(page)
    nb = make_notebook(FORM, name="form")
    open_and_run(page, jupyter_server, nb, wait=True)

    form = page.locator(".oda-query-form")
    expect(form).to_be_visible(timeout=60_000)
    for name in ("src_name", "RA", "DEC", "T1", "T2", "scw_list", "osa_version", "E1_keV", "E2_keV"):
        expect(form.locator(f".oda-field-{name}")).to_be_visible()
    expect(form.locator(".oda-field-token")).to_have_count(0)
    submit = form.locator("button.oda-form-submit")
    expect(submit).to_be_enabled()

    e1 = form.locator(".oda-field-E1_keV input")
    expect(e1).to_have_value("20.0")
    e1.fill("10")
    message = form.locator(".oda-field-E1_keV .oda-field-error")
    expect(message).to_have_text("E1_keV must be ≥ 15 keV (allowed 15–800 keV)", timeout=15_000)
    expect(submit).to_be_disabled()
    screenshot(page, "form-energy-out-of-range")

    e1.fill("25")
    expect(message).to_have_count(0, timeout=15_000)
    expect(submit).to_be_enabled()
    submit.click()
    expect(form.locator(".oda-form-note")).to_contain_text("Submitted isgri/isgri_spectrum", timeout=30_000)
    expect(form.locator(".oda-job-status")).to_be_visible(timeout=30_000)
    expect(form.locator(".oda-job-status .oda-job-state-done")).to_be_visible(timeout=90_000)
    screenshot(page, "form-submitted")
    errors.assert_none()
