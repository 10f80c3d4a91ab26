"""Science-window lists from files: text, CSV, FITS (ISDC's SWID, HEASARC's SCW_ID + SCW_VER),
bad rows named by line, duplicates removed and counted, full-width digits refused."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from oda_widgets.client.scw_list import SCW_PATTERN, read_scw_list
from oda_widgets.errors import InvalidParameter

A, B, C = "066500220010.001", "066500230010.001", "066500240010.001"


def test_text_lists_one_per_line_or_separated():
    scws = read_scw_list(f"# my list\n{A}\n{B}, {C}\n\n{A}  # again\n", "mine.txt")
    assert scws.ids == (A, B, C) and scws.duplicates == 1
    assert scws.summary == "3 science windows from mine.txt (1 duplicate removed)"
    assert read_scw_list([A, B]).ids == (A, B)


def test_bad_rows_are_named_by_line_and_nothing_is_read(tmp_path):
    path = tmp_path / "list.txt"
    path.write_text(f"{A}\n{B}\n066500220010\nnot-an-id\n０６６５００２２００１０.００１\n")
    with pytest.raises(InvalidParameter) as err:
        read_scw_list(path)
    message = str(err.value)
    assert message.startswith("list.txt: 3 rows not read")
    assert "line 3: '066500220010' lacks its version" in message
    assert "line 4: 'not-an-id' is not a ScW id" in message
    assert "line 5:" in message and "full-width" in message
    assert err.value.parameter == "scw_list" and [r[0] for r in err.value.details["rows"]] == [3, 4, 5]


def test_full_width_digits_are_not_scw_ids():
    # Python's \d matches them; no dispatcher reads them
    assert not SCW_PATTERN.match("０６６５００２２００１０.００１")
    with pytest.raises(InvalidParameter, match="full-width"):
        read_scw_list("０６６５００２２００１０.００１")


def test_csv_with_an_id_column_and_a_version_column():
    text = f"scw_id,scw_ver,start\n066500220010,1,2017-01-01\n066500230010,001,2017-01-02\n{A[:12]},1,x\n"
    scws = read_scw_list(text.encode(), "heasarc.csv")
    assert scws.ids == (A, B) and scws.duplicates == 1
    with pytest.raises(InvalidParameter, match="line 3: '066500230010 x' has no 1-3 digit version"):
        read_scw_list("SWID,SCW_VER\n066500220010,1\n066500230010,x\n", "bad.csv")


def test_fits_indices_swid_with_and_without_versions(tmp_path):
    isdc = fits.BinTableHDU(
        Table({"SWID": [A[:12], B[:12], A[:12]], "SW_TYPE": ["POINTING"] * 3}), name="GNRL-SCWG-GRP-IDX"
    )
    data = fits.HDUList([fits.PrimaryHDU(), isdc])
    path = tmp_path / "index.fits"
    data.writeto(path)
    scws = read_scw_list(path)
    assert scws.ids == (A, B) and scws.duplicates == 1 and scws.versioned == 3
    assert "version .001 added to 3 12-digit ids" in scws.summary
    heasarc = Table({"SCW_ID": np.array([C[:12]]), "SCW_VER": np.array(["002"])})
    raw = fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU(heasarc)])
    buffer = tmp_path / "h.fits"
    raw.writeto(buffer)
    assert read_scw_list(gzip.compress(buffer.read_bytes()), "h.fits.gz").ids == (C[:12] + ".002",)
    assert read_scw_list(Table({"scw_id": [A, B]})).ids == (A, B)
    other = tmp_path / "other.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU(Table({"X": [1]}), name="DATA")]).writeto(other)
    with pytest.raises(InvalidParameter, match=r"no table with a ScW id column .* \(its tables: DATA\)"):
        read_scw_list(other)


def test_what_is_not_a_list_file():
    with pytest.raises(InvalidParameter, match="neither text"):
        read_scw_list(b"\xff\xfe\x00binary", "x.bin")
    with pytest.raises(InvalidParameter, match="not a readable FITS"):
        read_scw_list(b"SIMPLE  =" + b"garbage" * 10, "x.fits")
