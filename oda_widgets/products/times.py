"""Time columns of any light curve as one reference instant plus float64 seconds since it.

FITS says what a TIME column means with TIMESYS (scale), TIMEUNIT, MJDREF (or MJDREFI + MJDREFF,
or JDREF) and TIMEZERO (OGIP/FITS time keywords); when they are there they decide. When they are
not, the column's name, unit and values do:

* a column in days without MJDREF is **MJD** — what oda_api's ``LightCurveDataProduct`` writes
  (``TIME`` in MJD, ``units_dict {"TIME": "d"}``, an empty header); INTEGRAL's IJD (days since MJD
  51544) only when the product says it is INTEGRAL's (an ISGRI/JEM-X ``*-SRC.-LCR`` or SPI-ACS
  unit, ``TELESCOP = INTEGRAL``);
* values above 2 400 000 days, or a column named ``JD``/``BJD``/``HJD``, are **JD**;
* a column named ``*UNIX*``, or seconds without MJDREF between 1979 and 2100 as Unix time, is
  **Unix time** (UTC seconds since 1970-01-01);
* text (``2023-09-01T00:00:00``, FITS ``DATE-OBS`` style) is **ISO** time.

The scale is TIMESYS if given, TT for INTEGRAL (its files say TT), else UTC — the FITS default, and
what ``astropy.time.Time`` gives oda_api's MJD when a notebook builds one from ISO strings.
Keeping seconds since one reference (not per-bin ``Time``) keeps 0.05 s bins exact and memory flat.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
from astropy import units as u
from astropy.time import Time, TimeDelta

from oda_widgets.errors import OdaError

__all__ = ["TimeAxis", "read_time_axis", "time_column", "IJD_MJDREF", "UNIX_MJD"]

#: MJD of IJD 0 (2000-01-01T00:00:00 TT); every INTEGRAL file has MJDREF = 51544
IJD_MJDREF = 51544.0
#: MJD of the Unix epoch (1970-01-01T00:00:00 UTC)
UNIX_MJD = 40587.0

_UNITS = {
    "d": u.day,
    "day": u.day,
    "days": u.day,
    "s": u.s,
    "sec": u.s,
    "second": u.s,
    "seconds": u.s,
    "h": u.hour,
    "hr": u.hour,
    "hour": u.hour,
    "min": u.min,
    "ms": u.ms,
    "yr": u.yr,
    "a": u.yr,
}
# names a time column goes by, most usual first (matched case-insensitively)
_TIME_NAMES = (
    "TIME",
    "MJD",
    "MJD_OBS",
    "TIME_MJD",
    "JD",
    "BJD",
    "HJD",
    "BARYTIME",
    "TIME_UNIX",
    "UNIX_TIME",
    "UNIXTIME",
    "TSTART",
    "DATE",
    "DATE_OBS",
    "DATE-OBS",
    "ISOT",
    "T",
)


@dataclass(frozen=True)
class TimeAxis:
    """The instants of a time column: ``reference`` (a scalar :class:`~astropy.time.Time`) and
    ``seconds`` (float64 seconds since it, one per row). ``system`` says how the column was read:
    ``"MJDREF"`` (relative to the file's MJDREF/TIMEZERO), ``"IJD"``, ``"MJD"``, ``"JD"``,
    ``"unix"`` or ``"ISO"``; ``time_zero`` is a TIMEZERO worth showing ("seconds since"), else None."""

    reference: Time
    seconds: np.ndarray
    system: str
    time_zero: Time | None = None

    @property
    def time(self) -> Time:
        """Every instant as a ``Time`` (built here, on request)."""
        return self.reference + TimeDelta(self.seconds, format="sec")

    @property
    def scale(self) -> str:
        return str(self.reference.scale)


def _unit(text: Any) -> u.UnitBase | None:
    if text is None:
        return None
    key = str(text).strip().lower()
    if not key:
        return None
    if key in _UNITS:
        return _UNITS[key]
    try:
        unit = u.Unit(str(text).strip())
    except (ValueError, TypeError):
        return None
    return unit if unit.physical_type == "time" else None


def time_column(names: list[str] | tuple[str, ...], preferred: str | None = None) -> str | None:
    """The time column among ``names`` (``preferred`` first), matched case-insensitively."""
    by_upper = {n.upper(): n for n in names}
    if preferred and preferred.upper() in by_upper:
        return by_upper[preferred.upper()]
    for name in _TIME_NAMES:
        if name in by_upper:
            return by_upper[name]
    for n in names:
        if re.search(r"(^|_)(mjd|jd|time|date)($|_)", n, re.IGNORECASE):
            return n
    return None


def _mjdref(header: Any) -> float | None:
    if "MJDREF" in header:
        return float(header["MJDREF"])
    if "MJDREFI" in header:
        return float(header["MJDREFI"]) + float(header.get("MJDREFF", 0.0) or 0.0)
    if "JDREF" in header:
        return float(header["JDREF"]) - 2400000.5
    if "JDREFI" in header:
        return float(header["JDREFI"]) + float(header.get("JDREFF", 0.0) or 0.0) - 2400000.5
    return None


def _scale(header: Any, default: str) -> str:
    text = str(header.get("TIMESYS", "") or "").strip().lower()
    if text in ("tdb", "tt", "utc", "tai", "tcg", "tcb", "ut1"):
        return text
    if text in ("tdt", "et"):
        return "tt"
    if text in ("gps",):
        return "tai"  # GPS = TAI − 19 s; astropy reads it through its own format, close enough for a plot
    return default


def _lowest(values: np.ndarray) -> float | None:
    low = np.nanmin(values) if values.size and not np.all(np.isnan(values)) else np.nan
    return float(low) if np.isfinite(low) else None


def _days(values: np.ndarray, scale: str, system: str) -> TimeAxis:
    """Day numbers (MJD; ``values`` is our own copy, changed in place) → reference at the first
    whole day, seconds since it (precision kept)."""
    low = _lowest(values)
    day0 = float(np.floor(low)) if low is not None else 0.0
    values -= day0
    values *= 86400.0
    return TimeAxis(Time(day0, format="mjd", scale=scale), values, system)


def read_time_axis(
    values: Any,
    header: Any = None,
    *,
    name: str = "TIME",
    unit: Any = None,
    integral: bool = False,
    default_unit: Any = None,
) -> TimeAxis:
    """How the time column ``values`` (named ``name``, with column ``unit``) of a table with
    ``header`` reads as instants — see the module's rules. ``integral``: the product is
    INTEGRAL's (IJD and TT when its header says nothing). ``default_unit``: the unit when neither
    TIMEUNIT nor the column gives one (days, except seconds for SPI-ACS)."""
    header = header if header is not None else {}
    arr = np.asarray(values)
    upper = name.upper()
    if arr.dtype.kind in "USO":
        texts = [v.decode() if isinstance(v, bytes) else str(v) for v in arr.tolist()]
        try:
            t = Time(texts, scale=_scale(header, "tt" if integral else "utc"))
        except ValueError as exc:
            raise OdaError(f"time column {name!r} holds text that is not a date ({texts[:1]})") from exc
        ref = t[0] if len(t) else Time(0.0, format="mjd", scale=t.scale)
        return TimeAxis(ref, np.asarray((t - ref).sec, dtype=np.float64), "ISO")
    if arr.dtype.kind not in "iuf":
        raise OdaError(f"time column {name!r} is not numeric ({arr.dtype})")
    # one copy of the column, native float64, which every branch below works on in place (a light
    # curve of 10^7 bins keeps one array of its times, as the rest of its columns)
    t = np.array(arr, dtype=np.float64, copy=True)
    # a TIMEUNIT keyword applies to the file's time columns; a column's own unit comes next
    tunit = _unit(header.get("TIMEUNIT")) or _unit(unit) or _unit(default_unit)
    mjdref = _mjdref(header)
    timezero = float(header.get("TIMEZERO", 0.0) or 0.0)
    if "UNIX" in upper:
        return _unix(t, tunit)
    if mjdref is None and integral:
        mjdref = IJD_MJDREF
    if mjdref is not None and not re.search(r"(^|_)(MJD|JD|BJD|HJD)($|_)", upper):
        scale = _scale(header, "tt" if integral else "utc")
        tunit = tunit or u.s  # the FITS default TIMEUNIT
        ref = Time(mjdref, format="mjd", scale=scale)
        t0 = ref + TimeDelta(timezero * tunit) if timezero else ref
        factor = float(tunit.to(u.s))
        if factor != 1.0:
            t *= factor
        system = "IJD" if mjdref == IJD_MJDREF and tunit == u.day and not timezero else "MJDREF"
        return TimeAxis(t0, t, system, t0 if timezero else None)
    scale = _scale(header, "tt" if integral else "utc")
    if timezero:
        t += timezero
    low = _lowest(t)
    in_days = tunit is None or tunit == u.day
    if re.search(r"(^|_)(JD|BJD|HJD)($|_)", upper) or (in_days and low is not None and low > 2_400_000):
        t -= 2400000.5
        return _days(t, scale, "JD")
    if in_days:
        return _days(t, scale, "MJD")
    assert tunit is not None
    t *= float(tunit.to(u.s))
    first = _lowest(t)
    if first is not None and first > 3e8 and float(np.nanmax(t)) < 4.2e9:  # 1979 … 2100
        return _unix(t, u.s)
    raise OdaError(
        f"time column {name!r} counts {tunit} from an unknown instant (no MJDREF in its header): "
        "give the reference (MJDREF/TIMEZERO) or the time in MJD"
    )


def _unix(t: np.ndarray, tunit: u.UnitBase | None) -> TimeAxis:
    """Unix time (``t``, our own copy, changed in place) counted from its first whole day: Unix
    time has no leap seconds, so only a curve spanning one is off, by that second, past it."""
    factor = float((tunit or u.s).to(u.s))
    if factor != 1.0:
        t *= factor
    low = _lowest(t)
    start = float(np.floor(low / 86400.0) * 86400.0) if low is not None else 0.0
    t -= start
    return TimeAxis(Time(start, format="unix", scale="utc"), t, "unix")
