"""Benchmark: a notebook kernel following 20 jobs stays responsive and nearly idle.

Starts the demo dispatcher in its own process (slow jobs, so all 20 keep polling through the
measurement) and a real IPython kernel (jupyter_client). In the kernel, 20 jobs go on a
``JobBoard``; then we measure, against the same kernel with no jobs:

* the round-trip latency of a trivial cell (``execute_request`` → ``execute_reply``),
* the kernel process's CPU use (user + system time / wall time, one core = 100 %).

Goals: cell latency < 50 ms, polling CPU < 2 %.  Run: ``.venv/bin/python benchmarks/polling.py``
(``--jobs N --seconds S --speed F`` to change the load).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil
from jupyter_client.manager import start_new_kernel

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import start_demo

LATENCY_GOAL_MS = 50.0
CPU_GOAL_PERCENT = 2.0


def run(kc, code: str, timeout: float = 60) -> tuple[float, list[str]]:
    """Execute ``code``; returns the seconds until execute_reply and the stream output."""
    t0 = time.perf_counter()
    msg_id = kc.execute(code)
    reply = kc.get_shell_msg(timeout=timeout)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = kc.get_shell_msg(timeout=timeout)
    elapsed = time.perf_counter() - t0
    out = []
    while True:  # drain iopub up to this request's idle status
        msg = kc.get_iopub_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream":
            out.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            raise RuntimeError("\n".join(msg["content"]["traceback"]))
        elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
    if reply["content"]["status"] != "ok":
        raise RuntimeError(f"cell failed: {reply['content']}")
    return elapsed, out


def drain_iopub(kc) -> None:
    while True:
        try:
            kc.get_iopub_msg(timeout=0.01)
        except Exception:
            return


def latencies(kc, n: int, spacing: float) -> list[float]:
    values = []
    for _ in range(n):
        values.append(run(kc, "1 + 1")[0] * 1000)
        drain_iopub(kc)
        time.sleep(spacing)
    return values


def cpu_percent(proc: psutil.Process, seconds: float, kc) -> float:
    t0, c0 = time.monotonic(), proc.cpu_times()
    end = t0 + seconds
    while time.monotonic() < end:  # keep the iopub queue short while the kernel sends updates
        drain_iopub(kc)
        time.sleep(0.2)
    t1, c1 = time.monotonic(), proc.cpu_times()
    return 100.0 * ((c1.user - c0.user) + (c1.system - c0.system)) / (t1 - t0)


def describe(values: list[float]) -> str:
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]
    return f"median {statistics.median(values):.1f} ms, p95 {p95:.1f} ms, max {values[-1]:.1f} ms"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--jobs", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=30.0, help="CPU measurement window")
    ap.add_argument(
        "--speed",
        type=float,
        default=0.01,
        help="demo speed; the default keeps every job running through the measurement",
    )
    args = ap.parse_args()

    demo, url = start_demo(args.speed)
    cache = tempfile.mkdtemp(prefix="oda-bench-cache-")
    env = {**os.environ, "ODA_WIDGETS_CACHE_DIR": cache}
    km, kc = start_new_kernel(kernel_name="python3", env=env)
    try:
        kproc = psutil.Process(km.provisioner.process.pid)
        run(kc, "import oda_widgets.job_status, oda_widgets.client, oda_widgets.demo")
        drain_iopub(kc)
        time.sleep(1.0)
        base_lat = latencies(kc, 30, 0.1)
        base_cpu = cpu_percent(kproc, min(10.0, args.seconds), kc)

        setup = f"""
from oda_widgets.client import Dispatcher, Job
from oda_widgets.demo import make_token
from oda_widgets.job_status import JobBoard
disp = Dispatcher({url!r}, token=make_token())
board = JobBoard(max_concurrent=6)
for i in range({args.jobs}):
    board.add(Job(disp, "isgri", "isgri_image", {{"E1_keV": 20.0 + 0.25 * i, "max_pointings": 20}}))
board
"""
        t_setup, _ = run(kc, setup)
        drain_iopub(kc)
        time.sleep(1.0)
        load_lat = latencies(kc, 60, 0.25)
        load_cpu = cpu_percent(kproc, args.seconds, kc)
        _, out = run(
            kc,
            "import json; print(json.dumps({'counts': board.counts(), "
            "'polls': board.poller.polls, 'max_in_flight': board.poller.max_in_flight}))",
        )
        info = json.loads(out[-1])
        polls_per_s = info["polls"] / (args.seconds + len(load_lat) * 0.25 + 2)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
        demo.terminate()
        demo.wait(10)

    print(f"kernel following {args.jobs} jobs on a JobBoard (demo dispatcher, speed {args.speed})")
    print(f"  cell that creates the board and {args.jobs} jobs returned in {t_setup * 1000:.0f} ms")
    print(f"  trivial cell latency, idle kernel : {describe(base_lat)}")
    print(f"  trivial cell latency, {args.jobs} jobs    : {describe(load_lat)}")
    print(f"  kernel CPU, idle kernel           : {base_cpu:.2f} %")
    print(
        f"  kernel CPU, {args.jobs} jobs polling   : {load_cpu:.2f} %  "
        f"(polling adds {load_cpu - base_cpu:+.2f} %)"
    )
    print(
        f"  polls sent {info['polls']} (~{polls_per_s:.1f}/s), max requests in flight "
        f"{info['max_in_flight']}, states at the end {info['counts']}"
    )
    median = statistics.median(load_lat)
    print(
        f"  latency ratio to goal: {median / LATENCY_GOAL_MS:.2f} (median {median:.1f} ms / "
        f"{LATENCY_GOAL_MS:.0f} ms)"
    )
    print(
        f"  CPU ratio to goal    : {(load_cpu - base_cpu) / CPU_GOAL_PERCENT:.2f} "
        f"({load_cpu - base_cpu:.2f} % / {CPU_GOAL_PERCENT:.0f} %)"
    )
    ok = median < LATENCY_GOAL_MS and load_cpu - base_cpu < CPU_GOAL_PERCENT
    print("  goals met" if ok else "  GOALS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
