"""The client against servers that misbehave on purpose (tests/client/hostile_server.py):
every request is bounded in time and size, and only typed ``OdaError``s come out."""

from __future__ import annotations

import json
import time
import tracemalloc

import pytest
from hostile_server import (
    HostileServer,
    huge_body,
    json_answer,
    raw,
    redirect,
    trickled_body,
    trickled_headers,
    within,
)

from oda_widgets.client import (
    Dispatcher,
    DispatcherUnavailable,
    OdaError,
    Redirected,
    ResponseTooLarge,
    RetryPolicy,
    ServerError,
)
from oda_widgets.demo import make_token

TOKEN = make_token()
NO_WAIT = RetryPolicy(max_tries=3, initial=0.05, cap=0.05)
PARAMS = {"instrument": "isgri", "product_type": "isgri_image", "query_type": "Real"}


@pytest.fixture
def server():
    with HostileServer() as s:
        yield s


def disp(server, **kwargs) -> Dispatcher:
    return Dispatcher(server.url, token=TOKEN, retries=NO_WAIT, **kwargs)


# -- time ------------------------------------------------------------------------------------------


def test_a_trickled_answer_ends_at_the_deadline_without_retries(server):
    """A byte a second kept instruments() (the form's cell) busy forever: per-read time-outs
    never fire. The whole answer now has a deadline, and a too-slow server is not retried."""
    server.route("/api/instr-list", trickled_body(every=0.2))
    t0 = time.monotonic()
    with pytest.raises(DispatcherUnavailable, match="did not complete within 2 s"):
        within(20, disp(server, deadline=2).instruments)
    assert time.monotonic() - t0 < 6
    assert len(server.requests_to("/api/instr-list")) == 1


def test_trickled_headers_end_at_the_deadline_too(server):
    server.route("/run_analysis", trickled_headers(every=0.2))
    t0 = time.monotonic()
    with pytest.raises(DispatcherUnavailable, match=r"did not complete within 1\.5 s"):
        within(20, disp(server, deadline=1.5).run_analysis, PARAMS)
    assert time.monotonic() - t0 < 5


def test_catalogue_requests_have_a_tighter_deadline_than_products():
    d = Dispatcher("http://127.0.0.1:9", token="")
    assert d.deadline == 300 and d.max_response_bytes == 768 * 2**20
    from oda_widgets.client.transport import CATALOGUE_DEADLINE, CATALOGUE_MAX_BODY

    assert CATALOGUE_DEADLINE <= 60 and CATALOGUE_MAX_BODY <= 16 * 2**20


# -- size ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("announce", [True, False], ids=["content-length", "chunked"])
def test_a_huge_answer_is_refused_without_holding_it(server, announce):
    """300 MB of JSON took 1 GB of memory before the error; now reading stops at the cap."""
    server.route("/run_analysis", huge_body(300 * 2**20, announce=announce))
    tracemalloc.start()
    try:
        with pytest.raises(ResponseTooLarge) as err:
            within(60, disp(server, max_response_bytes=8 * 2**20).run_analysis, PARAMS)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert err.value.limit == 8 * 2**20
    assert "max_response_bytes" in str(err.value)
    if announce:
        assert err.value.received == 0  # refused on its announced length, unread
    else:
        assert 8 * 2**20 < err.value.received < 9 * 2**20
    assert peak < 24 * 2**20, f"peak {peak / 2**20:.0f} MiB while refusing"
    assert len(server.requests_to("/run_analysis")) == 1  # not retried


def test_catalogue_answers_are_capped_at_16_mib(server):
    server.route("/api/meta-data", huge_body(40 * 2**20, announce=False))
    with pytest.raises(ResponseTooLarge, match="16 MiB"):
        within(60, disp(server).description, "isgri")


# -- what requests would raise raw ------------------------------------------------------------------


def test_a_broken_gzip_body_is_a_server_error(server):
    server.route(
        "/api/instr-list",
        raw(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
            b"Content-Length: 20\r\n\r\nthis is not gzip!!!!"
        ),
    )
    with pytest.raises(ServerError, match="does not decompress"):
        within(20, disp(server).instruments)


@pytest.mark.parametrize(
    "location, expected",
    [
        ("file:///etc/passwd", "not an http"),
        ("gopher://127.0.0.1:70/x", "not an http"),
        ("http://[::1", "malformed Location"),
        ("http://exa mple.org:99999/x", "malformed Location|another address"),
        ("https://evil.example/api/instr-list?instrument=mock", "another address"),
    ],
)
def test_redirects_that_are_not_followed(server, location, expected):
    server.route("/api/instr-list", redirect(location))
    with pytest.raises(Redirected, match=expected) as err:
        within(20, disp(server).instruments)
    assert TOKEN not in str(err.value) and TOKEN not in str(err.value.location)


def test_a_redirect_to_another_host_never_gets_the_token(server):
    """A GET redirected elsewhere would carry the token in its query string: not followed."""
    with HostileServer() as elsewhere:
        elsewhere.route("/api/instr-list", json_answer(["stolen"]))
        server.route("/api/instr-list", redirect(f"{elsewhere.url}/api/instr-list?token={TOKEN}"))
        with pytest.raises(Redirected, match="another address") as err:
            within(20, disp(server).instruments)
        assert elsewhere.seen == []
        assert TOKEN not in str(err.value)


def test_a_redirect_loop_ends(server):
    server.route("/api/instr-list", redirect("/api/instr-list?instrument=mock"))
    with pytest.raises(Redirected, match="more than 5 times"):
        within(20, disp(server).instruments)
    assert len(server.requests_to("/api/instr-list")) == 6


def test_a_same_host_redirect_is_followed(server):
    server.route("/api/instr-list", redirect("/instr-list?instrument=mock"))
    server.route("/instr-list", json_answer(["isgri"]))
    assert within(20, disp(server).instruments) == ["isgri"]


def test_run_analysis_follows_no_redirect(server):
    server.route("/run_analysis", redirect("/elsewhere"))
    with pytest.raises(Redirected):
        within(20, disp(server).run_analysis, PARAMS)
    assert server.requests_to("/elsewhere") == []


def test_the_token_travels_in_the_body_of_run_analysis(server):
    server.route("/run_analysis", json_answer({"query_status": "failed", "exit_status": {"message": "no"}}))
    with pytest.raises(OdaError):
        within(20, disp(server).run_analysis, PARAMS)
    (sent,) = server.requests_to("/run_analysis")
    assert sent.method == "POST" and "token" not in sent.query and sent.form["token"] == [TOKEN]


# -- forged products ---------------------------------------------------------------------------------


def _done(products: dict) -> dict:
    return {
        "query_status": "done",
        "exit_status": {"status": 0, "message": "", "error_message": "", "debug_message": ""},
        "job_monitor": {"job_id": "0123456789abcdef", "status": "done"},
        "session_id": "S",
        "products": products,
    }


def test_a_forged_binarys_placeholder_is_a_readable_error(server):
    """The fast product parser put placeholders in the JSON; a server could write one itself
    and get an IndexError out of the client. Now a forged one is just (bad) base64 text."""
    import numpy as np
    from astropy.io import fits

    from oda_widgets.products import ProductCollection, encode_numpy_data_product

    good = encode_numpy_data_product(fits.HDUList([fits.PrimaryHDU(np.zeros((2, 2)))]), "good", {})
    forged = json.loads(json.dumps(good))
    forged["data_unit_list"][0]["binarys"] = "\u0000oda-binarys:7"
    server.route("/run_analysis", json_answer(_done({"numpy_data_product_list": [good, forged]})))
    body = within(20, disp(server).run_analysis, PARAMS)
    with pytest.raises(OdaError, match=r"could not be unpickled|not base64|data unit"):
        ProductCollection.from_response(body["products"])


def test_a_server_job_id_is_escaped_in_html(server):
    """The first 8 characters of a job id went into the board's and the status' HTML as is."""
    from oda_widgets.client import Job
    from oda_widgets.job_status import JobBoard, JobStatus

    evil = "<img src=x onerror=alert(1)>"
    answer = _done({})
    answer["query_status"] = "submitted"
    answer["job_monitor"] = {"job_id": evil, "status": "submitted"}
    server.route("/run_analysis", json_answer(answer))
    job = Job(disp(server), "isgri", "isgri_image", {})
    job.poll()
    assert job.job_id == evil
    status = JobStatus(job, start=False)
    status._refresh()
    board = JobBoard(store=False)
    board.add(job, start=False)
    for html_text in (status._header.value, board._summary.value):
        assert "<img" not in html_text and "&lt;img src" in html_text
    board.close()
