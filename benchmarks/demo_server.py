"""Benchmark: how fast and how big the demo dispatcher's answers are.

Starts ``python -m oda_widgets.demo`` in its own process (fast jobs) and measures, over HTTP:

* ``isgri_image`` at radius 8 / 15 / 25 deg (50 ScWs over 2017): time from submission to the
  ``done`` answer, mosaic side in pixels, response size;
* a one-day SPI-ACS light curve at the native 0.05 s (1.73 M rows): time and response size;
* 10^7 SPI-ACS rows (5.8 days at 0.05 s), streamed: time, size and the server's memory growth;
* 50 concurrent ISGRI jobs (50 client threads submitting and polling): wall time and the
  99th-percentile request latency;
* the server process's peak resident memory (sampled every 20 ms).

Goals: a radius-15 mosaic in < 3 s, the one-day SPI-ACS curve in < 10 s, 50 concurrent jobs
in < 30 s, peak memory < 1.5 GB.  Run: ``.venv/bin/python benchmarks/demo_server.py``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import statistics
import sys
import threading
import time
from pathlib import Path

import psutil
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import start_demo

GOALS = {"mosaic_r15_s": 3.0, "spi_acs_day_s": 10.0, "concurrent_50_s": 30.0, "peak_rss_mb": 1500.0}


class PeakRSS(threading.Thread):
    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.proc = psutil.Process(pid)
        self.peak = 0
        self.running = True

    def run(self) -> None:
        while self.running:
            try:
                self.peak = max(self.peak, self.proc.memory_info().rss)
            except psutil.Error:
                return
            time.sleep(0.02)


def until_done(session: requests.Session, url: str, params: dict, latencies: list | None = None):
    """Submit and poll (20 ms apart) until done; returns (seconds, last response)."""
    params = dict(params, query_status="new", api="True")
    t0 = time.perf_counter()
    while True:
        t = time.perf_counter()
        r = session.post(f"{url}/run_analysis", data=params, timeout=300)
        if latencies is not None:
            latencies.append(time.perf_counter() - t)
        r.raise_for_status()
        body = r.json()
        if body["query_status"] in ("done", "failed"):
            assert body["query_status"] == "done", body["exit_status"]
            return time.perf_counter() - t0, r
        params.update(
            query_status=body["query_status"],
            job_id=body["job_monitor"]["job_id"],
            session_id=body["session_id"],
        )
        time.sleep(0.02)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=50)
    args = parser.parse_args()
    proc, url = start_demo(speed=1000.0)
    rss = PeakRSS(proc.pid)
    rss.start()
    figures: dict[str, float] = {}
    try:
        s = requests.Session()
        print("isgri_image, 50 ScWs over 2017:")
        for radius in (8, 15, 25):
            params = dict(
                instrument="isgri",
                product_type="isgri_image",
                T1="2017-01-01T00:00:00",
                T2="2017-12-31T00:00:00",
                radius=str(radius),
                max_pointings="50",
            )
            seconds, r = until_done(s, url, params)
            body = r.json()
            side = body["products"]["numpy_data_product_list"][0]["data_unit_list"][2]["header"]["NAXIS1"]
            print(
                f"  radius {radius:2d} deg: {seconds:6.2f} s  mosaic {side}x{side} px  "
                f"response {len(r.content) / 1e6:6.1f} MB"
            )
            figures[f"mosaic_r{radius}_s"] = seconds

        params = dict(
            instrument="spi_acs",
            product_type="spi_acs_lc",
            T1="2017-03-06T00:00:00",
            T2="2017-03-07T00:00:00",
            time_bin="0.05",
        )
        seconds, r = until_done(s, url, params)
        rows = r.json()["products"]["numpy_data_product_list"][0]["data_unit_list"][1]["header"]["NAXIS2"]
        print(
            f"spi_acs_lc, one day at 0.05 s: {seconds:6.2f} s  {rows} rows  "
            f"response {len(r.content) / 1e6:6.1f} MB"
        )
        figures["spi_acs_day_s"] = seconds

        # 10^7 rows: generated in chunks and streamed; read in pieces here, never held whole
        before = rss.proc.memory_info().rss
        rss.peak = before
        params = dict(params, T2="2017-03-11T20:53:20.01")  # 5.787 days: 10^7 bins of 0.05 s
        t0 = time.perf_counter()
        r = s.post(
            f"{url}/run_analysis", data=dict(params, query_status="new", api="True"), stream=True, timeout=600
        )
        size = sum(len(chunk) for chunk in r.iter_content(1 << 20))
        seconds = time.perf_counter() - t0
        print(
            f"spi_acs_lc, 10^7 rows at 0.05 s (streamed): {seconds:6.2f} s  response {size / 1e6:6.1f} MB  "
            f"server memory +{(rss.peak - before) / 1e6:.0f} MB (table 160 MB)"
        )
        figures["spi_acs_10M_s"] = seconds

        latencies: list[float] = []

        def one(i: int) -> float:
            with requests.Session() as sess:
                return until_done(
                    sess,
                    url,
                    dict(
                        instrument="isgri",
                        product_type="isgri_image",
                        T1="2017-03-01T00:00:00",
                        T2="2017-03-20T00:00:00",
                        E2_keV=str(40 + i),
                        max_pointings="10",
                    ),
                    latencies,
                )[0]

        t0 = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
            per_job = list(pool.map(one, range(args.jobs)))
        wall = time.perf_counter() - t0
        p99 = statistics.quantiles(latencies, n=100)[98]
        print(
            f"{args.jobs} concurrent isgri_image jobs: {wall:6.2f} s wall, per job median "
            f"{statistics.median(per_job):.2f} s, {len(latencies)} requests, p99 latency {p99 * 1000:.0f} ms"
        )
        figures["concurrent_50_s"] = wall
    finally:
        rss.running = False
        rss.join()
        proc.terminate()
        proc.wait(timeout=20)
    figures["peak_rss_mb"] = rss.peak / 1e6
    print(f"server peak RSS: {figures['peak_rss_mb']:.0f} MB")
    print("figure / goal:")
    for key, goal in GOALS.items():
        if key in figures:
            print(f"  {key:16s} {figures[key]:8.2f} / {goal:8.2f}  ratio {figures[key] / goal:5.2f}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
