"""Job life cycle of the demo dispatcher: states, job monitor, identity, failures."""

from __future__ import annotations

import time

import pytest
from demo_helpers import capture, complete, run

from oda_widgets import demo

IMAGE = dict(instrument="isgri", product_type="isgri_image", max_pointings="3", T2="2017-03-07T12:00:00")


def test_async_life_cycle_like_the_real_dispatcher(demo_dispatcher):
    token = demo.make_token(email="lifecycle@example.org")
    first = run(demo_dispatcher, token=token, **IMAGE).json()
    ref = capture("async_1_new_to_submitted.json", "modern-1.3.6-annotated")
    assert list(first) == list(ref)
    assert first["query_status"] == "submitted"
    assert set(first["products"]) == set(ref["products"])
    assert first["job_monitor"]["full_report_dict_list"] == []
    job_id = first["job_monitor"]["job_id"]
    assert len(job_id) == 16 and int(job_id, 16) >= 0

    body, seen = complete(demo_dispatcher, token=token, session_id=first["session_id"], **IMAGE)
    assert seen[-1] == "done"
    order = ["submitted", "progress", "ready", "done"]
    assert [order.index(s) for s in seen] == sorted(order.index(s) for s in seen)
    assert "ready" in seen
    done_ref = capture("async_4_ready_to_done.json", "modern-1.3.6-annotated")
    assert list(body) == list(done_ref)
    assert body["job_monitor"] == {"job_id": job_id, "session_id": first["session_id"], "status": "done"}
    for key in (
        "prod_process_message",
        "session_id",
        "job_id",
        "input_prod_list",
        "analysis_parameters",
        "api_code",
        "numpy_data_product_list",
        "catalog",
    ):
        assert key in body["products"]
    assert len(body["products"]["input_prod_list"]) == 3


def test_job_monitor_reports_scw_by_node_with_token(demo_dispatcher):
    token = demo.make_token(email="monitor@example.org")
    params = dict(IMAGE, token=token, max_pointings="4")
    first = run(demo_dispatcher, **params).json()
    job_id, sid = first["job_monitor"]["job_id"], first["session_id"]
    time.sleep(0.8)
    body = run(demo_dispatcher, query_status="progress", job_id=job_id, session_id=sid, **params).json()
    assert body["query_status"] == "ready"
    reports = body["job_monitor"]["full_report_dict_list"]
    ref_entry = capture("async_3_progress_to_ready.json", "modern-1.3.6-annotated")["job_monitor"][
        "full_report_dict_list"
    ][0]
    assert all(set(r) == set(ref_entry) for r in reports)
    assert body["job_monitor"]["full_report_dict"] == reports[-1]
    assert {r["token"] for r in reports} == {token}
    scws = {r["scwid"] for r in reports if r["scwid"] != "inapplicable"}
    assert len(scws) == 4
    assert {r["node"] for r in reports} == {"ii_skyimage", "mosaic_ii_skyimage"}
    assert {r["message"] for r in reports} <= {"main starting", "main done", "restored from cache"}
    assert "restored from cache" in {r["message"] for r in reports} or "main done" in {
        r["message"] for r in reports
    }
    assert body["products"] == {}


def test_same_parameters_same_job_and_resubmission_reattaches(demo_dispatcher):
    token = demo.make_token(email="same@example.org")
    a = run(demo_dispatcher, token=token, session_id="SESSIONA00000001", **IMAGE).json()
    b = run(demo_dispatcher, token=token, session_id="SESSIONB00000002", **IMAGE).json()
    assert a["job_monitor"]["job_id"] == b["job_monitor"]["job_id"]
    other = run(demo_dispatcher, token=demo.make_token(email="other@example.org"), **IMAGE).json()
    anonymous = run(demo_dispatcher, **IMAGE).json()
    ids = {a["job_monitor"]["job_id"], other["job_monitor"]["job_id"], anonymous["job_monitor"]["job_id"]}
    assert len(ids) == 3
    different = run(demo_dispatcher, token=token, **dict(IMAGE, E2_keV="41")).json()
    assert different["job_monitor"]["job_id"] != a["job_monitor"]["job_id"]
    complete(demo_dispatcher, token=token, **IMAGE)
    again = run(demo_dispatcher, token=token, **IMAGE).json()
    assert again["query_status"] == "done" and again["job_monitor"]["job_id"] == a["job_monitor"]["job_id"]


def test_polling_someone_elses_job_is_refused(demo_dispatcher):
    mine = run(demo_dispatcher, token=demo.make_token(email="owner@example.org"), **IMAGE).json()
    r = run(
        demo_dispatcher,
        token=demo.make_token(email="intruder@example.org"),
        query_status="submitted",
        job_id=mine["job_monitor"]["job_id"],
        **IMAGE,
    )
    assert r.status_code == 403
    body = r.json()
    assert body["query_status"] == "failed" and body["status_code"] == 403
    assert body["exit_status"]["message"] == "Request not authorized"


def test_spi_acs_and_dummy_queries_are_done_at_once(demo_dispatcher):
    body = run(
        demo_dispatcher,
        instrument="spi_acs",
        product_type="spi_acs_lc",
        T1="2017-03-06T13:26:48",
        T2="2017-03-06T13:30:00",
        time_bin="2",
    ).json()
    assert body["query_status"] == "done"
    assert body["products"]["input_prod_list"] == [1]
    assert body["products"]["binary_data_product_list"] == []
    body = run(demo_dispatcher, query_type="Dummy", **IMAGE).json()
    assert body["query_status"] == "done" and "catalog" in body["products"]


@pytest.mark.parametrize("params", [IMAGE, dict(instrument="spi_acs", product_type="spi_acs_lc")])
def test_backend_failure_trigger(demo_dispatcher, params):
    body, seen = complete(demo_dispatcher, src_name="FAIL_BACKEND", **params)
    assert seen[-1] == "failed"
    ref = capture("run_analysis_failed_backend_error_http200.json", "modern-1.3.6-annotated")
    assert list(body) == list(ref)
    assert list(body["exit_status"]) == list(ref["exit_status"])
    assert body["exit_status"]["status"] == 1
    assert body["exit_status"]["message"] == "failed: get dataserver products "
    assert '"exception_kind": "handled"' in body["exit_status"]["debug_message"]
    assert set(body["products"]) == {"analysis_parameters", "api_code"}


def test_speed_scales_the_run(demo_dispatcher):
    with demo.start(speed=0.05) as slow:
        first = run(slow.url, **IMAGE).json()
        time.sleep(0.5)
        later = run(
            slow.url,
            query_status="submitted",
            job_id=first["job_monitor"]["job_id"],
            session_id=first["session_id"],
            **IMAGE,
        ).json()
        assert later["query_status"] == "submitted"
    first = run(demo_dispatcher, **dict(IMAGE, E1_keV="21")).json()
    time.sleep(1.0)
    later = run(
        demo_dispatcher,
        query_status="submitted",
        job_id=first["job_monitor"]["job_id"],
        session_id=first["session_id"],
        **dict(IMAGE, E1_keV="21"),
    ).json()
    assert later["query_status"] == "ready"


def test_no_science_windows_is_a_failed_job(demo_dispatcher):
    body = run(
        demo_dispatcher,
        instrument="isgri",
        product_type="isgri_image",
        T1="2017-03-06T13:26:48",
        T2="2017-03-06T13:30:00",
    ).json()
    assert body["query_status"] == "failed"
    assert body["exit_status"]["message"] == "no science windows found"


def test_no_science_windows_outside_the_mission(demo_dispatcher):
    body = run(
        demo_dispatcher,
        instrument="isgri",
        product_type="isgri_image",
        T1="1998-01-01T00:00:00",
        T2="1999-01-01T00:00:00",
    ).json()
    assert body["query_status"] == "failed" and body["exit_status"]["message"] == "no science windows found"
