"""LightCurveView against plotly-resampler's FigureWidgetResampler, in one JupyterLab + Chromium run.

    .venv/bin/pip install -e ".[bench]"     # plotly-resampler: the peer, not a runtime dependency
    .venv/bin/python benchmarks/lightcurve.py [--sizes 100000 1000000 10000000] [--reps 5]
    .venv/bin/python benchmarks/lightcurve.py --quick      # 10^6 points, 3 runs each: for iterating
    .venv/bin/python benchmarks/lightcurve.py --ours plot  # the canvas plot alone (no view around it)

Both draw the same SPI-ACS-like curve (0.05 s bins, Poisson rates, one one-bin burst), starting from
the same data in the kernel: a FITS ``HDUList`` as the product model decodes it from the dispatcher.
Ours: ``LightCurveView(hdulist)`` (product model + view: a canvas plot of the M4 line with its error
envelope; ``--ours plot``: the product model + ``LightCurvePlot`` alone). Peer:
``FigureWidgetResampler`` with one ``go.Scatter`` trace fed the TIME/RATE columns (its default
MinMaxLTTB aggregation; ``--peer-points`` shown samples, default 4000 = what our 1000 columns × M4
draw at most).

Per size, ``--reps`` fresh kernels per library, interleaved (ours, peer, peer, ours, ...); medians:

* build — kernel time from the data being in the kernel to the widget built; peak RSS above the
  baseline during it (a 2 ms sampling thread reading /proc/self/statm), against the raw arrays
  (time, rate, error as float64: 24 B a bin);
* first draw — from the same kernel instant to the first paint of the curve in the page;
* zoom to 5 % (box) — the same gesture for both: a drag over the middle 5 % of the plot in box-zoom
  mode (plotly's default drag; ours after choosing "Box zoom"), one range change sent to the kernel
  on release. Zoom to 5 % (wheel) — ours only: one wheel event zooming 20× (bqplot's and our wheel
  rate exp(-0.001·Δy)), asked of the kernel after the wheel debounce (``debounce_ms``, 100 ms).
  Pan — a drag by a third of the plot in pan mode (both ask the kernel on release). All timed from
  the input event to the last repaint. Paint is detected the same way for both — a DOM change of the
  traced element (plotly's trace path ``d``; our plot's ``data-paints`` attribute, set as the canvas
  is drawn), then two animation frames — and the last one within a settled second counts (the
  kernel's new data, after the instant local re-render);
* bytes — what the page received over the kernel websocket during the interaction (Jupyter messages:
  comm updates and kernel status), and per drawn point (ours: vertices of the drawn lines; the peer:
  points of its trace).

The machine is shared: figures are indicative; the load average is printed with them.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import Lab, lab_page, open_notebook

DATA = """\
import time, os, threading, numpy as np, ipywidgets as w
from astropy.io import fits
n = {n}
rng = np.random.default_rng(0)
rate = rng.poisson(4000, n).astype(np.float32) / np.float32(0.05)
rate[n // 2 + 1234] = 4e6
hdul = fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns([
    fits.Column("TIME", "D", unit="s", array=(np.arange(n) + 0.5) * 0.05 - n * 0.025),
    fits.Column("RATE", "E", unit="count/s", array=rate),
    fits.Column("ERROR", "E", unit="count/s", array=np.sqrt(rate * 0.05) / 0.05)], name="RATE")])
hdul[1].header.update(INSTRUME="SPI-ACS", TIMEDEL=0.05, TIMEUNIT="s", MJDREF=51544.0, TIMESYS="TT",
                      TIMEZERO=8826.5 * 86400.0)
hdul[1].data.field(0)  # decoded, as the product model leaves it
del rate

def rss():
    return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

class Peak:
    def __enter__(self):
        self.base = self.peak = rss(); self.go = True
        self.thread = threading.Thread(target=self.watch, daemon=True); self.thread.start(); return self
    def watch(self):
        while self.go:
            self.peak = max(self.peak, rss()); time.sleep(0.002)
    def __exit__(self, *exc):
        self.go = False; self.thread.join(); self.peak = max(self.peak, rss())
"""

OURS = """\
from oda_widgets.light_curve import LightCurveView
T0 = time.time() * 1000
with Peak() as peak:
    widget = LightCurveView(hdul, columns=1000)
T1 = time.time() * 1000
widget.add_class("bench-target")
info = w.Label(f"t0={{T0:.3f}} build={{T1 - T0:.1f}} rss={{peak.peak - peak.base}}"); info.add_class("bench-info")
w.VBox([widget, info])
"""

# the canvas plot alone: the product model's arrays straight into LightCurvePlot
OURS_PLOT = """\
from oda_widgets.products.light_curve import LightCurve
from oda_widgets.products.curve_arrays import curve_arrays
from oda_widgets.light_curve.plot import LightCurvePlot, PlotSeries
T0 = time.time() * 1000
with Peak() as peak:
    lc = LightCurve.from_product(hdul)
    arr = curve_arrays(lc)
    widget = LightCurvePlot([PlotSeries("SPI-ACS", arr.seconds, arr.values, arr.errors, arr.half_widths)],
                            reference=arr.reference, time_format="seconds", columns=1000)
T1 = time.time() * 1000
widget.add_class("bench-target")
info = w.Label(f"t0={{T0:.3f}} build={{T1 - T0:.1f}} rss={{peak.peak - peak.base}}"); info.add_class("bench-info")
w.VBox([widget, info])
"""

PEER = """\
import plotly.graph_objects as go
from plotly_resampler import FigureWidgetResampler
T0 = time.time() * 1000
with Peak() as peak:
    d = hdul[1].data
    t = np.ascontiguousarray(d["TIME"], dtype=np.float64)
    y = np.ascontiguousarray(d["RATE"], dtype=np.float32)
    fig = FigureWidgetResampler(go.Figure(layout=dict(height=420, margin=dict(t=30, b=55, l=75, r=20))),
                                default_n_shown_samples={points})
    fig.add_trace(go.Scatter(name="SPI-ACS", mode="lines", line=dict(width=1.2)), hf_x=t, hf_y=y)
T1 = time.time() * 1000
info = w.Label(f"t0={{T0:.3f}} build={{T1 - T0:.1f}} rss={{peak.peak - peak.base}}"); info.add_class("bench-info")
display(info)
fig  # a plotly FigureWidget (anywidget) is not an ipywidgets container child: shown on its own
"""

# The traced element of each library and its "what is drawn" signature: our plot's paint counter
# (the canvas cannot be observed; the attribute is set as it is drawn), plotly's trace path.
TARGET = {
    "ours": (".bench-target .oda-lc-plot", "data-paints"),
    "peer": (".js-plotly-plot .scatterlayer .trace path.js-line", "d"),
}

# Paint log: epoch ms two animation frames after each change of the traced element; input-event times.
OBSERVE = """() => {
  window.__lc = { paints: [], events: {}, targets: TARGETS, last: null };
  const now = () => performance.timeOrigin + performance.now();
  // any mutation batch: has what the traced element shows changed?
  new MutationObserver(() => {
    for (const [sel, attr] of window.__lc.targets) {
      const el = document.querySelector(sel);
      if (!el) continue;
      const sig = el.getAttribute(attr) || '';
      if ((attr === 'd' && sig.length < 10) || sig === window.__lc.last) return;
      window.__lc.last = sig;
      requestAnimationFrame(() => requestAnimationFrame(() => window.__lc.paints.push(now())));
      return;
    }
  }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['d', 'data-paints'] });
  for (const kind of ['wheel', 'mouseup', 'pointerup']) {
    document.addEventListener(kind, () => { (window.__lc.events[kind] = window.__lc.events[kind] || []).push(now()); },
                              { capture: true, passive: true });
  }
}"""

# Points sent for the trace: ours, the vertices of the drawn lines (the plot counts them as it draws);
# the peer, the length of the trace's data (plotly simplifies near-collinear vertices when drawing).
POINTS = {
    "ours": """() => { const el = document.querySelector('.bench-target .oda-lc-plot');
                      return el ? +(el.dataset.points || 0) : 0; }""",
    "peer": """() => { const gd = document.querySelector('.js-plotly-plot');
                      return gd && gd.data && gd.data[0] ? gd.data[0].x.length : 0; }""",
}


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _settle(page, quiet_ms: int = 1500, timeout_s: float = 60.0) -> None:
    """Wait until no paint for ``quiet_ms`` and the kernel is idle."""
    deadline = time.monotonic() + timeout_s
    last_n = -1
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        n = page.evaluate("() => window.__lc.paints.length")
        idle = page.evaluate(
            "() => { const k = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;"
            " return k.status === 'idle'; }"
        )
        if n != last_n or not idle:
            last_n, quiet_since = n, time.monotonic()
        elif (time.monotonic() - quiet_since) * 1000 >= quiet_ms:
            return
        page.wait_for_timeout(100)


def _interaction(page, lib: str, act) -> dict:
    """Run ``act(box)``; time from its input event to the last repaint; bytes received meanwhile."""
    _settle(page, quiet_ms=800)
    page.evaluate("() => { window.__lc.paints = []; window.__lc.events = {}; }")
    rx0 = page.evaluate("() => window.__wsBytes.rx")
    fig = page.locator(".bench-target .oda-lc-plot" if lib == "ours" else ".js-plotly-plot").first
    fig.scroll_into_view_if_needed()
    box = fig.bounding_box()
    event = act(box)
    _settle(page)
    # the input event: the wheel, or the end of the drag (mouseup or pointerup, whichever was seen)
    kinds = ["wheel"] if event == "wheel" else ["mouseup", "pointerup"]
    events = page.evaluate("() => window.__lc.events")
    stamps = [e[-1] for k, e in events.items() if e and k in kinds]
    paints = page.evaluate("() => window.__lc.paints")
    rx = page.evaluate("() => window.__wsBytes.rx") - rx0
    points = page.evaluate(POINTS[lib])
    ms = paints[-1] - min(stamps) if paints and stamps else float("nan")
    return {"ms": ms, "rx": rx, "points": points}


def _plot_area(page, lib: str, box: dict) -> tuple[float, float, float, float]:
    """(left, right, top, bottom) of the plotting area in page pixels."""
    if lib == "ours":
        c = page.locator(".bench-target .oda-lc-canvas").first.bounding_box()
        b = page.evaluate(
            "() => JSON.parse(document.querySelector('.bench-target .oda-lc-plot').dataset.box)"
        )
        x, y = c["x"] + b["left"], c["y"] + b["top"]
        return x, x + b["width"], y, y + b["height"]
    r = page.locator(".js-plotly-plot .nsewdrag").first.bounding_box()
    return r["x"], r["x"] + r["width"], r["y"], r["y"] + r["height"]


def _tool(page, lib: str, tool: str) -> None:
    """Choose what a drag does: 'zoom' (box) or 'pan'."""
    if lib == "ours":
        page.locator(f'.bench-target [data-testid="lc-tool-{tool}"]').first.click()
    else:
        page.locator(".js-plotly-plot").first.hover()
        page.locator(f'.js-plotly-plot .modebar-btn[data-val="{tool}"]').first.click()


def zoom_box(page, lib: str) -> dict:
    _tool(page, lib, "zoom")

    def act(box):
        left, right, top, bottom = _plot_area(page, lib, box)
        cx, cy = (left + right) / 2, (top + bottom) / 2
        half = (right - left) * 0.025
        page.mouse.move(cx - half, cy)
        page.mouse.down()
        page.mouse.move(cx, cy + 1, steps=4)
        page.mouse.move(cx + half, cy, steps=4)
        page.mouse.up()
        return "mouseup"

    return _interaction(page, lib, act)


def zoom_wheel(page, lib: str) -> dict:
    def act(box):
        left, right, top, bottom = _plot_area(page, lib, box)
        page.mouse.move((left + right) / 2, (top + bottom) / 2)
        page.mouse.wheel(0, -2996)  # exp(-0.001 * 2996) = 0.05
        return "wheel"

    return _interaction(page, lib, act)


def reset(page, lib: str) -> None:
    page.locator('.bench-target [data-testid="lc-reset"]').first.click()
    _settle(page)


def pan(page, lib: str) -> dict:
    _tool(page, lib, "pan")

    def act(box):
        left, right, top, bottom = _plot_area(page, lib, box)
        cy = (top + bottom) / 2
        x0 = left + (right - left) * 0.6
        page.mouse.move(x0, cy)
        page.mouse.down()
        page.mouse.move(x0 - (right - left) / 3, cy, steps=10)
        page.mouse.up()
        return "mouseup"

    return _interaction(page, lib, act)


def run_one(page, lab: Lab, lib: str, n: int, points: int, ours: str) -> dict:
    cell = (OURS if ours == "view" else OURS_PLOT).format() if lib == "ours" else PEER.format(points=points)
    name = lab.notebook(DATA.format(n=n), cell)
    open_notebook(page, lab, name)
    page.wait_for_function("() => window.__lc.paints.length > 0", timeout=300_000)
    _settle(page)
    info = page.locator(".bench-info").inner_text()
    t0 = float(re.search(r"t0=([\d.]+)", info)[1])
    out = {
        "build_ms": float(re.search(r"build=([\d.]+)", info)[1]),
        "rss": int(re.search(r"rss=(\d+)", info)[1]),
        "first_ms": page.evaluate("() => window.__lc.paints[0]") - t0,
    }
    if lib == "ours":
        wz = zoom_wheel(page, lib)
        reset(page, lib)
        out.update(wheel_ms=wz["ms"], wheel_rx=wz["rx"])
    z = zoom_box(page, lib)
    p = pan(page, lib)
    out.update(zoom_ms=z["ms"], zoom_rx=z["rx"], zoom_points=z["points"], pan_ms=p["ms"], pan_rx=p["rx"])
    lab.close_sessions()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000, 10_000_000])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--peer-points", type=int, default=4000)
    ap.add_argument(
        "--ours", choices=["view", "plot"], default="view", help="LightCurveView, or LightCurvePlot alone"
    )
    ap.add_argument("--quick", action="store_true", help="10^6 points, 3 runs each")
    ap.add_argument("--verbose", action="store_true", help="print every run")
    args = ap.parse_args()
    if args.quick:
        args.sizes, args.reps = [1_000_000], 3
    try:
        import plotly_resampler  # noqa: F401
    except ImportError:
        sys.exit('the peer is missing: .venv/bin/pip install -e ".[bench]"')
    print(f"load average at start: {_load()} ({os.cpu_count()} cores); ours: {args.ours}")
    keys = ["build_ms", "rss", "first_ms", "zoom_ms", "zoom_rx", "zoom_points", "pan_ms", "pan_rx"]
    # one notebook (one library) per page load: the first traced element present is the one
    observe = OBSERVE.replace("TARGETS", repr([list(t) for t in TARGET.values()]))
    with lab_page(f"({observe})()") as (lab, page):
        for n in args.sizes:
            runs = {"ours": [], "peer": []}
            for rep in range(args.reps):
                for lib in ("ours", "peer") if rep % 2 == 0 else ("peer", "ours"):
                    runs[lib].append(run_one(page, lab, lib, n, args.peer_points, args.ours))
                    if args.verbose:
                        print(f"  {lib} {n:,} #{rep + 1}: {runs[lib][-1]} load {_load()}", flush=True)
            med = {lib: {k: statistics.median(r[k] for r in rs) for k in keys} for lib, rs in runs.items()}
            wheel = {k: statistics.median(r[k] for r in runs["ours"]) for k in ("wheel_ms", "wheel_rx")}
            o, q = med["ours"], med["peer"]
            raw = 24 * n
            print(
                f"\n{n:,} points (raw float64 arrays {raw / 1e6:.0f} MB), median of {args.reps}; load {_load()}"
            )
            print(f"{'':26}{'ours':>12}{'peer':>12}{'ours/peer':>11}")

            def row(label, key, unit, scale=1.0, fmt=".0f", o=o, q=q):
                a, b = o[key] * scale, q[key] * scale
                print(f"{label:26}{a:>9{fmt}} {unit:<2}{b:>9{fmt}} {unit:<2}{a / b:>10.2f}")

            row("build (kernel)", "build_ms", "ms")
            row("build peak RSS", "rss", "MB", 1e-6)
            row("first draw", "first_ms", "ms")
            row("zoom to 5% (box) → painted", "zoom_ms", "ms")
            print(
                f"{'zoom to 5% (wheel) → painted':26}{wheel['wheel_ms']:>9.0f} ms  (ours only; includes the 100 ms debounce)"
            )
            row("pan → painted", "pan_ms", "ms")
            row("bytes per zoom", "zoom_rx", "kB", 1e-3)
            row("bytes per pan", "pan_rx", "kB", 1e-3)
            row("points drawn (zoom)", "zoom_points", "")
            print(
                f"{'bytes per drawn point':26}{o['zoom_rx'] / max(o['zoom_points'], 1):>9.1f} B "
                f"{q['zoom_rx'] / max(q['zoom_points'], 1):>9.1f} B "
                f"{(o['zoom_rx'] / max(o['zoom_points'], 1)) / (q['zoom_rx'] / max(q['zoom_points'], 1)):>10.2f}"
            )
            print(f"{'build RSS / raw':26}{o['rss'] / raw:>9.2f}   {q['rss'] / raw:>9.2f}", flush=True)
    print(
        "\ngoals: zoom → painted ≤ 0.5× the peer's and < 100 ms at 10^6; first draw at 10^7 < 1.5 s; bytes per"
        " drawn point ≤ the peer's; pans no more bytes than the peer's; build peak RSS ≤ 3× the raw arrays"
    )
    print(f"load average at end: {_load()}")


if __name__ == "__main__":
    main()
