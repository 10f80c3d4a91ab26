"""Spectral fits of ISGRI / JEM-X spectra with Sherpa, forward-folded through their RMF and ARF.

What a user gets::

    from oda_widgets.analysis import fit_spectrum
    fit = fit_spectrum(spectrum, "cutoffpl", energy_range=(20, 200) * u.keV)
    fit["gamma"].value, fit["gamma"].error      # astropy Quantities
    fit.flux, fit.flux_error                    # erg / (cm² s) in fit.flux_band
    fit.statistic, fit.dof, fit.reduced_chi2, fit.covariance
    fit.to_table()

Models are XSPEC's definitions, written as expressions of components joined by ``+`` and ``*``
with parentheses, e.g. ``"cutoffpl"``, ``"bbody+powerlaw"``, ``"atten*(bbody+cutoffpl)"``:

* ``powerlaw`` — K E^-Γ (K in photons cm⁻² s⁻¹ keV⁻¹ at 1 keV), Sherpa's ``powlaw1d``;
* ``cutoffpl`` — K E^-Γ exp(-E / E_cut), XSPEC's cutoffpl (registered here: Sherpa has none);
* ``bknpower`` — broken power law (Γ₁ below E_break, Γ₂ above), Sherpa's ``bpl1d``;
* ``bbody`` — XSPEC's bbody: K · 8.0525 E² / (kT⁴ (exp(E/kT) − 1)), K = L₃₉ / D₁₀²
  (Sherpa's ``bbody`` with its amplitude converted);
* ``atten`` — photo-electric absorption of the interstellar medium, N_H in 10²² cm⁻²: Sherpa's
  ``atten`` (Rumph, Bowyer & Vennes 1994 for H and He, with metals from Morrison & McCammon
  1983 between 0.28 and 10 keV), evaluated on the energy axis. XSPEC's ``phabs``/``tbabs`` need
  XSPEC, which the PyPI Sherpa does not include; at ISGRI energies (> 15 keV) absorption matters
  only above N_H ~ 10²³ cm⁻², at JEM-X energies above ~10²² cm⁻².

Rate spectra (ISGRI, JEM-X: background-subtracted ``RATE``/``STAT_ERR``, PROTOCOL §5.3) are fitted
with χ² on the given errors, the fractional ``SYS_ERR`` (or the ``systematic`` given) added in
quadrature as OGIP defines it (Sherpa reads that column as an absolute error: sherpa#2099, so the
data set is built here from :class:`~oda_widgets.products.Spectrum`'s arrays). Sherpa is an
optional dependency (``pip install 'oda-widgets[fit]'``); without it the fit functions raise
:class:`~oda_widgets.errors.FitUnavailable` with that advice.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import re
import weakref
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from astropy import units as u
from astropy.table import Table

from oda_widgets.errors import FitFailed, FitUnavailable, InvalidParameter
from oda_widgets.products.spectrum import Grouping, _energy_range

__all__ = [
    "COMPONENTS",
    "MODELS",
    "ComponentSpec",
    "ParameterSetting",
    "SpectralModel",
    "FitParameter",
    "SpectrumResiduals",
    "SpectralFit",
    "fit_spectrum",
    "fit_spectra",
    "sherpa_available",
    "INSTALL_HINT",
]

INSTALL_HINT = "pip install 'oda-widgets[fit]'"

PHOTON_FLUX_DENSITY = u.ph / (u.cm**2 * u.s * u.keV)
NH_UNIT = u.Unit(1e22 * u.cm**-2)
ENERGY_FLUX = u.erg / (u.cm**2 * u.s)

# ------------------------------------------------------------------------------------------------
# Model settings (plain data: usable without Sherpa, e.g. by the fit panel)


@dataclass(frozen=True)
class ParameterSetting:
    """One parameter of a model: value, bounds, frozen, unit (what a fit starts from)."""

    name: str
    value: float
    min: float
    max: float
    unit: u.UnitBase = u.dimensionless_unscaled
    frozen: bool = False
    description: str = ""

    @property
    def component(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def short_name(self) -> str:
        return self.name.split(".", 1)[1]


@dataclass(frozen=True)
class ComponentSpec:
    """A model component: ``additive`` (photons cm⁻² s⁻¹ keV⁻¹) or ``multiplicative``."""

    name: str
    kind: str
    parameters: tuple[ParameterSetting, ...]
    description: str


def _p(name, value, lo, hi, unit=u.dimensionless_unscaled, description="", frozen=False):
    return ParameterSetting(name, float(value), float(lo), float(hi), u.Unit(unit), frozen, description)


_NORM_1KEV = "photons cm⁻² s⁻¹ keV⁻¹ at 1 keV"
#: The components a model expression can use, by name.
COMPONENTS: dict[str, ComponentSpec] = {
    c.name: c
    for c in (
        ComponentSpec(
            "powerlaw",
            "additive",
            (
                _p("gamma", 2.0, -3, 10, description="photon index Γ"),
                _p("norm", 1.0, 0, 1e24, PHOTON_FLUX_DENSITY, _NORM_1KEV),
            ),
            "power law K E^-Γ",
        ),
        ComponentSpec(
            "cutoffpl",
            "additive",
            (
                _p("gamma", 1.5, -3, 10, description="photon index Γ"),
                _p("ecut", 100.0, 1, 1000, u.keV, "e-folding energy E_cut (XSPEC HighECut)"),
                _p("norm", 1.0, 0, 1e24, PHOTON_FLUX_DENSITY, _NORM_1KEV),
            ),
            "cut-off power law K E^-Γ exp(-E/E_cut) (XSPEC cutoffpl)",
        ),
        ComponentSpec(
            "bknpower",
            "additive",
            (
                _p("gamma1", 2.0, -3, 10, description="photon index below the break"),
                _p("ebreak", 50.0, 1, 1000, u.keV, "break energy"),
                _p("gamma2", 2.5, -3, 10, description="photon index above the break"),
                _p("norm", 1.0, 0, 1e24, PHOTON_FLUX_DENSITY, _NORM_1KEV),
            ),
            "broken power law (XSPEC bknpower)",
        ),
        ComponentSpec(
            "bbody",
            "additive",
            (
                _p("kt", 3.0, 0.01, 200, u.keV, "temperature kT"),
                _p("norm", 1.0, 0, 1e24, u.dimensionless_unscaled, "L₃₉ / D₁₀² (XSPEC bbody)"),
            ),
            "black body (XSPEC bbody normalisation)",
        ),
        ComponentSpec(
            "atten",
            "multiplicative",
            (_p("nh", 1.0, 0, 1e5, NH_UNIT, "hydrogen column N_H"),),
            "photo-electric absorption of the ISM (Sherpa atten on the energy axis)",
        ),
    )
}

#: Model expressions offered by the fit panel (any expression of COMPONENTS works in the API).
MODELS = (
    "powerlaw",
    "cutoffpl",
    "bknpower",
    "bbody",
    "bbody+powerlaw",
    "bbody+cutoffpl",
    "atten*powerlaw",
    "atten*cutoffpl",
    "atten*(bbody+powerlaw)",
)

_TOKEN = re.compile(r"\s*(?:([A-Za-z][A-Za-z0-9_]*)|(.))")


def _parse(expression: str):
    """A model expression → tree of ``("name", label)`` / ``("+"|"*", left, right)``; labels are
    the component names, numbered from the second use on (``powerlaw``, ``powerlaw_2``)."""
    tokens = []
    for m in _TOKEN.finditer(expression or ""):
        if m.group(1):
            tokens.append(("name", m.group(1).lower()))
        elif m.group(2) and not m.group(2).isspace():
            if m.group(2) not in "+*()":
                raise InvalidParameter(
                    f"model {expression!r}: unexpected {m.group(2)!r} (use + * and parentheses)"
                )
            tokens.append((m.group(2), None))
    if not tokens:
        raise InvalidParameter("the model expression is empty; try 'powerlaw' or 'cutoffpl'")
    pos = 0
    seen: dict[str, int] = {}

    def peek():
        return tokens[pos][0] if pos < len(tokens) else None

    def factor():
        nonlocal pos
        kind = peek()
        if kind == "name":
            name = tokens[pos][1]
            pos += 1
            if name not in COMPONENTS:
                raise InvalidParameter(
                    f"model {expression!r}: unknown component {name!r}; known: {', '.join(COMPONENTS)}"
                )
            seen[name] = seen.get(name, 0) + 1
            label = name if seen[name] == 1 else f"{name}_{seen[name]}"
            return ("name", label, name)
        if kind == "(":
            pos += 1
            inner = expr()
            if peek() != ")":
                raise InvalidParameter(f"model {expression!r}: a parenthesis is not closed")
            pos += 1
            return inner
        raise InvalidParameter(f"model {expression!r}: expected a component name at position {pos + 1}")

    def term():
        nonlocal pos
        left = factor()
        while peek() == "*":
            pos += 1
            left = ("*", left, factor())
        return left

    def expr():
        nonlocal pos
        left = term()
        while peek() == "+":
            pos += 1
            left = ("+", left, term())
        return left

    tree = expr()
    if pos != len(tokens):
        raise InvalidParameter(f"model {expression!r}: unexpected {tokens[pos][0]!r} at position {pos + 1}")
    if _kind(tree, expression) != "additive":
        raise InvalidParameter(f"model {expression!r} has no additive component (a spectrum needs one)")
    return tree


def _kind(tree, expression) -> str:
    if tree[0] == "name":
        return COMPONENTS[tree[2]].kind
    a, b = _kind(tree[1], expression), _kind(tree[2], expression)
    if tree[0] == "+":
        if "multiplicative" in (a, b):
            raise InvalidParameter(f"model {expression!r}: a multiplicative component cannot be added")
        return "additive"
    if a == b == "additive":
        raise InvalidParameter(f"model {expression!r}: two additive components cannot be multiplied")
    return "additive" if "additive" in (a, b) else "multiplicative"


def _leaves(tree) -> list[tuple[str, str]]:
    if tree[0] == "name":
        return [(tree[1], tree[2])]
    return _leaves(tree[1]) + _leaves(tree[2])


def _text(tree, top=True) -> str:
    if tree[0] == "name":
        return tree[2]
    left, right = _text(tree[1], False), _text(tree[2], False)
    if tree[0] == "*":
        # a sum inside a product keeps its parentheses
        left = f"({left})" if tree[1][0] == "+" else left
        right = f"({right})" if tree[2][0] == "+" else right
        return f"{left}*{right}"
    return f"{left}+{right}"


class SpectralModel:
    """A model expression with the settings of its parameters (value, bounds, frozen).

    ``SpectralModel("cutoffpl")``; ``model.set("ecut", 150, frozen=True)``;
    ``model.parameters`` maps full names (``cutoffpl.ecut``) to :class:`ParameterSetting`. A name
    may be shortened to the parameter's own name when that is unambiguous (``"ecut"``).
    """

    def __init__(self, expression: str = "powerlaw", parameters: dict[str, Any] | None = None):
        self._tree = _parse(expression)
        self.expression = _text(self._tree)
        self.parameters: dict[str, ParameterSetting] = {}
        #: parameters given a value by the user (their start values are not guessed)
        self.user_set: set[str] = set()
        for label, name in _leaves(self._tree):
            for p in COMPONENTS[name].parameters:
                self.parameters[f"{label}.{p.name}"] = replace(p, name=f"{label}.{p.name}")
        for key, value in (parameters or {}).items():
            if isinstance(value, dict):
                self.set(key, **value)
            else:
                self.set(key, value)

    @property
    def components(self) -> list[tuple[str, str]]:
        """``(label, component name)`` in the order they appear."""
        return _leaves(self._tree)

    def resolve(self, name: str) -> str:
        """The full parameter name for ``name`` (full or unambiguous short name)."""
        if name in self.parameters:
            return name
        matches = [k for k in self.parameters if k.split(".", 1)[1] == name.lower()]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise InvalidParameter(
                f"model {self.expression!r} has no parameter {name!r}; it has {', '.join(self.parameters)}",
                parameter=name,
            )
        raise InvalidParameter(
            f"{name!r} is ambiguous in {self.expression!r}: {', '.join(matches)}", parameter=name
        )

    def set(
        self,
        name: str,
        value: Any = None,
        *,
        min: Any = None,
        max: Any = None,
        frozen: bool | None = None,
    ) -> ParameterSetting:
        """Change a parameter's start value, bounds or frozen state (Quantities are converted to
        the parameter's unit). Raises ``InvalidParameter`` for a value outside the bounds."""
        key = self.resolve(name)
        p = self.parameters[key]
        base = COMPONENTS[dict(self.components)[p.component]].parameters
        hard = next(b for b in base if b.name == p.short_name)

        def num(v, what):
            try:
                x = float(u.Quantity(v, p.unit).value) if isinstance(v, u.Quantity) else float(v)
            except (TypeError, ValueError, u.UnitsError) as exc:
                raise InvalidParameter(
                    f"{key}: {what} {v!r} is not a number in {p.unit}", parameter=key
                ) from exc
            if not np.isfinite(x):
                raise InvalidParameter(f"{key}: {what} must be finite", parameter=key)
            return x

        new_min = p.min if min is None else num(min, "minimum")
        new_max = p.max if max is None else num(max, "maximum")
        new_val = p.value if value is None else num(value, "value")
        if new_min < hard.min or new_max > hard.max:
            raise InvalidParameter(
                f"{key}: bounds must lie within [{hard.min:g}, {hard.max:g}] {p.unit}", parameter=key
            )
        if not new_min < new_max:
            raise InvalidParameter(
                f"{key}: minimum {new_min:g} must be below maximum {new_max:g}", parameter=key
            )
        if not new_min <= new_val <= new_max:
            raise InvalidParameter(
                f"{key}: value {new_val:g} is outside its bounds [{new_min:g}, {new_max:g}]", parameter=key
            )
        p = replace(
            p, value=new_val, min=new_min, max=new_max, frozen=p.frozen if frozen is None else bool(frozen)
        )
        self.parameters[key] = p
        if value is not None:
            self.user_set.add(key)
        return p

    def freeze(self, name: str) -> None:
        self.set(name, frozen=True)

    def thaw(self, name: str) -> None:
        self.set(name, frozen=False)

    def copy(self) -> SpectralModel:
        out = SpectralModel(self.expression)
        out.parameters = dict(self.parameters)
        out.user_set = set(self.user_set)
        return out

    def __repr__(self) -> str:
        return f"SpectralModel({self.expression!r}, {len(self.parameters)} parameters)"


# ------------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class FitParameter:
    """A fitted parameter: ``value`` and 1σ ``error`` as Quantities (error None when frozen or at a bound);
    ``lower``/``upper`` the (possibly asymmetric) bounds of the error interval from
    ``errors="confidence"``; ``source`` the spectrum an untied parameter of a joint fit belongs to
    (None for a single fit and for tied parameters, which are shared)."""

    name: str
    value: u.Quantity
    error: u.Quantity | None
    frozen: bool
    min: u.Quantity
    max: u.Quantity
    source: str | None = None
    lower: u.Quantity | None = None
    upper: u.Quantity | None = None

    def __str__(self) -> str:
        unit = self.value.unit.to_string()
        if self.error is not None:
            return f"{self.name} = {self.value.value:.4g} ± {self.error.value:.2g} {unit}".rstrip()
        if self.frozen:
            state = "frozen"
        else:
            state = "no error: at a bound or unconstrained"
        return f"{self.name} = {self.value.value:.4g} {unit} ({state})".replace("  (", " (")


@dataclass(frozen=True)
class SpectrumResiduals:
    """Per fitted (grouped) bin of one spectrum: energy (mid) and half width, the data's and the
    folded model's count-rate density (counts s⁻¹ keV⁻¹), the error, and χ residuals
    (data − model) / error."""

    source: str
    energy: u.Quantity
    half_width: u.Quantity
    data: u.Quantity
    error: u.Quantity
    model: u.Quantity
    chi: np.ndarray


@dataclass
class SpectralFit:
    """The result of :func:`fit_spectrum` / :func:`fit_spectra` (values, nothing printed).

    ``parameters`` (full names → :class:`FitParameter`; ``fit["gamma"]`` accepts unambiguous short
    names), ``statistic`` (χ²), ``dof``, ``reduced_chi2``, ``p_value``, ``flux``/``flux_error``
    (erg cm⁻² s⁻¹ in ``flux_band``, of the first spectrum; ``fluxes`` per source),
    ``covariance`` (free parameters, in ``covariance_names`` order), ``residuals`` per spectrum,
    ``notes`` (Sherpa's warnings during the fit), ``to_table()``.
    """

    model: SpectralModel
    sources: list[str]
    parameters: dict[str, FitParameter]
    statistic: float
    dof: int
    n_bins: int
    energy_range: tuple[u.Quantity, u.Quantity]
    flux_band: tuple[u.Quantity, u.Quantity]
    fluxes: dict[str, tuple[u.Quantity, u.Quantity]]
    covariance: np.ndarray | None
    covariance_names: list[str]
    residuals: list[SpectrumResiduals]
    errors_method: str = "covariance"
    notes: list[str] = field(default_factory=list)

    @property
    def reduced_chi2(self) -> float:
        return self.statistic / self.dof if self.dof > 0 else float("nan")

    @property
    def p_value(self) -> float:
        from scipy.special import chdtrc

        return float(chdtrc(self.dof, self.statistic)) if self.dof > 0 else float("nan")

    @property
    def flux(self) -> u.Quantity:
        return self.fluxes[self.sources[0]][0]

    @property
    def flux_error(self) -> u.Quantity:
        return self.fluxes[self.sources[0]][1]

    def __getitem__(self, name: str) -> FitParameter:
        if name in self.parameters:
            return self.parameters[name]
        full = self.model.resolve(name)
        if full in self.parameters:
            return self.parameters[full]
        matches = [k for k in self.parameters if k.startswith(full + "[")]
        if len(matches) == 1:
            return self.parameters[matches[0]]
        raise KeyError(f"{name!r}: one of {', '.join(matches or self.parameters)}")

    def to_table(self) -> Table:
        """The parameters as an astropy Table: name, source, value, error, unit, frozen,
        min, max; the fit statistic, dof and fluxes in ``meta``."""
        rows = list(self.parameters.values())
        t = Table(
            {
                "name": [p.name for p in rows],
                "source": [p.source or "" for p in rows],
                "value": [p.value.value for p in rows],
                "error": [np.nan if p.error is None else p.error.value for p in rows],
                "unit": [p.value.unit.to_string() for p in rows],
                "frozen": [p.frozen for p in rows],
                "min": [p.min.value for p in rows],
                "max": [p.max.value for p in rows],
            }
        )
        t.meta.update(
            {
                "model": self.model.expression,
                "statistic": "chi2",
                "chi2": self.statistic,
                "dof": self.dof,
                "reduced_chi2": self.reduced_chi2,
                "flux_band_keV": [q.to_value(u.keV) for q in self.flux_band],
                "flux_erg_cm2_s": {s: [f.value, e.value] for s, (f, e) in self.fluxes.items()},
            }
        )
        return t

    def summary(self) -> str:
        """A few lines a person reads: model, χ²/dof, parameters, flux."""
        lines = [
            f"{self.model.expression} fitted to {', '.join(self.sources)}: "
            f"χ²/dof = {self.statistic:.1f}/{self.dof} = {self.reduced_chi2:.2f}"
        ]
        lines += [f"  {p}" for p in self.parameters.values()]
        lo, hi = (q.to_value(u.keV) for q in self.flux_band)
        for s, (f, e) in self.fluxes.items():
            lines.append(f"  flux {lo:g}–{hi:g} keV [{s}] = {f.value:.3e} ± {e.value:.1e} erg/cm²/s")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<SpectralFit {self.model.expression} χ²/dof={self.statistic:.1f}/{self.dof} on {len(self.sources)} spectrum(s)>"


# ------------------------------------------------------------------------------------------------
# Sherpa side


def sherpa_available() -> bool:
    """True when Sherpa can be imported (the ``fit`` extra is installed)."""
    return importlib.util.find_spec("sherpa") is not None


_SHERPA: dict[str, Any] = {}
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(4)
_HC_KEV_ANGSTROM = 12.398419843320026
# The quadrature nodes of the last energy grid: a fit evaluates its model hundreds of times on the
# same response grid, so the nodes (and their logarithms) are made once per grid.
_NODES: dict[str, Any] = {}


def _nodes(lo, hi) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre nodes of each bin [lo, hi] (4 per bin: exact for polynomials of degree 7,
    relative error ~1e-10 on the narrow bins of ISGRI/JEM-X responses) and their logarithms."""
    lo = np.asarray(lo, dtype=float)
    hi = np.asarray(hi, dtype=float)
    key = (lo.shape, lo.tobytes()[:64], hi.tobytes()[-64:], float(lo.sum()), float(hi.sum()))
    if _NODES.get("key") != key:
        mid, half = (lo + hi) / 2, (hi - lo) / 2
        e = mid[:, None] + half[:, None] * _GL_NODES[None, :]
        _NODES.update(key=key, e=e, log_e=np.log(e))
    return _NODES["e"], _NODES["log_e"]


def _bin_average(point, p, lo, hi):
    """Mean of ``point(p, E)`` over each bin [lo, hi] (Gauss–Legendre)."""
    e, _ = _nodes(lo, hi)
    return point(p, e) @ _GL_WEIGHTS / 2


def _sherpa() -> dict[str, Any]:
    """Import Sherpa once and define the model classes it lacks; FitUnavailable without it."""
    if _SHERPA:
        return _SHERPA
    try:
        from sherpa.astro.data import DataPHA
        from sherpa.astro.flux import sample_flux
        from sherpa.astro.instrument import Response1D
        from sherpa.astro.io import read_arf, read_rmf
        from sherpa.astro.models import BPL1D, Atten, BBody
        from sherpa.astro.utils import calc_energy_flux
        from sherpa.data import DataSimulFit
        from sherpa.estmethods import Confidence, Covariance
        from sherpa.fit import Fit
        from sherpa.models.basic import PowLaw1D
        from sherpa.models.model import ArithmeticModel, SimulFitModel
        from sherpa.models.parameter import Parameter
        from sherpa.optmethods import LevMar, NelderMead
        from sherpa.stats import Chi2
    except ImportError as exc:
        raise FitUnavailable(
            f"Spectral fitting needs Sherpa, which is not installed: {INSTALL_HINT} ({exc})"
        ) from exc

    def params(model, component):
        return tuple(
            Parameter(
                model,
                s.name,
                s.value,
                min=s.min,
                max=s.max,
                hard_min=s.min,
                hard_max=s.max,
                units=s.unit.to_string() if s.unit != u.dimensionless_unscaled else "",
            )
            for s in COMPONENTS[component].parameters
        )

    class _Component(ArithmeticModel):
        component = ""

        def __init__(self, name):
            pars = params(name, self.component)
            for par in pars:
                setattr(self, par.name, par)
            super().__init__(name, pars)

    class PowerLaw(_Component):
        """XSPEC powerlaw through Sherpa's powlaw1d (reference energy 1 keV)."""

        component = "powerlaw"
        _impl = PowLaw1D()

        def calc(self, p, *args, **kwargs):
            return self._impl.calc([p[0], 1.0, p[1]], *args, **kwargs)

    class BrokenPowerLaw(_Component):
        """XSPEC bknpower through Sherpa's bpl1d (reference energy 1 keV)."""

        component = "bknpower"
        _impl = BPL1D()

        def calc(self, p, *args, **kwargs):
            gamma1, ebreak, gamma2, norm = p
            return self._impl.calc([gamma1, gamma2, ebreak, 1.0, norm], *args, **kwargs)

    class CutoffPowerLaw(_Component):
        """XSPEC cutoffpl: K E^-Γ exp(-E/E_cut), integrated over each energy bin."""

        component = "cutoffpl"

        @staticmethod
        def point(p, e):
            gamma, ecut, norm = p
            return norm * e ** (-gamma) * np.exp(-e / ecut)

        def calc(self, p, *args, **kwargs):
            if len(args) >= 2:
                lo, hi = np.asarray(args[0], dtype=float), np.asarray(args[1], dtype=float)
                e, log_e = _nodes(lo, hi)
                gamma, ecut, norm = p
                # one exp per node: E^-Γ exp(-E/E_cut) = exp(-Γ ln E - E/E_cut)
                values = np.exp(-gamma * log_e - e / ecut)
                return norm * (values @ _GL_WEIGHTS) * (hi - lo) / 2
            return self.point(p, np.asarray(args[0], dtype=float))

    class BlackBody(_Component):
        """XSPEC bbody (K = L39/D10²) through Sherpa's bbody with its amplitude converted."""

        component = "bbody"
        _impl = BBody()

        def calc(self, p, *args, **kwargs):
            kt, norm = p
            # Sherpa: A E²/(exp(E/kT)-1); XSPEC: K 8.0525 E²/(kT⁴ (exp(E/kT)-1))
            return self._impl.calc([0.0, kt, norm * 8.0525 / kt**4], *args, **kwargs)

    class Absorption(_Component):
        """Sherpa's atten (ISM transmission, defined on wavelengths) on an energy axis; the bin
        average of the transmission, N_H in 10²² cm⁻², He/H ratios Sherpa's defaults."""

        component = "atten"
        _impl = Atten()

        def point(self, p, e):
            lam = _HC_KEV_ANGSTROM / np.asarray(e, dtype=float)
            pars = [p[0] * 1e22, self._impl.heiRatio.val, self._impl.heiiRatio.val]
            return self._impl.calc(pars, lam.ravel()).reshape(lam.shape)

        def calc(self, p, *args, **kwargs):
            if len(args) >= 2:
                return _bin_average(self.point, p, args[0], args[1])
            return self.point(p, args[0])

    _SHERPA.update(
        DataPHA=DataPHA,
        sample_flux=sample_flux,
        Response1D=Response1D,
        read_arf=read_arf,
        read_rmf=read_rmf,
        calc_energy_flux=calc_energy_flux,
        DataSimulFit=DataSimulFit,
        SimulFitModel=SimulFitModel,
        Confidence=Confidence,
        Covariance=Covariance,
        Fit=Fit,
        LevMar=LevMar,
        NelderMead=NelderMead,
        Chi2=Chi2,
        classes={
            "powerlaw": PowerLaw,
            "cutoffpl": CutoffPowerLaw,
            "bknpower": BrokenPowerLaw,
            "bbody": BlackBody,
            "atten": Absorption,
        },
    )
    return _SHERPA


# Responses read once per HDUList (the real ISGRI RMF takes ~70 ms to read)
_RESPONSE_CACHE: dict[tuple[int, str], tuple[Any, Any]] = {}


def _response(hdul, kind: str):
    key = (id(hdul), kind)
    hit = _RESPONSE_CACHE.get(key)
    if hit is not None and hit[0]() is hdul:
        return hit[1]
    sh = _sherpa()
    try:
        data = (sh["read_rmf"] if kind == "rmf" else sh["read_arf"])(hdul)
    except Exception as exc:
        raise FitFailed(f"the {kind.upper()} cannot be read: {exc}") from exc
    with contextlib.suppress(TypeError):
        _RESPONSE_CACHE[key] = (weakref.ref(hdul), data)
        weakref.finalize(hdul, _RESPONSE_CACHE.pop, key, None)
    return data


@contextlib.contextmanager
def _captured_sherpa_log(notes: list[str]):
    """Sherpa reports through the ``sherpa`` logger, which prints to stdout; during a fit its
    warnings become notes of the result instead (its progress messages are dropped)."""
    logger = logging.getLogger("sherpa")

    class _Keep(logging.Handler):
        def emit(self, record):
            message = record.getMessage()
            if message not in notes:
                notes.append(message)

    saved = logger.handlers[:], logger.propagate
    logger.handlers = [_Keep(level=logging.WARNING)]
    logger.propagate = False
    try:
        yield
    finally:
        logger.handlers, logger.propagate = saved


def _data_set(spectrum, name, *, grouping, systematic, energy_range):
    """A Sherpa DataPHA (counts = rate × exposure) with its responses, filtered and grouped."""
    sh = _sherpa()
    if getattr(spectrum, "rmf", None) is None:
        raise FitFailed(f"spectrum of {spectrum.source!r} has no RMF: it cannot be fitted")
    exposure = float(u.Quantity(spectrum.exposure, u.s).value)
    if not (np.isfinite(exposure) and exposure > 0):
        raise FitFailed(f"spectrum of {spectrum.source!r} has no positive EXPOSURE ({exposure})")
    group = Grouping.parse(grouping)
    flags, quality = spectrum.quality_and_grouping(group, energy_range)
    if not np.any(quality == 0):
        raise FitFailed(f"spectrum of {spectrum.source!r}: no usable channel in the chosen energy range")
    rate = np.nan_to_num(np.asarray(spectrum.rate.value, dtype=float))
    err = np.nan_to_num(np.asarray(spectrum.error.value, dtype=float))
    counts = rate * exposure
    staterror = np.where(err > 0, err * exposure, 1.0)
    if systematic is not None:
        frac = np.full(counts.shape, float(systematic))
    else:
        frac = spectrum.sys_err if spectrum.sys_err is not None else np.zeros(counts.shape)
    frac = np.nan_to_num(np.asarray(frac, dtype=float))
    syserror = np.abs(counts) * frac if np.any(frac > 0) else None
    pha = sh["DataPHA"](
        name,
        np.asarray(spectrum.channel, dtype=float),
        counts,
        staterror=staterror,
        syserror=syserror,
        exposure=exposure,
        grouping=flags if group is not None else None,
        quality=quality,
    )
    rmf = _response(spectrum.rmf, "rmf")
    if len(spectrum.channel) != rmf.detchans:
        raise FitFailed(
            f"spectrum of {spectrum.source!r} has {len(spectrum.channel)} channels, its RMF {rmf.detchans}"
        )
    if getattr(spectrum, "arf", None) is not None:
        pha.set_arf(_response(spectrum.arf, "arf"))
    pha.set_rmf(rmf)
    pha.set_analysis("energy")
    if group is not None:
        pha.group()
    pha.ignore_bad()
    if energy_range is not None:
        lo, hi = _energy_range(energy_range)
        pha.notice(lo, hi)
    if not np.any(pha.mask):
        raise FitFailed(f"spectrum of {spectrum.source!r}: no bin left in the chosen energy range")
    return pha


def _instantiate(model: SpectralModel, tag: str):
    """Sherpa components for ``model`` (one instance per label) and the summed expression."""
    classes = _sherpa()["classes"]
    instances = {}
    for label, name in model.components:
        inst = classes[name](f"{label}{tag}")
        for par in inst.pars:
            s = model.parameters[f"{label}.{par.name}"]
            par.min, par.max = s.min, s.max
            par.val = s.value
            par.frozen = s.frozen
        instances[label] = inst

    def build(tree):
        if tree[0] == "name":
            return instances[tree[1]]
        a, b = build(tree[1]), build(tree[2])
        return a + b if tree[0] == "+" else a * b

    return build(model._tree), instances


def _guess_norms(fit, model: SpectralModel, instances_per_set, data_sets, full_models):
    """Scale the free norms still at their default so the folded model's counts match the data's
    (what XSPEC users do by hand before ``fit``): a linear step that keeps LevMar out of trouble."""
    for pha, full, instances in zip(data_sets, full_models, instances_per_set):
        norms = [
            inst.norm
            for label, inst in instances.items()
            if hasattr(inst, "norm")
            and not inst.norm.frozen
            and inst.norm.link is None
            and f"{label}.norm" not in model.user_set
        ]
        if not norms:
            continue
        predicted = float(np.sum(pha.eval_model_to_fit(full)))
        observed = float(np.sum(pha.get_dep(True)))
        if predicted > 0 and observed > 0:
            ratio = observed / predicted
            for par in norms:
                par.val = float(np.clip(par.val * ratio, par.min, par.max))


def fit_spectrum(
    spectrum,
    model: str | SpectralModel = "powerlaw",
    *,
    parameters: dict[str, Any] | None = None,
    energy_range: Any = None,
    grouping: Any = None,
    systematic: float | None = None,
    flux_band: Any = None,
    errors: str = "covariance",
    flux_samples: int = 300,
    seed: int = 0,
) -> SpectralFit:
    """Fit one spectrum (a :class:`~oda_widgets.products.Spectrum`) by χ² with Sherpa.

    ``model``: an expression (see the module) or a :class:`SpectralModel`; ``parameters``: start
    values / settings, e.g. ``{"ecut": 150, "gamma": {"value": 1.8, "min": 1, "max": 3}}``,
    ``{"ecut": {"value": 150, "frozen": True}}``; ``energy_range`` (E1, E2) (Quantities or keV);
    ``grouping`` a :class:`~oda_widgets.products.spectrum.Grouping` or ``{"min_snr": 3}`` /
    ``{"min_counts": 20}`` / energy edges; ``systematic`` a fractional systematic error replacing
    the product's SYS_ERR; ``flux_band`` (default: the fitted range); ``errors`` ``"covariance"``
    (fast, symmetric) or ``"confidence"`` (profile, asymmetric ``lower``/``upper``);
    ``flux_samples`` draws of the parameters from their covariance for the flux error
    (Sherpa's ``sample_flux``; ``seed`` makes them reproducible).
    """
    return fit_spectra(
        [spectrum],
        model,
        parameters=parameters,
        energy_range=energy_range,
        grouping=grouping,
        systematic=systematic,
        flux_band=flux_band,
        errors=errors,
        flux_samples=flux_samples,
        seed=seed,
    )


def fit_spectra(
    spectra,
    model: str | SpectralModel = "powerlaw",
    *,
    tie: Any = None,
    parameters: dict[str, Any] | None = None,
    energy_range: Any = None,
    grouping: Any = None,
    systematic: float | None = None,
    flux_band: Any = None,
    errors: str = "covariance",
    flux_samples: int = 300,
    seed: int = 0,
) -> SpectralFit:
    """Joint fit of several spectra with one model; each spectrum has its own copy of the
    parameters except those in ``tie`` (names as in :class:`SpectralModel`, or ``"shape"`` for all
    but the normalisations, ``"all"``), which are shared. Other arguments as :func:`fit_spectrum`;
    ``energy_range``/``grouping``/``systematic`` apply to every spectrum. Untied parameters are
    named ``name[source]`` in the result."""
    spectra = (
        list(spectra.spectra) if hasattr(spectra, "spectra") and not hasattr(spectra, "rate") else spectra
    )
    spectra = [spectra] if hasattr(spectra, "rate") else list(spectra)
    if not spectra:
        raise InvalidParameter("no spectrum to fit")
    if errors not in ("covariance", "confidence"):
        raise InvalidParameter(f"errors must be 'covariance' or 'confidence', got {errors!r}")
    base = model.copy() if isinstance(model, SpectralModel) else SpectralModel(str(model))
    for key, value in (parameters or {}).items():
        if isinstance(value, dict):
            base.set(key, **value)
        else:
            base.set(key, value)
    if energy_range is not None:
        energy_range = _energy_range(energy_range)
    tied = _tied_names(base, tie, len(spectra))
    sh = _sherpa()
    notes: list[str] = []
    sources = _unique([str(s.source) for s in spectra])
    with _captured_sherpa_log(notes):
        data_sets = []
        for s, name in zip(spectra, sources):
            data_sets.append(
                _data_set(s, name, grouping=grouping, systematic=systematic, energy_range=energy_range)
            )
        instances_per_set, sources_models, full_models = [], [], []
        for i, pha in enumerate(data_sets):
            expr, instances = _instantiate(base, "" if len(spectra) == 1 else f"[{sources[i]}]")
            if i > 0:
                for key in tied:
                    label, par = key.split(".", 1)
                    getattr(instances[label], par).link = getattr(instances_per_set[0][label], par)
            instances_per_set.append(instances)
            sources_models.append(expr)
            full_models.append(sh["Response1D"](pha)(expr))
        if len(data_sets) == 1:
            data, full = data_sets[0], full_models[0]
        else:
            data = sh["DataSimulFit"]("joint", data_sets)
            full = sh["SimulFitModel"]("joint", full_models)
        fit = sh["Fit"](data, full, sh["Chi2"](), sh["LevMar"](), sh["Covariance"]())
        _guess_norms(fit, base, instances_per_set, data_sets, full_models)
        n_free = len(full.thawedpars)
        n_bins = int(sum(len(p.get_dep(True)) for p in data_sets))
        if n_free == 0:
            raise FitFailed("every parameter is frozen: thaw at least one")
        if n_bins <= n_free:
            raise FitFailed(
                f"{n_bins} bins cannot constrain {n_free} free parameters: widen the energy range"
            )
        try:
            result = fit.fit()
            if n_free > 2:
                # LevMar alone can stop in a valley of correlated parameters (Γ against E_cut,
                # N_H against Γ); a simplex pass from there and LevMar again is Sherpa's usual cure
                # (a power law's Γ and norm need none)
                first = result.statval
                fit.method = sh["NelderMead"]()
                fit.fit()
                fit.method = sh["LevMar"]()
                result = fit.fit()
                if result.statval > first:
                    notes.append("the simplex pass did not improve the fit")
            else:
                # a restart costs a few evaluations and finishes LevMar's slow approach to a bound
                result = fit.fit()
        except Exception as exc:
            raise FitFailed(f"the fit failed: {exc}") from exc
        if not result.succeeded:
            notes.append(f"minimiser: {result.message}")
        # as XSPEC does, a parameter pegged at a bound is held there while the errors are computed
        # (the curvature at a bound means nothing and spoils the whole covariance matrix)
        pegged = [
            p
            for p in full.pars
            if not p.frozen
            and p.link is None
            and (np.isclose(p.val, p.min, rtol=1e-6, atol=1e-12) or np.isclose(p.val, p.max, rtol=1e-6))
        ]
        for p in pegged:
            p.frozen = True
            notes.append(f"{p.fullname} = {p.val:g} is at its bound: held there for the errors")
        free_pars = [p for p in full.pars if not p.frozen and p.link is None]
        best = [p.val for p in free_pars]
        covariance, cov_errors = None, {}
        try:
            cov = fit.est_errors()
            covariance = np.asarray(cov.extra_output, dtype=float)
            # σ from the matrix's diagonal: Sherpa leaves the interval empty when it crosses a
            # parameter's hard limit (a norm whose 1σ range reaches 0), the matrix still has it
            variances = np.diag(covariance)
            for pname, var in zip(cov.parnames, variances):
                if np.isfinite(var) and var > 0:
                    cov_errors[pname] = float(np.sqrt(var))
        except Exception as exc:
            notes.append(f"covariance: {exc}")
        conf_errors = {}
        if errors == "confidence":
            fit.estmethod = sh["Confidence"]()
            try:
                conf = fit.est_errors()
                conf_errors = {n: (lo, hi) for n, lo, hi in zip(conf.parnames, conf.parmins, conf.parmaxes)}
            except Exception as exc:
                notes.append(f"confidence: {exc}")
            fit.estmethod = sh["Covariance"]()
            for par, v in zip(free_pars, best):
                par.val = v
        band = _flux_band(flux_band, energy_range, data_sets)
        fluxes = {}
        rng = np.random.default_rng(seed)
        for pha, src, name in zip(data_sets, sources_models, sources):
            value = float(sh["calc_energy_flux"](pha, src, lo=band[0], hi=band[1]))
            error = np.nan
            if covariance is not None and flux_samples > 0:
                try:
                    draws = sh["sample_flux"](
                        fit,
                        pha,
                        src,
                        correlated=True,
                        num=int(flux_samples),
                        lo=band[0],
                        hi=band[1],
                        rng=rng,
                        # Sherpa would fork a process per core: not inside a notebook's kernel
                        numcores=1,
                    )
                    values = np.asarray(draws)[:, 0]
                    lo_q, hi_q = np.percentile(values[np.isfinite(values)], [15.865, 84.135])
                    error = float((hi_q - lo_q) / 2)
                except Exception as exc:
                    notes.append(f"flux error of {name}: {exc}")
                finally:
                    for par, v in zip(free_pars, best):
                        par.val = v
            fluxes[name] = (value * ENERGY_FLUX, error * ENERGY_FLUX)
        residuals = [_residuals(pha, fm, name) for pha, fm, name in zip(data_sets, full_models, sources)]
        if free_pars:
            fit.estmethod = sh["Covariance"]()
        for p in pegged:
            p.frozen = False
        out_params, names_of = _fit_parameters(
            base, instances_per_set, sources, tied, cov_errors, conf_errors, len(spectra) > 1
        )
        cov_names = [names_of[id(p)] for p in free_pars]
    used = energy_range or _noticed_range(data_sets)
    return SpectralFit(
        model=base,
        sources=sources,
        parameters=out_params,
        statistic=float(result.statval),
        dof=int(result.dof),
        n_bins=n_bins,
        energy_range=(used[0] * u.keV, used[1] * u.keV),
        flux_band=(band[0] * u.keV, band[1] * u.keV),
        fluxes=fluxes,
        covariance=covariance,
        covariance_names=cov_names,
        residuals=residuals,
        errors_method=errors,
        notes=notes,
    )


def _unique(names: list[str]) -> list[str]:
    out, seen = [], {}
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n}#{seen[n]}")
    return out


def _tied_names(model: SpectralModel, tie: Any, n: int) -> list[str]:
    if tie is None or n < 2:
        return []
    if tie == "all":
        return list(model.parameters)
    if tie == "shape":
        return [k for k in model.parameters if not k.endswith(".norm")]
    if isinstance(tie, str):
        tie = [tie]
    return [model.resolve(t) for t in tie]


def _group_edges(pha) -> tuple[np.ndarray, np.ndarray]:
    """Energy edges (keV) of the fitted bins: the noticed groups, or channels when ungrouped."""
    elo, ehi = pha._get_ebins(group=False)
    return pha.apply_filter(elo, pha._min), pha.apply_filter(ehi, pha._max)


def _noticed_range(data_sets) -> tuple[float, float]:
    edges = [_group_edges(pha) for pha in data_sets]
    return float(min(np.min(lo) for lo, _ in edges)), float(max(np.max(hi) for _, hi in edges))


def _flux_band(flux_band, energy_range, data_sets) -> tuple[float, float]:
    if flux_band is not None:
        return _energy_range(flux_band)
    if energy_range is not None:
        return energy_range
    return _noticed_range(data_sets)


def _residuals(pha, full_model, name) -> SpectrumResiduals:
    exposure = float(pha.exposure)
    counts = pha.get_dep(True)
    model_counts = pha.eval_model_to_fit(full_model)
    stat = pha.get_staterror(True)
    sys = pha.get_syserror(True)
    err = np.sqrt(stat**2 + (sys**2 if sys is not None else 0.0))
    lo, hi = _group_edges(pha)
    x, width = (lo + hi) / 2, hi - lo
    scale = 1.0 / (exposure * width)
    dens = u.ct / u.s / u.keV
    with np.errstate(divide="ignore", invalid="ignore"):
        chi = np.where(err > 0, (counts - model_counts) / err, np.nan)
    return SpectrumResiduals(
        source=name,
        energy=x * u.keV,
        half_width=width / 2 * u.keV,
        data=counts * scale * dens,
        error=err * scale * dens,
        model=model_counts * scale * dens,
        chi=chi,
    )


def _fit_parameters(model, instances_per_set, sources, tied, cov_errors, conf_errors, joint):
    out: dict[str, FitParameter] = {}
    names_of: dict[int, str] = {}
    for i, instances in enumerate(instances_per_set):
        for key, setting in model.parameters.items():
            label, pname = key.split(".", 1)
            par = getattr(instances[label], pname)
            shared = key in tied
            if i > 0 and shared:
                names_of[id(par)] = key
                continue
            name = key if (not joint or shared) else f"{key}[{sources[i]}]"
            names_of[id(par)] = name
            unit = setting.unit
            err = lower = upper = None
            if par.fullname in cov_errors and not par.frozen:
                err = cov_errors[par.fullname] * unit
            if par.fullname in conf_errors and not par.frozen:
                lo, hi = conf_errors[par.fullname]
                lower = None if lo is None else (par.val + lo) * unit
                upper = None if hi is None else (par.val + hi) * unit
                if lo is not None and hi is not None:
                    err = (hi - lo) / 2 * unit
            out[name] = FitParameter(
                name=name,
                value=par.val * unit,
                error=err,
                frozen=bool(par.frozen),
                min=par.min * unit,
                max=par.max * unit,
                source=None if (not joint or shared) else sources[i],
                lower=lower,
                upper=upper,
            )
    return out, names_of
