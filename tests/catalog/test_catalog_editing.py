"""Catalog editing: objects of interest as oda_api adds them, edit/delete/undo/redo, ECSV/FITS/DS9
save and load, and the edited selected_catalog accepted by the demo and the real dispatcher 1.3.3."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
import requests
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.table import Table, unique
from oda_api.data_products import ApiCatalog
from oda_api.plot_tools import OdaImage
from peers import real_token
from shared_data import SAMPLES

from oda_widgets import demo
from oda_widgets.catalog import CatalogTable
from oda_widgets.client import Dispatcher
from oda_widgets.errors import InvalidParameter
from oda_widgets.products import Catalog, CatalogEditor

VELA = SkyCoord(135.5285875, -40.55469333, unit="deg", frame="fk5")


@pytest.fixture
def wire_dict() -> dict:
    """The 212-row ISGRI catalog as the dispatcher sends it, with two NEW detections."""
    t = Table.read(SAMPLES / "isgri_catalog_212rows.ecsv")
    t["src_names"] = t["src_names"].astype("U20")
    t["src_names"][5] = "NEW_1"
    t["src_names"][97] = "NEW_2"
    return json.loads(json.dumps(Catalog(t).to_dict()))


class _Image(OdaImage):
    """oda_api's OdaImage without a product: only its add_objects_of_interest is used."""

    def __init__(self):
        self.logger = logging.getLogger("oda_api-reference")


def _oda_api(wire_dict, min_sig, objects) -> str:
    api = ApiCatalog(json.loads(json.dumps(wire_dict)))
    with np.errstate(invalid="ignore"):
        api.table = api.table[np.asarray(api.table["significance"], dtype=float) >= min_sig]
    api.table = _Image().add_objects_of_interest(api.table, objects)
    return api.get_api_dictionary()


def test_object_of_interest_equals_oda_api(wire_dict):
    """Adding Vela X-1 to the ≥ 5σ cut gives oda_api's selected_catalog (oda_api sorts by name)."""
    ours = Catalog.from_dict(wire_dict).filter(min_significance=5).with_source("Vela X-1", VELA)
    t = ours.table
    assert t["src_names"][-1] == "Vela X-1"
    assert (t["FLAG"][-1], t["ISGRI_FLAG"][-1], t["meta_ID"][-1], t["significance"][-1]) == (1, 2, 0, 0.0)
    by_name = Catalog(t[t.argsort("src_names")]).to_selected_catalog()
    assert by_name == _oda_api(wire_dict, 5, [("Vela X-1", VELA)])


def test_object_near_a_new_detection_renames_it_as_oda_api_does(wire_dict):
    cat = Catalog.from_dict(wire_dict)
    new = cat.table[97]
    here = SkyCoord(float(new["ra"]) + 0.01, float(new["dec"]) - 0.01, unit="deg", frame="fk5")
    ours = cat.filter(min_significance=-100).with_source("GRS 1758-258", here)
    assert len(ours) == len(cat) and ours.table["src_names"][97] == "GRS 1758-258"
    assert ours.table["FLAG"][97] == 1
    expected = _oda_api(wire_dict, -100, [("GRS 1758-258", here)])
    # oda_api ends with table.unique(keys="src_names"), which also drops rows of repeated names;
    # the editor keeps every row, so compare after the same step
    assert Catalog(unique(ours.table, keys="src_names")).to_selected_catalog() == expected


def test_editor_edits_and_undo_redo(wire_dict):
    ed = CatalogEditor(Catalog.from_dict(wire_dict))
    n = len(ed.catalog)
    ed.add_source("Vela X-1", VELA, isgri_flag=1)  # the MMODA frontend's ISGRI_FLAG
    assert len(ed.catalog) == n + 1 and ed.catalog.table["ISGRI_FLAG"][-1] == 1
    ed.edit_row(n, name="A much longer source name than the column", significance=3.5)
    assert ed.catalog.table["src_names"][n] == "A much longer source name than the column"
    assert ed.catalog.table["significance"][n] == 3.5
    ed.delete_rows([0, 1])
    assert len(ed.catalog) == n - 1
    ed.undo()
    assert len(ed.catalog) == n + 1
    ed.undo()
    assert ed.catalog.table["src_names"][n] == "Vela X-1"
    ed.redo()
    ed.redo()
    assert len(ed.catalog) == n - 1 and not ed.can_redo
    with pytest.raises(InvalidParameter, match="redo"):
        ed.redo()
    with pytest.raises(InvalidParameter, match="no row"):
        ed.edit_row(10_000, name="x")
    with pytest.raises(InvalidParameter, match="SkyCoord"):
        ed.add_source("x", (1, 2))


@pytest.mark.parametrize("suffix", [".ecsv", ".fits", ".reg"])
def test_save_and_load_round_trip(wire_dict, tmp_path, suffix):
    cat = Catalog.from_dict(wire_dict).filter(min_significance=8).with_source("Vela X-1", VELA)
    path = cat.save(tmp_path / f"edited{suffix}")
    back = Catalog.read(path)
    assert list(back.table["src_names"]) == list(cat.table["src_names"])
    sep = back.coords.separation(cat.coords).to_value(u.arcsec)
    assert np.max(sep) < 0.01
    if suffix != ".reg":
        # every value comes back (ECSV does not keep a string column's width, only its text)
        a, b = json.loads(back.to_selected_catalog()), json.loads(cat.to_selected_catalog())
        a.pop("cat_column_descr"), b.pop("cat_column_descr")
        assert a == b
    else:
        # DS9 keeps names and positions; the rows come back as objects of interest
        assert set(back.table["FLAG"]) == {1}
        text = open(path).read()
        assert "point(135.52858750,-40.55469333)" in text and "text={Vela X-1}" in text and "j2000" in text


def test_table_edits_reach_selected_catalog_and_survive_the_cut(wire_dict):
    table = CatalogTable(wire_dict, min_significance=8)
    before = json.loads(table.selected_catalog)
    row = table.add_source(VELA, "Vela X-1")
    assert row in table.visible_ids and row in table.selected_ids  # kept whatever the cut
    after = json.loads(table.selected_catalog)
    assert after["cat_column_list"][1][-1] == "Vela X-1"
    assert len(after["cat_column_list"][0]) == len(before["cat_column_list"][0]) + 1
    table.add_source(None, "by hand", ra="09:02:06.86", dec="-40:33:16.9")
    assert table.catalog.table["src_names"][-1] == "by hand"
    assert abs(table.catalog.table["ra"][-1] - 135.528583) < 1e-4
    table.undo()
    assert "by hand" not in list(table.catalog.table["src_names"])
    table.delete_rows([row])
    assert "Vela X-1" not in json.loads(table.selected_catalog)["cat_column_list"][1]
    table.undo()
    table._on_edit({"action": "add", "name": "bad", "ra": "nowhere", "dec": "1"})
    assert table.status.startswith("✗") and "nowhere" in table.status


def test_typed_cut_is_exact():
    t = Table.read(SAMPLES / "isgri_catalog_212rows.ecsv")
    table = CatalogTable(t, exclude_new=False)
    table.set_min_significance(8)
    sig = np.asarray(t["significance"], dtype=float)
    assert table.visible_ids == [int(i) for i in np.flatnonzero(sig >= 8)]


def test_resolved_object_of_interest_reaches_a_spectrum_job(demo_dispatcher):
    disp = Dispatcher(demo_dispatcher, token=demo.make_token())
    image = disp.submit("isgri", "isgri_image", {"E1_keV": 25.0, "E2_keV": 80.0})
    image.poll_initial = 0.1
    products = image.wait(timeout=120)
    table = CatalogTable(products, dispatcher=disp)
    table.add_object_of_interest("Crab")
    job = table.spectrum_for_selected()
    sent = json.loads(job.params["selected_catalog"])
    assert "Crab" in sent["cat_column_list"][1]
    assert job.wait(timeout=120).spectra


def test_real_dispatcher_accepts_an_edited_selected_catalog(real_dispatcher, wire_dict):
    """The real dispatcher 1.3.3 (dummy instrument, whose parameters include selected_catalog)
    takes the edited catalog and echoes it unchanged."""
    edited = Catalog.from_dict(wire_dict).filter(min_significance=8).with_source("Vela X-1", VELA)
    params = {
        "instrument": "empty",
        "product_type": "numerical",
        "query_type": "Dummy",
        "api": "True",
        "query_status": "new",
        "p": 5.0,
        "selected_catalog": edited.to_selected_catalog(),
        "token": real_token(),
    }
    r = requests.post(f"{real_dispatcher.url}/run_analysis", data=params, timeout=60)
    assert r.status_code == 200, r.text[:500]
    body = r.json()
    assert body["query_status"] == "done", body.get("exit_status")
    echoed = body["products"]["analysis_parameters"]["selected_catalog"]
    assert json.loads(echoed) == json.loads(edited.to_selected_catalog())
