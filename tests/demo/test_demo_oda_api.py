"""The official oda_api 1.3.5 client runs the seed workflow against the demo dispatcher unchanged,
and sees the same exceptions as against the real dispatcher."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from astropy.io import fits
from oda_api.api import (
    DispatcherAPI,
    RemoteException,
    RequestNotUnderstood,
    Unauthorized,
    UnexpectedDispatcherStatusCode,
)

from oda_widgets import demo

WINDOW = dict(T1="2017-03-06T00:00:00", T2="2017-03-09T00:00:00", osa_version="OSA11.2", max_pointings=8)


@pytest.fixture
def disp(demo_dispatcher, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return DispatcherAPI(url=demo_dispatcher)


def test_seed_workflow(disp, tmp_path):
    assert disp.get_instruments_list()[:3] == ["isgri", "jemx", "spi_acs"]
    description = disp.get_product_description("isgri", "isgri_spectrum")
    blocks = description[0]
    assert blocks[0] == {"instrumet": "isgri"}
    assert [b[0]["query_name"] for b in blocks[2:]] == [
        "src_query",
        "isgri_parameters",
        "isgri_spectrum_query",
    ]

    lc = disp.get_product(
        instrument="spi_acs",
        product="spi_acs_lc",
        product_type="Real",
        T1="2022-10-09T13:10:00",
        T2="2022-10-09T13:25:00",
        time_bin=1,
        silent=True,
    )
    assert [p["prod_name"] for p in lc.as_list()] == ["spi_acs_lc_0_query"]
    rate = lc.spi_acs_lc_0_query.data_unit[1].data
    assert len(rate) == 900 and rate["RATE"].max() > 5 * np.median(rate["RATE"])

    image = disp.get_product(
        instrument="isgri",
        product="isgri_image",
        product_type="Real",
        silent=True,
        token=demo.make_token(),
        **WINDOW,
    )
    assert [p["prod_name"] for p in image.as_list()] == ["mosaic_image_0_mosaic", "dispatcher_catalog_1"]
    units = image.mosaic_image_0_mosaic.data_unit
    assert units[4].header["IMATYPE"] == "SIGNIFICANCE" and units[4].data.ndim == 2

    cat = image.dispatcher_catalog_1
    names = list(cat.table["src_names"])
    assert "NEW_1" in names
    keep = (cat.table["significance"] >= 10) & np.array(["NEW" not in n for n in names])
    cat.table = cat.table[keep]
    assert 0 < len(cat.table) < len(names)
    api_cat = cat.get_api_dictionary()
    assert json.loads(api_cat)["cat_column_names"][:3] == ["meta_ID", "src_names", "significance"]

    spectra = disp.get_product(
        instrument="isgri",
        product="isgri_spectrum",
        product_type="Real",
        selected_catalog=api_cat,
        silent=True,
        **WINDOW,
    )
    names_sent = list(cat.table["src_names"])
    got = [p["meta_data:"]["src_name"] for p in spectra.as_list()]
    assert got == [n for n in [*names_sent, "Background"] for _ in range(3)]
    one = spectra.new_from_metadata("src_name", names_sent[0])
    assert [p["meta_data:"]["product"] for p in one.as_list()] == ["isgri_spectrum", "isgri_arf", "isgri_rmf"]
    one.save_all_data()
    files = sorted(p.name for p in tmp_path.glob("*.fits"))
    assert len(files) == 3
    rmf = next(f for f in files if f.endswith("_isgri_rmf.fits"))
    with fits.open(tmp_path / rmf) as hdul:
        assert [h.name for h in hdul] == ["PRIMARY", "SPECRESP MATRIX", "EBOUNDS"]


def test_isgri_and_jemx_light_curves_through_oda_api(disp):
    lcs = disp.get_product(
        instrument="isgri", product="isgri_lc", product_type="Real", time_bin=500, silent=True, **WINDOW
    )
    names = [p["prod_name"] for p in lcs.as_list()]
    assert any(n.startswith("isgri_lc_") and n.endswith("_1E17407m2942") for n in names)
    jemx = disp.get_product(
        instrument="jemx",
        product="jemx_lc",
        product_type="Real",
        jemx_num=1,
        time_bin=500,
        silent=True,
        **dict(WINDOW, max_pointings=3),
    )
    assert all(p["prod_name"].startswith("jemx_lc_") for p in jemx.as_list())


def test_oda_api_exceptions_match_the_real_server(disp):
    with pytest.raises(RequestNotUnderstood, match="ISGRI energy range is restricted to 15 - 800 keV"):
        disp.get_product(instrument="isgri", product="isgri_image", E1_keV=10, silent=True)
    with pytest.raises(RequestNotUnderstood, match="wrong value abc"):
        disp.get_product(instrument="isgri", product="isgri_image", radius="abc", silent=True)
    with pytest.raises(Unauthorized, match="integral-private-qla"):
        disp.get_product(
            instrument="isgri", product="isgri_image", integral_data_rights="all-private", silent=True
        )
    with pytest.raises(Unauthorized, match="unige-hpc-full"):
        disp.get_product(instrument="isgri", product="isgri_image", max_pointings=100, silent=True)
    with pytest.raises(Unauthorized, match="The token provided is expired"):
        disp.get_product(
            instrument="isgri", product="isgri_image", token=demo.make_token(expired=True), silent=True
        )
    with pytest.raises(RemoteException, match="failed: get dataserver products"):
        disp.get_product(
            instrument="isgri", product="isgri_image", src_name="FAIL_BACKEND", silent=True, **WINDOW
        )
    with pytest.raises(RequestNotUnderstood, match="product type nope not in query_dictionary"):
        disp.get_product(instrument="isgri", product="nope", silent=True)
    with pytest.raises(UnexpectedDispatcherStatusCode, match="status: 500"):
        disp.get_product_description("isgri", "nope")


def test_oda_api_async_polling(disp):
    disp.wait = False
    params = dict(
        instrument="isgri",
        product="isgri_image",
        product_type="Real",
        silent=True,
        **dict(WINDOW, max_pointings=4),
    )
    assert disp.get_product(**params) is None
    states = [disp.query_status]
    result = None
    for _ in range(100):
        result = disp.poll()
        states.append(disp.query_status)
        if result is not None:
            break
        time.sleep(0.05)
    assert result is not None and states[-1] == "done"
    assert states[0] == "submitted" and "ready" in states


def test_oda_api_reads_the_legacy_meta_data_form(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with demo.start(speed=20.0, legacy_meta_data=True) as legacy:
        disp = DispatcherAPI(url=legacy.url)
        blocks = disp.get_product_description("spi_acs", "spi_acs_lc")[0]
        assert all(isinstance(b, str) for b in blocks[2:])
        lc = disp.get_product(
            instrument="spi_acs",
            product="spi_acs_lc",
            T1="2022-10-09T13:10:00",
            T2="2022-10-09T13:12:00",
            time_bin=1,
            silent=True,
        )
        assert [p["prod_name"] for p in lc.as_list()] == ["spi_acs_lc_0_query"]
