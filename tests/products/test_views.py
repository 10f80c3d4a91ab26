"""Typed views: LightCurve (times vs astropy, drop rules), Mosaic (IMATYPE, WCS), Spectrum (files)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from _products_helpers import (
    isgri_lc_hdulist,
    mosaic_products,
    spectrum_products,
    spi_acs_lc_hdulist,
    wire,
)
from astropy import units as u
from astropy.io import fits
from astropy.time import Time
from astropy.wcs import WCS, FITSFixedWarning

from oda_widgets.errors import OdaError
from oda_widgets.products import (
    LightCurve,
    Mosaic,
    ProductCollection,
    decode_numpy_data_product,
    encode_numpy_data_product,
)


def _decoded(hdul, name, meta):
    return decode_numpy_data_product(wire(encode_numpy_data_product(hdul, name, meta)))


# -- light curves ---------------------------------------------------------------------------------


def test_jemx_light_curve_with_timedel_column(samples):
    with fits.open(samples / "jemx1_lc_GRB221009A.fits") as h:
        p = _decoded(h, "jemx_lc", {"src_name": "GRB221009A"})
        table = h[1].data
        lc = LightCurve.from_product(p)
        expected = Time(51544.0 + np.asarray(table["TIME"]), format="mjd", scale="tt")
        assert lc.time.scale == "tt"
        assert np.all(np.abs((lc.time - expected).to_value(u.s)) < 1e-6)
        assert np.allclose(lc.ijd, table["TIME"], rtol=0, atol=1e-10)
        assert lc.rate.unit == u.ct / u.s and np.allclose(lc.rate.value, table["RATE"])
        assert np.allclose(lc.error.value, table["ERROR"])
        # the per-bin TIMEDEL column (days) wins over the header keyword
        assert np.allclose(lc.timedel.to_value(u.s), np.asarray(table["TIMEDEL"]) * 86400)
        assert np.allclose(lc.xerr.to_value(u.s), np.asarray(table["TIMEDEL"]) * 86400 / 2)
    assert np.median(lc.timedel.to_value(u.s)) == pytest.approx(1000.0, abs=0.01)
    assert lc.instrument == "JEM-X1" and lc.source == "GRB221009A"
    assert lc.e_min == 4.12 * u.keV and lc.e_max == 29.66 * u.keV
    assert lc.time_zero is None and len(lc) == 198
    assert lc.fracexp is not None and lc.fracexp.shape == (198,)
    assert "GRB221009A" in repr(lc) and "198 bins" in repr(lc)


def test_jemx_light_curve_from_osa_file_found_by_name(samples):
    """PRIMARY, GROUPING, JMX1-SRC.-LCR: the LC unit is found by EXTNAME; TIMEDEL from the header."""
    with fits.open(samples / "jemx1_lc_osa_with_grouping.fits.gz") as h:
        lc = LightCurve.from_product(_decoded(h, "jemx_lc", {}))
    assert lc.hdu.name == "JMX1-SRC.-LCR" and len(lc) == 96
    assert np.allclose(lc.timedel.to_value(u.s), 20.0, atol=1e-4)
    assert np.allclose(lc.xerr.to_value(u.s), 10.0, atol=1e-4)
    assert lc.time[0].isot.startswith("2003-08-15T17:15")


def test_isgri_light_curve_xax_e_and_drop_rules():
    hdul = isgri_lc_hdulist()
    hdul[1].header["TIMEZERO"] = 0.0  # a zero offset is not a reference time worth showing
    lc = LightCurve.from_product(_decoded(hdul, "isgri_lc", {"src_name": "OAO 1657-415"}))
    assert lc.time_zero is None
    assert (
        abs((lc.time[0] - Time(51544 + hdul[1].data["TIME"][0], format="mjd", scale="tt")).to_value(u.s))
        < 1e-6
    )
    assert lc.instrument == "ISGRI" and lc.source == "OAO 1657-415"
    assert np.allclose(lc.xerr.to_value(u.s), 35.0)
    assert np.allclose(lc.timedel.to_value(u.s), 70.0)
    valid = lc.valid
    assert valid.dtype == bool and valid.shape == (23,)
    assert not valid[2] and not valid[4] and not valid[6]
    assert valid.sum() == 20
    assert lc.e_min == 28 * u.keV


def test_spi_acs_light_curve_uses_timezero():
    timezero = 6274.6 * 86400
    hdul = spi_acs_lc_hdulist(timezero=timezero)
    d = wire(encode_numpy_data_product(hdul, "spi_acs_lc", {"src_name": "query", "time_bin": 2.0}))
    d["data_unit_list"][1]["units_dict"] = {"TIME": "s", "RATE": "count/s", "ERROR": "count/s"}
    lc = LightCurve.from_product(decode_numpy_data_product(d))
    t = np.asarray(hdul["RATE"].data["TIME"])
    expected = Time(51544.0 + (timezero + t) / 86400, format="mjd", scale="tt")
    assert np.all(np.abs((lc.time - expected).to_value(u.s)) < 1e-4)
    assert lc.instrument == "SPI-ACS" and lc.e_min is None and lc.e_max is None
    assert isinstance(lc.time_zero, Time)
    assert abs((lc.time_zero - Time(51544.0 + 6274.6, format="mjd", scale="tt")).to_value(u.s)) < 1e-6
    assert np.allclose(lc.timedel.to_value(u.s), 2.0) and np.allclose(lc.xerr.to_value(u.s), 1.0)
    assert lc.valid.all()


def test_light_curve_rebinning_accepts_the_view():
    """The rebinning module (another layer) works on our LightCurve as documented."""
    from oda_widgets.products.rebin import rebin

    lc = LightCurve.from_product(_decoded(isgri_lc_hdulist(), "isgri_lc", {}))
    binned = rebin(lc, 2)
    assert len(binned) < len(lc)
    assert binned.rate.unit.is_equivalent(u.ct / u.s)


def test_light_curve_save_and_table(tmp_path):
    lc = LightCurve.from_product(_decoded(isgri_lc_hdulist(), "isgri_lc", {}))
    path = lc.save(tmp_path / "lc.fits")
    with fits.open(path) as h:
        assert h["ISGR-SRC.-LCR"].data["RATE"][0] == pytest.approx(5.0)
    t = lc.to_table()
    assert t.colnames == ["time", "rate", "error", "timedel", "xerr", "valid"]
    assert t["rate"].unit == u.ct / u.s and len(t) == 23


def test_not_a_light_curve():
    with pytest.raises(OdaError, match="no light-curve table"):
        LightCurve.from_product(fits.HDUList([fits.PrimaryHDU(np.zeros((2, 2)))]))


# -- mosaics --------------------------------------------------------------------------------------


def test_sample_significance_mosaic(samples):
    with fits.open(samples / "isgri_mosaic_significance_1E1740.fits.gz") as h:
        p = _decoded(h, "mosaic_image", {"product": "mosaic"})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FITSFixedWarning)
            file_wcs = WCS(h[0].header)
        m = Mosaic.from_product(p, imatype="SIGNIFICANCE")
        assert list(m.images) == ["SIGNIFICANCE"]
        assert np.array_equal(m.significance, h[0].data, equal_nan=True)
    assert m.image is m.significance and m.shape == (461, 433)
    pix = np.array([[0.0, 0.0], [216.0, 230.0], [432.0, 460.0]])
    assert np.allclose(m.wcs.wcs_pix2world(pix, 0), file_wcs.wcs_pix2world(pix, 0))
    assert m.wcs.celestial.has_celestial
    assert m.t_start.isot.startswith("2017-03-06T13:2") and m.t_stop > m.t_start
    assert m.e_min is None  # the sample carries no energy keywords
    assert list(Mosaic.from_product(p).images) == ["IMAGE"]


def test_isgri_four_image_mosaic_without_warnings():
    p = decode_numpy_data_product(wire(mosaic_products(64)["numpy_data_product_list"][0]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the RADECSYS FITSFixedWarning must be silenced
        m = Mosaic.from_product(p)
    assert list(m.images) == ["INTENSITY", "VARIANCE", "SIGNIFICANCE", "EXPOSURE"]
    assert m.images["SIGNIFICANCE"] is p.hdulist[4].data
    assert m.e_min == 25 * u.keV and m.e_max == 40 * u.keV
    assert abs((m.t_start - Time(51544 + 6274.561, format="mjd", scale="tt")).to_value(u.s)) < 1e-3
    assert "SIGNIFICANCE" in repr(m) and "25–40 keV" in repr(m)


def test_mosaic_in_collection_and_save(tmp_path):
    c = ProductCollection.from_response(wire(mosaic_products(32)))
    m = c.mosaic
    assert m is not None and m.name == "mosaic_image_0_mosaic"
    path = m.save(tmp_path / "m.fits")
    with fits.open(path) as h:
        assert [x.header.get("IMATYPE") for x in h[2:]] == [
            "INTENSITY",
            "VARIANCE",
            "SIGNIFICANCE",
            "EXPOSURE",
        ]
        assert np.array_equal(h[4].data, m.significance, equal_nan=True)


# -- spectra --------------------------------------------------------------------------------------


def test_spectrum_grouping_and_energies(samples):
    products = wire(spectrum_products(samples, "4U 1700-377") + spectrum_products(samples, "Background"))
    c = ProductCollection.from_response({"numpy_data_product_list": products}, product="isgri_spectrum")
    assert [s.source for s in c.spectra] == ["4U 1700-377", "Background"]
    s = c.spectra[0]
    with fits.open(samples / "isgri_rmf_Crab.fits") as rmf:
        assert np.allclose(s.energy_low.to_value(u.keV), rmf["EBOUNDS"].data["E_MIN"])
        assert np.allclose(s.energy_high.to_value(u.keV), rmf["EBOUNDS"].data["E_MAX"])
        assert np.array_equal(s.e_min, s.energy_low) and np.array_equal(s.e_max, s.energy_high)
    assert s.rate.unit == u.ct / u.s and len(s.channel) == 256
    assert s.exposure == 1800 * u.s and s.instrument == "isgri"
    assert c.light_curves == []  # spectral parts are not taken for light curves
    assert "256 channels" in repr(s)


def test_spectrum_save_links_arf_and_rmf(samples, tmp_path):
    c = ProductCollection.from_response(
        {"numpy_data_product_list": wire(spectrum_products(samples))}, product="isgri_spectrum"
    )
    (s,) = c.spectra
    paths = s.save(tmp_path)
    assert {p.name for p in paths.values()} == {
        "isgri_spectrum_0_4U1700m377_isgri_spectrum.fits",
        "isgri_spectrum_1_4U1700m377_isgri_arf.fits",
        "isgri_spectrum_2_4U1700m377_isgri_rmf.fits",
    }
    with fits.open(paths["spectrum"]) as h:
        hdr = h["ISGR-EVTS-SPE"].header
        assert hdr["ANCRFILE"] == paths["arf"].name and hdr["RESPFILE"] == paths["rmf"].name
        assert (tmp_path / hdr["ANCRFILE"]).exists() and (tmp_path / hdr["RESPFILE"]).exists()
    with fits.open(paths["rmf"]) as h:
        assert len(h["SPECRESP MATRIX"].data) == 2466 and h["EBOUNDS"].header["NAXIS2"] == 256
    # the in-memory spectrum keeps what the server sent
    assert s.spectrum[1].header["ANCRFILE"] == "NONE"
