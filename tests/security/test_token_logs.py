"""The token stays out of every log record: a whole flow at DEBUG level (urllib3 included) and
the demo dispatcher's request log."""

from __future__ import annotations

import logging
import subprocess
import sys
import time

import pytest
import requests

from oda_widgets import demo
from oda_widgets.client import Dispatcher, JobState
from oda_widgets.job_status import JobBoard


def _all_text(caplog) -> str:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    return "\n".join(handler.format(record) for record in caplog.records)


def test_a_whole_flow_at_debug_level_logs_no_token(caplog):
    token = demo.make_token("logs@example.org")
    server = demo.start(speed=20, quiet=False)
    caplog.set_level(logging.DEBUG)
    try:
        disp = Dispatcher(server.url, token=token)
        assert "isgri" in disp.instruments()
        disp.description("isgri", "isgri_image")
        disp.par_names("isgri", "isgri_image")
        disp.resolve("Crab")
        job = disp.submit(
            "isgri", "isgri_image", {"T1": "2017-03-06T00:00:00", "T2": "2017-03-07T00:00:00", "E1_keV": 26.0}
        )
        job.poll_initial = job.poll_cap = 0.2
        assert job.wait(60) is not None and job.state is JobState.DONE
        board = JobBoard(store=False)
        board.add(disp.submit("spi_acs", "spi_acs_lc", {"time_bin": 2.5}))
        board.wait(60)
        board.close()
        # the redirect of /api/instr-list carries the token in its query string too
        requests.get(
            f"{server.url}/api/instr-list", params={"instrument": "mock", "token": token}, timeout=10
        )
    finally:
        server.stop()
    text = _all_text(caplog)
    urllib3_lines = [r for r in caplog.records if r.name.startswith("urllib3")]
    request_lines = [r for r in caplog.records if r.name == "oda_widgets.demo.requests"]
    assert len(urllib3_lines) >= 10 and len(request_lines) >= 10  # the flow was logged...
    assert "token=<token>" in text  # ...with the token's place visible
    assert token not in text  # ...and never the token


def test_a_logged_exception_traceback_is_redacted(caplog):
    token = demo.make_token("trace@example.org")
    caplog.set_level(logging.DEBUG)
    Dispatcher("http://127.0.0.1:9", token=token)  # installs the filters
    try:
        requests.get("http://127.0.0.1:9/x", params={"token": token}, timeout=2)
    except requests.RequestException:
        logging.getLogger("oda_widgets.client.dispatcher").exception("request failed")
    assert "request failed" in caplog.text
    assert token not in _all_text(caplog)


def test_the_demo_command_prints_no_token_in_request_lines(tmp_path):
    """``python -m oda_widgets.demo`` printed every request line, query string (token) included."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "oda_widgets.demo", "--port", "0", "--speed", "20"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = proc.stdout.readline().strip().rsplit(" ", 1)[-1]
        token = proc.stdout.readline().strip().rsplit(" ", 1)[-1]
        assert url.startswith("http://127.0.0.1:") and token.startswith("eyJ")
        disp = Dispatcher(url, token=token)
        disp.instruments()
        disp.resolve("Crab")
        disp.run_analysis({"instrument": "spi_acs", "product_type": "spi_acs_lc", "time_bin": 3.0})
        time.sleep(0.3)
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    lines = [line for line in err.splitlines() if '"GET ' in line or '"POST ' in line]
    assert len(lines) >= 4, err[-2000:]
    assert token not in err


@pytest.mark.parametrize(
    "text",
    [
        "GET /run_analysis?instrument=isgri&token=abc.def.ghi HTTP/1.1",
        "http://h/x?token=abc.def.ghi&b=1",
        "{'token': 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig'}",
    ],
)
def test_redact_text(text):
    from oda_widgets.redaction import redact_text

    clean = redact_text(text)
    assert "abc.def.ghi" not in clean and "eyJ" not in clean and "<token>" in clean
