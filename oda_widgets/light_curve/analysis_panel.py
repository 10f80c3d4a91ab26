"""Quick-look analysis under a :class:`~oda_widgets.light_curve.LightCurveView`: constant and linear
fits, fractional variability, excess search (highlighted, listed, click to zoom) and the hardness
ratio of two curves. Each button is also a method returning the value of
:mod:`oda_widgets.analysis.timing`.

The panel uses only the view's public side: the curves it shows (``light_curves``, ``sources``),
its figure and scales (to add its own marks), ``reference``/``time_format`` (to place them),
``zoom_to`` and the ``redraws`` trait (to put its marks back when the view rebuilds its figure).
"""

from __future__ import annotations

import html
from typing import Any

import bqplot
import ipywidgets as widgets
import numpy as np
from astropy import units as u
from astropy.time import Time

from ..analysis import timing
from ..errors import InvalidParameter, OdaError
from ..products.rebin import seconds_since, seconds_to_axis

HIGHLIGHT = "#ff7f0e"
MODEL_COLOUR = "#d62728"


class LightCurveAnalysis(widgets.VBox):
    """Fits, variability, excesses and hardness for the curves of ``view``.

    Methods (the buttons call them): :meth:`fit_constant`, :meth:`fit_linear`,
    :meth:`fractional_variability`, :meth:`find_excesses`, :meth:`zoom_to_excess`,
    :meth:`hardness_ratio`, :meth:`clear`. ``results`` keeps the last value of each.
    """

    def __init__(self, view: Any):
        super().__init__()
        self.add_class("oda-lc-analysis")
        self.view = view
        #: the last result of each analysis, by name ("constant", "linear", "fvar", "excesses", "hardness")
        self.results: dict[str, Any] = {}
        self._source_of: dict[str, str] = {}
        sources = list(view.sources)
        self.source = widgets.Dropdown(
            options=sources, value=sources[0], description="Curve", layout=widgets.Layout(width="260px")
        )
        self.systematic = widgets.BoundedFloatText(
            value=0.0,
            min=0.0,
            max=0.99,
            step=0.01,
            description="Syst.",
            layout=widgets.Layout(width="150px"),
            tooltip="fraction of the rate added in quadrature to each error",
        )
        self.threshold = widgets.BoundedFloatText(
            value=5.0, min=0.5, max=1e4, step=0.5, description="σ", layout=widgets.Layout(width="130px")
        )
        self.baseline = widgets.Dropdown(
            options=["mean", "median", "linear"],
            value="mean",
            description="over",
            layout=widgets.Layout(width="170px"),
        )
        buttons = {
            "constant": ("Fit constant", self.fit_constant),
            "linear": ("Fit linear", self.fit_linear),
            "fvar": ("F_var", self.fractional_variability),
            "excesses": ("Find excesses", self.find_excesses),
            "hardness": ("Hardness", self.hardness_ratio),
        }
        self.buttons: dict[str, widgets.Button] = {}
        for key, (label, method) in buttons.items():
            b = widgets.Button(description=label, layout=widgets.Layout(width="auto"))
            b.add_class(f"oda-lc-{key}")
            b.on_click(lambda _b, m=method: self._guarded(m))
            self.buttons[key] = b
        self.soft = widgets.Dropdown(
            options=sources, value=sources[0], description="soft", layout=widgets.Layout(width="230px")
        )
        self.hard = widgets.Dropdown(
            options=sources, value=sources[-1], description="hard", layout=widgets.Layout(width="230px")
        )
        self.excess_list = widgets.Select(
            options=[], rows=4, description="Excesses", layout=widgets.Layout(width="100%")
        )
        self.excess_list.add_class("oda-lc-excess-list")
        self.excess_list.observe(self._on_excess_pick, "value")
        self.message = widgets.HTML()
        self.message.add_class("oda-lc-analysis-message")
        self.output = widgets.HTML()
        self.output.add_class("oda-lc-analysis-output")
        self._hardness_scale = bqplot.LinearScale()
        # marks are made with their scales when first drawn: bqplot's front end cannot build a
        # mark without scales
        self._hardness_mark: bqplot.Scatter | None = None
        self._hardness_bars: bqplot.Lines | None = None
        self.hardness_figure = bqplot.Figure(
            marks=[],
            animation_duration=0,
            fig_margin={"top": 5, "bottom": 40, "left": 75, "right": 20},
            layout=widgets.Layout(width="100%", height="170px"),
        )
        self._model_mark: bqplot.Lines | None = None
        self._excess_mark: bqplot.Scatter | None = None
        self._figure = None
        view.observe(lambda _ch: self._place_marks(), "redraws")
        pairs = len(sources) > 1

        # rows wrap rather than widen the view beyond its container
        def row(items, **kw):
            return widgets.HBox(items, layout=widgets.Layout(flex_flow="row wrap", **kw))

        self.children = [
            row(
                [
                    self.source,
                    self.systematic,
                    self.buttons["constant"],
                    self.buttons["linear"],
                    self.buttons["fvar"],
                ]
            ),
            row([self.threshold, self.baseline, self.buttons["excesses"]]),
            row([self.soft, self.hard, self.buttons["hardness"]], display="" if pairs else "none"),
            self.message,
            self.output,
            self.excess_list,
        ]
        self.excess_list.layout.display = "none"

    # -- helpers ----------------------------------------------------------------------------------

    def _curve(self, source: str | None):
        name = source or self.source.value
        if name not in self.view.sources:
            raise InvalidParameter(f"no curve {name!r}; the view shows {', '.join(self.view.sources)}")
        self.source.value = name
        return self.view.light_curves[self.view.sources.index(name)]

    def _sys(self, systematic: float | None) -> float:
        if systematic is not None:
            self.systematic.value = float(systematic)
        return float(self.systematic.value)

    def _guarded(self, method) -> Any:
        try:
            return method()
        except OdaError as exc:
            self._say(str(exc), error=True)
            return None

    def _say(self, text: str, *, error: bool = False) -> None:
        colour = "#b00020" if error else "#333"
        self.message.value = f"<span style='color:{colour}'>{html.escape(text)}</span>" if text else ""

    def _x(self, t: Time) -> np.ndarray:
        return seconds_to_axis(
            seconds_since(t, self.view.reference), self.view.reference, self.view.time_format
        )

    def _place_marks(self) -> None:
        """(Re)draw this panel's marks on the view's figure: after a fit, and when the view has
        rebuilt its figure (a new time axis)."""
        fig = self.view.figure
        scales = {"x": self.view.x_scale, "y": self.view.y_scale}
        rebuilt = fig is not self._figure
        self._figure = fig
        marks = []
        model = self.results.get("model")
        if model is not None:
            fit, lc = model
            t = lc.time[[0, -1]] if len(lc.time) else lc.time
            if self._model_mark is None or rebuilt:
                self._model_mark = bqplot.Lines(
                    scales=scales, colors=[MODEL_COLOUR], stroke_width=2, line_style="dashed"
                )
            with self._model_mark.hold_sync():
                self._model_mark.x = self._x(t)
                self._model_mark.y = fit.model(t).to_value(u.ct / u.s)
            marks.append(self._model_mark)
        found = self.results.get("excesses")
        if found is not None:
            search, lc = found
            idx = np.concatenate([e.indices for e in search]) if len(search) else np.zeros(0, dtype=int)
            if self._excess_mark is None or rebuilt:
                self._excess_mark = bqplot.Scatter(
                    scales=scales, colors=[HIGHLIGHT], default_size=40, marker="diamond"
                )
            with self._excess_mark.hold_sync():
                self._excess_mark.x = self._x(lc.time[idx]) if idx.size else np.zeros(0)
                self._excess_mark.y = (
                    u.Quantity(lc.rate).to_value(u.ct / u.s)[idx] if idx.size else np.zeros(0)
                )
            marks.append(self._excess_mark)
        ours = {id(m) for m in (self._model_mark, self._excess_mark) if m is not None}
        kept = [m for m in fig.marks if id(m) not in ours]
        if [id(m) for m in fig.marks] != [id(m) for m in kept + marks]:
            fig.marks = kept + marks
        if self.hardness_figure in self.children and rebuilt:
            self._draw_hardness()

    # -- the analyses -----------------------------------------------------------------------------

    def fit_constant(
        self, source: str | None = None, *, systematic: float | None = None
    ) -> timing.ConstantFit:
        """Weighted mean and χ² of the curve ``source`` (default: the one chosen), line drawn."""
        lc = self._curve(source)
        fit = timing.fit_constant(lc, systematic=self._sys(systematic))
        self.results["constant"] = fit
        self.results["model"] = (fit, lc)
        self._show(f"<b>{html.escape(self.source.value)}</b>: {html.escape(str(fit))}")
        self._place_marks()
        return fit

    def fit_linear(self, source: str | None = None, *, systematic: float | None = None) -> timing.LinearFit:
        """Weighted straight line through the curve, drawn over it."""
        lc = self._curve(source)
        fit = timing.fit_linear(lc, systematic=self._sys(systematic))
        self.results["linear"] = fit
        self.results["model"] = (fit, lc)
        self._show(f"<b>{html.escape(self.source.value)}</b>: {html.escape(str(fit))}")
        self._place_marks()
        return fit

    def fractional_variability(
        self, source: str | None = None, *, systematic: float | None = None
    ) -> timing.FractionalVariability:
        """F_var of the curve (Vaughan et al. 2003)."""
        lc = self._curve(source)
        fv = timing.fractional_variability(lc, systematic=self._sys(systematic))
        self.results["fvar"] = fv
        self._show(f"<b>{html.escape(self.source.value)}</b>: {html.escape(str(fv))}")
        return fv

    def find_excesses(
        self,
        source: str | None = None,
        *,
        threshold: float | None = None,
        baseline: str | None = None,
        systematic: float | None = None,
    ) -> timing.ExcessSearch:
        """Bins above ``threshold`` σ over the baseline; highlighted on the plot and listed (pick
        one in the list, or :meth:`zoom_to_excess`, to zoom on it)."""
        lc = self._curve(source)
        if threshold is not None:
            self.threshold.value = float(threshold)
        if baseline is not None:
            if baseline not in self.baseline.options:
                raise InvalidParameter(
                    f"baseline must be one of {', '.join(self.baseline.options)}, got {baseline!r}"
                )
            self.baseline.value = baseline
        search = timing.find_excesses(
            lc,
            threshold=float(self.threshold.value),
            baseline=self.baseline.value,
            systematic=self._sys(systematic),
        )
        self.results["excesses"] = (search, lc)
        options = [
            (
                f"{i + 1}. {e.start.utc.isot[:21]} +{e.duration.to_value(u.s):.4g} s, peak {e.peak_significance:.1f} σ",
                i,
            )
            for i, e in enumerate(search)
        ]
        self.excess_list.unobserve(self._on_excess_pick, "value")
        self.excess_list.options = options
        self.excess_list.value = None
        self.excess_list.observe(self._on_excess_pick, "value")
        self.excess_list.layout.display = "" if options else "none"
        self._show(
            f"<b>{html.escape(self.source.value)}</b>: {len(search)} excess(es) above "
            f"{search.threshold:g} σ over the {search.baseline}"
        )
        self._place_marks()
        return search

    def zoom_to_excess(self, index: int, margin: float = 2.0) -> Time:
        """Zoom the view on excess ``index`` of the last search, with ``margin`` × its duration
        on each side; returns the (start, stop) shown."""
        found = self.results.get("excesses")
        if found is None or not 0 <= int(index) < len(found[0]):
            raise InvalidParameter(f"no excess number {index}: run find_excesses first")
        e = found[0][int(index)]
        pad = max(e.duration.to_value(u.s), 1e-3) * margin * u.s
        start, stop = e.start - pad, e.stop + pad
        self.view.zoom_to(start, stop)
        return Time([start, stop])

    def _on_excess_pick(self, change) -> None:
        if change["new"] is not None:
            self._guarded(lambda: self.zoom_to_excess(change["new"]))

    def hardness_ratio(
        self, soft: str | None = None, hard: str | None = None, *, definition: str = "(H-S)/(H+S)"
    ) -> timing.HardnessRatio:
        """Hardness of two curves of one source (e.g. 20–40 and 40–100 keV), drawn under the view."""
        if soft is not None:
            self.soft.value = soft
        if hard is not None:
            self.hard.value = hard
        if self.soft.value == self.hard.value:
            raise InvalidParameter("choose two different curves for the soft and the hard band")
        s = self.view.light_curves[self.view.sources.index(self.soft.value)]
        h = self.view.light_curves[self.view.sources.index(self.hard.value)]
        hr = timing.hardness_ratio(s, h, definition=definition, systematic=float(self.systematic.value))
        self.results["hardness"] = hr
        w = 1 / hr.error**2
        ok = np.isfinite(w) & np.isfinite(hr.ratio)
        mean = float(np.sum(w[ok] * hr.ratio[ok]) / np.sum(w[ok])) if ok.any() else float("nan")
        self._show(
            f"hardness {html.escape(hr.definition)} of {html.escape(self.hard.value)} / "
            f"{html.escape(self.soft.value)}: {len(hr)} common bins, weighted mean {mean:.3g}"
        )
        if self.hardness_figure not in self.children:
            # added when first needed: a hidden bqplot figure is laid out at zero size
            self.children = (*self.children, self.hardness_figure)
        self._draw_hardness()
        return hr

    def _draw_hardness(self) -> None:
        hr = self.results.get("hardness")
        if hr is None:
            return
        scales = {"x": self.view.x_scale, "y": self._hardness_scale}
        if self._hardness_mark is None or self._hardness_mark.scales["x"] is not self.view.x_scale:
            self._hardness_mark = bqplot.Scatter(scales=scales, colors=["#9467bd"], default_size=14)
            self._hardness_bars = bqplot.Lines(scales=scales, colors=["#9467bd"], stroke_width=1)
        x = self._x(hr.time)
        bars_x = np.repeat(x, 3)
        bars_y = np.column_stack([hr.ratio - hr.error, hr.ratio + hr.error, np.full(len(hr), np.nan)]).ravel()
        with self._hardness_mark.hold_sync(), self._hardness_bars.hold_sync():
            self._hardness_mark.x, self._hardness_mark.y = x, hr.ratio
            self._hardness_bars.x, self._hardness_bars.y = bars_x[:-1], bars_y[:-1]
        self.hardness_figure.axes = [
            bqplot.Axis(scale=self.view.x_scale, grid_lines="dashed", num_ticks=6),
            bqplot.Axis(scale=self._hardness_scale, side="left", label=hr.definition, grid_lines="dashed"),
        ]
        self.hardness_figure.marks = [self._hardness_bars, self._hardness_mark]

    def clear(self) -> None:
        """Remove this panel's marks and results."""
        self.results.clear()
        self.excess_list.options = []
        self.excess_list.layout.display = "none"
        self.children = tuple(c for c in self.children if c is not self.hardness_figure)
        self.output.value = ""
        self._say("")
        self._place_marks()

    def _show(self, text: str) -> None:
        self._say("")
        self.output.value = text
