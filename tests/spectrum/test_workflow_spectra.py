"""Spectra of workflow instruments in the spectrum view: an OGIP file with its own EBOUNDS, and a
flux table (energy, frequency or wavelength) with errors and upper limits."""

from __future__ import annotations

import numpy as np
from astropy import units as u
from astropy.io import fits
from astropy.table import Table

from oda_widgets.products import FluxSpectrum, OgipSpectrum
from oda_widgets.spectrum import SpectrumView, count_density


def ogip_with_ebounds() -> fits.HDUList:
    ch = np.arange(8)
    spec = fits.BinTableHDU.from_columns(
        [
            fits.Column("CHANNEL", "J", array=ch),
            fits.Column("RATE", "E", unit="count/s", array=np.linspace(8, 1, 8)),
            fits.Column("STAT_ERR", "E", unit="count/s", array=np.full(8, 0.5)),
        ],
        name="SPECTRUM",
    )
    spec.header.update(HDUCLAS1="SPECTRUM", EXPOSURE=100.0, OBJECT="Cyg X-1")
    eb = fits.BinTableHDU.from_columns(
        [
            fits.Column("CHANNEL", "J", array=ch),
            fits.Column("E_MIN", "E", unit="keV", array=2.0 * (ch + 1)),
            fits.Column("E_MAX", "E", unit="keV", array=2.0 * (ch + 2)),
        ],
        name="EBOUNDS",
    )
    return fits.HDUList([fits.PrimaryHDU(), spec, eb])


def test_an_ogip_file_with_its_own_ebounds_is_drawn_in_count_density():
    s = OgipSpectrum.from_product(ogip_with_ebounds())
    pts = count_density(s)
    assert s.rmf is None and pts.source == "Cyg X-1"
    assert np.allclose(pts.energy.to_value(u.keV), 2.0 * (np.arange(8) + 1) + 1.0)
    assert np.allclose(pts.density.value, np.linspace(8, 1, 8) / 2.0)
    view = SpectrumView(s)
    assert view.sources == ["Cyg X-1"] and view.y_axis.label.startswith("Count rate density")


def test_a_flux_spectrum_is_drawn_with_its_unit_and_upper_limits():
    table = Table(
        {
            "frequency": [1e17, 1e18, 1e19, 1e20] * u.Hz,
            "nuFnu": [1e-10, 5e-11, 2e-11, 1e-11] * u.erg / u.cm**2 / u.s,
            "nuFnu_err": [1e-12, 1e-12, 2e-12, np.nan] * u.erg / u.cm**2 / u.s,
            "upper_limit": [False, False, False, True],
        }
    )
    s = FluxSpectrum(table, source="Mrk 421", name="xray")
    pts = count_density(s)
    assert pts.y_label == "nuFnu [erg / (s cm2)]" and pts.upper_limit.tolist() == [False, False, False, True]
    assert np.isclose(
        pts.energy[0].to_value(u.keV), (1e17 * u.Hz).to_value(u.keV, equivalencies=u.spectral())
    )
    view = SpectrumView(s)
    assert view.y_axis.label == "nuFnu [erg / (s cm2)]"
    # the upper limit is a bar from the limit down to a third of it (no symmetric error bar)
    bars = view._errorbars[0]
    y = np.asarray(bars.y, dtype=float)
    assert np.isclose(np.nanmin(y), 1e-11 / 3)


def test_spectra_without_a_response_offer_no_fit():
    import pytest

    from oda_widgets.errors import InvalidParameter

    view = SpectrumView(
        FluxSpectrum(Table({"energy": [1.0, 3.0] * u.keV, "flux": [2.0, 1.0] * u.Jy}), name="sed")
    )
    assert view.fit_panel.layout.display == "none"
    with pytest.raises(InvalidParameter, match="no response"):
        view.fit("powerlaw")
    assert "no response" in view.fit_panel.status.value
