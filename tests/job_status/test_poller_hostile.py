"""The poller against hostile servers: slow jobs never starve the others, and pollers (and their
threads) end with the boards that made them."""

from __future__ import annotations

import threading
import time

import pytest
from hostile_server import HostileServer, trickled_body

from oda_widgets import demo
from oda_widgets.client import Dispatcher, Job, JobState
from oda_widgets.job_status import JobBoard, Poller
from oda_widgets.job_status.poller import default_poller

TOKEN = demo.make_token()


def _spi_acs(disp, i: float) -> Job:
    job = Job(disp, "spi_acs", "spi_acs_lc", {"time_bin": 1.0 + 0.25 * i})
    job.poll_initial, job.poll_cap = 0.2, 0.3
    return job


def _threads_settle(at_most: int, timeout: float = 10.0) -> int:
    deadline = time.monotonic() + timeout
    while threading.active_count() > at_most and time.monotonic() < deadline:
        time.sleep(0.1)
    return threading.active_count()


def test_six_trickling_jobs_do_not_delay_a_healthy_one(demo_dispatcher):
    """Six jobs whose server answers a byte a second held all six places of the poller (for
    ever: no deadline), so no other job of the board was polled again."""
    with HostileServer() as hostile:
        hostile.route("/run_analysis", trickled_body(every=1.0))
        slow_disp = Dispatcher(hostile.url, token=TOKEN)
        poller = Poller(max_concurrent=6, max_rate=None)
        try:
            for i in range(6):
                poller.watch(Job(slow_disp, "isgri", "isgri_image", {"E1_keV": 20.0 + i}))
            deadline = time.monotonic() + 10
            while len(hostile.seen) < 6 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert len(hostile.seen) == 6 and poller.in_flight == 6  # every place taken

            healthy = _spi_acs(Dispatcher(demo_dispatcher, token=TOKEN), 0)
            t0 = time.monotonic()
            updates: list[float] = []
            watch = poller.watch(healthy, on_update=lambda _job: updates.append(time.monotonic() - t0))
            assert watch.wait(30), "the healthy job was never polled"
            assert healthy.state is JobState.DONE
            # a place frees up once the slow requests move to the slow lane (3 s), not after them
            assert updates[0] < poller.slow_after + 3
            assert poller.slow == 6 and poller.max_slow_seen == 6
        finally:
            poller.close()


def test_a_poll_of_a_slow_job_keeps_its_place_when_the_slow_lane_is_full(demo_dispatcher):
    with HostileServer() as hostile:
        hostile.route("/run_analysis", trickled_body(every=1.0))
        poller = Poller(max_concurrent=2, max_rate=None, slow_after=0.3, max_slow=1)
        try:
            for i in range(3):
                poller.watch(
                    Job(Dispatcher(hostile.url, token=TOKEN), "isgri", "isgri_image", {"E1_keV": 20.0 + i})
                )
            time.sleep(1.5)
            assert poller.slow == 1 and poller.in_flight == 2  # bounded: 2 places + 1 slow
        finally:
            poller.close()


def test_closed_boards_end_their_threads(demo_dispatcher):
    """Each board started a poller whose loop and worker threads never stopped (20 boards → 42
    threads). A board with its own poller stops it when closed."""
    disp = Dispatcher(demo_dispatcher, token=TOKEN)
    baseline = threading.active_count()
    boards = [JobBoard(max_concurrent=2, store=False) for _ in range(20)]
    for i, board in enumerate(boards):
        board.add(_spi_acs(disp, i))
    for board in boards:
        assert board.wait(60) == {"done": 1}
    during = threading.active_count()
    assert during > baseline  # each own poller has its loop and worker threads
    for board in boards:
        board.close()
    assert _threads_settle(baseline) <= baseline, [t.name for t in threading.enumerate()]
    with pytest.raises(Exception, match="closed"):
        boards[0].poller.watch(_spi_acs(disp, 99))


def test_boards_share_one_poller_by_default(demo_dispatcher):
    disp = Dispatcher(demo_dispatcher, token=TOKEN)
    shared = default_poller()
    baseline = threading.active_count()
    boards = [JobBoard(store=False) for _ in range(20)]
    assert all(board.poller is shared for board in boards)
    for i, board in enumerate(boards):
        board.add(_spi_acs(disp, 40 + i))
    for board in boards:
        assert board.wait(60) == {"done": 1}
    # one loop thread and at most max_concurrent + max_slow workers, however many boards
    assert threading.active_count() - baseline <= 1 + shared.max_concurrent + shared.max_slow
    for board in boards:
        board.close()
    assert not shared.closed  # a shared poller outlives the boards


def test_a_closed_board_leaves_no_live_widget_behind(demo_dispatcher):
    """Live widgets holding closed ones break saving a notebook's widget state."""
    from ipywidgets.widgets.widget import _instances

    board = JobBoard(store=False)
    board.add(_spi_acs(Dispatcher(demo_dispatcher, token=TOKEN), 300))
    board.wait(60)
    parts = [board, board._list, board._summary, *board.statuses]
    board.close()
    assert not any(w in _instances.values() for w in parts)
    for widget in list(_instances.values()):
        widget.get_state()  # every live widget can still be saved
