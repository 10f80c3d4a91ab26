"""Inputs at the web frontend's level, against real servers: ScW lists and catalogs from files
(the demo and the real dispatcher 1.3.3 accept what we send), share links pasted into a form,
fix buttons, follow-ups that carry only what the target accepts, a resolver that says why."""

from __future__ import annotations

import importlib.util
import json
import warnings
from pathlib import Path

import pytest
from astropy.io import fits
from astropy.table import Table

from oda_widgets import demo
from oda_widgets.catalog import CatalogTable
from oda_widgets.client import Dispatcher, JobState, RetryPolicy, links, protocol
from oda_widgets.errors import (
    DispatcherUnavailable,
    InvalidParameter,
    OdaError,
    RequestNotUnderstood,
    ServerError,
    Unauthorized,
)
from oda_widgets.form import FormModel, QueryForm

_spec = importlib.util.spec_from_file_location(
    "_form_inputs_root_conftest", Path(__file__).resolve().parents[1] / "conftest.py"
)
_root = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_root)

A, B, C = "066500220010.001", "066500230010.001", "066500240010.001"


def real_token(**kw) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyJWT dislikes the short public test secret
        return _root.real_token(**kw)


@pytest.fixture(scope="module")
def server():
    s = demo.start(speed=50.0)
    yield s
    s.stop()


@pytest.fixture
def disp(server):
    return Dispatcher(server.url, token=demo.make_token())


def _upload(control, content: bytes, name: str) -> None:
    """What the browser's FileUpload sends when a file is chosen (its state message, deserialised
    as ipywidgets does)."""
    js = {"name": name, "type": "", "size": len(content), "content": memoryview(content), "last_modified": 0}
    control.upload.set_state({"value": [js]})


# -- ScW lists ---------------------------------------------------------------------------------


def test_a_list_file_fills_scw_list_and_the_demo_runs_it(disp, tmp_path):
    path = tmp_path / "scws.txt"
    path.write_text(f"{A}\n{B}\n{A}\n")
    form = QueryForm(disp, "isgri", "isgri_spectrum", show_job=False)
    assert form.set_scw_list(path) == [A, B]
    assert form.model.note == "2 science windows from scws.txt (1 duplicate removed)"
    control = form.controls["scw_list"]
    assert "2 science windows from scws.txt" in control.summary.value
    job = form.submit()
    job.wait(timeout=120)
    assert job.state is JobState.DONE and job.params["scw_list"] == [A, B]
    assert job.last_response["products"]["input_prod_list"] == [A, B]


def test_the_upload_button_reads_text_csv_and_fits_and_names_bad_lines(disp, tmp_path):
    form = QueryForm(disp, "jemx", "jemx_lc", show_job=False)
    control = form.controls["scw_list"]
    _upload(control, f"SWID,SCW_VER\n{A[:12]},1\n{C[:12]},001\n".encode(), "list.csv")
    assert form.values["scw_list"] == [A, C] and control.upload.value == ()
    fits_path = tmp_path / "idx.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU(Table({"SWID": [B[:12]]}))]).writeto(fits_path)
    _upload(control, fits_path.read_bytes(), "idx.fits")
    assert form.values["scw_list"] == [B] and "version .001 added" in control.summary.value
    _upload(control, f"{A}\nnonsense\n".encode(), "bad.txt")
    assert form.values["scw_list"] == [B]  # nothing changed
    assert "bad.txt: 1 row not read — line 2: 'nonsense'" in control.shown_message
    control.text.value = A  # typing clears it
    assert control.shown_message == "" and form.values["scw_list"] == [A]


def test_the_real_dispatcher_takes_a_list_from_a_file(real_dispatcher, tmp_path):
    # its dummy instrument's input-product list is p_list (an InputProdList like scw_list)
    path = tmp_path / "list.txt"
    path.write_text(f"{A}, {B}\n{C}\n")
    model = FormModel(Dispatcher(real_dispatcher.url, token=real_token()), "empty", "echo")
    model.fields["p_list"].load(path)
    job = model.submit()
    assert job.state is JobState.DONE, job.error
    assert job.last_response["products"]["analysis_parameters"]["p_list"] == [A, B, C]


# -- catalogs from files ----------------------------------------------------------------------


CSV = "name,ra,dec\nGX 339-4,255.7057,-48.7897\nMy source,256.0,-48.0\n"


def test_a_catalog_file_becomes_the_selected_catalog_of_a_demo_spectrum(disp):
    form = QueryForm(disp, "isgri", "isgri_spectrum", show_job=False)
    form.set_values(
        T1="2021-03-01T00:00:00", T2="2021-03-02T00:00:00", RA=255.7057, DEC=-48.7897, max_pointings=5
    )
    _upload(form.controls["selected_catalog"], CSV.encode(), "targets.csv")
    assert form.controls["selected_catalog"].summary.value == "2 sources from targets"
    form.select_product("isgri_lc")  # kept across products
    assert json.loads(form.values["selected_catalog"])["cat_column_list"][1] == ["GX 339-4", "My source"]
    form.select_product("isgri_spectrum")
    spectra = form.submit().wait(timeout=120).spectra
    assert {s.source for s in spectra} >= {"GX 339-4", "My source"}
    with pytest.raises(InvalidParameter, match="no usable name and RA and Dec columns"):
        form.set_user_catalog(b"a,b\n1,2\n", name="points.csv")
    assert "no usable" in form.controls["selected_catalog"].shown_message


def test_the_real_dispatcher_takes_a_catalog_from_a_file(real_dispatcher, tmp_path):
    path = tmp_path / "targets.csv"
    path.write_text(CSV)
    model = FormModel(Dispatcher(real_dispatcher.url, token=real_token()), "empty", "numerical")
    catalog = model.set_user_catalog(path)
    job = model.submit(query_type="Dummy")
    assert job.state is JobState.DONE, job.error
    echoed = job.last_response["products"]["analysis_parameters"]["selected_catalog"]
    assert json.loads(echoed) == json.loads(catalog.to_selected_catalog())


# -- share links in the form ------------------------------------------------------------------


def test_share_link_and_paste_link_round_trip(server, disp):
    form = QueryForm(disp, "isgri", "isgri_lc", show_job=False)
    form.set_values(
        T_format="mjd", T1=57818.5, T2=57819.0, time_bin=300, scw_list=f"{A},{B}", src_name="4U 1700+24"
    )
    link = form.show_share_link()
    assert form.code_view.value == link and link.startswith(server.url + "/?")
    assert "T_format=mjd" in link and "use_scws=form_list" in link and "4U+1700%2B24" in link
    other = QueryForm(disp, "spi_acs", "spi_acs_lc", show_job=False)
    other.show_paste()
    other.code_view.value = link
    other.load_button.click()
    assert other.values == form.values and other.model.note == ""
    # a frontend link for production opens in a demo form too (the keys are what matters)
    other.set_values(FRONTEND_LINK)
    assert other.product == "jemx_lc" and other.values["scw_list"] == ["005100410010.001", "005100420010.001"]


FRONTEND_LINK = json.loads(
    (Path(__file__).parents[1] / "client" / "data" / "frontend_share_links.json").read_text()
)["cases"][3]["link"]


def test_a_pasted_job_link_is_read_at_once_and_its_token_not_kept(server, disp):
    token = demo.make_token()
    job = disp.submit("isgri", "isgri_image", {"src_name": "Cyg X-1", "RA": 299.59, "DEC": 35.2016})
    job.wait(timeout=120)
    form = QueryForm(disp, "jemx", "jemx_image", show_job=False)
    form.show_paste()
    form.code_view.value = links.job_link(server.url, job.job_id, job.session_id, token)
    assert token not in form.code_view.value and "<token>" in form.code_view.value
    assert form.product == "isgri_image" and form.values["src_name"] == "Cyg X-1"


# -- fix buttons ------------------------------------------------------------------------------


def test_a_refused_time_bin_offers_its_fix_and_the_click_fixes_it(disp):
    form = QueryForm(disp, "spi_acs", "spi_acs_lc", show_job=False)
    control = form.controls["time_bin"]
    control.text.value = "0.12"
    assert form.submit_button.disabled and control.fixes == (0.1, 0.15)
    buttons = control._fix_box.children
    assert [b.description for b in buttons] == ["Use 0.1", "Use 0.15"]
    buttons[1].click()
    assert form.values["time_bin"] == 0.15 and not form.submit_button.disabled
    assert control.fixes == () and control.shown_message == ""


# -- follow-ups carry only what the target accepts --------------------------------------------


def test_follow_ups_send_only_what_the_product_accepts(disp):
    image = disp.submit("isgri", "isgri_image", {"E1_keV": 25.0, "E2_keV": 80.0})
    products = image.wait(timeout=120)
    ap = image.last_response["products"]["analysis_parameters"]
    assert {"detection_threshold", "image_scale_min", "image_scale_max"} <= set(ap)
    table = CatalogTable(products, dispatcher=disp)
    job = table.spectrum_for_selected()
    assert not {"detection_threshold", "image_scale_min", "image_scale_max"} & set(job.params)
    assert "not used" not in job.comment
    job.wait(timeout=120)
    assert "not used" not in job.comment
    lc = table.light_curves_for_selected(submit=False)
    assert "time_bin" not in lc.params and lc.params["T_format"] == "isot"
    # legacy dispatchers leave companions out of par-names: they still go with their parameter
    kept = protocol.accepted_parameters({"T1": 1, "T_format": "mjd", "x": 2}, ["T1"])
    assert kept == {"T1": 1, "T_format": "mjd"}


# -- the resolver says why ---------------------------------------------------------------------


def test_an_unknown_name_is_said_so_and_the_old_position_is_not_left_silently(disp):
    model = FormModel(disp, "isgri", "isgri_image")
    model.resolve("Crab")
    ra, dec = model.values["RA"], model.values["DEC"]
    with pytest.raises(RequestNotUnderstood) as err:
        model.resolve("No Such Source 12345")
    message = str(err.value)
    assert message.startswith("'No Such Source 12345' was not resolved: the resolver does not know this name")
    assert f"RA {ra!r} and DEC {dec!r} are unchanged: they are not No Such Source 12345's position" in message
    assert model.errors["src_name"] == message and model.note == message and model.note_is_error
    model.fields["RA"].set_input("10")  # typing a position clears it
    assert "src_name" not in model.errors and model.note == ""


def test_a_dispatcher_without_resolver_and_an_unreachable_one():
    with demo.start(resolver=False) as bare:
        model = FormModel(Dispatcher(bare.url, token=""), "isgri", "isgri_image")
        with pytest.raises(OdaError) as err:
            model.resolve("Crab")
        assert "this dispatcher has no name resolver; type RA and DEC yourself" in str(err.value)
        model.fields["DEC"].set_input("-20")
        assert model.note == "" and "src_name" not in model.errors
        gone = Dispatcher(bare.url, token="", retries=RetryPolicy(max_tries=1))
    model = FormModel(gone, "isgri", "isgri_image", description=model.description)
    with pytest.raises(DispatcherUnavailable) as err:
        model.resolve("Crab")
    assert "'Crab' was not resolved: the network" in str(err.value) and "unreachable" in str(err.value)


def test_the_real_dispatchers_resolver_needs_a_role_and_then_fails(real_dispatcher):
    model = FormModel(Dispatcher(real_dispatcher.url, token=real_token()), "empty", "numerical")
    with pytest.raises(Unauthorized) as err:
        model.resolve("Crab")
    assert "this dispatcher keeps its resolver for some users" in str(err.value)
    gallery = Dispatcher(real_dispatcher.url, token=real_token(roles="general, gallery contributor"))
    model = FormModel(gallery, "empty", "numerical", description=model.description)
    with pytest.raises(ServerError) as err:
        model.resolve("Crab")
    assert "the dispatcher's resolver failed" in str(err.value)
