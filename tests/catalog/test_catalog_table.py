"""CatalogTable on the real 212-row ISGRI catalog: oda_api's filter semantics, the selected_catalog
round trip through oda_api.ApiCatalog, the Python twins of the UI actions, and a follow-up spectrum
job on the demo dispatcher."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from astropy.table import Table
from oda_api.data_products import ApiCatalog
from shared_data import SAMPLES

from oda_widgets.catalog import DEFAULT_MIN_SIGNIFICANCE, CatalogTable
from oda_widgets.errors import InvalidParameter, OdaError
from oda_widgets.products import Catalog

SAMPLE = SAMPLES / "isgri_catalog_212rows.ecsv"
# rows renamed as new detections: the sample has none, and the NEW rule needs some to bite
NEW_ROWS = {60: "NEW_1", 97: "NEW_2", 5: "NEW_3"}


def _sample(nan: bool) -> dict:
    t = Table.read(SAMPLE)
    t["src_names"] = t["src_names"].astype("U20")
    for row, name in NEW_ROWS.items():
        t["src_names"][row] = name
    if nan:
        t["ERR_RAD"][97] = np.nan  # NaN travels as null
    return Catalog(t).to_dict()


@pytest.fixture(scope="module")
def catalog_dict() -> dict:
    return _sample(nan=False)


@pytest.fixture(scope="module")
def catalog_dict_nan() -> dict:
    return _sample(nan=True)


def oda_api_cut(catalog_dict: dict, det_sigma: float, include_new: bool) -> str:
    """The rule of oda_api's ``OdaImage.extract_catalog_from_image`` applied to oda_api's own
    ApiCatalog and serialised by it: rows with ``significance >= det_sigma``, then names containing
    ``NEW`` dropped unless ``include_new_sources``; ``'none'`` when nothing is left.

    (oda_api 1.3.5's method itself cannot be called here: with no objects of interest its
    ``add_objects_of_interest`` returns None and the extraction fails.)
    """
    api = ApiCatalog(json.loads(json.dumps(catalog_dict)))
    with np.errstate(invalid="ignore"):
        keep = np.asarray(api.table["significance"], dtype=float) >= det_sigma
    if not include_new:
        keep &= np.array(["NEW" not in str(n) for n in api.table["src_names"]], dtype=bool)
    if not keep.any():
        return "none"
    api.table = api.table[keep]
    return api.get_api_dictionary()


@pytest.mark.parametrize("det_sigma", [-30, 0.0, 0.5, 3, 4.263949871063232, 5, 8.8, 14.95, 17.4059])
@pytest.mark.parametrize("include_new", [False, True])
def test_filter_is_oda_apis(catalog_dict, det_sigma, include_new):
    table = CatalogTable(catalog_dict).set_min_significance(det_sigma).exclude_new(not include_new)
    ref = oda_api_cut(catalog_dict, det_sigma, include_new)
    if ref == "none":
        assert table.selected_ids == []
        with pytest.raises(InvalidParameter, match="select at least one"):
            table.selected_catalog
        return
    assert json.loads(table.selected_catalog) == json.loads(ref)


def test_defaults_are_oda_apis_quick_look_cut(catalog_dict):
    table = CatalogTable(catalog_dict)
    assert table.min_significance == DEFAULT_MIN_SIGNIFICANCE == 5.0 and table.exclude_new_sources
    assert json.loads(table.selected_catalog) == json.loads(oda_api_cut(catalog_dict, 5, False))
    lo, hi = table.significance_range
    assert lo == pytest.approx(-28.9139, abs=1e-3) and hi == pytest.approx(17.4059, abs=1e-3)


def test_selected_catalog_round_trip_through_oda_api(catalog_dict_nan):
    table = CatalogTable(catalog_dict_nan).set_min_significance(3).exclude_new(False)
    s = table.selected_catalog
    d = json.loads(s)  # valid JSON: NaN became null
    err_rad = d["cat_column_names"].index("ERR_RAD")
    assert "NaN" not in s and None in d["cat_column_list"][err_rad]
    assert d["cat_column_descr"][err_rad] == ["ERR_RAD", "<f8"]  # still a float column for the server
    meta_ids = d["cat_column_list"][0]
    assert meta_ids == [int(i) for i in table.selected["meta_ID"]] and meta_ids != list(range(len(meta_ids)))
    api = ApiCatalog(d)
    again = json.loads(api.get_api_dictionary())
    # oda_api keeps the null (as an object column), everything else comes back identical
    assert {k: v for k, v in again.items() if k != "cat_column_descr"} == {
        k: v for k, v in d.items() if k != "cat_column_descr"
    }
    assert [c for c, _ in again["cat_column_descr"]] == d["cat_column_names"]
    assert list(api.table["src_names"]) == list(table.selected["src_names"])
    assert list(api.table["meta_ID"]) == meta_ids
    # and our decoder reads oda_api's string back to the same rows, NaN restored
    back = Catalog.from_selected_catalog(api.get_api_dictionary())
    assert math.isnan(back.table["ERR_RAD"][meta_ids.index(97)])


def test_python_twins_of_the_controls(catalog_dict):
    table = CatalogTable(catalog_dict)
    table.set_min_significance(None).exclude_new(False)
    assert len(table.visible_ids) == 212
    table.search("gx ")
    names = list(table.selected["src_names"])
    assert names and all("gx" in n.lower() for n in names)
    table.search("")
    table.set_min_significance(3).select([55, 62])
    assert list(table.selected["meta_ID"]) == [55, 62]
    table.select(None)
    assert len(table.selected) == len(table.visible_ids) > 2
    table.set_min_significance(40)  # outside the column: the slider widens
    assert table.significance_range[1] == 40 and table.selected_ids == []
    with pytest.raises(InvalidParameter, match="finite"):
        table.set_min_significance(float("nan"))
    with pytest.raises(InvalidParameter, match="must be a number"):
        table.set_min_significance("high")
    with pytest.raises(InvalidParameter, match="no source with meta_ID"):
        table.select([99999])


def test_front_end_filter_state_is_what_python_reads(catalog_dict):
    """The browser writes the filter and the resulting ids together; Python's own recomputation agrees."""
    table = CatalogTable(catalog_dict)
    expected = [
        i
        for i in range(212)
        if catalog_dict["cat_column_list"][2][i] is not None and catalog_dict["cat_column_list"][2][i] >= 8.8
    ]
    # what the widget's comm handler does with a message from the page
    table.set_state(
        {
            "min_significance": 8.8,
            "exclude_new_sources": False,
            "visible_ids": expected,
            "selected_ids": expected,
        }
    )
    assert table.visible_ids == expected and list(table.selected["meta_ID"]) == expected
    # ids from the page that name no row are dropped, not trusted
    table.set_state({"selected_ids": [expected[0], 5000, -1, expected[0]]})
    assert table.selected_ids == [expected[0]] and len(table.selected) == 1


def test_missing_dispatcher_or_instrument_is_explained(catalog_dict):
    with pytest.raises(InvalidParameter, match="no instrument"):
        CatalogTable(catalog_dict).spectrum_for_selected()
    with pytest.raises(OdaError, match="no dispatcher"):
        CatalogTable(catalog_dict, instrument="isgri").spectrum_for_selected()


@pytest.fixture
def disp(demo_dispatcher):
    from oda_widgets import demo
    from oda_widgets.client import Dispatcher

    token = demo.make_token(email="catalog-tests@example.org")
    return Dispatcher(demo_dispatcher, token=token)


def test_spectrum_for_selected_on_the_demo_dispatcher(disp):
    job = disp.submit("isgri", "isgri_image", {"E1_keV": 25.0, "E2_keV": 80.0, "detection_threshold": 5.0})
    job.poll_initial = 0.1
    image = job.wait(timeout=120)
    table = CatalogTable(image, dispatcher=disp)
    assert table.instrument == "isgri" and len(table.catalog) > 0
    table.set_min_significance(0).exclude_new(True)
    chosen = [int(i) for i in table.selected["meta_ID"][:2]]
    table.select(chosen)
    params = table.follow_up_parameters("isgri_spectrum")
    assert params["E1_keV"] == 25.0 and params["E2_keV"] == 80.0
    assert params["T1"] == image.analysis_parameters["T1"] and params["RA"] == image.analysis_parameters["RA"]
    spec_job = table.spectrum_for_selected()
    assert spec_job.product == "isgri_spectrum" and table.last_job is spec_job
    spec_job.poll_initial = 0.1
    spectra = spec_job.wait(timeout=120)
    wanted = {str(n) for n in table.selected["src_names"]}
    assert {s.source for s in spectra.spectra} >= wanted
    assert json.loads(spec_job.params["selected_catalog"])["cat_column_list"][0] == chosen


def test_follow_up_form_is_filled_with_the_image_parameters_and_selection(disp):
    job = disp.submit("isgri", "isgri_image", {"E1_keV": 30.0, "E2_keV": 60.0})
    job.poll_initial = 0.1
    image = job.wait(timeout=120)
    table = CatalogTable(image, dispatcher=disp).set_min_significance(0)
    form = table.form_for_selected("lc")
    assert (form.instrument, form.product) == ("isgri", "isgri_lc")
    values = form.values
    assert values["E1_keV"] == 30.0 and values["E2_keV"] == 60.0
    sent = values["selected_catalog"]
    assert json.loads(sent if isinstance(sent, str) else json.dumps(sent)) == json.loads(
        table.selected_catalog
    )
    with pytest.raises(InvalidParameter, match="kind"):
        table.form_for_selected("image")
