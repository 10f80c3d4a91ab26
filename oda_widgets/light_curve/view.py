"""``LightCurveView``: rate, counts, flux or magnitude against time for one or more light curves (a
canvas plot in the page, :class:`~.plot.LightCurvePlot`, with the view's controls, statistics and
analysis panel around it).

INTEGRAL's curves (IJD, TT) and any instrument's: the value axis says what is plotted and its unit
(``Magnitude V [mag]``, drawn inverted: brighter up), the time axis counts MJD in the curves' own
scale (UTC for a workflow's MJD column). Curves whose values cannot share an axis (a magnitude and a
flux) go to separate views: :func:`oda_widgets.results.results_view` stacks them.

What is drawn scales with the screen, not with the data: for the visible time range the kernel sends
at most four points per pixel column (first, last, lowest, highest: M4 through ``tsdownsample``, see
:mod:`.decimate`) and, once per column, the error envelope (lowest ``rate - error``, highest
``rate + error``). Short ranges are drawn point by point with error bars.

Zoom and pan happen in the page at once (the points it has, redrawn for the new range on a canvas);
the page then asks the kernel once per gesture (wheel and keys debounced, drag and box zoom on
release) and the kernel answers with one message: the curves of the new range. x travels as float32
offsets from one float64 origin, exact to far below a pixel; rates as float32.

Times stay float64 seconds since :attr:`LightCurveView.reference` inside the view (the product's own
arrays, shared, not copied: :func:`oda_widgets.products.curve_arrays`) and become astropy ``Time`` only
at the boundary (``selected_interval``, ``view_range``, ``zoom_to``, overlays, axis labels: the page
labels IJD/MJD days, UTC dates and seconds from one reference it is given).

Why a canvas and not SVG marks (bqplot): measured in JupyterLab + Chromium (benchmarks/lightcurve.py),
bqplot redrew its SVG marks twice per zoom and Chromium rasterises SVG on the CPU: 283 ms from a 5 %
zoom to its repaint at 10^6 points, against ~50 ms on the canvas (plotly-resampler: ~170 ms).

For panels built on the view (fits, excess search): ``view_range()``/``zoom_to()`` read and set the
visible interval, ``redraws`` is a trait to observe after each zoom, ``selected_interval`` is the
brushed interval, ``plot`` is the canvas plot (its ``curve_data(i)`` what the page received) and
:meth:`LightCurveView.add_overlay` draws lines, markers or shaded spans over the curves (they follow
time-axis switches: overlays are kept in seconds).
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import numpy as np

# the χ² p-value's scipy.special takes ~1 s to import: pay it with the module, not after the first
# light curve appears (where it would hold up the first zoom)
import scipy.special  # noqa: F401
import traitlets
from astropy import units as u
from astropy.io import fits
from astropy.time import Time, TimeDelta

from ..analysis.timing import chi2_constant
from ..errors import InvalidParameter
from ..products.curve_arrays import CurveArrays, curve_arrays, seconds_and_reference, seconds_since
from ..products.light_curve import SPI_ACS_BAND
from ..products.rebin import (
    TIME_AXES,
    BinnedLightCurve,
    rebin,
    seconds_to_axis,
    time_zero_of,
)
from ..static import StaticFallback, light_curve_png
from .analysis_panel import LightCurveAnalysis
from .plot import LightCurvePlot, PlotSeries

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
#: the view's interaction modes and what a drag does in each (the plot's tools)
MODES = {"zoom": "pan", "pan": "pan", "box": "zoom", "select": "select"}


def _pixels(height: int | str) -> int:
    """A plot height given as 420 or "420px" in pixels."""
    text = str(height).strip().removesuffix("px")
    if not text.isdigit() or int(text) < 100:
        raise InvalidParameter(
            f"height must be a number of pixels (at least 100), e.g. '420px'; got {height!r}"
        )
    return int(text)


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


def _check_units(lcs: list[Any]) -> None:
    """Curves share one value axis: their units must be convertible (not a magnitude and a flux)."""
    units = [u.Quantity(lc.rate, copy=False).unit for lc in lcs]
    first = units[0]
    odd = [str(x) for x in units if not x.is_equivalent(first)]
    if odd:
        raise InvalidParameter(
            f"these light curves cannot share a value axis ({first} and {', '.join(sorted(set(odd)))}): "
            "show them in separate views (results_view stacks them)"
        )


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
        self.fit: Any = None  # χ² against a constant, computed once per shown curve

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
        name = str(
            getattr(self.original, "source", None)
            or getattr(self.original, "instrument", None)
            or "light curve"
        )
        # one curve of a product that has several (FLUX_B, FLUX_V…): say which
        part = getattr(self.original, "curve_label", None)
        return f"{name} {part}" if part else name

    def series(self) -> PlotSeries:
        """The plot's view of this curve: its arrays as they are (no copy)."""
        return PlotSeries(self.source, self.sec, self.y, self.err, self.xerr, self.colour)


class LightCurveView(StaticFallback, widgets.VBox):
    """Interactive light curve(s): zoom/pan, time axis in IJD/MJD/UTC/seconds, rebinning, interval brush.

    ``LightCurveView(lc)`` or ``LightCurveView([lc1, lc2])`` (a ``ProductCollection`` works too):
    curves in units one axis can hold (count rates; fluxes; magnitudes — then drawn inverted).
    Every control is also a method: :meth:`set_time_format`, :meth:`rebin`, :meth:`reset_zoom`,
    :meth:`zoom_to`, :meth:`set_mode`, :meth:`show_sources`, :meth:`select_interval`,
    :meth:`use_as_t1_t2`, :meth:`save`, :meth:`export_png`. After brushing, :attr:`selected_interval`
    is an astropy ``Time`` pair (UTC scale); :meth:`view_range` is the visible interval.

    In the plot: drag pans (Shift+drag selects an interval, Alt+drag zooms to a box), the wheel
    zooms, double click or "Reset zoom" shows everything; keys (the plot focused): ← → pan, + − zoom,
    0 resets, Esc clears the selection; a click on a legend entry hides or shows that curve.

    ``columns`` is the horizontal resolution the curves are decimated to; ``debounce`` how long after
    the last wheel or key step the page asks the kernel for the new range (drags and box zooms ask
    on release); ``height`` the plot's height in pixels (420 or "420px").
    """

    #: saved notebooks show the curves as a PNG (matplotlib, drawn on display)
    _static_png = light_curve_png
    #: the brushed interval: an astropy ``Time`` pair (UTC, ISO), or None; observe it to use the
    #: interval elsewhere (not synced to the page)
    selected_interval = traitlets.Instance(Time, allow_none=True)
    #: number of redraws so far (observe it to act after zoom redraws); not synced to the page
    redraws = traitlets.Int(0)
    #: kernel time of the last redraw in ms (decimation + building the message)
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
        _check_units(lcs)
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
        #: the factor or width of the current rebinning (None: the curves as received)
        self.rebinned_by: Any = None
        integral = all(getattr(lc, "is_integral", True) for lc in lcs)
        #: the scale MJD is counted in on the time axis: TT for INTEGRAL (as its files count
        #: IJD), else the curves' own (UTC for an MJD column without TIMESYS)
        self.time_scale: str = "tt" if integral else str(getattr(lcs[0], "reference", self.reference).scale)
        #: True when every curve is a magnitude: the value axis runs downwards (brighter up)
        self.inverted = all(bool(getattr(lc, "is_magnitude", False)) for lc in lcs)
        default_format = "IJD" if integral else "MJD"
        self._time_format = time_format or ("seconds" if zero is not None else default_format)
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
        unit = self._curves[0].arrays.unit
        #: the canvas plot: curves, axes, legend, overlays, brush, zoom/pan (see plot.py)
        self.plot = LightCurvePlot(
            [c.series() for c in self._curves],
            reference=self.reference,
            time_format=self._time_format,
            time_scale=self.time_scale,
            columns=self.columns,
            x_label=self._axis_label(),
            y_label=self._rate_label(),
            # magnitudes: brighter is up
            y_inverted=self.inverted or unit == u.mag,
            debounce_ms=max(0, round(self.debounce * 1000)),
            height=_pixels(height),
        )
        self.plot.observe(self._on_selection, "selection")
        self.plot.observe(self._on_hidden, "hidden")
        self.plot.observe(self._on_redraw, "redraws")
        self._on_redraw()
        self.children = [
            widgets.HBox([self._format_picker, self._source_picker]),
            self.plot,
            widgets.HBox([self._rebin_text, self._rebin_button, self._t1t2_button]),
            self.stats,
            self.message,
        ]
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

    # ---------------------------------------------------------------- labels
    @property
    def time_format(self) -> str:
        """Current x axis: 'IJD', 'MJD', 'UTC' (date-time axis) or 'seconds' (since :attr:`reference`)."""
        return self._time_format

    def _sec_to_display(self, sec: np.ndarray) -> np.ndarray:
        return seconds_to_axis(sec, self.reference, self._time_format, self.time_scale)

    @property
    def x_label(self) -> str:
        """The time axis' label, e.g. "Time [IJD, TT]"."""
        return self.plot.x_label

    @property
    def y_label(self) -> str:
        """The value axis' label with its band and unit, e.g. "Rate 20–40 keV [counts/s]"."""
        return self.plot.y_label

    def _axis_label(self) -> str:
        if self._time_format == "seconds":
            return f"Time [s since {self.reference.utc.isot[:23]} UTC]"
        if self._time_format == "UTC":
            return "Time [UTC]"
        scale = "TT" if self._time_format == "IJD" else self.time_scale.upper()
        return f"Time [{self._time_format}, {scale}]"

    def _rate_label(self) -> str:
        lc = self._curves[0].original
        given = getattr(lc, "value_label", None)
        if isinstance(given, str) and given:
            return given
        # a light-curve-like object without its own label: rate, band from E_MIN/E_MAX, unit
        unit = self._curves[0].arrays.unit
        unit_text = "counts/s" if unit == u.ct / u.s else unit.to_string()
        e_min, e_max = getattr(lc, "e_min", None), getattr(lc, "e_max", None)
        band = ""
        if e_min is not None and e_max is not None:
            band = f" {u.Quantity(e_min, u.keV).value:g}–{u.Quantity(e_max, u.keV).value:g} keV"
        elif str(getattr(lc, "instrument", "")).upper().startswith("SPI"):
            band = f" ~{SPI_ACS_BAND[0]:g}–{SPI_ACS_BAND[1]:g} keV"
        return f"Rate{band} [{unit_text}]"

    # ---------------------------------------------------------------- what is drawn
    def drawn(self, curve: int | str = 0) -> tuple[np.ndarray, np.ndarray]:
        """The rate line as drawn now for ``curve`` (index or source name): x in axis units, rates.

        A screen-resolution selection of the bins of the visible range (all of them when the range
        is short), one bin beyond each edge included.
        """
        if isinstance(curve, str):
            if curve not in self.sources:
                raise InvalidParameter(f"unknown source {curve!r}; have {self.sources}")
            curve = self.sources.index(curve)
        sec, values = self.plot.drawn(curve)
        return self._sec_to_display(sec), values

    @property
    def bytes_sent(self) -> int:
        """Payload bytes of the last redraw (points, envelopes, error bars), for benchmarks."""
        return self.plot.bytes_sent

    def _on_redraw(self, change: Any = None) -> None:
        self.last_redraw_ms = self.plot.last_redraw_ms
        self.redraws = self.plot.redraws

    def _shown_names(self) -> set[str]:
        return set(self._source_picker.value)

    def _visible(self) -> list[_Curve]:
        shown = self._shown_names()
        return [c for c in self._curves if c.source in shown]

    # ---------------------------------------------------------------- overlays
    def add_overlay(
        self,
        name: str,
        time: Time,
        values: u.Quantity | Any = None,
        *,
        kind: str = "line",
        stops: Time | None = None,
        colour: str = "black",
        line_style: str = "dashed",
        stroke_width: float = 1.5,
        marker: str = "circle",
        size: float = 4.0,
        opacity: float | None = None,
    ) -> dict[str, Any]:
        """Draw over the light curves, e.g. a fitted model: a ``line`` or ``markers`` through
        ``time`` (astropy ``Time``) and ``values`` (a Quantity convertible to the rate unit, or plain
        numbers in it), or shaded ``span``s from ``time`` to ``stops`` (``Time``).

        The overlay follows time-axis switches; adding a name again replaces it;
        :meth:`remove_overlay` removes it. Returns its description (see :meth:`overlay`).
        """
        if not isinstance(time, Time):
            raise InvalidParameter("add_overlay needs the times as an astropy Time")
        seconds = np.atleast_1d(seconds_since(time, self.reference))
        stop_seconds = None
        if kind == "span":
            if not isinstance(stops, Time):
                raise InvalidParameter("a span overlay needs its stops as an astropy Time")
            stop_seconds = np.atleast_1d(seconds_since(stops, self.reference))
        vals = None
        if values is not None:
            unit = self._curves[0].arrays.unit
            vals = u.Quantity(values, unit).to_value(unit) if isinstance(values, u.Quantity) else values
            vals = np.atleast_1d(np.asarray(vals, dtype=np.float64))
            if vals.shape != seconds.shape:
                raise InvalidParameter(f"add_overlay: {time.shape} times but {vals.shape} values")
        return self.plot.add_overlay(
            name,
            seconds,
            vals,
            kind=kind,
            stops=stop_seconds,
            colour=colour,
            line_style=line_style,
            width=stroke_width,
            marker=marker,
            size=size,
            opacity=opacity,
        )

    def remove_overlay(self, name: str) -> None:
        """Remove the overlay ``name`` (nothing happens if there is none)."""
        self.plot.remove_overlay(name)

    def overlay(self, name: str) -> dict[str, Any]:
        """The overlay ``name``: its kind, style and float64 ``x`` (seconds since :attr:`reference`),
        ``y`` (values) or ``x2`` (span stops)."""
        return self.plot.overlay(name)

    @property
    def overlays(self) -> list[str]:
        """Names of the overlays drawn, oldest first."""
        return self.plot.overlay_names

    # ---------------------------------------------------------------- the visible range
    def view_range(self) -> Time:
        """The visible time range as an astropy ``Time`` pair (TT)."""
        return self.plot.view_range()

    def reset_zoom(self) -> None:
        """Show the whole curve(s) again."""
        self.plot.reset_range()

    def zoom_to(self, start: Time, stop: Time) -> None:
        """Show only ``start``–``stop`` (astropy ``Time``)."""
        self.plot.zoom_to(start, stop)

    def redraw(self) -> None:
        """Send the curves of the current range again (zooms and pans call this themselves)."""
        self.plot.redraw(force=True)

    # ---------------------------------------------------------------- controls (also methods)
    def set_time_format(self, fmt: str) -> None:
        """Switch the time axis: 'IJD', 'MJD', 'UTC' or 'seconds'; the visible range, the selection
        and the overlays are kept (the page relabels the points it has: nothing is recomputed)."""
        if fmt not in TIME_FORMATS:
            raise InvalidParameter(f"time format must be one of {TIME_FORMATS}, got {fmt!r}")
        if fmt == self._time_format:
            return
        self._time_format = fmt
        self._format_picker.value = fmt
        self.plot.set_time_format(fmt, label=self._axis_label())

    @property
    def mode(self) -> str:
        """What a drag does: 'zoom' (pans; the wheel zooms), 'box' (zooms to a box) or 'select'."""
        return {"pan": "zoom", "zoom": "box", "select": "select"}[self.plot.tool]

    def set_mode(self, mode: str) -> None:
        """'zoom' (drag pans, wheel zooms), 'box' (drag zooms to a time interval) or 'select'
        (drag brushes a time interval); the plot's toolbar buttons do the same."""
        if mode not in MODES:
            raise InvalidParameter(f"mode must be 'zoom', 'box' or 'select', got {mode!r}")
        self.plot.tool = MODES[mode]

    def show_sources(self, names: Iterable[str]) -> None:
        """Show only the named sources (the others are hidden, not dropped)."""
        names = list(names)
        unknown = set(names) - {c.source for c in self._curves}
        if unknown:
            raise InvalidParameter(f"unknown source(s) {sorted(unknown)}; have {self.sources}")
        if tuple(self._source_picker.value) != tuple(names):
            self._source_picker.value = tuple(names)
        self.plot.show(names)  # one message: the curves now shown (none if nothing changed)
        self._update_stats()

    def _on_hidden(self, change: dict) -> None:
        # a click on the plot's legend: the picker and the statistics follow
        shown = tuple(c.source for c in self._curves if c.source not in set(change["new"]))
        if tuple(self._source_picker.value) != shown:
            self._source_picker.value = shown

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
        self.plot.set_series([c.series() for c in self._curves])
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
    def _on_selection(self, change: Any = None) -> None:
        self.selected_interval = self.plot.selected_interval
        self._t1t2_button.disabled = self.selected_interval is None

    def select_interval(self, start: Time | None, stop: Time | None = None) -> None:
        """Select ``start``–``stop`` as if brushed (the plot shades it); ``None`` clears the selection."""
        if start is None:
            self.plot.select(None)
            return
        if not (isinstance(start, Time) and isinstance(stop, Time)):
            raise InvalidParameter("select_interval needs two astropy Time values")
        self.plot.select(
            float(seconds_since(start, self.reference)), float(seconds_since(stop, self.reference))
        )

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
        """Write the plot as PNG to ``path`` (what the page shows, on white; ``scale`` × its size).

        The page draws the PNG from its canvas: this asks the displayed plot for it and writes it
        when it arrives (asynchronously; ``on_saved(path)`` is called then). Headless use (nbclient,
        scripts) has no page, so nothing is written; :meth:`to_png` draws a PNG
        without one, ``save`` writes the data.
        """
        path = Path(path)

        def write(data: bytes) -> None:
            path.write_bytes(data)
            self._show_message(f"saved {path}")
            if on_saved is not None:
                on_saved(path)

        self.plot.export_png(write, scale=scale or 1.0)


__all__ = ["LightCurveView", "TIME_FORMATS", "MODES"]
