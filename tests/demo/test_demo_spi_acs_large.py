"""SPI-ACS at 0.05 s over days: the demo streams 10^7 rows with bounded memory, refuses more clearly."""

from __future__ import annotations

import json
import pickle
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import requests
from astropy.time import Time, TimeDelta

from oda_widgets.client import Dispatcher
from oda_widgets.demo.app import _json
from oda_widgets.demo.generate import SPI_MAX_NATIVE_BINS, SPI_NATIVE_BIN
from oda_widgets.errors import OdaError
from oda_widgets.products.numpy_product import PickledData
from oda_widgets.products.wire import b64encode

T1 = Time("2017-03-06T00:00:00", scale="utc")


def _params(seconds: float) -> dict:
    return dict(
        T1=T1.isot,
        T2=(T1 + TimeDelta(seconds, format="sec")).isot,
        T_format="isot",
        time_bin=0.05,
        time_bin_format="sec",
    )


@pytest.mark.parametrize("n", [0, 1, 2, 3, 10, 1000, 4097])
def test_pickled_data_streams_exactly_the_base64_of_the_pickle(n):
    rows = np.arange(n * 3, dtype=">f4").view([("A", ">f4"), ("B", ">f4"), ("C", ">f4")])
    expected = b64encode(pickle.dumps(rows))
    # chunk sizes that split the pickle everywhere, including inside base64 quanta
    for chunk in (3, 21, 3 << 10):
        assert "".join(PickledData(rows).base64_chunks(chunk)) == expected


def test_streamed_response_is_the_same_json():
    rows = np.random.default_rng(0).normal(size=5000)
    body = {"products": {"x": [{"binarys": PickledData(rows), "name": "RATE"}]}, "n": 1}
    response = _json(body)
    assert response.is_streamed
    text = response.get_data(as_text=True)
    assert text == json.dumps(
        {"products": {"x": [{"binarys": b64encode(pickle.dumps(rows)), "name": "RATE"}]}, "n": 1}
    )
    assert not _json({"plain": 1}).is_streamed


def test_an_hour_at_0_05_s_arrives_streamed_and_decodes(demo_dispatcher):
    (lc,) = (
        Dispatcher(demo_dispatcher)
        .submit("spi_acs", "spi_acs_lc", _params(3600.0))
        .wait(timeout=120)
        .light_curves
    )
    assert len(lc) == 72_000
    assert np.allclose(np.diff(lc.seconds), 0.05)
    assert lc.rate.dtype == np.float32 and np.all(lc.rate.value > 0)
    assert np.allclose(lc.error.value, np.sqrt(lc.rate.value * 0.05) / 0.05, rtol=1e-5)


def test_more_than_the_limit_is_refused_with_a_clear_message(demo_dispatcher):
    too_long = (SPI_MAX_NATIVE_BINS + 1000) * SPI_NATIVE_BIN
    with pytest.raises(OdaError) as err:
        Dispatcher(demo_dispatcher).submit("spi_acs", "spi_acs_lc", _params(too_long)).wait(timeout=120)
    text = str(err.value)
    assert "limited to 6.9 days" in text and "T2 - T1 is 6.95 days" in text and "shorter" in text


def _peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM")) / 1024


def test_ten_million_rows_are_served_with_bounded_memory():
    """A separate demo process serves 10^7 rows (5.8 days at 0.05 s); its peak RSS stays near the
    table's own size (16 B a row, pickled twice by astropy) instead of the several GB a response
    built as one string would take."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "oda_widgets.demo", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{url}/instr-list", timeout=2)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "demo server did not start"
                time.sleep(0.2)
        base = _peak_rss_mb(proc.pid)
        params = dict(
            _params(10_000_000 * 0.05 + 0.01),
            instrument="spi_acs",
            product_type="spi_acs_lc",
            query_type="Real",
            query_status="new",
            api="True",
        )
        r = requests.get(f"{url}/run_analysis", params=params, stream=True, timeout=600)
        assert r.status_code == 200
        size, head = 0, b""
        for chunk in r.iter_content(1 << 20):
            size += len(chunk)
            if len(head) < 4096:
                head += chunk[:4096]
        assert b'"query_status": "done"' in head and b'"NAXIS2": 10000000' in head
        table = 16 * 10_000_000 / 2**20  # TIME D + RATE E + ERROR E
        assert size > 4 / 3 * table * 2**20  # the base64 of the pickled table is all there
        grown = _peak_rss_mb(proc.pid) - base
        assert grown < 5 * table, f"the server grew by {grown:.0f} MB for a {table:.0f} MB table"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
