"""Sherpa fits of the demo's spectra recover the models the demo injected (several sources and
models), through the live demo dispatcher; joint fits tie parameters; the real ISGRI RMF folds."""

from __future__ import annotations

import numpy as np
import pytest
from _analysis_helpers import SAMPLES
from astropy import units as u
from astropy.io import fits

from oda_widgets.analysis import SpectralModel, fit_spectra, fit_spectrum
from oda_widgets.demo import generate, sky
from oda_widgets.errors import FitFailed, InvalidParameter
from oda_widgets.products import Spectrum


def _pull(measured, error, truth):
    return abs(measured - truth) / error


@pytest.mark.parametrize(
    ("job", "source", "band", "shape"),
    [
        ("isgri_gc", "4U 1700-377", (20, 200), "powerlaw"),
        ("isgri_gc", "OAO 1657-415", (20, 200), "powerlaw"),
        ("isgri_cyg", "Cyg X-1", (20, 300), "cutoffpl"),
        ("jemx_gx17", "GX 17+2", (3, 30), "bbody+powerlaw"),
    ],
)
def test_fit_recovers_the_injected_model(request, job, source, band, shape):
    collection = request.getfixturevalue(job)
    truth = generate.injected_spectra(collection)[source]
    assert truth["model"] == shape  # the sky defines this source's spectrum so
    spectrum = next(s for s in collection.spectra if s.source == source)
    fit = fit_spectrum(spectrum, truth["model"], energy_range=band * u.keV)

    assert 0.3 < fit.reduced_chi2 < 2.0
    gamma = fit["gamma"]
    assert gamma.value.unit == u.dimensionless_unscaled and gamma.error is not None
    assert _pull(gamma.value.value, gamma.error.value, truth[gamma.name]) < 3
    true_flux = sky.energy_flux(truth["source"], *band, truth["mcrab"], truth["instrument"])
    assert fit.flux.unit == u.erg / u.cm**2 / u.s
    assert 0 < fit.flux_error.value < 0.3 * fit.flux.value
    assert _pull(fit.flux.value, fit.flux_error.value, true_flux) < 3
    for name, value in truth.items():
        if "." in name and name.endswith(("ecut", "kt")):
            p = fit[name]
            assert _pull(p.value.value, p.error.value, value) < 3, str(p)
    # the parameter table and the fit's own numbers agree
    table = fit.to_table()
    row = table[list(table["name"]).index(gamma.name)]
    assert row["value"] == gamma.value.value and row["error"] == gamma.error.value
    assert table.meta["dof"] == fit.dof and fit.dof == fit.n_bins - 2 - (1 if shape != "powerlaw" else 0) - (
        1 if "bbody" in shape else 0
    )


def test_residuals_are_data_minus_model_over_error(isgri_cyg):
    spectrum = next(s for s in isgri_cyg.spectra if s.source == "Cyg X-1")
    fit = fit_spectrum(spectrum, "cutoffpl", energy_range=(20, 300) * u.keV, grouping={"min_snr": 5})
    (res,) = fit.residuals
    assert res.source == "Cyg X-1" and len(res.energy) == fit.n_bins
    assert np.all(res.energy >= 20 * u.keV - res.half_width) and np.all(
        res.energy <= 300 * u.keV + res.half_width
    )
    np.testing.assert_allclose(res.chi, ((res.data - res.model) / res.error).value)
    assert np.isclose(np.sum(res.chi**2), fit.statistic, rtol=1e-6)
    # grouping to S/N ≥ 5 leaves fewer, wider bins than the 62 channels
    assert fit.n_bins < 40


def test_frozen_and_bounded_parameters(isgri_cyg):
    spectrum = next(s for s in isgri_cyg.spectra if s.source == "Cyg X-1")
    fit = fit_spectrum(
        spectrum,
        "cutoffpl",
        parameters={"ecut": {"value": 150, "frozen": True}, "gamma": {"value": 1.5, "min": 1.0, "max": 1.65}},
        energy_range=(20, 300),
    )
    assert fit["ecut"].frozen and fit["ecut"].value == 150 * u.keV and fit["ecut"].error is None
    # with E_cut held at 150 keV the data want Γ above 1.65: it stops at its bound, held there
    # (as XSPEC pegs it) while the norm's error is computed
    assert fit["gamma"].value == 1.65 * u.one and fit["gamma"].error is None and not fit["gamma"].frozen
    assert any("cutoffpl.gamma" in n and "bound" in n for n in fit.notes)
    assert fit.covariance.shape == (1, 1) and fit.covariance_names == ["cutoffpl.norm"]
    free = fit_spectrum(
        spectrum, "cutoffpl", parameters={"ecut": {"value": 150, "frozen": True}}, energy_range=(20, 300)
    )
    assert 1.65 < free["gamma"].value.value < 3
    assert free.covariance.shape == (2, 2) and free.covariance_names == ["cutoffpl.gamma", "cutoffpl.norm"]
    assert np.isclose(np.sqrt(free.covariance[0, 0]), free["gamma"].error.value)
    assert free.statistic < fit.statistic
    with pytest.raises(InvalidParameter, match="outside its bounds"):
        fit_spectrum(spectrum, "cutoffpl", parameters={"gamma": {"value": 5, "max": 3}})


def test_confidence_errors_bracket_the_value(isgri_gc):
    spectrum = next(s for s in isgri_gc.spectra if s.source == "4U 1700-377")
    fit = fit_spectrum(spectrum, "powerlaw", energy_range=(20, 200), errors="confidence")
    g = fit["gamma"]
    assert g.lower < g.value < g.upper
    assert np.isclose((g.upper - g.lower).value / 2, g.error.value)


def test_joint_fit_ties_the_photon_index(isgri_gc):
    names = ["4U 1700-377", "OAO 1657-415"]
    spectra = [s for s in isgri_gc.spectra if s.source in names]
    joint = fit_spectra(spectra, "powerlaw", tie="gamma", energy_range=(20, 200))
    assert joint.sources == names
    assert set(joint.parameters) == {"powerlaw.gamma", *(f"powerlaw.norm[{n}]" for n in names)}
    singles = [fit_spectrum(s, "powerlaw", energy_range=(20, 200)) for s in spectra]
    # the χ² of a joint fit is at least the sum of the separate best fits (one parameter fewer)
    assert joint.statistic >= sum(f.statistic for f in singles) - 1e-6
    assert joint.dof == sum(f.dof for f in singles) + 1
    # the shared index lies between the two separate ones, and has the smaller error
    g = sorted(f["gamma"].value.value for f in singles)
    assert g[0] <= joint["gamma"].value.value <= g[1]
    assert joint["gamma"].error < min(f["gamma"].error for f in singles)
    assert set(joint.fluxes) == set(names)


def test_model_expressions_and_errors(isgri_gc):
    m = SpectralModel("atten*(bbody+cutoffpl)")
    assert m.expression == "atten*(bbody+cutoffpl)"
    assert list(m.parameters) == [
        "atten.nh",
        "bbody.kt",
        "bbody.norm",
        "cutoffpl.gamma",
        "cutoffpl.ecut",
        "cutoffpl.norm",
    ]
    assert SpectralModel("powerlaw + powerlaw").parameters.keys() >= {"powerlaw.gamma", "powerlaw_2.gamma"}
    for bad, message in [
        ("powerlaw*cutoffpl", "two additive"),
        ("atten", "no additive"),
        ("atten+powerlaw", "cannot be added"),
        ("xsphabs*powerlaw", "unknown component"),
        ("powerlaw; import os", "unexpected"),
        ("(powerlaw", "not closed"),
    ]:
        with pytest.raises(InvalidParameter, match=message):
            SpectralModel(bad)
    with pytest.raises(InvalidParameter, match="ambiguous"):
        SpectralModel("powerlaw+cutoffpl").set("gamma", 2)
    spectrum = next(s for s in isgri_gc.spectra if s.source == "4U 1700-377")
    with pytest.raises(FitFailed, match="no usable channel"):
        fit_spectrum(spectrum, "powerlaw", energy_range=(2000, 3000))
    with pytest.raises(FitFailed, match="frozen"):
        fit_spectrum(spectrum, "powerlaw", parameters={"gamma": {"frozen": True}, "norm": {"frozen": True}})


def _isgri_with_real_rmf(gamma=2.0, norm=10.0, exposure=20000.0, seed=1):
    """An ISGRI rate spectrum folded (by Sherpa's own fake_pha) through the real 256-channel RMF."""
    from sherpa.astro.data import DataPHA
    from sherpa.astro.fake import fake_pha
    from sherpa.astro.instrument import Response1D
    from sherpa.astro.io import read_rmf
    from sherpa.models.basic import PowLaw1D

    rmf_hdul = fits.open(SAMPLES / "isgri_rmf_Crab.fits")
    rmf = read_rmf(rmf_hdul)
    channel = np.arange(rmf.detchans, dtype=float)
    pha = DataPHA("fake", channel, np.zeros_like(channel), exposure=exposure)
    pha.set_rmf(rmf)
    src = PowLaw1D()
    src.gamma, src.ampl = gamma, norm
    fake_pha(pha, Response1D(pha)(src), rng=np.random.default_rng(seed))
    counts = pha.counts.astype(float)
    rate, err = counts / exposure, np.sqrt(np.maximum(counts, 1.0)) / exposure
    hdu = fits.BinTableHDU.from_columns(
        [
            fits.Column("CHANNEL", "I", array=channel.astype(np.int16)),
            fits.Column("RATE", "E", array=rate),
            fits.Column("STAT_ERR", "E", array=err),
        ],
        name="ISGR-EVTS-SPE",
    )
    hdu.header["EXPOSURE"] = exposure
    return Spectrum("fake Crab", fits.HDUList([fits.PrimaryHDU(), hdu]), None, rmf_hdul, instrument="isgri")


def test_real_isgri_rmf_without_arf():
    """The real ISGRI RMF carries the effective area (an RSP): no ARF needed."""
    spectrum = _isgri_with_real_rmf()
    fit = fit_spectrum(spectrum, "powerlaw", energy_range=(25, 300))
    assert _pull(fit["gamma"].value.value, fit["gamma"].error.value, 2.0) < 3
    assert _pull(fit["norm"].value.value, fit["norm"].error.value, 10.0) < 3
    assert fit.n_bins > 100  # 0.5 keV channels


def test_registered_models_integrate_xspec_definitions_over_bins():
    """cutoffpl and bbody (ours) and powerlaw/bknpower (Sherpa's) give the bin integrals of XSPEC's
    formulas; atten gives the bin-averaged transmission."""
    from scipy import integrate

    from oda_widgets.analysis.spectral import _sherpa

    classes = _sherpa()["classes"]
    grid = np.geomspace(3.0, 300.0, 121)
    lo, hi = grid[:-1], grid[1:]
    formulas = {
        "cutoffpl": ({"gamma": 1.7, "ecut": 40.0, "norm": 2.0}, lambda e: 2.0 * e**-1.7 * np.exp(-e / 40.0)),
        "powerlaw": ({"gamma": 2.1, "norm": 9.0}, lambda e: 9.0 * e**-2.1),
        "bknpower": (
            {"gamma1": 1.5, "ebreak": 30.0, "gamma2": 2.5, "norm": 1.0},
            lambda e: np.where(e <= 30, e**-1.5, 30.0 * e**-2.5),
        ),
        "bbody": ({"kt": 2.5, "norm": 0.1}, lambda e: 0.1 * 8.0525 * e**2 / (2.5**4 * np.expm1(e / 2.5))),
    }
    for name, (values, formula) in formulas.items():
        model = classes[name](name)
        for k, v in values.items():
            getattr(model, k).val = v
        expected = np.array([integrate.quad(formula, a, b, epsrel=1e-10)[0] for a, b in zip(lo, hi)])
        # (Sherpa's bbody is 0 beyond E/kT = 60: 1e-23 of its peak)
        np.testing.assert_allclose(
            model(lo, hi), expected, rtol=1e-6, atol=1e-15 * expected.max(), err_msg=name
        )
    atten = classes["atten"]("atten")
    atten.nh.val = 5.0
    transmission = atten(lo, hi)
    assert np.all((transmission > 0) & (transmission <= 1))
    assert transmission[0] < 0.5 < 0.999 < transmission[-1]  # 5e22 cm⁻² absorbs at 3 keV, not at 300 keV
    # Sherpa's atten (on wavelengths: 12.398 keV Å) at the bins' centres, our bin averages
    from sherpa.astro.models import Atten

    direct = Atten()
    direct.hcol = 5e22
    smooth = ~((lo < 7.12) & (hi > 7.10))  # the bin of the Fe K edge averages across it
    centre = direct(12.398419843320026 / np.sqrt(lo * hi))
    np.testing.assert_allclose(transmission[smooth], centre[smooth], atol=0.01)
