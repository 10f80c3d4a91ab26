"""Products served over HTTP by the demo dispatcher, fetched with our client, decoded into views."""

from __future__ import annotations

import numpy as np
import pytest
from astropy import units as u

from oda_widgets.client import Dispatcher
from oda_widgets.products import Catalog, LightCurve, Mosaic, ProductCollection

GC_2017 = dict(T1="2017-03-06T00:00:00", T2="2017-03-09T00:00:00", max_pointings=10)


@pytest.fixture(scope="module")
def image(demo_dispatcher) -> ProductCollection:
    return Dispatcher(demo_dispatcher).submit("isgri", "isgri_image", GC_2017).wait(timeout=120)


def test_image_job_gives_mosaic_and_catalog(image):
    assert image.names()[0] == "mosaic_image_0_mosaic"
    assert image.names()[-1].startswith("dispatcher_catalog_")
    m = image.mosaic
    assert isinstance(m, Mosaic)
    assert set(m.images) == {"INTENSITY", "VARIANCE", "SIGNIFICANCE", "EXPOSURE"}
    assert m.wcs.has_celestial and m.e_min is not None
    cat = image.catalog
    assert isinstance(cat, Catalog) and len(cat) > 0
    # every catalogued source lies on the mosaic
    x, y = m.wcs.world_to_pixel(cat.coords)
    ny, nx = m.shape
    assert np.all((x > -1) & (x < nx) & (y > -1) & (y < ny))


def test_catalog_round_trip_into_a_light_curve_job(demo_dispatcher, image):
    selected = image.catalog.filter(min_significance=7, exclude_new=True)
    assert len(selected) > 0
    lcs = (
        Dispatcher(demo_dispatcher)
        .submit(
            "isgri", "isgri_lc", dict(GC_2017, time_bin=1000, selected_catalog=selected.to_selected_catalog())
        )
        .wait(timeout=120)
    )
    curves = lcs.light_curves
    assert curves and all(isinstance(lc, LightCurve) for lc in curves)
    assert {lc.instrument for lc in curves} == {"ISGRI"}
    assert all(lc.rate.unit == u.ct / u.s and lc.valid.any() for lc in curves)
    # every bin inside the requested days, MJD 57818 (2017-03-06) to 57821 (2017-03-09), TT
    for lc in curves:
        assert lc.time.tt.mjd.min() >= 57818.0 and lc.time.tt.mjd.max() <= 57821.0
