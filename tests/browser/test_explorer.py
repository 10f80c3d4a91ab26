"""The Explorer in a real JupyterLab, and the smoke test of the browser-test machinery itself."""

from __future__ import annotations

import sys

import pytest
from helpers import open_and_run, page_errors, screenshot, wait_all_executed
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


BROKEN_ESM = '''\
import anywidget, traitlets
class Broken(anywidget.AnyWidget):
    _esm = "export default { render({ model, el }) { el.textContent = 'drawn'; throw new Error('oda-broken-render'); } };"
Broken()
'''


def test_page_errors_catch_a_failing_front_end(page: Page, jupyter_server, make_notebook):
    """The collector every browser test relies on does see an exception thrown by an anywidget view."""
    errors = page_errors(page)
    nb = make_notebook(BROKEN_ESM, name="broken")
    open_and_run(page, jupyter_server, nb, wait=True)
    page.wait_for_function("() => [...document.querySelectorAll('.jp-OutputArea-output')]"
                           ".some(n => n.textContent.includes('drawn'))", timeout=30_000)
    # console events reach Python asynchronously: poll the collector, bounded
    for _ in range(100):
        if any("oda-broken-render" in e for e in errors.errors):
            break
        page.wait_for_timeout(100)
    assert any("oda-broken-render" in e for e in errors.errors), (errors.errors, errors.ignored)
    with pytest.raises(AssertionError, match="oda-broken-render"):
        errors.assert_none()
