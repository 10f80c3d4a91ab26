"""JobStatus against the real dispatcher 1.3.3 (empty-async driven from outside, REAL_DISPATCHER.md)."""

from __future__ import annotations

import pytest
from peers import real_token
from status_helpers import fresh_p, visible, wait_state, widget_state_text

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


def test_polling_runs_on_the_running_event_loop(backend, token, run_async):
    """In a kernel the loop keeps running between polls and the widget is updated on its thread."""
    import asyncio
    import threading
    import time

    async def main():
        disp = Dispatcher(backend.url, token=token)
        job = quick(await asyncio.to_thread(disp.submit, "empty-async", "numerical", {"p": fresh_p()}))
        status = JobStatus(job, poller=Poller())
        assert status.watch.loop is asyncio.get_running_loop()
        threads = set()
        status.observe(lambda _c: threads.add(threading.get_ident()), "state")

        def finish():
            time.sleep(0.4)
            backend.call_back(job.job_id, job.session_id, "progress", message="working", node_id="n1")
            time.sleep(0.4)
            backend.set_backend_state("done")
            backend.call_back(job.job_id, job.session_id, "done", message="done", node_id="n2")

        driver = asyncio.get_running_loop().run_in_executor(None, finish)
        worst, last = 0.0, time.monotonic()
        deadline = last + 30
        while status.state != "done" and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
            now = time.monotonic()
            worst, last = max(worst, now - last), now
        await driver
        return status, threads, worst, threading.get_ident()

    status, threads, worst, loop_thread = run_async(main())
    assert status.history == ["submitted", "progress", "ready", "done"]
    assert threads == {loop_thread}  # traits set on the loop's thread only
    assert worst < 0.25, f"the event loop was blocked for {worst:.3f} s"


def test_restore_in_a_new_process(backend, token, cache_dir):
    """A kernel restart: a new Python process re-attaches to an unfinished job and shows a
    finished one, with the token discovered from $ODA_TOKEN (never read from the store)."""
    import json
    import os
    import subprocess
    import sys

    disp = Dispatcher(backend.url, token=token)
    running = quick(disp.submit("empty-async", "numerical", {"p": fresh_p()}))
    watching = JobStatus(running, poller=Poller())
    wait_state(watching, "submitted")
    watching.cancel()  # the old kernel dies
    finished = quick(disp.submit("empty-async", "numerical", {"p": fresh_p()}))
    backend.set_backend_state("done")
    backend.call_back(finished.job_id, finished.session_id, "done", message="done", node_id="n")
    finished.wait(30)
    done_status = JobStatus(finished, poller=Poller())
    assert done_status.state == "done"
    stored = (cache_dir / "jobs.json").read_text()
    assert token not in stored and running.job_id in stored and finished.job_id in stored

    backend.call_back(running.job_id, running.session_id, "done", message="done", node_id="n")
    code = """
import json
from oda_widgets.job_status import JobBoard
board = JobBoard.restore()
before = {s.job.job_id: s.state for s in board.statuses}
board.wait(60)
out = {"before": before, "after": {s.job.job_id: s.history for s in board.statuses},
       "products": {s.job.job_id: sorted(n for n, _ in s.job.result().items()) for s in board.statuses},
       "problems": board.problems, "repr": repr(board)}
print(json.dumps(out))
"""
    env = {**os.environ, "ODA_TOKEN": token, "ODA_WIDGETS_CACHE_DIR": str(cache_dir)}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["problems"] == []
    assert out["before"][finished.job_id] == "done"
    assert out["before"][running.job_id] in ("submitted", "progress", "ready")
    assert out["after"][running.job_id][-1] == "done"
    # empty-async returns no product payloads; result() working (a re-fetch for the job that
    # was already done) is what matters here.
    assert out["products"] == {running.job_id: [], finished.job_id: []}
    assert "2 jobs" in out["repr"] and "2 done" in out["repr"]
    assert token not in proc.stdout and token not in proc.stderr


def test_stage_backend_progress_and_integral_grid(backend, token):
    """A stage-reporting backend (nb2workflow style) drives the bar; INTEGRAL callbacks the grid."""
    disp = Dispatcher(backend.url, token=token)
    job = quick(disp.submit("empty-async", "dummy", {"p": fresh_p()}))
    status = JobStatus(job, poller=Poller())
    wait_state(status, "submitted")
    backend.call_back(
        job.job_id,
        job.session_id,
        "progress",
        stage="simulation",
        progress="3",
        progress_max="10",
        message="simulating",
    )
    wait_state(status, "progress")
    status.cancel()
    status.wait(10)
    assert status.fraction == pytest.approx(0.3)
    assert "stage simulation 3/10" in status._detail.value and "simulating" in status._detail.value
    assert "simulating" not in status._notes.value and "no cancel" in status._notes.value

    other = quick(disp.submit("empty-async", "dummy", {"p": fresh_p()}))
    for scw, message in (
        ("066500220010.001", "main done"),
        ("066500230010.001", "restored from cache"),
        ("066500240010.001", "analysis exception"),
        ("066500250010.001", "main starting"),
    ):
        backend.call_back(
            other.job_id, other.session_id, "progress", node="ii_skyimage", scwid=scw, message=message
        )
    grid_status = JobStatus(other, poller=Poller())
    wait_state(grid_status, "progress")
    grid_status.cancel()
    detail = grid_status._detail.value
    assert "4 science windows: 1 running, 1 computed, 1 restored from cache, 1 failed" in detail
    assert "last: ii_skyimage: main starting" in detail
    for scw, kind in (
        ("066500220010.001", "computed"),
        ("066500230010.001", "restored from cache"),
        ("066500240010.001", "failed"),
        ("066500250010.001", "main starting"),
    ):
        assert f"title='{scw}: {kind}'" in detail
    assert token not in widget_state_text(grid_status)
