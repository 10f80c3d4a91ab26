"""LightCurveView in a real JupyterLab: a 1.7 M-bin SPI-ACS day renders, zoom redraws, the brush fills T1/T2."""

from __future__ import annotations

import re
import shutil

import pytest
from helpers import open_and_run, page_errors, screenshot
from playwright.sync_api import Page, expect
from shared_data import SAMPLES

pytestmark = pytest.mark.browser

# One day of SPI-ACS at the native 0.05 s (1 728 000 bins), as the dispatcher's FITS layout
# (PROTOCOL §5.5), turned into a LightCurve by the product model.
SETUP = """\
import numpy as np, ipywidgets as w
from astropy.io import fits
from oda_widgets.products.light_curve import LightCurve
from oda_widgets.light_curve import LightCurveView
from oda_widgets.form import QueryForm
from oda_widgets.client.description import parse_description
from oda_widgets.demo.instruments import meta_data

n = 1_728_000
rng = np.random.default_rng(0)
rate = rng.poisson(4000, n) / 0.05
rate[1_000_000] = 4e6   # a one-bin burst that must stay visible at every zoom
hdu = fits.BinTableHDU.from_columns([
    fits.Column("TIME", "D", unit="s", array=(np.arange(n) + 0.5) * 0.05 - 43200.0),
    fits.Column("RATE", "D", unit="count/s", array=rate),
    fits.Column("ERROR", "D", unit="count/s", array=np.sqrt(rate * 0.05) / 0.05)], name="RATE")
hdu.header.update(INSTRUME="SPI-ACS", TELESCOP="INTEGRAL", TIMEDEL=0.05, TIMEUNIT="s", MJDREF=51544.0,
                  TIMESYS="TT", TIMEZERO=8826.5 * 86400.0)
lc = LightCurve.from_product(fits.HDUList([fits.PrimaryHDU(), hdu]))
form = QueryForm(None, "spi_acs", "spi_acs_lc", description=parse_description(meta_data("spi_acs", "spi_acs_lc")))
"""

VIEW = """\
import ipywidgets
view = LightCurveView(lc, columns=1000)
view.add_class("lc-under-test")
view.link_form(form)
status = w.Label(); status.add_class("lc-status")
chosen = w.Label(); chosen.add_class("lc-t1t2")
# every message the kernel sends to the page for the figure's widgets (not for these labels)
figure_messages = []
_send = ipywidgets.Widget._send
def counting_send(self, msg, buffers=None):
    if not isinstance(self, (w.Label, w.HTML, w.Button)):
        figure_messages.append(f"{type(self).__name__}:{msg.get('method')}:{','.join(sorted(msg.get('state', {})))}")
    return _send(self, msg, buffers=buffers)
ipywidgets.Widget._send = counting_send
def report(_=None):
    x, y = view.drawn(0)
    status.value = (f"redraws={view.redraws} points={len(x)} span={float(x[-1] - x[0]):.3f} ymax={y.max():.0f} "
                    f"sent={'|'.join(figure_messages)}")
    figure_messages.clear()
def show_form(_=None):
    p = form.params
    chosen.value = f"T1={p.get('T1')} T2={p.get('T2')} T_format={p.get('T_format')}"
view.observe(report, "redraws")
view.message.observe(show_form, "value")
report()
png = w.Button(description="export png"); png.add_class("lc-png")
saved = w.Label(); saved.add_class("lc-png-saved")
png.on_click(lambda _: view.export_png("lc-export.png", on_saved=lambda p: setattr(saved, "value", f"png {p.stat().st_size} bytes")))
w.VBox([view, status, chosen, png, saved])
"""

STATUS = re.compile(r"redraws=(\d+) points=(\d+) span=([\d.]+) ymax=(\d+) sent=(\S*)")


def _status(page: Page):
    m = STATUS.search(page.locator(".lc-status").inner_text())
    assert m, page.locator(".lc-status").inner_text()
    return int(m[1]), int(m[2]), float(m[3]), float(m[4]), m[5]


def _keep(shot, tmp_path) -> None:
    """Other browser sessions clear test-results/ when they start: keep a copy with this test's tmp files."""
    shutil.copy(shot, tmp_path / shot.name)


# the rate line: the first row of the curve's mark
RATE_LINE = ".lc-under-test .bqplot g.curve path.line"


def _path_points(page: Page) -> int:
    """Points in the drawn rate line (its SVG path: one M/L command per point)."""
    d = page.locator(RATE_LINE).first.get_attribute("d") or ""
    return len(re.findall(r"[ML]", d))


def test_a_day_of_spi_acs_renders_zooms_and_brushes(page: Page, jupyter_server, make_notebook, tmp_path):
    errors = page_errors(page)
    nb = make_notebook(SETUP, VIEW, name="lc")
    open_and_run(page, jupyter_server, nb, wait=True, timeout=120_000)
    expect(page.locator(".lc-status")).to_contain_text("redraws=", timeout=60_000)
    redraws, points, span, ymax, _ = _status(page)
    assert 1000 < points <= 4 * 1002  # screen-sized, not 1.7 M
    assert span == pytest.approx(86400, rel=1e-3)
    assert ymax == 4e6  # the burst survived decimation
    page.wait_for_function(f"() => document.querySelector('{RATE_LINE}') !== null")
    drawn = _path_points(page)
    assert drawn > 1000, drawn
    d_before = page.locator(RATE_LINE).first.get_attribute("d")
    _keep(screenshot(page, "light-curve-1.7M"), tmp_path)

    # zoom in with the wheel over the middle of the plot: the kernel re-decimates the new range
    figure = page.locator(".lc-under-test .bqplot").first
    figure.scroll_into_view_if_needed()
    box = figure.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.55, box["y"] + box["height"] * 0.5)
    for _ in range(4):
        page.mouse.wheel(0, -400)
        page.wait_for_timeout(100)
    page.wait_for_function(
        "(n) => { const m = document.querySelector('.lc-status').innerText.match(/redraws=(\\d+)/);"
        " return m && +m[1] > n; }",
        arg=redraws,
        timeout=30_000,
    )
    page.wait_for_timeout(500)  # let the debounced last redraw land
    _, points_zoomed, span_zoomed, _, _ = _status(page)
    assert span_zoomed < span / 2, (span_zoomed, span)
    assert points_zoomed > 1000  # finer detail in the smaller range, still screen-sized
    assert page.locator(RATE_LINE).first.get_attribute("d") != d_before
    _keep(screenshot(page, "light-curve-zoomed"), tmp_path)

    # one wheel step = one zoom: the kernel sends exactly one message (the curve's mark with its new
    # rows; no echo of the scale's min/max), and the page redraws the rate line once with the new data
    # (after bqplot's own instant rescale of the old points)
    page.wait_for_timeout(1000)
    redraws, *_ = _status(page)
    page.evaluate(
        """(sel) => { window.__lcPaths = []; const seen = () => {
             const el = document.querySelector(sel); const d = el && el.getAttribute('d');
             if (d && d !== window.__lcPaths[window.__lcPaths.length - 1]) window.__lcPaths.push(d); };
           seen(); window.__lcObserver = new MutationObserver(seen);
           window.__lcObserver.observe(document, {subtree: true, childList: true, attributes: true, attributeFilter: ['d']}); }""",
        RATE_LINE,
    )
    page.mouse.wheel(0, -300)
    page.wait_for_function(
        "(n) => { const m = document.querySelector('.lc-status').innerText.match(/redraws=(\\d+)/);"
        " return m && +m[1] > n; }",
        arg=redraws,
        timeout=30_000,
    )
    page.wait_for_timeout(1500)
    after, points_now, *_, sent = _status(page)
    assert after == redraws + 1
    assert sent == "Lines:update:x,y", sent
    paths = page.evaluate("() => { window.__lcObserver.disconnect(); return window.__lcPaths; }")
    # the path before, bqplot's rescale of the old points, the kernel's new points: one data redraw
    assert len(paths) == 3, len(paths)
    assert len(re.findall(r"[ML]", paths[-1])) == points_now

    # brush an interval and copy it into the form
    page.locator(".lc-under-test button", has_text="select interval").click()
    figure.scroll_into_view_if_needed()
    box = figure.bounding_box()
    y = box["y"] + box["height"] * 0.5
    page.mouse.move(box["x"] + box["width"] * 0.35, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, y, steps=8)
    page.mouse.move(box["x"] + box["width"] * 0.65, y, steps=8)
    page.mouse.up()
    use = page.locator(".lc-under-test button", has_text="Use as T1/T2")
    expect(use).to_be_enabled(timeout=10_000)
    use.click()
    chosen = page.locator(".lc-t1t2")
    expect(chosen).to_contain_text("T_format=isot", timeout=15_000)
    m = re.search(r"T1=(\S+) T2=(\S+)", chosen.inner_text())
    assert m and m[1].startswith("2024-03-0") and m[2] > m[1], chosen.inner_text()
    _keep(screenshot(page, "light-curve-brushed"), tmp_path)

    # export_png asks the page for the figure's pixels and writes them from the kernel
    page.locator(".lc-png button, button.lc-png").first.click()
    expect(page.locator(".lc-png-saved")).to_contain_text("bytes", timeout=30_000)
    png = jupyter_server["root"] / "lc-export.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert int(page.locator(".lc-png-saved").inner_text().split()[1]) > 10_000
    errors.assert_none()


SPECTRUM = """\
import numpy as np, ipywidgets as w
from astropy.io import fits
from oda_widgets.products.spectrum import Spectrum
from oda_widgets.spectrum import SpectrumView
rmf = fits.open(RMF_PATH)
e = (rmf["EBOUNDS"].data["E_MIN"] + rmf["EBOUNDS"].data["E_MAX"]) / 2
rate = 2.0 * (e / 20.0) ** -1.1 * (rmf["EBOUNDS"].data["E_MAX"] - rmf["EBOUNDS"].data["E_MIN"])
rate[e > 600] = np.nan
spec = fits.BinTableHDU.from_columns([
    fits.Column("CHANNEL", "J", array=rmf["EBOUNDS"].data["CHANNEL"]),
    fits.Column("RATE", "E", array=rate), fits.Column("STAT_ERR", "E", array=0.05 * rate),
    fits.Column("SYS_ERR", "E", array=np.full(rate.size, 0.02))], name="ISGR-EVTS-SPE")
view = SpectrumView(Spectrum("Crab", fits.HDUList([fits.PrimaryHDU(), spec]), None, rmf), energy_band=(30, 80))
view.add_class("spectrum-under-test")
n_points = w.Label(f"points={len(view._scatters[0].x)}"); n_points.add_class("spectrum-points")
w.VBox([view, n_points])
"""


def test_spectrum_from_the_real_isgri_rmf_renders(page: Page, jupyter_server, make_notebook, tmp_path):
    errors = page_errors(page)
    nb = make_notebook(f"RMF_PATH = {str(SAMPLES / 'isgri_rmf_Crab.fits')!r}\n" + SPECTRUM, name="spectrum")
    open_and_run(page, jupyter_server, nb, wait=True, timeout=120_000)
    expect(page.locator(".spectrum-points")).to_contain_text("points=", timeout=60_000)
    n = int(page.locator(".spectrum-points").inner_text().split("=")[1])
    assert n > 100
    # one SVG dot per plotted channel, on log axes labelled with units
    page.wait_for_function(
        "(n) => document.querySelectorAll('.spectrum-under-test .dot').length >= n", arg=n, timeout=30_000
    )
    root = page.locator(".spectrum-under-test")
    root.scroll_into_view_if_needed()
    expect(root).to_contain_text("Energy [keV]")
    expect(root).to_contain_text("counts s⁻¹ keV⁻¹")
    _keep(screenshot(page, "spectrum-isgri-rmf"), tmp_path)
    errors.assert_none()
