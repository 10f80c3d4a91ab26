"""Light-curve statistics (numpy/scipy/astropy only, no widgets): what a quick look asks of a curve.

Works on anything shaped like :class:`oda_widgets.products.LightCurve` (``seconds`` since a
``reference`` Time — or a per-bin ``time`` —, the plotted values and their errors as
:func:`~oda_widgets.products.curve_arrays.values_of` reads them (count/s, or a flux), ``timedel``,
optional ``valid``/``fracexp``), including the :class:`~oda_widgets.products.rebin.BinnedLightCurve`
that ``rebin`` makes. Only valid bins count (:func:`~oda_widgets.products.rebin.valid_mask`). Times
are float64 seconds inside and astropy ``Time`` only in the results, so 10^7 bins need no per-bin
``Time``. Every function takes ``systematic``, a fraction of the value added in quadrature to each
bin's error: σ² = ERROR² + (systematic · RATE)².

* :func:`fit_constant` — weighted mean, χ², p-value (is the source variable?);
* :func:`fit_linear` — weighted straight line: slope with error, χ², covariance;
* :func:`fractional_variability` — F_var and the normalised excess variance with their errors
  (Vaughan et al. 2003, MNRAS 345, 1271, eqs. 8, 10, 11 and B2);
* :func:`find_excesses` — bins above N σ over a baseline (the mean, the median, or a fitted
  model), contiguous bins merged into excesses with start/stop/peak as astropy Time;
* :func:`hardness_ratio` — two bands of one source on a common time grid.

Results are dataclasses of astropy objects with ``to_table()``; nothing is printed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from astropy import units as u
from astropy.table import QTable
from astropy.time import Time, TimeDelta

from oda_widgets.errors import InvalidParameter
from oda_widgets.products.curve_arrays import seconds_and_reference, values_of
from oda_widgets.products.rebin import _per_bin, exposure_of, seconds_since, valid_mask

__all__ = [
    "mean_rate",
    "ConstantFit",
    "fit_constant",
    "chi2_constant",
    "LinearFit",
    "fit_linear",
    "FractionalVariability",
    "fractional_variability",
    "Excess",
    "ExcessSearch",
    "find_excesses",
    "HardnessRatio",
    "hardness_ratio",
]

#: Bins summed per step by the weighted mean and χ²: bounded temporaries whatever the curve's length.
_CHUNK = 1 << 18


def _chi2_sf(dof: int, chi2: float) -> float:
    # chdtrc(k, x) is the χ² survival function; scipy.special imports in a fraction of scipy.stats' time
    from scipy.special import chdtrc

    return float(chdtrc(dof, chi2)) if dof > 0 else float("nan")


def _check_systematic(systematic: float) -> float:
    try:
        f = float(systematic)
    except (TypeError, ValueError) as exc:
        raise InvalidParameter(f"systematic must be a fraction (e.g. 0.02), got {systematic!r}") from exc
    if not (np.isfinite(f) and 0 <= f < 1):
        raise InvalidParameter(f"systematic must be a fraction in [0, 1), got {systematic!r}")
    return f


def _valid_arrays(lc: Any, systematic: float = 0.0, minimum: int = 1):
    """(indices, values, total errors, unit) of the valid bins, values and errors as float64."""
    f = _check_systematic(systematic)
    idx = np.flatnonzero(valid_mask(lc))
    if idx.size < minimum:
        raise InvalidParameter(f"the light curve has {idx.size} valid bin(s); this needs at least {minimum}")
    values, errors, unit = values_of(lc)
    rate = values[idx].astype(np.float64)
    err = errors[idx].astype(np.float64)
    if f:
        err = np.sqrt(err**2 + (f * rate) ** 2)
    return idx, rate, err, unit


def _valid_seconds(lc: Any, idx: np.ndarray) -> tuple[np.ndarray, Time]:
    """Seconds of the bins ``idx`` since the curve's reference, and that reference."""
    sec, ref = seconds_and_reference(lc)
    return np.asarray(sec[idx], dtype=np.float64), ref


def _chunks(lc: Any, systematic: float) -> tuple[Iterator[tuple[np.ndarray, np.ndarray]], int, Any]:
    """The valid values and total errors as float64 pieces of ``_CHUNK`` bins (no full-length copy)."""
    f = _check_systematic(systematic)
    ok = valid_mask(lc)
    values, errors, unit = values_of(lc)
    if not ok.all():
        values, errors = values[ok], errors[ok]

    def pieces() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for i in range(0, values.size, _CHUNK):
            r = values[i : i + _CHUNK].astype(np.float64)
            e = errors[i : i + _CHUNK].astype(np.float64)
            yield r, (np.sqrt(e * e + (f * r) ** 2) if f else e)

    return pieces(), int(values.size), unit


def _weighted_mean(lc: Any, systematic: float) -> tuple[float, float, int, Any]:
    """(Σw·x / Σw, Σw, n, unit) over the valid bins, w = 1/σ², float64 accumulation in chunks."""
    pieces, n, unit = _chunks(lc, systematic)
    if n == 0:
        raise InvalidParameter("the light curve has no valid bins")
    sw = swr = 0.0
    for r, e in pieces:
        w = 1.0 / (e * e)
        sw += float(w.sum())
        swr += float(np.dot(w, r))
    return swr / sw, sw, n, unit


def mean_rate(lc: Any, *, systematic: float = 0.0) -> tuple[u.Quantity, u.Quantity]:
    """Inverse-variance weighted mean rate of the valid bins and its 1σ error, as Quantities."""
    mean, sw, _, unit = _weighted_mean(lc, systematic)
    return mean * unit, np.sqrt(1.0 / sw) * unit


# ------------------------------------------------------------------------------------------------
# Constant and linear fits


@dataclass(frozen=True)
class ConstantFit:
    """Fit of a constant rate: χ², degrees of freedom, p-value (chance of a χ² this large), mean rate."""

    chi2: float
    dof: int
    p_value: float
    mean: u.Quantity
    mean_error: u.Quantity
    systematic: float = 0.0

    @property
    def reduced_chi2(self) -> float:
        return self.chi2 / self.dof if self.dof > 0 else float("nan")

    def model(self, time: Time) -> u.Quantity:
        """The fitted rate at ``time`` (a constant)."""
        return np.full(np.shape(time.jd), self.mean.value) * self.mean.unit

    def to_table(self) -> QTable:
        return QTable(
            {
                "parameter": ["mean"],
                "value": u.Quantity([self.mean]),
                "error": u.Quantity([self.mean_error]),
            },
            meta={"chi2": self.chi2, "dof": self.dof, "p_value": self.p_value, "systematic": self.systematic},
        )

    def __str__(self) -> str:
        return (
            f"constant {self.mean:.4g} ± {self.mean_error.value:.2g}: "
            f"χ²/dof = {self.chi2:.1f}/{self.dof}, p = {self.p_value:.3g}"
        )


def fit_constant(lc: Any, *, systematic: float = 0.0) -> ConstantFit:
    """χ² of the valid bins against their weighted mean (is the source variable?).

    Two passes in chunks with float64 accumulation: memory stays bounded for 10^7 bins.
    """
    mean, sw, n, unit = _weighted_mean(lc, systematic)
    pieces, _, _ = _chunks(lc, systematic)
    c2 = 0.0
    for r, e in pieces:
        d = (r - mean) / e
        c2 += float(np.dot(d, d))
    dof = n - 1
    return ConstantFit(
        chi2=c2,
        dof=dof,
        p_value=_chi2_sf(dof, c2),
        mean=mean * unit,
        mean_error=np.sqrt(1.0 / sw) * unit,
        systematic=float(systematic),
    )


#: The name the light-curve view has always used for :func:`fit_constant`.
chi2_constant = fit_constant


@dataclass(frozen=True)
class LinearFit:
    """Weighted straight line rate(t) = intercept + slope · (t − reference).

    ``slope`` in count/s per second (``fit.slope.to(u.ct / u.s / u.d)`` for per day), ``intercept``
    the rate at ``reference`` (the weighted mean time, where the two are uncorrelated),
    ``covariance`` of (intercept [count/s], slope [count/s²]).
    """

    slope: u.Quantity
    slope_error: u.Quantity
    intercept: u.Quantity
    intercept_error: u.Quantity
    reference: Time
    chi2: float
    dof: int
    p_value: float
    covariance: np.ndarray
    systematic: float = 0.0

    @property
    def reduced_chi2(self) -> float:
        return self.chi2 / self.dof if self.dof > 0 else float("nan")

    def model(self, time: Time) -> u.Quantity:
        """The fitted rate at ``time``."""
        return self._at(seconds_since(time, self.reference))

    def _at(self, seconds: np.ndarray) -> u.Quantity:
        # the line at seconds since its reference
        unit = self.intercept.unit
        return (self.intercept.value + self.slope.to_value(unit / u.s) * seconds) * unit

    def to_table(self) -> QTable:
        return QTable(
            {
                "parameter": ["intercept", "slope"],
                "value": [self.intercept.to_string(), self.slope.to_string()],
                "error": [self.intercept_error.to_string(), self.slope_error.to_string()],
            },
            meta={
                "reference": self.reference.isot,
                "chi2": self.chi2,
                "dof": self.dof,
                "p_value": self.p_value,
                "systematic": self.systematic,
            },
        )

    def __str__(self) -> str:
        unit = self.intercept.unit
        per_day = self.slope.to(unit / u.d)
        err = self.slope_error.to_value(unit / u.d)
        return (
            f"linear: slope {per_day.value:.4g} ± {err:.2g} {unit:unicode} per day, rate at "
            f"{self.reference.isot[:19]} {self.intercept.value:.4g} ± {self.intercept_error.value:.2g} "
            f"{unit:unicode}: "
            f"χ²/dof = {self.chi2:.1f}/{self.dof}, p = {self.p_value:.3g}"
        )


def fit_linear(lc: Any, *, systematic: float = 0.0) -> LinearFit:
    """Weighted least-squares line through the valid bins (needs at least 3)."""
    idx, rate, err, unit = _valid_arrays(lc, systematic, minimum=3)
    sec, ref = _valid_seconds(lc, idx)
    w = 1.0 / err**2
    tref = float(np.sum(w * sec) / np.sum(w))
    x = sec - tref
    # normal equations of the weighted fit; x is centred so the matrix is nearly diagonal
    a = np.array([[np.sum(w), np.sum(w * x)], [np.sum(w * x), np.sum(w * x * x)]])
    b = np.array([np.sum(w * rate), np.sum(w * x * rate)])
    if np.linalg.cond(a) > 1e14:
        raise InvalidParameter("the light curve's valid bins all have the same time: no slope to fit")
    cov = np.linalg.inv(a)
    intercept, slope = cov @ b
    resid = rate - (intercept + slope * x)
    c2 = float(np.sum(w * resid**2))
    dof = rate.size - 2
    return LinearFit(
        slope=slope * unit / u.s,
        slope_error=np.sqrt(cov[1, 1]) * unit / u.s,
        intercept=intercept * unit,
        intercept_error=np.sqrt(cov[0, 0]) * unit,
        reference=ref + TimeDelta(tref * u.s),
        chi2=c2,
        dof=dof,
        p_value=_chi2_sf(dof, c2),
        covariance=cov,
        systematic=float(systematic),
    )


# ------------------------------------------------------------------------------------------------
# Fractional variability


@dataclass(frozen=True)
class FractionalVariability:
    """Vaughan et al. (2003): ``f_var`` = √((S² − ⟨σ²⟩)/x̄²) and its error; the normalised excess
    variance ``nxs`` = (S² − ⟨σ²⟩)/x̄² and its error. When S² < ⟨σ²⟩ (no variability beyond the
    errors) ``f_var`` is NaN and ``nxs`` negative; ``f_var_upper_limit`` then gives √(nxs + 2·err)."""

    f_var: float
    f_var_error: float
    nxs: float
    nxs_error: float
    mean: u.Quantity
    n_bins: int
    systematic: float = 0.0

    @property
    def f_var_upper_limit(self) -> float:
        bound = self.nxs + 2 * self.nxs_error
        return float(np.sqrt(bound)) if bound > 0 else 0.0

    def to_table(self) -> QTable:
        return QTable(
            {
                "quantity": ["F_var", "sigma2_NXS"],
                "value": [self.f_var, self.nxs],
                "error": [self.f_var_error, self.nxs_error],
            },
            meta={"mean_rate": self.mean.to_string(), "n_bins": self.n_bins, "systematic": self.systematic},
        )

    def __str__(self) -> str:
        if np.isfinite(self.f_var):
            return f"F_var = {self.f_var:.3g} ± {self.f_var_error:.2g} ({self.n_bins} bins)"
        return f"F_var: no excess variance (σ²_NXS = {self.nxs:.2g} ± {self.nxs_error:.2g}; F_var < {self.f_var_upper_limit:.2g})"


def fractional_variability(lc: Any, *, systematic: float = 0.0) -> FractionalVariability:
    """F_var of the valid bins with its error (Vaughan et al. 2003), needs at least 2 bins."""
    _, rate, err, unit = _valid_arrays(lc, systematic, minimum=2)
    n = rate.size
    mean = float(np.mean(rate))
    if mean == 0:
        raise InvalidParameter("the mean rate is 0: the fractional variability is undefined")
    s2 = float(np.var(rate, ddof=1))
    mse = float(np.mean(err**2))
    nxs = (s2 - mse) / mean**2
    f_var = float(np.sqrt(nxs)) if nxs > 0 else float("nan")
    # eq. 11 (σ²_NXS) and B2 (F_var)
    term1 = np.sqrt(2.0 / n) * mse / mean**2
    term2 = np.sqrt(mse / n) / mean
    if np.isfinite(f_var):
        nxs_err = float(np.sqrt(term1**2 + (term2 * 2 * f_var) ** 2))
        f_err = float(np.sqrt((np.sqrt(1.0 / (2 * n)) * mse / (mean**2 * f_var)) ** 2 + term2**2))
    else:
        nxs_err = float(term1)
        f_err = float("nan")
    return FractionalVariability(
        f_var=f_var,
        f_var_error=f_err,
        nxs=float(nxs),
        nxs_error=nxs_err,
        mean=mean * unit,
        n_bins=n,
        systematic=float(systematic),
    )


# ------------------------------------------------------------------------------------------------
# Excesses


@dataclass(frozen=True)
class Excess:
    """Contiguous bins above the threshold: ``start``/``stop`` (bin edges) and ``peak_time`` as
    Time, ``peak_rate`` and ``peak_significance`` (σ over the baseline at the peak bin),
    ``significance`` of the whole excess (Σ excess counts / √Σ variance), ``counts`` above the
    baseline, ``n_bins``; ``indices`` of the bins in the light curve."""

    start: Time
    stop: Time
    peak_time: Time
    peak_rate: u.Quantity
    peak_significance: float
    significance: float
    counts: u.Quantity
    n_bins: int
    indices: np.ndarray

    @property
    def duration(self) -> u.Quantity:
        return (self.stop - self.start).to(u.s)

    def __str__(self) -> str:
        return (
            f"excess {self.start.isot[:23]} – {self.stop.isot[:23]} ({self.duration:.4g}): peak "
            f"{self.peak_rate:.4g} at {self.peak_time.isot[:23]}, {self.peak_significance:.1f} σ"
        )


@dataclass(frozen=True)
class ExcessSearch:
    """What :func:`find_excesses` found: ``excesses`` (in time order), the ``threshold`` (σ),
    the ``baseline`` used (``"mean"``, ``"median"``, ``"constant"``, ``"linear"``) and its rate per
    bin (``baseline_rate``, count/s, NaN for invalid bins)."""

    excesses: list[Excess]
    threshold: float
    baseline: str
    baseline_rate: u.Quantity
    systematic: float = 0.0

    def __len__(self) -> int:
        return len(self.excesses)

    def __iter__(self) -> Iterator[Excess]:
        return iter(self.excesses)

    def __getitem__(self, i: int) -> Excess:
        return self.excesses[i]

    def to_table(self) -> QTable:
        """One row per excess: start, stop, peak_time (Time), duration, peak_rate, counts
        (Quantities), peak_significance, significance, n_bins."""
        ex = self.excesses
        if not ex:
            return QTable(
                names=(
                    "start",
                    "stop",
                    "peak_time",
                    "duration",
                    "peak_rate",
                    "peak_significance",
                    "significance",
                    "counts",
                    "n_bins",
                ),
                meta={"threshold": self.threshold, "baseline": self.baseline},
            )
        return QTable(
            {
                "start": Time([e.start for e in ex]),
                "stop": Time([e.stop for e in ex]),
                "peak_time": Time([e.peak_time for e in ex]),
                "duration": u.Quantity([e.duration for e in ex]),
                "peak_rate": u.Quantity([e.peak_rate for e in ex]),
                "peak_significance": [e.peak_significance for e in ex],
                "significance": [e.significance for e in ex],
                "counts": u.Quantity([e.counts for e in ex]),
                "n_bins": [e.n_bins for e in ex],
            },
            meta={"threshold": self.threshold, "baseline": self.baseline, "systematic": self.systematic},
        )


def find_excesses(
    lc: Any,
    *,
    threshold: float = 5.0,
    baseline: Any = "mean",
    systematic: float = 0.0,
    max_gap: int = 0,
) -> ExcessSearch:
    """Bins whose rate exceeds the baseline by more than ``threshold`` σ, merged into excesses.

    ``baseline``: ``"mean"`` (weighted mean), ``"median"`` (robust when bursts are long),
    ``"linear"`` (a :func:`fit_linear` line), or a fit result with a ``model(time)`` method
    (:class:`ConstantFit`, :class:`LinearFit`). Neighbouring valid bins above the threshold form
    one excess; ``max_gap`` lets that many bins below it sit inside one excess. Bins separated by a
    gap in time (more than a bin width) are never merged.
    """
    try:
        threshold = float(threshold)
    except (TypeError, ValueError) as exc:
        raise InvalidParameter(f"threshold must be a number of σ, got {threshold!r}") from exc
    if not (np.isfinite(threshold) and threshold > 0):
        raise InvalidParameter(f"threshold must be a positive number of σ, got {threshold!r}")
    if int(max_gap) < 0:
        raise InvalidParameter(f"max_gap must be ≥ 0, got {max_gap!r}")
    idx, rate, err, unit = _valid_arrays(lc, systematic)
    sec, ref = _valid_seconds(lc, idx)

    def line(fit: LinearFit) -> np.ndarray:
        shift = float((ref - fit.reference).to_value(u.s))
        return np.asarray(fit._at(sec + shift).to_value(unit), dtype=float)

    if isinstance(baseline, str):
        name = baseline
        if baseline == "mean":
            base = np.full(rate.size, mean_rate(lc, systematic=systematic)[0].to_value(unit))
        elif baseline == "median":
            base = np.full(rate.size, float(np.median(rate)))
        elif baseline == "linear":
            base = line(fit_linear(lc, systematic=systematic))
        elif baseline == "constant":
            base = np.full(rate.size, fit_constant(lc, systematic=systematic).mean.to_value(unit))
        else:
            raise InvalidParameter(
                f"baseline must be 'mean', 'median', 'constant', 'linear' or a fit result, got {baseline!r}"
            )
    elif isinstance(baseline, LinearFit):
        name, base = "linear", line(baseline)
    elif isinstance(baseline, ConstantFit):
        name, base = "constant", np.full(rate.size, baseline.mean.to_value(unit))
    elif hasattr(baseline, "model"):
        # another model: evaluated at the valid bins' times (the one place Time is built per bin)
        name = type(baseline).__name__
        times = ref + TimeDelta(sec, format="sec")
        base = np.asarray(u.Quantity(baseline.model(times)).to_value(unit), dtype=float)
    else:
        raise InvalidParameter(f"baseline must be a name or a fit result with model(time), got {baseline!r}")
    sig = (rate - base) / err
    above = sig > threshold
    n = len(valid_mask(lc))
    timedel = _per_bin(lc.timedel, n, u.s)[idx]
    exposure = exposure_of(lc).to_value(u.s)[idx]
    hits = np.flatnonzero(above)
    groups: list[list[int]] = []
    for k in hits:
        if groups:
            last = groups[-1][-1]
            adjacent_time = sec[k] - sec[last] <= (k - last) * max(timedel[k], timedel[last]) * 1.001
            if k - last - 1 <= int(max_gap) and adjacent_time:
                groups[-1].append(k)
                continue
        groups.append([k])
    excesses = []
    for g in groups:
        ks = np.arange(g[0], g[-1] + 1)
        peak = g[int(np.argmax(sig[g]))]
        excess_counts = float(np.sum((rate[ks] - base[ks]) * exposure[ks]))
        variance = float(np.sum((err[ks] * exposure[ks]) ** 2))
        start = ref + TimeDelta((sec[ks[0]] - timedel[ks[0]] / 2) * u.s)
        stop = ref + TimeDelta((sec[ks[-1]] + timedel[ks[-1]] / 2) * u.s)
        excesses.append(
            Excess(
                start=start,
                stop=stop,
                peak_time=ref + TimeDelta(sec[peak] * u.s),
                peak_rate=rate[peak] * unit,
                peak_significance=float(sig[peak]),
                significance=excess_counts / np.sqrt(variance) if variance > 0 else float("nan"),
                counts=excess_counts * unit * u.s,  # counts for a count rate, a fluence for a flux
                n_bins=int(ks.size),
                indices=idx[ks],
            )
        )
    full_base = np.full(n, np.nan)
    full_base[idx] = base
    return ExcessSearch(
        excesses=excesses,
        threshold=threshold,
        baseline=name,
        baseline_rate=full_base * unit,
        systematic=float(systematic),
    )


# ------------------------------------------------------------------------------------------------
# Hardness ratio


@dataclass(frozen=True)
class HardnessRatio:
    """Hardness of one source from two bands on a common time grid: ``time`` (Time), ``ratio`` and
    ``error`` (dimensionless), the matched ``soft``/``hard`` rates and errors (count/s), the
    ``definition`` (``"(H-S)/(H+S)"`` or ``"H/S"``) and the bands (keV, when the curves say)."""

    time: Time
    ratio: np.ndarray
    error: np.ndarray
    soft: u.Quantity
    soft_error: u.Quantity
    hard: u.Quantity
    hard_error: u.Quantity
    definition: str
    soft_band: tuple | None = None
    hard_band: tuple | None = None

    def __len__(self) -> int:
        return len(self.ratio)

    def to_table(self) -> QTable:
        return QTable(
            {
                "time": self.time,
                "ratio": self.ratio,
                "error": self.error,
                "soft": self.soft,
                "soft_error": self.soft_error,
                "hard": self.hard,
                "hard_error": self.hard_error,
            },
            meta={"definition": self.definition, "soft_band": self.soft_band, "hard_band": self.hard_band},
        )


def hardness_ratio(
    soft: Any, hard: Any, *, definition: str = "(H-S)/(H+S)", systematic: float = 0.0
) -> HardnessRatio:
    """Hardness ratio of two light curves of one source in two bands (e.g. ISGRI 20–40 and
    40–100 keV). Bins are paired by time: a soft and a hard bin whose centres differ by less than a
    quarter of the smaller bin width form one point, so curves made with the same time bin over the
    same science windows pair up bin by bin (rebin one first if the grids differ). ``definition``
    ``"(H-S)/(H+S)"`` or ``"H/S"``; errors propagated to first order."""
    if definition not in ("(H-S)/(H+S)", "H/S"):
        raise InvalidParameter(f"definition must be '(H-S)/(H+S)' or 'H/S', got {definition!r}")
    i_s, r_s, e_s, unit_s = _valid_arrays(soft, systematic)
    i_h, r_h, e_h, unit_h = _valid_arrays(hard, systematic)
    try:
        r_h, e_h = (r_h * unit_h).to_value(unit_s), (e_h * unit_h).to_value(unit_s)
    except u.UnitConversionError:
        raise InvalidParameter(
            f"the two light curves are in units that do not compare ({unit_s} and {unit_h})"
        ) from None
    sec_s, ref = _valid_seconds(soft, i_s)
    sec_h, ref_h = _valid_seconds(hard, i_h)
    sec_h = sec_h + float((ref_h - ref).to_value(u.s))
    width = min(
        float(np.min(_per_bin(soft.timedel, len(valid_mask(soft)), u.s))),
        float(np.min(_per_bin(hard.timedel, len(valid_mask(hard)), u.s))),
    )
    pos = np.clip(np.searchsorted(sec_s, sec_h), 1, max(sec_s.size - 1, 1))
    left = np.clip(pos - 1, 0, sec_s.size - 1)
    right = np.clip(pos, 0, sec_s.size - 1)
    nearest = np.where(np.abs(sec_s[left] - sec_h) <= np.abs(sec_s[right] - sec_h), left, right)
    match = np.abs(sec_s[nearest] - sec_h) < width / 4
    if not match.any():
        raise InvalidParameter(
            "the two light curves have no bins at common times: request both with the same time bin "
            "and time range (or rebin one onto the other's grid)"
        )
    js, jh = nearest[match], np.flatnonzero(match)
    s, ds, h, dh = r_s[js], e_s[js], r_h[jh], e_h[jh]
    with np.errstate(divide="ignore", invalid="ignore"):
        if definition == "H/S":
            ratio = h / s
            error = np.abs(ratio) * np.sqrt((dh / h) ** 2 + (ds / s) ** 2)
        else:
            total = h + s
            ratio = (h - s) / total
            error = 2.0 / total**2 * np.sqrt((s * dh) ** 2 + (h * ds) ** 2)

    def band(lc):
        lo, hi = getattr(lc, "e_min", None), getattr(lc, "e_max", None)
        return None if lo is None or hi is None else (u.Quantity(lo, u.keV), u.Quantity(hi, u.keV))

    return HardnessRatio(
        time=ref + TimeDelta(sec_h[jh], format="sec"),
        ratio=ratio,
        error=error,
        soft=s * unit_s,
        soft_error=ds * unit_s,
        hard=h * unit_s,
        hard_error=dh * unit_s,
        definition=definition,
        soft_band=band(soft),
        hard_band=band(hard),
    )
