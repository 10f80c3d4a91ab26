"""Error mapping of every captured non-200 dispatcher answer (1.3.3, 1.3.6 and the curated set)."""

from __future__ import annotations

import json

import pytest
from client_helpers import CAPTURES, capture, capture_bytes

from oda_widgets.client import Dispatcher
from oda_widgets.client.dispatcher import error_from_response, missing_roles_in_message
from oda_widgets.client.token import JWT_PATTERN
from oda_widgets.errors import (
    AnalysisFailed,
    Redirected,
    RequestNotUnderstood,
    ServerError,
    TokenExpired,
    Unauthorized,
)

SENT = {"instrument": "empty", "product_type": "numerical", "p": 1.0, "query_status": "new"}
EXPECTED = {302: Redirected, 400: RequestNotUnderstood, 403: Unauthorized, 404: ServerError, 500: ServerError}


def _indexed_errors():
    for folder in ("pypi-1.3.3", "git-1.3.6"):
        for entry in json.loads((CAPTURES / folder / "_index.json").read_text()):
            if entry["http_status"] != 200:
                yield pytest.param(folder, entry, id=f"{folder}/{entry['name']}")


@pytest.mark.parametrize("folder, entry", list(_indexed_errors()))
def test_every_captured_error_maps_to_its_type(folder, entry):
    body = capture_bytes(f"{folder}/{entry['file']}")
    err = error_from_response(entry["http_status"], body, url="http://dispatcher.test", sent=SENT)
    assert type(err) is EXPECTED[entry["http_status"]] or (
        entry["http_status"] == 403 and isinstance(err, Unauthorized)
    )
    assert err.status_code == entry["http_status"]
    message = str(err)
    assert message.strip() and len(message) < 3000
    assert not JWT_PATTERN.search(message) and not JWT_PATTERN.search(json.dumps(err.details))
    assert "<html" not in message.lower() and "<!doctype" not in message.lower()


@pytest.mark.parametrize(
    "name, parameter",
    [
        ("git-1.3.6/run_analysis_empty_numerical_pstring_bad.json", "p"),
        ("pypi-1.3.3/run_analysis_empty_numerical_pstring_bad.json", "p"),
        ("pypi-1.3.3/run_analysis_empty_numerical_p900_bad.json", "p"),
        ("git-1.3.6/run_analysis_empty_restricted_bad_int.json", "bounded_int_par"),
        ("git-1.3.6/run_analysis_empty_restricted_bad_string.json", "string_select_par"),
        ("git-1.3.6/run_analysis_unknown_instrument.json", "instrument"),
        ("git-1.3.6/run_analysis_empty_unknown_product.json", "product_type"),
        ("git-1.3.6/run_analysis_bad_token_400.json", "token"),
        ("modern-1.3.6-annotated/error_400_bad_parameter_value.json", "p"),
        ("modern-1.3.6-annotated/error_400_missing_job_id.json", None),
    ],
)
def test_400_names_the_parameter(name, parameter):
    err = error_from_response(400, capture_bytes(name), url="http://d", sent=SENT)
    assert isinstance(err, RequestNotUnderstood)
    assert err.parameter == parameter
    assert str(err) == capture(name)["error_message"]


@pytest.mark.parametrize(
    "name, roles",
    [
        ("pypi-1.3.3/run_analysis_empty_numerical_p55_403.json", ["unige-hpc-full"]),
        ("git-1.3.6/run_analysis_empty_numerical_p55_403.json", ["unige-hpc-full"]),
        ("modern-1.3.6-annotated/run_analysis_403-roles_failed.json", ["general"]),
    ],
)
def test_403_run_analysis_shape_lists_missing_roles(name, roles):
    err = error_from_response(403, capture_bytes(name), url="http://d", sent={**SENT, "token": "x"})
    assert isinstance(err, Unauthorized) and not isinstance(err, TokenExpired)
    assert err.missing_roles == roles
    assert str(err).startswith("Unfortunately, your priviledges are not sufficient")
    assert "You sent no token" not in str(err)


def test_403_without_token_says_so():
    err = error_from_response(
        403,
        capture_bytes("pypi-1.3.3/run_analysis_empty_numerical_notoken_403.json"),
        url="http://d",
        sent=SENT,
    )
    assert err.missing_roles == ["general"]
    assert "You sent no token" in str(err) and "API token" in str(err)


def test_403_expired_token_apierror_shape():
    err = error_from_response(
        403,
        capture_bytes("modern-1.3.6-annotated/error_403_expired_token.json"),
        url="http://d",
        sent={**SENT, "token": "x"},
    )
    assert isinstance(err, TokenExpired) and isinstance(err, Unauthorized)
    assert "expired" in str(err) and "debug_message" in err.details


def test_403_plain_text_roles():
    text = (
        b"Unfortunately, your privileges are not sufficient to post on the product gallery.\n"
        b"Your privilege roles include ['general'], but the following roles are missing: "
        b"gallery contributor, renku contributor."
    )
    err = error_from_response(403, text, url="http://d", sent={"token": "x"})
    assert isinstance(err, Unauthorized)
    assert err.missing_roles == ["gallery contributor", "renku contributor"]


def test_500_html_and_json():
    err = error_from_response(500, capture_bytes("git-1.3.6/meta-data_empty_nonexistent.txt"), url="http://d")
    assert isinstance(err, ServerError)
    assert "Internal Server Error" in str(err) and "<" not in str(err)
    body = json.dumps(
        {"message": "request not valid", "error_message": "boom: KeyError('x')", "config": {"secret": 1}}
    ).encode()
    err = error_from_response(500, body, url="http://d")
    assert isinstance(err, ServerError) and "boom: KeyError('x')" in str(err)
    assert "config" not in err.details


def test_302_keeps_location():
    err = error_from_response(
        302,
        capture_bytes("git-1.3.6/instr-list_noredirect.txt"),
        url="http://d",
        location="https://new.example.org/dispatch-data/run_analysis?x=1",
    )
    assert isinstance(err, Redirected)
    assert err.location == "https://new.example.org/dispatch-data/run_analysis?x=1"
    assert "Dispatcher('https://new.example.org/dispatch-data')" in str(err)


def test_200_failed_backend_error_is_analysis_failed():
    body = capture("modern-1.3.6-annotated/run_analysis_failed_backend_error_http200.json")
    err = Dispatcher("http://d", token="").failure(body)
    assert isinstance(err, AnalysisFailed)
    assert str(err) == "Error when getting query products"
    assert err.error_message.startswith("Instrument: empty, product: echo")
    assert "get_dummy_products needs to be implemented" in err.debug_message


def test_200_failed_async_without_message_uses_job_monitor():
    body = capture("pypi-1.3.3/run_analysis_empty-async_dummy_failed.json")
    err = Dispatcher("http://d", token="").failure(body)
    assert isinstance(err, AnalysisFailed)
    assert str(err) == "The analysis failed (node_f: failing)."


def test_failed_with_status_code_403_is_unauthorized():
    body = capture("modern-1.3.6-annotated/run_analysis_403-roles_failed.json")
    err = Dispatcher("http://d", token="").failure(body)
    assert isinstance(err, Unauthorized) and err.missing_roles == ["general"]


def test_missing_roles_of_several_lines():
    message = (
        "Unfortunately, ...\n- Your priviledge roles include ['general']\n"
        "- You are lacking all of the following roles:\n - unige-hpc-full: needed for p>50\n"
        " - integral-private-qla: needed for private data\nYou can request support ..."
    )
    assert missing_roles_in_message(message) == ["unige-hpc-full", "integral-private-qla"]


def test_302_location_with_token_is_redacted():
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    err = error_from_response(
        302, b"", url="http://d", token=token, location=f"http://d/instr-list?instrument=mock&token={token}"
    )
    assert token not in str(err) and token not in err.location
    assert err.location == "http://d/instr-list?instrument=mock&token=<token>"


def test_bad_dispatcher_url_is_a_clear_error():
    from oda_widgets.errors import InvalidParameter

    with pytest.raises(InvalidParameter) as err:
        Dispatcher("www.astro.unige.ch/mmoda/dispatch-data", token="")
    assert err.value.parameter == "url" and "unige-production" in str(err.value)
    assert Dispatcher("unige-production", token="").url == "https://www.astro.unige.ch/mmoda/dispatch-data"
