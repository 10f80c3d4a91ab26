"""The demo server against hostile clients: idle connections, forged Host headers, deep JSON."""

from __future__ import annotations

import socket
import threading
import time

import requests

from oda_widgets import demo


def test_idle_half_open_connections_hold_no_thread():
    """300 sockets that sent half a request held 300 threads of the old server, for ever."""
    with demo.start(speed=20) as server:
        requests.get(f"{server.url}/instr-list", timeout=10)  # the server's own threads are up
        baseline = threading.active_count()
        sockets = []
        try:
            for _ in range(300):
                s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
                s.sendall(b"GET /instr-list HTTP/1.1\r\nHost: x\r\n")  # never finished
                sockets.append(s)
            time.sleep(1.0)
            assert threading.active_count() - baseline <= 2, threading.active_count() - baseline
            # and the server still answers everyone else
            t0 = time.monotonic()
            assert "isgri" in requests.get(f"{server.url}/instr-list", timeout=10).json()
            assert time.monotonic() - t0 < 5
        finally:
            for s in sockets:
                s.close()


def test_idle_connections_are_closed_after_the_idle_timeout(monkeypatch):
    monkeypatch.setattr(demo, "IDLE_TIMEOUT", 1)
    with demo.start(speed=20) as server:
        s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        s.sendall(b"GET /instr-list HTTP/1.1\r\n")
        t0 = time.monotonic()
        assert s.recv(100) == b""  # closed by the server
        assert time.monotonic() - t0 < 5
        s.close()


def test_the_host_header_is_not_echoed_into_a_redirect(demo_dispatcher):
    token = demo.make_token()
    r = requests.get(
        f"{demo_dispatcher}/api/instr-list",
        params={"instrument": "mock", "token": token},
        headers={"Host": "evil.example"},
        allow_redirects=False,
        timeout=10,
    )
    assert r.status_code == 302
    assert "evil.example" not in r.headers["Location"]
    assert r.headers["Location"].startswith("/instr-list?")


def test_deeply_nested_values_are_refused_with_400_not_500(demo_dispatcher):
    """The real dispatcher answers 400 to a selected_catalog nested too deeply; the demo gave 500."""
    deep = "[" * 100000 + "]" * 100000
    base = {
        "instrument": "isgri",
        "product_type": "isgri_spectrum",
        "query_type": "Real",
        "query_status": "new",
        "token": demo.make_token(),
    }
    r = requests.post(f"{demo_dispatcher}/run_analysis", data={**base, "selected_catalog": deep}, timeout=30)
    assert r.status_code == 400 and "nested too deeply" in r.json()["error_message"]
    r = requests.post(f"{demo_dispatcher}/run_analysis", data={**base, "unused": deep}, timeout=30)
    assert r.status_code != 500
