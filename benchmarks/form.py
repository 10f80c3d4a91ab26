"""How fast the query form builds and switches product (goal: isgri_spectrum built in < 100 ms).

Run: .venv/bin/python benchmarks/form.py [--repeat N]

The description is the demo's ISGRI meta-data (the same JSON the demo dispatcher serves), so the
figures measure our parsing and widget building, not the network. Prints median and worst times
and their ratio to the goal.
"""

from __future__ import annotations

import argparse
import statistics
import time

GOAL_BUILD_MS = 100.0
GOAL_SWITCH_MS = 100.0


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def report(label: str, ms: list[float], goal: float | None = None) -> None:
    med, worst = statistics.median(ms), max(ms)
    ratio = f"  median/goal {med / goal:.2f}" if goal else ""
    print(f"{label:<44} median {med:7.2f} ms  worst {worst:7.2f} ms{ratio}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    t0 = time.perf_counter()
    import ipywidgets  # noqa: F401  (import cost is not the form's)
    from astropy.time import Time

    from oda_widgets.client.description import parse_description
    from oda_widgets.demo.instruments import meta_data
    from oda_widgets.form import QueryForm

    _ = Time("2017-03-06T13:26:48", scale="utc").mjd  # astropy's first-use set-up, once per kernel
    print(f"imports and astropy warm-up (once per kernel): {(time.perf_counter() - t0) * 1000:.0f} ms")

    payload = meta_data("isgri", None)
    legacy = meta_data("isgri", None, True)
    report("parse_description isgri (nested)", timed(lambda: parse_description(payload), args.repeat))
    report("parse_description isgri (legacy strings)", timed(lambda: parse_description(legacy), args.repeat))

    desc = parse_description(payload)
    url = "http://127.0.0.1:9"  # only written into API code; never contacted here
    first = timed(lambda: QueryForm(url, "isgri", "isgri_spectrum", description=desc), 1)
    report("first QueryForm isgri_spectrum", first, GOAL_BUILD_MS)
    build = timed(lambda: QueryForm(url, "isgri", "isgri_spectrum", description=desc), args.repeat)
    report("QueryForm isgri_spectrum (from description)", build, GOAL_BUILD_MS)

    form = QueryForm(url, "isgri", "isgri_spectrum", description=desc)
    products = ["isgri_image", "isgri_lc", "isgri_spectrum"]
    form.select_product("isgri_lc")
    form.select_product("isgri_spectrum")  # every product seen once: controls cached
    state = {"i": 0}

    def switch():
        state["i"] += 1
        form.select_product(products[state["i"] % 3])

    report("switch product (controls reused)", timed(switch, args.repeat), GOAL_SWITCH_MS)
    report("form.values (validate + read)", timed(lambda: form.values, args.repeat))
    report("form.api_code()", timed(form.api_code, args.repeat))
    n = len(form.controls)
    print(f"controls on isgri_spectrum: {n}; per control build ≈ {statistics.median(build) / n:.2f} ms")


if __name__ == "__main__":
    main()
