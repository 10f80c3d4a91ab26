"""JobStatus and JobBoard against the demo dispatcher over HTTP."""

from __future__ import annotations

import asyncio
import re
import threading
import warnings

import pytest
from peers import free_port
from status_helpers import visible, wait_state, widget_state_text
from werkzeug.serving import make_server

from oda_widgets import demo
from oda_widgets.client import AnalysisFailed, Dispatcher, Job, JobState, RetryPolicy
from oda_widgets.job_status import NO_CANCEL, JobBoard, JobStatus, Poller

warnings.filterwarnings("ignore", message="The HMAC key")

#: Three days of INTEGRAL data: a dozen science windows, so progress has steps to show.
LONG = {"T1": "2017-03-06T00:00:00", "T2": "2017-03-09T00:00:00"}


@pytest.fixture(scope="module")
def token():
    return demo.make_token()


@pytest.fixture(scope="module")
def slow_demo():
    """A demo dispatcher whose jobs take a few seconds (progress is visible)."""
    server = demo.start(speed=1.5)
    yield server
    server.stop()


def quick(job, cap=0.3):
    job.poll_initial = 0.1
    job.poll_cap = cap
    return job


def test_full_state_sequence_with_scw_grid_and_comment(slow_demo, token):
    disp = Dispatcher(slow_demo.url, token=token)
    job = quick(disp.submit("isgri", "isgri_image", {**LONG, "E1_keV": 25.0, "foo": 1}))
    status = JobStatus(job, poller=Poller())
    seen_grid = []
    status.observe(lambda _c: seen_grid.append(status._detail.value), "fraction")
    wait_state(status, "done", timeout=60)
    status.wait(10)
    assert status.history == ["submitted", "progress", "ready", "done"]
    grids = [g for g in seen_grid if "oda-scw" in g]
    assert grids, "no science-window grid was shown while the job ran"
    assert "ii_skyimage" in grids[-1] and "science windows" in grids[-1]
    finished_cell = re.compile(r"title='\d{12}\.\d{3}: (computed|restored from cache)'")
    assert any(finished_cell.search(g) for g in grids)
    assert job.progress.scw_total >= 5
    assert "argument foo is not used" in status._notes.value  # the dispatcher's comment
    assert "isgri" in status._header.value and "oda-job-state-done" in status._header.value
    assert visible(status.results_button) and status.fraction == 1.0
    assert token not in widget_state_text(status)
    text = repr(status)
    assert "isgri isgri_image" in text and "done" in text and "argument foo" in text
    assert status._repr_mimebundle_()["text/plain"] == text

    view = status.show_results()
    from oda_widgets.results import ResultsView

    assert isinstance(view, ResultsView) and status.results_widget is view
    assert status._results.children == (view,)


def test_backend_failure_shows_messages_debug_and_retry(slow_demo, token):
    disp = Dispatcher(slow_demo.url, token=token)
    job = quick(disp.submit("isgri", "isgri_image", {**LONG, "src_name": "FAIL_BACKEND"}))
    status = JobStatus(job, poller=Poller())
    wait_state(status, "failed", timeout=60)
    assert status.history[-1] == "failed" and status.history[0] == "submitted"
    assert isinstance(job.error, AnalysisFailed)
    assert "failed: get dataserver products" in status.message
    assert "failed on purpose" in status._notes.value  # error_message
    assert status._debug.layout.display != "none"
    assert "AnalysisException" in status._debug_text.value  # debug_message
    assert visible(status.retry_button) and not visible(status.results_button)
    assert not visible(status.stop_button)
    assert status._bar.bar_style == "danger"
    assert token not in widget_state_text(status)
    assert status.show_results() is None and "failed" in status._results.children[0].value

    new = quick(status.retry())
    assert status.job is new and new.params == job.params
    wait_state(status, "failed", timeout=60)  # FAIL_BACKEND fails every time
    assert status.history[-1] == "failed" and new.state is JobState.FAILED


def test_cancel_says_the_job_may_still_run_then_resume(slow_demo, token):
    disp = Dispatcher(slow_demo.url, token=token)
    job = quick(disp.submit("isgri", "isgri_lc", {**LONG, "E1_keV": 26.0}))
    status = JobStatus(job, poller=Poller())
    status.cancel()
    wait_state(status, "stopped")
    assert status.message == NO_CANCEL and "no cancel" in status._notes.value
    assert visible(status.resume_button) and not visible(status.stop_button)
    polls = job.polls
    status.resume()
    wait_state(status, "done", timeout=60)
    assert job.polls > polls and status.history[-1] == "done" and "stopped" in status.history


def test_fifty_concurrent_jobs_all_finish_with_bounded_requests(demo_dispatcher, token):
    disp = Dispatcher(demo_dispatcher, token=token)
    board = JobBoard(max_concurrent=5, max_rate=None)
    jobs = [quick(Job(disp, "isgri", "isgri_lc", {"E1_keV": 20.0 + 0.1 * i}), cap=1.0) for i in range(50)]
    for job in jobs:
        board.add(job)
    assert len(board.statuses) == 50 and board.add(jobs[0]) is board.statuses[0]
    counts = board.wait(240)
    assert counts == {"done": 50}, board.counts()
    assert all(j.state is JobState.DONE for j in jobs)
    assert len({j.job_id for j in jobs}) == 50
    assert 1 < board.poller.max_in_flight <= 5
    assert board.poller.polls >= 100  # submit + at least one poll each
    assert "50 jobs" in board._summary.value and "50 done" in board._summary.value
    assert len(board.store.entries()) == 50


@pytest.fixture
def restartable():
    port = free_port()
    first = demo.start(port=port, speed=1.0)
    app = first.app
    state = {"server": first, "thread": None}

    def stop():
        server = state["server"]
        if isinstance(server, demo.DemoServer):
            server.stop()
        elif server is not None:
            server.shutdown()
            state["thread"].join(10)
            server.server_close()
        state["server"] = None

    def start():
        server = make_server("127.0.0.1", port, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        state.update(server=server, thread=thread)

    yield first.url, stop, start
    stop()


def test_dispatcher_restart_mid_job_shows_retrying_then_done(restartable, token):
    url, stop, start = restartable
    disp = Dispatcher(url, token=token, retries=RetryPolicy(max_tries=60, initial=0.1, cap=0.2))
    job = quick(disp.submit("isgri", "isgri_image", {**LONG, "E1_keV": 27.0}))
    status = JobStatus(job, poller=Poller())
    wait_state(status, "progress", timeout=30)
    stop()
    wait_state(status, "retrying", timeout=30)
    assert "dispatcher unreachable, retrying" in status.message
    assert "connection" in status.message  # refused, or a kept-alive one dropped
    assert status._bar.bar_style == "warning" and "oda-retrying" in status._notes.value
    start()
    wait_state(status, "done", timeout=60)
    h = status.history
    assert "retrying" in h and h.index("retrying") > h.index("progress") and h[-1] == "done"


def test_retry_budget_spent_is_final_but_resumable(restartable, token):
    url, stop, start = restartable
    disp = Dispatcher(url, token=token, retries=RetryPolicy(max_tries=3, initial=0.05, cap=0.1))
    job = quick(disp.submit("isgri", "isgri_image", {**LONG, "E1_keV": 28.0}))
    status = JobStatus(job, poller=Poller())
    wait_state(status, ("submitted", "progress"))
    stop()
    wait_state(status, "unreachable", timeout=30)
    assert "unreachable" in status.message and "after 3 tries" in status.message
    assert job.job_id in status.message
    assert visible(status.resume_button) and visible(status.retry_button)
    assert status._bar.bar_style == "danger" and "oda-error" in status._notes.value
    assert job.state in (JobState.SUBMITTED, JobState.PROGRESS, JobState.READY)
    start()
    status.resume()
    wait_state(status, "done", timeout=60)
    assert status.history[-1] == "done" and "unreachable" in status.history


def test_board_restore_on_a_board_adds_only_missing_jobs(demo_dispatcher, token, cache_dir):
    disp = Dispatcher(demo_dispatcher, token=token)
    board = JobBoard()
    first = board.add(quick(disp.submit("isgri", "isgri_lc", {"E1_keV": 31.0}), cap=1.0))
    second = board.add(quick(disp.submit("jemx", "jemx_lc", {"E1_keV": 4.0}), cap=1.0))
    board.wait(60)
    assert board.counts() == {"done": 2}
    assert board.restore() is board and len(board.statuses) == 2  # nothing twice
    board.remove(second)
    assert len(board.statuses) == 1 and len(board.store.entries()) == 1
    text = repr(board)
    assert text.startswith("JobBoard: 1 job 1 done") and "isgri isgri_lc" in text
    assert board._repr_mimebundle_()["text/plain"] == text

    fresh = JobBoard.restore(dispatchers={demo_dispatcher: disp})  # "after a restart"
    (status,) = fresh.statuses
    assert status.state == "done" and status.job.job_id == first.job.job_id
    assert status.watch is None  # a finished job is not polled
    names = [n for n, _ in status.job.result().items()]  # products fetched again
    assert names and all(n.startswith("isgri_lc_") for n in names)
    assert token not in (cache_dir / "jobs.json").read_text()

    (cache_dir / "jobs.json").write_text('{"version": 1, "jobs": {"x": {"url": "ftp://nowhere"}}}')
    broken = JobBoard.restore()
    assert broken.statuses == [] and len(broken.problems) == 1
    assert "Could not restore" in broken._summary.value


def test_request_rate_is_bounded_across_jobs(demo_dispatcher, token):
    """Twenty jobs starting together are spread out: at most max_rate requests start per second."""
    import time

    disp = Dispatcher(demo_dispatcher, token=token)
    board = JobBoard(poller=Poller(max_rate=4.0))  # its own poller: the shared one counts every board's polls
    t0 = time.monotonic()
    for i in range(20):
        board.add(quick(Job(disp, "spi_acs", "spi_acs_lc", {"time_bin": 1.0 + 0.5 * i})))
    board.wait(60)
    elapsed = time.monotonic() - t0
    assert board.counts() == {"done": 20}  # SPI-ACS is synchronous: one request each
    assert board.poller.polls == 20
    assert elapsed >= 19 / 4.0 - 0.1, f"20 requests took only {elapsed:.2f} s at 4 per second"
    board.poller.close()


def test_502_and_503_while_polling_show_retrying_then_done(slow_demo, token):
    """Proxy faults (the client tests' fault proxy, in front of the demo) while the job polls."""
    from fault_proxy import FaultProxy

    with FaultProxy(slow_demo.url) as proxy:
        disp = Dispatcher(proxy.url, token=token, retries=RetryPolicy(max_tries=10, initial=0.2, cap=0.4))
        job = quick(disp.submit("isgri", "isgri_spectrum", {**LONG, "E1_keV": 29.0}))
        status = JobStatus(job, poller=Poller())
        wait_state(status, ("submitted", "progress"))
        proxy.plan(502, 503, 502, 503)
        wait_state(status, "retrying", timeout=30)
        assert "dispatcher unreachable, retrying (HTTP 50" in status.message
        wait_state(status, "done", timeout=60)
        actions = [s.action for s in proxy.seen()]
    assert actions.count(502) == 2 and actions.count(503) == 2
    h = status.history
    assert "retrying" in h and h[-1] == "done" and h.index("retrying") < len(h) - 1


def test_an_unwatched_status_is_updated_on_its_loop_while_awaiting(demo_dispatcher, token, run_async):
    """JobStatus(job, start=False) and then `await job`: polls run in worker threads, yet the
    widget's traits change only on the loop that made it (as a kernel needs)."""

    async def main():
        disp = Dispatcher(demo_dispatcher, token=token)
        job = quick(disp.submit("jemx", "jemx_lc", {"E1_keV": 3.0, "E2_keV": 20.0}))
        status = JobStatus(job, start=False, store=False)
        threads = set()
        status.observe(lambda _c: threads.add(threading.get_ident()), "state")
        await asyncio.wait_for(job, timeout=60)
        for _ in range(50):  # the last hand-over runs on the next loop iterations
            if status.state == "done":
                break
            await asyncio.sleep(0.02)
        return status.state, threads, threading.get_ident()

    state, threads, loop_thread = run_async(main())
    assert state == "done" and threads == {loop_thread}
