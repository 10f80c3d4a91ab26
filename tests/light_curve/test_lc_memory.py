"""Memory of a long light curve: the product holds its arrays once, views share them, builds stay small.

Measured with tracemalloc (numpy reports its buffers to it), so the figures are allocations of this
code, not timing: a 2·10^6-bin SPI-ACS table as the product model decodes it.
"""

from __future__ import annotations

import gc
import tracemalloc

import numpy as np
from astropy.io import fits

from oda_widgets.analysis.timing import chi2_constant
from oda_widgets.light_curve import LightCurveView
from oda_widgets.products.light_curve import LightCurve

N = 2_000_000
RAW = 24 * N  # time, rate, error as float64


def _hdulist() -> fits.HDUList:
    rng = np.random.default_rng(5)
    rate = rng.poisson(4000, N).astype(np.float32) / np.float32(0.05)
    hdu = fits.BinTableHDU.from_columns(
        [
            fits.Column("TIME", "D", unit="s", array=(np.arange(N) + 0.5) * 0.05 - N * 0.025),
            fits.Column("RATE", "E", unit="count/s", array=rate),
            fits.Column("ERROR", "E", unit="count/s", array=np.sqrt(rate * 0.05) / 0.05),
        ],
        name="RATE",
    )
    hdu.header.update(
        INSTRUME="SPI-ACS", TIMEDEL=0.05, TIMEUNIT="s", MJDREF=51544.0, TIMESYS="TT", TIMEZERO=7e8
    )
    hdu.data.field(0)
    return fits.HDUList([fits.PrimaryHDU(), hdu])


def _peak(fn):
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        out = fn()
        current, peak = tracemalloc.get_traced_memory()
        return out, current - base, peak - base
    finally:
        tracemalloc.stop()


def test_building_product_and_view_peaks_under_three_times_the_raw_arrays():
    hdul = _hdulist()
    (lc, view), kept, peak = _peak(lambda: (lc := LightCurve.from_product(hdul), LightCurveView(lc)))
    assert len(lc) == N and view.drawn(0)[0].size <= 4 * 1000 + 4
    # one native copy of the columns (seconds float64, rates/errors float32 as received) + masks
    assert kept < 0.9 * RAW, kept / RAW
    assert peak < 3 * RAW, peak / RAW


def test_views_share_the_product_arrays_instead_of_copying_them():
    lc = LightCurve.from_product(_hdulist())
    LightCurveView(lc)  # first view: valid mask, χ² (computed once, kept by nobody)
    _, kept, peak = _peak(lambda: [LightCurveView(lc) for _ in range(3)])
    # three more views keep widgets and screen-sized arrays, not three copies of 2·10^6 bins; while
    # drawing, the full-range error envelope needs rate ± error of the range for a moment
    assert kept < 0.05 * RAW, kept / RAW
    assert peak < RAW, peak / RAW


def test_chi2_over_every_bin_needs_bounded_temporaries():
    lc = LightCurve.from_product(_hdulist())
    assert lc.valid.all()  # the cached mask is the product's, not the statistic's
    fit, _, peak = _peak(lambda: chi2_constant(lc))
    assert fit.dof == N - 1
    assert peak < 0.25 * RAW, peak / RAW
