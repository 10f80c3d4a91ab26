"""The products of the real chain, decoded by our product model: the captured responses of
dispatcher 1.3.6 + plugin + nb2service, and the session's live runs of the shipped notebooks
(``workflow_jobs``: no notebook run of its own)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from astropy import units as u
from astropy.io import fits
from workflow_helpers import NB2W_CAPTURES, capture

from oda_widgets.products import BinaryProduct, Mosaic, Picture, ProductCollection, TableProduct, Text
from oda_widgets.products.annotations import ODA

TIMEOUT = 240


def _done_captures() -> list[str]:
    out = []
    for path in sorted(NB2W_CAPTURES.glob("run_analysis_*.json")):
        body = json.loads(path.read_text())
        if isinstance(body, dict) and body.get("query_status") == "done":
            out.append(path.name)
    return out


@pytest.mark.parametrize("name", _done_captures())
def test_every_captured_done_response_decodes(name):
    """Every done answer of the real chain decodes; api=True answers give their two products with
    the ontology term the response declares, the frontend's (api=False) HTML keeps its keys."""
    products = capture(name)["products"]
    c = ProductCollection.from_response(products)
    assert c.problems == []
    if "prod_uris" in products and "numpy_data_product_list" in products:
        assert len(c) == 2
        for _, p in c.items():
            assert p.annotation.uri in products["prod_uris"].values()
    else:
        assert len(c) == 0 and {"image", "name", "file_name"} <= set(c.extra)


def test_captured_catalog_job_products_and_labels():
    c = ProductCollection.from_response(capture("run_analysis_api_catalog_07.json")["products"])
    assert c.names() == ["catalog_table_0", "summary_1"]
    table, text = c.catalog_table_0, c.summary_1
    assert isinstance(table, TableProduct) and table.annotation.uri == ODA + "ODAAstropyTable"
    assert table.meta_data == {}  # '"{}"' on the wire: JSON text of JSON text
    assert table.table["flux"].unit == u.ct / u.s and len(table.table) == 5
    assert table.table.meta == {"E1_keV": 30.0, "E2_keV": 50.0}
    assert isinstance(text, Text) and text.label == "summary" and "5 sources" in text.value
    assert [type(p).__name__ for _, p in c.typed()] == ["TableProduct", "Text"]


def test_captured_light_curve_job_picture():
    c = ProductCollection.from_response(capture("run_analysis_api_lightcurve_06.json")["products"])
    picture = c.lc_picture_1
    assert (
        isinstance(picture, Picture) and picture.data.startswith(b"\x89PNG") and picture.label == "lc_picture"
    )
    assert c.kind_of(c.Crab_30m50keV_0) == "light_curve"


# -- live: the session's runs of the shipped notebooks --------------------------------------------------


def test_live_images_each_a_mosaic_with_its_wcs(workflow_jobs):
    c = workflow_jobs["images"].wait(timeout=TIMEOUT)
    assert [m.name for m in c.images] == ["Pleiades_B_0", "Pleiades_R_1"]
    blue, red = c.images
    assert isinstance(blue, Mosaic) and blue.image.shape == (64, 64) and blue.band == "B" and red.band == "R"
    assert blue.title() == "Pleiades · B" and blue.unit("B") == "count"
    ra, dec = blue.wcs.all_pix2world(31.5, 31.5, 0)
    assert abs(ra - 56.75) < 0.05 and abs(dec - 24.1167) < 0.05
    (picture,) = c.pictures
    assert picture.label == "colour_composite" and picture.annotation.output == "colour_picture"
    assert c.others() == []


def test_live_sed_table_text_and_file(workflow_jobs, tmp_path):
    c = workflow_jobs["sed"].wait(timeout=TIMEOUT)
    (table,) = c.tables
    assert table.label == "Mrk 421 SED" and table.annotation.output == "sed_table"
    assert table.meta_data == {"source": "Mrk 421", "state": "quiescent"}
    sed = table.table
    assert sed["frequency"].unit == u.Hz and sed["upper_limit"].dtype == bool
    (summary,) = c.texts
    assert summary.value.startswith("SED of Mrk 421 (quiescent state)")
    (file,) = c.binaries
    assert isinstance(file, BinaryProduct) and file.file_type.extension == "fits"
    assert file.file_name() == "Mrk_421_sed.fits"
    path = file.save(tmp_path / file.file_name())
    with fits.open(path) as h:
        assert np.array_equal(h[1].data["nuFnu"], np.asarray(sed["nuFnu"]))


def test_live_light_curves_mag_and_flux_in_mjd(workflow_jobs):
    from astropy.time import Time

    c = workflow_jobs["lc"].wait(timeout=TIMEOUT)
    mag, flux = c.light_curves
    for lc in (mag, flux):
        # T1 = 2023-09-01, T2 = 2023-09-11 (the run's values), 6 h cadence with ±0.6 h jitter
        assert lc.time_system == "MJD" and lc.time.scale == "utc"
        assert Time("2023-08-31T23:00:00") < lc.time[0] < Time("2023-09-01T01:00:00")
        assert lc.time[-1] < Time("2023-09-11T01:00:00")
        assert (lc.source, lc.instrument, lc.band) == ("delta Cep", "optical_photometry", "V")
        assert lc.valid.all() and len(lc) == 41
    assert mag.is_magnitude and mag.values.unit == u.mag and 3.0 < mag.values.value.mean() < 5.0
    assert flux.values.unit == u.Jy and not flux.is_magnitude
    # the two curves are the same star: brighter (smaller magnitude) is more flux
    assert np.corrcoef(mag.values.value, np.log10(flux.values.value))[0, 1] < -0.99
    assert [lc.product.annotation.output for lc in (mag, flux)] == ["light_curve_mag", "light_curve_flux"]
