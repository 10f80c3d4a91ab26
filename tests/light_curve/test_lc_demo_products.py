"""Light curves served over HTTP by the demo dispatcher plot with the file's values on the marks."""

from __future__ import annotations

import numpy as np
import pytest
from astropy import units as u

from oda_widgets.client import Dispatcher
from oda_widgets.light_curve import LightCurveView

GC_2017 = dict(T1="2017-03-06T00:00:00", T2="2017-03-09T00:00:00", max_pointings=10)


def test_isgri_lc_from_the_demo_dispatcher(demo_dispatcher):
    job = Dispatcher(demo_dispatcher).submit("isgri", "isgri_lc", dict(GC_2017, time_bin=1000))
    curves = job.wait(timeout=120).light_curves
    assert curves
    v = LightCurveView(curves)
    assert v.time_format == "IJD" and len(v.sources) == len(curves)
    for i, lc in enumerate(curves):
        ok = lc.valid
        data = lc.hdu.data
        x, y = v.drawn(i)
        assert np.allclose(x, np.asarray(data["TIME"], float)[ok], rtol=0, atol=1e-9)
        assert np.allclose(y, np.asarray(data["RATE"], float)[ok])
    assert "keV" in v.y_axis.label
    v.set_time_format("UTC")
    assert v.drawn(0)[0].dtype.kind == "M"


def test_spi_acs_lc_from_the_demo_dispatcher(demo_dispatcher):
    params = dict(T1="2017-03-06T12:00:00", T2="2017-03-06T12:10:00", time_bin=0.05, time_bin_format="sec")
    (lc,) = Dispatcher(demo_dispatcher).submit("spi_acs", "spi_acs_lc", params).wait(timeout=120).light_curves
    assert lc.instrument == "SPI-ACS" and lc.time_zero is not None
    v = LightCurveView(lc)
    assert v.time_format == "seconds"
    # the view draws from the product's own arrays: no per-view copy of the curve
    arrays = v._curves[0].arrays
    assert arrays.seconds is lc.seconds
    assert np.shares_memory(arrays.values, lc.rate) and np.shares_memory(arrays.errors, lc.error)
    assert lc.rate.dtype == np.float32  # as the dispatcher sends it (FITS 'E')
    assert LightCurveView(lc)._curves[0].arrays.seconds is lc.seconds
    ok = lc.valid
    # seconds since TIMEZERO: every drawn point is a (TIME, RATE) row of the file
    t_file = np.asarray(lc.hdu.data["TIME"], float)[ok]
    r_file = np.asarray(lc.hdu.data["RATE"], float)[ok]
    x = v.drawn(0)[0]
    i = np.clip(np.searchsorted(t_file, x - 1e-6), 0, t_file.size - 1)
    assert np.all(np.abs(t_file[i] - x) < 1e-6)
    assert np.array_equal(v.drawn(0)[1], r_file[i])
    assert v.x_axis.label == f"Time [s since {lc.time_zero.utc.isot[:23]} UTC]"
    assert "75–2000 keV" in v.y_axis.label
    # a 10-minute window at 0.05 s is 12 000 bins: drawn decimated, every extreme kept
    assert ok.sum() == 12_000 and len(v.drawn(0)[0]) <= 4 * (v.columns + 2)
    assert v.drawn(0)[1].max() == lc.rate.value[ok].max()
    v.zoom_to(lc.time[100], lc.time[200])
    assert len(v.drawn(0)[0]) == 103  # all bins in range (bin centres at both ends) plus neighbours
    v.rebin(20)  # to 1 s
    assert len(v.light_curves[0]) == 600
    assert v.light_curves[0].timedel[0].to_value(u.s) == pytest.approx(1.0)
