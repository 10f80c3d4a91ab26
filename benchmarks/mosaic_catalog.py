"""Mosaic viewer / catalog table timings in a real JupyterLab + Chromium (Playwright).

    .venv/bin/python benchmarks/mosaic_catalog.py [--sizes 500 1000 2000] [--rows 5000]

Prints, per mosaic size: first draw (decode + limits + colour + draw, measured in the page from the
moment the view picks up the image), re-stretch (colour + draw, median of 5), the bytes the page
received over the kernel websocket for that notebook vs the raw float32 image; and for a 5 000-row
catalog linked to a mosaic: the slider update (filter + rows + overlays, to the next frame).

Goals: 2000² first draw < 150 ms, re-stretch < 60 ms, slider < 50 ms, bytes <= 1.05 × raw.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import ROOT, Lab, lab_page, open_notebook

MOSAIC_CELL = """\
import numpy as np
from astropy.wcs import WCS
from oda_widgets.mosaic import MosaicView
n = {n}
rng = np.random.default_rng(1)
img = rng.normal(size=(n, n)).astype(np.float32)
yy, xx = np.mgrid[:n, :n]
img[(xx - n / 2) ** 2 + (yy - n / 2) ** 2 > (0.48 * n) ** 2] = np.nan     # uncovered sky
w = WCS(naxis=2); w.wcs.ctype = ["RA---TAN", "DEC--TAN"]; w.wcs.crval = [266.4, -29.0]
w.wcs.crpix = [n / 2, n / 2]; w.wcs.cdelt = [-0.0823, 0.0823]
view = MosaicView({{"SIGNIFICANCE": img}}, wcs=w, height=600)
view
"""

CATALOG_CELL = """\
import numpy as np
from astropy.table import Table
from astropy.wcs import WCS
from oda_widgets.catalog import CatalogTable
from oda_widgets.mosaic import MosaicView
rows = {rows}
rng = np.random.default_rng(2)
names = [f"NEW_{{i}}" if i % 17 == 0 else f"SRC J{{i:05d}}" for i in range(rows)]
t = Table({{"meta_ID": np.arange(rows), "src_names": names, "significance": rng.exponential(4, rows),
           "ra": 266.4 + rng.uniform(-15, 15, rows), "dec": -29.0 + rng.uniform(-15, 15, rows),
           "FLAG": np.zeros(rows, int), "ERR_RAD": np.full(rows, 0.01)}},
          meta={{"FRAME": "fk5", "COORD_UNIT": "deg", "LON_NAME": "ra", "LAT_NAME": "dec"}})
n = 500
img = rng.normal(size=(n, n)).astype(np.float32)
w = WCS(naxis=2); w.wcs.ctype = ["RA---TAN", "DEC--TAN"]; w.wcs.crval = [266.4, -29.0]
w.wcs.crpix = [n / 2, n / 2]; w.wcs.cdelt = [-0.0823, 0.0823]
table = CatalogTable(t, height=300)
view = MosaicView({{"SIGNIFICANCE": img}}, wcs=w, catalog=table, height=400)
display(view, table)
"""

IDLE_FRAME = """async () => {
  const t0 = performance.now();
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  return performance.now() - t0;
}"""

SLIDER = """async (value) => {
  const s = document.querySelector('[data-testid=catalog-slider]');
  const t0 = performance.now();
  s.value = String(value);
  s.dispatchEvent(new Event('input', {bubbles: true}));
  const sync = performance.now() - t0;
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  return { sync, frame: performance.now() - t0,
           table: +document.querySelector('[data-testid=catalog-root]').dataset.lastFilterMs,
           overlay: +document.querySelector('[data-testid=mosaic-root]').dataset.overlayMs,
           overlays: +document.querySelector('[data-testid=mosaic-root]').dataset.overlayCount };
}"""


def bench_mosaic(page, lab: Lab, n: int) -> dict:
    rx0 = open_notebook(page, lab, lab.notebook(MOSAIC_CELL.format(n=n)))
    page.wait_for_function(
        "() => { const r = document.querySelector('[data-testid=mosaic-root]');"
        " return r && r.dataset.firstDrawMs; }",
        timeout=120_000,
    )
    page.wait_for_timeout(1000)
    rx = page.evaluate("() => window.__wsBytes.rx") - rx0
    root = page.locator("[data-testid=mosaic-root]")
    first = float(root.get_attribute("data-first-draw-ms"))
    first_steps = json.loads(root.get_attribute("data-steps"))
    times = []
    for stretch in ["sqrt", "log", "asinh", "linear", "sqrt", "log"]:
        draws = int(root.get_attribute("data-draws"))
        page.select_option("[data-testid=mosaic-stretch]", stretch)
        page.wait_for_function(
            f"() => +document.querySelector('[data-testid=mosaic-root]').dataset.draws > {draws}"
        )
        times.append(float(root.get_attribute("data-last-draw-ms")))
    esm = len((ROOT / "js" / "mosaic.js").read_bytes()) + len((ROOT / "js" / "mosaic.css").read_bytes())
    lab.close_sessions()
    return {
        "n": n,
        "first_draw_ms": first,
        "restretch_ms": statistics.median(times[1:]),
        "rx_bytes": rx,
        "raw_bytes": n * n * 4,
        "first_steps": first_steps,
        "front_end_code_bytes": esm,
    }


def bench_slider(page, lab: Lab, rows: int) -> dict:
    open_notebook(page, lab, lab.notebook(CATALOG_CELL.format(rows=rows)))
    page.wait_for_selector("[data-testid=catalog-slider]", timeout=120_000)
    page.wait_for_timeout(1000)
    idle = statistics.median(page.evaluate(IDLE_FRAME) for _ in range(9))
    results = [page.evaluate(SLIDER, v) for v in (1, 2, 3, 4, 6, 8, 10, 0.5, 5)]
    lab.close_sessions()
    return {
        "rows": rows,
        "idle_frame_ms": idle,
        "slider_sync_ms": statistics.median(r["sync"] for r in results),
        "slider_frame_ms": statistics.median(r["frame"] for r in results),
        "table_ms": statistics.median(r["table"] for r in results),
        "overlay_ms": statistics.median(r["overlay"] for r in results),
        "overlays_at_cut_1": results[0]["overlays"],
        "overlays_at_cut_10": results[6]["overlays"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[500, 1000, 2000])
    ap.add_argument("--rows", type=int, default=5000)
    args = ap.parse_args()
    with lab_page() as (lab, page):
        print(
            f"{'mosaic':>8} {'first draw':>11} {'re-stretch':>11} {'bytes rx':>11} {'raw':>11} {'rx/raw':>7}"
        )
        r = None
        for n in args.sizes:
            r = bench_mosaic(page, lab, n)
            print(
                f"{n:>5}²  {r['first_draw_ms']:>8.1f} ms {r['restretch_ms']:>8.1f} ms "
                f"{r['rx_bytes']:>11,} {r['raw_bytes']:>11,} {r['rx_bytes'] / r['raw_bytes']:>7.3f}  "
                f"first draw steps (ms): {r['first_steps']}"
            )
        if r:
            print(
                f"(rx includes the front-end module sent with each view: {r['front_end_code_bytes']:,} bytes, "
                "and Lab's own kernel messages)"
            )
        print("goals: 2000² first draw < 150 ms, re-stretch < 60 ms, bytes <= 1.05 × raw")
        s = bench_slider(page, lab, args.rows)
        print(
            f"slider on {s['rows']:,} rows (linked mosaic overlays): {s['slider_sync_ms']:.1f} ms in the "
            f"handler, {s['slider_frame_ms']:.1f} ms to the next painted frame (an idle frame takes "
            f"{s['idle_frame_ms']:.1f} ms; goal < 50 ms); overlays "
            f"{s['overlays_at_cut_1']} at σ≥1, {s['overlays_at_cut_10']} at σ≥10; of which table "
            f"{s['table_ms']:.1f} ms, overlays {s['overlay_ms']:.1f} ms"
        )


if __name__ == "__main__":
    main()
