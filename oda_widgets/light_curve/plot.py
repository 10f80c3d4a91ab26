"""``LightCurvePlot``: time series on a canvas in the page (anywidget, ``js/lightcurve.js``).

What travels scales with the screen, not with the data. For the visible range the kernel sends each
curve's M4 selection (first, last, lowest, highest point per pixel column, :mod:`.decimate`) with the
error envelope once per pixel column, or — when the range holds few bins — every bin with its error
bars. x goes as float32 offsets from one float64 origin (seconds since :attr:`reference`), exact to
far below a pixel at any zoom; y, envelopes and errors as float32; all as ``{value, dtype, shape}``
buffers in the ``data`` trait, so a saved notebook re-opened without a kernel still shows the curve.

Zoom (wheel, box, keys) and pan (drag) are drawn in the page at once with the points it has; the page
then sets ``x_range`` once per gesture (wheel and keys debounced, drag and box on release), and the
kernel answers with one ``data`` update: one message each way, one repaint with the new points.
Ticks (IJD/MJD days, UTC dates with leap seconds from astropy, seconds), linear/log and inverted y,
the legend (click toggles a curve), overlays, the brushed interval and PNG export live in the page.

Times are float64 seconds since :attr:`LightCurvePlot.reference` everywhere here; astropy ``Time``
only at the boundary (:meth:`view_range`, :meth:`zoom_to`, :attr:`selected_interval`).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anywidget
import numpy as np
import traitlets
from astropy import units as u
from astropy.time import Time, TimeDelta

from .._assets import esm_path
from ..errors import InvalidParameter
from ..products.curve_arrays import seconds_since
from ..products.rebin import TIME_AXES
from ..products.time_axis import time_axis_spec
from .decimate import decimate

__all__ = ["LightCurvePlot", "PlotSeries", "OVERLAY_KINDS", "LINE_STYLES", "TOOLS"]

#: what an overlay draws: a polyline, markers at points, or shaded time spans
OVERLAY_KINDS = ("line", "markers", "span")
LINE_STYLES = ("solid", "dashed", "dotted", "dash_dotted")
MARKERS = ("circle", "square", "cross", "plus", "x", "diamond", "triangle")
#: what a drag does: pan, box zoom (time only), select an interval
TOOLS = ("pan", "zoom", "select")


@dataclass(frozen=True)
class PlotSeries:
    """One curve of a plot: float64 ``seconds`` (sorted, finite) since the plot's reference, its
    ``values``, optional 1σ ``errors`` and bin ``half_widths`` (seconds; a broadcast array is fine),
    a ``name`` (legend) and a CSS ``colour``. The arrays are used as they are (not copied)."""

    name: str
    seconds: np.ndarray
    values: np.ndarray
    errors: np.ndarray | None = None
    half_widths: np.ndarray | None = None
    colour: str = "#1f77b4"


def _buffer(a: np.ndarray, dtype: str = "float32") -> dict[str, Any]:
    arr = np.ascontiguousarray(a, dtype=dtype)
    return {"value": memoryview(arr).cast("B"), "dtype": dtype, "shape": list(arr.shape)}


def _decode(buf: Any) -> np.ndarray | float | None:
    if buf is None or isinstance(buf, (int, float)):
        return buf
    return np.frombuffer(bytes(buf["value"]), dtype=buf["dtype"]).reshape(buf["shape"])


def _constant(a: np.ndarray) -> bool:
    return a.size > 0 and (a.strides == (0,) or bool(np.all(a == a[0])))


class LightCurvePlot(anywidget.AnyWidget):
    """Curves against time on a canvas; zoom/pan in the browser, decimated ranges from the kernel.

    ``LightCurvePlot([PlotSeries(...), ...], reference=Time(...), time_format="UTC")``. The page's
    controls are traits and methods too: :meth:`set_range`/:meth:`zoom_to`/:meth:`reset_range`,
    :meth:`select`, :attr:`tool`, :attr:`hidden`, :attr:`y_log`, :attr:`y_inverted`,
    :meth:`add_overlay`/:meth:`remove_overlay`, :meth:`export_png`. ``redraws`` counts the ranges
    sent; :meth:`drawn` is what is on screen.
    """

    _esm = esm_path("lightcurve.js")
    _css = esm_path("lightcurve.css")

    #: [{name, colour}] of every curve, in legend order
    series = traitlets.List(traitlets.Dict()).tag(sync=True)
    #: names of the curves not drawn (the legend toggles them)
    hidden = traitlets.List(traitlets.Unicode()).tag(sync=True, echo_update=False)
    #: the decimated curves of one range: {seq, range, origin, columns, curves: [...]}
    data = traitlets.Dict().tag(sync=True)
    # What the page sets (range, legend toggles, brush, tool, log axis) is not echoed back: the page
    # has it already, and an echo would be a second message per gesture.
    #: the visible range, seconds since :attr:`reference`; set by the page once per gesture
    x_range = traitlets.List(traitlets.Float()).tag(sync=True, echo_update=False)
    #: the range "Reset zoom" shows
    full_range = traitlets.List(traitlets.Float()).tag(sync=True)
    #: how the page labels time (see ``products.time_axis.time_axis_spec``)
    time_axis = traitlets.Dict().tag(sync=True)
    x_label = traitlets.Unicode("").tag(sync=True)
    y_label = traitlets.Unicode("").tag(sync=True)
    y_log = traitlets.Bool(False).tag(sync=True, echo_update=False)
    #: larger values lower (magnitudes)
    y_inverted = traitlets.Bool(False).tag(sync=True)
    #: fixed y limits [low, high], or [] to follow what is visible
    y_limits = traitlets.List(traitlets.Float()).tag(sync=True)
    tool = traitlets.Enum(TOOLS, "pan").tag(sync=True, echo_update=False)
    #: the brushed interval, seconds since :attr:`reference` ([] when none)
    selection = traitlets.List(traitlets.Float()).tag(sync=True, echo_update=False)
    overlays = traitlets.List(traitlets.Dict()).tag(sync=True)
    height = traitlets.Int(420).tag(sync=True)
    toolbar = traitlets.Bool(True).tag(sync=True)
    legend = traitlets.Bool(True).tag(sync=True)
    #: wheel and key zooms ask the kernel this long after the last event
    debounce_ms = traitlets.Int(100).tag(sync=True)

    #: ranges drawn so far (observe it to act after a zoom); not synced
    redraws = traitlets.Int(0)
    #: kernel time of the last redraw in ms (decimation + building the message)
    last_redraw_ms = traitlets.Float(0.0)

    def __init__(
        self,
        series: Sequence[PlotSeries] = (),
        *,
        reference: Time,
        time_format: str = "seconds",
        time_scale: str = "tt",
        columns: int = 1000,
        x_label: str | None = None,
        **traits: Any,
    ):
        if not isinstance(reference, Time):
            raise InvalidParameter("LightCurvePlot needs its reference instant as an astropy Time")
        # before the traits are set: their observers (hidden, x_range) draw with these
        #: the instant the plot's float64 seconds count from (TT)
        self.reference: Time = reference.tt
        #: the time scale MJD days are counted in on the axis (IJD is always TT)
        self.time_scale = str(time_scale)
        self.columns = int(columns)
        self._series: list[PlotSeries] = []
        self._drawn: list[tuple[np.ndarray, np.ndarray]] = []
        self._drawn_key: tuple | None = None
        self._version = 0
        self._quiet = False
        self._overlays: dict[str, dict[str, Any]] = {}
        self._time_format = "seconds"
        #: payload bytes of the last redraw (buffers), for benchmarks
        self.bytes_sent = 0
        self.png: bytes | None = None
        self._png_callbacks: dict[int, Callable[[bytes], Any]] = {}
        self._png_requests = 0
        super().__init__(**traits)
        self.on_msg(self._on_msg)
        with self.hold_sync():
            self.set_series(series, redraw=False)
            self.set_time_format(time_format, label=x_label)
            self.reset_range()

    # ------------------------------------------------------------------ curves
    @property
    def curves(self) -> list[PlotSeries]:
        """The curves, as given to :meth:`set_series`."""
        return list(self._series)

    def set_series(self, series: Sequence[PlotSeries], *, redraw: bool = True) -> None:
        """Replace the curves (e.g. after rebinning); the range is kept, the full range follows."""
        series = list(series)
        names = [s.name for s in series]
        if len(set(names)) != len(names):
            raise InvalidParameter(f"curve names must be distinct, got {names}")
        self._series = series
        self._drawn = [(np.zeros(0), np.zeros(0)) for _ in series]
        self._version += 1
        with self.hold_sync():
            self.series = [{"name": s.name, "colour": s.colour} for s in series]
            self.hidden = [h for h in self.hidden if h in names]
            self.full_range = list(self._full_range())
            if redraw:
                self.redraw()

    def _full_range(self) -> tuple[float, float]:
        shown = [s for s in self._series if s.seconds.size and s.name not in self.hidden]
        shown = shown or [s for s in self._series if s.seconds.size]
        if not shown:
            return 0.0, 1.0

        def half(s: PlotSeries, i: int) -> float:
            return float(s.half_widths[i]) if s.half_widths is not None and s.half_widths.size else 0.0

        lo = min(float(s.seconds[0]) - half(s, 0) for s in shown)
        hi = max(float(s.seconds[-1]) + half(s, -1) for s in shown)
        return (lo, hi) if hi > lo else (lo - 1.0, hi + 1.0)

    def show(self, names: Sequence[str]) -> None:
        """Draw only the curves ``names`` (the others stay, hidden)."""
        known = [s.name for s in self._series]
        unknown = set(names) - set(known)
        if unknown:
            raise InvalidParameter(f"unknown curve(s) {sorted(unknown)}; have {known}")
        self.hidden = [n for n in known if n not in set(names)]

    @traitlets.observe("hidden")
    def _on_hidden(self, change: dict) -> None:
        # the legend's toggle arrives here too: one message back with the curves now shown
        with self.hold_sync():
            self.full_range = list(self._full_range())
            self.redraw()

    def drawn(self, i: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Curve ``i`` as drawn now: float64 seconds since :attr:`reference` and its values — the
        screen-resolution selection of the visible range (every bin when few), one bin beyond each
        edge included."""
        return self._drawn[i]

    def curve_data(self, i: int = 0) -> dict[str, Any]:
        """What the page received for curve ``i`` (by index among the drawn curves), decoded:
        ``mode`` ("envelope", "bars", "line"), ``x`` (float32 offsets), ``seconds`` (origin + x,
        float64), ``y`` and ``lo``/``hi`` (envelope per pixel column) or ``err``/``xerr``."""
        data = self.data
        curve = data["curves"][i]
        out: dict[str, Any] = {"name": curve["name"], "mode": curve["mode"]}
        for key in ("x", "y", "lo", "hi", "err", "xerr"):
            if key in curve:
                out[key] = _decode(curve[key])
        out["seconds"] = data["origin"] + out["x"].astype(np.float64)
        out["range"] = tuple(data["range"])
        out["columns"] = data["columns"]
        return out

    # ------------------------------------------------------------------ the time axis
    @property
    def time_format(self) -> str:
        return self._time_format

    def set_time_format(self, fmt: str, *, label: str | None = None) -> None:
        """Label the time axis in 'IJD', 'MJD', 'UTC' or 'seconds' (since :attr:`reference`)."""
        if fmt not in TIME_AXES:
            raise InvalidParameter(f"time format must be one of {TIME_AXES}, got {fmt!r}")
        self._time_format = fmt
        lo, hi = self._full_range()
        with self.hold_sync():
            self.time_axis = time_axis_spec(self.reference, fmt, lo, hi, scale=self.time_scale)
            if label is None:
                label = {
                    "seconds": f"Time [s since {self.reference.utc.isot[:23]} UTC]",
                    "UTC": "Time [UTC]",
                }.get(fmt, f"Time [{fmt}, {'TT' if fmt == 'IJD' else self.time_scale.upper()}]")
            self.x_label = label

    # ------------------------------------------------------------------ the visible range
    @property
    def range(self) -> tuple[float, float]:
        """The visible range in seconds since :attr:`reference`."""
        r = self.x_range
        return (float(r[0]), float(r[1])) if len(r) == 2 and r[1] > r[0] else self._full_range()

    def set_range(self, start: float, stop: float) -> None:
        """Show ``start``–``stop`` seconds since :attr:`reference` (one message: range and points)."""
        start, stop = float(start), float(stop)
        if not (np.isfinite(start) and np.isfinite(stop) and stop > start):
            raise InvalidParameter(f"a range must be finite and increasing, got {start}–{stop}")
        self._quiet = True
        try:
            with self.hold_sync():
                self.x_range = [start, stop]
                self.redraw()
        finally:
            self._quiet = False

    def reset_range(self) -> None:
        """Show every curve whole."""
        self.set_range(*self._full_range())

    def view_range(self) -> Time:
        """The visible range as an astropy ``Time`` pair (TT)."""
        a, b = self.range
        return self.reference + TimeDelta([a, b] * u.s)

    def zoom_to(self, start: Time, stop: Time) -> None:
        """Show ``start``–``stop`` (astropy ``Time``)."""
        self.set_range(*self._seconds_pair(start, stop, "zoom_to"))

    def _seconds_pair(self, start: Time, stop: Time, what: str) -> tuple[float, float]:
        if not (isinstance(start, Time) and isinstance(stop, Time)):
            raise InvalidParameter(f"{what} needs two astropy Time values")
        a, b = float(seconds_since(start, self.reference)), float(seconds_since(stop, self.reference))
        if not b > a:
            raise InvalidParameter(f"{what}: stop must be after start")
        return float(a), float(b)

    @traitlets.observe("x_range")
    def _on_x_range(self, change: dict) -> None:
        if self._quiet:
            return
        r = change["new"]
        if len(r) == 2 and np.isfinite(r).all() and r[1] > r[0]:
            self.redraw()

    # ------------------------------------------------------------------ decimation
    def redraw(self, *, force: bool = False) -> None:
        """Send the visible curves for the current range (called on every range change).

        One ``data`` update for all curves; nothing is sent when the range, the curves shown and
        the curves themselves are what was last sent (unless ``force``).
        """
        started = time.perf_counter()
        a, b = self.range
        hidden = set(self.hidden)
        shown = [i for i, s in enumerate(self._series) if s.name not in hidden]
        key = (a, b, tuple(shown), self.columns, self._version)
        if key == self._drawn_key and not force:
            return
        self._drawn_key = key
        # float32 offsets from the range's start: exact to (b − a)·6e-8, far below a pixel
        origin = a
        curves = []
        total = 0
        for i in shown:
            wire, sec, values = self._decimated(self._series[i], a, b, origin)
            self._drawn[i] = (sec, values)
            total += sum(v["value"].nbytes for v in wire.values() if isinstance(v, dict))
            curves.append(wire)
        self.bytes_sent = total
        self.data = {
            "seq": self.redraws + 1,
            "range": [a, b],
            "origin": origin,
            "columns": self.columns,
            "curves": curves,
        }
        self.last_redraw_ms = (time.perf_counter() - started) * 1e3
        self.redraws += 1

    def _decimated(
        self, s: PlotSeries, a: float, b: float, origin: float
    ) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
        d = decimate(s.seconds, s.values, a, b, self.columns, err=s.errors)
        idx = d.index
        sec = s.seconds[idx]
        values = s.values[idx]
        wire: dict[str, Any] = {"name": s.name, "x": _buffer(sec - origin), "y": _buffer(values)}
        if s.errors is None:
            wire["mode"] = "line"
        elif d.full:
            wire["mode"] = "bars"
            wire["err"] = _buffer(s.errors[idx])
            if s.half_widths is not None:
                half = s.half_widths[idx]
                # one number when every bin has the same width (the usual case): 4 bytes, not 4 a bin
                wire["xerr"] = float(half[0]) if _constant(half) else _buffer(half)
        else:
            wire["mode"] = "envelope"
            wire["lo"] = _buffer(d.col_lo)
            wire["hi"] = _buffer(d.col_hi)
        return wire, sec, values

    # ------------------------------------------------------------------ selection
    def select(self, start: float | None, stop: float | None = None) -> None:
        """Select ``start``–``stop`` seconds since :attr:`reference` (as a brush would); None clears."""
        if start is None:
            self.selection = []
            return
        a, b = sorted((float(start), float(stop if stop is not None else start)))
        self.selection = [a, b]

    @property
    def selected_interval(self) -> Time | None:
        """The brushed interval as a ``Time`` pair (UTC, ISO), or None."""
        sel = self.selection
        if len(sel) != 2:
            return None
        t = (self.reference + TimeDelta(sorted(sel) * u.s)).utc
        t.format = "isot"
        return t

    # ------------------------------------------------------------------ overlays
    def add_overlay(
        self,
        name: str,
        seconds: Any,
        values: Any = None,
        *,
        kind: str = "line",
        stops: Any = None,
        colour: str = "black",
        line_style: str = "dashed",
        width: float = 1.5,
        marker: str = "circle",
        size: float = 4.0,
        opacity: float | None = None,
    ) -> dict[str, Any]:
        """Draw ``name`` over the curves: a ``line`` or ``markers`` through (``seconds``, ``values``),
        or shaded ``span``s from ``seconds`` to ``stops``. Adding a name again replaces it.
        Returns the overlay's description (seconds as float64 arrays)."""
        if kind not in OVERLAY_KINDS:
            raise InvalidParameter(f"overlay kind must be one of {OVERLAY_KINDS}, got {kind!r}")
        if line_style not in LINE_STYLES:
            raise InvalidParameter(f"line_style must be one of {LINE_STYLES}, got {line_style!r}")
        if marker not in MARKERS:
            raise InvalidParameter(f"marker must be one of {MARKERS}, got {marker!r}")
        x = np.atleast_1d(np.asarray(seconds, dtype=np.float64))
        entry: dict[str, Any] = {
            "name": str(name),
            "kind": kind,
            "colour": colour,
            "line_style": line_style,
            "width": float(width),
            "marker": marker,
            "size": float(size),
            "x": _buffer(x, "float64"),
        }
        if opacity is not None:
            entry["opacity"] = float(opacity)
        if kind == "span":
            x2 = np.atleast_1d(np.asarray(stops, dtype=np.float64)) if stops is not None else None
            if x2 is None or x2.shape != x.shape:
                raise InvalidParameter("a span overlay needs as many stops as starts")
            entry["x2"] = _buffer(x2, "float64")
        else:
            y = np.atleast_1d(np.asarray(values, dtype=np.float64)) if values is not None else None
            if y is None or y.shape != x.shape:
                raise InvalidParameter(
                    f"overlay {name!r}: {x.shape[0]} times but {0 if y is None else y.shape[0]} values"
                )
            entry["y"] = _buffer(y, "float64")
        self._overlays[str(name)] = entry
        self.overlays = list(self._overlays.values())
        return self.overlay(str(name))

    def remove_overlay(self, name: str) -> None:
        """Remove the overlay ``name`` (nothing happens if there is none)."""
        if self._overlays.pop(str(name), None) is not None:
            self.overlays = list(self._overlays.values())

    @property
    def overlay_names(self) -> list[str]:
        return list(self._overlays)

    def overlay(self, name: str) -> dict[str, Any]:
        """The overlay ``name`` decoded: kind, style and float64 ``x`` (seconds), ``y`` or ``x2``."""
        entry = self._overlays.get(str(name))
        if entry is None:
            raise InvalidParameter(f"no overlay {name!r}; have {self.overlay_names}")
        return {k: (_decode(v) if isinstance(v, dict) else v) for k, v in entry.items()}

    # ------------------------------------------------------------------ PNG
    def export_png(
        self,
        callback: Callable[[bytes], Any] | None = None,
        *,
        path: str | Path | None = None,
        scale: float = 1.0,
    ) -> None:
        """Ask the page for the plot as PNG (what is on screen, on white, ``scale`` × its size).

        The answer arrives asynchronously (the kernel handles widget messages between cells): then
        :attr:`png` holds the bytes, ``path`` is written and ``callback(png)`` called. Without a
        page showing the plot nothing arrives.
        """
        self._png_requests += 1
        request = self._png_requests

        def done(png: bytes) -> None:
            if path is not None:
                Path(path).write_bytes(png)
            if callback is not None:
                callback(png)

        self._png_callbacks[request] = done
        self.send({"type": "export_png", "request": request, "scale": float(scale)})

    def _on_msg(self, _widget: Any, content: dict, buffers: list) -> None:
        if not isinstance(content, dict) or content.get("type") != "png":
            return
        callback = self._png_callbacks.pop(content.get("request"), None)
        data = content.get("data")
        prefix = "data:image/png;base64,"
        if not isinstance(data, str) or not data.startswith(prefix):
            return
        png = base64.b64decode(data[len(prefix) :], validate=True)
        if not png.startswith(b"\x89PNG\r\n\x1a\n"):
            return
        self.png = png
        if callback is not None:
            callback(png)
