"""Faults between client and the real dispatcher: dropped connections, 502/503/504, slow answers."""

from __future__ import annotations

import pytest
from client_helpers import FAST_RETRIES, fresh_p
from peers import free_port

from oda_widgets.client import Dispatcher, DispatcherUnavailable, JobState, RetryPolicy

pytestmark = pytest.mark.real_dispatcher


@pytest.fixture
def disp(proxy, token):
    return Dispatcher(proxy.url, token=token, retries=FAST_RETRIES)


@pytest.fixture
def backend(real_dispatcher):
    real_dispatcher.set_backend_state(None)
    yield real_dispatcher
    real_dispatcher.set_backend_state(None)


def test_retry_policy_delays():
    policy = RetryPolicy(max_tries=6, initial=1.0, factor=1.2, cap=1.5)
    assert [policy.delay(n) for n in range(1, 6)] == pytest.approx([1.0, 1.2, 1.44, 1.5, 1.5])
    assert policy.budget == pytest.approx(1.0 + 1.2 + 1.44 + 1.5 + 1.5)
    with pytest.raises(ValueError):
        RetryPolicy(max_tries=0)


def test_job_completes_through_a_burst_of_faults(disp, proxy, backend):
    proxy.plan("drop", 503)  # the submission itself hits two faults
    job = disp.submit("empty-async", "numerical", {"p": fresh_p()})
    events = []
    job.observe(lambda j: events.append((j.state, j.retrying, j.transient_error)))
    assert job.state is JobState.NEW and job.retrying
    assert job.transient_error.startswith("dispatcher unreachable, retrying")
    assert "connection dropped" in job.transient_error
    assert job.next_delay() == pytest.approx(FAST_RETRIES.delay(1))
    job.poll_initial = 0.05

    assert job.poll() is JobState.NEW and "HTTP 503" in job.transient_error
    assert job.next_delay() == pytest.approx(FAST_RETRIES.delay(2))  # grows while failing
    assert job.poll() is JobState.SUBMITTED and not job.retrying and job.transient_error is None

    proxy.plan(502, 504, "drop")
    backend.set_backend_state("done")
    backend.call_back(job.job_id, job.session_id, "done", message="done", node_id="n")
    job.wait(timeout=60)
    assert job.state is JobState.DONE
    assert [a for a in (s.action for s in proxy.seen())][:6] == ["drop", 503, "pass", 502, 504, "drop"]
    assert any(retrying for _, retrying, _ in events) and events[-1][1] is False
    sent = proxy.seen()
    assert {s.params["session_id"][0] for s in sent} == {job.session_id}
    assert all(s.params["job_id"] == [job.job_id] for s in sent[3:])


def test_retry_budget_then_resumable(disp, proxy, backend):
    job = disp.submit("empty-async", "numerical", {"p": fresh_p()})
    assert job.state is JobState.SUBMITTED
    job.poll_initial = 0.05
    proxy.down = True
    with pytest.raises(DispatcherUnavailable) as err:
        job.wait(timeout=60)
    message = str(err.value)
    assert proxy.url in message and "unreachable (HTTP 503" in message
    assert f"after {FAST_RETRIES.max_tries} tries" in message
    assert job.job_id in message and "resume" in message
    assert job.state is JobState.SUBMITTED and job.job_id  # nothing lost
    assert len(proxy.seen()) == 1 + FAST_RETRIES.max_tries

    proxy.down = False
    backend.set_backend_state("done")
    backend.call_back(job.job_id, job.session_id, "done", message="done", node_id="n")
    job.wait(timeout=60)
    assert job.state is JobState.DONE


def test_run_analysis_retries_internally(disp, proxy):
    proxy.plan(503, "drop", 502)
    body = disp.run_analysis(
        {
            "instrument": "empty",
            "product_type": "numerical",
            "query_type": "Dummy",
            "query_status": "new",
            "p": fresh_p(),
        }
    )
    assert body["query_status"] == "done"
    assert [s.action for s in proxy.seen()] == [503, "drop", 502, "pass"]


def test_run_analysis_gives_up_after_the_budget(disp, proxy):
    proxy.down = True
    with pytest.raises(DispatcherUnavailable) as err:
        disp.run_analysis(
            {
                "instrument": "empty",
                "product_type": "numerical",
                "query_type": "Dummy",
                "query_status": "new",
                "p": fresh_p(),
            }
        )
    assert f"after {FAST_RETRIES.max_tries} tries" in str(err.value)
    assert len(proxy.seen()) == FAST_RETRIES.max_tries


def test_slow_answer_times_out_then_succeeds(proxy, token):
    disp = Dispatcher(proxy.url, token=token, timeout=0.5, retries=FAST_RETRIES)
    proxy.plan(("delay", 1.5))
    job = disp.submit("empty", "numerical", {"p": fresh_p()}, query_type="Dummy")
    assert job.retrying and "no answer within 0.5 s" in job.transient_error
    job.poll_initial = 0.05
    job.wait(timeout=30)
    assert job.state is JobState.DONE


def test_nothing_listening_is_unavailable(token):
    port = free_port()
    disp = Dispatcher(
        f"http://127.0.0.1:{port}", token=token, retries=RetryPolicy(max_tries=2, initial=0.01, cap=0.01)
    )
    with pytest.raises(DispatcherUnavailable) as err:
        disp.instruments()
    assert "connection refused" in str(err.value) and "after 2 tries" in str(err.value)
