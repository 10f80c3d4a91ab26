"""Products with bad keywords or pixels: an ``OdaError`` naming the product when it is decoded
(never a raw ValueError, KeyError or WCS error while drawing), the other products still there."""

from __future__ import annotations

import base64
import json
import pickle

import numpy as np
import pytest
from _products_helpers import isgri_mosaic_hdulist
from astropy.io import fits

from oda_widgets.errors import InvalidParameter, OdaError
from oda_widgets.products import LightCurve, Mosaic, ProductCollection, encode_numpy_data_product


def _light_curve(**header) -> fits.HDUList:
    lc = fits.BinTableHDU.from_columns(
        [
            fits.Column("TIME", "D", array=6000.0 + np.arange(5.0)),
            fits.Column("RATE", "D", array=np.ones(5)),
            fits.Column("ERROR", "D", array=np.full(5, 0.1)),
        ],
        name="ISGR-SRC.-LCR",
    )
    lc.header.update(MJDREF=51544.0, NAME="Crab", E_MIN=25.0, E_MAX=80.0)
    lc.header.update(header)
    return fits.HDUList([fits.PrimaryHDU(), lc])


def _wire(hdul: fits.HDUList, name: str, meta: dict | None = None) -> dict:
    return json.loads(json.dumps(encode_numpy_data_product(hdul, name, meta or {})))


@pytest.mark.parametrize(
    "header, why",
    [
        ({"MJDREF": "abc"}, "could not convert"),
        ({"TIMEZERO": "x"}, "could not convert"),
        ({"TIMEDEL": "x"}, "could not convert"),
        ({"MJDREF": 1e300}, "ErfaError"),
        ({"E_MIN": "low"}, "could not convert"),
    ],
)
def test_a_light_curve_with_bad_keywords_is_an_error_of_that_product(header, why):
    products = {
        "numpy_data_product_list": [
            _wire(_light_curve(**header), "bad_lc", {"src_name": "Crab"}),
            _wire(_light_curve(), "good_lc", {"src_name": "Vela"}),
        ]
    }
    collection = ProductCollection.from_response(products)
    (good,) = collection.light_curves  # the other product is still shown
    assert good.source == "Crab" and len(good) == 5
    (problem,) = collection.problems
    assert (
        problem.startswith("bad_lc_0_Crab: The light curve 'bad_lc_0_Crab' could not be read")
        and why in problem
    )
    with pytest.raises(OdaError, match="bad_lc"):
        LightCurve.from_product(collection["bad_lc_0_Crab"], name="bad_lc")


def _mosaic(**header) -> fits.HDUList:
    hdul = isgri_mosaic_hdulist(8)
    for hdu in hdul[2:]:
        hdu.header.update(header)
    return hdul


@pytest.mark.parametrize(
    "header, why",
    [
        ({"CTYPE1": "RA---XXX"}, "InconsistentAxisTypesError"),
        ({"CDELT1": 0.0, "CDELT2": 0.0}, "SingularMatrixError"),
        ({"MJDREF": "abc"}, "could not convert"),
    ],
)
def test_a_mosaic_with_a_bad_wcs_or_time_is_an_error_of_that_product(header, why):
    products = {"numpy_data_product_list": [_wire(_mosaic(**header), "mosaic_image", {"product": "mosaic"})]}
    collection = ProductCollection.from_response(products)
    assert collection.mosaic is None
    (problem,) = collection.problems
    assert "The mosaic 'mosaic_image_0_mosaic' could not be read" in problem and why in problem


def test_an_object_dtype_image_is_refused_naming_the_product():
    """A pickled object array as an image gave a raw KeyError ('object') from astropy."""
    d = _wire(isgri_mosaic_hdulist(4), "mosaic_image")
    pixels = np.empty((4, 4), dtype=object)
    pixels[:] = "x"
    d["data_unit_list"][2]["binarys"] = base64.b64encode(pickle.dumps(pixels)).decode()
    with pytest.raises(OdaError, match=r"product 'mosaic_image'.*an image must hold numbers, got object"):
        ProductCollection.from_response({"numpy_data_product_list": [d]})


def test_the_mosaic_view_refuses_what_it_cannot_draw_with_a_typed_error():
    pytest.importorskip("anywidget")
    from oda_widgets.mosaic import MosaicView

    mosaic = Mosaic.from_product(isgri_mosaic_hdulist(4))
    with pytest.raises(InvalidParameter, match="numbers are needed"):
        MosaicView({"IMAGE": np.array([["a", "b"], ["c", "d"]], dtype=object)}, wcs=mosaic.wcs)
    singular = mosaic.wcs.deepcopy()
    singular.wcs.cdelt = [0.0, 0.0]
    with pytest.raises(InvalidParameter, match="cannot project"):
        MosaicView({"IMAGE": np.zeros((4, 4))}, wcs=singular)


def test_a_product_list_that_is_not_a_list_is_a_readable_error():
    with pytest.raises(OdaError, match="text_product_list is a int"):
        ProductCollection.from_response({"text_product_list": 5})
    with pytest.raises(OdaError, match=r"binary_image_product_list\[0\]"):
        ProductCollection.from_response({"binary_image_product_list": [5]})
