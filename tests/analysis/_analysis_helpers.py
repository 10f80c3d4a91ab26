"""Paths and demo requests shared by the analysis tests."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: ../shared as tests/conftest.py finds it (honours $ODA_WIDGETS_SHARED)
SAMPLES = Path(os.environ.get("ODA_WIDGETS_SHARED", ROOT.parent / "shared")) / "samples"

#: The default ISGRI field (Galactic Centre, 2017): powerlaw and cut-off power-law sources
ISGRI_GC = dict(
    T1="2017-03-06T00:00:00", T2="2017-03-09T00:00:00", max_pointings=10, E1_keV=25.0, E2_keV=80.0
)
#: Cygnus: Cyg X-1 (cut-off power law), Cyg X-3
ISGRI_CYG = dict(RA=299.59, DEC=35.2, T1="2015-06-06T00:00:00", T2="2015-06-09T00:00:00", max_pointings=10)
#: GX 17+2 with JEM-X: black body + power law
JEMX_GX17 = dict(
    RA=274.00583, DEC=-14.03639, T1="2017-03-06T00:00:00", T2="2017-03-20T00:00:00", max_pointings=20
)
