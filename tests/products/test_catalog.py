"""The image catalog: dict round trip, oda_api's selection semantics, selected_catalog strings."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from _products_helpers import wire
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.table import Table

from oda_widgets.errors import InvalidParameter, OdaError
from oda_widgets.products import Catalog


@pytest.fixture
def table(samples) -> Table:
    t = Table.read(samples / "isgri_catalog_212rows.ecsv")
    # the sample has no new detections; name three rows as the server names them
    for i, row in enumerate((3, 40, 41)):
        t["src_names"][row] = f"NEW_{i + 1}"
    return t


@pytest.fixture
def server_dict(table) -> dict:
    """The catalog dict as the dispatcher sends it (its own serialiser, made from the table)."""
    return wire(Catalog(table).to_dict())


def _api_catalog(d):
    from oda_api.data_products import ApiCatalog

    return ApiCatalog(wire(d), name="dispatcher_catalog")


def test_from_dict_matches_the_table(table, server_dict):
    c = Catalog.from_dict(server_dict)
    assert len(c) == 212
    assert c.table.colnames == table.colnames
    assert c.table.meta == {"FRAME": "fk5", "COORD_UNIT": "deg", "LON_NAME": "ra", "LAT_NAME": "dec"}
    assert c.table["src_names"].tolist() == table["src_names"].tolist()
    assert np.allclose(c.table["ra"], table["ra"])
    assert c.table["ra"].unit == u.deg
    sc = c.coords
    assert isinstance(sc, SkyCoord) and sc.frame.name == "fk5"
    assert np.allclose(sc.ra.deg, np.asarray(table["ra"], dtype=float))


def test_to_dict_is_the_server_format(server_dict):
    assert list(server_dict) == [
        "cat_frame",
        "cat_coord_units",
        "cat_column_list",
        "cat_column_names",
        "cat_column_descr",
        "cat_lat_name",
        "cat_lon_name",
    ]
    assert server_dict["cat_column_names"][:3] == ["meta_ID", "src_names", "significance"]
    assert all(len(col) == 212 for col in server_dict["cat_column_list"])


def test_selected_catalog_string_equals_oda_api(server_dict):
    ours = Catalog.from_dict(server_dict).to_selected_catalog()
    theirs = _api_catalog(server_dict).get_api_dictionary()
    assert ours == theirs


def test_nan_travels_as_null(table):
    """NaN is sent as null and read back as NaN; the column stays float (oda_api would make it an
    object column, whose descr is ``|O`` and whose significance cut raises TypeError)."""
    table["significance"][5] = np.nan
    table["ERR_RAD"][7] = np.nan
    d = wire(Catalog(table).to_dict())
    assert d["cat_column_list"][2][5] is None and d["cat_column_list"][8][7] is None
    c = Catalog.from_dict(d)
    assert math.isnan(c.table["significance"][5]) and c.table["significance"].dtype.kind == "f"
    s = c.to_selected_catalog()
    assert "NaN" not in s and json.loads(s)["cat_column_list"][2][5] is None
    kept = c.filter(min_significance=-1e9)
    assert 5 not in kept.table["meta_ID"].tolist() and len(kept) == 211  # NaN never passes a cut


@pytest.mark.parametrize("min_significance", [None, 0.0, 3.0, 5.0, 7.0, 10.0])
@pytest.mark.parametrize("exclude_new", [False, True])
def test_filter_keeps_what_oda_api_keeps(server_dict, min_significance, exclude_new):
    from oda_api.api import DataCollection
    from oda_api.data_products import NumpyDataProduct
    from oda_api.plot_tools import OdaImage

    ours = Catalog.from_dict(server_dict).filter(min_significance=min_significance, exclude_new=exclude_new)

    # oda_api's own helper; it needs an object of interest (without one, 1.3.5 raises), which it
    # appends and then sorts the rows by name
    dc = DataCollection(
        [
            NumpyDataProduct([], name="mosaic_image", meta_data={"product": "mosaic"}),
            _api_catalog(server_dict),
        ]
    )
    probe = ("ProbeSource", SkyCoord(10.0, 10.0, unit="deg"))
    theirs = json.loads(
        OdaImage(dc).extract_catalog_string_from_image(
            include_new_sources=not exclude_new,
            det_sigma=-1e9 if min_significance is None else min_significance,
            objects_of_interest=[probe],
            update_catalog=False,
        )
    )
    names = theirs["cat_column_names"]
    rows = list(zip(*theirs["cat_column_list"]))
    their_ids = sorted(
        r[names.index("meta_ID")] for r in rows if r[names.index("src_names")] != "ProbeSource"
    )
    assert sorted(ours.table["meta_ID"].tolist()) == their_ids
    # the same rows of oda_api's catalog serialise to the same selected_catalog string
    if len(ours):
        from oda_api.data_products import ApiCatalog

        full = _api_catalog(server_dict)
        same_rows = full.table[np.isin(full.table["meta_ID"], ours.table["meta_ID"])]
        assert ours.to_selected_catalog() == ApiCatalog(same_rows, name="x").get_api_dictionary()


def test_filter_semantics_explicitly(server_dict):
    c = Catalog.from_dict(server_dict)
    sig = np.asarray(c.table["significance"], dtype=float)
    kept = c.filter(min_significance=7.0)
    assert len(kept) == int(np.sum(sig >= 7.0)) > 0
    edge = float(sorted(sig)[-3])
    assert len(c.filter(min_significance=edge)) == 3  # the comparison is >=
    no_new = c.filter(exclude_new=True)
    assert len(no_new) == 209 and not any("NEW" in s for s in no_new.table["src_names"])
    # meta_ID is kept, so the kept rows are not renumbered
    assert no_new.table["meta_ID"].tolist() == [i for i in range(212) if i not in (3, 40, 41)]


def test_selected_catalog_round_trip(server_dict):
    c = Catalog.from_dict(server_dict).filter(min_significance=5.0, exclude_new=True)
    s = c.to_selected_catalog()
    back = Catalog.from_selected_catalog(s)
    again, first = json.loads(back.to_selected_catalog()), json.loads(s)
    # dtypes are inferred from the values as oda_api does (the string width may shrink)
    assert [d[1][1] for d in again.pop("cat_column_descr")] == [
        d[1][1] for d in first.pop("cat_column_descr")
    ]
    assert again == first
    assert back.table["meta_ID"].tolist() == c.table["meta_ID"].tolist()
    assert back.table.meta["FRAME"] == "fk5"
    # the dispatcher receives a JSON string, not an object
    assert isinstance(s, str) and json.loads(s)["cat_lon_name"] == "ra"


def test_select_by_meta_id(server_dict):
    c = Catalog.from_dict(server_dict).select([5, 12, 15])
    assert c.table["meta_ID"].tolist() == [5, 12, 15]


def test_unusable_selected_catalogs_are_refused(server_dict):
    c = Catalog.from_dict(server_dict)
    with pytest.raises(InvalidParameter, match="no source left"):
        c.filter(min_significance=1e9).to_selected_catalog()
    t = c.table.copy()
    t.remove_column("significance")
    with pytest.raises(InvalidParameter, match="significance"):
        Catalog(t).to_selected_catalog()
    with pytest.raises(OdaError):
        Catalog.from_dict({"cat_frame": "fk5"})
    with pytest.raises(OdaError):
        Catalog.from_selected_catalog("none")


def test_server_catalog_with_fits_dtypes(samples):
    """Catalogs the server builds from FITS carry dtypes like |S20, <f4, <u2 in their descr."""
    t = Table.read(samples / "isgri_catalog_212rows.fits")
    d = wire(Catalog(t).to_dict())
    c = Catalog.from_dict(d)
    assert len(c) == 212 and c.table["src_names"][1] == t["src_names"][1]


def test_save_ecsv(tmp_path, server_dict):
    c = Catalog.from_dict(server_dict)
    path = c.save(tmp_path / "cat.ecsv")
    back = Table.read(path)
    assert back["src_names"].tolist() == c.table["src_names"].tolist()
    assert back.meta["FRAME"] == "fk5"


def test_empty_catalog_from_an_empty_image():
    """jemx_image may return an empty catalog: it decodes, and cannot be sent back."""
    d = {
        "cat_frame": "fk5",
        "cat_coord_units": "deg",
        "cat_lon_name": "ra",
        "cat_lat_name": "dec",
        "cat_column_names": ["meta_ID", "src_names", "significance", "ra", "dec", "FLAG", "ERR_RAD"],
        "cat_column_descr": [],
        "cat_column_list": [[], [], [], [], [], [], []],
    }
    c = Catalog.from_dict(d)
    assert len(c) == 0 and c.table.colnames[1] == "src_names"
    assert len(c.filter(min_significance=5, exclude_new=True)) == 0
    with pytest.raises(InvalidParameter, match="no source left"):
        c.to_selected_catalog()


def test_filter_needs_its_columns(server_dict):
    t = Catalog.from_dict(server_dict).table.copy()
    t.remove_column("significance")
    with pytest.raises(InvalidParameter, match="significance"):
        Catalog(t).filter(min_significance=3)
    assert len(Catalog(t).filter(exclude_new=True)) == 209
