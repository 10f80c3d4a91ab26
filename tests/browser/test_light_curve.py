"""LightCurveView in a real JupyterLab: a 1.7 M-bin SPI-ACS day renders on the canvas; a zoom (even a
burst of wheel steps) is one message to the kernel, one back and one repaint with the new points; pan
and box zoom likewise; the brush fills T1/T2; overlays are drawn; UTC tick labels agree with astropy;
the PNG export has the plot's size."""

from __future__ import annotations

import json
import re
import shutil
import struct

import pytest
from astropy.time import Time, TimeDelta
from helpers import kernel_eval, open_and_run, page_errors, screenshot
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
# every comm message of the figure's widgets (not these labels, nor the view's controls), both ways:
# patched before the view exists, so its comm's handler is the counting one
figure_messages, received = [], []
_send, _handle = ipywidgets.Widget._send, ipywidgets.Widget._handle_msg
def counting_send(self, msg, buffers=None):
    if not isinstance(self, (w.Label, w.HTML, w.Button)):
        figure_messages.append(f"{type(self).__name__}:{msg.get('method')}:{','.join(sorted(msg.get('state', {})))}")
    return _send(self, msg, buffers=buffers)
def counting_handle(self, msg):
    data = msg["content"]["data"]
    if data.get("method") == "update":
        received.append(f"{type(self).__name__}:{','.join(sorted(data.get('state', {})))}")
    return _handle(self, msg)
ipywidgets.Widget._send, ipywidgets.Widget._handle_msg = counting_send, counting_handle
view = LightCurveView(lc, columns=1000)
view.add_class("lc-under-test")
view.link_form(form)
status = w.Label(); status.add_class("lc-status")
chosen = w.Label(); chosen.add_class("lc-t1t2")
def report(_=None):
    x, y = view.drawn(0)
    status.value = (f"redraws={view.redraws} points={len(x)} span={float(x[-1] - x[0]):.3f} ymax={y.max():.0f} "
                    f"sent={'|'.join(figure_messages)} received={'|'.join(received)}")
    figure_messages.clear(); received.clear()
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

STATUS = re.compile(r"redraws=(\d+) points=(\d+) span=([\d.]+) ymax=(\d+) sent=(\S*) received=(\S*)")
PLOT = ".lc-under-test .oda-lc-plot"


def _status(page: Page):
    m = STATUS.search(page.locator(".lc-status").inner_text())
    assert m, page.locator(".lc-status").inner_text()
    return int(m[1]), int(m[2]), float(m[3]), float(m[4]), m[5], m[6]


def _data(page: Page) -> dict:
    """The plot's record of what it drew (dataset of its root element)."""
    return page.evaluate(f"() => Object.assign({{}}, document.querySelector('{PLOT}').dataset)")


def _keep(shot, tmp_path) -> None:
    """Other browser sessions clear test-results/ when they start: keep a copy with this test's tmp files."""
    shutil.copy(shot, tmp_path / shot.name)


def _plot_box(page: Page) -> tuple[float, float, float, float]:
    """(left, right, top, bottom) of the plotting area in page pixels."""
    canvas = page.locator(f"{PLOT} canvas").first
    canvas.scroll_into_view_if_needed()  # mouse coordinates must be inside the viewport
    c = canvas.bounding_box()
    b = json.loads(_data(page)["box"])
    return (
        c["x"] + b["left"],
        c["x"] + b["left"] + b["width"],
        c["y"] + b["top"],
        c["y"] + b["top"] + b["height"],
    )


def _wait_redraw(page: Page, after: int) -> None:
    page.wait_for_function(
        "(n) => { const m = document.querySelector('.lc-status').innerText.match(/redraws=(\\d+)/);"
        " return m && +m[1] > n; }",
        arg=after,
        timeout=30_000,
    )


def _one_gesture(page: Page, gesture) -> tuple[int, str, str, dict, dict]:
    """Run ``gesture()``; return (points now, what the kernel sent, what it received, the plot's
    record before and after) once the kernel has answered and the page is quiet again."""
    redraws, *_ = _status(page)
    before = _data(page)
    gesture()
    _wait_redraw(page, redraws)
    page.wait_for_timeout(1200)  # anything else that would follow (a second message, a late repaint)
    after_redraws, points, _, _, sent, received = _status(page)
    assert after_redraws == redraws + 1
    return points, sent, received, before, _data(page)


def test_a_day_of_spi_acs_renders_zooms_and_brushes(page: Page, jupyter_server, make_notebook, tmp_path):
    errors = page_errors(page)
    nb = make_notebook(SETUP, VIEW, name="lc")
    open_and_run(page, jupyter_server, nb, wait=True, timeout=120_000)
    expect(page.locator(".lc-status")).to_contain_text("redraws=", timeout=60_000)
    _, points, span, ymax, _, _ = _status(page)
    assert 1000 < points <= 4 * 1002  # screen-sized, not 1.7 M
    assert span == pytest.approx(86400, rel=1e-3)
    assert ymax == 4e6  # the burst survived decimation
    page.wait_for_function(
        f"() => +(document.querySelector('{PLOT}') || {{dataset: {{}}}}).dataset.points > 1000"
    )
    first = _data(page)
    assert int(first["points"]) == points  # every point the kernel sent is on the canvas
    _keep(screenshot(page, "light-curve-1.7M"), tmp_path)

    # a burst of wheel steps over the middle of the plot: drawn at once in the page, then ONE
    # message to the kernel (the range), ONE back (the points) and ONE repaint with them
    left, right, top, bottom = _plot_box(page)
    page.mouse.move(left + (right - left) * 0.55, (top + bottom) / 2)

    def wheel_burst():
        for _ in range(4):
            page.mouse.wheel(0, -400)
            page.wait_for_timeout(30)

    points, sent, received, before, after = _one_gesture(page, wheel_burst)
    assert sent == "LightCurvePlot:update:data", sent
    assert received == "LightCurvePlot:x_range", received
    assert int(after["dataPaints"]) == int(before["dataPaints"]) + 1
    view = json.loads(after["view"])
    assert view[1] - view[0] < 86400 * 0.3  # exp(-1.6): a fifth of the day
    assert int(after["points"]) == points > 1000  # finer detail in the smaller range, still screen-sized
    _keep(screenshot(page, "light-curve-zoomed"), tmp_path)

    # one wheel step: the same, and the page's repaints are the instant local one and the data one
    points, sent, received, before, after = _one_gesture(page, lambda: page.mouse.wheel(0, -300))
    assert (sent, received) == ("LightCurvePlot:update:data", "LightCurvePlot:x_range")
    assert int(after["dataPaints"]) == int(before["dataPaints"]) + 1
    assert int(after["paints"]) - int(before["paints"]) <= 3
    assert int(after["points"]) == points

    # pan: the drag moves the points the page has; the release asks once
    left, right, top, bottom = _plot_box(page)
    old = json.loads(_data(page)["view"])

    def drag(x0: float, x1: float):
        page.mouse.move(x0, (top + bottom) / 2)
        page.mouse.down()
        page.mouse.move(x1, (top + bottom) / 2, steps=10)
        page.mouse.up()

    points, sent, received, before, after = _one_gesture(page, lambda: drag(left + 500, left + 300))
    assert (sent, received) == ("LightCurvePlot:update:data", "LightCurvePlot:x_range")
    new = json.loads(after["view"])
    shift = (old[1] - old[0]) * 200 / (right - left)
    assert new[0] - old[0] == pytest.approx(shift, rel=0.05)
    assert int(after["dataPaints"]) == int(before["dataPaints"]) + 1

    # box zoom (the toolbar's tool): released over a fifth of the plot → that fifth, one message
    page.locator(f"{PLOT} [data-testid=lc-tool-zoom]").click()
    assert kernel_eval(page, "print(view.mode)").strip() == "box"
    kernel_eval(page, "received.clear(); figure_messages.clear()")  # the tool's own message
    left, right, top, bottom = _plot_box(page)
    old = json.loads(_data(page)["view"])
    points, sent, received, _, after = _one_gesture(
        page, lambda: drag(left + (right - left) * 0.4, left + (right - left) * 0.6)
    )
    assert (sent, received) == ("LightCurvePlot:update:data", "LightCurvePlot:x_range")
    new = json.loads(after["view"])
    assert new[1] - new[0] == pytest.approx((old[1] - old[0]) * 0.2, rel=0.03)

    # brush an interval (the toolbar's select tool) and copy it into the form
    page.locator(f"{PLOT} [data-testid=lc-tool-select]").click()
    left, right, top, bottom = _plot_box(page)
    page.mouse.move(left + (right - left) * 0.35, (top + bottom) / 2)
    page.mouse.down()
    page.mouse.move(left + (right - left) * 0.5, (top + bottom) / 2, steps=8)
    page.mouse.move(left + (right - left) * 0.65, (top + bottom) / 2, steps=8)
    page.mouse.up()
    use = page.locator(".lc-under-test button", has_text="Use as T1/T2")
    expect(use).to_be_enabled(timeout=10_000)
    sel = json.loads(_data(page)["selection"])
    picked = kernel_eval(
        page, "print(view.selected_interval[0].isot, view.selected_interval[1].isot)"
    ).split()
    ref = Time(kernel_eval(page, "print(view.reference.isot)").strip(), scale="tt")
    for sec, iso in zip(sel, picked):
        assert abs(((ref + TimeDelta(sec, format="sec")).utc - Time(iso, scale="utc")).sec) < 1e-3
    use.click()
    chosen = page.locator(".lc-t1t2")
    expect(chosen).to_contain_text("T_format=isot", timeout=15_000)
    m = re.search(r"T1=(\S+) T2=(\S+)", chosen.inner_text())
    assert m and m[1].startswith("2024-03-0") and m[2] > m[1], chosen.inner_text()
    assert m[1] == picked[0] and m[2] == picked[1]
    _keep(screenshot(page, "light-curve-brushed"), tmp_path)

    # export_png asks the page for the plot and writes it from the kernel: the plot's own size
    page.locator(".lc-png button, button.lc-png").first.click()
    expect(page.locator(".lc-png-saved")).to_contain_text("bytes", timeout=30_000)
    png = (jupyter_server["root"] / "lc-export.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    width, height = struct.unpack(">II", png[16:24])
    canvas = page.locator(f"{PLOT} canvas").first.bounding_box()
    assert (width, height) == (round(canvas["width"]), round(canvas["height"]))
    errors.assert_none()


OVERLAYS_AND_TICKS = """\
import numpy as np
from astropy import units as u
from astropy.time import Time
from oda_widgets.light_curve import LightCurveView
from oda_widgets.products.light_curve import LightCurve
from oda_widgets.products.rebin import rebin
from astropy.io import fits
with fits.open(JEMX) as h:
    h.readall()
    lc = LightCurve.from_product(h)
view = LightCurveView(lc, time_format="UTC")
view.add_class("lc-ticks")
search = view.analysis.find_excesses(threshold=3)
fit = view.analysis.fit_constant()
view
"""


def test_overlays_drawn_and_utc_tick_labels_agree_with_astropy(page: Page, jupyter_server, make_notebook):
    """The real JEM-X GRB 221009A curve: fit line, excess spans and bins drawn; the page's UTC ticks,
    at several zooms, are the instants astropy computes."""
    errors = page_errors(page)
    cells = f"JEMX = {str(SAMPLES / 'jemx1_lc_GRB221009A.fits')!r}\n" + OVERLAYS_AND_TICKS
    nb = make_notebook(cells, name="lc-ticks")
    open_and_run(page, jupyter_server, nb, wait=True, timeout=120_000)
    plot = ".lc-ticks .oda-lc-plot"
    page.wait_for_function(
        f"() => +(document.querySelector('{plot}') || {{dataset: {{}}}}).dataset.points > 10"
    )
    n_found = int(kernel_eval(page, "print(len(search), sum(e.n_bins for e in search))").split()[1])
    drawn = json.loads(page.locator(plot).get_attribute("data-overlays"))
    assert drawn["fitted model"] == 2 and drawn["excess bins"] == n_found > 0 and drawn["excesses"] >= 1
    page.locator(plot).scroll_into_view_if_needed()
    screenshot(page, "light-curve-overlays")

    ref = Time(kernel_eval(page, "print(view.reference.isot)").strip(), scale="tt")
    spans = [None, 6 * 3600.0, 600.0, 20.0, 0.5]  # the whole curve, then zooms about its middle
    checked = 0
    for span in spans:
        if span is not None:
            kernel_eval(
                page,
                f"a, b = view.plot.full_range; c = (a + b) / 2; view.plot.set_range(c - {span / 2}, c + {span / 2})",
            )
        page.wait_for_function(
            "([sel, want]) => { const v = JSON.parse(document.querySelector(sel).dataset.view);"
            " return Math.abs((v[1] - v[0]) - want) < 1e-6 * want; }",
            arg=[
                plot,
                span
                or json.loads(page.locator(plot).get_attribute("data-view"))[1]
                - json.loads(page.locator(plot).get_attribute("data-view"))[0],
            ],
            timeout=15_000,
        )
        ticks = json.loads(page.locator(plot).get_attribute("data-xticks"))
        assert len(ticks) >= 3, ticks
        date = None
        for sec, label, sub, _px in ticks:
            iso = (ref + TimeDelta(sec, format="sec")).utc.strftime("%Y-%m-%dT%H:%M:%S.%f")
            if ":" in label:
                date = sub or date
                assert date and iso.startswith(date), (label, sub, iso)
                h, m, *s = label.split(":")
                of_day = int(h) * 3600 + int(m) * 60 + (float(s[0]) if s else 0.0)
                got = int(iso[11:13]) * 3600 + int(iso[14:16]) * 60 + float(iso[17:])
                assert abs(got - of_day) < 1e-4, (label, iso)
            else:
                start = {4: "-01-01T00:00:00", 7: "-01T00:00:00", 10: "T00:00:00"}[len(label)]
                assert iso[:19] == label + start, (label, iso)
            checked += 1
    assert checked >= 15
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
