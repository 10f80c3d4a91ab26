"""The analysis layer is widget-free, and Sherpa is loaded only when a spectral fit is asked for."""

import subprocess
import sys


def test_analysis_imports_neither_widgets_nor_sherpa():
    code = (
        "import sys, oda_widgets.analysis; "
        "print(*[m in sys.modules for m in ('ipywidgets', 'bqplot', 'anywidget', 'sherpa')])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False", "False", "False"]


def test_a_fit_prints_nothing(tmp_path):
    """Sherpa reports through a logger that prints; during our fits its messages become notes."""
    code = """
import numpy as np
from astropy.io import fits
from oda_widgets.analysis import fit_spectrum
from oda_widgets.demo import generate
from oda_widgets.products import Spectrum
rmf = generate._rmf_hdul("isgri", 2, {})
arf = generate._arf_hdul("isgri", {})
model = generate._folded("isgri", lambda e: 0.001 * e ** -2.0)
n = model.size
hdu = fits.BinTableHDU.from_columns([
    fits.Column("CHANNEL", "I", array=np.arange(n, dtype=np.int16)),
    fits.Column("RATE", "E", array=model),
    fits.Column("STAT_ERR", "E", array=np.full(n, model.max() / 3))], name="ISGR-EVTS-SPE")
hdu.header["EXPOSURE"] = 1000.0
fit = fit_spectrum(Spectrum("faint", fits.HDUList([fits.PrimaryHDU(), hdu]), arf, rmf), "cutoffpl")
assert fit.notes, "a faint spectrum hits a bound: Sherpa has something to say"
"""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "" and "WARNING" not in run.stderr
