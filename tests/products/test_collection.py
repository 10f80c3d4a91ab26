"""ProductCollection: every payload kind, oda_api's names and order, views, save, to_oda_api."""

from __future__ import annotations

import base64
import copy
import hashlib
import io
import json
import pickle

import numpy as np
import pytest
from _products_helpers import (
    isgri_lc_hdulist,
    png_bytes,
    response_body,
    spectrum_products,
    wire,
)
from astropy.io import fits
from astropy.table import Table
from peers import real_token

from oda_widgets.errors import OdaError
from oda_widgets.products import (
    BinaryProduct,
    Catalog,
    LightCurve,
    Mosaic,
    NumpyProduct,
    Picture,
    ProductCollection,
    Spectrum,
    TableProduct,
    Text,
    encode_numpy_data_product,
)

TOKEN = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ0ZXN0QGV4YW1wbGUub3JnIn0."
    "c2lnbmF0dXJlLW5vdC1jaGVja2VkLWhlcmU"
)


@pytest.fixture(scope="module")
def full_products(samples) -> dict:
    """A response's products with every payload kind §2.4 lists."""
    with fits.open(samples / "isgri_mosaic_significance_1E1740.fits.gz") as h:
        mosaic = encode_numpy_data_product(
            h,
            "mosaic_image",
            {"product": "mosaic", "instrument": "isgri", "src_name": "", "query_parameters": None},
        )
    with fits.open(samples / "jemx1_lc_osa_with_grouping.fits.gz") as h:
        jemx_lc = encode_numpy_data_product(h, "jemx_lc", {"src_name": "4U 1700+24", "time_bin": 0.00023})
    isgri_lc = encode_numpy_data_product(isgri_lc_hdulist(), "isgri_lc", {"src_name": "OAO 1657-415"})
    catalog = Catalog(Table.read(samples / "isgri_catalog_212rows.ecsv")).to_dict()
    table = Table({"energy": [1.0, 2.0], "flux": [3.0, 4.0]}, meta={"origin": "test"})
    ecsv = io.StringIO()
    table.write(ecsv, format="ascii.ecsv")
    payload = b"\x1f\x8b\x08\x00 some gzip-looking bytes"
    png = png_bytes()
    return wire(
        {
            "numpy_data_product_list": [mosaic, isgri_lc, jemx_lc, *spectrum_products(samples)],
            "binary_data_product_list": [
                {
                    "name": "archive",
                    "data": base64.urlsafe_b64encode(payload).decode(),
                    "md5": hashlib.md5(payload).hexdigest(),
                }
            ],
            "catalog": catalog,
            "astropy_table_product_ascii_list": [
                {"ascii": ecsv.getvalue(), "binary": None, "name": "sed", "meta_data": "{}"}
            ],
            "astropy_table_product_binary_list": [
                {
                    "ascii": None,
                    "name": None,
                    "meta_data": "{}",
                    "binary": base64.b64encode(pickle.dumps(table, protocol=2)).decode(),
                }
            ],
            "binary_image_product_list": [
                {
                    "img_type": "png",
                    "b64data": base64.urlsafe_b64encode(png).decode(),
                    "metadata": {"caption": "a plot"},
                    "name": "plot",
                    "filename": "plot.png",
                }
            ],
            "text_product_list": [
                {"name": "report", "value": "all fine", "meta_data": {"product": "summary"}}
            ],
            "analysis_parameters": {
                "instrument": "isgri",
                "product_type": "isgri_image",
                "token": TOKEN,
                "src_name": "1E 1740.7-2942",
            },
            "api_code": f"par_dict = {{'token': '{TOKEN}'}}",
            "session_id": "SESSION",
            "job_id": "0123456789abcdef",
            "input_prod_list": ["066500220010.001", "066500230010.001"],
            "prod_process_message": "",
        }
    )


EXPECTED_NAMES = [
    "mosaic_image_0_mosaic",
    "isgri_lc_1_OAO1657m415",
    "jemx_lc_2_4U1700p24",
    "isgri_image_3_4U1700m377_isgri_spectrum",
    "isgri_image_4_4U1700m377_isgri_arf",
    "isgri_image_5_4U1700m377_isgri_rmf",
    "archive_6",
    "dispatcher_catalog_7",
    "sed_8",
    "isgri_image_9",
    "plot_10",
    "report_11_summary",
]


def test_names_and_order(full_products):
    c = ProductCollection.from_response(full_products)
    assert c.names() == EXPECTED_NAMES
    kinds = [type(p) for _, p in c.items()]
    assert kinds == [NumpyProduct] * 6 + [BinaryProduct, Catalog, TableProduct, TableProduct, Picture, Text]


def test_names_equal_oda_api_decoder(full_products):
    """oda_api's own client decoder, run on this (our own, trusted) response, names them alike."""
    from oda_api.api import DataCollection

    body = response_body(copy.deepcopy(full_products))
    theirs = DataCollection.from_response_json(body, "isgri", "isgri_image")
    assert theirs._n_list == EXPECTED_NAMES
    ours = ProductCollection.from_response(full_products)
    # data equal too, for the numpy products
    for name, p in ours.items():
        if isinstance(p, NumpyProduct):
            hdul = getattr(theirs, name).to_fits_hdu_list()
            assert [h.name for h in hdul] == p.extnames
            for a, b in zip(hdul, p.hdulist):
                if a.data is not None and not isinstance(a.data, fits.FITS_rec):
                    assert np.array_equal(a.data, b.data, equal_nan=True)


def test_access_styles(full_products):
    c = ProductCollection.from_response(full_products)
    assert c.mosaic_image_0_mosaic is c["mosaic_image_0_mosaic"] is c[0]
    assert "dispatcher_catalog_7" in c and "nothing" not in c
    assert "isgri_lc_1_OAO1657m415" in dir(c)
    with pytest.raises(AttributeError, match="no product or attribute"):
        c.no_such_product
    with pytest.raises(KeyError, match="no product"):
        c["no_such_product"]
    assert len(c) == 12 and next(iter(c)) is c[0]


def test_typed_views(full_products):
    c = ProductCollection.from_response(full_products)
    assert [type(lc) for lc in c.light_curves] == [LightCurve, LightCurve]
    assert [lc.source for lc in c.light_curves] == ["OAO 1657-415", "String"]
    assert [lc.instrument for lc in c.light_curves] == ["ISGRI", "JEM-X1"]
    assert isinstance(c.mosaic, Mosaic) and c.mosaic.shape == (461, 433)
    assert isinstance(c.catalog, Catalog) and len(c.catalog) == 212
    (spec,) = c.spectra
    assert isinstance(spec, Spectrum) and spec.source == "4U 1700-377"
    assert spec.rmf is not None and spec.arf is not None
    assert len(spec.energy_low) == 256
    assert [t.name for t in c.tables] == ["sed", None]
    assert c.tables[0].table["flux"].tolist() == [3.0, 4.0]
    assert c.tables[1].table.meta["origin"] == "test"
    (pic,) = c.pictures
    assert pic.img_type == "png" and pic.data == png_bytes() and pic.metadata == {"caption": "a plot"}
    (text,) = c.texts
    assert text.value == "all fine" and str(text) == "all fine"
    (binary,) = c.binaries
    assert binary.data.startswith(b"\x1f\x8b") and binary.extension == "gz"
    assert c.others() == []


def test_bookkeeping_is_kept_and_redacted(full_products):
    c = ProductCollection.from_response(full_products)
    assert c.job_id == "0123456789abcdef" and c.session_id == "SESSION"
    assert c.input_prod_list == ["066500220010.001", "066500230010.001"]
    assert c.analysis_parameters["src_name"] == "1E 1740.7-2942"
    assert c.analysis_parameters["token"] == "<token>"
    assert TOKEN not in c.api_code and "<token>" in c.api_code
    assert TOKEN not in repr(c)
    assert c.instrument == "isgri" and c.product == "isgri_image"


def test_repr_is_readable(full_products):
    text = repr(ProductCollection.from_response(full_products))
    assert text.splitlines()[0] == "ProductCollection(12 products, job 0123456789abcdef)"
    assert "mosaic_image_0_mosaic" in text and "catalog, 212 sources" in text
    assert "input_prod_list: 2 entries" in text


def test_save_writes_oda_api_file_names(full_products, tmp_path):
    c = ProductCollection.from_response(full_products)
    paths = c.save(tmp_path)
    names = sorted(p.name for p in paths)
    assert names == sorted(
        [
            "mosaic_image_0_mosaic.fits",
            "isgri_lc_1_OAO1657m415.fits",
            "jemx_lc_2_4U1700p24.fits",
            "isgri_image_3_4U1700m377_isgri_spectrum.fits",
            "isgri_image_4_4U1700m377_isgri_arf.fits",
            "isgri_image_5_4U1700m377_isgri_rmf.fits",
            "archive_6.gz",
            "dispatcher_catalog_7.ecsv",
            "sed_8.fits",
            "isgri_image_9.fits",
            "plot_10.png",
            "report_11_summary.txt",
        ]
    )
    with fits.open(tmp_path / "mosaic_image_0_mosaic.fits") as h:
        assert h[0].data.shape == (461, 433)
    assert (
        Table.read(tmp_path / "dispatcher_catalog_7.ecsv")["src_names"][1] == c.catalog.table["src_names"][1]
    )
    assert (tmp_path / "plot_10.png").read_bytes() == png_bytes()
    assert (tmp_path / "report_11_summary.txt").read_text() == "all fine"


def test_to_oda_api(full_products):
    from oda_api.data_products import ApiCatalog, NumpyDataProduct, PictureProduct

    c = ProductCollection.from_response(full_products)
    dc = c.to_oda_api()
    assert dc._n_list == EXPECTED_NAMES
    assert dc.request_job_id == "0123456789abcdef"
    mosaic = dc.mosaic_image_0_mosaic
    assert isinstance(mosaic, NumpyDataProduct)
    assert np.array_equal(mosaic.data_unit[0].data, c.mosaic.image, equal_nan=True)
    assert isinstance(dc.dispatcher_catalog_7, ApiCatalog)
    assert dc.dispatcher_catalog_7.get_api_dictionary() == c.catalog.to_selected_catalog()
    assert isinstance(dc.plot_10, PictureProduct)


def test_unnamed_products_take_product_then_instrument_names(samples):
    with fits.open(samples / "jemx1_lc_GRB221009A.fits") as h:
        d = encode_numpy_data_product(h, None, {})
    assert ProductCollection.from_response({"numpy_data_product_list": [d]}, product="jemx_lc").names() == [
        "jemx_lc_0"
    ]
    assert ProductCollection.from_response({"numpy_data_product_list": [d]}, instrument="jemx").names() == [
        "jemx_0"
    ]
    assert ProductCollection.from_response({"numpy_data_product_list": [d]}).names() == ["prod_0"]
    single = ProductCollection.from_response(
        {"numpy_data_product": d, "analysis_parameters": {"product_type": "lc"}}
    )
    assert single.names() == ["lc_0"] and len(single.light_curves) == 1


def test_legacy_binary_and_text_forms():
    payload = b"%PDF-1.4 a document"
    c = ProductCollection.from_response(
        {
            "binary_data_product_list": [base64.urlsafe_b64encode(payload).decode()],
            "text_product_list": ["plain text"],
        },
        product="report",
    )
    assert c.names() == ["report_0", "report_1"]
    assert c.binaries[0].data == payload and c.binaries[0].extension == "pdf"
    assert c.texts[0].value == "plain text"


def test_ascii_table_text_is_never_a_file_name(tmp_path):
    local = tmp_path / "local.ecsv"
    Table({"secret": [1]}).write(local, format="ascii.ecsv")
    with pytest.raises(OdaError, match="not readable ECSV") as err:
        ProductCollection.from_response(
            {
                "astropy_table_product_ascii_list": [
                    {"ascii": str(local), "binary": None, "name": "t", "meta_data": "{}"}
                ]
            }
        )
    assert "secret" not in str(err.value)


def test_corrupt_binary_is_refused():
    with pytest.raises(OdaError, match="md5 mismatch"):
        ProductCollection.from_response(
            {
                "binary_data_product_list": [
                    {"name": "x", "data": base64.urlsafe_b64encode(b"abc").decode(), "md5": "0" * 32}
                ]
            }
        )


def test_empty_and_running_responses():
    assert len(ProductCollection.from_response({})) == 0
    c = ProductCollection.from_response({"job_id": "j", "session_id": "s"})
    assert len(c) == 0 and c.mosaic is None and c.catalog is None and c.light_curves == [] and c.spectra == []
    with pytest.raises(OdaError, match="JSON object"):
        ProductCollection.from_response(["not", "a", "dict"])


def test_captured_modern_responses_decode(captures):
    for path in sorted((captures / "git-1.3.6").glob("run_analysis_*done*.json")) + sorted(
        (captures / "modern-1.3.6-annotated").glob("*done*.json")
    ):
        body = json.loads(path.read_text())
        c = ProductCollection.from_response(body.get("products", {}))
        if "numpy_data_product_list" in body.get("products", {}):
            assert len(c) == len(body["products"]["numpy_data_product_list"]), path.name
            assert all(isinstance(p, NumpyProduct) for p in c)
        api_code = c.api_code or ""
        assert "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ" not in api_code, path.name
        assert "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ" not in repr(c.analysis_parameters), path.name
    numerical = json.loads((captures / "git-1.3.6" / "run_analysis_empty_numerical_done.json").read_text())
    c = ProductCollection.from_response(numerical["products"])
    assert c.names() == ["numerical_0"]
    assert c.numerical_0.hdulist[0].data.shape == (100, 100)
    assert c.others() == [("numerical_0", c.numerical_0)]


def test_real_dispatcher_response_decodes(real_dispatcher):
    """A response fetched over HTTP from the real dispatcher (dummy instrument) decodes."""
    import requests

    params = {
        "instrument": "empty",
        "product_type": "numerical",
        "query_type": "Dummy",
        "api": "True",
        "query_status": "new",
        "p": 5.0,
        "token": real_token(),
    }
    r = requests.get(f"{real_dispatcher.url}/run_analysis", params=params, timeout=60)
    assert r.status_code == 200, r.text[:500]
    body = r.json()
    assert body["query_status"] == "done"
    c = ProductCollection.from_response(body["products"])
    assert c.names() == ["numerical_0"]
    assert c.analysis_parameters["token"] == "<token>"
    assert c.numerical_0.hdulist[0].data.shape == (100, 100)


def test_a_product_without_its_view_stays_reachable(samples):
    """A spectrum whose spectrum part is missing, and an LC table without RATE: no view, no crash."""
    lc = fits.HDUList(
        [
            fits.PrimaryHDU(),
            fits.BinTableHDU.from_columns([fits.Column("TIME", "D", array=[1.0])], name="ISGR-SRC.-LCR"),
        ]
    )
    arf_only = spectrum_products(samples)[1]
    c = ProductCollection.from_response(
        wire(
            {
                "numpy_data_product_list": [
                    encode_numpy_data_product(lc, "isgri_lc", {"src_name": "A"}),
                    arf_only,
                ]
            }
        )
    )
    assert c.light_curves == [] and c.spectra == []
    assert any("isgri_lc_0_A" in p for p in c.problems)
    assert [n for n, _ in c.others()] == ["isgri_lc_0_A", "prod_1_4U1700m377_isgri_arf"]
