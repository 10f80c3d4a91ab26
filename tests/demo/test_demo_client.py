"""Our client (oda_widgets.client.Dispatcher) against the demo dispatcher, for every product."""

from __future__ import annotations

import pytest
from astropy import units as u

from oda_widgets import demo
from oda_widgets.client import Dispatcher
from oda_widgets.errors import AnalysisFailed, RequestNotUnderstood, TokenExpired, Unauthorized

WINDOW = {"T1": "2017-03-06T00:00:00", "T2": "2017-03-08T00:00:00", "max_pointings": 4}


@pytest.fixture
def dispatcher(demo_dispatcher):
    return Dispatcher(demo_dispatcher, token=demo.make_token(email="client@example.org"))


def test_discovery(dispatcher):
    assert dispatcher.instruments()[:3] == ["isgri", "jemx", "spi_acs"]
    desc = dispatcher.description("isgri")
    assert set(desc.products) == {"isgri_image", "isgri_spectrum", "isgri_lc"}
    lc = desc.product("isgri_lc")
    assert lc.parameter("time_bin").format_name == "time_bin_format"
    assert lc.defaults()["E1_keV"] == 20.0
    assert None in dispatcher.par_names("spi_acs", "spi_acs_lc")
    crab = dispatcher.resolve("Crab")
    assert crab.ra.deg == pytest.approx(83.633, abs=1e-3)
    with pytest.raises(RequestNotUnderstood):
        dispatcher.resolve("no such source")


def test_legacy_meta_data_parses_the_same():
    with demo.start(legacy_meta_data=True) as legacy, demo.start() as modern:
        a = Dispatcher(legacy.url).description("jemx").product("jemx_lc")
        b = Dispatcher(modern.url).description("jemx").product("jemx_lc")
        assert [p.name for p in a.parameters] == [p.name for p in b.parameters]
        assert a.defaults()["E2_keV"] == b.defaults()["E2_keV"] == 20.0


def test_isgri_image(dispatcher):
    result = dispatcher.submit("isgri", "isgri_image", WINDOW).wait(timeout=60)
    mosaic = result.mosaic
    assert set(mosaic.images) == {"INTENSITY", "VARIANCE", "SIGNIFICANCE", "EXPOSURE"}
    assert mosaic.wcs.wcs.ctype[0] == "RA---TAN"
    names = list(result.catalog.table["src_names"])
    assert "NEW_1" in names and "1E 1740.7-2942" in names
    assert len(result.input_prod_list) == 4


def test_isgri_spectrum_from_filtered_catalog(dispatcher):
    image = dispatcher.submit("isgri", "isgri_image", WINDOW).wait(timeout=60)
    chosen = image.catalog.filter(min_significance=15, exclude_new=True)
    assert 0 < len(chosen) < len(image.catalog)
    result = dispatcher.submit("isgri", "isgri_spectrum", dict(WINDOW, selected_catalog=chosen)).wait(
        timeout=60
    )
    sources = [s.source for s in result.spectra]
    assert sources == [*list(chosen.table["src_names"]), "Background"]
    spec = result.spectra[0]
    assert spec.energy_low.unit == u.keV and spec.rmf is not None and spec.arf is not None


@pytest.mark.parametrize(
    "instrument,product,extra",
    [
        ("isgri", "isgri_lc", {"time_bin": 600}),
        ("jemx", "jemx_lc", {"time_bin": 600, "jemx_num": 1}),
        (
            "spi_acs",
            "spi_acs_lc",
            {"T1": "2022-10-09T13:15:00", "T2": "2022-10-09T13:20:00", "time_bin": 0.5},
        ),
    ],
)
def test_light_curves(dispatcher, instrument, product, extra):
    result = dispatcher.submit(instrument, product, dict(WINDOW, **extra)).wait(timeout=60)
    lcs = result.light_curves
    assert lcs
    for lc in lcs:
        assert len(lc.time) == len(lc.rate) > 0
        assert lc.rate.unit == u.ct / u.s
    if instrument == "spi_acs":
        assert lcs[0].time_zero is not None and lcs[0].timedel[0].to_value(u.s) == pytest.approx(0.5)


@pytest.mark.parametrize("product", ["jemx_image", "jemx_spectrum"])
def test_jemx_image_and_spectrum(dispatcher, product):
    result = dispatcher.submit("jemx", product, dict(WINDOW, jemx_num=2)).wait(timeout=60)
    if product == "jemx_image":
        assert result.mosaic is not None and result.catalog is not None
    else:
        assert result.spectra and all(s.rmf is not None for s in result.spectra)


def test_errors_are_typed(dispatcher, demo_dispatcher):
    with pytest.raises(RequestNotUnderstood):
        dispatcher.submit("isgri", "isgri_image", {"E1_keV": 5})
    with pytest.raises(Unauthorized):
        dispatcher.submit("isgri", "isgri_image", {"integral_data_rights": "all-private"})
    with pytest.raises(TokenExpired):
        Dispatcher(demo_dispatcher, token=demo.make_token(expired=True)).run_analysis(
            {"instrument": "isgri", "product_type": "isgri_image", "query_status": "new"}
        )
    job = dispatcher.submit("isgri", "isgri_image", dict(WINDOW, src_name="FAIL_BACKEND"))
    with pytest.raises(AnalysisFailed):
        job.wait(timeout=60)
