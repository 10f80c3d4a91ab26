"""``LightCurveView``: rate against time for one or more INTEGRAL light curves (bqplot).

What is drawn scales with the screen, not with the data: for the visible time range the kernel sends
at most four points per pixel column (first, last, lowest, highest: M4 through ``tsdownsample``, see
:mod:`.decimate`) and, per column, the error envelope (lowest ``rate - error``, highest
``rate + error``) drawn as two thin edge lines. Short ranges are drawn point by point with error bars.

One zoom = one message and one redraw per curve: each curve is one bqplot ``Lines`` mark whose rows are
the rate line and its envelope (or error bars), updated in a single ``hold_sync``; the x scale's
min/max arrive from the page without an echo back; the first change redraws at once and a burst of
wheel steps is coalesced (at most one redraw per ``debounce`` seconds, the last one always drawn).

Times stay float64 seconds since :attr:`LightCurveView.reference` inside the view (the product's own
arrays, shared, not copied: :func:`oda_widgets.products.curve_arrays`) and become astropy ``Time`` only
at the boundary (``selected_interval``, ``view_range``, axis labels). x travels as float64 in axis
units (float32 absolute IJD would be wrong by a minute); rates travel as float32.

Why decimation and not WebGL marks (bqplot-gl): measured in JupyterLab + Chromium on the project
machine (benchmarks/lightcurve.py and a one-off LinesGL run), 10^6 points first draw 0.4 s and
~116 kB per zoom with decimation, against 19.6 s and 16 MB with bqplot-gl's LinesGL, which must
ship every point to the page (and has no error bars).

For panels built on the view (fits, excess search): ``view_range()``/``zoom_to()`` read and set the
visible interval, ``redraws`` is a trait to observe after each zoom, ``selected_interval`` is the
brushed interval, ``curve_marks`` are the curves' bqplot marks and :meth:`LightCurveView.add_overlay`
draws a model curve over them (kept across time-axis switches).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import bqplot
import ipywidgets as widgets
import numpy as np

# the χ² p-value's scipy.special takes ~1 s to import: pay it with the module, not after the first
# light curve appears (where it would hold up the first zoom)
import scipy.special  # noqa: F401
import traitlets
from astropy import units as u
from astropy.io import fits
from astropy.time import Time, TimeDelta
from bqscales.traits import Date

from ..analysis.timing import chi2_constant
from ..errors import InvalidParameter
from ..products.curve_arrays import CurveArrays, curve_arrays, seconds_and_reference
from ..products.rebin import (
    TIME_AXES,
    BinnedLightCurve,
    axis_to_seconds,
    rebin,
    seconds_to_axis,
    time_zero_of,
)
from ..static import StaticFallback, light_curve_png
from .analysis_panel import LightCurveAnalysis
from .decimate import decimate

TIME_FORMATS = TIME_AXES
# d3's category10, the colours people already associate with "first source, second source..."
PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
# SPI-ACS products carry no energy keywords; oda_api labels them with the ACS's nominal band
SPI_ACS_BAND = (75.0, 2000.0)
#: opacity of the error envelope's edges and of the error bars
ENVELOPE_OPACITY = 0.45
ERROR_BAR_OPACITY = 0.55


class _TimeScale(bqplot.LinearScale):
    """The x scale: min/max set by the page (pan, zoom) are not echoed back (one message less per zoom)."""

    min = traitlets.Float(None, allow_none=True).tag(sync=True, echo_update=False)
    max = traitlets.Float(None, allow_none=True).tag(sync=True, echo_update=False)


class _DateTimeScale(bqplot.DateScale):
    """The UTC x scale, without echo of the page's min/max (see ``_TimeScale``)."""

    min = Date(default_value=None, allow_none=True).tag(sync=True, echo_update=False)
    max = Date(default_value=None, allow_none=True).tag(sync=True, echo_update=False)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _as_light_curves(data: Any) -> list[Any]:
    """Normalise what users pass: a LightCurve, a list, a ProductCollection, an HDUList/NumpyProduct."""
    if data is None:
        raise InvalidParameter("LightCurveView needs a light curve (or a list of them)")
    if hasattr(data, "light_curves") and not hasattr(data, "rate"):
        data = list(data.light_curves)
    # an HDUList is a list too, but of HDUs of one curve
    if not isinstance(data, (list, tuple)) or isinstance(data, fits.HDUList):
        data = [data]
    out = []
    for item in data:
        # `seconds` first: a LightCurve builds its per-bin `time` only when asked for it
        if hasattr(item, "rate") and (getattr(item, "seconds", None) is not None or hasattr(item, "time")):
            out.append(item)
            continue
        from ..products.light_curve import LightCurve

        try:
            out.append(LightCurve.from_product(item))
        except TypeError as exc:
            raise InvalidParameter(
                f"cannot show a {type(item).__name__}: pass a LightCurve, a light-curve product or HDUList "
                "(or a list of them)"
            ) from exc
    if not out:
        raise InvalidParameter("LightCurveView got an empty list of light curves")
    return out


def _first_instant(lc: Any) -> Time:
    """The curve's earliest bin centre, from its seconds (no per-bin ``Time``)."""
    sec, ref = seconds_and_reference(lc)
    finite = sec[np.isfinite(sec)] if sec.size and not np.isfinite(sec).all() else sec
    return ref + TimeDelta(float(finite.min()) if finite.size else 0.0, format="sec")


class _Curve:
    """One source: the curve as received (``original``), what is drawn (``shown``) and its arrays."""

    label: str | None = None

    def __init__(self, lc: Any, ref: Time, colour: str):
        self.original = lc
        self.colour = colour
        self.set_shown(lc, ref)

    def set_shown(self, lc: Any, ref: Time) -> None:
        self.shown = lc
        self.arrays: CurveArrays = curve_arrays(lc, ref)
        self.drawn_key: tuple | None = None  # (range, axis) last drawn: a repeat draws nothing
        self.fit: Any = None  # χ² against a constant, computed once per shown curve
        self.drawn: tuple[np.ndarray, np.ndarray] = (np.zeros(0), np.zeros(0))

    @property
    def sec(self) -> np.ndarray:
        return self.arrays.seconds

    @property
    def y(self) -> np.ndarray:
        return self.arrays.values

    @property
    def err(self) -> np.ndarray:
        return self.arrays.errors

    @property
    def xerr(self) -> np.ndarray:
        return self.arrays.half_widths

    @property
    def source(self) -> str:
        if self.label:
            return self.label
        # SPI-ACS curves have no source name: the instrument is the better legend
        return str(
            getattr(self.original, "source", None)
            or getattr(self.original, "instrument", None)
            or "light curve"
        )


def _pad(a: np.ndarray, n: int) -> np.ndarray:
    """``a`` extended to length ``n`` by repeating its last value (rows of one bqplot mark must be
    equally long; a repeated last point draws nothing and keeps bqplot's curve label finite)."""
    if a.size >= n:
        return a
    return np.concatenate([a, np.broadcast_to(a[-1:], (n - a.size,))])


class LightCurveView(StaticFallback, widgets.VBox):
    """Interactive light curve(s): zoom/pan, time axis in IJD/MJD/UTC/seconds, rebinning, interval brush.

    ``LightCurveView(lc)`` or ``LightCurveView([lc1, lc2])`` (a ``ProductCollection`` works too).
    Every control is also a method: :meth:`set_time_format`, :meth:`rebin`, :meth:`reset_zoom`,
    :meth:`zoom_to`, :meth:`set_mode`, :meth:`show_sources`, :meth:`select_interval`,
    :meth:`use_as_t1_t2`, :meth:`save`, :meth:`export_png`. After brushing, :attr:`selected_interval`
    is an astropy ``Time`` pair (UTC scale); :meth:`view_range` is the visible interval.

    ``columns`` is the horizontal resolution the curves are decimated to; ``debounce`` the shortest
    interval between two zoom redraws (the first change of a burst is drawn at once, the last one
    always).
    """

    #: saved notebooks show the curves as a PNG (matplotlib, drawn on display)
    _static_png = light_curve_png
    #: the brushed interval: an astropy ``Time`` pair (UTC, ISO), or None; observe it to use the
    #: interval elsewhere (not synced to the page)
    selected_interval = traitlets.Instance(Time, allow_none=True)
    #: number of redraws so far (observe it to act after zoom redraws); not synced to the page
    redraws = traitlets.Int(0)
    #: kernel time of the last redraw in ms (decimation + trait updates)
    last_redraw_ms = traitlets.Float(0.0)

    def __init__(
        self,
        light_curves: Any,
        *,
        time_format: str | None = None,
        columns: int = 1000,
        debounce: float = 0.1,
        height: str = "420px",
    ):
        super().__init__()
        lcs = _as_light_curves(light_curves)
        zero = time_zero_of(lcs[0])
        # reference of the float64 x data: TIMEZERO for SPI-ACS (its own convention), else the first bin
        if zero is not None:
            reference = zero
        else:
            firsts = [_first_instant(lc).tt for lc in lcs]
            reference = firsts[int(np.argmin([(f - firsts[0]).to_value(u.s) for f in firsts]))]
        #: the instant the view's float64 seconds count from (TT)
        self.reference: Time = reference.tt
        self.columns = int(columns)
        self.debounce = float(debounce)
        self._curves = [_Curve(lc, self.reference, PALETTE[i % len(PALETTE)]) for i, lc in enumerate(lcs)]
        # the picker and the legend need distinct names (two curves of one source, e.g. ISGRI + JEM-X)
        seen: dict[str, int] = {}
        for c in self._curves:
            n = seen[c.source] = seen.get(c.source, 0) + 1
            if n > 1:
                c.label = f"{c.source} ({n})"
        self._form = None
        self._pending: asyncio.Handle | None = None
        self._last_redraw = 0.0
        self._overlays: dict[str, dict[str, Any]] = {}
        #: the factor or width of the current rebinning (None: the curves as received)
        self.rebinned_by: Any = None
        self._quiet = False
        self.bytes_sent = 0  # payload of the last redraw (x, y, error bars), for benchmarks
        self._time_format = time_format or ("seconds" if zero is not None else "IJD")
        if self._time_format not in TIME_FORMATS:
            raise InvalidParameter(f"time_format must be one of {TIME_FORMATS}, got {self._time_format!r}")

        self._format_picker = widgets.Dropdown(
            options=TIME_FORMATS,
            value=self._time_format,
            description="Time",
            layout=widgets.Layout(width="180px"),
        )
        self._format_picker.observe(lambda ch: self.set_time_format(ch["new"]), "value")
        self._source_picker = widgets.SelectMultiple(
            options=[c.source for c in self._curves],
            value=[c.source for c in self._curves],
            rows=min(4, len(self._curves)),
            description="Sources",
            layout=widgets.Layout(width="260px", display="" if len(self._curves) > 1 else "none"),
        )
        self._source_picker.observe(lambda ch: self.show_sources(ch["new"]), "value")
        self._mode = widgets.ToggleButtons(
            options=[("zoom/pan", "zoom"), ("select interval", "select")],
            value="zoom",
            style={"button_width": "125px"},
        )
        self._mode.observe(lambda ch: self.set_mode(ch["new"]), "value")
        self._reset_button = widgets.Button(description="Reset zoom", icon="home")
        self._reset_button.on_click(lambda _: self.reset_zoom())
        self._rebin_text = widgets.Text(
            value="",
            placeholder="factor (5) or width (100 s)",
            description="Rebin",
            layout=widgets.Layout(width="260px"),
        )
        self._rebin_button = widgets.Button(description="Apply", layout=widgets.Layout(width="70px"))
        self._rebin_button.on_click(lambda _: self._rebin_from_text())
        self._t1t2_button = widgets.Button(
            description="Use as T1/T2",
            disabled=True,
            tooltip="copy the brushed interval into the linked query form",
        )
        self._t1t2_button.on_click(lambda _: self.use_as_t1_t2())
        self.message = widgets.HTML()
        self.stats = widgets.HTML()
        self._height = height
        self._build_figure()
        self.children = [
            widgets.HBox([self._format_picker, self._mode, self._reset_button]),
            self.figure,
            widgets.HBox([self._rebin_text, self._rebin_button, self._t1t2_button, self._source_picker]),
            self.stats,
            self.message,
        ]
        self.reset_zoom()
        self._last_redraw = 0.0  # the first zoom is drawn at once
        loop = _running_loop()
        if loop is None:
            self._update_stats()
        else:
            # in a kernel: the χ² over every bin (and scipy's import) after the figure is on its way
            self.stats.value = "computing χ² …"
            loop.call_soon(self._update_stats)
        #: quick-look analysis under the plot (fits, excesses, hardness): see analysis_panel.py
        self.analysis = LightCurveAnalysis(self)
        self.children = (*self.children, self.analysis)

    # ---------------------------------------------------------------- time axis conversions
    @property
    def time_format(self) -> str:
        """Current x axis: 'IJD', 'MJD', 'UTC' (date-time axis) or 'seconds' (since :attr:`reference`)."""
        return self._time_format

    def _sec_to_display(self, sec: np.ndarray) -> np.ndarray:
        return seconds_to_axis(sec, self.reference, self._time_format)

    def _display_to_sec(self, v: Any) -> float:
        return axis_to_seconds(v, self.reference, self._time_format)

    def _axis_label(self) -> str:
        if self._time_format == "seconds":
            return f"Time [s since {self.reference.utc.isot[:23]} UTC]"
        if self._time_format == "UTC":
            return "Time [UTC]"
        return f"Time [{self._time_format}, TT]"

    def _rate_label(self) -> str:
        lc = self._curves[0].original
        unit = self._curves[0].arrays.unit
        unit_text = "counts/s" if unit == u.ct / u.s else unit.to_string()
        e_min, e_max = getattr(lc, "e_min", None), getattr(lc, "e_max", None)
        band = ""
        if e_min is not None and e_max is not None:
            band = f" {u.Quantity(e_min, u.keV).value:g}–{u.Quantity(e_max, u.keV).value:g} keV"
        elif str(getattr(lc, "instrument", "")).upper().startswith("SPI"):
            band = f" ~{SPI_ACS_BAND[0]:g}–{SPI_ACS_BAND[1]:g} keV"
        return f"Rate{band} [{unit_text}]"

    # ---------------------------------------------------------------- figure
    def _build_figure(self) -> None:
        xs = _DateTimeScale() if self._time_format == "UTC" else _TimeScale()
        ys = bqplot.LinearScale()
        self.x_scale, self.y_scale = xs, ys
        #: one bqplot ``Lines`` per curve: its rows are the rate line and its envelope or error bars
        self.curve_marks: list[bqplot.Lines] = [
            bqplot.Lines(
                x=np.zeros(0),
                y=np.zeros(0),
                scales={"x": xs, "y": ys},
                colors=[c.colour] * 3,
                labels=[c.source],
                stroke_width=1.2,
                visible=c.source in self._shown_names(),
            )
            for c in self._curves
        ]
        # the legend is a Label mark on fixed 0–1 scales (the curves' own legends would list every row)
        self._legend = bqplot.Label(
            x=[],
            y=[],
            text=[],
            colors=[],
            scales={"x": bqplot.LinearScale(min=0.0, max=1.0), "y": bqplot.LinearScale(min=0.0, max=1.0)},
            align="end",
            default_size=13,
            font_weight="bolder",
        )
        self.x_axis = bqplot.Axis(
            scale=xs, label=self._axis_label(), grid_lines="dashed", num_ticks=6, label_offset="35px"
        )
        self.y_axis = bqplot.Axis(
            scale=ys, side="left", label=self._rate_label(), grid_lines="dashed", label_offset="50px"
        )
        # zoom along time only: the rate axis follows what is drawn
        self.panzoom = bqplot.PanZoom(scales={"x": [xs]})
        self.brush = bqplot.interacts.BrushIntervalSelector(scale=xs, marks=self.curve_marks, color="#ff9900")
        self.brush.observe(self._on_brush, "selected")
        overlays = [self._overlay_mark(name) for name in self._overlays]
        fig = bqplot.Figure(
            marks=[*self.curve_marks, *overlays, self._legend],
            axes=[self.x_axis, self.y_axis],
            interaction=self.panzoom if self._mode.value == "zoom" else self.brush,
            animation_duration=0,
            fig_margin={"top": 30, "bottom": 55, "left": 75, "right": 20},
            layout=widgets.Layout(width="100%", height=self._height),
        )
        self.figure = fig
        self._update_legend()
        xs.observe(self._on_range, names=["min", "max"])

    def drawn(self, curve: int | str = 0) -> tuple[np.ndarray, np.ndarray]:
        """The rate line as drawn now for ``curve`` (index or source name): x in axis units, rates.

        A screen-resolution selection of the bins of the visible range (all of them when the range
        is short), one bin beyond each edge included.
        """
        if isinstance(curve, str):
            if curve not in self.sources:
                raise InvalidParameter(f"unknown source {curve!r}; have {self.sources}")
            curve = self.sources.index(curve)
        return self._curves[curve].drawn

    def _shown_names(self) -> set[str]:
        picker = getattr(self, "_source_picker", None)
        return set(picker.value) if picker is not None else {c.source for c in self._curves}

    def _update_legend(self) -> None:
        shown = [c for c in self._curves if c.source in self._shown_names()]
        with self._legend.hold_sync():
            self._legend.x = np.full(len(shown), 0.985)
            self._legend.y = 0.95 - 0.065 * np.arange(len(shown))
            self._legend.text = [f"━ {c.source}" for c in shown]
            self._legend.colors = [c.colour for c in shown]

    def add_overlay(
        self,
        name: str,
        time: Time,
        values: u.Quantity,
        *,
        colour: str = "black",
        line_style: str = "dashed",
        stroke_width: float = 1.5,
    ) -> bqplot.Lines:
        """Draw a curve over the light curves, e.g. a fitted model: ``time`` (astropy ``Time``),
        ``values`` (Quantity convertible to the rate unit, or plain numbers in it).

        Returns the bqplot mark; the overlay survives time-axis switches. Adding a name again
        replaces it; :meth:`remove_overlay` removes it.
        """
        if not isinstance(time, Time):
            raise InvalidParameter("add_overlay needs the times as an astropy Time")
        unit = self._curves[0].arrays.unit
        vals = u.Quantity(values, unit).to_value(unit) if isinstance(values, u.Quantity) else values
        vals = np.asarray(vals, dtype=np.float64)
        if vals.shape != time.shape:
            raise InvalidParameter(f"add_overlay: {time.shape} times but {vals.shape} values")
        self.remove_overlay(name)
        self._overlays[name] = {
            "seconds": np.atleast_1d((time - self.reference).to_value(u.s)),
            "values": np.atleast_1d(vals),
            "style": {"colors": [colour], "line_style": line_style, "stroke_width": stroke_width},
        }
        mark = self._overlay_mark(name)
        self.figure.marks = [*self.curve_marks, *self._overlay_marks(), mark, self._legend]
        return mark

    def remove_overlay(self, name: str) -> None:
        """Remove the overlay ``name`` (nothing happens if there is none)."""
        if self._overlays.pop(name, None) is None:
            return
        self.figure.marks = [m for m in self.figure.marks if getattr(m, "_oda_overlay", None) != name]

    def _overlay_marks(self) -> list[bqplot.Mark]:
        return [m for m in self.figure.marks if getattr(m, "_oda_overlay", None) in self._overlays]

    def _overlay_mark(self, name: str) -> bqplot.Lines:
        o = self._overlays[name]
        mark = bqplot.Lines(
            x=self._sec_to_display(o["seconds"]),
            y=o["values"],
            scales={"x": self.x_scale, "y": self.y_scale},
            **o["style"],
        )
        mark._oda_overlay = name
        return mark

    def _visible(self) -> list[_Curve]:
        shown = self._shown_names()
        return [c for c in self._curves if c.source in shown]

    def _full_range_sec(self) -> tuple[float, float]:
        curves = [c for c in self._visible() if c.sec.size] or [c for c in self._curves if c.sec.size]
        if not curves:
            return 0.0, 1.0
        lo = min(float(c.sec[0] - c.xerr[0]) for c in curves)
        hi = max(float(c.sec[-1] + c.xerr[-1]) for c in curves)
        return (lo, hi) if hi > lo else (lo - 1.0, hi + 1.0)

    def view_range(self) -> Time:
        """The visible time range as an astropy ``Time`` pair (TT)."""
        a, b = self._current_sec_range()
        return self.reference + TimeDelta([a, b] * u.s)

    def _current_sec_range(self) -> tuple[float, float]:
        xmin, xmax = self.x_scale.min, self.x_scale.max
        if xmin is None or xmax is None:
            return self._full_range_sec()
        return self._display_to_sec(xmin), self._display_to_sec(xmax)

    def _set_sec_range(self, a: float, b: float) -> None:
        lo, hi = self._sec_to_display(np.array([a, b]))
        if self._time_format == "UTC":
            lo, hi = lo.astype(dt.datetime), hi.astype(dt.datetime)
        else:
            lo, hi = float(lo), float(hi)
        # set from Python: redraw once now rather than through the debounced observer
        self._quiet = True
        try:
            self.x_scale.min, self.x_scale.max = lo, hi
        finally:
            self._quiet = False
        self.redraw()

    def reset_zoom(self) -> None:
        """Show the whole curve(s) again."""
        self._set_sec_range(*self._full_range_sec())

    def zoom_to(self, start: Time, stop: Time) -> None:
        """Show only ``start``–``stop`` (astropy ``Time``)."""
        if not (isinstance(start, Time) and isinstance(stop, Time)):
            raise InvalidParameter("zoom_to needs two astropy Time values")
        a, b = (start - self.reference).to_value(u.s), (stop - self.reference).to_value(u.s)
        if not b > a:
            raise InvalidParameter("zoom_to: stop must be after start")
        self._set_sec_range(float(a), float(b))

    def _on_range(self, change) -> None:
        if self._quiet:
            return
        loop = _running_loop()
        if self.debounce <= 0 or loop is None:
            # no kernel event loop (a script, a test): nothing to coalesce against, redraw now
            self.redraw()
            return
        if self._pending is not None:
            return  # a redraw is already due; it reads the range when it runs
        # min and max of one page message arrive as two notifications: draw once, after both.
        # A burst of wheel steps: the first at once, then at most one per `debounce`, the last always.
        wait = self._last_redraw + self.debounce - time.monotonic()
        self._pending = loop.call_soon(self.redraw) if wait <= 0 else loop.call_later(wait, self.redraw)

    def redraw(self) -> None:
        """Recompute what is drawn for the current view (called by zoom/pan, coalesced).

        One message per curve: the mark's rows (rate line + envelope edges, or rate line + error bars
        when every bin of the range is drawn) change together. A curve whose range and axis did not
        change is not redrawn. Observers of the ``redraws`` trait are told once the new data is on its
        way to the page.
        """
        if self._pending is not None:
            self._pending.cancel()
        self._pending = None
        started = time.perf_counter()
        a, b = self._current_sec_range()
        shown = self._shown_names()
        key = (a, b, self._time_format, self.columns)
        todo = [
            (c, m) for c, m in zip(self._curves, self.curve_marks) if c.source in shown and c.drawn_key != key
        ]
        if not todo:
            return  # e.g. the second of the min/max notifications of one page message
        total = 0
        for c, mark in todo:
            c.drawn_key = key
            x, y, full = self._rows(c, a, b)
            with mark.hold_sync():
                mark.x, mark.y = x, y
                # the envelope as its two edges, not a filled band: an SVG area fill costs the page
                # ~250 ms more per zoom at 10^6 points (benchmarks/lightcurve.py, see the README)
                mark.opacities = (
                    [1.0, ERROR_BAR_OPACITY] if full else [1.0, ENVELOPE_OPACITY, ENVELOPE_OPACITY]
                )
            total += x.nbytes + y.nbytes
        self.bytes_sent = total
        self.last_redraw_ms = (time.perf_counter() - started) * 1e3
        self._last_redraw = time.monotonic()
        self.redraws += 1

    def _compact_x(self, x: np.ndarray) -> np.ndarray:
        """``x`` as float32 when that is exact to 1/16 of a pixel column, else as it is (float64).

        bqplot's scales take absolute axis values, so float32 fits only where the values are small
        against the view's width: seconds since TIMEZERO over a zoomed-out range, typically; never
        absolute IJD or dates. Halves the bytes of x on those zooms.
        """
        if x.dtype != np.float64 or x.size < 2:
            return x
        span = float(x[-1] - x[0])
        worst = max(abs(float(x[0])), abs(float(x[-1]))) * 2.0**-23  # float32 spacing there, ×2
        return x.astype(np.float32) if worst * 16 * self.columns < span else x

    def _rows(self, c: _Curve, a: float, b: float) -> tuple[np.ndarray, np.ndarray, bool]:
        """The mark's x and y for [a, b]: (x, [rate, envelope low, envelope high]) on one shared x,
        or, when every bin is drawn, ([x, bars x], [rate, bars]) — rate and error-bar polyline."""
        d = decimate(c.sec, c.y, a, b, self.columns, err=c.err)
        idx = d.index
        if idx.size == 0:
            c.drawn = (np.zeros(0), np.zeros(0, dtype=np.float32))
            return np.zeros(0), np.zeros((0,), dtype=np.float32), True
        sec = c.sec[idx]
        y = c.y[idx]
        x_axis = self._sec_to_display(sec)
        c.drawn = (x_axis, y)
        if not d.full:
            rows = np.empty((3, idx.size), dtype=np.float32)
            rows[0], rows[1], rows[2] = y, d.env_lo, d.env_hi
            return self._compact_x(x_axis), rows, False
        # error bars as one NaN-separated polyline: vertical (rate ± error) then horizontal (± half width)
        e = c.err[idx]
        h = c.xerr[idx]
        n = idx.size
        bx = np.empty((n, 6))
        by = np.empty((n, 6), dtype=np.float32)
        bx[:, 0] = bx[:, 1] = bx[:, 2] = bx[:, 5] = sec
        bx[:, 3], bx[:, 4] = sec - h, sec + h
        by[:, 0], by[:, 1] = y - e, y + e
        by[:, 3] = by[:, 4] = y
        by[:, 2] = by[:, 5] = np.nan
        # no trailing NaN: bqplot places a curve label at the last point, and NaN breaks its transform
        bx, by = bx.ravel()[:-1], by.ravel()[:-1]
        m = bx.size
        xs = np.vstack([_pad(x_axis, m), self._sec_to_display(bx)])
        ys = np.vstack([_pad(y.astype(np.float32), m), by])
        return xs, ys, True

    # ---------------------------------------------------------------- controls (also methods)
    def set_time_format(self, fmt: str) -> None:
        """Switch the time axis: 'IJD', 'MJD', 'UTC' or 'seconds'; the visible range is kept."""
        if fmt not in TIME_FORMATS:
            raise InvalidParameter(f"time format must be one of {TIME_FORMATS}, got {fmt!r}")
        if fmt == self._time_format:
            return
        a, b = self._current_sec_range()
        selected = self.selected_interval
        self._time_format = fmt
        self._format_picker.value = fmt
        old = self.figure
        for c in self._curves:
            c.drawn_key = None  # new marks: everything is drawn again
        self._build_figure()
        self.children = tuple(self.figure if ch is old else ch for ch in self.children)
        self._set_sec_range(a, b)
        if selected is not None:
            self.select_interval(*selected)

    def set_mode(self, mode: str) -> None:
        """'zoom' (drag pans, wheel zooms) or 'select' (drag brushes a time interval)."""
        if mode not in ("zoom", "select"):
            raise InvalidParameter(f"mode must be 'zoom' or 'select', got {mode!r}")
        self._mode.value = mode
        self.figure.interaction = self.panzoom if mode == "zoom" else self.brush

    def show_sources(self, names: Iterable[str]) -> None:
        """Show only the named sources (the others are hidden, not dropped)."""
        names = list(names)
        unknown = set(names) - {c.source for c in self._curves}
        if unknown:
            raise InvalidParameter(f"unknown source(s) {sorted(unknown)}; have {self.sources}")
        if tuple(self._source_picker.value) != tuple(names):
            self._source_picker.value = tuple(names)
        for c, mark in zip(self._curves, self.curve_marks):
            mark.visible = c.source in names
        self._update_legend()
        self.redraw()  # a curve shown again may be behind the current range
        self._update_stats()

    @property
    def sources(self) -> list[str]:
        return [c.source for c in self._curves]

    @property
    def light_curves(self) -> list[Any]:
        """What is drawn: the original curves, or their rebinned versions after :meth:`rebin`."""
        return [c.shown for c in self._curves]

    def rebin(self, factor_or_width: int | u.Quantity | TimeDelta | None) -> None:
        """Rebin every curve (int factor or time width, see ``products.rebin.rebin``); None undoes it."""
        self.rebinned_by = None if factor_or_width in (None, 1) else factor_or_width
        for c in self._curves:
            shown = c.original if factor_or_width in (None, 1) else rebin(c.original, factor_or_width)
            c.set_shown(shown, self.reference)
        self.redraw()
        self._update_stats()

    def _rebin_from_text(self) -> None:
        text = self._rebin_text.value.strip()
        try:
            if not text:
                arg = None
            elif text.isdigit():
                arg = int(text)
            else:
                try:
                    arg = u.Quantity(text)
                except (TypeError, ValueError) as exc:
                    raise InvalidParameter(f"rebin: '{text}' is neither a factor nor a time width") from exc
                if arg.unit.physical_type != "time":
                    raise InvalidParameter(f"rebin: '{text}' is not a time width (try '100 s')")
            self.rebin(arg)
            self._show_message("")
        except InvalidParameter as exc:
            self._show_message(str(exc), error=True)

    def _update_stats(self) -> None:
        rows = []
        for c in self._visible():
            if c.fit is None:
                try:
                    c.fit = chi2_constant(c.shown)  # once per shown curve: zooms never redo it
                except InvalidParameter as exc:
                    c.fit = exc
            fit = c.fit
            if isinstance(fit, InvalidParameter):
                rows.append(f"<b>{html.escape(c.source)}</b>: {html.escape(str(fit))}")
                continue
            unit = "counts/s" if c.arrays.unit == u.ct / u.s else c.arrays.unit.to_string()
            rows.append(
                f"<span style='color:{c.colour}'>■</span> <b>{html.escape(c.source)}</b>: "
                f"{len(c.sec)} bins, mean {fit.mean.value:.4g} ± {fit.mean_error.value:.2g} {unit}, "
                f"χ²/dof = {fit.chi2:.1f}/{fit.dof}, p = {fit.p_value:.3g}"
            )
        self.stats.value = "<br>".join(rows)

    def _show_message(self, text: str, error: bool = False) -> None:
        colour = "#b00020" if error else "inherit"
        self.message.value = f"<span style='color:{colour}'>{html.escape(text)}</span>" if text else ""

    # ---------------------------------------------------------------- interval selection
    def _on_brush(self, change) -> None:
        self.selected_interval = self._brushed_interval()
        self._t1t2_button.disabled = self.selected_interval is None

    def _brushed_interval(self) -> Time | None:
        """The brushed interval as a ``Time`` pair (UTC scale, ISO format), or None."""
        sel = self.brush.selected
        if sel is None or len(sel) != 2:
            return None
        a, b = sorted(self._display_to_sec(v) for v in sel)
        t = (self.reference + TimeDelta([a, b] * u.s)).utc
        t.format = "isot"
        return t

    def select_interval(self, start: Time, stop: Time) -> None:
        """Select ``start``–``stop`` as if brushed (the brush shows it in select mode)."""
        if not (isinstance(start, Time) and isinstance(stop, Time)):
            raise InvalidParameter("select_interval needs two astropy Time values")
        sec = np.array([(start - self.reference).to_value(u.s), (stop - self.reference).to_value(u.s)])
        self.brush.selected = self._sec_to_display(np.sort(sec))

    def link_form(self, form: Any) -> None:
        """Remember a ``QueryForm`` for :meth:`use_as_t1_t2` (and the button of the same name)."""
        if not hasattr(form, "set_values"):
            raise InvalidParameter("link_form needs a QueryForm (an object with set_values)")
        self._form = form

    def use_as_t1_t2(self, form: Any = None) -> Time:
        """Put the selected interval into the form's T1/T2 (ISO-T, UTC); returns the interval."""
        form = form if form is not None else self._form
        if form is None:
            err = InvalidParameter("no query form linked: call view.link_form(form) or pass form=")
            self._show_message(str(err), error=True)
            raise err
        interval = self.selected_interval
        if interval is None:
            err = InvalidParameter("select an interval first (mode 'select interval', then drag)")
            self._show_message(str(err), error=True)
            raise err
        form.set_values(T1=interval[0].isot, T2=interval[1].isot, T_format="isot")
        self._show_message(f"T1/T2 set to {interval[0].isot} – {interval[1].isot} (UTC)")
        return interval

    # ---------------------------------------------------------------- output
    def save(self, path: str | Path) -> list[Path]:
        """Write the shown curve(s) as FITS (rebinned ones as rebinned).

        One curve: ``path`` itself. Several: ``<stem>_<source><suffix>`` next to ``path``.
        Returns the paths written.
        """
        path = Path(path)
        out = []
        for c in self._curves:
            target = (
                path
                if len(self._curves) == 1
                else path.with_name(
                    f"{path.stem}_{''.join(ch if ch.isalnum() else '_' for ch in c.source)}{path.suffix or '.fits'}"
                )
            )
            if isinstance(c.shown, BinnedLightCurve) or not hasattr(c.shown, "save"):
                if not isinstance(c.shown, BinnedLightCurve):
                    # a plain curve without a writer: a factor-1 rebin copies it bin for bin
                    rebin(c.shown, 1).save(target)
                else:
                    c.shown.save(target)
            else:
                c.shown.save(target)
            out.append(target)
        return out

    def export_png(
        self, path: str | Path, scale: float | None = None, on_saved: Callable[[Path], None] | None = None
    ) -> None:
        """Write the figure as PNG to ``path`` once the front end has rendered it.

        bqplot renders PNGs in the browser: this asks the displayed figure for its pixels and writes
        them when they arrive (asynchronously; ``on_saved(path)`` is called then). Headless use
        (nbclient, scripts) has no front end, so nothing is written; :meth:`to_png` draws a PNG
        without one, ``save`` writes the data.
        """
        path = Path(path)

        def write(data) -> None:
            path.write_bytes(bytes(data))
            self._show_message(f"saved {path}")
            if on_saved is not None:
                on_saved(path)

        self.figure.get_png_data(write, scale=scale)


__all__ = ["LightCurveView", "TIME_FORMATS"]
