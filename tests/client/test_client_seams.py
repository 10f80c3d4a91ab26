"""The public seams between the client and its users: one request attempt, resubmitting a job,
progress as data. Against real servers: the demo dispatcher, and a port with nothing listening."""

from __future__ import annotations

import socket
import time

import pytest

from oda_widgets import demo
from oda_widgets.client import Dispatcher, Job, JobState, Progress, RetryPolicy
from oda_widgets.client.dispatcher import TransientFailure
from oda_widgets.errors import DispatcherUnavailable


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # released: nothing listens there now


def test_one_attempt_is_one_exchange_and_the_caller_decides_about_retries():
    disp = Dispatcher(f"http://127.0.0.1:{_closed_port()}", token="", retries=RetryPolicy(max_tries=50))
    t0 = time.monotonic()
    with pytest.raises(TransientFailure) as failure:
        disp.run_analysis_attempt({"instrument": "isgri", "product_type": "isgri_image"})
    assert time.monotonic() - t0 < 5  # no retry budget spent
    err = disp.unavailable(failure.value, 3, 12.0, " The job is kept.")
    assert isinstance(err, DispatcherUnavailable) and "after 3 tries over 12 s" in str(err)
    assert str(err).endswith("The job is kept.") and err.details["tries"] == 3


def test_a_job_polls_through_the_public_attempt(demo_dispatcher):
    disp = Dispatcher(demo_dispatcher, token=demo.make_token())
    body = disp.run_analysis_attempt(
        {"instrument": "spi_acs", "product_type": "spi_acs_lc", "query_status": "new"}
    )
    assert body["query_status"] in ("submitted", "progress", "done") and body["job_monitor"]["job_id"]


def test_resubmit_makes_a_new_job_for_the_same_request(demo_dispatcher):
    token = demo.make_token(email="resubmit@example.org")
    disp = Dispatcher(demo_dispatcher, token="")
    params = {"T1": "2017-03-06T13:26:48", "T2": "2017-03-06T13:36:48", "token": token}
    job = Job(disp, "spi_acs", "spi_acs_lc", params, query_type="Real").submit()
    job.wait(timeout=120)
    again = job.resubmit(submit=False)
    assert again is not job and again.state is JobState.NEW and again.session_id != job.session_id
    assert (again.instrument, again.product, again.params, again.query_type) == (
        job.instrument,
        job.product,
        job.params,
        job.query_type,
    )
    assert again.token == token  # the token given with the parameters goes along
    again.wait(timeout=120)
    assert again.state is JobState.DONE and again.job_id == job.job_id  # same request, same job id


def test_progress_is_data_and_its_sentence_is_derived():
    p = Progress.from_job_monitor(
        {
            "full_report_dict": {
                "node": "fit",
                "message": "sampling",
                "stage": "fit",
                "progress": 2,
                "progress_max": 4,
                "substage": "chain 3",
            }
        }
    )
    assert (p.stage, p.stage_done, p.stage_total, p.substage) == ("fit", 2.0, 4.0, "chain 3")
    assert (p.last_node, p.last_message, p.last_report) == ("fit", "sampling", "fit: sampling")
    assert p.fraction == 0.5 and p.summary == "stage fit 2/4 (chain 3); last: fit: sampling"
    grid = Progress.from_job_monitor(
        {
            "full_report_dict_list": [
                {"node": "ii_skyimage", "scwid": "066500220010.001", "message": "main done"},
                {"node": "ii_skyimage", "scwid": "066500230010.001", "message": "restored from cache"},
                {"node": "ii_skyimage", "scwid": "066500240010.001", "message": "main starting"},
            ]
        }
    )
    assert (grid.scw_total, grid.scw_done, grid.scw_cached, grid.scw_running) == (3, 1, 1, 1)
    assert grid.summary.startswith("2/3 science windows (1 computed, 1 from cache)")
