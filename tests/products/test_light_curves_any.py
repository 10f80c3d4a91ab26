"""Light curves of any instrument: RATE, COUNTS, FLUX, MAG with units and errors, several curves per
product, times from the FITS keywords or, without them, MJD (not IJD) — oda_api's
``LightCurveDataProduct`` read to the values oda_api reads, in its real year."""

from __future__ import annotations

import json

import numpy as np
import pytest
from astropy import units as u
from astropy.io import fits
from astropy.table import Table
from astropy.time import Time
from shared_data import CAPTURES

from oda_widgets.products import LightCurve, ProductCollection, encode_numpy_data_product
from oda_widgets.products.annotations import ODA

oda_dp = pytest.importorskip("oda_api.data_products", reason="oda_api is in the test extra")


def wire(obj):
    return json.loads(json.dumps(obj))


def chain(outputs: dict, params: dict | None = None) -> dict:
    """Outputs built with oda_api's classes → the dispatcher's api=True products (the plugin's
    translation, checked against the real chain's captures in tests/workflows)."""
    from oda_widgets.demo.workflows import DEMO_ONTOLOGY, Ontology
    from oda_widgets.demo.workflows.products import build_products

    declarations = {name: {"owl_type": term} for name, (term, _) in outputs.items()}
    values = {name: json.dumps(obj.encode()) for name, (_, obj) in outputs.items()}
    products = wire(build_products(declarations, values, Ontology(DEMO_ONTOLOGY)))
    products["analysis_parameters"] = params or {}
    return products


TIMES = Time("2023-09-01T00:00:00", scale="utc") + np.arange(40) * 0.25 * u.day
MAGS = 3.95 + 0.4 * np.sin(np.arange(40) / 3.0)


@pytest.fixture(scope="module")
def optical():
    mag = oda_dp.LightCurveDataProduct.from_arrays(
        times=TIMES, magnitudes=MAGS * u.mag, errors=np.full(40, 0.012) * u.mag, name="delta_Cep_V_mag"
    )
    flux = oda_dp.LightCurveDataProduct.from_arrays(
        times=TIMES,
        fluxes=3640 * 10 ** (-0.4 * MAGS) * u.Jy,
        errors=np.full(40, 1.0) * u.Jy,
        name="delta_Cep_V_flux",
    )
    products = chain(
        {"light_curve_mag": (ODA + "LightCurve", mag), "light_curve_flux": (ODA + "LightCurve", flux)},
        {"instrument": "optical_photometry", "src_name": "delta Cep", "band": "V"},
    )
    return products, mag, flux


def test_an_oda_api_light_curve_is_in_its_real_year_not_51544_days_late(optical):
    products, mag, _ = optical
    c = ProductCollection.from_response(products)
    lc_mag, lc_flux = c.light_curves
    # what oda_api reads: TIME in MJD (UTC, as the notebook's Time), MAG in mag
    theirs = mag.data_unit[1].data
    assert np.allclose(lc_mag.mjd, theirs["TIME"], atol=1e-9, rtol=0)
    assert np.allclose(lc_mag.mjd, TIMES.mjd, atol=1e-9, rtol=0)
    assert lc_mag.time_system == "MJD" and lc_mag.time.scale == "utc"
    assert lc_mag.time[0].isot == "2023-09-01T00:00:00.000"  # not 2163
    assert np.all(np.abs((lc_mag.time - TIMES).sec) < 1e-4)
    assert np.allclose(lc_mag.values.value, theirs["MAG"]) and lc_mag.values.unit == u.mag
    assert np.allclose(lc_mag.errors.value, 0.012) and lc_mag.has_errors
    assert lc_mag.is_magnitude and not lc_flux.is_magnitude
    assert lc_flux.values.unit == u.Jy and lc_flux.quantity == "flux"
    assert lc_mag.valid.all()


def test_labels_come_from_the_response_never_unknown(optical):
    products, _, _ = optical
    lc_mag, lc_flux = ProductCollection.from_response(products).light_curves
    assert (lc_mag.source, lc_mag.instrument, lc_mag.band) == ("delta Cep", "optical_photometry", "V")
    assert lc_mag.value_label == "Magnitude V [mag]" and lc_flux.value_label == "Flux V [Jy]"
    assert "unknown" not in repr(lc_mag) and "2023-09-01T00:00:00.000" in repr(lc_mag)
    assert lc_mag.product.annotation.output == "light_curve_mag"


@pytest.mark.parametrize("kind, column, unit", [("rates", "RATE", "ct / s"), ("counts", "COUNTS", "ct")])
def test_rates_and_counts_with_their_units(kind, column, unit):
    values = np.arange(1.0, 11.0) * u.Unit(unit)
    lc_product = oda_dp.LightCurveDataProduct.from_arrays(
        times=TIMES[:10], **{kind: values}, errors=np.sqrt(values.value) * u.Unit(unit), name="x"
    )
    c = ProductCollection.from_response(chain({"lc": (ODA + "LightCurve", lc_product)}))
    (lc,) = c.light_curves
    assert (
        lc.value_column == column
        and lc.values.unit == u.Unit(unit)
        and lc.quantity == {"rates": "rate", "counts": "counts"}[kind]
    )
    assert np.allclose(lc.errors.value, np.sqrt(np.arange(1.0, 11.0)))


def test_a_curve_without_errors_keeps_every_finite_value():
    t = Table({"TIME": 60000.0 + np.arange(4), "FLUX": [1.0, np.nan, 3.0, 0.0] * u.Jy})
    lc = LightCurve(fits.table_to_hdu(t))
    assert not lc.has_errors and lc.valid.tolist() == [True, False, True, True]


def test_several_value_columns_and_tables_are_several_curves():
    t = Table(
        {
            "MJD": 60000.0 + np.arange(5),
            "FLUX_B": [1.0, 2, 3, 4, 5] * u.mJy,
            "FLUX_B_ERR": [0.1] * 5 * u.mJy,
            "FLUX_V": [2.0, 3, 4, 5, 6] * u.mJy,
            "ERR_FLUX_V": [0.2] * 5 * u.mJy,
        }
    )
    second = fits.table_to_hdu(Table({"TIME": 60000.0 + np.arange(3), "MAG": [12.1, 12.0, 11.9] * u.mag}))
    second.name = "OPTICAL"
    hdul = fits.HDUList([fits.PrimaryHDU(), fits.table_to_hdu(t), second])
    hdul[1].name = "RADIO"
    c = ProductCollection.from_response(
        wire({"numpy_data_product_list": [encode_numpy_data_product(hdul, "multi", {"src_name": "3C 273"})]})
    )
    curves = c.light_curves
    assert [lc.curve_label for lc in curves] == ["RADIO FLUX_B", "RADIO FLUX_V", "OPTICAL MAG"]
    assert [lc.errors.value[0] for lc in curves[:2]] == [pytest.approx(0.1), pytest.approx(0.2)]
    assert all(lc.source == "3C 273" for lc in curves) and curves[2].is_magnitude
    assert curves[0].time_system == "MJD" and curves[0].time[0].mjd == 60000.0
    assert c.others() == []


def test_unix_and_iso_time_columns():
    unix = Table({"TIME_UNIX": 1.6935e9 + 60.0 * np.arange(4), "RATE": [1.0, 2, 3, 4], "ERROR": [0.1] * 4})
    iso = Table({"DATE": ["2023-09-01T00:00:00", "2023-09-01T00:01:00"], "FLUX": [1.0, 2.0] * u.Jy})
    for t, start in ((unix, Time(1.6935e9, format="unix")), (iso, Time("2023-09-01T00:00:00"))):
        lc = LightCurve(fits.table_to_hdu(t))
        assert abs((lc.time[0] - start).sec) < 1e-3
        assert np.isclose(lc.timedel[0].to_value(u.s), 60.0)


def test_integral_times_stay_ijd_in_tt(samples):
    with fits.open(samples / "jemx1_lc_GRB221009A.fits") as h:
        lc = LightCurve.from_product(fits.HDUList([hdu.copy() for hdu in h]))
    assert lc.is_integral and lc.instrument == "JEM-X1" and lc.time.scale == "tt"
    assert lc.time_system == "IJD" and lc.time[0].isot.startswith("2022-10-")
    assert lc.value_label.startswith("Rate") and lc.value_column == "RATE"  # BRATE is background


def test_the_captured_chain_light_curve_is_in_2022(captures=CAPTURES):
    body = json.loads((captures / "nb2workflow-1.3.6" / "run_analysis_api_lightcurve_06.json").read_text())
    c = ProductCollection.from_response(body["products"])
    (lc,) = c.light_curves
    assert lc.time[0].isot.startswith("2022-10-10T00:07")  # T1 = 2022-10-10T00:00, 25 bins over 6 h
    assert lc.time[-1] < Time("2022-10-10T06:00:00", scale="utc")
    assert (lc.source, lc.instrument, lc.band) == ("Crab", "nb2wtest", "30–50 keV")
    assert lc.product.annotation.uri == ODA + "LightCurve"
