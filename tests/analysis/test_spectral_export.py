"""XSPEC-ready files from every save path: the PHA names its ARF/RMF (and background) files, which
Sherpa then finds from the headers alone; grouping, SYS_ERR and QUALITY as asked."""

from __future__ import annotations

import numpy as np
import pytest
from astropy import units as u
from astropy.io import fits

from oda_widgets.analysis import fit_spectrum
from oda_widgets.errors import InvalidParameter
from oda_widgets.products.spectrum import QUALITY_DUBIOUS, QUALITY_USER, Grouping
from oda_widgets.spectrum import SpectrumView


def _load_from_headers(path):
    """Sherpa's own reader: the ARF/RMF come from ANCRFILE/RESPFILE only."""
    from sherpa.astro.io import read_pha

    return read_pha(str(path), use_errors=True)


def _spectrum_paths(paths):
    out = []
    for p in paths:
        with fits.open(p) as h:
            if any(hdu.header.get("HDUCLAS1") == "SPECTRUM" for hdu in h[1:]):
                out.append(p)
    return out


def test_explorer_save_products_writes_xspec_ready_spectra(demo_dispatcher, tmp_path):
    """The issue's reproduction: "Save products" of an ISGRI spectrum job used to leave
    ANCRFILE/RESPFILE = NONE."""
    from oda_widgets.explorer import Explorer

    ex = Explorer(demo_dispatcher, token="")
    try:
        ex.form.select("isgri", "isgri_spectrum")
        ex.form.set_values(max_pointings=5)
        job = ex.submit()
        ex.wait(job, timeout=120)
        paths = ex.save_products(tmp_path / "saved", job=job)
    finally:
        ex.close()
    spectra = _spectrum_paths(paths)
    assert len(spectra) == len(job.result().spectra) >= 2
    for path in spectra:
        with fits.open(path) as h:
            header = h[1].header
            assert header["ANCRFILE"] != "NONE" and (path.parent / header["ANCRFILE"]).exists()
            assert header["RESPFILE"] != "NONE" and (path.parent / header["RESPFILE"]).exists()
            assert header["BACKFILE"] == "NONE"  # INTEGRAL spectra are background-subtracted
            assert header["OBJECT"] and header["HDUCLAS3"] == "RATE" and header["POISSERR"] is False
        pha = _load_from_headers(path)
        assert pha.get_arf() is not None and pha.get_rmf() is not None
        assert pha.get_arf().name.endswith(fits.getheader(path, 1)["ANCRFILE"])


def test_saved_files_fit_as_the_product_does(isgri_gc, tmp_path):
    """Files written by ProductCollection.save load in Sherpa from their headers, and a fit of the
    loaded files gives the fit of the in-memory product."""
    from sherpa.astro.instrument import Response1D
    from sherpa.fit import Fit
    from sherpa.models.basic import PowLaw1D
    from sherpa.stats import Chi2

    paths = isgri_gc.save(tmp_path, systematic=0.0)
    spectrum = next(s for s in isgri_gc.spectra if s.source == "4U 1700-377")
    path = tmp_path / spectrum.file_names()["spectrum"]
    assert path in paths
    pha = _load_from_headers(path)
    pha.set_analysis("energy")
    pha.notice(20, 200)
    src = PowLaw1D()
    src.ampl = 10
    result = Fit(pha, Response1D(pha)(src), Chi2()).fit()
    ours = fit_spectrum(spectrum, "powerlaw", energy_range=(20, 200), systematic=0.0)
    assert np.isclose(src.gamma.val, ours["gamma"].value.value, rtol=1e-3)
    assert np.isclose(result.statval, ours.statistic, rtol=1e-3)


def test_grouping_systematic_and_band_from_spectrum_view_save(isgri_gc, tmp_path):
    spectra = [s for s in isgri_gc.spectra if s.source in ("4U 1700-377", "OAO 1657-415")]
    view = SpectrumView(spectra)
    written = view.save(tmp_path, grouping={"min_snr": 4}, systematic=0.03, energy_range=(20, 150) * u.keV)
    for s in spectra:
        path = written[s.source]["spectrum"]
        with fits.open(path) as h:
            d = h[1].data
            e_lo, e_hi = (q.value for q in s.channel_energies())
            outside = (e_hi <= 20) | (e_lo >= 150)
            assert np.all(d["QUALITY"][outside] == QUALITY_USER)
            assert np.allclose(d["SYS_ERR"], 0.03)
            grouping = d["GROUPING"]
            inside = ~outside & (d["QUALITY"] == 0)
            # every complete group inside the band reaches S/N 4
            starts = np.flatnonzero(inside & (grouping == 1))
            for a, b in zip(starts, [*starts[1:], len(grouping)]):
                members = np.arange(a, b)
                members = members[(grouping[members] == -1) | (members == a)]
                members = members[inside[members]]
                snr = d["RATE"][members].sum() / np.sqrt((d["STAT_ERR"][members] ** 2).sum())
                assert snr >= 4
        pha = _load_from_headers(path)
        assert pha.grouped and pha.quality is not None
        pha.ignore_bad()
        assert pha.get_rmf() is not None


def test_grouping_matches_sherpa(isgri_gc):
    """Our grouping (used by the export and the fit, no Sherpa needed) is Sherpa's for the same
    counts: minimum counts and signal-to-noise with given errors."""
    from sherpa.astro.data import DataPHA

    s = next(s for s in isgri_gc.spectra if s.source == "4U 1700-377")
    exposure = s.exposure.value
    usable = s.usable()
    rate, err = s.rate.value, s.error.value
    counts = np.round(np.abs(rate) * exposure)  # Sherpa's group_counts wants counts
    e_lo, e_hi = (q.value for q in s.channel_energies())
    for spec, sherpa_call in [
        (Grouping(min_counts=3000), lambda p: p.group_counts(3000)),
        (
            Grouping(min_snr=5),
            lambda p: p.group_snr(5, errorCol=counts / (np.abs(rate) * exposure) * err * exposure),
        ),
    ]:
        pha = DataPHA("x", s.channel.astype(float), counts)
        sherpa_call(pha)
        ours, quality = spec.flags(counts / exposure, err, exposure, e_lo, e_hi, usable)
        assert 2 < np.sum(ours[usable] == 1) < usable.sum()  # really grouped, into several groups
        np.testing.assert_array_equal(ours, pha.grouping)
        np.testing.assert_array_equal(quality == QUALITY_DUBIOUS, pha.quality == 2)


def test_export_refuses_bad_options(isgri_gc, tmp_path):
    s = isgri_gc.spectra[0]
    with pytest.raises(InvalidParameter, match="systematic"):
        s.save(tmp_path, systematic=1.5)
    with pytest.raises(InvalidParameter, match="exactly one"):
        s.save(tmp_path, grouping={"min_counts": 10, "min_snr": 3})
    with pytest.raises(InvalidParameter, match="increasing"):
        s.save(tmp_path, grouping=[40, 20] * u.keV)
    with pytest.raises(InvalidParameter, match="E2"):
        s.save(tmp_path, energy_range=(100, 20))


def test_user_energy_bins_and_background_file(isgri_gc, tmp_path):
    s = next(s for s in isgri_gc.spectra if s.source == "4U 1700-377")
    bkg = next(s for s in isgri_gc.spectra if s.source == "Background")
    edges = [20, 30, 50, 100, 200] * u.keV
    paths = s.save(tmp_path, grouping=edges, background=bkg)
    with fits.open(paths["spectrum"]) as h:
        d, header = h[1].data, h[1].header
        assert header["BACKFILE"] == paths["background"].name
    centre = sum(q.value for q in s.channel_energies()) / 2
    inside = (centre >= 20) & (centre < 200) & s.usable()
    assert np.sum(d["GROUPING"][inside] == 1) == 4
    assert np.all(d["QUALITY"][~inside & s.usable()] == QUALITY_USER)
    pha = _load_from_headers(paths["spectrum"])
    assert pha.get_background() is not None
