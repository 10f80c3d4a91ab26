"""Hostile servers and inputs: figures of the bounds, each beside a named peer measured here.

    .venv/bin/python benchmarks/hostile.py

1. Memory to receive a 300 MB answer: ``Dispatcher.run_analysis`` with a 64 MiB cap (refuses past
   it while streaming; the default cap, 768 MiB, is sized for the largest legitimate answer) vs
   plain ``requests`` (what a client without a cap does: ``.content`` then
   ``json.loads``). Peak RSS of a fresh process each.
2. Time to give up on a server that trickles a byte a second: the dispatcher's deadline vs the
   per-read time-out alone (which never fires).
3. Threads: 20 ``JobBoard``s (their own pollers) after ``close()``, and 20 sharing the default
   poller; peer: 20 ``Poller``s that are never closed (what every board had).
4. Demo server threads with 300 idle half-open connections: waitress (ours) vs werkzeug's
   threaded development server (what the demo had).
5. Log records holding the token in a DEBUG-level flow (instruments, description, a job to done):
   ours vs the same requests sent with ``requests`` and the token in the query string.

Figures are indicative on a shared machine.
"""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "client"))

from hostile_server import HostileServer, huge_body, trickled_body  # noqa: E402

PEAK = textwrap.dedent(
    """
    import json, resource, sys
    url, how = sys.argv[1], sys.argv[2]
    if how == "ours":
        from oda_widgets.client import Dispatcher, OdaError
        try:
            Dispatcher(url, token="", max_response_bytes=64 * 2**20).run_analysis(
                {"instrument": "x", "product_type": "y"}
            )
        except OdaError as exc:
            outcome = type(exc).__name__
    else:
        import requests
        try:
            json.loads(requests.post(url + "/run_analysis", data={"instrument": "x"}, timeout=120).content)
            outcome = "parsed"
        except ValueError as exc:
            outcome = type(exc).__name__
    print(outcome, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    """
)


def memory_for_a_huge_answer() -> None:
    with HostileServer() as server:
        server.route("/run_analysis", huge_body(300 * 2**20, announce=False))
        figures = {}
        for how in ("ours", "plain requests"):
            out = subprocess.run(
                [sys.executable, "-c", PEAK, server.url, "ours" if how == "ours" else "peer"],
                capture_output=True,
                text=True,
                timeout=600,
            ).stdout.split()
            figures[how] = (out[0], float(out[1]))
    ours, peer = figures["ours"], figures["plain requests"]
    print(
        f"300 MB chunked answer: peak RSS ours {ours[1]:.0f} MiB ({ours[0]}), "
        f"plain requests {peer[1]:.0f} MiB ({peer[0]}); ratio {peer[1] / ours[1]:.1f}×"
    )


def trickle() -> None:
    from oda_widgets.client import Dispatcher, OdaError, RetryPolicy

    with HostileServer() as server:
        server.route("/run_analysis", trickled_body(every=1.0))
        t0 = time.monotonic()
        try:
            Dispatcher(server.url, token="", deadline=5, retries=RetryPolicy(max_tries=1)).run_analysis(
                {"instrument": "x"}
            )
        except OdaError:
            pass
        ours = time.monotonic() - t0
    print(
        f"a byte a second: ours gives up after {ours:.1f} s (deadline 5 s); the per-read time-out "
        "alone (120 s) never fires: peer unbounded"
    )


def threads() -> None:
    from oda_widgets import demo
    from oda_widgets.client import Dispatcher, Job
    from oda_widgets.job_status import JobBoard, Poller

    with demo.start(speed=20) as server:
        disp = Dispatcher(server.url, token=demo.make_token())

        def job(i: float) -> Job:
            j = Job(disp, "spi_acs", "spi_acs_lc", {"time_bin": 1.0 + 0.25 * i})
            j.poll_initial = j.poll_cap = 0.2
            return j

        base = threading.active_count()
        peers = [Poller(2) for _ in range(20)]
        watches = [p.watch(job(i)) for i, p in enumerate(peers)]
        for w in watches:
            w.wait(60)
        never_closed = threading.active_count() - base
        for p in peers:
            p.close()
        time.sleep(1)

        base = threading.active_count()
        boards = [JobBoard(max_concurrent=2, store=False) for _ in range(20)]
        for i, b in enumerate(boards):
            b.add(job(100 + i))
        for b in boards:
            b.wait(60)
        open_boards = threading.active_count() - base
        for b in boards:
            b.close()
        deadline = time.monotonic() + 10
        while threading.active_count() > base and time.monotonic() < deadline:
            time.sleep(0.1)
        closed = threading.active_count() - base

        base = threading.active_count()
        shared = [JobBoard(store=False) for _ in range(20)]
        for i, b in enumerate(shared):
            b.add(job(200 + i))
        for b in shared:
            b.wait(60)
        sharing = threading.active_count() - base
        for b in shared:
            b.close()
    print(
        f"20 boards: +{open_boards} threads while open, +{closed} after close(); 20 boards sharing "
        f"the default poller: +{sharing}; peer (20 pollers never closed): +{never_closed} for ever"
    )


def demo_threads() -> None:
    from werkzeug.serving import WSGIRequestHandler, make_server

    from oda_widgets import demo
    from oda_widgets.demo.app import create_app

    class Quiet(WSGIRequestHandler):
        def log_request(self, *args):
            return None

    def held(port: int) -> int:
        base = threading.active_count()
        socks = []
        for _ in range(300):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(b"GET /instr-list HTTP/1.1\r\nHost: x\r\n")
            socks.append(s)
        time.sleep(1.5)
        n = threading.active_count() - base
        for s in socks:
            s.close()
        return n

    with demo.start() as server:
        ours = held(server.port)
    peer_server = make_server("127.0.0.1", 0, create_app(), threaded=True, request_handler=Quiet)
    t = threading.Thread(target=peer_server.serve_forever, daemon=True)
    t.start()
    try:
        peer = held(peer_server.server_port)
    finally:
        peer_server.shutdown()
        peer_server.server_close()
    print(
        f"300 idle half-open connections: demo (waitress) +{ours} threads; werkzeug threaded server +{peer}"
    )


def token_lines() -> None:
    import requests

    from oda_widgets import demo
    from oda_widgets.client import Dispatcher

    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    handler = Collect()
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.DEBUG)
    token = demo.make_token("bench@example.org")
    params = {"T1": "2017-03-06T00:00:00", "T2": "2017-03-07T00:00:00", "E1_keV": 27.0}
    try:
        with demo.start(speed=20) as server:
            disp = Dispatcher(server.url, token=token)
            disp.instruments()
            disp.description("isgri", "isgri_image")
            job = disp.submit("isgri", "isgri_image", params)
            job.poll_initial = job.poll_cap = 0.2
            job.wait(60)
            ours = sum(token in r for r in records)
            records.clear()
            # the peer: the same exchanges with the token in query strings, no filter on a fresh logger
            urllib3_log = logging.getLogger("urllib3.connectionpool")
            saved = list(urllib3_log.filters)
            for f in saved:
                urllib3_log.removeFilter(f)
            try:
                s = requests.Session()
                s.get(f"{server.url}/api/instr-list", params={"instrument": "mock", "token": token})
                s.get(f"{server.url}/api/meta-data", params={"instrument": "isgri", "token": token})
                base = {"instrument": "isgri", "product_type": "isgri_image", "query_type": "Real", **params}
                body = s.get(
                    f"{server.url}/run_analysis", params={**base, "E1_keV": 28.0, "token": token}
                ).json()
                while body["query_status"] not in ("done", "failed"):
                    time.sleep(0.2)
                    ids = {"job_id": body["job_monitor"]["job_id"], "session_id": body["session_id"]}
                    status = {"query_status": body["query_status"]}
                    body = s.get(
                        f"{server.url}/run_analysis",
                        params={**base, "E1_keV": 28.0, **ids, **status, "token": token},
                    ).json()
                peer = sum(token in r for r in records)
            finally:
                for f in saved:
                    urllib3_log.addFilter(f)
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    print(
        f"DEBUG-level flow: log records holding the token: ours {ours}; requests with the token in URLs {peer}"
    )


if __name__ == "__main__":
    for step in (memory_for_a_huge_answer, trickle, threads, demo_threads, token_lines):
        step()
