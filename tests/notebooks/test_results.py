"""results_view and its generic views on real INTEGRAL files (no browser)."""

from __future__ import annotations

import os
from pathlib import Path

import ipywidgets as widgets
from astropy.io import fits
from astropy.table import Table

from oda_widgets.results import MAX_TABLE_ROWS, generic_view, table_html, text_widget

SAMPLES = Path(os.environ.get("ODA_WIDGETS_SHARED", Path(__file__).resolve().parents[3] / "shared")) / "samples"


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
