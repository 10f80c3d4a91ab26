"""The demo's plugin side without a service: nb2service's captured answers in, the real
dispatcher's captured answers out (meta-data, 400 messages, product lists); the ontology choice."""

from __future__ import annotations

import json
import socket

import pytest
from workflow_helpers import SHARED_ONTOLOGY, capture, shape

from oda_widgets.demo.instruments import DemoError
from oda_widgets.demo.workflows import DEMO_ONTOLOGY, WorkflowInstrument, Workflows
from oda_widgets.demo.workflows import ontology as ontology_module
from oda_widgets.demo.workflows.ontology import ODA, Ontology
from oda_widgets.demo.workflows.products import ProductError, build_products, comment_of

ONTOLOGIES = {"oda": SHARED_ONTOLOGY, "demo": DEMO_ONTOLOGY}
#: Keys of a done answer's products that are not product payloads.
BOOKKEEPING = ("session_id", "job_id", "input_prod_list", "analysis_parameters", "api_code")


class CapturedService:
    """nb2service as captured: only ``/api/v1.0/options``."""

    def options(self):
        return capture("nb2service/nb2w_options.json")


@pytest.fixture(scope="module", params=sorted(ONTOLOGIES))
def instrument(request):
    onto = Ontology(ONTOLOGIES[request.param])
    return WorkflowInstrument("nb2wtest", CapturedService(), lambda: onto)


def test_meta_data_equals_the_real_dispatchers(instrument):
    assert instrument.meta_data() == capture("meta-data.json")
    for product in ("lightcurve", "catalog"):
        assert instrument.meta_data(product) == capture(f"meta-data_{product}.json")
        assert instrument.par_names(product) == capture(f"par-names_{product}.json")


@pytest.mark.parametrize(
    "name, changes",
    [
        ("catalog_nbins_out_of_range", {"n_bins": "5000"}),
        ("catalog_bad_mode", {"mode": "bacon"}),
        ("catalog_energy_out_of_range", {"E1_keV": "5.0"}),
    ],
)
def test_bad_values_get_the_real_dispatchers_message(instrument, name, changes):
    raw = {"instrument": "nb2wtest", "product_type": "catalog", "query_status": "new", **changes}
    with pytest.raises(DemoError) as err:
        instrument.request(raw)
    assert err.value.status == 400
    assert err.value.message == capture(f"run_analysis_{name}_00.json")["error_message"]


def test_request_normalised_like_the_real_dispatcher(instrument):
    sent = {
        "instrument": "nb2wtest",
        "query_type": "Real",
        "off_line": "False",
        "T1": "2022-10-10T00:00:00",
        "T2": "2022-10-10T06:00:00",
        "T_format": "isot",
        "RA": "83.633",
        "DEC": "22.0145",
        "src_name": "Crab",
        "E1_keV": "30.0",
        "E2_keV": "50.0",
        "mode": "accurate",
        "with_background": "False",
        "n_bins": "25",
        "product_type": "lightcurve",
        "query_status": "new",
        "api": "True",
        "session_id": "FPC0L1DK3MY50C0P",
    }
    req = instrument.request(sent)
    assert (
        req.analysis_parameters
        == capture("run_analysis_api_lightcurve_00.json")["products"]["analysis_parameters"]
    )
    assert req.backend_parameters == {
        "T1": "2022-10-10T00:00:00.000",
        "T2": "2022-10-10T06:00:00.000",
        "RA": 83.633,
        "DEC": 22.0145,
        "src_name": "Crab",
        "E1_keV": 30.0,
        "E2_keV": 50.0,
        "mode": "accurate",
        "with_background": False,
        "n_bins": 25,
    }
    assert req.comment == ""
    assert "not used" in instrument.request({**sent, "colour": "red"}).comment


@pytest.mark.parametrize(
    "value, message",
    [
        ("2.5", "Parameter n_bins wrong value 2.5. invalid literal for int() with base 10: '2.5'"),
        ("many", "Parameter n_bins wrong value many. invalid literal for int() with base 10: 'many'"),
    ],
)
def test_integer_messages(instrument, value, message):
    with pytest.raises(DemoError, match=message.replace("(", r"\(").replace(")", r"\)")):
        instrument.request({"instrument": "nb2wtest", "product_type": "catalog", "n_bins": value})


def test_other_messages(instrument):
    base = {"instrument": "nb2wtest", "product_type": "catalog"}
    with pytest.raises(DemoError, match="Wrong value for boolean parameter with_background"):
        instrument.request({**base, "with_background": "perhaps"})
    with pytest.raises(
        DemoError, match="Parameter T1 wrong value yesterday: can't be parsed as Time of isot format"
    ):
        instrument.request({**base, "T1": "yesterday"})
    with pytest.raises(DemoError, match="Non-optional parameter E1_keV is set to None"):
        instrument.request({**base, "E1_keV": None})
    with pytest.raises(DemoError, match=r"product type spectrum not in query_dictionary"):
        instrument.request({**base, "product_type": "spectrum"})
    mjd = instrument.request({**base, "T1": "59862.25", "T_format": "mjd"})
    assert mjd.analysis_parameters["T1"] == "2022-10-10T06:00:00.000"
    assert mjd.analysis_parameters["T_format"] == "isot"


@pytest.mark.parametrize("product, done", [("lightcurve", "run_analysis_api_lightcurve_06.json")])
def test_products_of_captured_outputs_have_the_real_dispatchers_shape(instrument, product, done):
    output = capture("nb2service/nb2w_get_lightcurve_async_3_done.json")["data"]["output"]
    declarations = capture("nb2service/nb2w_options.json")[product]["output"]
    ours = build_products(declarations, output, instrument.ontology)
    real = capture(done)["products"]
    payload_keys = [k for k in real if k not in BOOKKEEPING]
    assert list(ours) == payload_keys
    assert shape(ours) == shape({k: real[k] for k in payload_keys})
    assert ours["prod_uris"] == real["prod_uris"]
    assert ours["numpy_data_product_list"][0]["name"] == "Crab_28-40keV"  # as the notebook named it
    assert comment_of(declarations, output) == "30 bins between 2022-10-10T00:00:00 and 2022-10-10T06:00:00"


def test_table_meta_data_is_encoded_twice_like_the_real_dispatcher(instrument):
    output = capture("nb2service/nb2w_get_catalog_sync.json")["output"]
    declarations = capture("nb2service/nb2w_options.json")["catalog"]["output"]
    ours = build_products(declarations, output, instrument.ontology)
    real = capture("run_analysis_api_catalog_07.json")["products"]
    payload_keys = [k for k in real if k not in BOOKKEEPING]
    assert shape(ours) == shape({k: real[k] for k in payload_keys})
    (table,) = ours["astropy_table_product_ascii_list"]
    assert table["meta_data"] == real["astropy_table_product_ascii_list"][0]["meta_data"] == '"{}"'
    assert table["name"] == "catalog_table"
    assert table["ascii"].startswith("# %ECSV 1.0")
    assert ours["text_product_list"] == [{"name": "summary", "value": output["summary"]}]


def test_wrongly_annotated_output_fails_the_job(instrument):
    declarations = {"thing": {"owl_type": ODA + "NoSuchProduct", "extra_ttl": "\n"}}
    with pytest.raises(ProductError, match=r'The output with name "thing" has been wrongly annotated\.'):
        build_products(declarations, {"thing": "x"}, instrument.ontology)


def test_parameter_terms_as_outputs_become_text_products_with_their_uri(instrument):
    declarations = {"peak": {"owl_type": ODA + "Float", "extra_ttl": "\n"}}
    out = build_products(declarations, {"peak": 2.5}, instrument.ontology)
    assert out["text_product_list"] == [{"name": "peak", "value": 2.5, "meta_data": {"uri": ODA + "Float"}}]
    assert out["prod_uris"] == {"peak": ODA + "Float"}


def test_the_small_ontology_agrees_with_the_oda_ontology_on_the_demo_terms():
    oda, small = Ontology(SHARED_ONTOLOGY), Ontology(DEMO_ONTOLOGY)
    terms = [
        "PointOfInterestRA",
        "PointOfInterestDEC",
        "StartTime",
        "EndTime",
        "AstrophysicalObject",
        "String",
        "Boolean",
        "Integer",
        "Float",
        "AngleDegrees",
        "Energy_keV",
        "TimeIntervalHours",
        "TimeIntervalDays",
    ]
    for t in terms:
        a, b = oda.term(ODA + t), small.term(ODA + t)
        assert (a.datatype, a.unit, a.time_format) == (b.datatype, b.unit, b.time_format), t
    for t in (
        "LightCurve",
        "Image",
        "ODAAstropyTable",
        "ODAPictureProduct",
        "ODATextProduct",
        "ODABinaryProduct",
    ):
        base = ODA + "DataProduct"
        assert (
            oda.term(ODA + t, base=base).hierarchy[0]
            == small.term(ODA + t, base=base).hierarchy[0]
            == ODA + t
        )
    extra = "@prefix oda: <http://odahub.io/ontology#> .\noda:X rdfs:subClassOf oda:Integer ; oda:lower_limit 2 ; oda:upper_limit 9 .\n"
    extra = "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n" + extra
    for onto in (oda, small):
        x = onto.term(ODA + "X", extra)
        assert (x.min_value, x.max_value, x.datatype) == (2, 9, "int")


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/ontology.ttl"


def test_offline_falls_back_to_the_small_ontology_and_says_so(monkeypatch, tmp_path):
    monkeypatch.delenv("ODA_ONTOLOGY_PATH", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(ontology_module, "ODA_ONTOLOGY_URL", _closed_port_url())
    choice = ontology_module.choose_ontology(timeout=2)
    assert choice.source == "demo"
    assert choice.path == DEMO_ONTOLOGY
    assert choice.note.startswith("offline:") and "small ontology" in choice.note


def test_ontology_path_from_the_environment_wins(monkeypatch):
    monkeypatch.setenv("ODA_ONTOLOGY_PATH", str(SHARED_ONTOLOGY))
    choice = ontology_module.choose_ontology()
    assert (choice.path, choice.source) == (SHARED_ONTOLOGY, "env")


def test_without_nb2workflow_the_demo_says_how_to_enable_workflows(monkeypatch):
    import oda_widgets.demo.workflows as workflows

    monkeypatch.setattr(workflows, "nb2workflow_available", lambda: False)
    off = Workflows(None)
    assert len(off) == 0
    assert "pip install 'oda-widgets[workflows]'" in off.note
    with pytest.raises(ModuleNotFoundError, match=r"oda-widgets\[workflows\]"):
        Workflows([workflows.SHIPPED])


def test_a_teachers_folder_is_one_instrument_named_after_it(tmp_path_factory):
    import shutil

    import oda_widgets.demo.workflows as workflows

    # (pytest's tmp_path contains "/test_", which nb2service would refuse)
    folder = tmp_path_factory.mktemp("teacher") / "Variable Stars"
    folder.mkdir()
    shutil.copy(workflows.SHIPPED / "light_curve.ipynb", folder / "cepheid.ipynb")
    shutil.copy(workflows.SHIPPED / "sed.ipynb", folder / "test_sed.ipynb")  # nb2service skips test_*
    w = Workflows([workflows.SHIPPED, folder], reserved=("isgri",))
    assert list(w) == ["optical_photometry", "optical_imaging", "multiwavelength_sed", "variable_stars"]
    assert w["variable_stars"].service.folder == folder.resolve()
    assert len(w.services) == 2
    assert workflows.notebooks_in(folder) == [folder / "cepheid.ipynb"]
    empty = folder.parent / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="no workflow notebooks"):
        Workflows([empty])
    with pytest.raises(ValueError, match="already taken"):
        Workflows([folder], reserved=("variable_stars",))
    json.dumps(w.note)
