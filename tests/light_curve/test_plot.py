"""LightCurvePlot in the kernel: what travels per range (binary, screen-sized, exact), one message per
zoom each way, the time axis the page labels (checked against astropy through the page's own JS)."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess

import numpy as np
import pytest
from astropy import units as u
from astropy.time import Time, TimeDelta
from ipywidgets.widgets.widget import _remove_buffers

from oda_widgets._assets import esm_path
from oda_widgets.errors import InvalidParameter
from oda_widgets.light_curve.plot import LightCurvePlot, PlotSeries

REF = Time("2024-03-01T12:00:00", scale="utc")


def spi_acs(n=1_000_000, seed=0, burst=None):
    rng = np.random.default_rng(seed)
    sec = (np.arange(n) + 0.5) * 0.05
    y = rng.poisson(4000, n).astype(np.float32) / np.float32(0.05)
    if burst is not None:
        y[burst] = 4e6
    err = (np.sqrt(y * 0.05) / 0.05).astype(np.float32)
    return PlotSeries("SPI-ACS", sec, y, err, np.broadcast_to(0.025, (n,)))


def page_sets(plot, **state):
    """What the page does: one comm message setting traits (the kernel does not echo x_range)."""
    plot.set_state(state)


def test_a_range_is_sent_as_float32_offsets_exact_to_a_sixteenth_of_a_column():
    s = spi_acs(2_000_000, burst=1_500_000)
    plot = LightCurvePlot([s], reference=REF, columns=800)
    for a, b in [(0.0, 1e5), (74_999.0, 75_001.0), (99_990.0, 99_990.4), (1234.5, 50_000.0)]:
        plot.set_range(a, b)
        d = plot.curve_data(0)
        assert d["x"].dtype == np.float32 and d["y"].dtype == np.float32
        sec, y = plot.drawn(0)
        assert sec.dtype == np.float64
        # the page's x (origin + float32 offset) against the float64 seconds of the same bins
        assert np.max(np.abs(d["seconds"] - sec)) < (b - a) / 800 / 16
        assert np.array_equal(d["y"], y.astype(np.float32))
        assert len(sec) <= 4 * 800 + 4
        if a <= 75_000 <= b:
            assert y.max() == 4e6  # the one-bin burst survives every zoom
    # screen-sized payload: x, y per point and the envelope per column, ~10 B a point
    plot.set_range(0.0, 1e5)
    assert plot.data["curves"][0]["mode"] == "envelope"
    assert plot.bytes_sent == 8 * len(plot.drawn(0)[0]) + 8 * 800


def test_the_envelope_is_sent_once_per_column_and_covers_every_error_bar():
    s = spi_acs(200_000, seed=2)
    plot = LightCurvePlot([s], reference=REF, columns=500)
    a, b = 1000.0, 6000.0
    plot.set_range(a, b)
    d = plot.curve_data(0)
    assert d["lo"].shape == (500,) and d["hi"].shape == (500,) and d["range"] == (a, b)
    col = np.floor((s.seconds - a) / ((b - a) / 500)).astype(int)
    inside = (s.seconds >= a) & (s.seconds <= b) & (col < 500)
    lo = np.full(500, np.inf)
    hi = np.full(500, -np.inf)
    np.minimum.at(lo, col[inside], (s.values - s.errors)[inside])
    np.maximum.at(hi, col[inside], (s.values + s.errors)[inside])
    filled = np.isfinite(lo)
    assert np.allclose(d["lo"][filled], lo[filled], rtol=1e-6) and np.allclose(
        d["hi"][filled], hi[filled], rtol=1e-6
    )
    # a gap in the data is an empty column: NaN, not a band across it
    gappy = PlotSeries("gappy", np.r_[np.arange(0, 100.0), np.arange(300, 400.0)], np.ones(200), np.ones(200))
    plot.set_series([gappy])
    plot.set_range(0.0, 400.0)
    d = plot.curve_data(0)
    if d["mode"] == "envelope":
        assert np.isnan(d["lo"][plot.columns // 2])


def test_few_bins_are_sent_with_their_error_bars_and_one_half_width():
    sec = np.arange(20) * 60.0 + 30.0
    s = PlotSeries("ISGRI", sec, np.arange(20.0), np.full(20, 0.5), np.broadcast_to(30.0, (20,)))
    plot = LightCurvePlot([s], reference=REF, time_format="MJD")
    d = plot.curve_data(0)
    assert d["mode"] == "bars" and d["xerr"] == 30.0 and np.allclose(d["err"], 0.5)
    assert np.allclose(d["seconds"], sec)
    # per-bin widths travel as an array
    s2 = PlotSeries("JEM-X", sec, np.ones(20), np.ones(20), np.linspace(1, 2, 20))
    plot.set_series([s2])
    assert np.allclose(plot.curve_data(0)["xerr"], np.linspace(1, 2, 20), rtol=1e-6)
    # no errors: just the line
    plot.set_series([PlotSeries("model", sec, np.ones(20))])
    assert plot.curve_data(0)["mode"] == "line"


def test_one_zoom_from_the_page_is_one_message_back_and_a_repeat_sends_nothing(sent):
    plot = LightCurvePlot([spi_acs(300_000)], reference=REF, time_format="UTC")
    sent.clear()
    before = plot.redraws
    page_sets(plot, x_range=[2000.0, 2500.0])
    assert plot.redraws == before + 1
    assert sent == [(plot, "update", ["data"])]  # no echo of x_range, nothing else
    assert plot.data["range"] == [2000.0, 2500.0] and plot.data["seq"] == plot.redraws
    sent.clear()
    page_sets(plot, x_range=[2000.0, 2500.0])
    assert sent == [] and plot.redraws == before + 1
    # a range that is not one is ignored (nothing recomputed, nothing sent)
    page_sets(plot, x_range=[5.0, 5.0])
    assert sent == []


def test_python_zooms_send_range_and_points_together_and_axis_switches_send_no_points(sent):
    plot = LightCurvePlot([spi_acs(100_000)], reference=REF)
    sent.clear()
    plot.zoom_to(REF + 100 * u.s, REF + 200 * u.s)
    assert sent == [(plot, "update", ["data", "x_range"])]
    r = plot.view_range()
    assert abs((r[0] - (REF + 100 * u.s)).to_value(u.s)) < 1e-6
    sent.clear()
    plot.set_time_format("IJD")
    # the page relabels the points it has: seconds since the reference stay what they are
    assert sent == [(plot, "update", ["time_axis", "x_label"])]
    assert plot.x_label == "Time [IJD, TT]" and plot.time_axis["format"] == "IJD"
    assert plot.time_axis["ref_days"] == pytest.approx((REF.tt.mjd - 51544.0), abs=1e-10)
    with pytest.raises(InvalidParameter, match="one of"):
        plot.set_time_format("JD")
    with pytest.raises(InvalidParameter, match="after start"):
        plot.zoom_to(REF + 2 * u.s, REF + 1 * u.s)


def test_hidden_curves_are_not_sent_and_the_legend_toggle_redraws_once(sent):
    a = spi_acs(50_000)
    b = PlotSeries("B", a.seconds, a.values * 0.5, a.errors, a.half_widths, colour="#ff7f0e")
    plot = LightCurvePlot([a, b], reference=REF)
    assert plot.series == [{"name": "SPI-ACS", "colour": "#1f77b4"}, {"name": "B", "colour": "#ff7f0e"}]
    assert [c["name"] for c in plot.data["curves"]] == ["SPI-ACS", "B"]
    sent.clear()
    page_sets(plot, hidden=["SPI-ACS"])  # a click on the legend
    assert [c["name"] for c in plot.data["curves"]] == ["B"]
    assert sent == [(plot, "update", ["data"])]
    plot.show(["SPI-ACS", "B"])
    assert len(plot.data["curves"]) == 2 and plot.hidden == []
    with pytest.raises(InvalidParameter, match="unknown curve"):
        plot.show(["C"])
    with pytest.raises(InvalidParameter, match="distinct"):
        plot.set_series([a, a])


def test_selection_overlays_and_their_errors():
    plot = LightCurvePlot([spi_acs(10_000)], reference=REF)
    assert plot.selected_interval is None
    page_sets(plot, selection=[30.0, 10.0])
    t = plot.selected_interval
    assert t.scale == "utc" and t.format == "isot"
    assert (
        abs((t[0] - (REF + 10 * u.s)).to_value(u.s)) < 1e-6
        and abs((t[1] - (REF + 30 * u.s)).to_value(u.s)) < 1e-6
    )
    plot.select(None)
    assert plot.selection == [] and plot.selected_interval is None
    line = plot.add_overlay("fit", [0.0, 500.0], [80_000.0, 81_000.0], colour="red")
    assert np.allclose(line["x"], [0, 500]) and line["kind"] == "line" and line["colour"] == "red"
    plot.add_overlay("peaks", [1.0, 2.0], [3.0, 4.0], kind="markers", marker="diamond")
    plot.add_overlay("excess", [10.0], kind="span", stops=[20.0], colour="#ff7f0e")
    assert plot.overlay_names == ["fit", "peaks", "excess"] and len(plot.overlays) == 3
    assert np.allclose(plot.overlay("excess")["x2"], [20.0])
    plot.remove_overlay("peaks")
    plot.remove_overlay("never there")
    assert [o["name"] for o in plot.overlays] == ["fit", "excess"]
    with pytest.raises(InvalidParameter, match="kind"):
        plot.add_overlay("x", [1.0], [1.0], kind="bars")
    with pytest.raises(InvalidParameter, match="stops"):
        plot.add_overlay("x", [1.0, 2.0], kind="span", stops=[3.0])
    with pytest.raises(InvalidParameter, match="2 times but 1 values"):
        plot.add_overlay("x", [1.0, 2.0], [1.0])
    with pytest.raises(InvalidParameter, match="no overlay"):
        plot.overlay("peaks")


def test_the_state_saved_with_the_notebook_holds_the_points_as_binary_buffers():
    plot = LightCurvePlot([spi_acs(100_000)], reference=REF)
    state, paths, buffers = _remove_buffers(plot.get_state())
    # x, y and the envelope's two edges of the one curve: bytes, not JSON numbers
    assert ["data", "curves", 0, "x", "value"] in paths and len(buffers) == 4
    assert sum(len(b) for b in buffers) == plot.bytes_sent
    # the JSON part of the points: names, range, origin, dtypes — no numbers per point
    text = json.dumps(state["data"])
    assert len(text) < 500 and "SPI-ACS" in text


def test_png_export_round_trip(tmp_path):
    plot = LightCurvePlot([spi_acs(1000)], reference=REF)
    asked = []
    plot.send = lambda content, buffers=None: asked.append(content)  # no page here: capture the request
    got = []
    plot.export_png(got.append, path=tmp_path / "lc.png", scale=2)
    assert asked == [{"type": "export_png", "request": 1, "scale": 2.0}]
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 20
    # the page's answer; a forged one (not a PNG) is ignored
    plot._on_msg(plot, {"type": "png", "request": 1, "data": "data:image/png;base64,AAAA"}, [])
    assert got == [] and plot.png is None
    plot.export_png(got.append, path=tmp_path / "lc.png")
    plot._on_msg(
        plot,
        {"type": "png", "request": 2, "data": "data:image/png;base64," + base64.b64encode(png).decode()},
        [],
    )
    assert got == [png] and (tmp_path / "lc.png").read_bytes() == png


def test_bad_construction_is_refused():
    with pytest.raises(InvalidParameter, match="astropy Time"):
        LightCurvePlot([], reference="2024-01-01")
    empty = LightCurvePlot([], reference=REF)
    assert empty.data["curves"] == [] and empty.range == (0.0, 1.0)
    with pytest.raises(InvalidParameter, match="finite and increasing"):
        empty.set_range(1.0, 1.0)


# -- the page's tick labels against astropy ---------------------------------------------------------

NODE = shutil.which("node")


def page_ticks(spec: dict, ranges: list[tuple[float, float]], width: int = 900) -> list[list[dict]]:
    """js/lightcurve.js's timeTicks for each range, run in node (the module the page loads)."""
    if NODE is None:
        pytest.fail("node is needed to test the front-end helpers (apt-get install nodejs)")
    module = esm_path("lightcurve.js").as_uri()
    script = (
        f"import * as M from {json.dumps(module)};\n"
        "let raw = ''; process.stdin.on('data', d => raw += d);\n"
        "process.stdin.on('end', () => { const {spec, ranges, width} = JSON.parse(raw);\n"
        "const out = ranges.map(([a, b]) => M.timeTicks(a, b, spec, M.labelsFit(width)));\n"
        "process.stdout.write(JSON.stringify(out)); });\n"
    )
    r = subprocess.run(
        [NODE, "--input-type=module", "-e", script],
        input=json.dumps({"spec": spec, "ranges": ranges, "width": width}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.mark.parametrize(
    "reference",
    [
        "2024-03-01T12:00:00",
        # leap seconds at the ends of 2015-06-30 and 2016-12-31 lie inside the curve
        "2014-12-31T00:00:00",
    ],
)
def test_utc_tick_labels_are_astropys_utc_at_every_zoom(reference):
    ref = Time(reference, scale="utc").tt
    span = 3 * 365.25 * 86400
    plot = LightCurvePlot(
        [PlotSeries("x", np.array([0.0, span]), np.ones(2))], reference=ref, time_format="UTC"
    )
    centre = 2.1 * 365.25 * 86400  # 2017 for the second reference: after both leap seconds
    ranges = [(0.0, span)] + [
        (centre - w / 2, centre + w / 2) for w in (4e6, 86400 * 2, 3600, 40, 0.8, 0.004)
    ]
    checked = 0
    for (a, b), ticks in zip(ranges, page_ticks(plot.time_axis, ranges)):
        assert len(ticks) >= 2, (a, b, ticks)
        date = None
        for t in ticks:
            assert a - 1e-6 <= t["sec"] <= b + 1e-6
            when = (ref + TimeDelta(t["sec"], format="sec")).utc
            iso = when.strftime("%Y-%m-%dT%H:%M:%S.%f")  # astropy's UTC, to the microsecond
            label = t["label"]
            if ":" in label:
                # a time of day; the date is written under the first tick and where it changes
                date = t["sub"] or date
                assert date is not None and iso.startswith(date), (iso, date)
                h, m, *sec = label.split(":")
                of_day = int(h) * 3600 + int(m) * 60 + (float(sec[0]) if sec else 0.0)
                got = int(iso[11:13]) * 3600 + int(iso[14:16]) * 60 + float(iso[17:])
                assert abs(got - of_day) < 1e-5, (label, iso)
            else:
                # a day, a month or a year: the tick sits at its first instant
                start = {4: "-01-01T00:00:00", 7: "-01T00:00:00", 10: "T00:00:00"}[len(label)]
                assert iso[:19] == label + start and float(iso[17:]) < 1e-5, (label, iso)
            checked += 1
    assert checked > 20


def test_mjd_days_are_counted_in_the_curves_scale():
    """A workflow's MJD column is UTC: the axis labels its own days (not TT, 69 s later); IJD stays TT."""
    from oda_widgets.products.time_axis import time_axis_spec

    ref = Time(60188.25, format="mjd", scale="utc")
    utc = time_axis_spec(ref, "MJD", scale="utc")["ref_days"]
    tt = time_axis_spec(ref, "MJD")["ref_days"]
    assert utc == pytest.approx(60188.25, abs=1e-9)
    assert (tt - utc) * 86400 == pytest.approx(69.184, abs=1e-3)
    assert time_axis_spec(ref, "IJD", scale="utc")["ref_days"] == pytest.approx(
        ref.tt.mjd - 51544.0, abs=1e-9
    )
    plot = LightCurvePlot(
        [PlotSeries("delta Cep", np.arange(10.0) * 3600, np.full(10, 4.0))],
        reference=ref,
        time_format="MJD",
        time_scale="utc",
    )
    assert plot.time_axis["ref_days"] == pytest.approx(60188.25, abs=1e-9)
    assert plot.x_label == "Time [MJD, UTC]"
