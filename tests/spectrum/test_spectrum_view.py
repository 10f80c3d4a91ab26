"""SpectrumView: counts s⁻¹ keV⁻¹ from the real ISGRI RMF's EBOUNDS, fractional SYS_ERR, FITS for XSPEC."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits
from shared_data import SAMPLES

from oda_widgets.errors import InvalidParameter
from oda_widgets.products.spectrum import Spectrum
from oda_widgets.spectrum import SpectrumView, count_density

RMF = str(SAMPLES / "isgri_rmf_Crab.fits")


def pha(n=256, seed=0, name="Crab"):
    rng = np.random.default_rng(seed)
    rate = rng.uniform(0.01, 2.0, n)
    rate[5] = np.nan
    rate[7] = -0.01  # background-subtracted channels can be negative
    cols = [
        fits.Column("CHANNEL", "J", array=np.arange(n)),
        fits.Column("RATE", "E", unit="count/s", array=rate),
        fits.Column("SYS_ERR", "E", array=np.full(n, 0.05)),
        fits.Column("STAT_ERR", "E", unit="count/s", array=np.full(n, 0.02)),
        fits.Column("QUALITY", "I", array=np.zeros(n)),
        fits.Column("GROUPING", "I", array=np.ones(n)),
    ]
    h = fits.BinTableHDU.from_columns(cols, name="ISGR-EVTS-SPE")
    h.header["EXPOSURE"] = 1000.0
    h.header["NAME"] = name
    h.header["ANCRFILE"] = "NONE"
    h.header["RESPFILE"] = "NONE"
    return fits.HDUList([fits.PrimaryHDU(), h]), rate


def arf():
    e = np.linspace(15, 1000, 11)
    cols = [
        fits.Column("ENERG_LO", "E", array=e[:-1]),
        fits.Column("ENERG_HI", "E", array=e[1:]),
        fits.Column("SPECRESP", "E", array=np.full(10, 100.0)),
    ]
    return fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(cols, name="SPECRESP")])


@pytest.fixture(scope="module")
def rmf():
    return fits.open(RMF)


def test_points_follow_protocol(rmf):
    spec_hdul, rate = pha()
    s = Spectrum("Crab", spec_hdul, arf(), rmf)
    p = count_density(s)
    eb = rmf["EBOUNDS"].data
    lo, hi = eb["E_MIN"].astype(float), eb["E_MAX"].astype(float)
    ok = np.isfinite(rate)
    assert p.channel.tolist() == np.arange(256)[ok].tolist()
    assert np.allclose(p.energy.value, ((lo + hi) / 2)[ok])
    assert np.allclose(p.half_width.value, ((hi - lo) / 2)[ok])
    assert np.allclose(p.density.value, (rate / (hi - lo))[ok])
    expect_err = np.sqrt(0.02**2 + (0.05 * rate) ** 2) / (hi - lo)
    assert np.allclose(p.error.value, expect_err[ok], rtol=1e-5)
    assert str(p.density.unit) == "ct / (keV s)"


def test_marks_hold_the_points_and_band(rmf):
    spec_hdul, _rate = pha()
    s = Spectrum("Crab", spec_hdul, arf(), rmf)
    v = SpectrumView(s, energy_band=(30, 80))
    p = count_density(s)
    pos = p.density.value > 0
    assert np.allclose(v._scatters[0].x, p.energy.value[pos])
    assert np.allclose(v._scatters[0].y, p.density.value[pos])
    assert isinstance(v.x_scale, __import__("bqplot").LogScale) and isinstance(
        v.y_scale, __import__("bqplot").LogScale
    )
    assert v._band_mark.x[[0, 3]].tolist() == [30, 80]
    assert "1 channel(s)" in v.message.value
    assert v.y_axis.label == "Count rate density [counts s⁻¹ keV⁻¹]"
    v.set_log_y(False)
    assert np.min(v._scatters[0].y) < 0 and v.message.value == ""
    assert v._scatters[0].scales["y"] is v.y_scale


def test_two_sources_two_colours_and_save(rmf, tmp_path):
    a = Spectrum("Crab", pha(seed=1)[0], arf(), rmf)
    b = Spectrum("Cyg X-1", pha(seed=2)[0], arf(), rmf)
    v = SpectrumView([a, b])
    assert v.sources == ["Crab", "Cyg X-1"]
    assert v._scatters[0].colors != v._scatters[1].colors
    out = v.save(tmp_path)
    for _src, paths in out.items():
        with fits.open(paths["spectrum"]) as h:
            hdr = h["ISGR-EVTS-SPE"].header
            assert hdr["ANCRFILE"] == paths["arf"].name and hdr["RESPFILE"] == paths["rmf"].name
        with fits.open(paths["rmf"]) as h:
            assert len(h["EBOUNDS"].data) == 256


def test_spectrum_without_rmf_is_explained(rmf):
    no_rmf = Spectrum("Lonely", pha()[0], None, None)
    with pytest.raises(InvalidParameter, match="no RMF"):
        SpectrumView(no_rmf)
    v = SpectrumView([no_rmf, Spectrum("Crab", pha()[0], None, rmf)])
    assert v.sources == ["Crab"] and "Lonely" in v.message.value
    with pytest.raises(InvalidParameter, match="E2"):
        SpectrumView(Spectrum("Crab", pha()[0], None, rmf), energy_band=(80, 30))
