"""The SpectrumView's fit panel driven through its methods (the button calls the same ``fit``)."""

from __future__ import annotations

import importlib
import sys

import numpy as np
import pytest
from astropy import units as u

from oda_widgets.analysis import spectral
from oda_widgets.errors import FitFailed, FitUnavailable, InvalidParameter
from oda_widgets.spectrum import SpectrumView


def _one(collection, name):
    return next(s for s in collection.spectra if s.source == name)


def test_fit_method_draws_model_and_residuals_and_fills_the_table(isgri_cyg):
    view = SpectrumView(_one(isgri_cyg, "Cyg X-1"))
    assert view.residual_figure not in view.children and view.last_fit is None
    fit = view.fit("cutoffpl", energy_range=(20, 300) * u.keV)
    assert view.last_fit is fit and fit.model.expression == "cutoffpl"
    # the folded model is drawn over the data as steps, the χ residuals below
    line, scatter = view._model_lines[0], view._residual_marks[0]
    (res,) = fit.residuals
    assert len(line.x) == 2 * len(res.energy) and np.allclose(line.y[0::2], res.model.value)
    assert np.allclose(scatter.y, res.chi) and view.residual_figure in view.children
    results = view.fit_panel.results.value
    assert "cutoffpl.gamma" in results and "χ²/dof" in results and "erg cm⁻² s⁻¹" in results
    # the table now starts from the fitted values
    row = view.fit_panel._rows["cutoffpl.gamma"]
    assert np.isclose(row["value"].value, fit["gamma"].value.value)
    # the button runs the same method
    view.fit_panel.fit_button.click()
    assert view.last_fit is not fit and np.isclose(
        view.last_fit["gamma"].value.value, fit["gamma"].value.value, rtol=1e-3
    )


def test_panel_settings_reach_the_fit(isgri_cyg):
    view = SpectrumView(_one(isgri_cyg, "Cyg X-1"))
    view.set_model("cutoffpl")
    view.set_parameter("ecut", 150, frozen=True)
    view.set_energy_range(30, 200)
    view.set_grouping({"min_snr": 6})
    view.set_systematic(0.02)
    fit = view.fit()
    assert fit["ecut"].frozen and fit["ecut"].value == 150 * u.keV
    assert fit.energy_range == (30 * u.keV, 200 * u.keV)
    loose = view.fit(grouping=None, systematic=None)
    assert loose.n_bins > fit.n_bins and loose.statistic != fit.statistic  # fit was grouped to S/N ≥ 6
    # the model box accepts any expression, and refuses a wrong one where the user looks
    view.fit_panel.model_box.value = "atten*(bbody+cutoffpl)"
    assert "atten.nh" in view.fit_panel._rows
    view.fit_panel.model_box.value = "cutoffpl*powerlaw"
    assert "two additive" in view.fit_panel.status.value
    with pytest.raises(InvalidParameter, match="outside its bounds"):
        view.set_parameter("bbody.kt", 500)
    assert view.fit_panel._rows["bbody.kt"]["value"].value == 3.0  # the refused value is not kept


def test_fit_errors_show_in_the_panel(isgri_gc):
    view = SpectrumView(_one(isgri_gc, "4U 1700-377"))
    view.set_energy_range(2000, 3000)
    view.fit_panel.fit_button.click()
    assert "no usable channel" in view.fit_panel.status.value
    with pytest.raises(FitFailed):
        view.fit()
    assert view.last_fit is None


def test_joint_fit_with_tied_rows(isgri_gc):
    spectra = [_one(isgri_gc, n) for n in ("4U 1700-377", "OAO 1657-415")]
    view = SpectrumView(spectra)
    assert view.fit_panel.joint and "tied" in view.fit_panel._rows["powerlaw.gamma"]
    fit = view.fit("powerlaw", energy_range=(20, 200), tie="gamma")
    assert set(fit.parameters) == {
        "powerlaw.gamma",
        "powerlaw.norm[4U 1700-377]",
        "powerlaw.norm[OAO 1657-415]",
    }
    assert all(len(m.x) for m in view._model_lines)


def test_without_sherpa_the_panel_says_how_to_enable_it(isgri_gc, monkeypatch):
    """Sherpa missing (as in an install without the extra): a typed error naming the extra."""
    for name in [m for m in sys.modules if m == "sherpa" or m.startswith("sherpa.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setattr(spectral, "_SHERPA", {})
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "sherpa" else object())
    view = SpectrumView(_one(isgri_gc, "4U 1700-377"))
    assert view.fit_panel.fit_button.disabled
    assert "pip install 'oda-widgets[fit]'" in view.fit_panel.status.value
    with pytest.raises(FitUnavailable, match=r"oda-widgets\[fit\]"):
        view.fit("powerlaw")
