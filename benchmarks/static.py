"""Static pictures of the views (``oda_widgets/static.py``): what a display costs, what a saved
notebook carries.

Measured in one run, on products of the demo dispatcher (over HTTP, in this process):

* a SPI-ACS light curve of one day at 0.05 s (1 728 000 bins): ``light_curve_png`` (min–max
  envelope per pixel column) against the peer a plain notebook would run, matplotlib's
  ``errorbar`` of every bin, and against building the ``LightCurveView`` itself;
* an ISGRI sky image: ``mosaic_png`` (WCSAxes grid, palette PNG) against building the
  ``MosaicView``, and the PNG's size as 256 palette colours against matplotlib's RGBA PNG.

Run: ``.venv/bin/python benchmarks/static.py [--repeat 3]``.
Goals: a light curve's picture < 1 s and ≥ 10× faster than the every-bin peer; a sky image's
picture < 1.5 s; the palette PNG ≤ 1/3 of the RGBA one.
"""

from __future__ import annotations

import argparse
import statistics
import time

from astropy import units as u

from oda_widgets import demo, static
from oda_widgets.client import Dispatcher


def timed(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def every_bin_png(lc) -> bytes:
    """The peer: matplotlib's errorbar of every bin (what a notebook would draw without care)."""
    fig = static._figure(static.LIGHT_CURVE_SIZE, layout="constrained")
    ax = fig.add_subplot()
    t = (lc.time - lc.time[0]).to_value(u.s)
    ax.errorbar(t, lc.rate.value, yerr=lc.error.value, linewidth=0.9, elinewidth=0.6)
    return static._png(fig)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from oda_widgets.light_curve import LightCurveView
    from oda_widgets.mosaic import MosaicView

    server = demo.start(speed=100, workflows=False)
    try:
        disp = Dispatcher(server.url, token="")
        lc_products = disp.submit(
            "spi_acs",
            "spi_acs_lc",
            {"T1": "2022-10-09T00:00:00", "T2": "2022-10-10T00:00:00", "time_bin": 0.05},
        ).wait(timeout=300)
        image = disp.submit("isgri", "isgri_image", {"max_pointings": 50}).wait(timeout=300)
    finally:
        server.stop()

    static._png(static._figure((10, 10)))  # matplotlib's import paid before timing
    lc = lc_products.light_curves[0]
    build_view, view = timed(lambda: LightCurveView(lc_products.light_curves), args.repeat)
    ours, png = timed(lambda: static.light_curve_png(view), args.repeat)
    peer, _ = timed(lambda: every_bin_png(lc), 1)
    print(f"light curve, {len(lc.rate):,} bins:")
    print(f"  picture (envelope)    {ours:6.2f} s   {len(png) / 1e3:6.0f} kB")
    print(f"  peer: every bin       {peer:6.2f} s   ratio {peer / ours:5.1f}x")
    print(f"  building the view     {build_view:6.2f} s   (the picture adds {100 * ours / build_view:.0f} %)")

    mosaic = image.mosaic
    build_mosaic, mview = timed(lambda: MosaicView(mosaic), args.repeat)
    ours_m, png_m = timed(lambda: static.mosaic_png(mview), args.repeat)
    shape = next(iter(mosaic.images.values())).shape
    # the same picture written as matplotlib's RGBA PNG (no palette)
    palette_png = static._png
    static._png = lambda fig, palette=False: palette_png(fig, palette=False)
    try:
        rgba = static.mosaic_png(mview)
    finally:
        static._png = palette_png
    print(f"sky image, {shape[1]}×{shape[0]} px:")
    print(f"  picture (WCSAxes)     {ours_m:6.2f} s   {len(png_m) / 1e3:6.0f} kB (palette)")
    print(f"  building the view     {build_mosaic:6.2f} s")
    print(
        f"  same image as RGBA PNG          {len(rgba) / 1e3:6.0f} kB   palette/RGBA {len(png_m) / len(rgba):.2f}"
    )
    ok = ours < 1.0 and peer / ours >= 10 and ours_m < 1.5 and len(png_m) <= len(rgba) / 3
    print("goals met" if ok else "GOALS NOT MET")


if __name__ == "__main__":
    main()
