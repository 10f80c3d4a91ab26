"""results_view and its generic views on real INTEGRAL files (no browser)."""

from __future__ import annotations

import os
from pathlib import Path

import ipywidgets as widgets
from astropy.io import fits
from astropy.table import Table

from oda_widgets.results import MAX_TABLE_ROWS, generic_view, table_html, text_widget
from shared_data import SAMPLES



def test_table_html_is_bounded_and_says_how_many_rows_are_hidden():
    cat = Table.read(SAMPLES / "isgri_catalog_212rows.ecsv")
    w = table_html(cat)
    assert isinstance(w, widgets.HTML)
    assert w.value.count("<tr>") == MAX_TABLE_ROWS + 1  # header + bounded rows
    assert f"{212 - MAX_TABLE_ROWS} more rows (of 212)" in w.value
    assert "IGR J15311-3737" in w.value and "significance" in w.value


def test_generic_view_summarises_every_fits_unit():
    with fits.open(SAMPLES / "jemx1_lc_osa_with_grouping.fits.gz") as hdul:
        hdul.readall()
        w = generic_view(hdul, name="jemx_lc_0")
    text = w.value
    assert "jemx_lc_0" in text
    assert "GROUPING" in text and "JMX1-SRC.-LCR" in text
    assert "96 rows" in text and "RATE" in text


def test_generic_view_shows_image_shape():
    with fits.open(SAMPLES / "isgri_mosaic_significance_1E1740.fits.gz") as hdul:
        hdul.readall()
        w = generic_view(hdul)
    assert "461×433 float32" in w.value


def test_text_is_escaped():
    w = text_widget("<script>alert(1)</script> fit: chi2=1.2")
    assert "<script>" not in w.value and "&lt;script&gt;" in w.value


# -- real collections from the demo dispatcher -------------------------------------------------


def _collection(url, instrument, product, params=None):
    from oda_widgets.client import Dispatcher

    disp = Dispatcher(url)
    return disp, disp.submit(instrument, product, params or {}).wait(timeout=120)


def test_image_gets_mosaic_view_linked_to_a_catalog_table(demo_dispatcher):
    from oda_widgets.catalog import CatalogTable
    from oda_widgets.mosaic import MosaicView
    from oda_widgets.results import results_view

    disp, coll = _collection(demo_dispatcher, "isgri", "isgri_image")
    view = results_view(coll, dispatcher=disp)
    assert view.problems == []
    mosaic, table = view.first("mosaic"), view.first("catalog")
    assert isinstance(mosaic, MosaicView) and isinstance(table, CatalogTable)
    assert mosaic.table is table  # one selection shared by image and table
    # the table can start a follow-up with the image's parameters on the same dispatcher
    table.set_min_significance(0).exclude_new(False)
    params = table.follow_up_parameters("isgri_spectrum")
    assert params["T1"] == coll.analysis_parameters["T1"] and "selected_catalog" in params
    assert table.dispatcher is disp


def test_spi_acs_light_curve_gets_a_light_curve_view(demo_dispatcher):
    from oda_widgets.light_curve import LightCurveView
    from oda_widgets.results import results_view

    _, coll = _collection(demo_dispatcher, "spi_acs", "spi_acs_lc",
                          {"T1": "2022-10-09T13:16:00", "T2": "2022-10-09T13:26:00", "time_bin": 2})
    view = results_view(coll)
    assert view.problems == []
    lc_view = view.first("light_curves")
    assert isinstance(lc_view, LightCurveView)
    assert len(lc_view.light_curves) == 1 and len(lc_view.light_curves[0].rate) > 100


def test_spectra_of_selected_sources_get_one_spectrum_view(demo_dispatcher):
    from oda_widgets.results import results_view
    from oda_widgets.spectrum import SpectrumView

    disp, image = _collection(demo_dispatcher, "isgri", "isgri_image")
    cat = image.catalog.filter(min_significance=10)
    params = {k: image.analysis_parameters[k] for k in ("RA", "DEC", "T1", "T2", "E1_keV", "E2_keV")}
    _, coll = _collection(demo_dispatcher, "isgri", "isgri_spectrum",
                          {**params, "selected_catalog": cat.to_selected_catalog()})
    view = results_view(coll)
    assert view.problems == []
    spec = view.first("spectra")
    assert isinstance(spec, SpectrumView)
    assert {s.source for s in spec.spectra} >= {str(n) for n in cat.table["src_names"]}
    # the requested band is marked on the plot
    band = [q.to_value("keV") for q in spec.energy_band]
    assert band == [float(params["E1_keV"]), float(params["E2_keV"])]


def test_a_view_that_fails_to_draw_is_shown_as_an_error_at_its_product(demo_dispatcher, monkeypatch):
    """A bug in a view is an error where the product would be (typed, in red), then the product's
    summary; the other products of the job are shown as usual, nothing is raised."""
    from oda_widgets import results
    from oda_widgets.catalog import CatalogTable

    class Broken:
        def __init__(self, *args, **kwargs):
            raise RuntimeError("no canvas today")

    monkeypatch.setattr(results, "MosaicView", Broken)
    _, coll = _collection(demo_dispatcher, "isgri", "isgri_image")
    view = results.results_view(coll)
    assert view.problems == [f"MosaicView could not show Mosaic {coll.mosaic.name!r}: RuntimeError: no canvas today"]
    notes = [w for w in view.views["mosaic"] if "oda-results-error" in w._dom_classes]
    assert len(notes) == 1 and "RuntimeError: no canvas today" in notes[0].value and "#c62828" in notes[0].value
    text = " ".join(w.value for w in view.views["mosaic"] if isinstance(w, widgets.HTML))
    assert "ISGR-MOSA-IMA" in text and "SIGNIFICANCE" in text.upper()
    assert isinstance(view.first("catalog"), CatalogTable)  # the rest is still shown


def test_view_registry_rules_are_tried_most_specific_first(demo_dispatcher):
    """A registered rule takes the products it accepts before the built-in ones; one entry."""
    from oda_widgets import results
    from oda_widgets.light_curve import LightCurveView
    from oda_widgets.products import LightCurve

    seen = []

    def build(products, ctx):
        seen.extend(products)
        return [widgets.HTML(f"<b>{len(products)} curves, {ctx.instrument}</b>")]

    rule = results.register(results.ViewRule("lc_table", "Light curve tables", lambda p: isinstance(p, LightCurve), build))
    try:
        assert results.view_rules()[0] is rule
        _, coll = _collection(demo_dispatcher, "spi_acs", "spi_acs_lc", {"T1": "2017-03-06T13:26:48", "T2": "2017-03-06T13:36:48"})
        view = results.results_view(coll)
        assert seen == list(coll.light_curves) and "light_curves" not in view.views
        assert "1 curves, spi_acs" in view.first("lc_table").value
    finally:
        results.unregister(rule)
    assert not any(r is rule for r in results.view_rules())
    assert isinstance(results.results_view(coll).first("light_curves"), LightCurveView)


def test_tables_pictures_and_texts_from_a_response():
    """Products other instruments send (PROTOCOL §2.4), decoded by ProductCollection, then shown."""
    import base64
    import io
    import json

    from PIL import Image

    from oda_widgets.products.collection import ProductCollection
    from oda_widgets.results import results_view

    png = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(png, format="PNG")
    cat = Table.read(SAMPLES / "isgri_catalog_212rows.ecsv")
    ecsv = io.StringIO()
    cat.write(ecsv, format="ascii.ecsv")
    products = {
        "astropy_table_product_ascii_list": [
            {"ascii": ecsv.getvalue(), "binary": None, "name": "sources", "meta_data": json.dumps({})}],
        "binary_image_product_list": [
            {"img_type": "png", "b64data": base64.urlsafe_b64encode(png.getvalue()).decode(),
             "metadata": {}, "name": "sky_png", "filename": "sky.png"}],
        "text_product_list": [{"name": "fit", "value": "chi2 <= 1.2 & done", "meta_data": {}}],
        "analysis_parameters": {"instrument": "other", "product_type": "mixed"},
    }
    view = results_view(ProductCollection.from_response(products))
    assert view.problems == []
    from oda_widgets.table import TableView

    table = view.first("tables")
    # every row reaches the table view (no cap), as binary columns
    assert isinstance(table, TableView) and table.n_rows == 212 and table.title == "sources"
    names = table.column_data[table.table.colnames.index("src_names")]
    assert b"IGR J15311-3737" in bytes(names["text"])
    picture = view.first("pictures")
    assert isinstance(picture, widgets.Image) and picture.format == "png"
    assert picture.value == png.getvalue()
    assert "chi2 &lt;= 1.2 &amp; done" in view.first("texts").value
