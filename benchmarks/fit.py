"""Time to fit an ISGRI spectrum folded through its real RMF (goal: < 1 s per fit, power law and
cut-off power law), against the same fit done with plain Sherpa calls.

Run: .venv/bin/python benchmarks/fit.py [--repeat N] [--samples N]

The spectrum: a Crab-like power law (Γ 2.1) and a Cyg X-1-like cut-off power law folded by Sherpa's
``fake_pha`` through ``../shared/samples/isgri_rmf_Crab.fits`` (256 channels × 2466 energies, the
effective area inside the RMF), 20 ks, 25–300 keV. ``fit_spectrum`` does what the fit panel's
button does: build the data set, fit (LevMar, a simplex pass, LevMar), covariance errors and the
20–100 keV flux error from ``--samples`` draws. The peer makes the same Sherpa objects and calls
directly (Fit.fit with LevMar, est_errors, sample_flux with the same number of draws). Figures
are indicative: the machine's 2 cores are shared.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from astropy.io import fits

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = Path(os.environ.get("ODA_WIDGETS_SHARED", ROOT.parent / "shared")) / "samples"
GOAL_S = 1.0


def fake_isgri(model: str):
    """A products.Spectrum of ISGRI counts from the real RMF, and the Sherpa source used."""
    from sherpa.astro.data import DataPHA
    from sherpa.astro.fake import fake_pha
    from sherpa.astro.instrument import Response1D
    from sherpa.astro.io import read_rmf

    from oda_widgets.analysis.spectral import _sherpa
    from oda_widgets.products import Spectrum

    rmf_hdul = fits.open(SAMPLES / "isgri_rmf_Crab.fits")
    rmf = read_rmf(rmf_hdul)
    channel = np.arange(rmf.detchans, dtype=float)
    exposure = 20000.0
    pha = DataPHA("fake", channel, np.zeros_like(channel), exposure=exposure)
    pha.set_rmf(rmf)
    src = _sherpa()["classes"][model](model)
    if model == "cutoffpl":
        src.gamma, src.ecut, src.norm = 1.7, 150.0, 2.0
    else:
        src.gamma, src.norm = 2.1, 10.0
    fake_pha(pha, Response1D(pha)(src), rng=np.random.default_rng(7))
    counts = pha.counts.astype(float)
    hdu = fits.BinTableHDU.from_columns(
        [
            fits.Column("CHANNEL", "I", array=channel.astype(np.int16)),
            fits.Column("RATE", "E", array=counts / exposure),
            fits.Column("STAT_ERR", "E", array=np.sqrt(np.maximum(counts, 1.0)) / exposure),
        ],
        name="ISGR-EVTS-SPE",
    )
    hdu.header["EXPOSURE"] = exposure
    spectrum = Spectrum(model, fits.HDUList([fits.PrimaryHDU(), hdu]), None, rmf_hdul, instrument="isgri")
    return spectrum, rmf


def ours(spectrum, model: str, samples: int):
    from oda_widgets.analysis import fit_spectrum

    return fit_spectrum(spectrum, model, energy_range=(25, 300), flux_band=(20, 100), flux_samples=samples)


def peer(spectrum, rmf, model: str, samples: int):
    """The same fit with Sherpa's objects called directly (no simplex pass, no pegging logic)."""
    from sherpa.astro.data import DataPHA
    from sherpa.astro.flux import sample_flux
    from sherpa.astro.instrument import Response1D
    from sherpa.estmethods import Covariance
    from sherpa.fit import Fit
    from sherpa.optmethods import LevMar
    from sherpa.stats import Chi2

    from oda_widgets.analysis.spectral import _sherpa

    exposure = spectrum.exposure.value
    pha = DataPHA(
        "peer",
        spectrum.channel.astype(float),
        spectrum.rate.value * exposure,
        staterror=spectrum.error.value * exposure,
        exposure=exposure,
    )
    pha.set_rmf(rmf)
    pha.set_analysis("energy")
    pha.notice(25, 300)
    src = _sherpa()["classes"][model](model)
    src.norm = 5.0
    fit = Fit(pha, Response1D(pha)(src), Chi2(), LevMar(), Covariance())
    fit.fit()
    fit.est_errors()
    sample_flux(
        fit, pha, src, correlated=True, num=samples, lo=20, hi=100, rng=np.random.default_rng(0), numcores=1
    )
    return fit


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--samples", type=int, default=300, help="flux-error draws (fit_spectrum's default)")
    args = parser.parse_args()
    t0 = time.perf_counter()
    import sherpa

    print(
        f"sherpa {sherpa.__version__}: import {time.perf_counter() - t0:.2f} s; python {sys.version.split()[0]}"
    )
    for model in ("powerlaw", "cutoffpl"):
        spectrum, rmf = fake_isgri(model)
        first = timed(lambda s=spectrum, m=model: ours(s, m, args.samples), 1)[0]  # reads the RMF once
        ours_s = timed(lambda s=spectrum, m=model: ours(s, m, args.samples), args.repeat)
        bare_s = timed(lambda s=spectrum, m=model: ours(s, m, 0), args.repeat)
        peer_s = timed(lambda s=spectrum, r=rmf, m=model: peer(s, r, m, args.samples), args.repeat)
        fit = ours(spectrum, model, args.samples)
        med, pmed = statistics.median(ours_s), statistics.median(peer_s)
        print(
            f"{model:<9} fit_spectrum median {med:.3f} s (first {first:.3f} s, worst {max(ours_s):.3f} s; "
            f"without the flux draws {statistics.median(bare_s):.3f} s)  goal {GOAL_S:.0f} s: median/goal {med / GOAL_S:.2f}"
        )
        print(
            f"{'':<9} plain Sherpa calls median {pmed:.3f} s   ratio ours/plain {med / pmed:.2f}   "
            f"[Γ = {fit['gamma'].value.value:.3f} ± {fit['gamma'].error.value:.3f}, χ²/dof = {fit.statistic:.0f}/{fit.dof}]"
        )


if __name__ == "__main__":
    main()
