"""JobStatus against the real dispatcher 1.3.3 (empty-async driven from outside, REAL_DISPATCHER.md)."""

from __future__ import annotations

import pytest
from status_helpers import fresh_p, real_token, visible, wait_state, widget_state_text

from oda_widgets.client import AnalysisFailed, Dispatcher, JobState
from oda_widgets.job_status import JobStatus, Poller


@pytest.fixture
def backend(real_dispatcher):
    real_dispatcher.set_backend_state(None)
    yield real_dispatcher
    real_dispatcher.set_backend_state(None)


@pytest.fixture
def token():
    return real_token()


def quick(job):
    """Poll the real server often so the test does not wait for the 1 s × 1.2 back-off."""
    job.poll_initial = 0.1
    job.poll_cap = 0.3
    return job


def test_empty_async_submitted_progress_ready_done(backend, token):
    disp = Dispatcher(backend.url, token=token)
    job = quick(disp.submit("empty-async", "numerical", {"p": fresh_p()}))
    status = JobStatus(job, poller=Poller())
    assert wait_state(status, "submitted") == "submitted"
    assert "empty-async" in status._header.value and job.job_id[:8] in status._header.value
    assert visible(status.stop_button) and not visible(status.results_button)

    backend.call_back(job.job_id, job.session_id, "progress", message="progressing", node_id="node_1")
    wait_state(status, "progress")
    assert "progressing" in status.message

    backend.set_backend_state("done")
    backend.call_back(job.job_id, job.session_id, "done", message="done", node_id="node_2")
    wait_state(status, "done")
    status.wait(10)
    assert status.history == ["submitted", "progress", "ready", "done"]
    assert status.fraction == 1.0 and status._bar.bar_style == "success"
    assert visible(status.results_button) and not visible(status.stop_button)
    assert token not in widget_state_text(status) and token not in repr(status)
    assert "done" in repr(status)

    view = status.show_results()
    assert view is not None and status._results.children == (view,)
    assert token not in widget_state_text(status)


def test_empty_async_failure_shows_messages_and_debug(backend, token):
    disp = Dispatcher(backend.url, token=token)
    job = quick(disp.submit("empty-async", "numerical", {"p": fresh_p()}))
    status = JobStatus(job, poller=Poller())
    wait_state(status, "submitted")
    backend.set_backend_state("failed")
    backend.call_back(job.job_id, job.session_id, "failed", message="failing", node_id="node_f")
    wait_state(status, "failed")
    assert job.state is JobState.FAILED and isinstance(job.error, AnalysisFailed)
    assert status.history == ["submitted", "failed"]
    assert "node_f: failing" in status.message
    assert status._debug.layout.display != "none"
    assert "AnalysisFailed" in status._debug_text.value and job.job_id in status._debug_text.value
    assert visible(status.retry_button) and not visible(status.results_button)
    assert token not in widget_state_text(status)
    # show_results on a failed job shows the reason in place instead of raising
    assert status.show_results() is None
    assert "node_f" in status._results.children[0].value

    # Retry resubmits: a new job (the backend now succeeds) followed by the same widget.
    backend.set_backend_state(None)
    new = status.retry()
    quick(new)
    assert new is status.job and new is not job
    wait_state(status, ("submitted", "progress", "failed", "done"))
    assert status.history[0] in ("new", "submitted")
