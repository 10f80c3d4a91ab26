"""Shared peers for the tests: our demo dispatcher and the real dispatcher, both real HTTP servers;
the shared data (``shared``/``samples``/``captures`` fixtures, ``$ODA_WIDGETS_SHARED``); and the
markers a test gets from the fixtures it uses (``real_dispatcher``, ``browser``), so
``-m "not real_dispatcher"`` really runs without that server."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from peers import RealDispatcher
from shared_data import CAPTURES, SAMPLES, SHARED, SHARED_ONTOLOGY, WORKFLOW_RUNS


@pytest.fixture(scope="module")
def real_dispatcher(tmp_path_factory):
    """The real dispatcher 1.3.3 on 127.0.0.1 (fresh state per test module)."""
    server = RealDispatcher(tmp_path_factory.mktemp("real-dispatcher"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def demo_dispatcher():
    """URL of an in-process demo dispatcher (fast jobs) shared by the session."""
    from oda_widgets import demo

    server = demo.start(speed=20.0)
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def workflow_demo():
    """The demo dispatcher in front of one real nb2service running the shipped workflow notebooks,
    shared by the session (tests/workflows, the products and browser tests of workflow products)."""
    from oda_widgets import demo

    t0 = time.monotonic()
    server = demo.start(ontology=SHARED_ONTOLOGY)
    service = server.workflows["optical_photometry"].service
    service.ensure_started()
    print(f"\nnb2service ready in {service.started_in:.1f} s ({time.monotonic() - t0:.1f} s with the demo)")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def workflow_jobs(workflow_demo):
    """The runs of ``WORKFLOW_RUNS``, submitted together once per session so they share the two
    cores; each job records the states it went through (``job.seen``). Later requests with the
    same values are answered from these jobs (and nb2service's cache), at no notebook run."""
    from oda_widgets.client import Dispatcher

    disp = Dispatcher(workflow_demo.url)
    out = {}
    for key, (instrument, product, params) in WORKFLOW_RUNS.items():
        job = disp.submit(instrument, product, params)
        job.seen = [job.state.value]
        job.observe(lambda j: j.seen.append(j.state.value) if j.seen[-1] != j.state.value else None)
        job.submitted_at_wall = time.monotonic()
        out[key] = job
    return out


def _run_in_fresh_thread(coro):
    """``asyncio.run(coro)`` on a thread of its own. Playwright's sync API (the browser tests) leaves
    an event loop marked as running on the main thread for the rest of the session, where
    ``asyncio.run`` would refuse to start; a fresh thread has no loop."""
    import asyncio
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="run-async") as pool:
        return pool.submit(asyncio.run, coro).result()


@pytest.fixture
def run_async():
    """``run_async(coro)``: run a coroutine to completion in a new event loop and return its result."""
    return _run_in_fresh_thread


@pytest.fixture(scope="session")
def shared() -> Path:
    """The shared data folder (``$ODA_WIDGETS_SHARED``, else ``shared/`` beside the repository)."""
    assert SHARED.is_dir(), f"{SHARED} is missing: put the project's shared/ beside the repository"
    return SHARED


@pytest.fixture(scope="session")
def samples(shared) -> Path:
    """Real INTEGRAL sample files."""
    assert SAMPLES.is_dir(), SAMPLES
    return SAMPLES


@pytest.fixture(scope="session")
def captures(shared) -> Path:
    """Captured responses of real dispatchers."""
    assert CAPTURES.is_dir(), CAPTURES
    return CAPTURES


#: A test that uses one of these fixtures (directly or through another) gets the marker.
MARKER_FIXTURES = {
    "real_dispatcher": {"real_dispatcher"},
    "browser": {"page", "browser", "context", "jupyter_server", "make_notebook"},
}


def pytest_collection_modifyitems(items):
    """Markers from the fixtures a test uses; then browser tests last: the quick layers report
    first, and the session-long Playwright instance starts only after them."""
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        for marker, fixtures in MARKER_FIXTURES.items():
            if used & fixtures and marker not in item.keywords:
                item.add_marker(getattr(pytest.mark, marker))
    items.sort(key=lambda item: "browser" in item.keywords)
