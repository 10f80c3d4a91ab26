"""Our client against the demo dispatcher: the 1.3.6-style paths, the resolver, an INTEGRAL job."""

from __future__ import annotations

import asyncio
import warnings

import pytest
from astropy.coordinates import SkyCoord

from oda_widgets.client import Dispatcher, JobState, RequestNotUnderstood


@pytest.fixture
def disp(demo_dispatcher):
    from oda_widgets import demo

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyJWT: the demo secret is short on purpose
        token = demo.make_token(email="client-tests@example.org")
    return Dispatcher(demo_dispatcher, token=token)


def test_instruments_through_the_redirect(disp):
    # The demo, like dispatchers >= 1.3.6, redirects /api/instr-list to /instr-list.
    assert disp.instruments()[:3] == ["isgri", "jemx", "spi_acs"]


def test_resolve_a_source_name(disp):
    crab = disp.resolve("Crab")
    assert isinstance(crab, SkyCoord)
    assert crab.ra.deg == pytest.approx(83.63308) and crab.dec.deg == pytest.approx(22.0145)
    assert crab.info.name == "Crab"
    with pytest.raises(RequestNotUnderstood) as err:
        disp.resolve("No Such Source 123")
    assert err.value.parameter == "src_name" and "could not be resolved" in str(err.value)
    with pytest.raises(RequestNotUnderstood):
        disp.resolve("  ")


def test_isgri_image_job_with_integral_progress(disp):
    job = disp.submit(
        "isgri", "isgri_image", {"E1_keV": 25.0, "E2_keV": 80.0, "RA": 265.97845833, "DEC": -29.74516667}
    )
    job.poll_initial = 0.1
    seen = []
    job.observe(lambda j: seen.append((j.state, j.progress.scw_total)))
    products = job.wait(timeout=120)
    assert job.state is JobState.DONE
    assert any(total > 0 for _, total in seen)  # ScW progress was reported on the way
    assert job.progress.scw_total > 0 and job.progress.fraction == 1.0
    assert job.progress.scw_done + job.progress.scw_cached + job.progress.scw_failed == job.progress.scw_total
    assert products.mosaic is not None and products.catalog is not None


def test_await_a_demo_job(disp, run_async):
    job = disp.submit("jemx", "jemx_lc", {"E1_keV": 3.0, "E2_keV": 20.0})
    job.poll_initial = 0.1

    async def main():
        return await asyncio.wait_for(job, timeout=120)

    products = run_async(main())
    assert job.state is JobState.DONE
    assert len(products.light_curves) >= 1
