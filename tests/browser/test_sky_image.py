"""The sky image as astronomers expect it, in a real JupyterLab: RA/Dec grid labels agree with
astropy's WCS at several zooms (wheel and keyboard), the colour bar follows stretch and limits with
no pixels re-sent, typing 8 in the cut keeps exactly the rows ≥ 8σ, a source added by a click on
the image reaches selected_catalog and a spectrum job's parameters, and a DS9 file round-trips."""

from __future__ import annotations

import json
import shutil
import warnings

import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import Angle
from astropy.io import fits
from astropy.table import Table
from astropy.visualization import AsinhStretch, LinearStretch, LogStretch, SqrtStretch
from astropy.wcs import WCS
from helpers import (
    DEMO_IMAGE_JOB,
    WS_COUNTER,
    kernel_eval,
    open_and_run,
    page_errors,
    screenshot,
    wait_all_executed,
)
from playwright.sync_api import Page, expect
from shared_data import SAMPLES

pytestmark = pytest.mark.browser


MOSAIC = SAMPLES / "isgri_mosaic_significance_1E1740.fits.gz"
CATALOG = SAMPLES / "isgri_catalog_212rows.ecsv"

SETUP = f"""\
import json, warnings
warnings.simplefilter("ignore")
import ipywidgets as w
from astropy.io import fits
from astropy.table import Table
{DEMO_IMAGE_JOB}

hdul = fits.open({str(MOSAIC)!r})
hdul[0].header["BUNIT"] = "sigma"
table = CatalogTable(Table.read({str(CATALOG)!r}), dispatcher=disp,
                     analysis_parameters=image.analysis_parameters, instrument="isgri", height=200)
view = MosaicView(hdul, catalog=table, height=520, title="ISGRI · 25–80 keV · 2017-03-06 13:27 – 15:33 TT")
echo = w.Label("kernel ready")
echo.add_class("sky-echo")
def show(_=None):
    names = [str(n) for n in table.catalog.table["src_names"]]
    echo.value = f"py: {{len(table.selected_ids)}} selected of {{len(names)}}; last={{names[-1]}}; {{table.status}}"
table.observe(show, ["selected_ids", "status", "table_data"])
show()
"""

DISPLAY = "display(view, table, echo)"

STRETCHES = {"linear": LinearStretch(), "sqrt": SqrtStretch(), "log": LogStretch(), "asinh": AsinhStretch()}


def _wcs():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return WCS(fits.open(MOSAIC)[0].header)


def _ra_text(value: float, step: float) -> str:
    fields = 1 if step >= 15 - 1e-9 else 2 if step >= 0.25 - 1e-9 else 3
    s = (
        Angle(value, u.deg)
        .wrap_at(360 * u.deg)
        .to_string(unit=u.hourangle, sep="hms", fields=fields, precision=0, pad=False)
    )
    return s


def _dec_text(value: float, step: float) -> str:
    fields = 1 if step >= 1 - 1e-9 else 2 if step >= 1 / 60 - 1e-9 else 3
    s = Angle(value, u.deg).to_string(
        unit=u.deg, sep="dms", fields=fields, precision=0, alwayssign=value != 0
    )
    return s.replace("d", "°").replace("m", "′").replace("s", "″").replace("-", "−")


def _check_grid(page: Page, wcs: WCS) -> dict:
    """Every grid label sits, on the image, where astropy puts its coordinate; its text is the
    sexagesimal value astropy writes for it."""
    grid = json.loads(page.get_by_test_id("mosaic-frame").get_attribute("data-grid"))
    view = json.loads(page.get_by_test_id("mosaic-root").get_attribute("data-view"))
    assert grid and len(grid["labels"]) >= 3, grid
    scale = abs(wcs.pixel_scale_matrix[1, 1])
    tol = max(1.0 / view["s"], 0.05) * scale  # one screen pixel, in degrees
    for lab in grid["labels"]:
        x = (lab["sx"] - view["ox"]) / view["s"] - 0.5
        y = (view["oy"] - lab["sy"]) / view["s"] - 0.5
        c = wcs.pixel_to_world(x, y)
        if lab["axis"] == "lon":
            assert abs((c.ra.deg - lab["value"] + 180) % 360 - 180) < tol, (lab, c)
            assert lab["text"] == _ra_text(lab["value"], grid["lonStep"]), lab
        else:
            assert abs(c.dec.deg - lab["value"]) < tol, (lab, c)
            assert lab["text"] == _dec_text(lab["value"], grid["latStep"]), lab
    return grid


def test_sky_image_grid_colour_bar_cut_and_editing(page: Page, jupyter_server, make_notebook, tmp_path):
    errors = page_errors(page)
    page.add_init_script(WS_COUNTER)
    nb = make_notebook(SETUP, DISPLAY, name="sky-image")
    open_and_run(page, jupyter_server, nb, timeout=120_000)
    wait_all_executed(page, timeout=120_000)
    root = page.get_by_test_id("mosaic-root")
    expect(root).to_be_visible(timeout=60_000)
    page.wait_for_function(
        "() => { const f = document.querySelector('[data-testid=mosaic-frame]');"
        " return f && f.dataset.grid && f.dataset.grid !== 'null'; }",
        timeout=30_000,
    )
    wcs = _wcs()
    expect(page.get_by_test_id("mosaic-title")).to_contain_text("ISGRI")
    expect(page.get_by_test_id("mosaic-unit")).to_contain_text("[sigma]")

    # 1. grid labels agree with astropy at the fitted view, after a wheel zoom and after keys
    g0 = _check_grid(page, wcs)
    view0 = json.loads(root.get_attribute("data-view"))
    root.evaluate("n => n.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(300)
    box = page.get_by_test_id("mosaic-overlay").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    page.mouse.wheel(0, -700)
    page.wait_for_timeout(200)
    g1 = _check_grid(page, wcs)
    view1 = json.loads(root.get_attribute("data-view"))
    assert view1["s"] > 2 * view0["s"], (view0, view1)
    assert g1["latStep"] < g0["latStep"], (g0["latStep"], g1["latStep"])
    # keyboard: focus shows, arrows pan by a tenth of the view, + zooms ×1.25
    overlay = page.get_by_test_id("mosaic-overlay")
    overlay.focus()
    v_before = json.loads(root.get_attribute("data-view"))
    page.keyboard.press("ArrowLeft")
    v_after = json.loads(root.get_attribute("data-view"))
    assert v_after["ox"] == pytest.approx(v_before["ox"] + 0.1 * v_before["W"])
    for _ in range(4):
        page.keyboard.press("+")
    v_zoom = json.loads(root.get_attribute("data-view"))
    assert v_zoom["s"] == pytest.approx(v_after["s"] * 1.25**4)
    assert (
        overlay.evaluate("n => document.activeElement === n && getComputedStyle(n).outlineStyle") == "solid"
    )
    g2 = _check_grid(page, wcs)
    assert g2["lonStep"] <= g1["lonStep"]
    page.keyboard.press("0")
    page.wait_for_timeout(100)
    page.get_by_test_id("mosaic-reset").focus()  # the screenshot without the focus outline
    root.evaluate("n => n.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(300)
    shot = screenshot(page, "sky-image-grid-colorbar", clip=_box(page, "mosaic-root"))
    shutil.copy(shot, tmp_path / shot.name)

    # 2. the colour bar follows stretch and limits; no pixels are re-sent
    cbar = page.get_by_test_id("mosaic-colorbar")
    rx0 = page.evaluate("() => window.__wsBytes.rx")
    for stretch in ("asinh", "log"):
        page.get_by_test_id("mosaic-stretch").select_option(stretch)
        expect(cbar).to_have_attribute("data-stretch", stretch)
        lo, hi, width = (float(cbar.get_attribute(k)) for k in ("data-lo", "data-hi", "data-width"))
        ticks = json.loads(cbar.get_attribute("data-ticks"))
        assert len(ticks) >= 3
        for t in ticks:
            expected = STRETCHES[stretch](np.array([(t["value"] - lo) / (hi - lo)]))[0] * (width - 1)
            assert t["x"] == pytest.approx(float(expected), abs=1e-6), t
    page.get_by_test_id("mosaic-vmin").fill("-2")
    page.get_by_test_id("mosaic-vmax").fill("12")
    page.get_by_test_id("mosaic-vmax").press("Tab")  # leaving the box applies it ("change")
    expect(cbar).to_have_attribute("data-hi", "12")
    expect(cbar).to_have_attribute("data-lo", "-2")
    page.wait_for_timeout(1500)  # let any (unwanted) kernel traffic arrive
    rx = page.evaluate("() => window.__wsBytes.rx") - rx0
    assert rx < 20_000, f"{rx} bytes came back for stretch and limit changes"

    # 3. typing 8 in the cut keeps exactly the rows >= 8 sigma
    sig = np.asarray(Table.read(CATALOG)["significance"], dtype=float)
    n8 = int(np.sum(sig >= 8))
    cut = page.get_by_test_id("catalog-min-sig-input")
    cut.fill("8")
    cut.press("Enter")
    expect(page.get_by_test_id("catalog-count")).to_contain_text(f"{n8} of 212 shown")
    expect(page.locator(".sky-echo")).to_contain_text(f"py: {n8} selected", timeout=15_000)
    assert kernel_eval(page, "print(table.min_significance)").strip() == "8.0"
    # arrow keys step the cut by 0.1 sigma on the same box
    cut.press("ArrowDown")
    assert kernel_eval(page, "print(table.min_significance)").strip() == "7.9"
    cut.press("ArrowUp")

    # 4. a click with the "Add source" tool adds an object of interest: in the table, in
    #    selected_catalog and in a spectrum job's parameters
    page.get_by_test_id("mosaic-tool").select_option("add")
    box = page.get_by_test_id("mosaic-overlay").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.45)
    expect(page.locator(".sky-echo")).to_contain_text(
        f"py: {n8 + 1} selected of 213; last=USER_1", timeout=15_000
    )
    expect(page.get_by_test_id("catalog-count")).to_contain_text(f"{n8 + 1} of 213 shown")
    assert "USER_1" in kernel_eval(page, "print(json.loads(table.selected_catalog)['cat_column_list'][1])")
    page.get_by_test_id("catalog-spectrum").click()
    expect(page.get_by_test_id("catalog-status")).to_contain_text("isgri_spectrum job", timeout=30_000)
    sent = kernel_eval(
        page, "print(json.loads(table.last_job.params['selected_catalog'])['cat_column_list'][1])"
    )
    assert "USER_1" in sent
    # undo/redo from the edit bar
    page.get_by_test_id("catalog-undo").click()
    expect(page.locator(".sky-echo")).to_contain_text("of 212", timeout=15_000)
    page.get_by_test_id("catalog-redo").click()
    expect(page.locator(".sky-echo")).to_contain_text("of 213; last=USER_1", timeout=15_000)
    # add by typed name and position
    page.get_by_test_id("catalog-edit-name").fill("Vela X-1")
    page.get_by_test_id("catalog-edit-ra").fill("09:02:06.86")
    page.get_by_test_id("catalog-edit-dec").fill("-40:33:16.9")
    page.get_by_test_id("catalog-add").click()
    expect(page.locator(".sky-echo")).to_contain_text("last=Vela X-1", timeout=15_000)

    # 5. a DS9 file round-trips: exported from the view, read back onto the image
    out = kernel_eval(
        page,
        "text = view.export_regions('sky.reg'); shown = view.load_regions('sky.reg');"
        "print(len(shown), sum(1 for r in shown if r.meta.get('text') in ('USER_1', 'Vela X-1')))",
    )
    n_regions, named = (int(v) for v in out.split())
    assert named == 2 and n_regions == n8 + 2
    expect(page.get_by_test_id("mosaic-overlay")).to_have_attribute("data-regions", str(n_regions))
    back = kernel_eval(page, "from regions import Regions; print(len(Regions.read('sky.reg', format='ds9')))")
    assert int(back) == n_regions

    page.get_by_test_id("catalog-root").evaluate("n => n.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(300)
    shot = screenshot(page, "catalog-edited", clip=_box(page, "catalog-root"))
    shutil.copy(shot, tmp_path / shot.name)
    errors.assert_none()


def _box(page: Page, testid: str) -> dict:
    b = page.get_by_test_id(testid).bounding_box()
    return {
        "x": max(0, b["x"] - 8),
        "y": max(0, b["y"] - 8),
        "width": b["width"] + 16,
        "height": b["height"] + 16,
    }
