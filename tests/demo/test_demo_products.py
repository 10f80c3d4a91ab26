"""Products of the demo dispatcher: FITS layout of PROTOCOL §5, the demo sky, determinism."""

from __future__ import annotations

import json

import numpy as np
import pytest
from astropy.time import Time
from astropy.wcs import WCS
from demo_helpers import complete, run

from oda_widgets.products import Catalog, decode_numpy_data_product

GC_2017 = dict(
    instrument="isgri",
    product_type="isgri_image",
    T1="2017-03-06T00:00:00",
    T2="2017-03-09T00:00:00",
    max_pointings="10",
)


def _done(url, **params):
    body, _ = complete(url, **params)
    assert body["query_status"] == "done", body["exit_status"]
    return body


def _decoded(body):
    return [decode_numpy_data_product(d) for d in body["products"]["numpy_data_product_list"]]


@pytest.fixture(scope="module")
def gc_image(demo_dispatcher):
    return _done(demo_dispatcher, **GC_2017)


@pytest.mark.filterwarnings("ignore::astropy.wcs.FITSFixedWarning")
def test_isgri_mosaic_layout(gc_image):
    (mosaic,) = _decoded(gc_image)
    assert mosaic.name == "mosaic_image"
    assert mosaic.meta_data == {
        "product": "mosaic",
        "instrument": "isgri",
        "src_name": "",
        "query_parameters": None,
    }
    assert mosaic.extnames == ["PRIMARY", "GROUPING", *["ISGR-MOSA-IMA"] * 4]
    images = mosaic.hdulist[2:]
    assert [h.header["IMATYPE"] for h in images] == ["INTENSITY", "VARIANCE", "SIGNIFICANCE", "EXPOSURE"]
    grouping = mosaic.hdulist["GROUPING"]
    assert list(grouping.data["IMATYPE"]) == ["INTENSITY", "VARIANCE", "SIGNIFICANCE", "EXPOSURE"]
    assert grouping.header["MJDREF"] == 51544 and grouping.header["TIMESYS"] == "TT"
    assert (grouping.header["INSTRUME"], grouping.header["DETNAM"]) == ("IBIS", "ISGRI")
    wire = gc_image["products"]["numpy_data_product_list"][0]["data_unit_list"]
    assert [u["dt"] for u in wire[2:]] == [">f4"] * 4 and wire[0]["binarys"] is None
    for h in images:
        assert h.data.dtype.kind == "f" and h.data.dtype.itemsize == 4
        w = WCS(h.header)
        assert list(w.wcs.ctype) == ["RA---TAN", "DEC--TAN"]
        assert abs(w.wcs.cdelt[1]) == pytest.approx(0.0823)
        ra, dec = w.wcs_pix2world([(h.data.shape[1] - 1) / 2], [(h.data.shape[0] - 1) / 2], 0)
        assert ra[0] == pytest.approx(265.97845833, abs=0.05) and dec[0] == pytest.approx(-29.745, abs=0.05)
        assert np.isnan(h.data[0, 0]) and np.isfinite(h.data[h.data.shape[0] // 2, h.data.shape[1] // 2])
    exposure = images[3].data
    assert np.nanmax(exposure) <= 10 * 2200 + 1
    sig = images[2].data
    noise = sig[np.isfinite(sig)]
    assert abs(float(np.median(noise))) < 0.2 and 0.8 < float(np.std(noise[np.abs(noise) < 5])) < 1.2
    assert gc_image["products"]["input_prod_list"] and all(
        len(s) == 16 and s[12] == "." for s in gc_image["products"]["input_prod_list"]
    )


def test_image_catalog_has_real_sources_and_the_gc_transient(gc_image):
    cat = Catalog.from_dict(gc_image["products"]["catalog"])
    t = cat.table
    assert t.colnames == [
        "meta_ID",
        "src_names",
        "significance",
        "ra",
        "dec",
        "NEW_SOURCE",
        "ISGRI_FLAG",
        "FLAG",
        "ERR_RAD",
    ]
    names = list(t["src_names"])
    assert "1E 1740.7-2942" in names and "GX 1+4" in names and "Crab" not in names
    assert "NEW_1" in names
    new = t[t["src_names"] == "NEW_1"][0]
    assert new["NEW_SOURCE"] == 1 and new["ra"] == pytest.approx(266.05, abs=0.2)
    assert set(t[t["src_names"] != "NEW_1"]["NEW_SOURCE"]) == {-32768}
    assert all(t["significance"] > 7.0)
    assert list(t["meta_ID"]) == sorted(t["meta_ID"])
    assert cat.frame == "fk5" and cat.coord_unit == "deg"


def test_no_transient_outside_its_active_time(demo_dispatcher):
    body = _done(demo_dispatcher, **dict(GC_2017, T1="2019-03-06T00:00:00", T2="2019-03-09T00:00:00"))
    names = body["products"]["catalog"]["cat_column_list"][1]
    assert names and not any("NEW" in n for n in names)


def test_mosaic_size_grows_with_radius(demo_dispatcher):
    sides = []
    for radius in ("8", "15", "25"):
        body = _done(
            demo_dispatcher,
            query_type="Dummy",
            **dict(GC_2017, radius=radius, max_pointings="20", T2="2017-04-06T00:00:00"),
        )
        header = body["products"]["numpy_data_product_list"][0]["data_unit_list"][2]["header"]
        sides.append(header["NAXIS1"])
    assert sides == sorted(sides) and sides[0] < sides[-1]
    assert sides[0] > 300 and sides[-1] <= 1400


def test_same_request_same_bytes(demo_dispatcher):
    a = run(demo_dispatcher, query_type="Dummy", session_id="DETERMINISTIC001", **GC_2017).json()
    b = run(demo_dispatcher, query_type="Dummy", session_id="DETERMINISTIC002", **GC_2017).json()
    assert a["job_monitor"]["job_id"] == b["job_monitor"]["job_id"]
    assert json.dumps(a["products"]["numpy_data_product_list"]) == json.dumps(
        b["products"]["numpy_data_product_list"]
    )
    assert a["products"]["catalog"] == b["products"]["catalog"]
    c = run(demo_dispatcher, query_type="Dummy", **dict(GC_2017, E2_keV="60")).json()
    assert c["products"]["numpy_data_product_list"][0] != a["products"]["numpy_data_product_list"][0]


def test_isgri_spectrum_with_selected_catalog(demo_dispatcher, gc_image):
    cat = Catalog.from_dict(gc_image["products"]["catalog"])
    chosen = cat.table[np.isin(cat.table["src_names"], ["1E 1740.7-2942", "GX 1+4"])]
    selected = Catalog(chosen).to_selected_catalog()
    body = _done(
        demo_dispatcher,
        **dict(GC_2017, product_type="isgri_spectrum", selected_catalog=selected),
        method="POST",
    )
    products = _decoded(body)
    assert [(p.meta_data["src_name"], p.meta_data["product"]) for p in products] == [
        (s, k)
        for s in ("GX 1+4", "1E 1740.7-2942", "Background")
        for k in ("isgri_spectrum", "isgri_arf", "isgri_rmf")
    ]
    spec, arf, rmf = products[3:6]
    assert spec.extnames == ["PRIMARY", "ISGR-EVTS-SPE"]
    s = spec.hdu("ISGR-EVTS-SPE")
    assert s.columns.names == ["CHANNEL", "RATE", "SYS_ERR", "STAT_ERR", "QUALITY", "GROUPING"]
    assert (
        s.header["NAME"] == "1E 1740.7-2942" and s.header["ANCRFILE"] == "NONE" and s.header["EXPOSURE"] > 0
    )
    assert arf.extnames == ["PRIMARY", "SPECRESP"]
    assert rmf.extnames == ["PRIMARY", "SPECRESP MATRIX", "EBOUNDS"]
    ebounds = rmf.hdu("EBOUNDS").data
    assert len(ebounds) == s.header["DETCHANS"] == len(s.data)
    matrix = rmf.hdu("SPECRESP MATRIX").data
    assert len(matrix) == len(arf.hdu("SPECRESP").data) and matrix["MATRIX"].shape[1] == len(ebounds)
    rate = s.data["RATE"]
    assert np.nansum(rate[(ebounds["E_MIN"] > 20) & (ebounds["E_MAX"] < 60)]) > 0
    assert body["products"]["analysis_parameters"]["selected_catalog"] == selected
    size = len(json.dumps(body["products"]))
    assert size < 5_000_000


def test_isgri_lc_per_source_with_scw_gaps(demo_dispatcher):
    body = _done(demo_dispatcher, **dict(GC_2017, product_type="isgri_lc", time_bin="300"))
    lcs = _decoded(body)
    assert lcs and all(p.name == "isgri_lc" for p in lcs)
    names = [p.meta_data["src_name"] for p in lcs]
    assert "1E 1740.7-2942" in names
    lc = lcs[names.index("1E 1740.7-2942")]
    assert lc.meta_data["time_bin"] == pytest.approx(300 / 86400)
    h = lc.hdu("ISGR-SRC.-LCR")
    assert h.columns.names == [
        "TIME",
        "TOT_COUNTS",
        "BACKV",
        "BACKE",
        "RATE",
        "ERROR",
        "FRACEXP",
        "XAX_E",
        "TIMEDEL",
    ]
    t = h.data["TIME"]
    t1 = Time("2017-03-06T00:00:00", scale="utc").tt.mjd - 51544
    t2 = Time("2017-03-09T00:00:00", scale="utc").tt.mjd - 51544
    assert t1 < t.min() and t.max() < t2
    steps = np.diff(t) * 86400
    assert steps.min() > 0 and steps.max() > 1000  # gaps between science windows
    assert np.allclose(h.data["XAX_E"], h.data["TIMEDEL"] / 2)
    assert (h.header["MJDREF"], h.header["TIMESYS"], h.header["NAME"]) == (51544, "TT", "1E 1740.7-2942")
    assert np.all(h.data["ERROR"] > 0) and np.all((h.data["FRACEXP"] > 0) & (h.data["FRACEXP"] <= 1))


@pytest.mark.parametrize(
    "product,extnames",
    [
        ("jemx_image", ["PRIMARY", "GROUPING", *["JMX1-MOSA-IMA"] * 4]),
        ("jemx_lc", ["PRIMARY", "JMX1-SRC.-LCR"]),
        ("jemx_spectrum", ["PRIMARY", "JMX1-PHA1-SPE"]),
    ],
)
def test_jemx_products(demo_dispatcher, product, extnames):
    body = _done(
        demo_dispatcher,
        instrument="jemx",
        product_type=product,
        jemx_num="1",
        T1="2017-03-06T00:00:00",
        T2="2017-03-07T00:00:00",
        max_pointings="5",
        time_bin="500",
    )
    products = _decoded(body)
    assert products[0].extnames == extnames
    assert body["products"]["analysis_parameters"]["E1_keV"] == 3.0
    if product == "jemx_image":
        t = Catalog.from_dict(body["products"]["catalog"]).table
        assert t.colnames == ["meta_ID", "src_names", "significance", "ra", "dec", "FLAG", "ERR_RAD"]
    if product == "jemx_lc":
        assert products[0].hdulist[1].columns.names == [
            "TIME",
            "RATE",
            "ERROR",
            "BRATE",
            "BERROR",
            "BARYTIME",
            "FRACEXP",
            "TIMEDEL",
        ]
        assert products[0].hdulist[1].header["INSTRUME"] == "JMX1"
    if product == "jemx_spectrum":
        assert products[2].extnames == [
            "PRIMARY",
            "SPECRESP MATRIX",
            "EBOUNDS",
            "JMX1-AXIS-ARF",
            "JMX1-IMAG-ARF",
        ]
        assert "Background" not in {p.meta_data["src_name"] for p in products}


def test_spi_acs_lc_header_binning_and_burst(demo_dispatcher):
    body = run(
        demo_dispatcher,
        instrument="spi_acs",
        product_type="spi_acs_lc",
        T1="2022-10-09T13:10:00",
        T2="2022-10-09T13:30:00",
        time_bin="0.12",
    ).json()
    (lc,) = _decoded(body)
    units = body["products"]["numpy_data_product_list"][0]["data_unit_list"]
    assert [u["name"] for u in units] == ["Primary", "RATE"]
    assert units[1]["units_dict"] == {"TIME": "s", "RATE": "count/s", "ERROR": "count/s"}
    assert lc.name == "spi_acs_lc" and lc.meta_data["src_name"] == "query"
    assert lc.meta_data["time_bin"] == pytest.approx(0.1)
    h = lc.hdu("RATE")
    for key in ("TIMEZERO", "TSTART", "TSTOP", "ONTIME", "DATE-OBS", "DATE-END", "TASSIGN", "EPHS"):
        assert key in h.header
    assert (h.header["INSTRUME"], h.header["TIMEUNIT"], h.header["MJDREF"]) == ("SPI-ACS", "s", 51544)
    assert h.header["TIMEDEL"] == pytest.approx(0.1)
    assert len(h.data) == 12000
    assert h.data["TIME"][0] == pytest.approx(-600 + 0.05, abs=1e-6)
    mjd = 51544 + (h.header["TIMEZERO"] + h.data["TIME"]) / 86400
    t_max = Time(mjd[np.argmax(h.data["RATE"])], format="mjd", scale="tt")
    # GRB 221009A: GBM trigger 13:16:59.99 UTC, brightest pulses 218-276 s later (Lesage et al. 2023)
    assert 218 <= (t_max - Time("2022-10-09T13:16:59.99", scale="utc")).to_value("s") <= 276
    assert h.data["RATE"].max() > 10 * np.median(h.data["RATE"])
    counts = h.data["RATE"] * 0.1
    assert np.allclose(h.data["ERROR"], np.sqrt(counts) / 0.1, rtol=1e-4)


def test_spi_acs_one_day_at_native_resolution(demo_dispatcher):
    body = run(
        demo_dispatcher,
        instrument="spi_acs",
        product_type="spi_acs_lc",
        T1="2017-03-06T00:00:00",
        T2="2017-03-07T00:00:00",
        time_bin="0.05",
    ).json()
    assert body["query_status"] == "done"
    (lc,) = _decoded(body)
    data = lc.hdu("RATE").data
    assert len(data) == 1_728_000
    assert np.all(np.diff(data["TIME"][:1000]) == pytest.approx(0.05))
    assert 60000 < float(np.median(data["RATE"])) < 100000


def test_catalog_selected_objects_keeps_the_listed_meta_ids(demo_dispatcher, gc_image):
    cat = Catalog.from_dict(gc_image["products"]["catalog"])
    keep = [int(cat.table["meta_ID"][0]), int(cat.table["meta_ID"][-1])]
    body = _done(
        demo_dispatcher,
        query_type="Dummy",
        method="POST",
        **dict(
            GC_2017,
            product_type="isgri_lc",
            selected_catalog=cat.to_selected_catalog(),
            catalog_selected_objects=",".join(map(str, keep)),
        ),
    )
    names = [p.meta_data["src_name"] for p in _decoded(body)]
    assert names == [cat.table["src_names"][0], cat.table["src_names"][-1]]
    assert body["products"]["analysis_parameters"]["catalog_selected_objects"] == ",".join(map(str, keep))
