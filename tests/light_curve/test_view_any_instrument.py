"""LightCurveView of any instrument's curves: MJD in the curves' own scale, value axis labelled with
the quantity and unit, magnitudes inverted, curves that cannot share an axis stacked by the results
registry; the brushed interval goes to the form in UTC."""

from __future__ import annotations

import numpy as np
import pytest
from astropy import units as u
from astropy.io import fits
from astropy.table import Table
from astropy.time import Time

from oda_widgets.errors import InvalidParameter
from oda_widgets.light_curve import LightCurveView
from oda_widgets.products import LightCurve

MJD = 60188.0 + 0.25 * np.arange(40)


def curve(column: str, unit: str, values, name: str = "delta Cep") -> LightCurve:
    t = Table({"TIME": MJD * u.d, column: values * u.Unit(unit), "ERROR": np.full(40, 0.01) * u.Unit(unit)})
    hdu = fits.table_to_hdu(t)
    hdu.name = "LC"
    hdu.header["OBJECT"] = name
    hdu.header["FILTER"] = "V"
    return LightCurve(hdu)


def test_a_magnitude_curve_on_an_mjd_axis_inverted():
    lc = curve("MAG", "mag", 3.9 + 0.3 * np.sin(np.arange(40)))
    view = LightCurveView(lc)
    assert view.time_format == "MJD" and view.time_scale == "utc"
    assert view.x_label == "Time [MJD, UTC]"
    assert view.y_label == "Magnitude V [mag]" and view.plot.y_inverted is True
    x, y = view.drawn(0)
    # the notebook's own MJD values on the axis (UTC, as written), not IJD, not TT
    assert np.allclose(x, MJD, rtol=0, atol=1e-9)
    assert np.allclose(y, lc.values.value, rtol=1e-6)
    view.set_time_format("IJD")
    assert view.x_label == "Time [IJD, TT]"
    tt_ijd = Time(MJD[0], format="mjd", scale="utc").tt.mjd - 51544.0
    assert abs(view.drawn(0)[0][0] - tt_ijd) < 1e-9


def test_fluxes_are_not_inverted_and_units_that_cannot_share_an_axis_are_refused():
    flux = curve("FLUX", "Jy", np.linspace(80, 90, 40))
    view = LightCurveView(flux)
    assert view.y_label == "Flux V [Jy]" and view.plot.y_inverted is False
    with pytest.raises(InvalidParameter, match="cannot share a value axis"):
        LightCurveView([flux, curve("MAG", "mag", np.full(40, 4.0))])
    # convertible units share the axis
    LightCurveView([flux, curve("FLUX", "mJy", np.linspace(8e4, 9e4, 40), name="eta Aql")])


def test_the_results_registry_stacks_a_magnitude_and_a_flux_curve():
    from oda_widgets.results import light_curve_groups, results_view

    mag = curve("MAG", "mag", np.full(40, 4.0))
    flux = curve("FLUX", "Jy", np.linspace(80, 90, 40))
    flux2 = curve("FLUX", "mJy", np.linspace(8e4, 9e4, 40), name="eta Aql")
    assert light_curve_groups([mag, flux, flux2]) == [[mag], [flux, flux2]]

    from types import SimpleNamespace

    view = results_view(SimpleNamespace(light_curves=[mag, flux, flux2]))  # light curves only
    stacked = view.views["light_curves"]
    assert [type(v).__name__ for v in stacked] == ["LightCurveView", "LightCurveView"]
    assert stacked[0].inverted and stacked[1].sources == ["delta Cep", "eta Aql"]


def test_the_brushed_interval_goes_to_the_form_in_utc():
    class Form:
        def __init__(self):
            self.values: dict = {}

        def set_values(self, **kw):
            self.values = kw

    view = LightCurveView(curve("MAG", "mag", np.full(40, 4.0)))
    start, stop = Time("2023-09-02T00:00:00", scale="utc"), Time("2023-09-03T12:00:00", scale="utc")
    view.select_interval(start, stop)
    form = Form()
    interval = view.use_as_t1_t2(form)
    assert interval.scale == "utc"
    assert form.values["T1"].startswith("2023-09-02T00:00:00") and form.values["T2"].startswith(
        "2023-09-03T12:00:00"
    )
