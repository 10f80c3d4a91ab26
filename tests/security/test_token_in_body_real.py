"""Which endpoints of the real dispatcher (1.3.3) take the token in a POST body — the facts
``encoding.should_post`` relies on — and that our client's analysis requests keep it out of the
server's request log."""

from __future__ import annotations

import time

import jwt
import requests

from oda_widgets.client import Dispatcher

#: the real dispatcher's test secret (public: its own test suite's, see ../shared/REAL_DISPATCHER.md)
REAL_SECRET = "secretkey_test"


def real_token(sub: str = "tester@example.org") -> str:
    claims = {"sub": sub, "email": sub, "roles": "general", "exp": int(time.time() + 3600)}
    return jwt.encode(claims, REAL_SECRET, algorithm="HS256")


def test_only_run_analysis_accepts_a_post_body(real_dispatcher):
    token = real_token()
    url = real_dispatcher.url
    body = {
        "instrument": "empty",
        "product_type": "numerical",
        "query_type": "Dummy",
        "query_status": "new",
        "p": "7",
        "api": "True",
        "token": token,
    }
    r = requests.post(f"{url}/run_analysis", data=body, timeout=60)
    assert r.status_code == 200 and r.json()["query_status"] == "done"
    # p=7 with a token needs no extra role; without the token the same request is refused (403):
    # the token was read from the body
    no_token = {k: v for k, v in body.items() if k != "token"}
    assert requests.post(f"{url}/run_analysis", data=no_token, timeout=60).status_code == 403
    for path, data in (
        ("/api/instr-list", {"instrument": "mock", "token": token}),
        ("/api/meta-data", {"instrument": "empty", "token": token}),
        ("/api/par-names", {"instrument": "empty", "product_type": "numerical"}),
        ("/resolve_name", {"name": "Crab", "token": token}),
    ):
        assert requests.post(f"{url}{path}", data=data, timeout=30).status_code == 405, path


def test_our_analysis_requests_leave_no_token_in_the_servers_request_log(real_dispatcher):
    token = real_token(sub="body-only@example.org")
    disp = Dispatcher(real_dispatcher.url, token=token)
    job = disp.submit("empty", "numerical", {"p": 11.0}, query_type="Dummy")
    assert job.finished
    log = real_dispatcher.log_path.read_text(errors="replace")
    request_lines = [line for line in log.splitlines() if "/run_analysis" in line and "HTTP/1.1" in line]
    assert request_lines and not any(token in line for line in request_lines)
