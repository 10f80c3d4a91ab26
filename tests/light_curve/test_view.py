"""LightCurveView in the kernel: the plot's data hold the file's values, time axes agree with astropy,
zoom decimates."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from _lc import IJD0, make_lc
from astropy import units as u
from astropy.io import fits
from astropy.time import Time, TimeDelta
from shared_data import SAMPLES

from oda_widgets.errors import InvalidParameter
from oda_widgets.light_curve import LightCurveView


def jemx_lc(name="jemx1_lc_GRB221009A.fits"):
    """The real JEM-X file as a LightCurve-shaped object, read with astropy only."""
    with fits.open(f"{SAMPLES}/{name}") as h:
        hdu = h["JMX1-SRC.-LCR"]
        d = hdu.data
        timedel = (
            np.asarray(d["TIMEDEL"], float)
            if "TIMEDEL" in d.names
            else np.full(len(d), hdu.header["TIMEDEL"])
        )
        lc = make_lc(
            np.asarray(d["RATE"], float),
            np.asarray(d["ERROR"], float),
            fracexp=np.asarray(d["FRACEXP"], float),
            source=hdu.header["NAME"],
            instrument="JMX1",
        )
        lc.time = IJD0 + TimeDelta(np.asarray(d["TIME"], float) * u.d)
        lc.timedel = timedel * u.d
        lc.xerr = lc.timedel / 2
        lc.e_min, lc.e_max = hdu.header["E_MIN"] * u.keV, hdu.header["E_MAX"] * u.keV
        return lc, np.asarray(d["TIME"], float), np.asarray(d["RATE"], float), np.asarray(d["ERROR"], float)


def test_real_jemx_file_values_are_on_the_marks():
    lc, t, rate, err = jemx_lc()
    v = LightCurveView(lc)
    ok = np.isfinite(rate) & (err > 0)
    x, y = v.drawn(0)
    assert v.time_format == "IJD"
    assert np.allclose(x, t[ok], rtol=0, atol=1e-9)  # float64 IJD, not float32
    assert x.dtype == np.float64
    assert np.array_equal(y, rate[ok].astype(np.float32))
    # every bin drawn: the rate line with its error bars, (t, rate ± error) and (t ± TIMEDEL/2, rate)
    d = v.plot.curve_data(0)
    assert d["mode"] == "bars"
    n = ok.sum()
    assert len(d["x"]) == n
    assert np.allclose(d["y"] - d["err"], rate[ok] - err[ok], rtol=1e-6) and np.allclose(
        d["y"] + d["err"], rate[ok] + err[ok], rtol=1e-6
    )
    with fits.open(f"{SAMPLES}/jemx1_lc_GRB221009A.fits") as h:
        timedel = np.asarray(h[1].data["TIMEDEL"], float)[ok]
    # the page places the bars at origin + x ± half width, in seconds since the view's reference
    assert np.allclose(2 * d["xerr"], timedel * 86400, rtol=1e-6)
    assert np.allclose(d["seconds"] / 86400 + v.plot.time_axis["ref_days"], t[ok], rtol=0, atol=1e-8)
    assert v.y_label == "Rate 4.12–29.66 keV [counts/s]"
    assert v.x_label == "Time [IJD, TT]"
    assert "GRB221009A" in v.stats.value and f"{n} bins" in v.stats.value


def test_osa_file_with_grouping_and_no_timedel_column():
    lc, t, rate, err = jemx_lc("jemx1_lc_osa_with_grouping.fits.gz")
    v = LightCurveView(lc)
    ok = np.isfinite(rate) & (err > 0)
    assert np.allclose(v.drawn(0)[0], t[ok], atol=1e-9)
    v.set_time_format("MJD")
    assert np.allclose(v.drawn(0)[0], t[ok] + 51544.0, atol=1e-9)


@pytest.mark.parametrize("fmt", ["IJD", "MJD", "UTC", "seconds"])
def test_time_axes_agree_with_astropy(fmt):
    zero = Time("2024-03-01T12:00:00", scale="utc").tt
    lc = make_lc(np.arange(1.0, 21.0), np.ones(20), timedel_s=0.05, time_zero=zero, instrument="SPI-ACS")
    lc.e_min = lc.e_max = None
    v = LightCurveView(lc, time_format=fmt)
    x = v.drawn(0)[0]
    t = lc.time
    if fmt == "IJD":
        expect = t.tt.mjd - 51544.0
        assert np.allclose(x, expect, rtol=0, atol=1e-10)
    elif fmt == "MJD":
        assert np.allclose(x, t.tt.mjd, rtol=0, atol=1e-10)
    elif fmt == "UTC":
        got = Time(x.astype("datetime64[us]"), scale="utc")
        assert np.max(np.abs((got - t).to_value(u.s))) < 2e-6
        assert x.dtype.kind == "M"
    else:
        assert np.allclose(x, (t - zero).to_value(u.s), atol=1e-9)
        assert v.x_label == "Time [s since 2024-03-01T12:00:00.000 UTC]"
    assert "~75–2000 keV" in v.y_label


def test_format_switch_keeps_the_view_and_the_selection():
    lc = make_lc(np.arange(100.0) + 1, np.ones(100), timedel_s=10)
    v = LightCurveView(lc)
    start, stop = lc.time[10], lc.time[20]
    v.zoom_to(start, stop)
    v.select_interval(lc.time[12], lc.time[15])
    for fmt in ["UTC", "seconds", "MJD", "IJD"]:
        v.set_time_format(fmt)
        r = v.view_range()
        assert abs((r[0] - start).to_value(u.s)) < 1e-3 and abs((r[1] - stop).to_value(u.s)) < 1e-3
        sel = v.selected_interval
        assert abs((sel[0] - lc.time[12]).to_value(u.s)) < 1e-3
        assert abs((sel[1] - lc.time[15]).to_value(u.s)) < 1e-3
    with pytest.raises(InvalidParameter, match="one of"):
        v.set_time_format("JD")


def test_large_curve_is_decimated_and_zoom_redraws():
    n = 1_700_000
    rng = np.random.default_rng(3)
    rate = rng.poisson(3000, n).astype(float) / 0.05
    rate[1_000_000] = 1e7  # a one-bin burst must be drawn at every zoom level
    zero = Time("2024-03-01T00:00:00", scale="utc").tt
    lc = make_lc(rate, np.sqrt(rate * 0.05) / 0.05, timedel_s=0.05, time_zero=zero, instrument="SPI-ACS")
    v = LightCurveView(lc, columns=1000)
    x = v.drawn(0)[0]
    assert len(x) <= 4 * 1002
    assert v.drawn(0)[1].max() == 1e7
    assert v.bytes_sent < 200_000
    # zooming (as the front end does: set the plot's x_range) redraws at full detail
    burst_t = (lc.time[1_000_000] - zero).to_value(u.s)
    before = v.redraws
    v.plot.set_state({"x_range": [burst_t - 10, burst_t + 10]})
    assert v.redraws > before
    x = v.drawn(0)[0]
    assert x.min() <= burst_t - 10 and x.max() >= burst_t + 10
    assert len(x) == 20 / 0.05 + 2  # all 400 in-range bins plus one neighbour per side
    assert v.drawn(0)[1].max() == 1e7
    v.reset_zoom()
    assert len(v.drawn(0)[0]) <= 4 * 1002


def test_rebin_control_and_sources():
    a = make_lc(np.arange(1.0, 41.0), np.ones(40), source="A")
    b = make_lc(np.full(40, 3.0), np.ones(40), source="B")
    v = LightCurveView([a, b])
    assert v.sources == ["A", "B"]
    assert v.plot.series[0]["colour"] != v.plot.series[1]["colour"]
    v._rebin_text.value = "4"
    v._rebin_button.click()
    assert len(v.drawn(0)[1]) == 10
    assert v.drawn(0)[1][0] == pytest.approx(2.5)
    v._rebin_text.value = "1000 s"
    v._rebin_button.click()
    assert len(v.drawn(1)[1]) == 4
    v._rebin_text.value = "3 keV"
    v._rebin_button.click()
    assert "not a time width" in v.message.value
    v.rebin(None)
    assert len(v.drawn(0)[1]) == 40
    v.show_sources(["B"])
    assert v.plot.hidden == ["A"] and [c["name"] for c in v.plot.data["curves"]] == ["B"]
    assert "A" not in v.stats.value.replace("bins", "")
    with pytest.raises(InvalidParameter, match="unknown source"):
        v.show_sources(["C"])


class _Form:
    """The part of QueryForm the view calls."""

    def __init__(self):
        self.calls = []

    def set_values(self, **kw):
        self.calls.append(kw)


def test_brush_to_t1_t2():
    lc = make_lc(np.arange(1.0, 101.0), np.ones(100), timedel_s=60)
    v = LightCurveView(lc)
    with pytest.raises(InvalidParameter, match="link_form"):
        v.use_as_t1_t2()
    form = _Form()
    v.link_form(form)
    with pytest.raises(InvalidParameter, match="select an interval"):
        v.use_as_t1_t2()
    assert v._t1t2_button.disabled
    # what the brush sends back: two times in seconds since the view's reference
    v.set_mode("select")
    assert v.plot.tool == "select" and v.mode == "select"
    sec = (lc.time[[10, 20]] - v.reference).to_value(u.s)
    v.plot.set_state({"selection": [float(sec[0]), float(sec[1])]})
    assert not v._t1t2_button.disabled
    v._t1t2_button.click()
    call = form.calls[-1]
    assert call["T_format"] == "isot"
    assert (
        Time(call["T1"], scale="utc") == lc.time[10].utc.copy(format="isot")
        or abs((Time(call["T1"], scale="utc") - lc.time[10]).to_value(u.s)) < 1e-3
    )
    assert abs((Time(call["T2"], scale="utc") - lc.time[20]).to_value(u.s)) < 1e-3


def test_save_writes_fits(tmp_path):
    lc, _t, _rate, _err = jemx_lc()
    v = LightCurveView(lc)
    v.rebin(2)
    (p,) = v.save(tmp_path / "lc.fits")
    with fits.open(p) as h:
        assert len(h["RATE"].data) == len(v.drawn(0)[1])
        assert np.allclose(h["RATE"].data["RATE"], v.drawn(0)[1])
    two = LightCurveView(
        [make_lc(np.ones(5), np.ones(5), source="X 1"), make_lc(np.ones(5), np.ones(5), source="Y")]
    )
    paths = two.save(tmp_path / "both.fits")
    assert [q.name for q in paths] == ["both_X_1.fits", "both_Y.fits"] and all(q.exists() for q in paths)


def test_export_png_asks_the_front_end(tmp_path):
    v = LightCurveView(make_lc(np.ones(5), np.ones(5)))
    sent = []
    v.plot.send = lambda msg, buffers=None: sent.append(msg)  # no front end here: capture the request
    saved = []
    v.export_png(tmp_path / "lc.png", on_saved=saved.append)
    assert sent and sent[0]["type"] == "export_png"
    # the page's answer is written where asked
    png = b"\x89PNG\r\n\x1a\n" + bytes(16)
    answer = "data:image/png;base64," + base64.b64encode(png).decode()
    v.plot._on_msg(v.plot, {"type": "png", "request": sent[0]["request"], "data": answer}, [])
    assert saved == [tmp_path / "lc.png"] and (tmp_path / "lc.png").read_bytes() == png


def test_bad_input_is_refused():
    with pytest.raises(InvalidParameter, match="needs a light curve"):
        LightCurveView(None)
    with pytest.raises(InvalidParameter, match="empty"):
        LightCurveView([])
    with pytest.raises(InvalidParameter, match="pixels"):
        LightCurveView(make_lc(np.ones(5), np.ones(5)), height="50vh")
    assert LightCurveView(make_lc(np.ones(5), np.ones(5)), height=300).plot.height == 300


@pytest.mark.parametrize("name", ["jemx1_lc_GRB221009A.fits", "jemx1_lc_osa_with_grouping.fits.gz"])
def test_products_light_curve_from_real_file(name):
    from oda_widgets.products.light_curve import LightCurve

    with fits.open(f"{SAMPLES}/{name}") as h:
        h.readall()
        t = np.asarray(h["JMX1-SRC.-LCR"].data["TIME"], float)
        rate = np.asarray(h["JMX1-SRC.-LCR"].data["RATE"], float)
        lc = LightCurve.from_product(h)
        v = LightCurveView(h)  # an HDUList is turned into a LightCurve by the view
    ok = lc.valid
    for view in (v, LightCurveView(lc)):
        assert np.allclose(view.drawn(0)[0], t[ok], atol=1e-9)
        assert np.array_equal(view.drawn(0)[1], rate[ok])
        assert view._source_picker.options == ("GRB221009A",) if "GRB" in name else True
    assert v.y_label.startswith("Rate ") and "keV" in v.y_label
    rebinned = rebin_real = __import__("oda_widgets.products.rebin", fromlist=["rebin"]).rebin(lc, 3)
    v.rebin(3)
    assert np.allclose(v.drawn(0)[1], rebinned.rate.value[rebin_real.valid])


def test_two_curves_of_one_source_get_distinct_names():
    a = make_lc(np.ones(5), np.ones(5), source="Crab")
    b = make_lc(np.ones(5) * 2, np.ones(5), source="Crab", instrument="JMX1")
    v = LightCurveView([a, b])
    assert v.sources == ["Crab", "Crab (2)"]
    assert [c["name"] for c in v.plot.series] == ["Crab", "Crab (2)"]


def _page_zoom(v, lo, hi):
    """What the page sends when the user zooms: the plot's x_range, in one message."""
    v.plot.set_state({"x_range": [float(lo), float(hi)]})


def test_one_zoom_is_one_message_and_one_redraw(sent):
    n = 200_000
    rng = np.random.default_rng(1)
    rate = rng.poisson(4000, n) / 0.05
    zero = Time("2024-03-01T00:00:00", scale="utc").tt
    lc = make_lc(rate, np.sqrt(rate * 0.05) / 0.05, timedel_s=0.05, time_zero=zero, instrument="SPI-ACS")
    v = LightCurveView(lc, columns=800)
    sent.clear()
    before = v.redraws
    _page_zoom(v, 2000.0, 2500.0)
    assert v.redraws == before + 1
    # exactly one message: the plot's data for the new range; no echo of the range, nothing else
    assert [(w, method, keys) for w, method, keys in sent] == [(v.plot, "update", ["data"])]
    x, _ = v.drawn(0)
    assert x[1] >= 2000.0 and x[-2] <= 2500.0 and len(x) <= 4 * 800 + 4
    d = v.plot.curve_data(0)
    # the rate line on its x, and the error envelope once per pixel column
    assert d["mode"] == "envelope" and len(d["y"]) == len(x) and d["lo"].shape == (800,)
    # rates and x travel as float32 (x as offsets from a float64 origin: exact to 1/16 of a pixel
    # column at any zoom, where absolute float32 seconds would not be)
    assert d["y"].dtype == np.float32 and d["x"].dtype == np.float32
    assert np.max(np.abs(d["seconds"] - x)) < 500 / 800 / 16
    # the same range again draws nothing; statistics are never redone by a zoom
    sent.clear()
    _page_zoom(v, 2000.0, 2500.0)
    assert sent == []
    _page_zoom(v, 2000.0, 2001.0)
    d = v.plot.curve_data(0)
    assert d["x"].dtype == np.float32 and np.max(np.abs(d["seconds"] - v.drawn(0)[0])) < 1 / 800 / 16


def test_a_zoom_in_an_event_loop_is_drawn_at_once(run_async, sent):
    # the page coalesces wheel bursts (one x_range per gesture, tests/browser/test_light_curve.py):
    # the kernel answers each range it gets at once, without waiting for a debounce of its own
    import asyncio

    lc = make_lc(np.arange(1.0, 10_001.0), np.ones(10_000), timedel_s=1.0)
    v = LightCurveView(lc, debounce=0.05, time_format="seconds")
    before = v.redraws

    async def one_zoom():
        _page_zoom(v, 100.0, 5000.0)
        return v.redraws

    sent.clear()
    assert run_async(one_zoom()) == before + 1
    run_async(asyncio.sleep(0.1))
    assert v.redraws == before + 1
    assert [m[1:] for m in sent] == [("update", ["data"])]
    assert v.drawn(0)[0].min() <= 100.0 + 1e-9


def test_seconds_since_matches_astropy():
    from oda_widgets.products.rebin import seconds_since

    ref = Time("2024-03-01T12:00:00", scale="utc").tt
    t = ref + TimeDelta(np.linspace(-5e8, 5e8, 10_001) * u.s)  # ±16 years
    assert np.max(np.abs(seconds_since(t, ref) - (t - ref).to_value(u.s))) < 1e-6
    t_utc = Time("2024-03-01T12:00:10", scale="utc") + TimeDelta(np.arange(10) * 0.05 * u.s)
    assert np.allclose(seconds_since(t_utc, ref), (t_utc - ref).to_value(u.s), atol=1e-6)


def test_the_light_curve_publishes_the_brushed_interval():
    lc = make_lc(np.arange(1.0, 101.0), np.ones(100), timedel_s=60)
    view = LightCurveView(lc)
    seen = []
    view.observe(lambda change: seen.append(change["new"]), "selected_interval")
    view.select_interval(lc.time[10], lc.time[20])
    assert len(seen) == 1 and abs((seen[0][1] - lc.time[20]).to_value(u.s)) < 1e-3
    view.select_interval(None)
    assert seen[-1] is None and view.selected_interval is None


def test_an_overlay_follows_time_axis_switches_and_can_be_removed(sent):
    lc = make_lc(np.arange(1.0, 101.0), np.ones(100), timedel_s=60)
    v = LightCurveView(lc)
    times = lc.time[[0, 99]]
    overlay = v.add_overlay("fit", times, [1.0, 100.0] * u.ct / u.s, colour="red")
    assert "fit" in v.overlays and np.allclose(overlay["y"], [1.0, 100.0])
    # on the curve's own time axis: seconds since the view's reference, as the curve's points
    assert np.allclose(v.plot.drawn(0)[0][[0, -1]], overlay["x"], atol=1e-6)
    assert np.allclose(v._sec_to_display(overlay["x"]), v.drawn(0)[0][[0, -1]], atol=1e-9)
    sent.clear()
    v.set_time_format("seconds")
    # the page relabels: the overlay stays as it is, nothing about it is sent again
    assert all("overlays" not in keys for _, _, keys in sent)
    again = v.overlay("fit")
    assert np.allclose(again["x"], v.drawn(0)[0][[0, -1]], atol=1e-6) and again["colour"] == "red"
    v.remove_overlay("fit")
    assert v.overlays == [] and v.plot.overlays == []
    with pytest.raises(InvalidParameter, match="astropy Time"):
        v.add_overlay("bad", [1, 2], [1, 2])
    with pytest.raises(InvalidParameter, match="stops"):
        v.add_overlay("bad", times, kind="span")
    spans = v.add_overlay("burst", times[:1], kind="span", stops=times[1:], colour="#ff7f0e")
    assert np.allclose(spans["x2"] - spans["x"], (times[1] - times[0]).to_value(u.s))
