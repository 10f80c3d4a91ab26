"""Decoding speed: an ISGRI mosaic response (bytes → objects), ours vs oda_api 1.3.5's client path.

Builds ``isgri_image``-style responses (PRIMARY + GROUPING + 4 float32 images, encoded the way the
dispatcher does: base64 pickles inside JSON) at 500², 1000² and 2000² pixels, then times, from the
same response bytes:

* ours: ``loads_response`` (json for the structure, base64 decoded straight from the bytes) +
  ``ProductCollection.from_response`` (restricted unpickler, HDUList) and the ``Mosaic`` view;
* oda_api: what ``DispatcherAPI`` does with a response — ``response.json()``, then
  ``ast.literal_eval(str(json).replace('null', 'None'))`` (``_decode_res_json``), then
  ``DataCollection.from_response_json``. (The real method additionally runs ``dig_list``, a second
  ``literal_eval`` over the whole dict, which is left out here: the figures favour oda_api.)

Run: ``.venv/bin/python benchmarks/decode.py [--sizes 500 1000 2000] [--repeat 3]``.
Goal: ours ≥ 7× faster than oda_api at 2000².
"""

from __future__ import annotations

import argparse
import ast
import gc
import json
import sys
import time
from pathlib import Path

import numpy as np
import requests

from oda_widgets.products import ProductCollection

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "products"))
from _products_helpers import mosaic_products

from oda_widgets.products.wire import loads_response

GOAL = 7.0


def response_bytes(n: int) -> bytes:
    products = {
        **mosaic_products(n, seed=n),
        "analysis_parameters": {"instrument": "isgri", "product_type": "isgri_image", "token": None},
        "job_id": "0123456789abcdef",
        "session_id": "SESSION",
        "input_prod_list": ["066500220010.001"],
    }
    body = {
        "query_status": "done",
        "job_status": "done",
        "session_id": "SESSION",
        "exit_status": {"status": 0, "message": "", "error_message": "", "debug_message": ""},
        "job_monitor": {"job_id": "0123456789abcdef", "session_id": "SESSION", "status": "done"},
        "products": products,
    }
    return json.dumps(body).encode()


def as_response(content: bytes) -> requests.Response:
    r = requests.Response()
    r.status_code = 200
    r._content = content
    r.headers["Content-Type"] = "application/json"
    r.encoding = "utf-8"
    return r


def ours(content: bytes):
    body = loads_response(content)
    coll = ProductCollection.from_response(body["products"])
    mosaic = coll.mosaic
    assert mosaic is not None and len(mosaic.images) == 4
    return coll


def oda_api(content: bytes):
    from oda_api.api import DataCollection

    res = as_response(content).json()
    res = ast.literal_eval(str(res).replace("null", "None"))
    dc = DataCollection.from_response_json(res, "isgri", "isgri_image")
    assert len(dc.mosaic_image_0_mosaic.data_unit) == 6
    return dc


def best_time(fn, content: bytes, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        result = fn(content)
        best = min(best, time.perf_counter() - t0)
        del result
    return best


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[500, 1000, 2000])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)

    from oda_widgets.products import wire

    backend = "pybase64" if wire._pybase64 is not None else "binascii (pip install pybase64 for ~3× more)"
    print(f"base64 decoder: {backend}")
    print(f"{'size':>6} {'response':>10} {'ours':>9} {'oda_api':>9} {'ratio':>7}")
    ratio = None
    for n in args.sizes:
        content = response_bytes(n)
        # the two decoders must agree before their speed means anything
        a, b = ours(content), oda_api(content)
        assert np.array_equal(
            a.mosaic.images["SIGNIFICANCE"], b.mosaic_image_0_mosaic.data_unit[4].data, equal_nan=True
        )
        del a, b
        t_ours = best_time(ours, content, args.repeat)
        t_oda = best_time(oda_api, content, max(1, args.repeat - 1))
        ratio = t_oda / t_ours
        print(
            f"{n:>5}² {len(content) / 1e6:>8.1f}MB {t_ours:>8.3f}s {t_oda:>8.3f}s {ratio:>6.1f}×", flush=True
        )
        del content
    if ratio is not None:
        verdict = "meets" if ratio >= GOAL else "MISSES"
        print(f"at {args.sizes[-1]}²: {ratio:.1f}× faster than oda_api — {verdict} the goal of ≥ {GOAL:g}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())
