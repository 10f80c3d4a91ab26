"""The light-curve analysis panel through its methods: fits drawn on the view, excesses of a demo
SPI-ACS burst highlighted, listed and zoomed to, hardness of two demo ISGRI bands."""

from __future__ import annotations

import numpy as np
import pytest
from astropy import units as u
from astropy.time import Time

from oda_widgets.analysis import timing
from oda_widgets.client import Dispatcher
from oda_widgets.demo import history
from oda_widgets.errors import InvalidParameter
from oda_widgets.light_curve import LightCurveView


@pytest.fixture(scope="module")
def grb_view(demo_dispatcher):
    grb = next(b for b in history.bursts() if b.name == "GRB 230307A")
    t0 = Time(grb.trigger_utc, scale="utc")
    params = dict(T1=(t0 - 400 * u.s).isot, T2=(t0 + 400 * u.s).isot, time_bin=1.0, time_bin_format="sec")
    (lc,) = Dispatcher(demo_dispatcher).submit("spi_acs", "spi_acs_lc", params).wait(timeout=120).light_curves
    return LightCurveView(lc), t0


def test_fits_are_values_and_lines_on_the_view(grb_view):
    view, _ = grb_view
    panel = view.analysis
    assert panel in view.children
    fit = panel.fit_linear(systematic=0.01)
    assert isinstance(fit, timing.LinearFit) and panel.systematic.value == 0.01
    assert panel._model_mark in view.figure.marks
    lc = view.light_curves[0]
    assert np.allclose(panel._model_mark.y, fit.model(lc.time[[0, -1]]).value)
    const = panel.fit_constant()
    assert isinstance(const, timing.ConstantFit) and np.allclose(panel._model_mark.y, const.mean.value)
    assert "χ²/dof" in panel.output.value
    fv = panel.fractional_variability()
    assert fv.f_var > 0 and "F_var" in panel.output.value


def test_excesses_highlighted_listed_and_zoomed(grb_view):
    view, t0 = grb_view
    panel = view.analysis
    found = panel.find_excesses(threshold=6, baseline="linear")
    assert len(found) >= 1 and len(panel.excess_list.options) == len(found)
    burst = max(found, key=lambda e: e.peak_significance)
    assert burst.start <= t0 + 2 * u.s <= burst.stop
    n_bins = sum(e.n_bins for e in found)
    assert len(panel._excess_mark.x) == n_bins and panel._excess_mark in view.figure.marks
    # picking an excess in the list zooms the view on it
    i = list(found).index(burst)
    panel.excess_list.value = i
    shown = view.view_range()
    assert shown[0] <= burst.start and burst.stop <= shown[1]
    pad = 2 * burst.duration
    assert abs((shown[0] - (burst.start - pad)).to_value(u.s)) < 1e-3
    assert abs((shown[1] - (burst.stop + pad)).to_value(u.s)) < 1e-3
    # a new time axis rebuilds the view's figure: the panel's marks follow
    view.set_time_format("UTC")
    assert panel._excess_mark in view.figure.marks and panel._excess_mark.scales["x"] is view.x_scale
    view.set_time_format("seconds")
    with pytest.raises(InvalidParameter, match="no excess number"):
        panel.zoom_to_excess(99)
    panel.clear()
    assert panel._excess_mark not in view.figure.marks and not panel.excess_list.options


def test_hardness_of_two_bands(demo_dispatcher):
    common = dict(T1="2017-03-06T00:00:00", T2="2017-03-07T00:00:00", max_pointings=50, time_bin=1000)
    d = Dispatcher(demo_dispatcher)
    curves = [
        next(
            lc
            for lc in d.submit("isgri", "isgri_lc", dict(common, E1_keV=e1, E2_keV=e2))
            .wait(timeout=120)
            .light_curves
            if lc.source == "4U 1700-377"
        )
        for e1, e2 in ((20.0, 40.0), (40.0, 100.0))
    ]
    view = LightCurveView(curves)
    panel = view.analysis
    soft, hard = view.sources
    hr = panel.hardness_ratio(soft, hard)
    assert len(hr) > 10 and panel.hardness_figure in panel.children
    assert np.allclose(panel._hardness_mark.y, hr.ratio)
    # the button reports a mistake where the user looks
    panel.hard.value = soft
    panel.buttons["hardness"].click()
    assert "two different curves" in panel.message.value
