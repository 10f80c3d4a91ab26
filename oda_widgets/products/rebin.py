"""Rebinning of light curves (model code: numpy/astropy only, no widgets).

Works on anything shaped like :class:`oda_widgets.products.LightCurve`: ``time`` (astropy ``Time``,
bin centres), ``rate``/``error`` (``Quantity``, count/s), ``timedel`` (``Quantity``, full bin width,
scalar or per bin), optionally ``fracexp`` (fractional exposure per bin) and ``valid`` (bins MMODA
shows). The result of :func:`rebin` is a :class:`BinnedLightCurve`, which has the same attributes,
so it can be rebinned again, plotted by ``LightCurveView`` or written with ``save``.

Counts are summed, not rates averaged: the exposure of a bin is ``FRACEXP × TIMEDEL`` (``TIMEDEL``
alone when there is no fractional exposure), ``counts = rate × exposure``, the new rate is
``Σ counts / Σ exposure`` and its error ``sqrt(Σ (error × exposure)²) / Σ exposure``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from astropy import units as u
from astropy.io import fits
from astropy.time import Time, TimeDelta

from ..errors import InvalidParameter
from .curve_arrays import seconds_and_reference, seconds_since, valid_mask, values_of
from .light_curve import IJD_MJDREF

# IJD 0 = MJD 51544.0 TT (PROTOCOL §5.6): the light-curve model's constant, as an instant here
IJD_ZERO = Time(IJD_MJDREF, format="mjd", scale="tt")


def _per_bin(value: Any, n: int, unit: u.Unit | None = None) -> np.ndarray:
    """``value`` (scalar or length-n, Quantity or plain) as a float64 array of length n."""
    if isinstance(value, u.Quantity):
        value = value.to_value(unit) if unit is not None else value.value
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        # read-only broadcast: a constant costs no memory per bin
        return np.broadcast_to(arr, (n,))
    if arr.shape != (n,):
        raise InvalidParameter(f"expected one value per bin ({n}), got shape {arr.shape}")
    return arr


#: The time axes a light curve can be drawn against.
TIME_AXES = ("IJD", "MJD", "UTC", "seconds")


def _axis_offset_days(reference: Time, axis: str) -> float:
    """``reference`` in the axis' day count (IJD or MJD, TT)."""
    ijd = (reference - IJD_ZERO).to_value(u.d)
    return ijd + (IJD_MJDREF if axis == "MJD" else 0.0)


def seconds_to_axis(sec: Any, reference: Time, axis: str) -> np.ndarray:
    """Seconds since ``reference`` as values of a time axis: IJD or MJD days (TT), UTC
    ``datetime64[us]``, or the seconds themselves."""
    sec = np.asarray(sec, dtype=float)
    if axis == "seconds":
        return sec
    if axis == "UTC":
        # one offset from the reference: a leap second inside the curve would shift later values
        # by 1 s, far below what a date axis shows
        ref = np.datetime64(reference.utc.isot, "us")
        return ref + np.round(sec * 1e6).astype("timedelta64[us]")
    if axis not in TIME_AXES:
        raise InvalidParameter(f"time axis must be one of {TIME_AXES}, got {axis!r}")
    return _axis_offset_days(reference, axis) + sec / 86400.0


def axis_to_seconds(value: Any, reference: Time, axis: str) -> float:
    """One value of a time axis (see :func:`seconds_to_axis`) back to seconds since ``reference``."""
    if axis == "seconds":
        return float(value)
    if axis == "UTC":
        ref = np.datetime64(reference.utc.isot, "us")
        return float((np.datetime64(value, "us") - ref) / np.timedelta64(1, "us")) / 1e6
    if axis not in TIME_AXES:
        raise InvalidParameter(f"time axis must be one of {TIME_AXES}, got {axis!r}")
    return (float(value) - _axis_offset_days(reference, axis)) * 86400.0


def time_zero_of(lc: Any) -> Time | None:
    """The light curve's TIMEZERO as an astropy ``Time`` (SPI-ACS), or None.

    Accepts a ``Time``, a ``Quantity`` of time or a number of seconds since IJD 0 (the FITS keyword's
    meaning), so it works whatever form the product model keeps it in.
    """
    tz = getattr(lc, "time_zero", None)
    if tz is None:
        return None
    if isinstance(tz, Time):
        return tz
    if isinstance(tz, u.Quantity):
        return IJD_ZERO + TimeDelta(tz.to(u.s))
    return IJD_ZERO + TimeDelta(float(tz) * u.s)


def exposure_of(lc: Any) -> u.Quantity:
    """Exposure of each bin: FRACEXP × TIMEDEL when the product has FRACEXP, else TIMEDEL (seconds)."""
    n = len(lc.rate)
    timedel = _per_bin(lc.timedel, n, u.s)
    frac = getattr(lc, "fracexp", None)
    if frac is not None:
        timedel = timedel * _per_bin(frac, n)
    return timedel * u.s


@dataclass
class BinnedLightCurve:
    """A light curve made by :func:`rebin`, with the attributes of ``LightCurve``.

    ``reference`` + ``seconds`` the bin centres (float64 seconds since ``reference``; ``time`` is
    built from them on first use), ``timedel`` full bin widths, ``fracexp`` the exposed fraction of
    each new bin, ``counts`` the summed counts, ``n_bins`` how many input bins each new bin holds.
    """

    reference: Time
    seconds: np.ndarray
    rate: u.Quantity
    error: u.Quantity
    timedel: u.Quantity
    fracexp: np.ndarray
    counts: np.ndarray
    n_bins: np.ndarray
    source: str | None = None
    e_min: u.Quantity | None = None
    e_max: u.Quantity | None = None
    instrument: str | None = None
    time_zero: Time | None = None
    valid: np.ndarray = field(default=None)  # type: ignore[arg-type]
    _time: Time | None = field(default=None, init=False, repr=False)

    def __post_init__(self):
        if self.valid is None:
            self.valid = np.ones(len(self.seconds), dtype=bool)

    @property
    def time(self) -> Time:
        """Bin centres as astropy ``Time`` (built once, on first use)."""
        if self._time is None:
            self._time = self.reference + TimeDelta(self.seconds, format="sec")
        return self._time

    @property
    def xerr(self) -> u.Quantity:
        """Half bin widths."""
        return self.timedel / 2

    def __len__(self) -> int:
        return len(self.seconds)

    def __repr__(self) -> str:
        first = (self.reference + TimeDelta(self.seconds[0], format="sec")).isot if len(self) else ""
        return f"<BinnedLightCurve {self.source or ''!s} {len(self)} bins, {self.instrument or ''} {first}>"

    def to_hdulist(self) -> fits.HDUList:
        """An OGIP-style light-curve FITS (TIME in IJD days, or seconds since TIMEZERO for SPI-ACS)."""
        if self.time_zero is not None:
            shift = float((self.reference - self.time_zero).to_value(u.s))
            t = self.seconds + shift
            tunit, dt = "s", self.timedel.to_value(u.s)
        else:
            ref_ijd = float((self.reference.tt - IJD_ZERO).to_value(u.d))
            t = ref_ijd + self.seconds / 86400.0
            tunit, dt = "d", self.timedel.to_value(u.d)
        cols = [
            fits.Column("TIME", "D", unit=tunit, array=t),
            fits.Column("TIMEDEL", "D", unit=tunit, array=np.broadcast_to(dt, t.shape)),
            fits.Column("RATE", "D", unit="count/s", array=self.rate.to_value(u.ct / u.s)),
            fits.Column("ERROR", "D", unit="count/s", array=self.error.to_value(u.ct / u.s)),
            fits.Column("FRACEXP", "D", array=self.fracexp),
            fits.Column("COUNTS", "D", unit="count", array=self.counts),
            fits.Column("NBINS", "J", array=self.n_bins),
        ]
        hdu = fits.BinTableHDU.from_columns(cols, name="RATE")
        h = hdu.header
        h["MJDREF"] = (IJD_MJDREF, "IJD 0 = MJD 51544.0")
        h["TIMESYS"] = "TT"
        h["TIMEUNIT"] = tunit
        h["TIMEPIXR"] = 0.5
        if self.time_zero is not None:
            h["TIMEZERO"] = ((self.time_zero.tt - IJD_ZERO).to_value(u.s), "s since IJD 0")
        if self.source:
            h["NAME"] = self.source
        if self.instrument:
            h["INSTRUME"] = self.instrument
        if self.e_min is not None and self.e_max is not None:
            h["E_MIN"] = (float(u.Quantity(self.e_min, u.keV).value), "keV")
            h["E_MAX"] = (float(u.Quantity(self.e_max, u.keV).value), "keV")
        return fits.HDUList([fits.PrimaryHDU(), hdu])

    def save(self, path: str | Path, overwrite: bool = True) -> Path:
        """Write the curve as FITS to ``path``; returns the path."""
        path = Path(path)
        self.to_hdulist().writeto(path, overwrite=overwrite)
        return path


def rebin(lc: Any, factor_or_width: int | u.Quantity | TimeDelta) -> BinnedLightCurve:
    """Rebin a light curve by an integer factor or to a bin width.

    * an ``int`` *k*: every *k* consecutive valid bins become one;
    * a time ``Quantity``/``TimeDelta`` *w*: bins are grouped on a grid of width *w* starting at the
      first bin's start edge (empty grid cells produce no bin).

    Invalid bins (see :func:`valid_mask`) are left out. Returns a :class:`BinnedLightCurve`.
    Works on float64 seconds (no per-bin ``Time``), so 10^7 bins rebin in a fraction of a second.
    """
    n = len(lc.rate)
    ok = valid_mask(lc)
    idx = np.flatnonzero(ok)
    if idx.size == 0:
        raise InvalidParameter("the light curve has no valid bins to rebin")
    sec, ref = seconds_and_reference(lc)
    tsec = sec[idx]
    # seconds relative to the first valid bin: float64 keeps µs precision over years
    first = float(tsec[0])
    tsec = tsec - first
    ref = ref + TimeDelta(first, format="sec")
    timedel = _per_bin(lc.timedel, n, u.s)[idx]
    start = tsec - timedel / 2
    stop = tsec + timedel / 2
    if isinstance(factor_or_width, (bool, np.bool_)):
        raise InvalidParameter("rebin needs an integer factor or a time width, not a bool")
    if isinstance(factor_or_width, (int, np.integer)):
        k = int(factor_or_width)
        if k < 1:
            raise InvalidParameter(f"rebin factor must be ≥ 1, got {k}")
        group = np.arange(idx.size) // k
    elif isinstance(factor_or_width, (u.Quantity, TimeDelta)):
        width: float = (
            factor_or_width.to_value(u.s) if isinstance(factor_or_width, u.Quantity) else factor_or_width.sec
        )
        if np.ndim(width) != 0 or not np.isfinite(width) or width <= 0:
            raise InvalidParameter(f"rebin width must be a positive time, got {factor_or_width}")
        group = np.floor((tsec - start[0]) / width).astype(np.int64)
    else:
        raise InvalidParameter(
            f"rebin needs an integer factor or a time Quantity (e.g. 100 * u.s), got {factor_or_width!r}"
        )

    exposure = exposure_of(lc).to_value(u.s)[idx]
    rate_all, err_all, unit = values_of(lc)
    scale = float(unit.to(u.ct / u.s))
    rate = rate_all[idx].astype(np.float64) * scale
    err = err_all[idx].astype(np.float64) * scale
    counts = rate * exposure
    var = (err * exposure) ** 2

    # group is non-decreasing, so each new bin is one contiguous run
    starts = np.flatnonzero(np.r_[True, np.diff(group) != 0])
    sum_exp = np.add.reduceat(exposure, starts)
    sum_counts = np.add.reduceat(counts, starts)
    sum_var = np.add.reduceat(var, starts)
    n_bins = np.diff(np.r_[starts, idx.size])
    if isinstance(factor_or_width, (int, np.integer)):
        edge0 = np.minimum.reduceat(start, starts)
        edge1 = np.maximum.reduceat(stop, starts)
    else:
        g = group[starts]
        edge0 = start[0] + g * width
        edge1 = edge0 + width
    with np.errstate(invalid="ignore", divide="ignore"):
        new_rate = sum_counts / sum_exp
        new_err = np.sqrt(sum_var) / sum_exp
    span = edge1 - edge0
    return BinnedLightCurve(
        reference=ref,
        seconds=(edge0 + edge1) / 2,
        rate=new_rate * u.ct / u.s,
        error=new_err * u.ct / u.s,
        timedel=span * u.s,
        fracexp=sum_exp / span,
        counts=sum_counts,
        n_bins=n_bins,
        source=getattr(lc, "source", None),
        e_min=getattr(lc, "e_min", None),
        e_max=getattr(lc, "e_max", None),
        instrument=getattr(lc, "instrument", None),
        time_zero=time_zero_of(lc),
        valid=np.isfinite(new_rate) & (sum_exp > 0),
    )


__all__ = [
    "rebin",
    "seconds_since",
    "seconds_to_axis",
    "axis_to_seconds",
    "TIME_AXES",
    "BinnedLightCurve",
    "valid_mask",
    "exposure_of",
    "time_zero_of",
    "IJD_MJDREF",
    "IJD_ZERO",
]
