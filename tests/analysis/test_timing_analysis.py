"""Light-curve fits against numpy/scipy on synthetic curves with known answers; excesses on the demo's
SPI-ACS bursts at their times; hardness ratios of two demo ISGRI bands."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from astropy import units as u
from astropy.time import Time
from scipy import optimize, stats

from oda_widgets.analysis import (
    find_excesses,
    fit_constant,
    fit_linear,
    fractional_variability,
    hardness_ratio,
)
from oda_widgets.client import Dispatcher
from oda_widgets.demo import history, sky
from oda_widgets.errors import InvalidParameter

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "light_curve"))
from _lc import make_lc


def test_linear_fit_matches_numpy_and_scipy_and_finds_the_slope():
    rng = np.random.default_rng(3)
    n, dt, slope = 300, 100.0, 2e-3  # count/s per s
    t = dt * (np.arange(n) + 0.5)
    sigma = rng.uniform(1.0, 3.0, n)
    rate = 50.0 + slope * t + rng.normal(0, sigma)
    lc = make_lc(rate, sigma, timedel_s=dt)
    fit = fit_linear(lc)
    assert abs(fit.slope.to_value(u.ct / u.s**2) - slope) < 3 * fit.slope_error.to_value(u.ct / u.s**2)
    # numpy's weighted polyfit with the unscaled covariance is the same estimator
    x = t - (fit.reference - lc.time[0]).to_value(u.s) - dt / 2
    coef, cov = np.polyfit(x, rate, 1, w=1 / sigma, cov="unscaled")
    assert np.isclose(fit.slope.to_value(u.ct / u.s**2), coef[0], rtol=1e-9)
    assert np.isclose(fit.intercept.to_value(u.ct / u.s), coef[1], rtol=1e-9)
    assert np.isclose(fit.slope_error.to_value(u.ct / u.s**2), np.sqrt(cov[0, 0]), rtol=1e-9)
    # and so is scipy's curve_fit with absolute errors
    popt, pcov = optimize.curve_fit(lambda x, a, b: a + b * x, x, rate, sigma=sigma, absolute_sigma=True)
    assert np.isclose(popt[1], coef[0], rtol=1e-6) and np.isclose(
        np.sqrt(pcov[1, 1]), np.sqrt(cov[0, 0]), rtol=1e-6
    )
    resid = rate - np.polyval(coef, x)
    assert np.isclose(fit.chi2, np.sum((resid / sigma) ** 2)) and fit.dof == n - 2
    assert np.isclose(fit.p_value, stats.chi2.sf(fit.chi2, n - 2))
    # the model evaluates at Times; the slope converts to per day
    assert np.allclose(fit.model(lc.time).value, np.polyval(coef, x), rtol=1e-9)
    assert "per day" in str(fit) and fit.to_table().meta["dof"] == n - 2


def test_systematic_fraction_is_added_to_the_errors():
    rng = np.random.default_rng(4)
    rate = 100 + rng.normal(0, 1, 200)
    lc = make_lc(rate, np.ones(200))
    plain, with_sys = fit_constant(lc), fit_constant(lc, systematic=0.02)
    total = np.sqrt(1 + (0.02 * rate) ** 2)
    w = 1 / total**2
    mean = np.sum(w * rate) / np.sum(w)
    assert np.isclose(with_sys.mean.value, mean) and np.isclose(
        with_sys.chi2, np.sum(((rate - mean) / total) ** 2)
    )
    assert with_sys.chi2 < plain.chi2 and with_sys.systematic == 0.02
    with pytest.raises(InvalidParameter, match="systematic"):
        fit_constant(lc, systematic=-0.1)


def test_fractional_variability_recovers_the_injected_amplitude():
    rng = np.random.default_rng(5)
    n, mu, f = 4000, 200.0, 0.15
    err = np.full(n, 0.05 * mu)
    rate = mu * (1 + f * rng.standard_normal(n)) + rng.normal(0, err)
    fv = fractional_variability(make_lc(rate, err))
    assert fv.n_bins == n and abs(fv.f_var - f) < 3 * fv.f_var_error
    assert np.isclose(fv.nxs, (np.var(rate, ddof=1) - np.mean(err**2)) / np.mean(rate) ** 2)
    # a constant source: no excess variance, an upper limit instead
    quiet = fractional_variability(make_lc(mu + rng.normal(0, err), err))
    assert np.isnan(quiet.f_var) or quiet.f_var < 3 * quiet.f_var_error
    assert quiet.f_var_upper_limit < 0.02


def test_excesses_are_merged_and_placed_on_bin_edges():
    rate = np.full(200, 100.0)
    rate[50:55] += 20
    rate[120] += 10
    rate[122] += 10
    lc = make_lc(rate, np.ones(200), timedel_s=10.0)
    found = find_excesses(lc, threshold=5)
    assert [e.n_bins for e in found] == [5, 1, 1]
    first = found[0]
    assert abs((first.start - (lc.time[50] - 5 * u.s)).to_value(u.s)) < 1e-6
    assert abs((first.stop - (lc.time[54] + 5 * u.s)).to_value(u.s)) < 1e-6
    assert np.isclose(first.duration.to_value(u.s), 50) and np.isclose(
        first.counts.value, 5 * 20 * 10, rtol=0.05
    )
    merged = find_excesses(lc, threshold=5, max_gap=1)
    assert [e.n_bins for e in merged] == [5, 3]
    table = merged.to_table()
    assert len(table) == 2 and isinstance(table["start"], Time) and table["peak_rate"].unit == u.ct / u.s
    # against a fitted model as the baseline
    assert len(find_excesses(lc, threshold=5, baseline=fit_constant(lc))) == 3
    with pytest.raises(InvalidParameter, match="baseline"):
        find_excesses(lc, baseline="wavelet")


def _spi_acs(url, t0_iso, half_width_s, time_bin):
    t0 = Time(t0_iso, scale="utc")
    params = dict(
        T1=(t0 - half_width_s * u.s).isot,
        T2=(t0 + half_width_s * u.s).isot,
        time_bin=time_bin,
        time_bin_format="sec",
    )
    (lc,) = Dispatcher(url).submit("spi_acs", "spi_acs_lc", params).wait(timeout=120).light_curves
    return lc


def _true_rate(pulses, t: Time, width: float) -> np.ndarray:
    """The demo's noise-free burst rate above background (sum of its pulses), averaged over bins of
    ``width`` s centred on ``t``."""
    sec = (t.tt - Time(sky.IJD_MJDREF, format="mjd", scale="tt")).to_value(u.s)
    sub = sec[:, None] + width * (np.arange(20) + 0.5 - 10) / 20
    return sum(peak * history.pulse_shape(sub - onset, tau) for onset, peak, tau in pulses).mean(axis=1)


def test_excesses_found_on_the_demo_spi_acs_bursts(demo_dispatcher):
    # GRB 230307A and GRB 080319B at their real trigger times (data/bursts.ecsv), and the
    # brightest synthetic burst of a day
    famous = {b.name: b for b in history.bursts()}
    day = sky.ijd_from_iso("2019-05-01T00:00:00") * 86400
    onset, peak, tau = max(sky.bursts_between(day, day + 86400), key=lambda b: b[1])
    synthetic_iso = (Time(sky.IJD_MJDREF, format="mjd", scale="tt") + onset * u.s).utc.isot
    cases = [
        (famous["GRB 230307A"].trigger_utc, famous["GRB 230307A"].pulses),
        (famous["GRB 080319B"].trigger_utc, famous["GRB 080319B"].pulses),
        (synthetic_iso, [(onset, peak, tau)]),
    ]
    for iso, pulses in cases:
        lc = _spi_acs(demo_dispatcher, iso, 600, 1.0)
        found = find_excesses(lc, threshold=6, baseline="median")
        assert len(found) >= 1, iso
        truth = _true_rate(pulses, lc.time, 1.0)
        burst = max(found, key=lambda e: e.peak_significance)
        # the excess covers the burst's brightest bin, and peaks where the burst is brightest
        brightest = lc.time[int(np.argmax(truth))]
        assert burst.start <= brightest <= burst.stop, iso
        at_peak = _true_rate(pulses, Time([burst.peak_time]), 1.0)[0]
        assert at_peak >= 0.8 * truth.max(), iso
        # and every bin well above the noise (10 σ) belongs to a found excess
        loud = np.flatnonzero(truth > 10 * np.median(lc.error.value))
        covered = np.concatenate([e.indices for e in found])
        assert set(loud) <= set(covered), iso
        assert burst.peak_significance > 6 and burst.counts.value > 0


def test_hardness_ratio_of_two_demo_bands(demo_dispatcher):
    # all the science windows of the day (a random subset would differ between the two requests)
    common = dict(T1="2017-03-06T00:00:00", T2="2017-03-07T00:00:00", max_pointings=50, time_bin=1000)
    d = Dispatcher(demo_dispatcher)
    soft = (
        d.submit("isgri", "isgri_lc", dict(common, E1_keV=20.0, E2_keV=40.0)).wait(timeout=120).light_curves
    )
    hard = (
        d.submit("isgri", "isgri_lc", dict(common, E1_keV=40.0, E2_keV=100.0)).wait(timeout=120).light_curves
    )
    s = next(lc for lc in soft if lc.source == "4U 1700-377")
    h = next(lc for lc in hard if lc.source == "4U 1700-377")
    hr = hardness_ratio(s, h)
    assert len(hr) == int(np.sum(s.valid & h.valid)) > 10
    hs, ss = hr.hard.value, hr.soft.value
    assert np.allclose(hr.ratio, (hs - ss) / (hs + ss))
    dh, ds = hr.hard_error.value, hr.soft_error.value
    assert np.allclose(hr.error, 2 / (hs + ss) ** 2 * np.hypot(ss * dh, hs * ds))
    # a Γ = 2.6 source is softer in 40–100 keV than in 20–40 keV counts
    assert np.mean(hr.ratio) < 0
    assert hr.soft_band == (20 * u.keV, 40 * u.keV)
    ratio = hardness_ratio(s, h, definition="H/S")
    assert np.allclose(ratio.ratio, hs / ss)
    assert len(hr.to_table()) == len(hr)
