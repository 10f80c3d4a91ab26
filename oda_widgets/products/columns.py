"""Which columns of a table to plot against which: x, y, their errors and the upper-limit flags.

One rule for every table a workflow sends — an SED (``frequency``/``energy`` against ``nuFnu``
with ``nuFnu_err`` and ``upper_limit``), a flux spectrum, a light curve in a table — used by the
table view's default plot and by :class:`~oda_widgets.products.FluxSpectrum`. Names are matched
case-insensitively; units decide where names do not (a spectral unit is an x, a flux unit a y).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from astropy import units as u
from astropy.table import Table

__all__ = [
    "PlotColumns",
    "guess_plot_columns",
    "error_column",
    "upper_limit_column",
    "numeric_columns",
    "ValueColumn",
    "light_curve_values",
    "VALUE_KINDS",
]

# names of x columns, most telling first
_X_SPECTRAL = (
    "frequency",
    "freq",
    "nu",
    "energy",
    "e",
    "e_mean",
    "ene",
    "energ",
    "wavelength",
    "wave",
    "lambda",
)
_X_TIME = ("time", "mjd", "jd", "ijd", "tstart", "date", "t")
_Y_NAMES = (
    "nufnu",
    "nu_fnu",
    "vfv",
    "e2dnde",
    "eflux",
    "flux",
    "flux_density",
    "fnu",
    "f_nu",
    "dnde",
    "mag",
    "magnitude",
    "rate",
    "counts",
    "count_rate",
    "intensity",
    "value",
    "y",
)
_UL_NAMES = ("upper_limit", "upper_limits", "is_ul", "ul", "uplim", "is_upper_limit", "upperlimit", "lim")
# error-column spellings for a value column v (lower-case); {} is v
_ERR_PATTERNS = (
    "{}_err",
    "{}_error",
    "{}err",
    "{}_unc",
    "{}_sigma",
    "err_{}",
    "error_{}",
    "e_{}",
    "d{}",
    "sigma_{}",
    "{}_e",
)
_GENERIC_ERR = ("error", "err", "stat_err", "sigma", "dy", "uncertainty")
_SPECTRAL_UNITS = (u.keV, u.Hz, u.m)
_FLUX_UNITS = (
    u.erg / u.cm**2 / u.s,
    u.Jy,
    1 / (u.cm**2 * u.s * u.keV),
    u.ct / u.s,
    u.ct / u.s / u.keV,
    u.ph / u.cm**2 / u.s,
    u.mag,
)


@dataclass(frozen=True)
class PlotColumns:
    """Column names for an x/y plot (None where there is none): ``x``, ``y``, symmetric errors
    ``x_err``/``y_err``, asymmetric ``y_err_lo``/``y_err_hi``, bin edges ``x_lo``/``x_hi`` and
    ``upper_limit`` (a boolean column: the y value is an upper limit). ``log_x``/``log_y`` say
    whether a logarithmic axis suits the values (all positive, over more than two decades);
    ``invert_y`` is True for magnitudes."""

    x: str | None
    y: str | None
    x_err: str | None = None
    y_err: str | None = None
    y_err_lo: str | None = None
    y_err_hi: str | None = None
    x_lo: str | None = None
    x_hi: str | None = None
    upper_limit: str | None = None
    log_x: bool = False
    log_y: bool = False
    invert_y: bool = False


def _lower_map(names: Iterable[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for n in names:
        out.setdefault(n.lower(), n)
    return out


def numeric_columns(table: Table) -> list[str]:
    """Names of the columns holding one real number per row (not bool, not text, not vectors)."""
    out = []
    for name in table.colnames:
        col = table[name]
        kind = getattr(col, "dtype", np.dtype(object)).kind
        if kind in "iuf" and getattr(col, "ndim", 1) == 1:
            out.append(name)
    return out


def _unit(table: Table, name: str) -> u.UnitBase | None:
    unit = getattr(table[name], "unit", None)
    if unit is None:
        return None
    try:
        return u.Unit(unit)
    except (ValueError, TypeError):
        return None


def _is_spectral(unit: u.UnitBase | None) -> bool:
    if unit is None:
        return False
    return any(unit.is_equivalent(target, equivalencies=u.spectral()) for target in _SPECTRAL_UNITS)


def _is_flux(unit: u.UnitBase | None) -> bool:
    if unit is None:
        return False
    if unit.is_equivalent(u.mag) or unit == u.mag:
        return True
    equivalencies = u.spectral_density(1 * u.keV)
    return any(unit.is_equivalent(target, equivalencies=equivalencies) for target in _FLUX_UNITS)


def error_column(table: Table, value: str, exclude: Sequence[str] = (), generic: bool = True) -> str | None:
    """The column holding the error of ``value`` (``nuFnu_err``, ``err_flux``, ``e_mag``…), else
    None; with ``generic``, also an ``ERROR``-like column that names no value (the y error of
    OGIP light curves and spectra)."""
    lower = _lower_map(c for c in table.colnames if c not in exclude and c != value)
    v = value.lower()
    for pattern in _ERR_PATTERNS:
        name = lower.get(pattern.format(v))
        if name is not None and name in numeric_columns(table):
            return name
    for plain in _GENERIC_ERR if generic else ():
        name = lower.get(plain)
        if name is not None and name in numeric_columns(table):
            return name
    return None


def _asymmetric(table: Table, value: str) -> tuple[str | None, str | None]:
    lower = _lower_map(table.colnames)
    v = value.lower()
    for lo_s, hi_s in (
        ("_errn", "_errp"),
        ("_err_lo", "_err_hi"),
        ("_lo_err", "_hi_err"),
        ("_err_neg", "_err_pos"),
    ):
        lo, hi = lower.get(v + lo_s), lower.get(v + hi_s)
        if lo and hi:
            return lo, hi
    return None, None


def upper_limit_column(table: Table, value: str | None = None) -> str | None:
    """A boolean column flagging upper limits (``upper_limit``, ``is_ul``, ``<y>_ul``…), else None."""
    lower = _lower_map(table.colnames)
    candidates = list(_UL_NAMES)
    if value:
        candidates = [f"{value.lower()}_ul", f"ul_{value.lower()}", *candidates]
    for c in candidates:
        name = lower.get(c)
        if name is not None and getattr(table[name], "dtype", np.dtype(object)).kind in "bi":
            col = np.asarray(table[name])
            if col.dtype.kind == "b" or set(np.unique(col)) <= {0, 1}:
                return name
    return None


def _positive_span(values: np.ndarray, decades: float = 2.0) -> bool:
    """All finite values positive and spread over more than ``decades`` decades."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return bool(v.size >= 2 and np.all(v > 0) and v.max() / v.min() > 10**decades)


def _edges(table: Table, x: str) -> tuple[str | None, str | None]:
    lower = _lower_map(table.colnames)
    x_l = x.lower()
    pairs = [
        (f"{x_l}_lo", f"{x_l}_hi"),
        (f"{x_l}_min", f"{x_l}_max"),
        (f"{x_l}_low", f"{x_l}_high"),
        ("e_min", "e_max"),
        ("energ_lo", "energ_hi"),
        ("emin", "emax"),
    ]
    for lo, hi in pairs:
        if lo in lower and hi in lower:
            return lower[lo], lower[hi]
    return None, None


def guess_plot_columns(table: Table, *, x: str | None = None, y: str | None = None) -> PlotColumns:
    """The columns to plot by default (``x``/``y`` fix either): a spectral column (energy,
    frequency, wavelength) or a time column against a flux-like column, with their errors,
    bin edges and upper limits; else the first two numeric columns."""
    numeric = numeric_columns(table)
    lower = _lower_map(numeric)
    used: set[str] = set()
    edges = {lo for pair in (("e_min", "e_max"), ("energ_lo", "energ_hi")) for lo in pair}
    if x is None:
        for name in _X_SPECTRAL + _X_TIME:
            if name in lower:
                x = lower[name]
                break
        else:
            x = next((n for n in numeric if _is_spectral(_unit(table, n)) and n.lower() not in edges), None)
    if x is not None:
        used.add(x)
    if y is None:
        for name in _Y_NAMES:
            if name in lower and lower[name] not in used:
                y = lower[name]
                break
        else:
            y = next((n for n in numeric if n not in used and _is_flux(_unit(table, n))), None)
    errors = set()
    for col in (x, y):
        if col is not None:
            e = error_column(table, col, exclude=[c for c in (x, y) if c], generic=col == y)
            if e is not None:
                errors.add(e)
    rest = [
        n for n in numeric if n not in used and n not in errors and not re.search(r"err|unc|sigma", n, re.I)
    ]
    if x is None and rest:
        x = rest.pop(0)
    if y is None:
        y = next((n for n in rest if n != x), None)
    if x is None or y is None:
        return PlotColumns(x, y)
    x_err = error_column(table, x, exclude=[y], generic=False)
    y_err = error_column(table, y, exclude=[x, *(c for c in (x_err,) if c)])
    y_lo, y_hi = _asymmetric(table, y)
    x_lo, x_hi = _edges(table, x)
    ul = upper_limit_column(table, y)
    y_unit = _unit(table, y)
    is_mag = y.lower() in ("mag", "magnitude") or (y_unit is not None and y_unit == u.mag)
    log_x = _positive_span(np.asarray(table[x], dtype=float))
    # a spectrum or an SED is read on log-log axes even when the flux spans little
    spectral = log_x and (_is_spectral(_unit(table, x)) or x.lower() in _X_SPECTRAL)
    log_y = not is_mag and _positive_span(np.asarray(table[y], dtype=float), 0.0 if spectral else 2.0)
    return PlotColumns(
        x=x,
        y=y,
        x_err=x_err,
        y_err=y_err,
        y_err_lo=y_lo,
        y_err_hi=y_hi,
        x_lo=x_lo,
        x_hi=x_hi,
        upper_limit=ul,
        log_x=log_x,
        log_y=log_y,
        invert_y=is_mag,
    )


#: the value columns of a light curve, by the quantity they hold (oda_api's
#: ``LightCurveDataProduct`` writes one of these four; OGIP light curves have RATE or COUNTS)
VALUE_KINDS = {"RATE": "rate", "COUNTS": "counts", "FLUX": "flux", "MAG": "magnitude"}
_VALUE = re.compile(
    r"^(?:(?P<pre>[A-Za-z0-9]+)_)?(?P<kind>RATE|COUNTS|FLUX|MAG)(?:_?(?P<post>[A-Za-z0-9]+))?$", re.I
)
# columns of a light-curve table that are never its values
_NOT_VALUES = re.compile(
    r"^(TIME|TIMEDEL|XAX_E|FRACEXP|DEADC|BARYTIME|ERROR|ERR|STAT_ERR|SYS_ERR|QUALITY|"
    r"B(RATE|ERROR)|BACKV|BACKE|EXPOSURE|FLAG|MJD|JD|BJD|HJD|.*_ERR(OR)?|ERR(OR)?_.*|E_.*)$",
    re.I,
)


@dataclass(frozen=True)
class ValueColumn:
    """One curve of a light-curve table: its ``name``, its ``error`` column (or None), the
    quantity it holds (``kind``: ``rate``, ``counts``, ``flux``, ``magnitude`` or ``value``)."""

    name: str
    error: str | None
    kind: str

    @property
    def is_magnitude(self) -> bool:
        return self.kind == "magnitude"


def _kind_of_unit(unit: u.UnitBase | None) -> str:
    if unit is None:
        return "value"
    if unit == u.mag:
        return "magnitude"
    if unit.is_equivalent(u.ct / u.s):
        return "rate"
    if unit.is_equivalent(u.ct):
        return "counts"
    return "flux" if _is_flux(unit) else "value"


def light_curve_values(table: Table, time: str | None = None) -> list[ValueColumn]:
    """The value columns of a light-curve table, in table order: RATE, COUNTS, FLUX, MAG (also
    banded, ``FLUX_B``/``MAG_V``/``RATE2``), each with its error (``ERROR`` for the first, else
    ``<name>_ERR``, ``ERR_<name>``…). Without those names, numeric columns whose unit is a rate,
    a flux or a magnitude. Background (``BRATE``) and bookkeeping columns are never values."""
    numeric = [n for n in numeric_columns(table) if n != time]
    named = [n for n in numeric if _VALUE.match(n) and not _NOT_VALUES.match(n)]
    if not named:
        named = [n for n in numeric if not _NOT_VALUES.match(n) and _is_flux(_unit(table, n))]
    out = []
    for i, name in enumerate(named):
        m = _VALUE.match(name)
        kind = VALUE_KINDS[m.group("kind").upper()] if m else _kind_of_unit(_unit(table, name))
        others = [n for n in named if n != name]
        error = error_column(table, name, exclude=others, generic=i == 0)
        out.append(ValueColumn(name, error, kind))
    return out
