"""LightCurveView timings in a real JupyterLab + Chromium (Playwright).

    .venv/bin/python benchmarks/lightcurve.py [--sizes 10000 100000 1000000 1728000] [--full 10000 100000]

Per curve size (SPI-ACS-like, 0.05 s bins, as a ``LightCurve`` from the dispatcher's FITS layout):

* first draw — from the start of the cell that builds the view (kernel clock) to the frame after the
  rate line's SVG path is set in the page (page clock; both are the wall clock of this machine);
  "build" is the kernel part of it (decimation and trait set-up);
* zoom redraw — from the wheel event in the page to the frame after the kernel's re-decimated line
  arrives (median of 5 zoom steps; includes the debounce, ``--debounce``); "kernel" is ``view.last_redraw_ms``;
* bytes — what the page received over the kernel websocket for the view cell / for one zoom step,
  against the float64 size of the full arrays (time, rate, error).

``--full`` sizes are also drawn without decimation (every point with its error bars), the
alternative the decimation replaces. Goals: 10^6 points first draw < 1 s, zoom < 100 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
# the shared Lab/websocket-counter set-up of the browser benchmarks
from _harness import Lab, lab_page, open_notebook

SETUP = """\
import time, numpy as np, ipywidgets as w
from astropy.io import fits
from oda_widgets.products.light_curve import LightCurve
from oda_widgets.light_curve import LightCurveView
n = {n}
rng = np.random.default_rng(0)
rate = rng.poisson(4000, n) / 0.05
rate[n // 2] = 4e6
hdu = fits.BinTableHDU.from_columns([
    fits.Column("TIME", "D", unit="s", array=(np.arange(n) + 0.5) * 0.05 - n * 0.025),
    fits.Column("RATE", "D", unit="count/s", array=rate),
    fits.Column("ERROR", "D", unit="count/s", array=np.sqrt(rate * 0.05) / 0.05)], name="RATE")
hdu.header.update(INSTRUME="SPI-ACS", TIMEDEL=0.05, TIMEUNIT="s", MJDREF=51544.0, TIMESYS="TT",
                  TIMEZERO=8826.5 * 86400.0)
lc = LightCurve.from_product(fits.HDUList([fits.PrimaryHDU(), hdu]))
"""

VIEW = """\
T0 = time.time() * 1000
view = LightCurveView(lc, columns={columns}, debounce={debounce})
T1 = time.time() * 1000
view.add_class("bench-lc")
info = w.Label(f"t0={{T0:.3f}} build={{T1 - T0:.1f}}"); info.add_class("bench-info")
status = w.Label(); status.add_class("bench-status")
def report(_=None):
    status.value = f"redraws={{view.redraws}} kernel={{view.last_redraw_ms:.1f}} points={{len(view._lines[0].x)}}"
view.observe(report, "redraws")
report()
w.VBox([view, info, status])
"""

# Timestamps (epoch ms) of every change of the rate line's path, and of wheel events.
OBSERVE = """() => {
  window.__lc = { d: [], wheel: [] };
  const now = () => performance.timeOrigin + performance.now();
  const line = () => { const p = document.querySelectorAll('.bench-lc path.line'); return p.length >= 2 ? p[1] : null; };
  new MutationObserver(() => {
    const p = line();
    if (!p) return;
    const d = p.getAttribute('d') || '';
    if (d.length > 10 && d !== window.__lc.last) {
      window.__lc.last = d;
      requestAnimationFrame(() => window.__lc.d.push(now()));
    }
  }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['d'] });
  document.addEventListener('wheel', () => window.__lc.wheel.push(now()), { capture: true, passive: true });
}"""


def bench(page, lab: Lab, n: int, columns: int, debounce: float) -> dict:
    name = lab.notebook(SETUP.format(n=n), VIEW.format(columns=columns, debounce=debounce))
    rx0 = open_notebook(page, lab, name)
    page.wait_for_function("() => window.__lc.d.length > 0", timeout=120_000)
    page.wait_for_timeout(1500)
    info = page.locator(".bench-info").inner_text()
    t0 = float(info.split("t0=")[1].split()[0])
    build = float(info.split("build=")[1].split()[0])
    first = page.evaluate("() => window.__lc.d[0]") - t0
    rx_first = page.evaluate("() => window.__wsBytes.rx") - rx0
    fig = page.locator(".bench-lc .bqplot").first
    fig.scroll_into_view_if_needed()
    box = fig.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    zooms, kernels, rx_zoom = [], [], []
    for _ in range(5):
        before = page.evaluate("() => window.__wsBytes.rx")
        redraws = int(page.locator(".bench-status").inner_text().split("redraws=")[1].split()[0])
        page.evaluate("() => { window.__lc.d = []; window.__lc.wheel = []; }")
        page.mouse.wheel(0, -300)
        page.wait_for_function(
            "(n) => +document.querySelector('.bench-status').innerText.match(/redraws=(\\d+)/)[1] > n",
            arg=redraws,
            timeout=60_000,
        )
        page.wait_for_timeout(800)  # the line message follows the status; let every frame land
        wheel = page.evaluate("() => window.__lc.wheel[0]")
        last = page.evaluate("() => window.__lc.d[window.__lc.d.length - 1]")
        zooms.append(last - wheel)
        kernels.append(float(page.locator(".bench-status").inner_text().split("kernel=")[1].split()[0]))
        rx_zoom.append(page.evaluate("() => window.__wsBytes.rx") - before)
    points = int(page.locator(".bench-status").inner_text().split("points=")[1].split()[0])
    lab.close_sessions()
    return {
        "n": n,
        "first_ms": first,
        "build_ms": build,
        "zoom_ms": statistics.median(zooms),
        "zoom_kernel_ms": statistics.median(kernels),
        "rx_first": rx_first,
        "rx_zoom": statistics.median(rx_zoom),
        "raw": 24 * n,
        "points": points,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000, 1_728_000])
    ap.add_argument("--full", type=int, nargs="*", default=[10_000, 100_000])
    ap.add_argument("--debounce", type=float, default=0.02, help="LightCurveView debounce in seconds")
    args = ap.parse_args()
    with lab_page(f"({OBSERVE})()") as (lab, page):
        print(
            f"{'mode':>9} {'points':>10} {'first draw':>11} {'(build)':>9} {'zoom':>9} {'(kernel)':>9} "
            f"{'bytes first':>12} {'bytes/zoom':>11} {'full f64':>11} {'drawn':>6}"
        )
        runs = [("decimated", n, 1000) for n in args.sizes] + [("all", n, 10**9) for n in args.full]
        for mode, n, columns in runs:
            r = bench(page, lab, n, columns, args.debounce)
            print(
                f"{mode:>9} {n:>10,} {r['first_ms']:>8.0f} ms {r['build_ms']:>6.0f} ms "
                f"{r['zoom_ms']:>6.0f} ms {r['zoom_kernel_ms']:>6.1f} ms {r['rx_first']:>12,} "
                f"{r['rx_zoom']:>11,} {r['raw']:>11,} {r['points']:>6}",
                flush=True,
            )
        print(
            f"goals: 10^6 points first draw < 1 s, zoom < 100 ms (zoom includes the {args.debounce * 1e3:.0f} ms "
            "debounce)"
        )


if __name__ == "__main__":
    main()
