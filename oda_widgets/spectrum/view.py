"""``SpectrumView``: count-rate density against energy for ISGRI / JEM-X spectra (bqplot).

PROTOCOL §5.3: x = EBOUNDS mid-energy with half-width (E_MAX − E_MIN)/2; y = RATE / (E_MAX − E_MIN)
in counts s⁻¹ keV⁻¹, error sqrt(STAT_ERR² + (SYS_ERR · RATE)²) scaled the same way (OGIP SYS_ERR is
fractional); NaN rates dropped; log–log axes.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bqplot
import ipywidgets as widgets
import numpy as np
from astropy import units as u

from ..analysis.spectral import SpectralFit, SpectralModel, fit_spectra
from ..errors import InvalidParameter, OdaError
from ..light_curve.decimate import segments
from ..light_curve.view import PALETTE
from ..static import StaticFallback, spectrum_png
from .fit_panel import FitPanel

#: "keep what the panel shows" for the keyword arguments of :meth:`SpectrumView.fit`
PANEL = object()


@dataclass
class SpectrumPoints:
    """What is plotted for one spectrum: channel energies (keV) and count density (counts/s/keV)."""

    source: str
    channel: np.ndarray
    energy: u.Quantity  # mid-energy
    half_width: u.Quantity  # (E_MAX - E_MIN) / 2
    density: u.Quantity  # RATE / (E_MAX - E_MIN)
    error: u.Quantity
    #: the y axis label when it is not a count density (a workflow's flux spectrum)
    y_label: str | None = None
    #: True where ``density`` is an upper limit (flux spectra), else None
    upper_limit: np.ndarray | None = None


def _ebounds(spectrum: Any):
    own = getattr(spectrum, "ebounds", None)  # a workflow's OGIP file may carry its own EBOUNDS
    if own is not None:
        return own
    rmf = getattr(spectrum, "rmf", None)
    if rmf is None:
        return None
    for h in rmf:
        if h.name.upper() == "EBOUNDS":
            return h
    return None


def flux_points(spectrum: Any) -> SpectrumPoints:
    """The plotted points of a workflow's :class:`~oda_widgets.products.FluxSpectrum`: its flux
    against energy in keV (frequencies and wavelengths converted), upper limits flagged."""
    energy = spectrum.energy
    flux = spectrum.flux
    err = np.nan_to_num(spectrum.error.to_value(flux.unit), nan=0.0)
    ok = np.isfinite(energy.value) & np.isfinite(flux.value)
    return SpectrumPoints(
        source=str(spectrum.source),
        channel=np.arange(len(flux))[ok],
        energy=energy[ok],
        half_width=spectrum.energy_half_width[ok],
        density=flux[ok],
        error=err[ok] * flux.unit,
        y_label=spectrum.label,
        upper_limit=np.asarray(spectrum.upper_limit, dtype=bool)[ok],
    )


def count_density(spectrum: Any) -> SpectrumPoints:
    """The plotted points of a ``Spectrum`` (needs EBOUNDS: its RMF's, or the file's own for a
    workflow's OGIP spectrum); channels matched by number. A flux spectrum gives its flux."""
    if hasattr(spectrum, "flux") and hasattr(spectrum, "upper_limit"):
        return flux_points(spectrum)
    eb = _ebounds(spectrum)
    if eb is None:
        raise InvalidParameter(
            f"spectrum of {spectrum.source!r} has no RMF with EBOUNDS: "
            "its channels cannot be placed on an energy axis"
        )
    eb_chan = np.asarray(eb.data["CHANNEL"], dtype=np.int64)
    e_lo = np.asarray(eb.data["E_MIN"], dtype=float)
    e_hi = np.asarray(eb.data["E_MAX"], dtype=float)
    chan = np.asarray(spectrum.channel, dtype=np.int64)
    order = np.argsort(eb_chan)
    pos = np.searchsorted(eb_chan[order], chan)
    pos = np.clip(pos, 0, eb_chan.size - 1)
    matched = eb_chan[order][pos] == chan
    if not matched.any():
        raise InvalidParameter(f"spectrum of {spectrum.source!r}: no channel appears in the RMF's EBOUNDS")
    j = order[pos]
    rate = u.Quantity(spectrum.rate).to_value(u.ct / u.s)
    stat = u.Quantity(spectrum.error).to_value(u.ct / u.s)
    sys_err = getattr(spectrum, "sys_err", None)
    sys_frac = np.zeros_like(rate) if sys_err is None else np.nan_to_num(np.asarray(sys_err, float))
    width = e_hi[j] - e_lo[j]
    ok = matched & np.isfinite(rate) & (width > 0)
    err = np.sqrt(stat**2 + (sys_frac * rate) ** 2)
    return SpectrumPoints(
        source=str(spectrum.source),
        channel=chan[ok],
        energy=((e_lo[j] + e_hi[j]) / 2)[ok] * u.keV,
        half_width=(width / 2)[ok] * u.keV,
        density=(rate / width)[ok] * u.ct / u.s / u.keV,
        error=(err / width)[ok] * u.ct / u.s / u.keV,
    )


class SpectrumView(StaticFallback, widgets.VBox):
    """Count spectrum (counts s⁻¹ keV⁻¹ against keV, log–log) of one or more sources.

    ``SpectrumView(spectrum)`` or a list; ``energy_band=(E1, E2)`` (Quantity or keV numbers) marks the
    requested band. :meth:`set_log_y` switches the y axis (channels with density ≤ 0 only show on a
    linear axis); :meth:`save` writes spectrum/ARF/RMF FITS per source for XSPEC.

    The fit panel under the plot (model, parameter table, energy range, grouping, systematic
    fraction, **Fit**) is :meth:`fit`: ``fit = view.fit("cutoffpl")`` fits every spectrum shown
    (jointly, with the parameters ticked "tied", when there are several), draws the folded model
    over the data and the χ residuals below, fills the results table and returns the
    :class:`~oda_widgets.analysis.SpectralFit`. :meth:`set_model`, :meth:`set_parameter`,
    :meth:`set_energy_range`, :meth:`set_grouping`, :meth:`set_systematic` change the panel.
    """

    #: saved notebooks show the spectra as a PNG (matplotlib, drawn on display)
    _static_png = spectrum_png

    def __init__(self, spectra: Any, *, energy_band: Any = None, height: str = "400px"):
        super().__init__()
        if spectra is None:
            raise InvalidParameter("SpectrumView needs a spectrum (or a list of them)")
        if hasattr(spectra, "spectra") and not hasattr(spectra, "rate"):
            spectra = list(spectra.spectra)
        self.spectra = list(spectra) if isinstance(spectra, (list, tuple)) else [spectra]
        if not self.spectra:
            raise InvalidParameter("SpectrumView got an empty list of spectra")
        problems = []
        self.points: list[SpectrumPoints] = []
        for s in self.spectra:
            try:
                self.points.append(count_density(s))
            except InvalidParameter as exc:
                problems.append(str(exc))
        if not self.points:
            raise InvalidParameter("; ".join(problems))
        self.energy_band = self._band(energy_band)
        self._log_y = True
        self.x_scale = bqplot.LogScale()
        self.y_scale = bqplot.LogScale()
        sc = {"x": self.x_scale, "y": self.y_scale}
        self._scatters, self._errorbars = [], []
        for i, p in enumerate(self.points):
            colour = PALETTE[i % len(PALETTE)]
            self._errorbars.append(
                bqplot.Lines(
                    x=np.zeros(0), y=np.zeros(0), scales=sc, colors=[colour], stroke_width=1, opacities=[0.7]
                )
            )
            self._scatters.append(
                bqplot.Scatter(
                    x=np.zeros(0),
                    y=np.zeros(0),
                    scales=sc,
                    colors=[colour],
                    default_size=16,
                    labels=[p.source],
                    display_legend=True,
                )
            )
        self._band_mark = bqplot.Lines(
            x=np.zeros(0), y=np.zeros(0), scales=sc, colors=["#888888"], line_style="dashed", stroke_width=1
        )
        self.x_axis = bqplot.Axis(scale=self.x_scale, label="Energy [keV]", grid_lines="dashed")
        self.y_axis = bqplot.Axis(
            scale=self.y_scale,
            side="left",
            grid_lines="dashed",
            label=self.points[0].y_label or "Count rate density [counts s⁻¹ keV⁻¹]",
            label_offset="55px",
            tick_format=".1e",
        )
        self.figure = bqplot.Figure(
            marks=[self._band_mark, *self._errorbars, *self._scatters],
            axes=[self.x_axis, self.y_axis],
            interaction=bqplot.PanZoom(scales={"x": [self.x_scale], "y": [self.y_scale]}),
            legend_location="top-right",
            animation_duration=0,
            legend_style={"fill": "white", "stroke": "#cccccc"},
            fig_margin={"top": 30, "bottom": 55, "left": 85, "right": 20},
            layout=widgets.Layout(width="100%", height=height),
        )
        self._log_toggle = widgets.ToggleButton(value=True, description="log y")
        self._log_toggle.observe(lambda ch: self.set_log_y(ch["new"]), "value")
        self.problems = problems
        self.message = widgets.HTML()
        self._build_fit_marks(sc)
        self.fit_panel = FitPanel(energy_range=self._data_span(), joint=len(self.points) > 1)
        self.fit_panel.fit_button.on_click(lambda _b: self._fit_clicked())
        #: the last :class:`SpectralFit` made by :meth:`fit` (None before)
        self.last_fit: SpectralFit | None = None
        # the residual figure joins the children at the first fit (a hidden bqplot figure is laid
        # out at zero size, which the browser reports as negative SVG sizes)
        self.children = [widgets.HBox([self._log_toggle]), self.figure, self.message, self.fit_panel]
        if not any(getattr(s, "rmf", None) is not None for s in self.spectra):
            # nothing to fold a model through (a workflow's flux spectrum, a PHA without RMF)
            self.fit_panel.layout.display = "none"
        self._draw()

    @staticmethod
    def _band(band: Any):
        if band is None:
            return None
        try:
            lo, hi = band
        except (TypeError, ValueError) as exc:
            raise InvalidParameter(f"energy_band must be (E1, E2), got {band!r}") from exc
        lo, hi = u.Quantity(lo, u.keV), u.Quantity(hi, u.keV)
        if not hi > lo:
            raise InvalidParameter(f"energy_band: E2 ({hi}) must be above E1 ({lo})")
        return lo, hi

    def set_log_y(self, log: bool = True) -> None:
        """Logarithmic (default) or linear count-density axis."""
        if bool(log) == self._log_y:
            return
        self._log_y = bool(log)
        self._log_toggle.value = self._log_y
        new = bqplot.LogScale() if self._log_y else bqplot.LinearScale()
        for m in self._errorbars + self._scatters + self._model_lines + [self._band_mark]:
            m.scales = {"x": self.x_scale, "y": new}
        self.y_scale = new
        self.y_axis.scale = new
        self.y_axis.tick_format = ".1e" if self._log_y else None
        self.figure.interaction = bqplot.PanZoom(scales={"x": [self.x_scale], "y": [new]})
        self._draw()
        if self.last_fit is not None:
            self._draw_fit(self.last_fit)

    def _draw(self) -> None:
        all_lo, all_hi = [], []
        hidden = 0
        for p, sc, bars in zip(self.points, self._scatters, self._errorbars):
            e = p.energy.to_value(u.keV)
            hw = p.half_width.to_value(u.keV)
            y = p.density.value
            err = p.error.value
            keep = (y > 0) if self._log_y else np.ones(y.shape, bool)
            hidden += int((~keep).sum())
            e, hw, y, err = e[keep], hw[keep], y[keep], err[keep]
            lo = y - err
            if self._log_y:
                # an error bar reaching zero cannot be drawn on a log axis: stop it a decade below
                lo = np.where(lo > 0, lo, y / 10)
            hi = y + err
            if p.upper_limit is not None:
                # an upper limit: a bar from the limit down to a third of it (an arrow's shaft)
                ul = p.upper_limit[keep]
                lo = np.where(ul, y / 3 if self._log_y else y - 0.3 * np.abs(y), lo)
                hi = np.where(ul, y, hi)
            vx, vy = segments(e, lo, hi)
            hx = np.empty(3 * e.size)
            hx[0::3], hx[1::3], hx[2::3] = e - hw, e + hw, e
            hy = np.repeat(y, 3)
            hy[2::3] = np.nan
            with sc.hold_sync(), bars.hold_sync():
                sc.x, sc.y = e, y
                # no trailing NaN (bqplot puts the curve label at the last point; NaN → SVG error)
                bars.x, bars.y = np.concatenate([vx, hx])[:-1], np.concatenate([vy, hy])[:-1]
            if y.size:
                all_lo.append(np.min(lo))
                all_hi.append(np.max(y + err))
        if self.energy_band is not None and all_lo:
            e1, e2 = (q.to_value(u.keV) for q in self.energy_band)
            ymin, ymax = min(all_lo), max(all_hi)
            self._band_mark.x = np.array([e1, e1, e1, e2, e2])
            self._band_mark.y = np.array([ymin, ymax, np.nan, ymin, ymax])
        lines = [f"<span style='color:#b00020'>{html.escape(p)}</span>" for p in self.problems]
        if hidden:
            lines.append(
                f"<span>{hidden} channel(s) with density ≤ 0 are not shown on the log axis "
                "(switch off 'log y').</span>"
            )
        self.message.value = "<br>".join(lines)

    # -- fitting --------------------------------------------------------------------------------

    def _build_fit_marks(self, sc) -> None:
        self._model_lines = [
            bqplot.Lines(
                x=np.zeros(0), y=np.zeros(0), scales=sc, colors=[PALETTE[i % len(PALETTE)]], stroke_width=2
            )
            for i in range(len(self.points))
        ]
        self.figure.marks = [*self.figure.marks, *self._model_lines]
        self.residual_scale = bqplot.LinearScale()
        rsc = {"x": self.x_scale, "y": self.residual_scale}
        self._residual_marks = [
            bqplot.Scatter(
                x=np.zeros(0), y=np.zeros(0), scales=rsc, colors=[PALETTE[i % len(PALETTE)]], default_size=16
            )
            for i in range(len(self.points))
        ]
        self._zero_line = bqplot.Lines(
            x=np.zeros(0), y=np.zeros(0), scales=rsc, colors=["#888888"], line_style="dashed", stroke_width=1
        )
        self.residual_figure = bqplot.Figure(
            marks=[self._zero_line, *self._residual_marks],
            axes=[
                bqplot.Axis(scale=self.x_scale, label="Energy [keV]", grid_lines="dashed"),
                bqplot.Axis(scale=self.residual_scale, side="left", label="χ", grid_lines="dashed"),
            ],
            animation_duration=0,
            fig_margin={"top": 5, "bottom": 45, "left": 85, "right": 20},
            layout=widgets.Layout(width="100%", height="170px"),
        )
        self.residual_figure.add_class("oda-fit-residuals")

    def _data_span(self) -> tuple[float, float]:
        lo = min(
            float(np.min((p.energy - p.half_width).to_value(u.keV))) for p in self.points if p.energy.size
        )
        hi = max(
            float(np.max((p.energy + p.half_width).to_value(u.keV))) for p in self.points if p.energy.size
        )
        return round(lo, 3), round(hi, 3)

    def set_model(self, model: str | SpectralModel) -> SpectralModel:
        """Choose the model of the next fit (an expression such as ``"bbody+cutoffpl"``)."""
        return self.fit_panel.set_model(model)

    def set_parameter(self, name: str, value=None, *, min=None, max=None, frozen=None, tied=None) -> None:
        """Start value, bounds, frozen and (several spectra) tied state of a parameter."""
        self.fit_panel.set_parameter(name, value, min=min, max=max, frozen=frozen, tied=tied)

    def set_energy_range(self, e1: Any, e2: Any) -> None:
        """The energy range of the fit (Quantities or keV)."""
        self.fit_panel.set_energy_range(e1, e2)

    def set_grouping(self, grouping: dict | None) -> None:
        """Channel grouping of the fit: ``{"min_snr": 3}``, ``{"min_counts": 20}`` or None."""
        self.fit_panel.set_grouping(grouping)

    def set_systematic(self, fraction: float | None) -> None:
        """A fractional systematic error for the fit (None: the products' SYS_ERR)."""
        self.fit_panel.set_systematic(fraction)

    def fit(
        self,
        model: str | SpectralModel | None = None,
        *,
        parameters: dict[str, Any] | None = None,
        energy_range: Any = None,
        grouping: Any = PANEL,
        systematic: Any = PANEL,
        tie: Any = None,
        flux_band: Any = None,
        errors: str = "covariance",
    ) -> SpectralFit:
        """Fit the shown spectra (what the **Fit** button does) and show the result.

        Arguments given here are first put in the panel (``model``; ``parameters`` as
        ``{"ecut": 150}`` or ``{"ecut": {"value": 150, "frozen": True}}``; ``energy_range``;
        ``grouping``; ``systematic``; ``tie`` names for a joint fit), the rest is what the panel
        shows; ``flux_band`` and ``errors`` go to :func:`~oda_widgets.analysis.fit_spectra`.
        Raises typed errors (``FitUnavailable`` without Sherpa, ``FitFailed``, ``InvalidParameter``).
        """
        panel = self.fit_panel
        if model is not None:
            panel.set_model(model)
        for name, value in (parameters or {}).items():
            if isinstance(value, dict):
                panel.set_parameter(name, **value)
            else:
                panel.set_parameter(name, value)
        if energy_range is not None:
            panel.set_energy_range(*energy_range)
        if grouping is not PANEL:
            panel.set_grouping(grouping)
        if systematic is not PANEL:
            panel.set_systematic(systematic)
        spectra = [s for s in self.spectra if str(s.source) in self.sources]
        unfoldable = [str(s.source) for s in spectra if getattr(s, "rmf", None) is None]
        if unfoldable:
            message = (
                f"no response (RMF) to fold a model through for {', '.join(unfoldable)}: not fitted here"
            )
            panel.say(message, error=True)
            raise InvalidParameter(message, parameter="spectra")
        if tie is not None and len(spectra) > 1:
            names = list(panel.model().parameters)
            if tie == "shape":
                chosen = [n for n in names if not n.endswith(".norm")]
            elif tie == "all":
                chosen = names
            else:
                chosen = [panel.model().resolve(t) for t in ([tie] if isinstance(tie, str) else tie)]
            for name in names:
                panel.set_parameter(name, tied=name in chosen)
        panel.say("fitting…")
        try:
            result = fit_spectra(
                spectra,
                panel.model(),
                tie=panel.tied() if len(spectra) > 1 else None,
                energy_range=panel.energy_range(),
                grouping=panel.grouping(),
                systematic=panel.systematic_fraction(),
                flux_band=flux_band,
                errors=errors,
            )
        except OdaError as exc:
            panel.say(str(exc), error=True)
            raise
        self.last_fit = result
        panel.say("")
        panel.show(result)
        panel.show_values(result)
        self._draw_fit(result)
        return result

    def _fit_clicked(self) -> None:
        try:
            self.fit()
        except OdaError:
            pass  # already shown in the panel's status line

    def clear_fit(self) -> None:
        """Remove the drawn model and residuals (the panel keeps its settings)."""
        self.last_fit = None
        for m in self._model_lines + self._residual_marks:
            with m.hold_sync():
                m.x, m.y = np.zeros(0), np.zeros(0)
        self.children = tuple(c for c in self.children if c is not self.residual_figure)
        self.fit_panel.results.value = ""

    def _draw_fit(self, result: SpectralFit) -> None:
        by_source = {r.source: r for r in result.residuals}
        lo_all, hi_all = [], []
        for i, p in enumerate(self.points):
            r = by_source.get(p.source)
            line, scatter = self._model_lines[i], self._residual_marks[i]
            if r is None:
                with line.hold_sync(), scatter.hold_sync():
                    line.x = line.y = scatter.x = scatter.y = np.zeros(0)
                continue
            e = r.energy.to_value(u.keV)
            hw = r.half_width.to_value(u.keV)
            model = r.model.value
            # the folded model as steps over the fitted bins
            x = np.empty(2 * e.size)
            x[0::2], x[1::2] = e - hw, e + hw
            y = np.repeat(model, 2)
            if self._log_y:
                keep = y > 0
                x, y = x[keep], y[keep]
            with line.hold_sync():
                line.x, line.y = x, y
            with scatter.hold_sync():
                scatter.x, scatter.y = e, np.nan_to_num(r.chi)
            lo_all.append(float(np.min(e - hw)))
            hi_all.append(float(np.max(e + hw)))
        if lo_all:
            self._zero_line.x = np.array([min(lo_all), max(hi_all)])
            self._zero_line.y = np.zeros(2)
        if self.residual_figure not in self.children:
            i = self.children.index(self.figure) + 1
            self.children = (*self.children[:i], self.residual_figure, *self.children[i:])

    @property
    def sources(self) -> list[str]:
        return [p.source for p in self.points]

    def save(
        self,
        directory: str | Path,
        *,
        grouping: Any = None,
        systematic: float | None = None,
        energy_range: Any = None,
    ) -> dict[str, dict[str, Path]]:
        """Write each source's spectrum, ARF and RMF FITS into ``directory``, ready for XSPEC
        (ANCRFILE/RESPFILE name the files beside it; see ``Spectrum.save`` for ``grouping``,
        ``systematic`` and ``energy_range``, which set GROUPING, SYS_ERR and QUALITY).

        Returns ``{source: {"spectrum": path, "arf": path, "rmf": path}}``.
        """
        directory = Path(directory)
        out = {}
        for s in self.spectra:
            if not hasattr(s, "save"):
                raise InvalidParameter(f"{type(s).__name__} cannot be saved: use a products.Spectrum")
            written = s.save(directory, grouping=grouping, systematic=systematic, energy_range=energy_range)
            out[str(s.source)] = {k: Path(v) for k, v in written.items()}
        return out


__all__ = ["SpectrumView", "count_density", "SpectrumPoints"]
