"""The demo dispatcher against the real dispatcher's captured shapes (PROTOCOL §1-4)."""

from __future__ import annotations

import json

import jwt
import pytest
import requests
from demo_helpers import capture, run

from oda_widgets import demo
from oda_widgets.client.encoding import NUL


@pytest.fixture(scope="module")
def legacy_server():
    with demo.start(speed=20.0, legacy_meta_data=True) as server:
        yield server.url


def test_instr_list_and_redirect_keeping_query(demo_dispatcher):
    assert requests.get(f"{demo_dispatcher}/instr-list", timeout=10).json()[:3] == [
        "isgri",
        "jemx",
        "spi_acs",
    ]
    r = requests.get(f"{demo_dispatcher}/api/instr-list?instrument=mock", allow_redirects=False, timeout=10)
    assert r.status_code == 302
    # relative: a Host header is never echoed into it (tests/demo/test_demo_hostile.py)
    assert r.headers["Location"] == "/instr-list?instrument=mock"
    assert "Redirecting..." in r.text
    followed = requests.get(f"{demo_dispatcher}/api/instr-list", timeout=10)
    assert followed.json()[:3] == ["isgri", "jemx", "spi_acs"]


@pytest.mark.parametrize(
    "instrument,products",
    [
        ("isgri", ["isgri_image", "isgri_spectrum", "isgri_lc"]),
        ("jemx", ["jemx_image", "jemx_spectrum", "jemx_lc"]),
        ("spi_acs", ["spi_acs_lc"]),
    ],
)
def test_meta_data_modern_shape(demo_dispatcher, instrument, products):
    body = requests.get(
        f"{demo_dispatcher}/api/meta-data", params={"instrument": instrument}, timeout=10
    ).json()
    ref = capture("meta-data_instrument-empty_product-numerical.json", "modern-1.3.6-annotated")
    assert len(body) == 1 and isinstance(body[0], list)
    desc = body[0]
    assert desc[0] == {"instrumet": instrument}
    assert list(desc[1]["prod_dict"]) == products
    assert len(desc) == 4 + len(products)
    # the source block is the real one, entry for entry
    assert desc[2] == ref[0][2]
    allowed_keys = {"name", "units", "value", "restrictions", "owl_uri"}
    for block in desc[3:]:
        assert isinstance(block, list) and "query_name" in block[0]
        for entry in block[1:]:
            if "product_name" in entry:
                continue
            assert set(entry) <= allowed_keys
            if entry["name"] not in ("T_format", "time_bin_format"):
                assert "is_optional" in entry["restrictions"]
    for block, product in zip(desc[4:], products):
        assert block[1] == {"product_name": product}
    filtered = requests.get(
        f"{demo_dispatcher}/meta-data",
        params={"instrument": instrument, "product_type": products[-1]},
        timeout=10,
    ).json()
    assert len(filtered[0]) == 5 and filtered[0][4][1] == {"product_name": products[-1]}


def test_meta_data_parameters_defaults_and_companions(demo_dispatcher):
    desc = requests.get(
        f"{demo_dispatcher}/api/meta-data",
        params={"instrument": "isgri", "product_type": "isgri_lc"},
        timeout=10,
    ).json()[0]
    entries = {e["name"]: e for block in desc[2:] for e in block[1:] if "name" in e}
    assert entries["E1_keV"]["value"] == 20.0 and entries["E1_keV"]["units"] == "keV"
    assert entries["radius"]["value"] == 15.0
    assert entries["osa_version"]["value"] == "OSA11.2"
    assert entries["integral_data_rights"]["restrictions"]["allowed_values"] == ["public", "all-private"]
    assert entries["time_bin"] == {
        "name": "time_bin",
        "units": "sec",
        "value": 1000.0,
        "restrictions": {"is_optional": False},
        "owl_uri": ["http://odahub.io/ontology#TimeDeltaIsDeprecated"],
    }
    names = [e.get("name") for e in desc[4][1:]]
    assert names[names.index("time_bin") + 1] == "time_bin_format"
    assert entries["time_bin_format"] == {"name": "time_bin_format", "units": "str", "value": "sec"}
    jemx = requests.get(f"{demo_dispatcher}/api/meta-data", params={"instrument": "jemx"}, timeout=10).json()[
        0
    ]
    jentries = {e["name"]: e for block in jemx[2:] for e in block[1:] if "name" in e}
    assert (jentries["E1_keV"]["value"], jentries["E2_keV"]["value"], jentries["radius"]["value"]) == (
        3.0,
        20.0,
        4.0,
    )
    assert jentries["jemx_num"]["value"] == 2


def test_meta_data_legacy_form(legacy_server):
    body = requests.get(
        f"{legacy_server}/api/meta-data",
        params={"instrument": "isgri", "product_type": "isgri_image"},
        timeout=10,
    ).json()
    ref = capture("meta-data_empty_numerical.json", "pypi-1.3.3")
    desc = body[0]
    assert [type(x) for x in desc] == [dict, dict, str, str, str]
    src = json.loads(desc[2])
    assert src == json.loads(ref[0][2])
    for block in desc[2:]:
        for entry in json.loads(block)[1:]:
            assert "restrictions" not in entry and "owl_uri" not in entry
    names = requests.get(
        f"{legacy_server}/api/par-names",
        params={"instrument": "isgri", "product_type": "isgri_image"},
        timeout=10,
    ).json()
    assert "T_format" not in names and names[:5] == ["src_name", "RA", "DEC", "T1", "T2"]


def test_par_names_match_the_recorded_lists(demo_dispatcher):
    def get(i, p):
        return requests.get(
            f"{demo_dispatcher}/api/par-names",
            params={"instrument": i, "product_type": p},
            timeout=10,
        ).json()

    assert get("isgri", "isgri_image") == [
        "src_name",
        "RA",
        "DEC",
        "T1",
        "T_format",
        "T2",
        "token",
        "scw_list",
        "selected_catalog",
        "radius",
        "max_pointings",
        "osa_version",
        "integral_data_rights",
        "E1_keV",
        "E2_keV",
        "detection_threshold",
        "image_scale_min",
        "image_scale_max",
    ]
    assert get("spi_acs", "spi_acs_lc") == [
        "src_name",
        "RA",
        "DEC",
        "T1",
        "T_format",
        "T2",
        "token",
        None,
        "selected_catalog",
        "data_level",
        "time_bin",
        "time_bin_format",
    ]


@pytest.mark.parametrize("path", ["/api/meta-data", "/api/par-names"])
def test_unknown_product_is_flask_html_500_like_the_real_server(demo_dispatcher, path):
    r = requests.get(
        f"{demo_dispatcher}{path}", params={"instrument": "isgri", "product_type": "nonexistent"}, timeout=10
    )
    assert r.status_code == 500
    assert r.headers["Content-Type"].startswith("text/html")
    assert r.text.strip() == capture("meta-data_empty_nonexistent.txt").strip()


def _assert_api_error(
    r, status: int, kind: str, message: str | None = None, ref: str = "run_analysis_noparams.json"
):
    assert r.status_code == status, r.text[:300]
    body = r.json()
    expected_keys = set(capture(ref)) | ({"debug_message"} if status == 403 else set())
    assert set(body) == expected_keys
    assert body["error"].startswith(f"{kind}():")
    assert body["cdci_data_analysis_version"] == "1.3.6"
    if message is not None:
        assert body["error_message"] == message
    return body


def test_api_errors_for_instrument(demo_dispatcher):
    r = requests.get(f"{demo_dispatcher}/api/meta-data", timeout=10)
    _assert_api_error(r, 400, "NoInstrumentSpecified", "have parameters: ['session_id'] ")
    r = requests.get(f"{demo_dispatcher}/run_analysis", timeout=10)
    _assert_api_error(r, 400, "NoInstrumentSpecified", "have parameters: ['session_id'] ")
    r = requests.get(f"{demo_dispatcher}/api/meta-data", params={"instrument": "nope"}, timeout=10)
    known = requests.get(f"{demo_dispatcher}/instr-list", timeout=10).json()
    _assert_api_error(r, 400, "InstrumentNotRecognized", f'instrument: "nope", known: {known!r}')
    r = run(demo_dispatcher, instrument="isgri", product_type="nonexistent")
    body = _assert_api_error(r, 400, "RequestNotUnderstood")
    assert body["error_message"].startswith(
        "[ InstrumentQueryBackEnd : isgri ] constructor failed: "
        "product type nonexistent not in query_dictionary"
    )


@pytest.mark.parametrize(
    "params,message",
    [
        ({"E1_keV": 10}, "ISGRI energy range is restricted to 15 - 800 keV"),
        ({"E2_keV": 900}, "ISGRI energy range is restricted to 15 - 800 keV"),
        ({"E1_keV": "abc"}, "Parameter E1_keV wrong value abc. could not convert string to float: 'abc'"),
        (
            {"max_pointings": "10.5"},
            "Parameter max_pointings wrong value 10.5. invalid literal for int() with base 10: '10.5'",
        ),
        (
            {"integral_data_rights": "mine"},
            "Parameter integral_data_rights wrong value mine: not in allowed ('public', 'all-private')",
        ),
        (
            {"osa_version": "OSA11.1"},
            "Please note OSA11.1 is being phased out. We consider that for all or almost "
            "all likely user requests OSA11.2 shoud be used instead of OSA11.1.",
        ),
        ({"RA": NUL}, "Non-optional parameter RA is set to None"),
    ],
)
def test_bad_values_are_400_with_the_real_messages(demo_dispatcher, params, message):
    r = run(demo_dispatcher, instrument="isgri", product_type="isgri_image", **params)
    _assert_api_error(r, 400, "RequestNotUnderstood", message)


def test_jemx_energy_limits_and_scw_list_pattern(demo_dispatcher):
    r = run(demo_dispatcher, instrument="jemx", product_type="jemx_image", E2_keV=40)
    _assert_api_error(r, 400, "RequestNotUnderstood", "JEM-X energy range is restricted to 3 - 35 keV")
    for bad in ("066500220010.001 066500230010.001", "0665002200.001", "../../etc/passwd"):
        r = run(demo_dispatcher, instrument="isgri", product_type="isgri_image", scw_list=bad)
        assert r.status_code == 400 and "scw_list" in r.json()["error_message"]


def test_missing_and_unknown_job_id(demo_dispatcher):
    r = run(demo_dispatcher, instrument="isgri", product_type="isgri_image", query_status="submitted")
    _assert_api_error(
        r,
        400,
        "RequestNotUnderstood",
        capture("error_400_missing_job_id.json", "modern-1.3.6-annotated")["error_message"],
    )
    r = run(
        demo_dispatcher,
        instrument="isgri",
        product_type="isgri_image",
        query_status="submitted",
        job_id="0123456789abcdef",
    )
    _assert_api_error(r, 400, "InvalidJobIDProvided", "unable to find any record for 0123456789abcdef")


def _assert_roles_403(r, role: str):
    assert r.status_code == 403
    body = r.json()
    ref = capture("run_analysis_403-roles_failed.json", "modern-1.3.6-annotated")
    assert list(body) == list(ref)
    assert list(body["exit_status"]) == list(ref["exit_status"])
    assert body["query_status"] == "failed" and body["status_code"] == 403
    assert body["exit_status"]["message"].startswith("Unfortunately, your priviledges are not sufficient")
    assert f" - {role}: " in body["exit_status"]["message"]
    assert len(body["job_monitor"]["job_id"]) == 16


def test_roles(demo_dispatcher):
    _assert_roles_403(
        run(
            demo_dispatcher,
            instrument="isgri",
            product_type="isgri_image",
            integral_data_rights="all-private",
        ),
        "integral-private-qla",
    )
    _assert_roles_403(
        run(
            demo_dispatcher,
            instrument="isgri",
            product_type="isgri_image",
            max_pointings=60,
            token=demo.make_token(),
        ),
        "unige-hpc-full",
    )
    _assert_roles_403(
        run(demo_dispatcher, instrument="spi_acs", product_type="spi_acs_lc", data_level="realtime"),
        "integral-realtime",
    )
    ok = run(
        demo_dispatcher,
        instrument="isgri",
        product_type="isgri_image",
        max_pointings=60,
        token=demo.make_token(roles=("general", "unige-hpc-full")),
    )
    assert ok.status_code == 200 and ok.json()["query_status"] in ("submitted", "progress", "ready", "done")


def test_tokens(demo_dispatcher):
    r = run(
        demo_dispatcher, instrument="isgri", product_type="isgri_image", token=demo.make_token(expired=True)
    )
    body = _assert_api_error(r, 403, "RequestNotAuthorized")
    ref = capture("error_403_expired_token.json", "modern-1.3.6-annotated")
    assert body["error_message"] == ref["error_message"] and body["debug_message"] == ""
    forged = jwt.encode(
        {"sub": "x@example.org", "exp": 4102444800}, "another-secret-of-at-least-32-bytes!", algorithm="HS256"
    )
    r = run(demo_dispatcher, instrument="isgri", product_type="isgri_image", token=forged)
    assert _assert_api_error(r, 403, "RequestNotAuthorized")["error_message"].startswith(
        "The token provided is not valid"
    )
    r = run(demo_dispatcher, instrument="isgri", product_type="isgri_image", token="not-a-jwt")
    _assert_api_error(
        r, 400, "RequestNotUnderstood", capture("run_analysis_bad_token_400.json")["error_message"]
    )


def test_unused_argument_comment_and_nul_for_optional(demo_dispatcher):
    r = run(demo_dispatcher, instrument="isgri", product_type="isgri_image", zzz="1", image_scale_min=NUL)
    body = r.json()
    assert body["exit_status"]["comment"] == "Please note that argument zzz is not used"
    ap = body["products"]["analysis_parameters"]
    assert "zzz" not in ap and ap["image_scale_min"] is None


def test_normalised_analysis_parameters_and_api_code(demo_dispatcher):
    token = demo.make_token()
    r = run(
        demo_dispatcher,
        instrument="isgri",
        product_type="isgri_lc",
        T1="57818.56",
        T2="57818.65",
        T_format="mjd",
        time_bin="0.01",
        time_bin_format="jd",
        token=token,
        session_id="ABCDEFGH12345678",
    )
    body = r.json()
    ap = body["products"]["analysis_parameters"]
    assert ap["T1"] == "2017-03-06T13:26:24.000" and ap["T_format"] == "isot"
    assert ap["time_bin"] == pytest.approx(864.0) and ap["time_bin_format"] == "sec"
    assert ap["E1_keV"] == 20.0 and ap["radius"] == 15.0 and ap["max_pointings"] == 50
    assert ap["token"] == token and ap["session_id"] == "ABCDEFGH12345678"
    code = body["products"]["api_code"]
    assert code.startswith(
        f"from oda_api.api import DispatcherAPI\ndisp=DispatcherAPI(url='{demo_dispatcher}', "
        "instrument='mock')\n\npar_dict={\n"
    )
    assert code.endswith("\n}\n\ndata_collection = disp.get_product(**par_dict)\n")
    par_dict = json.loads(code.split("par_dict=", 1)[1].split("\n\ndata_collection")[0])
    assert par_dict["product"] == "isgri_lc" and "product_type" not in par_dict
    assert list(par_dict) == sorted(par_dict) and "session_id" not in par_dict and par_dict["token"] == token
    assert body["job_monitor"]["session_id"] == "ABCDEFGH12345678"


def test_resolve_name(demo_dispatcher):
    body = requests.get(f"{demo_dispatcher}/resolve_name", params={"name": "Crab"}, timeout=10).json()
    assert body["RA"] == pytest.approx(83.633, abs=1e-3) and body["DEC"] == pytest.approx(22.0145, abs=1e-3)
    assert body["name"] == "Crab" and body["message"] == "Crab successfully resolved"
    assert "entity_portal_link" in body
    body = requests.get(f"{demo_dispatcher}/resolve_name", params={"name": "cyg_x-1"}, timeout=10).json()
    assert body["name"] == "cyg x-1" and body["RA"] == pytest.approx(299.59, abs=0.01)
    body = requests.get(f"{demo_dispatcher}/resolve_name", params={"name": "Nowhere 42"}, timeout=10).json()
    assert body == {"name": "Nowhere 42", "message": "Nowhere 42 could not be resolved"}


def test_hostile_requests_get_4xx_and_the_server_survives(demo_dispatcher):
    huge = requests.post(
        f"{demo_dispatcher}/run_analysis", data={"instrument": "isgri", "x": "a" * (6 << 20)}, timeout=60
    )
    assert huge.status_code == 413
    for params in (
        {"instrument": '["isgri"]', "product_type": "isgri_image"},
        {"instrument": "isgri", "product_type": '{"a": 1}'},
        {"instrument": "isgri", "product_type": "isgri_image", "RA": "[1, 2]"},
        {"instrument": "isgri", "product_type": "isgri_image", "RA": "nan"},
        {"instrument": "isgri", "product_type": "isgri_image", "T1": "__import__('os')"},
        {
            "instrument": "isgri",
            "product_type": "isgri_image",
            "selected_catalog": "gASVCAAAAAAAAACMBHRlc3SULg==",
        },
        {"instrument": "isgri", "product_type": "isgri_image", "selected_catalog": '{"cat_column_names": 1}'},
        {"instrument": "isgri", "product_type": "isgri_image", "query_status": "[1]", "job_id": "x"},
        {"instrument": "isgri", "product_type": "isgri_image", "radius": "1e9"},
        {
            "instrument": "spi_acs",
            "product_type": "spi_acs_lc",
            "T1": "2020-01-01T00:00:00",
            "T2": "2020-02-01T00:00:00",
            "time_bin": "0.05",
        },
    ):
        r = run(demo_dispatcher, **params)
        assert 400 <= r.status_code < 500, (params, r.status_code, r.text[:200])
        assert "error_message" in r.json()
    for path in ("/run_analysis/../../etc/passwd", "/..%2f..%2fetc%2fpasswd", "/static/../app.py"):
        assert requests.get(demo_dispatcher + path, timeout=10).status_code == 404
    assert requests.get(f"{demo_dispatcher}/instr-list", timeout=10).status_code == 200


def test_get_and_post_are_the_same_request(demo_dispatcher):
    params = dict(
        instrument="spi_acs",
        product_type="spi_acs_lc",
        T1="2022-10-09T13:16:00",
        T2="2022-10-09T13:20:00",
        time_bin="1",
        session_id="SAMESESSION00001",
    )
    a, b = run(demo_dispatcher, **params).json(), run(demo_dispatcher, "POST", **params).json()
    assert a["query_status"] == b["query_status"] == "done"
    assert a["job_monitor"]["job_id"] == b["job_monitor"]["job_id"]
    assert a["products"]["numpy_data_product_list"] == b["products"]["numpy_data_product_list"]


def test_scw_list_as_comma_string_or_repeated_keys(demo_dispatcher):
    ids = ["179000230010.001", "179000240010.001"]
    base = dict(instrument="isgri", product_type="isgri_image", query_type="Dummy")
    a = requests.get(
        f"{demo_dispatcher}/run_analysis",
        timeout=60,
        params=[*base.items(), ("scw_list", ids[0]), ("scw_list", ids[1]), ("api", "True")],
    ).json()
    b = run(demo_dispatcher, scw_list=",".join(ids), **base).json()
    assert a["products"]["input_prod_list"] == b["products"]["input_prod_list"] == ids
    assert a["products"]["analysis_parameters"]["scw_list"] == ids
    assert a["job_monitor"]["job_id"] == b["job_monitor"]["job_id"]


def test_cli_module_starts_serves_and_stops(tmp_path):
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "oda_widgets.demo", "--port", "0", "--speed", "5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("demo dispatcher at http://127.0.0.1:")
        url = line.rsplit(" ", 1)[1]
        token_line = proc.stdout.readline()
        token = token_line.rsplit(" ", 1)[1].strip()
        assert jwt.decode(token, demo.DEMO_SECRET, algorithms=["HS256"])["sub"] == "student@example.org"
        assert requests.get(f"{url}/instr-list", timeout=10).json()[:3] == ["isgri", "jemx", "spi_acs"]
    finally:
        proc.terminate()
        code = proc.wait(timeout=20)
    assert code == 0, proc.stderr.read()[-2000:]
