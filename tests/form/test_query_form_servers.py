"""QueryForm against real servers: the real dispatcher 1.3.3 (legacy meta-data) and the demo."""

import json

import pytest
from peers import real_token

from oda_widgets import demo
from oda_widgets.client import Dispatcher, JobState
from oda_widgets.errors import AnalysisFailed, RequestNotUnderstood
from oda_widgets.form import QueryForm


@pytest.fixture
def real_form(real_dispatcher):
    return QueryForm(Dispatcher(real_dispatcher.url, token=real_token()), "empty", "numerical")


def test_real_dispatcher_every_product_builds_and_round_trips(real_dispatcher):
    form = QueryForm(real_dispatcher.url)
    assert set(form.instrument_picker.options) >= {"empty", "empty-async", "empty-semi-async"}
    for instrument in form.instrument_picker.options:
        form.instrument_picker.value = instrument
        desc = form.description
        assert desc.legacy and desc.instrument == instrument
        for product in desc.described_products:
            form.product_picker.value = product
            assert list(form.controls) == desc.product(product).names
            values = form.values
            assert (values.pop("instrument"), values.pop("product_type")) == (instrument, product)
            assert values == desc.product(product).defaults()


def test_real_dispatcher_submit_numerical_dummy_and_real(real_form):
    job = real_form.submit(query_type="Dummy")
    assert job.state == JobState.DONE and real_form.job is job
    assert real_form.job_area.children  # the JobStatus view below the form
    real_form.set_values(p=7.5)
    job = real_form.submit(query_type="Dummy")
    assert job.state == JobState.DONE and job.params["p"] == 7.5
    sent = job.last_response["products"]["analysis_parameters"]
    assert sent["p"] == 7.5 and sent["T_format"] == "isot" and sent["p_list"] == []
    # the dummy plugin has no real backend: a Real request fails, and the job says so
    job = real_form.submit()
    assert job.state == JobState.FAILED and isinstance(job.error, AnalysisFailed)


def test_real_dispatcher_refusal_is_shown_at_its_field(real_form):
    real_form.set_values(p=900)  # the form knows no limit for p; the server does
    assert not real_form.errors and not real_form.submit_button.disabled
    with pytest.raises(RequestNotUnderstood) as err:
        real_form.submit()
    assert err.value.parameter == "p"
    assert "restricted to 800 W" in real_form.controls["p"].shown_message
    assert real_form.errors == {"p": str(err.value)}
    # the button does the same without raising; the message also lands in the note
    real_form.submit_button.click()
    assert "restricted to 800 W" in real_form.note.value
    real_form.controls["p"].text.value = "20"  # editing clears the server's message
    assert real_form.controls["p"].shown_message == "" and not real_form.errors


@pytest.fixture
def demo_form(demo_dispatcher):
    return QueryForm(Dispatcher(demo_dispatcher, token=demo.make_token()))


def test_demo_every_product_round_trips(demo_form):
    # INTEGRAL first, then the workflow instruments (when nb2workflow is installed)
    assert list(demo_form.instrument_picker.options)[:3] == ["isgri", "jemx", "spi_acs"]
    for instrument in ("isgri", "jemx", "spi_acs"):
        demo_form.select(instrument)
        for product in demo_form.description.described_products:
            demo_form.select_product(product)
            values = demo_form.values
            del values["instrument"], values["product_type"]
            assert values == demo_form.description.product(product).defaults()
            assert demo_form.api_code().count("os.environ['ODA_TOKEN']") == 1


def test_demo_default_dispatcher_url(demo_dispatcher):
    form = QueryForm(demo_dispatcher, "jemx", "jemx_lc")
    assert form.values["E1_keV"] == 3.0 and form.values["jemx_num"] == 2


def test_demo_resolve_fills_ra_dec(demo_form):
    coord = demo_form.resolve("Crab")
    v = demo_form.values
    assert v["src_name"] == "Crab"
    assert v["RA"] == pytest.approx(coord.ra.deg) and v["RA"] == pytest.approx(83.633, abs=0.01)
    assert v["DEC"] == pytest.approx(22.0145, abs=0.01)
    with pytest.raises(RequestNotUnderstood):
        demo_form.resolve("No Such Source 12345")
    assert demo_form.controls["src_name"].shown_message
    demo_form.resolve_button.click()  # the button path: src_name is still the bad name
    assert demo_form.note.value


def test_demo_submit_and_wait(demo_form):
    demo_form.select("isgri", "isgri_spectrum")
    demo_form.set_values(E1_keV=25, E2_keV=80, scw_list="066500220010.001,066500230010.001")
    job = demo_form.submit()
    products = job.wait(timeout=120)
    assert job.state == JobState.DONE and len(list(products.items())) > 0
    assert job.params["scw_list"] == ["066500220010.001", "066500230010.001"]


def test_demo_server_refusal_named_by_value(demo_form):
    demo_form.set_values(osa_version="OSA11.0")
    with pytest.raises(RequestNotUnderstood):
        demo_form.submit()
    assert "OSA11.0" in demo_form.controls["osa_version"].shown_message
    assert "osa_version" in demo_form.errors


def test_no_dispatcher_means_the_demo():
    form = QueryForm(instrument="spi_acs")
    assert form.product == "spi_acs_lc"
    assert form.dispatcher.url.startswith("http://127.0.0.1:")
    assert form.values["time_bin_format"] == "sec"
    assert "selected_catalog" not in form.values


def test_remembered_values_come_back(demo_dispatcher, tmp_path):
    store = tmp_path / "last.json"
    disp = Dispatcher(demo_dispatcher, token=demo.make_token())
    form = QueryForm(disp, "jemx", "jemx_spectrum", remember=store)
    form.set_values(E1_keV=5, E2_keV=25, jemx_num=1, src_name="Crab")
    form.submit()
    saved = json.loads(store.read_text())["jemx/jemx_spectrum"]
    assert saved["E1_keV"] == 5.0 and "token" not in saved and "selected_catalog" not in saved
    again = QueryForm(disp, "jemx", "jemx_spectrum", remember=store)
    v = again.values
    assert (v["E1_keV"], v["E2_keV"], v["jemx_num"], v["src_name"]) == (5.0, 25.0, 1, "Crab")
    fresh = QueryForm(disp, "jemx", "jemx_spectrum")  # off unless asked
    assert fresh.values["E1_keV"] == 3.0
    other = QueryForm(disp, "jemx", "jemx_lc", remember=store)  # another product: its defaults
    assert other.values["E1_keV"] == 3.0


def test_values_that_cannot_be_remembered_do_not_undo_the_submission(demo_dispatcher, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")  # a file where the folder should be: mkdir fails
    disp = Dispatcher(demo_dispatcher, token=demo.make_token())
    form = QueryForm(disp, "jemx", "jemx_lc", remember=blocker / "last.json", show_job=False)
    job = form.submit()
    assert job.job_id and form.job is job
    assert "Submitted jemx/jemx_lc" in form.note.value and "Could not remember" in form.note.value


def test_refused_instrument_keeps_the_current_one(demo_form):
    demo_form.instrument_picker.options = [*demo_form.instrument_picker.options, "nope"]
    demo_form.select("jemx", "jemx_image")
    demo_form.instrument_picker.value = "nope"  # like picking it in the browser
    assert demo_form.instrument == "jemx" and demo_form.instrument_picker.value == "jemx"
    assert "nope" in demo_form.note.value and demo_form.product == "jemx_image"
