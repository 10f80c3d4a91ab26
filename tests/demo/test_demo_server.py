"""The in-process server object: binding, context manager, clean stop, concurrent jobs."""

from __future__ import annotations

import concurrent.futures

import pytest
import requests
from demo_helpers import complete

from oda_widgets import demo


def test_start_binds_loopback_on_a_free_port_and_stops_cleanly():
    with demo.start(speed=50) as server:
        assert server.url.startswith("http://127.0.0.1:") and server.port > 0
        assert str(server) == server.url and "running" in repr(server)
        assert requests.get(f"{server.url}/instr-list", timeout=10).status_code == 200
        other = demo.start()
        try:
            assert other.port != server.port
        finally:
            other.stop()
    assert "stopped" in repr(server)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{server.url}/instr-list", timeout=5)
    server.stop()


def test_concurrent_jobs_all_complete_with_distinct_ids(demo_dispatcher):
    def one(i):
        body, _ = complete(
            demo_dispatcher,
            instrument="isgri",
            product_type="isgri_image",
            max_pointings="2",
            T2="2017-03-08T00:00:00",
            E2_keV=str(41 + i),
        )
        return body["job_monitor"]["job_id"], body["query_status"]

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(one, range(8)))
    assert {status for _, status in results} == {"done"}
    assert len({job_id for job_id, _ in results}) == 8
