"""Static pictures next to the widget views (no browser): what a notebook read without a kernel
shows. Products from the demo dispatcher over HTTP; pictures decoded and looked at."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pytest
from matplotlib import image as mpimg

from oda_widgets import static
from oda_widgets.client import Dispatcher
from oda_widgets.static import LIGHT_CURVE_SIZE, MOSAIC_SIZE, SPECTRUM_SIZE, png_size

WIDGET = "application/vnd.jupyter.widget-view+json"


@pytest.fixture(scope="module")
def products(demo_dispatcher):
    disp = Dispatcher(demo_dispatcher, token="")
    lc = disp.submit(
        "spi_acs", "spi_acs_lc", {"T1": "2022-10-09T13:15:00", "T2": "2022-10-09T13:25:00", "time_bin": 1}
    ).wait(timeout=120)
    image = disp.submit("isgri", "isgri_image", {"max_pointings": 10}).wait(timeout=120)
    return {"disp": disp, "lc": lc, "image": image}


def _bundle(widget):
    out = widget._repr_mimebundle_()
    data, meta = out if isinstance(out, tuple) else (out, {})
    return data, meta


def _pixels(png: bytes) -> np.ndarray:
    return mpimg.imread(io.BytesIO(png), format="png")


def test_light_curve_output_carries_a_png_of_the_curve_beside_the_widget_view(products):
    from oda_widgets.light_curve import LightCurveView

    view = LightCurveView(products["lc"].light_curves)
    data, meta = _bundle(view)
    assert data[WIDGET]["model_id"] == view.model_id  # live front ends still draw the widget
    png = base64.b64decode(data["image/png"])
    assert png_size(png) == LIGHT_CURVE_SIZE and meta["image/png"] == {"width": 800, "height": 360}
    # the curve is drawn in the live view's first colour (tab10 blue = d3 category10 #1f77b4)
    rgb = _pixels(png)[..., :3]
    blue = (rgb[..., 2] - rgb[..., 0] > 0.25) & (rgb[..., 1] < rgb[..., 2])
    assert blue.sum() > 1000


def test_pictures_are_drawn_on_display_not_on_trait_changes(products, monkeypatch):
    from astropy import units as u

    from oda_widgets.light_curve import LightCurveView

    calls = []
    real = static.light_curve_png

    def counting(view):
        calls.append(view)
        return real(view)

    monkeypatch.setattr(LightCurveView, "_static_png", counting)
    view = LightCurveView(products["lc"].light_curves)
    view.rebin(5)
    view.set_time_format("UTC")
    view.zoom_to(*(view.reference + [10, 200] * u.s))
    view.set_mode("select")
    assert calls == []
    _bundle(view)
    assert calls == [view]


def test_the_picture_follows_the_view_zoom_and_time_axis(products):
    from astropy import units as u

    from oda_widgets.light_curve import LightCurveView

    view = LightCurveView(products["lc"].light_curves)
    whole = view.to_png()
    view.zoom_to(view.reference + 200 * u.s, view.reference + 300 * u.s)
    assert view.to_png() != whole
    view.set_time_format("MJD")
    assert png_size(view.to_png()) == LIGHT_CURVE_SIZE


def test_a_curve_of_a_million_bins_is_drawn_as_its_envelope_quickly(products, demo_dispatcher):
    import time

    from oda_widgets.light_curve import LightCurveView

    big = (
        products["disp"]
        .submit(
            "spi_acs",
            "spi_acs_lc",
            {"T1": "2022-10-09T06:00:00", "T2": "2022-10-09T18:00:00", "time_bin": 0.05},
        )
        .wait(timeout=120)
    )
    view = LightCurveView(big.light_curves)
    assert len(view.light_curves[0].rate) == 864_000
    started = time.perf_counter()
    png = view.to_png()
    # indicative bound only (a shared 2-core machine): the envelope keeps it far from the ~10 s
    # matplotlib needs for 864 000 error bars
    assert time.perf_counter() - started < 5
    assert png_size(png) == LIGHT_CURVE_SIZE


def test_sky_image_png_uses_the_view_colour_map_and_marks_the_catalog(products):
    from oda_widgets.results import results_view

    view = results_view(products["image"], dispatcher=products["disp"])
    mosaic, table = view.first("mosaic"), view.first("catalog")
    png = base64.b64decode(_bundle(mosaic)[0]["image/png"])
    assert png_size(png) == MOSAIC_SIZE
    viridis = _pixels(png)[..., :3]
    mosaic.set_view(cmap="gray", stretch="asinh")
    gray = _pixels(mosaic.to_png())[..., :3]
    # grey levels only where viridis had colour: the picture follows the view's colour map
    coloured = np.ptp(viridis, axis=-1) > 0.2
    assert coloured.sum() > 10_000 and np.ptp(gray[coloured], axis=-1).mean() < 0.05
    # sources that pass the table's cut are circled in white; none when the cut hides them all
    circled = mosaic.to_png()
    table.set_min_significance(1e6)
    assert mosaic.to_png() != circled


def test_catalog_output_is_an_html_table_of_the_rows_that_pass_the_cut(products):
    from oda_widgets.catalog import CatalogTable

    table = CatalogTable(products["image"], dispatcher=products["disp"]).set_min_significance(8)
    table.add_source(name="<b>Teacher's pick</b>", ra=266.0, dec=-29.0)
    data, _ = _bundle(table)
    assert WIDGET in data and "image/png" not in data
    page = data["text/html"]
    visible = [str(n) for n in table.catalog.table["src_names"][table.visible_ids]]
    assert len(re.findall(r"<tr>\s*<td>", page)) == len(visible)
    assert f"{len(visible)} of {len(table.catalog.table)} sources shown (significance ≥ 8σ" in page
    assert "&lt;b&gt;Teacher" in page and "<b>Teacher" not in page  # a typed name is escaped
    assert page.count("✓") == len(table.selected_ids)


def test_results_and_explorer_outputs_are_html_snapshots_with_the_pictures(products, demo_dispatcher):
    from oda_widgets.explorer import Explorer

    ex = Explorer(demo_dispatcher, token="", instrument="isgri", product="isgri_image")
    try:
        empty = _bundle(ex)[0]["text/html"]
        assert "Dispatcher <code>" in empty and "isgri_image" in empty and "<img" not in empty
        ex.form.set_values(max_pointings=10)
        view = ex.wait(ex.submit(), timeout=120)
        page = _bundle(view)[0]["text/html"]
        sizes = [
            png_size(base64.b64decode(b)) for b in re.findall(r'src="data:image/png;base64,([^"]+)"', page)
        ]
        assert sizes == [MOSAIC_SIZE]
        assert "Sky images and catalog" in page and "sources shown" in page
        snapshot = _bundle(ex)[0]["text/html"]
        # the form's values, the job board and the picture of the results on show
        assert "max_pointings" in snapshot and "10" in snapshot and "1. isgri_image" in snapshot
        assert snapshot.count("data:image/png;base64,") == 1
    finally:
        ex.close()


def test_spectrum_png_follows_the_log_switch(products):
    from oda_widgets.spectrum import SpectrumView

    table_job = products["image"]
    from oda_widgets.catalog import CatalogTable

    table = CatalogTable(table_job, dispatcher=products["disp"]).set_min_significance(8)
    spectra = table.spectrum_for_selected().wait(timeout=120)
    view = SpectrumView(spectra.spectra, energy_band=(20, 40))
    log = view.to_png()
    assert png_size(log) == SPECTRUM_SIZE
    view.set_log_y(False)
    assert view.to_png() != log
    # a fit's folded model is drawn over the data, its χ² in the title
    view.set_log_y(True)
    fit = view.fit("powerlaw")
    with_model = view.to_png()
    assert with_model != log and png_size(with_model) == SPECTRUM_SIZE
    assert fit.dof > 0


def test_a_picture_that_cannot_be_drawn_leaves_the_widget_and_says_why(products, monkeypatch):
    from oda_widgets.light_curve import LightCurveView

    def broken(view):
        raise ValueError("no pixels today")

    monkeypatch.setattr(LightCurveView, "_static_png", broken)
    view = LightCurveView(products["lc"].light_curves)
    data, _ = _bundle(view)
    assert WIDGET in data and "image/png" not in data
    assert "no static picture: ValueError: no pixels today" in data["text/plain"]
    # in a snapshot of several views the others keep their pictures
    import ipywidgets as W

    other = LightCurveView(products["lc"].light_curves)
    box = W.VBox([view, other])
    monkeypatch.setattr(
        LightCurveView, "_static_png", lambda v: broken(v) if v is view else static.light_curve_png(v)
    )
    page = static.snapshot_html(box)
    assert "no static picture (ValueError)" in page and page.count("data:image/png;base64,") == 1


def test_snapshot_html_escapes_widget_values():
    import ipywidgets as W

    box = W.VBox(
        [
            W.Text(value="<script>x</script>", description="src_name"),
            W.Button(description="never shown"),
            W.Label(value="a < b"),
            W.HTML("<i>kept</i>", layout=W.Layout(display="none")),
        ]
    )
    page = static.snapshot_html(box)
    assert "&lt;script&gt;x&lt;/script&gt;" in page and "<script>" not in page
    assert "never shown" not in page and "kept" not in page and "a &lt; b" in page
