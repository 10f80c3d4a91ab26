"""The Explorer driven through its Python methods (every button has one), on real demo servers."""

from __future__ import annotations

import pytest
from astropy.io import fits
from astropy.time import Time

from oda_widgets.client import JobState
from oda_widgets.demo import make_token
from oda_widgets.errors import OdaError


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    # the job board's resume store and saved products go to this test's folder, not $HOME
    monkeypatch.setenv("ODA_WIDGETS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("ODA_TOKEN", raising=False)
    monkeypatch.delenv("ODA_DISPATCHER_URL", raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def explorer(demo_dispatcher):
    from oda_widgets.explorer import Explorer

    ex = Explorer(demo_dispatcher, token="")
    yield ex
    ex.close()


def test_without_url_the_demo_dispatcher_starts_and_the_widget_says_so(monkeypatch, tmp_path):
    from oda_widgets.explorer import Explorer

    # a user's real token must not be sent to the demo
    monkeypatch.setenv("ODA_TOKEN", make_token(email="someone@real.example"))
    ex = Explorer(demo_speed=20)
    try:
        assert ex.dispatcher.token is None
        assert ex.demo_server is not None and ex.dispatcher.url == ex.demo_server.url
        assert "Demo dispatcher" in ex.banner.value and ex.demo_server.url in ex.banner.value
        assert "isgri" in ex.form.instrument_picker.options
        assert ex.board.store is None  # demo jobs die with the kernel: not remembered
        ex.form.select("spi_acs", "spi_acs_lc")
        assert ex.wait(ex.submit(), timeout=60).first("light_curves") is not None
        assert ex.form.job_view is None                       # followed once, on the board
        assert not list((tmp_path / "cache").glob("**/jobs.json"))  # nothing in the resume store
    finally:
        ex.close()
    assert "stopped" in repr(ex.demo_server)


def test_env_url_is_used_and_no_demo_started(demo_dispatcher, monkeypatch):
    from oda_widgets.explorer import Explorer

    monkeypatch.setenv("ODA_DISPATCHER_URL", demo_dispatcher)
    ex = Explorer(token="")
    try:
        assert ex.demo_server is None and ex.dispatcher.url == demo_dispatcher
        assert "Demo dispatcher" not in ex.banner.value and "public data only" in ex.banner.value
        assert ex.board.store is not None  # a real dispatcher's jobs can be resumed later
    finally:
        ex.close()


def test_image_then_spectrum_of_selected_sources(explorer, tmp_path):
    from oda_widgets.catalog import CatalogTable
    from oda_widgets.mosaic import MosaicView
    from oda_widgets.spectrum import SpectrumView

    explorer.form.select("isgri", "isgri_image")
    explorer.form.set_values(max_pointings=10)
    job = explorer.submit()
    assert explorer.board.jobs == [job] and explorer.job is job
    view = explorer.wait(job, timeout=120)
    assert job.state is JobState.DONE
    assert isinstance(view.first("mosaic"), MosaicView)
    table = view.first("catalog")
    assert isinstance(table, CatalogTable) and explorer.results_area.children == (view,)

    # the slider/NEW filter, then the follow-up on the selected sources
    table.set_min_significance(8).exclude_new(True)
    chosen = [str(n) for n in table.selected["src_names"]]
    assert chosen and not any("NEW" in n for n in chosen)
    spec_job = explorer.spectrum_for_selected()
    assert spec_job in explorer.board.jobs and explorer.job is spec_job
    assert spec_job.params["max_pointings"] == 10  # the image's selection of pointings carried over
    spec_view = explorer.wait(spec_job, timeout=120)
    spectrum = spec_view.first("spectra")
    assert isinstance(spectrum, SpectrumView)
    assert {s.source for s in spectrum.spectra} >= set(chosen)
    assert explorer.results_area.children == (spec_view,) and explorer.shown_job is spec_job
    # picking the image job in the bar shows its (same) view again
    explorer.job_picker.value = job
    assert explorer.results_area.children == (view,) and explorer.shown_job is job

    # save all products of the spectrum job: FITS files that astropy reads back
    paths = explorer.save_products(job=spec_job)
    assert paths and all(p.exists() for p in paths)
    with fits.open(paths[0]) as hdul:
        assert len(hdul) >= 2
    assert "Saved" in explorer.message.value


def test_api_code_of_a_job_never_contains_the_token(demo_dispatcher):
    from oda_widgets.explorer import Explorer

    token = make_token()
    ex = Explorer(demo_dispatcher, token=token)
    try:
        ex.form.select("spi_acs", "spi_acs_lc")
        ex.form.set_values(T1="2022-10-09T13:16:00", T2="2022-10-09T13:26:00")
        job = ex.submit()
        code = ex.show_api_code(job)
        assert token not in code and token not in ex.code_view.value
        assert "os.environ['ODA_TOKEN']" in code
        assert '"product": "spi_acs_lc"' in code and "2022-10-09T13:16:00" in code
        ex.wait(job, timeout=120)
        assert token not in repr(ex) and token not in ex.banner.value
    finally:
        ex.close()


def test_light_curve_brush_sets_t1_t2_in_the_form(explorer):
    explorer.form.select("spi_acs", "spi_acs_lc")
    explorer.form.set_values(T1="2022-10-09T13:16:00", T2="2022-10-09T13:26:00")
    view = explorer.wait(explorer.submit(), timeout=120)
    lc = view.first("light_curves")
    start, stop = Time("2022-10-09T13:17:00", scale="utc"), Time("2022-10-09T13:18:30", scale="utc")
    lc.select_interval(start, stop)
    interval = explorer.use_interval_as_t1_t2()
    assert abs((interval[0] - start).sec) < 1 and abs((interval[1] - stop).sec) < 1
    values = explorer.form.values
    assert values["T1"].startswith("2022-10-09T13:17:0") and values["T2"].startswith("2022-10-09T13:18:3")


def test_buttons_report_errors_in_the_widget(explorer):
    explorer.results_button.click()  # no job yet
    assert "No job yet" in explorer.message.value
    with pytest.raises(OdaError, match="No results with an image"):
        explorer.spectrum_for_selected()


@pytest.mark.real_dispatcher
def test_explorer_on_the_real_dispatcher(real_dispatcher):
    """A URL means that dispatcher: the real cdci-data-analysis 1.3.3, its dummy 'numerical' product."""
    import time

    import jwt

    from oda_widgets.explorer import Explorer

    # signed with the test dispatcher's public secret (tests/conftest.py, REAL_DISPATCHER.md)
    token = jwt.encode({"sub": "tester@example.org", "email": "tester@example.org", "roles": "general",
                        "exp": int(time.time()) + 3600}, "secretkey_test", algorithm="HS256")
    ex = Explorer(real_dispatcher.url, token=token, instrument="empty", product="numerical")
    try:
        assert ex.demo_server is None
        assert "tester@example.org" in ex.banner.value and "Demo dispatcher" not in ex.banner.value
        job = ex.submit(query_type="Dummy")
        view = ex.wait(job, timeout=120)
        assert job.state is JobState.DONE
        summary = " ".join(w.value for w in view.views["other"])
        assert "<b>numerical_0</b>" in summary and "100×100 float64" in summary, summary
        code = ex.api_code(job)
        assert token not in code and '"product": "numerical"' in code and '"product_type": "Dummy"' in code
    finally:
        ex.close()


def test_light_curves_of_selected_sources(explorer):
    from oda_widgets.light_curve import LightCurveView

    explorer.form.select("isgri", "isgri_image")
    image = explorer.wait(explorer.submit(), timeout=120)
    table = image.first("catalog")
    table.set_min_significance(0).exclude_new(False).search("NEW")
    assert [str(n) for n in table.selected["src_names"]] == ["NEW_1"]
    lc_job = explorer.light_curves_for_selected()
    assert lc_job.product == "isgri_lc" and explorer.board.jobs[-1] is lc_job
    view = explorer.wait(lc_job, timeout=120)
    lc = view.first("light_curves")
    assert isinstance(lc, LightCurveView) and lc.sources == ["NEW_1"]


def test_a_failed_job_is_explained_in_the_widget(explorer):
    from oda_widgets.errors import AnalysisFailed

    explorer.form.select("isgri", "isgri_image")
    explorer.form.set_values(src_name="FAIL_BACKEND")
    job = explorer.submit()
    with pytest.raises(AnalysisFailed):
        explorer.wait(job, timeout=120)
    assert job.state is JobState.FAILED
    explorer.results_button.click()  # "Show results" of the picked (failed) job
    assert explorer.results_area.children == ()
    import html

    assert "color:#c62828" in explorer.message.value
    assert html.escape(str(job.error))[:40] in explorer.message.value


def test_no_widget_state_contains_the_token(demo_dispatcher):
    """Everything a saved notebook would store (every live widget's state) is free of the token."""
    import json

    from ipywidgets.widgets.widget import _instances

    from oda_widgets.explorer import Explorer

    token = make_token(email="careful@example.org")
    ex = Explorer(demo_dispatcher, token=token, instrument="isgri", product="isgri_image")
    try:
        image = ex.wait(ex.submit(), timeout=120)
        image.first("catalog").set_min_significance(10)
        ex.wait(ex.spectrum_for_selected(), timeout=120)
        ex.show_api_code()
        ex.save_products("saved")
        states = [w.get_state() for w in list(_instances.values())]
        text = json.dumps(states, default=lambda o: "<binary>" if isinstance(o, (bytes, memoryview)) else str(o))
        assert "careful@example.org" in ex.banner.value  # the token was really in use
        assert token not in text
        assert token.split(".")[1] not in text  # not even its payload part
    finally:
        ex.close()


def test_jemx_image_then_light_curves_of_selected_sources(explorer):
    """The same flow on JEM-X: its own band and unit travel to the follow-up query."""
    from oda_widgets.light_curve import LightCurveView
    from oda_widgets.mosaic import MosaicView

    explorer.form.select("jemx", "jemx_image")
    explorer.form.set_values(jemx_num=1, E1_keV=3.0, E2_keV=20.0)
    job = explorer.submit()
    image = explorer.wait(job, timeout=120)
    assert job.state is JobState.DONE and job.params["jemx_num"] == 1
    assert isinstance(image.first("mosaic"), MosaicView)
    table = image.first("catalog")
    table.set_min_significance(0).exclude_new(True)
    chosen = [str(n) for n in table.selected["src_names"]]
    assert chosen
    lc_job = explorer.light_curves_for_selected()
    assert lc_job.instrument == "jemx" and lc_job.product == "jemx_lc"
    assert lc_job.params["jemx_num"] == 1 and (lc_job.params["E1_keV"], lc_job.params["E2_keV"]) == (3.0, 20.0)
    view = explorer.wait(lc_job, timeout=120)
    lc = view.first("light_curves")
    assert isinstance(lc, LightCurveView) and set(lc.sources) >= set(chosen)
