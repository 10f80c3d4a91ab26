"""MosaicView's sky annotations through its Python API: markers (astrowidgets' API), DS9 regions
(astropy regions), box/circle selection ↔ catalog rows, click-added sources, title and unit."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS
from regions import CircleSkyRegion, PixCoord, PointSkyRegion, RectanglePixelRegion, Regions
from shared_data import SAMPLES

from oda_widgets.catalog import CatalogTable
from oda_widgets.errors import InvalidParameter
from oda_widgets.mosaic import MosaicView


@pytest.fixture
def view():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hdul = fits.open(SAMPLES / "isgri_mosaic_significance_1E1740.fits.gz")
        hdul[0].header["BUNIT"] = "sigma"
        table = CatalogTable(
            Table.read(SAMPLES / "isgri_catalog_212rows.ecsv"), min_significance=None, exclude_new=False
        )
        return MosaicView(hdul, catalog=table)


def test_title_unit_and_exact_overlay_positions(view):
    assert view.unit == "sigma"
    assert "2017-03-06" in view.title and "TT" in view.title
    x, _ = view.wcs_object.world_to_pixel(view.table.catalog.coords)
    got = np.array([np.nan if v is None else v for v in view.sources["x"]])
    assert np.allclose(got, x, equal_nan=True)


def test_markers_add_get_remove(view):
    crab = SkyCoord("17h45m40s", "-29d00m28s")
    view.add_markers(crab, name="GC", color="yellow", marker="x")
    t = Table({"ra": [266.0, 267.0] * u.deg, "dec": [-29.5, -28.5] * u.deg})
    view.add_markers(t, name="mine", marker="square")
    view.add_markers(Table({"coord": SkyCoord([265.0], [-30.0], unit="deg")}), name="mine")
    m = view.markers
    assert list(m["marker name"]) == ["GC", "mine", "mine", "mine"]
    x, y = view.wcs_object.world_to_pixel(crab)
    assert abs(m["x"][0] - x) < 1e-9 and abs(m["y"][0] - y) < 1e-9
    assert [s["name"] for s in view.marker_sets] == ["GC", "mine"]
    assert view.marker_sets[0]["marker"] == "x" and len(view.marker_sets[1]["x"]) == 3
    view.remove_markers("GC")
    assert set(view.markers["marker name"]) == {"mine"}
    with pytest.raises(InvalidParameter, match="no marker set"):
        view.remove_markers("GC")
    with pytest.raises(InvalidParameter, match="marker must be"):
        view.add_markers(crab, marker="star")
    view.remove_markers()
    assert len(view.markers) == 0 and view.marker_sets == []


def test_box_selection_ticks_the_rows_inside(view):
    """A box drawn on the page (the selection_region trait) ticks exactly the rows inside; a sky
    circle does the same from Python; None ticks every row again."""
    sx = np.array([np.nan if v is None else v for v in view.sources["x"]])
    sy = np.array([np.nan if v is None else v for v in view.sources["y"]])
    view.selection_region = {"shape": "box", "x0": 150.0, "y0": 150.0, "x1": 300.0, "y1": 320.0}
    inside = np.flatnonzero((sx >= 150) & (sx <= 300) & (sy >= 150) & (sy <= 320))
    assert 0 < len(inside) < len(sx)
    assert view.table.selected_ids == [int(i) for i in inside]
    region = view.selected_region
    assert isinstance(region.center, SkyCoord)
    center = SkyCoord(265.97845833, -29.74516667, unit="deg")
    rows = view.select_circle(center, 3 * u.deg)
    sep = view.table.catalog.coords.separation(center).deg
    assert sorted(view.table.selected_ids) == [int(i) for i in np.flatnonzero(sep <= 3)]
    assert len(rows) == len(view.table.selected_ids)
    assert view.selection_region["shape"] == "circle"
    view.select_region(None)
    assert len(view.table.selected_ids) == len(sx)
    view.select_region(RectanglePixelRegion(PixCoord(10, 10), width=2, height=2))
    assert view.table.selected_ids == [] or all(abs(sx[i] - 10) <= 1 for i in view.table.selected_ids)


def test_regions_round_trip_through_a_ds9_file(view, tmp_path):
    view.add_markers(SkyCoord([266.5], [-29.2], unit="deg"), name="mine", color="red", marker="diamond")
    view.table.set_min_significance(8)
    path = tmp_path / "view.reg"
    text = view.export_regions(path)
    back = Regions.read(str(path), format="ds9")
    names = [r.meta.get("text") for r in back]
    visible = [str(view.table.catalog.table["src_names"][i]) for i in view.table.visible_ids]
    assert names == [*visible, "mine"] and "point=diamond" in text
    other = MosaicView(view.data, wcs=view.wcs_object)
    shown = other.load_regions(path)
    assert len(shown) == len(back) and len(other.region_shapes) == len(back)
    # points come back where they were: within a thousandth of a pixel
    for r, shape in zip(back, other.region_shapes):
        x, y = view.wcs_object.world_to_pixel(r.center)
        assert abs(shape["x"] - x) < 1e-3 and abs(shape["y"] - y) < 1e-3
    other.load_regions("fk5\ncircle(266.4,-29.0,0.5) # color=green text={ring}\nbox(266,-29,1,0.5,30)")
    kinds = [s["shape"] for s in other.region_shapes]
    assert kinds == ["circle", "box"] and other.region_shapes[0]["text"] == "ring"
    scale = abs(view.wcs_object.pixel_scale_matrix[1, 1])
    assert abs(other.region_shapes[0]["r"] - 0.5 / scale) < 0.01
    with pytest.raises(InvalidParameter, match="DS9"):
        other.load_regions("not a region at all(")
    assert isinstance(view.to_regions(include=("markers",))[0], PointSkyRegion)
    assert isinstance(
        CircleSkyRegion(SkyCoord(1, 2, unit="deg"), 1 * u.deg).to_pixel(view.wcs_object).radius, float
    )


def test_click_added_source_reaches_selected_catalog(view):
    row = view.add_source_at(216.0, 230.0)
    t = view.table.catalog.table
    assert str(t["src_names"][row]) == "USER_1" and t["FLAG"][row] == 1
    c = view.pixel_to_sky(216.0, 230.0)
    assert abs(t["ra"][row] - c.fk5.ra.deg) < 1e-9
    assert "USER_1" in view.table.selected_catalog
    assert len(view.sources["ids"]) == len(t)  # the overlay follows the edited catalog
    view._on_front_end_msg(view, {"type": "add_source", "x": "nan", "y": 1}, [])
    assert len(view.table.catalog.table) == len(t)


def test_images_with_their_own_projection_switch_the_wcs():
    """A product of several HDUs in different projections (as workflow instruments send them):
    switching the extension switches grid, read-out and overlays to that image's WCS."""
    ny, nx = 60, 80
    hdus = [fits.PrimaryHDU()]
    for name, code in (("TANIMG", "TAN"), ("AITIMG", "AIT")):
        h = fits.ImageHDU(np.ones((ny, nx), dtype=np.float32), name=name)
        h.header.update(
            {
                "CTYPE1": f"RA---{code}",
                "CTYPE2": f"DEC--{code}",
                "CRVAL1": 266.4,
                "CRVAL2": -29.0,
                "CRPIX1": 40.5,
                "CRPIX2": 30.5,
                "CDELT1": -0.5,
                "CDELT2": 0.5,
                "BUNIT": "count/s",
            }
        )
        hdus.append(h)
    view = MosaicView(fits.HDUList(hdus))
    assert view.extensions == ["TANIMG", "AITIMG"] and view.wcs["proj"] == "TAN" and view.unit == "count/s"
    view.add_markers(SkyCoord([250.0], [-10.0], unit="deg"), name="far")
    x_tan = view.marker_sets[0]["x"][0]
    view.extension = "AITIMG"
    assert view.wcs["proj"] == "AIT"
    x_ait = view.marker_sets[0]["x"][0]
    assert x_ait != pytest.approx(x_tan, abs=0.1)
    w = WCS(hdus[2].header)
    assert x_ait == pytest.approx(float(w.world_to_pixel(SkyCoord(250.0, -10.0, unit="deg"))[0]), abs=1e-9)
