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

from ..cache import product_path
from ..errors import InvalidParameter
from ..light_curve.decimate import segments
from ..light_curve.view import PALETTE
from ..static import StaticFallback, spectrum_png


@dataclass
class SpectrumPoints:
    """What is plotted for one spectrum: channel energies (keV) and count density (counts/s/keV)."""

    source: str
    channel: np.ndarray
    energy: u.Quantity  # mid-energy
    half_width: u.Quantity  # (E_MAX - E_MIN) / 2
    density: u.Quantity  # RATE / (E_MAX - E_MIN)
    error: u.Quantity


def _ebounds(spectrum: Any):
    rmf = getattr(spectrum, "rmf", None)
    if rmf is None:
        return None
    for h in rmf:
        if h.name.upper() == "EBOUNDS":
            return h
    return None


def count_density(spectrum: Any) -> SpectrumPoints:
    """The plotted points of a ``Spectrum`` (needs its RMF for EBOUNDS); channels matched by number."""
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
            label="Count rate density [counts s⁻¹ keV⁻¹]",
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
        self.children = [widgets.HBox([self._log_toggle]), self.figure, self.message]
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
        for m in self._errorbars + self._scatters + [self._band_mark]:
            m.scales = {"x": self.x_scale, "y": new}
        self.y_scale = new
        self.y_axis.scale = new
        self.y_axis.tick_format = ".1e" if self._log_y else None
        self.figure.interaction = bqplot.PanZoom(scales={"x": [self.x_scale], "y": [new]})
        self._draw()

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
            vx, vy = segments(e, lo, y + err)
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

    @property
    def sources(self) -> list[str]:
        return [p.source for p in self.points]

    def save(self, directory: str | Path) -> dict[str, dict[str, Path]]:
        """Write each source's spectrum, ARF and RMF FITS into ``directory`` (ANCRFILE/RESPFILE set).

        A relative ``directory`` is taken inside the products folder
        (:func:`oda_widgets.cache.products_dir`). Returns ``{source: {"spectrum": path, "arf": path, "rmf": path}}``.
        """
        directory = product_path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        out = {}
        for s in self.spectra:
            if not hasattr(s, "save"):
                raise InvalidParameter(f"{type(s).__name__} cannot be saved: use a products.Spectrum")
            out[str(s.source)] = {k: Path(v) for k, v in s.save(directory).items()}
        return out


__all__ = ["SpectrumView", "count_density", "SpectrumPoints"]
