"""Small HTTP helpers shared by the demo-dispatcher tests (plain requests, no client library)."""

from __future__ import annotations

import json
import time

import requests
from shared_data import CAPTURES


def capture(name: str, folder: str = "git-1.3.6"):
    path = CAPTURES / folder / name
    text = path.read_text()
    return json.loads(text) if path.suffix == ".json" else text


def run(url: str, method: str = "GET", **params) -> requests.Response:
    params.setdefault("query_status", "new")
    params.setdefault("api", "True")
    if method == "POST":
        return requests.post(f"{url}/run_analysis", data=params, timeout=120)
    return requests.get(f"{url}/run_analysis", params=params, timeout=120)


def complete(url: str, method: str = "GET", timeout: float = 30.0, **params) -> tuple[dict, list[str]]:
    """Submit and poll like oda_api until done/failed; returns the last body and the statuses seen."""
    r = run(url, method, **params)
    assert r.status_code == 200, r.text[:500]
    body = r.json()
    seen = [body["query_status"]]
    deadline = time.monotonic() + timeout
    while body["query_status"] not in ("done", "failed"):
        assert time.monotonic() < deadline, f"job stuck in {seen}"
        time.sleep(0.05)
        params.update(
            query_status=body["query_status"],
            job_id=body["job_monitor"]["job_id"],
            session_id=body["session_id"],
        )
        r = run(url, method, **params)
        assert r.status_code == 200, r.text[:500]
        body = r.json()
        seen.append(body["query_status"])
    return body, seen
