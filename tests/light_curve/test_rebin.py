"""Rebinning sums counts (exposure-weighted) and adds errors in quadrature; χ² against a constant."""

from __future__ import annotations

import numpy as np
import pytest
from _lc import make_lc
from astropy import units as u
from astropy.io import fits
from astropy.time import Time, TimeDelta
from scipy import stats
from shared_data import SAMPLES

from oda_widgets.analysis.timing import chi2_constant, mean_rate
from oda_widgets.errors import InvalidParameter
from oda_widgets.products.rebin import rebin


def test_rebin_factor_matches_direct_sum():
    rng = np.random.default_rng(1)
    n = 12
    rate = rng.uniform(1, 10, n)
    err = rng.uniform(0.1, 1, n)
    frac = rng.uniform(0.3, 1, n)
    lc = make_lc(rate, err, fracexp=frac, timedel_s=50.0)
    out = rebin(lc, 4)
    assert len(out) == 3
    for j in range(3):
        s = slice(4 * j, 4 * j + 4)
        expo = frac[s] * 50.0
        assert out.rate[j].value == pytest.approx(np.sum(rate[s] * expo) / np.sum(expo), rel=1e-12)
        assert out.error[j].value == pytest.approx(
            np.sqrt(np.sum((err[s] * expo) ** 2)) / np.sum(expo), rel=1e-12
        )
        assert out.counts[j] == pytest.approx(np.sum(rate[s] * expo))
        assert out.fracexp[j] == pytest.approx(np.mean(frac[s]))
    assert out.timedel[0].to_value(u.s) == pytest.approx(200.0)
    # new centre = centre of the four old bins
    assert (out.time[0] - lc.time[0]).to_value(u.s) == pytest.approx(75.0, abs=1e-6)


def test_rebin_without_fracexp_is_plain_mean_and_skips_invalid():
    rate = np.array([1.0, 2.0, np.nan, 4.0, 5.0, 0.0])
    err = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 0.0])  # last bin RATE=ERROR=0: dropped like MMODA does
    lc = make_lc(rate, err)
    out = rebin(lc, 2)
    assert out.rate.value.tolist() == pytest.approx([1.5, 4.5])
    assert out.error.value.tolist() == pytest.approx([np.sqrt(2) / 2, np.sqrt(2) / 2])
    assert out.n_bins.tolist() == [2, 2]


def test_rebin_to_width_groups_on_a_grid():
    lc = make_lc(np.arange(10.0) + 1, np.ones(10), timedel_s=10.0)
    out = rebin(lc, 30 * u.s)
    assert out.n_bins.tolist() == [3, 3, 3, 1]
    assert out.rate.value.tolist() == pytest.approx([2, 5, 8, 10])
    assert out.timedel.to_value(u.s).tolist() == pytest.approx([30, 30, 30, 30])
    # the last grid cell is only a third covered
    assert out.fracexp.tolist() == pytest.approx([1, 1, 1, 1 / 3])
    same = rebin(lc, TimeDelta(30 * u.s))
    assert np.allclose(same.rate.value, out.rate.value)


def test_rebin_refuses_bad_arguments():
    lc = make_lc(np.ones(4), np.ones(4))
    with pytest.raises(InvalidParameter, match="≥ 1"):
        rebin(lc, 0)
    with pytest.raises(InvalidParameter, match="positive"):
        rebin(lc, -3 * u.s)
    with pytest.raises(InvalidParameter, match="integer factor"):
        rebin(lc, "ten")
    with pytest.raises(InvalidParameter, match="no valid bins"):
        rebin(make_lc(np.full(3, np.nan), np.ones(3)), 2)


def test_chi2_constant_matches_scipy():
    rng = np.random.default_rng(5)
    rate = rng.normal(10, 1, 40)
    err = np.full(40, 1.0)
    lc = make_lc(rate, err)
    fit = chi2_constant(lc)
    w = 1 / err**2
    m = np.sum(w * rate) / np.sum(w)
    assert fit.mean.value == pytest.approx(m)
    assert fit.chi2 == pytest.approx(np.sum((rate - m) ** 2))
    assert fit.dof == 39
    assert fit.p_value == pytest.approx(stats.chi2.sf(fit.chi2, 39))
    assert "χ²/dof" in str(fit)
    _mean, sigma = mean_rate(lc)
    assert sigma.value == pytest.approx(1 / np.sqrt(40))


def test_real_jemx_curve_rebin_conserves_counts_and_round_trips(tmp_path):
    with fits.open(f"{SAMPLES}/jemx1_lc_GRB221009A.fits") as h:
        d = h["JMX1-SRC.-LCR"].data
        from _lc import IJD0

        lc = make_lc(d["RATE"], d["ERROR"], fracexp=np.asarray(d["FRACEXP"], float))
        lc.time = IJD0 + TimeDelta(np.asarray(d["TIME"], float) * u.d)
        lc.timedel = np.asarray(d["TIMEDEL"], float) * u.d
    ok = np.isfinite(lc.rate.value) & (lc.error.value > 0)
    expo = lc.timedel.to_value(u.s) * lc.fracexp
    out = rebin(lc, 5)
    assert np.nansum(out.counts) == pytest.approx(np.sum((lc.rate.value * expo)[ok]), rel=1e-9)
    path = out.save(tmp_path / "lc.fits")
    with fits.open(path) as h:
        back = h["RATE"].data
        assert np.allclose(back["RATE"], out.rate.value, equal_nan=True)
        assert h["RATE"].header["TIMESYS"] == "TT"
        assert back["TIME"][0] == pytest.approx(out.time[0].tt.mjd - 51544.0, abs=1e-9)


@pytest.mark.parametrize("axis", ["IJD", "MJD", "UTC", "seconds"])
def test_time_axis_values_round_trip_and_match_astropy(axis):
    from oda_widgets.products.rebin import axis_to_seconds, seconds_to_axis

    ref = Time("2017-03-06T13:26:48", scale="utc")
    sec = np.array([-3600.0, 0.0, 0.05, 86400.0 * 3 + 0.25])
    values = seconds_to_axis(sec, ref, axis)
    back = np.array([axis_to_seconds(v, ref, axis) for v in values])
    assert np.allclose(back, sec, rtol=0, atol=2e-6)
    t = ref + sec * u.s
    if axis == "IJD":
        assert np.allclose(values, t.tt.mjd - 51544.0, rtol=0, atol=1e-10)
    elif axis == "MJD":
        assert np.allclose(values, t.tt.mjd, rtol=0, atol=1e-10)
    elif axis == "UTC":
        assert np.max(np.abs((Time(values, scale="utc") - t).to_value(u.s))) < 2e-6


def test_an_unknown_time_axis_is_refused():
    from oda_widgets.products.rebin import seconds_to_axis

    with pytest.raises(InvalidParameter, match="time axis"):
        seconds_to_axis([0.0], Time("2020-01-01"), "GPS")
