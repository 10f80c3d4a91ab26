"""Progress read from captured job monitors (modern 1.3.6 and 1.3.3), and Job persistence shape."""

from __future__ import annotations

import json

import pytest
from client_helpers import capture

from oda_widgets.client import Dispatcher, Job, JobState, Progress
from oda_widgets.client.token import JWT_PATTERN


def test_modern_capture_with_integral_report():
    body = capture("modern-1.3.6-annotated/async_2_submitted_to_progress_with_report.json")
    progress = Progress.from_job_monitor(body["job_monitor"])
    assert progress.scw_total == 1
    assert (progress.scw_done, progress.scw_cached, progress.scw_failed) == (0, 0, 0)
    assert progress.fraction == 0.0
    assert progress.nodes == ["ii_skyimage"]
    assert progress.last_message == "main starting"
    assert (
        progress.summary == "0/1 science windows (0 computed, 0 from cache); last: ii_skyimage: main starting"
    )
    assert "<JWT-redacted>" not in repr(progress) and "token" not in repr(progress)


def test_legacy_capture_of_empty_async():
    body = capture("pypi-1.3.3/run_analysis_empty-async_poll4_done.json")
    progress = Progress.from_job_monitor(body["job_monitor"])
    assert progress.nodes == ["node_1", "node_2"]
    assert progress.last_message == "done"
    assert progress.fraction is None and progress.scw_total == 0
    assert progress.summary == "node_2: done"
    assert not JWT_PATTERN.search(repr(progress))


def test_monitor_without_reports_and_unknown_shapes():
    assert Progress.from_job_monitor({"job_id": "x", "status": "submitted"}) == Progress()
    assert Progress.from_job_monitor(None) == Progress()
    odd = Progress.from_job_monitor({"full_report_dict_list": ["junk", {"message": "hi"}]})
    assert odd.last_message == "hi"


def test_nb2workflow_stage_and_substage():
    monitor = {
        "full_report_dict": {
            "action": "progress",
            "stage": "fit",
            "progress": "2",
            "progress_max": "4",
            "substage": "chain 3",
            "subprogress": "1",
            "subprogress_max": "2",
            "message": "sampling",
        }
    }
    progress = Progress.from_job_monitor(monitor)
    assert progress.stage == "fit"
    assert progress.fraction == pytest.approx(0.5 + 0.5 / 4)
    assert progress.summary == "stage fit 2/4 (chain 3); last: sampling"


def test_scw_recomputed_after_cache_counts_as_computed():
    reports = [
        {"node": "a", "scwid": "1.001", "message": "restored from cache"},
        {"node": "b", "scwid": "1.001", "message": "main starting"},
        {"node": "b", "scwid": "1.001", "message": "main done"},
        {"node": "a", "scwid": "2.001", "message": "main starting"},
    ]
    progress = Progress.from_job_monitor({"full_report_dict_list": reports})
    assert (progress.scw_total, progress.scw_done, progress.scw_cached) == (2, 1, 0)
    assert progress.fraction == 0.5  # 2.001 is still running
    # per analysis step, each science window's last word (what the job-status grid draws)
    assert progress.steps == {
        "a": {"1.001": ("cached", "restored from cache"), "2.001": ("running", "main starting")},
        "b": {"1.001": ("computed", "computed")},
    }


def test_steps_skip_reports_without_a_science_window_or_node():
    reports = [
        {"node": "a", "scwid": "inapplicable", "message": "x"},
        {"scwid": "3.001", "message": "y"},
        {"node": "c", "scwid": "3.001", "message": "analysis exception"},
    ]
    assert Progress.from_job_monitor({"full_report_dict_list": reports}).steps == {
        "c": {"3.001": ("failed", "failed")}
    }


def test_to_dict_has_no_token_and_round_trips():
    token_like = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"
    disp = Dispatcher("http://127.0.0.1:9", token="")
    job = Job(
        disp,
        "isgri",
        "isgri_image",
        {"E1_keV": 28.0, "token": token_like, "query_status": "new", "scw_list": ["066500220010.001"]},
        job_id="4aae43ad9aad5029",
        session_id="ASYNCSESSION0001",
        state="progress",
    )
    saved = job.to_dict()
    text = json.dumps(saved)
    assert token_like not in text and not JWT_PATTERN.search(text)
    assert saved["params"] == {"E1_keV": 28.0, "scw_list": ["066500220010.001"]}
    assert saved["state"] == "progress" and saved["url"] == "http://127.0.0.1:9"
    again = Job.from_dict(json.loads(text), disp)
    assert (again.instrument, again.product, again.job_id, again.session_id, again.state) == (
        "isgri",
        "isgri_image",
        "4aae43ad9aad5029",
        "ASYNCSESSION0001",
        JobState.PROGRESS,
    )
    assert again.params == job.params
    assert "state=progress" in repr(again) and token_like not in repr(job)


@pytest.mark.parametrize(
    "status, state",
    [
        ("submitted", JobState.SUBMITTED),
        ("progress", JobState.PROGRESS),
        ("ready", JobState.READY),
        ("done", JobState.DONE),
        ("failed", JobState.FAILED),
        ("aliased", JobState.PROGRESS),
        ("post-processing", JobState.PROGRESS),
        ("unknown", JobState.PROGRESS),
    ],
)
def test_unknown_statuses_mean_still_running(status, state):
    from oda_widgets.client.job import _state_of

    assert _state_of(status) is state
    assert state.finished == (status in ("done", "failed"))
