"""A user's catalog from a file → the selected_catalog the dispatcher accepts."""

from __future__ import annotations

import json

import numpy as np
import pytest
from astropy import units as u
from astropy.io import fits
from astropy.table import Table
from shared_data import SAMPLES

from oda_widgets.errors import InvalidParameter
from oda_widgets.products import Catalog
from oda_widgets.products.user_catalog import read_user_catalog

CSV = "name,ra,dec\nCrab,83.63308,22.0145\n4U 1700+24,256.6438,23.9716\n"


def test_csv_with_name_ra_dec_becomes_a_selected_catalog():
    cat = read_user_catalog(CSV.encode(), "mine.csv")
    assert isinstance(cat, Catalog) and len(cat) == 2 and cat.name == "mine"
    d = json.loads(cat.to_selected_catalog())
    assert d["cat_lon_name"] == "ra" and d["cat_frame"] == "fk5" and d["cat_coord_units"] == "deg"
    assert d["cat_column_names"][:5] == ["meta_ID", "src_names", "significance", "ra", "dec"]
    assert d["cat_column_list"][1] == ["Crab", "4U 1700+24"] and d["cat_column_list"][3][1] == pytest.approx(
        256.6438
    )


def test_sexagesimal_hours_units_and_other_spellings(tmp_path):
    text = '# %ECSV 1.0\n# ---\n# datatype:\n# - {name: Source_Name, datatype: string}\n# - {name: RAJ2000, datatype: string}\n# - {name: DEJ2000, datatype: string}\n# schema: astropy-2.0\nSource_Name RAJ2000 DEJ2000\n"Sgr A*" 17:45:40.04 -29:00:28.2\n'
    path = tmp_path / "sgr.ecsv"
    path.write_text(text)
    cat = read_user_catalog(path)
    assert cat.table["src_names"][0] == "Sgr A*"
    assert cat.table["ra"][0] == pytest.approx(266.41683, abs=1e-4) and cat.table["dec"][0] == pytest.approx(
        -29.00783, abs=1e-4
    )
    hours = Table(
        {
            "NAME": ["X"],
            "RA_OBJ": [1.5] * u.hourangle,
            "DEC_OBJ": [10.0] * u.deg,
            "DETSIG": [8.5],
            "FLAG": [1],
        }
    )
    cat = read_user_catalog(hours)
    assert (
        cat.table["ra"][0] == pytest.approx(22.5)
        and cat.table["significance"][0] == 8.5
        and cat.table["FLAG"][0] == 1
    )


def test_an_osa_catalog_fits_file(tmp_path):
    # the real ISGRI catalog sample (an image's catalog saved as FITS) reads as it is
    cat = read_user_catalog(SAMPLES / "isgri_catalog_212rows.fits")
    assert len(cat) == 212 and json.loads(cat.to_selected_catalog())["cat_lat_name"] == "dec"
    hdul = fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU(Table({"x": [1.0]}), name="OTHER")])
    hdul.append(
        fits.BinTableHDU(
            Table({"NAME": ["A", "B"], "RA_OBJ": [1.0, 2.0], "DEC_OBJ": [3.0, 4.0]}), name="ISGR-SRCL-CAT"
        )
    )
    path = tmp_path / "cat.fits"
    hdul.writeto(path)
    assert list(read_user_catalog(path).table["src_names"]) == ["A", "B"]


def test_a_table_without_usable_columns_says_what_it_has_and_what_is_expected():
    with pytest.raises(InvalidParameter) as err:
        read_user_catalog(b"x,y,z\n1,2,3\n", "points.csv")
    message = str(err.value)
    assert message.startswith("points.csv: no usable name and RA and Dec columns")
    assert "this table has: x, y, z" in message and "RAJ2000/DEJ2000" in message
    assert err.value.parameter == "selected_catalog"


def test_bad_rows_are_named():
    text = "name,ra,dec\nA,10,20\nB,400,20\nC,10,-95\nD,ten,0\n,1,1\n"
    with pytest.raises(InvalidParameter) as err:
        read_user_catalog(text.encode(), "bad.csv")
    message = str(err.value)
    assert "4 rows not read" in message and "row 2: RA 400° is outside [0, 360)" in message
    assert "row 3: Dec -95° is outside [-90, 90]" in message and "row 4: RA 'ten' is not an angle" in message
    assert "row 5: has no name" in message
    with pytest.raises(InvalidParameter, match="column significance must hold numbers"):
        read_user_catalog(b"name,ra,dec,significance\nA,1,2,high\n", "words.csv")
    with pytest.raises(InvalidParameter, match="no rows"):
        read_user_catalog(Table({"name": np.array([], dtype=str), "ra": [], "dec": []}))
