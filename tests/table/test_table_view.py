"""TableView's Python side: binary columns, the sort rule (same as the page's), column picker,
plot columns, save; and the results registry showing tables, images and files of a workflow."""

from __future__ import annotations

import base64
import hashlib
import io
import json

import numpy as np
import pytest
from astropy import units as u
from astropy.io import fits
from astropy.table import MaskedColumn, QTable, Table
from astropy.time import Time

from oda_widgets.errors import InvalidParameter
from oda_widgets.table import TableView, wire_column


def sed() -> Table:
    return Table(
        {
            "band": ["R", "V", "2-10 keV", "1-10 GeV", "5-15 TeV"],
            "instrument": ["optical", "optical", "Swift-XRT", "Fermi-LAT", "MAGIC"],
            "frequency": [4.68e14, 5.45e14, 1.08e18, 7.6e23, 2.1e27] * u.Hz,
            "nuFnu": [2e-10, 2.2e-10, 5e-11, 1e-11, 3e-12] * u.erg / u.cm**2 / u.s,
            "nuFnu_err": [4e-12, 4e-12, 2e-12, 1e-12, np.nan] * u.erg / u.cm**2 / u.s,
            "upper_limit": [False, False, False, False, True],
        }
    )


def floats(data: dict) -> np.ndarray:
    return np.frombuffer(bytes(data["values"]), dtype="<f8")


def texts(data: dict) -> list[str]:
    raw = bytes(data["text"])
    off = np.frombuffer(bytes(data["offsets"]), dtype="<u4")
    return [raw[off[i] : off[i + 1]].decode() for i in range(len(off) - 1)]


def test_columns_travel_as_binary_buffers_with_units():
    view = TableView(sed(), title="Mrk 421 SED")
    assert [c["name"] for c in view.columns] == sed().colnames
    kinds = {c["name"]: c["kind"] for c in view.columns}
    assert kinds == {
        "band": "s",
        "instrument": "s",
        "frequency": "f",
        "nuFnu": "f",
        "nuFnu_err": "f",
        "upper_limit": "b",
    }
    assert view.columns[3]["unit"] == "erg / (s cm2)"
    assert all(isinstance(v, memoryview) for d in view.column_data for v in d.values())
    assert texts(view.column_data[0]) == ["R", "V", "2-10 keV", "1-10 GeV", "5-15 TeV"]
    assert np.array_equal(floats(view.column_data[4]), sed()["nuFnu_err"], equal_nan=True)
    assert floats(view.column_data[5]).tolist() == [0, 0, 0, 0, 1]
    # the state sent to the page holds bytes, not lists of numbers
    state = view.get_state()
    assert isinstance(state["column_data"][2]["values"], memoryview)


def test_masked_times_quantities_vectors_and_huge_integers():
    t = QTable()
    t["when"] = Time([60000.0, 60001.5], format="mjd", scale="utc")
    t["rate"] = [1.0, 2.0] * u.ct / u.s
    t["n"] = MaskedColumn([1, 2], mask=[False, True])
    t["vec"] = np.arange(6).reshape(2, 3)
    t["id"] = np.array([2**60, 3], dtype=np.int64)
    desc = {c["name"]: c for c in TableView(t).columns}
    assert desc["when"]["kind"] == "t" and desc["when"]["unit"] == "MJD (UTC)"
    assert floats(wire_column(t["when"])[1]).tolist() == [60000.0, 60001.5]
    assert desc["rate"]["unit"] == "ct / s" and floats(wire_column(t["rate"])[1]).tolist() == [1.0, 2.0]
    assert np.isnan(floats(wire_column(t["n"])[1])[1])  # masked → NaN → a blank cell
    assert desc["vec"]["kind"] == "s" and texts(wire_column(t["vec"])[1])[0] == "[0 1 2]"
    assert texts(wire_column(t["id"])[1]) == [str(2**60), "3"]  # exact, not rounded through float64


def test_sorting_is_one_rule_missing_values_last():
    view = TableView(sed())
    view.sort("nuFnu_err")
    assert view.sorted_rows().tolist() == [3, 2, 0, 1, 4]
    view.sort("nuFnu_err", descending=True)
    assert view.sorted_rows().tolist() == [0, 1, 2, 3, 4]  # ties keep table order, NaN still last
    view.sort("instrument", descending=True)
    assert view.sorted_rows().tolist() == [0, 1, 2, 4, 3]  # code-point order, as the page's
    view.sort(None)
    assert view.sort_column == "" and view.sorted_rows().tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(InvalidParameter, match="no column 'flux'"):
        view.sort("flux")


def test_column_picker_and_plot_choices():
    view = TableView(sed())
    view.hide_columns(["band", "upper_limit"])
    assert view.visible_columns == ["instrument", "frequency", "nuFnu", "nuFnu_err"]
    view.show_columns(["nuFnu", "band"])
    assert view.visible_columns == ["band", "nuFnu"]
    # an SED opens as nuFnu against frequency, log-log, errors and upper limits marked
    cols = view.plot_columns
    assert (cols.x, cols.y, cols.y_err, cols.upper_limit, cols.log_x, cols.log_y) == (
        "frequency",
        "nuFnu",
        "nuFnu_err",
        "upper_limit",
        True,
        True,
    )
    assert view.show_plot
    # a y picked in the page: the error column follows the one rule in Python
    view.plot_y = "nuFnu_err"
    assert view.plot_y_err == ""
    view.plot_y = "nuFnu"
    assert view.plot_y_err == "nuFnu_err"
    view.plot("frequency", "nuFnu", log_y=False)
    assert view.log_y is False and view.log_x is True
    view.set_log(x=False)
    assert view.log_x is False
    assert view.toggle_plot() is False and view.toggle_plot(True) is True
    with pytest.raises(InvalidParameter):
        view.plot("band", "nope")


def test_a_table_without_two_numeric_columns_opens_without_plot():
    view = TableView(Table({"name": ["a", "b"], "n": [1, 2]}))
    assert not view.show_plot


@pytest.mark.parametrize("suffix", [".ecsv", ".fits", ".csv", ".vot"])
def test_save_writes_the_whole_table(tmp_path, suffix):
    view = TableView(sed(), title="Mrk 421 SED")
    view.hide_columns(["band"])
    view.sort("nuFnu")
    path = view.save(tmp_path / f"sed{suffix}")
    back = Table.read(path)
    assert len(back) == 5 and "band" in back.colnames
    if suffix != ".csv":
        assert back["frequency"].unit == u.Hz
    assert "Saved 5 rows" in view.status


def test_save_from_the_page_and_default_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    view = TableView(sed(), title="Mrk 421 SED")
    view._on_message(view, {"type": "save", "path": ""}, [])
    assert (tmp_path / "Mrk_421_SED.ecsv").exists()
    view._on_message(view, {"type": "save", "path": str(tmp_path / "missing" / "x.ecsv")}, [])
    assert view.status.startswith("Could not save")


def test_results_show_every_workflow_product_with_its_view():
    """Images each in an image viewer, the SED in the table view, the file with its type and Save."""
    from astropy.wcs import WCS
    from PIL import Image

    from oda_widgets.binary import BinaryView
    from oda_widgets.mosaic import MosaicView
    from oda_widgets.products import ProductCollection, encode_numpy_data_product
    from oda_widgets.products.annotations import ODA
    from oda_widgets.products.mosaic import Mosaic
    from oda_widgets.results import results_view

    def image(band):
        w = WCS(naxis=2)
        w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
        w.wcs.crval = [56.75, 24.1]
        w.wcs.crpix = [8, 8]
        w.wcs.cdelt = [-0.01, 0.01]
        h = w.to_header()
        h["FILTER"] = band
        return encode_numpy_data_product(
            fits.HDUList([fits.PrimaryHDU(np.ones((16, 16), np.float32), header=h)]), f"Pleiades_{band}", {}
        )

    ecsv = io.StringIO()
    sed().write(ecsv, format="ascii.ecsv")
    png = io.BytesIO()
    Image.new("RGB", (20, 10), (10, 200, 10)).save(png, format="PNG")
    raw = b"SIMPLE  =                    T" + bytes(50)
    products = json.loads(
        json.dumps(
            {
                "prod_uris": {
                    "b": ODA + "Image",
                    "r": ODA + "Image",
                    "t": ODA + "ODAAstropyTable",
                    "p": ODA + "ODAPictureProduct",
                    "f": ODA + "ODABinaryProduct",
                },
                "numpy_data_product_list": [image("B"), image("R")],
                "astropy_table_product_ascii_list": [
                    {
                        "ascii": ecsv.getvalue(),
                        "binary": None,
                        "name": "Mrk 421 SED",
                        "meta_data": json.dumps("{}"),
                    }
                ],
                "binary_image_product_list": [
                    {
                        "img_type": "png",
                        "b64data": base64.urlsafe_b64encode(png.getvalue()).decode(),
                        "metadata": {},
                        "name": "colour",
                    }
                ],
                "binary_data_product_list": [
                    {
                        "name": "sed.fits",
                        "data": base64.urlsafe_b64encode(raw).decode(),
                        "md5": hashlib.md5(raw).hexdigest(),
                    }
                ],
            }
        )
    )
    coll = ProductCollection.from_response(products)
    view = results_view(coll)
    assert view.problems == []
    mosaics = view.views["mosaic"]
    assert len(mosaics) == 2 and all(isinstance(m, MosaicView) for m in mosaics)
    assert [m.title for m in mosaics] == [Mosaic.title(m_) for m_ in coll.images]
    assert "catalog" not in view.views
    (table,) = view.views["tables"]
    assert isinstance(table, TableView) and table.title == "Mrk 421 SED" and table.plot_y == "nuFnu"
    (file_view,) = view.views["binaries"]
    assert isinstance(file_view, BinaryView) and "FITS file" in file_view.children[0].value
    titles = [s.children[0].value for s in view.children]
    assert any("Sky images" in t for t in titles) and any("Files" in t for t in titles)


def test_a_fits_product_no_rule_knows_shows_its_tables():
    from oda_widgets.products import ProductCollection, encode_numpy_data_product
    from oda_widgets.results import results_view

    events = fits.BinTableHDU.from_columns(
        [
            fits.Column("ENERGY", "E", unit="keV", array=[20.0, 35.0, 50.0]),
            fits.Column("DETID", "J", array=[1, 2, 3]),
        ],
        name="EVENTS",
    )
    entry = encode_numpy_data_product(fits.HDUList([fits.PrimaryHDU(), events]), "event_list", {})
    coll = ProductCollection.from_response(json.loads(json.dumps({"numpy_data_product_list": [entry]})))
    view = results_view(coll)
    summary, table = view.views["other"]
    assert "EVENTS" in summary.value and "ENERGY, DETID" in summary.value
    assert isinstance(table, TableView) and table.title == "event_list_0 · EVENTS" and table.n_rows == 3
    assert table.columns[0]["unit"] == "keV"
