"""Plain numpy/astropy light curves for tests: the attributes of ``oda_widgets.products.LightCurve``."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from astropy import units as u
from astropy.time import Time, TimeDelta

IJD0 = Time(51544.0, format="mjd", scale="tt")


def make_lc(
    rate,
    error,
    *,
    t0_ijd=8000.0,
    timedel_s=100.0,
    fracexp=None,
    valid=None,
    source="src",
    instrument="IBIS",
    time_zero=None,
):
    rate = np.asarray(rate, float)
    n = rate.size
    if time_zero is None:
        time = IJD0 + TimeDelta((t0_ijd * 86400.0 + timedel_s * (np.arange(n) + 0.5)) * u.s)
    else:
        time = time_zero + TimeDelta(timedel_s * (np.arange(n) + 0.5) * u.s)
    return SimpleNamespace(
        time=time,
        rate=rate * u.ct / u.s,
        error=np.asarray(error, float) * u.ct / u.s,
        timedel=timedel_s * u.s,
        xerr=timedel_s / 2 * u.s,
        fracexp=fracexp,
        valid=valid,
        source=source,
        e_min=25 * u.keV,
        e_max=80 * u.keV,
        instrument=instrument,
        time_zero=time_zero,
    )
