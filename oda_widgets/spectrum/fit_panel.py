"""The spectral-fit panel of :class:`~oda_widgets.spectrum.SpectrumView`: model, parameter table
(value, bounds, frozen, tied), energy range, grouping, systematic fraction, Fit button, results.

The panel only holds the user's choices and shows results; fitting is
:func:`oda_widgets.analysis.spectral.fit_spectra`, called by the view's ``fit`` method, which the
button calls too. Without Sherpa the panel says how to enable fitting and its button is disabled.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets
import numpy as np
from astropy import units as u

from ..analysis.spectral import INSTALL_HINT, MODELS, SpectralFit, SpectralModel, sherpa_available
from ..errors import InvalidParameter

GROUPINGS = {"none": None, "min S/N": "min_snr", "min counts": "min_counts"}


class FitPanel(widgets.VBox):
    """Controls of a spectral fit; :meth:`model` gives the :class:`SpectralModel` they describe."""

    def __init__(self, *, energy_range: tuple[float, float], joint: bool):
        super().__init__()
        self.add_class("oda-fit-panel")
        self.joint = joint
        self.model_box = widgets.Combobox(
            value="powerlaw",
            options=list(MODELS),
            ensure_option=False,
            description="Model",
            placeholder="e.g. atten*(bbody+cutoffpl)",
            layout=widgets.Layout(width="330px"),
        )
        self.model_box.add_class("oda-fit-model")
        self.e_min = widgets.FloatText(
            value=energy_range[0], description="E1 [keV]", layout=widgets.Layout(width="170px")
        )
        self.e_max = widgets.FloatText(
            value=energy_range[1], description="E2 [keV]", layout=widgets.Layout(width="170px")
        )
        self.grouping_kind = widgets.Dropdown(
            options=list(GROUPINGS), value="none", description="Group", layout=widgets.Layout(width="200px")
        )
        self.grouping_value = widgets.FloatText(value=3.0, layout=widgets.Layout(width="70px"))
        self.systematic = widgets.Text(
            value="",
            description="Syst.",
            placeholder="SYS_ERR of the file",
            tooltip="fractional systematic error, e.g. 0.02; empty: the product's SYS_ERR",
            layout=widgets.Layout(width="220px"),
        )
        self.fit_button = widgets.Button(description="Fit", icon="line-chart", button_style="primary")
        self.fit_button.add_class("oda-fit-button")
        self.status = widgets.HTML()
        self.status.add_class("oda-fit-status")
        self.results = widgets.HTML()
        self.results.add_class("oda-fit-results")
        self.table = widgets.GridBox(layout=widgets.Layout(grid_gap="2px 6px", overflow="auto"))
        self._rows: dict[str, dict[str, widgets.Widget]] = {}
        self._model = SpectralModel("powerlaw")
        self.model_box.observe(self._on_model, "value")
        if not sherpa_available():
            self.fit_button.disabled = True
            self.status.value = (
                "<span style='color:#b00020'>Spectral fitting needs Sherpa, which is not installed: "
                f"<code>{html.escape(INSTALL_HINT, quote=False)}</code></span>"
            )
        self._build_table()
        self.children = [
            widgets.HBox([self.model_box, self.fit_button], layout=widgets.Layout(flex_flow="row wrap")),
            widgets.HBox(
                [self.e_min, self.e_max, self.grouping_kind, self.grouping_value, self.systematic],
                layout=widgets.Layout(flex_flow="row wrap"),
            ),
            self.table,
            self.status,
            self.results,
        ]

    # -- the model and its parameter table -------------------------------------------------------

    def _on_model(self, change) -> None:
        text = str(change["new"]).strip()
        if not text:
            return
        try:
            self.set_model(text)
        except InvalidParameter as exc:
            self.say(str(exc), error=True)

    def set_model(self, model: str | SpectralModel) -> SpectralModel:
        """Show ``model`` (an expression or a SpectralModel) and its parameters in the table."""
        new = model.copy() if isinstance(model, SpectralModel) else SpectralModel(str(model))
        self._model = new
        if self.model_box.value != new.expression and self.model_box.value.replace(" ", "") != new.expression:
            self.model_box.value = new.expression
        self._build_table()
        self.say("")
        return new

    def _build_table(self) -> None:
        head = ["parameter", "value", "min", "max", "frozen"] + (["tied"] if self.joint else [])
        cells: list[widgets.Widget] = [widgets.HTML(f"<b>{h}</b>") for h in head]
        self._rows = {}
        for name, p in self._model.parameters.items():
            unit = p.unit.to_string()
            label = widgets.HTML(
                f"<span title='{html.escape(p.description)}'>{html.escape(name)}</span>"
                + (f" <small>[{html.escape(unit)}]</small>" if unit else "")
            )
            row = {
                "value": widgets.FloatText(value=p.value, layout=widgets.Layout(width="110px")),
                "min": widgets.FloatText(value=p.min, layout=widgets.Layout(width="90px")),
                "max": widgets.FloatText(value=p.max, layout=widgets.Layout(width="90px")),
                "frozen": widgets.Checkbox(value=p.frozen, indent=False, layout=widgets.Layout(width="60px")),
            }
            if self.joint:
                row["tied"] = widgets.Checkbox(
                    value=not name.endswith(".norm"), indent=False, layout=widgets.Layout(width="50px")
                )
            for key, w in row.items():
                w.add_class(f"oda-fit-{key}")
            self._rows[name] = row
            cells += [label, *row.values()]
        self.table.layout.grid_template_columns = f"repeat({len(head)}, max-content)"
        self.table.children = cells

    def set_parameter(self, name: str, value=None, *, min=None, max=None, frozen=None, tied=None) -> None:
        """Change a row of the table; checked like :meth:`SpectralModel.set` (a refused change
        leaves the row as it was and raises ``InvalidParameter``)."""
        key = self._model.resolve(name)
        row = self._rows[key]
        if tied is not None and "tied" not in row:
            raise InvalidParameter("parameters can be tied only when the view shows several spectra")
        before = {k: w.value for k, w in row.items()}
        for k, v in (("value", value), ("min", min), ("max", max)):
            if v is not None:
                row[k].value = (
                    float(u.Quantity(v, self._model.parameters[key].unit).value)
                    if isinstance(v, u.Quantity)
                    else float(v)
                )
        if frozen is not None:
            row["frozen"].value = bool(frozen)
        if tied is not None:
            row["tied"].value = bool(tied)
        try:
            self.model()
        except InvalidParameter:
            for k, v in before.items():
                row[k].value = v
            raise

    def model(self) -> SpectralModel:
        """The SpectralModel the table describes (InvalidParameter for an inconsistent row). A value
        left at its default counts as not given, so a norm left alone is estimated from the data."""
        model = SpectralModel(self._model.expression)
        for name, row in self._rows.items():
            default = model.parameters[name].value
            value = row["value"].value
            model.set(
                name,
                None if value == default else value,
                min=row["min"].value,
                max=row["max"].value,
                frozen=row["frozen"].value,
            )
        return model

    def show_values(self, fit: SpectralFit) -> None:
        """Put the fitted values in the table, so the next fit starts from them."""
        for name, row in self._rows.items():
            if name in fit.parameters:
                row["value"].value = float(fit.parameters[name].value.value)

    def tied(self) -> list[str]:
        return [n for n, row in self._rows.items() if "tied" in row and row["tied"].value]

    # -- the other settings ---------------------------------------------------------------------

    def energy_range(self) -> tuple[u.Quantity, u.Quantity]:
        lo, hi = float(self.e_min.value), float(self.e_max.value)
        if not (np.isfinite(lo) and np.isfinite(hi) and 0 <= lo < hi):
            raise InvalidParameter(f"the energy range needs 0 ≤ E1 < E2 (got {lo:g}–{hi:g} keV)")
        return lo * u.keV, hi * u.keV

    def set_energy_range(self, lo: Any, hi: Any) -> None:
        self.e_min.value = float(u.Quantity(lo, u.keV).value)
        self.e_max.value = float(u.Quantity(hi, u.keV).value)

    def grouping(self) -> dict | None:
        key = GROUPINGS[self.grouping_kind.value]
        if key is None:
            return None
        value = float(self.grouping_value.value)
        if not value > 0:
            raise InvalidParameter(f"{self.grouping_kind.value} must be positive (got {value:g})")
        return {key: value}

    def set_grouping(self, grouping: dict | None) -> None:
        if not grouping:
            self.grouping_kind.value = "none"
            return
        (key, value), *rest = grouping.items()
        if rest or key not in ("min_snr", "min_counts"):
            raise InvalidParameter(f"the panel groups by min_snr or min_counts, got {grouping!r}")
        self.grouping_kind.value = "min S/N" if key == "min_snr" else "min counts"
        self.grouping_value.value = float(value)

    def systematic_fraction(self) -> float | None:
        text = self.systematic.value.strip()
        if not text:
            return None
        try:
            value = float(text)
        except ValueError as exc:
            raise InvalidParameter(f"systematic must be a fraction such as 0.02, got {text!r}") from exc
        if not 0 <= value < 1:
            raise InvalidParameter(f"systematic must be a fraction in [0, 1), got {value:g}")
        return value

    def set_systematic(self, value: float | None) -> None:
        self.systematic.value = "" if value is None else f"{float(value):g}"

    # -- results ---------------------------------------------------------------------------------

    def say(self, text: str, *, error: bool = False) -> None:
        colour = "#b00020" if error else "#333"
        self.status.value = f"<span style='color:{colour}'>{html.escape(text)}</span>" if text else ""

    def show(self, fit: SpectralFit) -> None:
        """The fit's parameters, χ², flux and notes as an HTML table."""
        rows = []
        for p in fit.parameters.values():
            if p.error is not None:
                err = f"± {p.error.value:.3g}"
                if p.lower is not None and p.upper is not None:
                    err += f" ({p.lower.value:.4g} … {p.upper.value:.4g})"
            else:
                err = "frozen" if p.frozen else "at a bound"
            unit = p.value.unit.to_string()
            rows.append(
                f"<tr><td>{html.escape(p.name)}</td><td style='text-align:right'>{p.value.value:.5g}</td>"
                f"<td>{html.escape(err)}</td><td>{html.escape(unit)}</td></tr>"
            )
        lo, hi = (q.to_value(u.keV) for q in fit.flux_band)
        for source, (f, e) in fit.fluxes.items():
            rows.append(
                f"<tr><td>flux {lo:g}–{hi:g} keV [{html.escape(source)}]</td>"
                f"<td style='text-align:right'>{f.value:.4g}</td><td>± {e.value:.2g}</td><td>erg cm⁻² s⁻¹</td></tr>"
            )
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in fit.notes)
        self.results.value = (
            f"<div class='oda-fit-summary'><b>{html.escape(fit.model.expression)}</b>: "
            f"χ²/dof = {fit.statistic:.2f}/{fit.dof} = {fit.reduced_chi2:.3f} (p = {fit.p_value:.3g})</div>"
            "<table class='oda-fit-table'><tr><th>parameter</th><th>value</th><th>error (1σ)</th><th>unit</th></tr>"
            + "".join(rows)
            + "</table>"
            + (f"<ul style='color:#7a5a00'>{notes}</ul>" if notes else "")
        )
