"""ISGRI spectra served by the demo dispatcher: plotted from their own RMF's EBOUNDS, saved for XSPEC."""

from __future__ import annotations

import numpy as np
from astropy.io import fits

from oda_widgets.client import Dispatcher
from oda_widgets.spectrum import SpectrumView, count_density


def test_isgri_spectrum_from_the_demo_dispatcher(demo_dispatcher, tmp_path):
    params = dict(
        T1="2017-03-06T00:00:00", T2="2017-03-09T00:00:00", max_pointings=10, E1_keV=25.0, E2_keV=80.0
    )
    spectra = Dispatcher(demo_dispatcher).submit("isgri", "isgri_spectrum", params).wait(timeout=120).spectra
    assert spectra
    s = spectra[0]
    v = SpectrumView(s, energy_band=(25, 80))
    p = count_density(s)
    eb = s.rmf["EBOUNDS"].data
    rate = s.rate.value
    ok = np.isfinite(rate)
    width = (eb["E_MAX"] - eb["E_MIN"]).astype(float)[np.searchsorted(eb["CHANNEL"], s.channel)]
    assert np.allclose(p.density.value, (rate / width)[ok])
    pos = p.density.value > 0
    assert np.allclose(v._scatters[0].y, p.density.value[pos])
    paths = v.save(tmp_path)[s.source]
    with fits.open(paths["spectrum"]) as h:
        assert any(hdu.header.get("RESPFILE") == paths["rmf"].name for hdu in h[1:])
