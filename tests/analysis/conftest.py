"""Demo spectrum jobs shared by the analysis tests (one request each per session)."""

from __future__ import annotations

import pytest
from _analysis_helpers import ISGRI_CYG, ISGRI_GC, JEMX_GX17

from oda_widgets.client import Dispatcher


def _spectra(url: str, instrument: str, params: dict):
    return Dispatcher(url).submit(instrument, f"{instrument}_spectrum", params).wait(timeout=120)


@pytest.fixture(scope="session")
def isgri_gc(demo_dispatcher):
    return _spectra(demo_dispatcher, "isgri", ISGRI_GC)


@pytest.fixture(scope="session")
def isgri_cyg(demo_dispatcher):
    return _spectra(demo_dispatcher, "isgri", ISGRI_CYG)


@pytest.fixture(scope="session")
def jemx_gx17(demo_dispatcher):
    return _spectra(demo_dispatcher, "jemx", JEMX_GX17)
