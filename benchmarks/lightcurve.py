"""LightCurveView against plotly-resampler's FigureWidgetResampler, in one JupyterLab + Chromium run.

    .venv/bin/pip install -e ".[bench]"     # plotly-resampler: the peer, not a runtime dependency
    .venv/bin/python benchmarks/lightcurve.py [--sizes 100000 1000000 10000000] [--reps 5]

Both draw the same SPI-ACS-like curve (0.05 s bins, Poisson rates, one one-bin burst), starting from
the same data in the kernel: a FITS ``HDUList`` as the product model decodes it from the dispatcher.
Ours: ``LightCurveView(hdulist)`` (product model + view: M4 line with its error envelope). Peer:
``FigureWidgetResampler`` with one ``go.Scatter`` trace fed the TIME/RATE columns (its default MinMaxLTTB
aggregation; ``--peer-points`` shown samples, default 4000 = what our 1000 columns × M4 draw at most).

Per size, ``--reps`` fresh kernels per library, interleaved (ours, peer, peer, ours, ...); medians:

* build — kernel time from the data being in the kernel to the widget built; peak RSS above the
  baseline during it (a 2 ms sampling thread reading /proc/self/statm), against the raw arrays
  (time, rate, error as float64: 24 B a bin);
* first draw — from the same kernel instant to the first paint of the curve in the page;
* zoom to 5 % — ours: one wheel event zooming 20× (bqplot's wheel factor exp(-0.001·Δy)); peer: a box
  zoom over the middle 5 % of the plot (plotly's default drag); both are one range change sent to the
  kernel. Pan — ours: drag by a third of the plot (bqplot's pan); peer: the same drag in plotly's pan
  mode. Both timed from the input event to the last repaint: paint is detected the same way for both
  — the trace's SVG path ``d`` changes, then two animation frames — and the last one within a settled
  second counts (the kernel's new data, after any instant local re-render);
* bytes — what the page received over the kernel websocket during the interaction (Jupyter messages:
  comm updates and kernel status), and per drawn point (points counted in the painted path).

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

# The traced element of each library: our rate line (first row of the curve's mark), plotly's trace path.
TARGET = {
    "ours": ".bench-target .bqplot g.curve path.line",
    "peer": ".js-plotly-plot .scatterlayer .trace path.js-line",
}

# Paint log: epoch ms two animation frames after each change of the traced path; input-event times.
OBSERVE = """() => {
  window.__lc = { paints: [], events: {}, sel: SELECTOR, last: null };
  const now = () => performance.timeOrigin + performance.now();
  // any mutation batch: has the traced path's geometry changed? (a path can also arrive new, d set)
  new MutationObserver(() => {
    const el = document.querySelector(window.__lc.sel);
    if (!el) return;
    const d = el.getAttribute('d') || '';
    if (d.length < 10 || d === window.__lc.last) return;
    window.__lc.last = d;
    requestAnimationFrame(() => requestAnimationFrame(() => window.__lc.paints.push(now())));
  }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['d'] });
  for (const kind of ['wheel', 'mouseup', 'pointerup']) {
    document.addEventListener(kind, () => { (window.__lc.events[kind] = window.__lc.events[kind] || []).push(now()); },
                              { capture: true, passive: true });
  }
}"""

# Points sent for the trace: ours, the vertices of the rate line (bqplot draws every point it gets);
# the peer, the length of the trace's data (plotly simplifies near-collinear vertices when drawing).
POINTS = {
    "ours": """() => { const el = document.querySelector('.bench-target .bqplot g.curve path.line');
                      return el ? ((el.getAttribute('d') || '').match(/[ML]/g) || []).length : 0; }""",
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
    fig = page.locator(".bench-target .bqplot" if lib == "ours" else ".js-plotly-plot").first
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
    sel = ".bench-target .bqplot .plotarea_background" if lib == "ours" else ".js-plotly-plot .nsewdrag"
    r = page.locator(sel).first.bounding_box()
    return r["x"], r["x"] + r["width"], r["y"], r["y"] + r["height"]


def zoom(page, lib: str) -> dict:
    def act(box):
        left, right, top, bottom = _plot_area(page, lib, box)
        cx, cy = (left + right) / 2, (top + bottom) / 2
        if lib == "ours":
            page.mouse.move(cx, cy)
            page.mouse.wheel(0, -2996)  # exp(-0.001 * 2996) = 0.05
            return "wheel"
        half = (right - left) * 0.025
        page.mouse.move(cx - half, cy)
        page.mouse.down()
        page.mouse.move(cx, cy + 1, steps=4)
        page.mouse.move(cx + half, cy, steps=4)
        page.mouse.up()
        return "mouseup"

    return _interaction(page, lib, act)


def pan(page, lib: str) -> dict:
    if lib == "peer":
        page.locator(".js-plotly-plot").first.hover()
        page.locator('.js-plotly-plot .modebar-btn[data-val="pan"]').first.click()

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


def run_one(page, lab: Lab, lib: str, n: int, points: int) -> dict:
    cell = OURS.format() if lib == "ours" else PEER.format(points=points)
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
    z = zoom(page, lib)
    p = pan(page, lib)
    out.update(zoom_ms=z["ms"], zoom_rx=z["rx"], zoom_points=z["points"], pan_ms=p["ms"], pan_rx=p["rx"])
    lab.close_sessions()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000, 10_000_000])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--peer-points", type=int, default=4000)
    ap.add_argument("--verbose", action="store_true", help="print every run")
    args = ap.parse_args()
    try:
        import plotly_resampler  # noqa: F401
    except ImportError:
        sys.exit('the peer is missing: .venv/bin/pip install -e ".[bench]"')
    print(f"load average at start: {_load()} ({os.cpu_count()} cores)")
    keys = ["build_ms", "rss", "first_ms", "zoom_ms", "zoom_rx", "zoom_points", "pan_ms", "pan_rx"]
    # one notebook (one library) per page load: the first traced path present is the one
    observe = OBSERVE.replace("SELECTOR", repr(", ".join(TARGET.values())))
    with lab_page(f"({observe})()") as (lab, page):
        for n in args.sizes:
            runs = {"ours": [], "peer": []}
            for rep in range(args.reps):
                for lib in ("ours", "peer") if rep % 2 == 0 else ("peer", "ours"):
                    runs[lib].append(run_one(page, lab, lib, n, args.peer_points))
                    if args.verbose:
                        print(f"  {lib} {n:,} #{rep + 1}: {runs[lib][-1]}", flush=True)
            med = {lib: {k: statistics.median(r[k] for r in rs) for k in keys} for lib, rs in runs.items()}
            o, q = med["ours"], med["peer"]
            raw = 24 * n
            print(
                f"\n{n:,} points (raw float64 arrays {raw / 1e6:.0f} MB), median of {args.reps}; load {_load()}"
            )
            print(f"{'':22}{'ours':>12}{'peer':>12}{'ours/peer':>11}")

            def row(label, key, unit, scale=1.0, fmt=".0f", o=o, q=q):
                a, b = o[key] * scale, q[key] * scale
                print(f"{label:22}{a:>9{fmt}} {unit:<2}{b:>9{fmt}} {unit:<2}{a / b:>10.2f}")

            row("build (kernel)", "build_ms", "ms")
            row("build peak RSS", "rss", "MB", 1e-6)
            row("first draw", "first_ms", "ms")
            row("zoom to 5% → painted", "zoom_ms", "ms")
            row("pan → painted", "pan_ms", "ms")
            row("bytes per zoom", "zoom_rx", "kB", 1e-3)
            row("bytes per pan", "pan_rx", "kB", 1e-3)
            row("points drawn (zoom)", "zoom_points", "")
            print(
                f"{'bytes per drawn point':22}{o['zoom_rx'] / max(o['zoom_points'], 1):>9.1f} B "
                f"{q['zoom_rx'] / max(q['zoom_points'], 1):>9.1f} B "
                f"{(o['zoom_rx'] / max(o['zoom_points'], 1)) / (q['zoom_rx'] / max(q['zoom_points'], 1)):>10.2f}"
            )
            print(f"{'build RSS / raw':22}{o['rss'] / raw:>9.2f}   {q['rss'] / raw:>9.2f}", flush=True)
    print(
        "\ngoals: zoom → painted ≤ 0.5× the peer's and < 100 ms at 10^6; first draw at 10^7 < 1.5 s; bytes per"
        " drawn point ≤ the peer's; build peak RSS ≤ 3× the raw arrays"
    )
    print(f"load average at end: {_load()}")


if __name__ == "__main__":
    main()
