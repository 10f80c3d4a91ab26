"""The form's inputs at the web frontend's level in a real JupyterLab: a ScW list file uploaded
through the List file button, an MMODA share link pasted into the paste box, and a time bin the
instrument refuses offering its fix, which one click applies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import kernel_eval, open_and_run, page_errors, screenshot
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

FORM = """\
from oda_widgets import demo
from oda_widgets.client import Dispatcher
from oda_widgets.form import QueryForm
server = demo.start(speed=20.0)
form = QueryForm(Dispatcher(server.url, token=demo.make_token()), "jemx", "jemx_lc")
form
"""

A, B = "066500220010.001", "066500230010.001"

# the frontend's own Share link of an SPI-ACS light curve (tests/client/data), with a 0.12 s bin
_CASES = json.loads((Path(__file__).parents[1] / "client" / "data" / "frontend_share_links.json").read_text())
SPI_LINK = next(c["link"] for c in _CASES["cases"] if "spi_acs" in c["link"]).replace(
    "time_bin=0.05", "time_bin=0.12"
)


def test_upload_paste_link_and_fix(page: Page, jupyter_server, make_notebook):
    errors = page_errors(page)
    nb = make_notebook(FORM, name="form-inputs")
    open_and_run(page, jupyter_server, nb, wait=True)
    form = page.locator(".oda-query-form")
    expect(form).to_be_visible(timeout=60_000)

    # a list file through the List file button
    scw = form.locator(".oda-field-scw_list")
    # the FileUpload's <input type=file> is not in the page: choose the file as a user does
    with page.expect_file_chooser() as chooser:
        scw.locator("button.oda-field-upload").click()
    chooser.value.set_files(
        {"name": "scws.txt", "mimeType": "text/plain", "buffer": f"{A}\n{B}\n{A}\n".encode()}
    )
    expect(scw.locator("textarea")).to_have_value(f"{A}, {B}", timeout=15_000)
    expect(scw.locator(".oda-field-summary")).to_have_text(
        "2 science windows from scws.txt (1 duplicate removed)", timeout=15_000
    )
    screenshot(page, "form-scw-list-uploaded")
    assert kernel_eval(page, "print(form.values['scw_list'])").strip() == str([A, B])

    # the frontend's share link pasted into the paste box
    form.locator("button.oda-form-paste").click()
    box = form.locator(".oda-form-api-code textarea")
    expect(box).to_be_visible()
    box.fill(SPI_LINK)
    form.locator("button.oda-form-load-code").click()
    expect(form.locator(".oda-form-product select")).to_have_value("spi_acs_lc", timeout=15_000)
    expect(form.locator(".oda-field-src_name input")).to_have_value("GRB 221009A")

    # its 0.12 s bin is refused by the SPI-ACS rule, with the nearest valid bins as buttons
    tb = form.locator(".oda-field-time_bin")
    expect(tb.locator(".oda-field-error")).to_contain_text(
        "SPI-ACS bins are multiples of 0.05 s", timeout=15_000
    )
    fixes = tb.locator("button.oda-field-fix")
    expect(fixes).to_have_text(["Use 0.1", "Use 0.15"])
    expect(form.locator("button.oda-form-submit")).to_be_disabled()
    screenshot(page, "form-time-bin-fix-offered")
    fixes.first.click()
    expect(tb.locator("input").first).to_have_value("0.1", timeout=15_000)
    expect(tb.locator(".oda-field-error")).to_have_count(0)
    expect(form.locator("button.oda-form-submit")).to_be_enabled()
    assert kernel_eval(page, "print(form.values['time_bin'], form.errors)").strip() == "0.1 {}"
    errors.assert_none()
