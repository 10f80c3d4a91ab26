"""What a browser needs to label a time axis exactly (numpy/astropy/erfa only, no widgets).

Plots keep times as float64 seconds since one reference instant (TT). To write tick labels in IJD or
MJD days, UTC dates or seconds, the page needs the reference in those units and, for UTC, the leap
seconds inside the curve: JavaScript dates have none, so a multi-year curve would drift by a second per
leap. :func:`time_axis_spec` gives all of it as plain numbers (astropy and erfa computed them once).
"""

from __future__ import annotations

from typing import Any

import erfa
import numpy as np
from astropy import units as u
from astropy.time import Time

from .rebin import TIME_AXES, seconds_to_axis

__all__ = ["time_axis_spec", "leap_table"]

# TAI − UTC is a whole number of seconds from 1972 on (before, UTC had "rubber" seconds)
_FIRST_INTEGER_YEAR = 1972


def leap_table(reference: Time, first: float, last: float) -> tuple[float, list[list[float]]]:
    """Leap seconds between ``reference`` and instants ``first``…``last`` seconds (TT) after it.

    Returns ``(base, steps)``: for a time ``s`` seconds after the reference, the leap seconds
    inserted between the reference and it are ``base`` before the first step, then the ``total`` of
    the last step ``[at, total]`` with ``at <= s`` (negative when ``s`` is before the reference and
    a leap lies between). Before 1972 the count is held at its 1972 value.
    """
    table = erfa.leap_seconds.get()
    rows = table[table["year"] >= _FIRST_INTEGER_YEAR]
    starts = Time(
        [f"{int(y):04d}-{int(m):02d}-01T00:00:00" for y, m in zip(rows["year"], rows["month"])], scale="utc"
    )
    at = (starts - reference.tt).to_value(u.s)
    tai_utc = np.asarray(rows["tai_utc"], dtype=float)

    def delta_at(s: float) -> float:
        k = int(np.searchsorted(at, s, side="right")) - 1
        return float(tai_utc[max(k, 0)])

    at_ref = delta_at(0.0)
    base = delta_at(first) - at_ref
    steps = [[float(a), float(t - at_ref)] for a, t in zip(at, tai_utc) if first < a <= last]
    return base, steps


def time_axis_spec(
    reference: Time, axis: str, first: float = 0.0, last: float = 0.0, *, scale: str = "tt"
) -> dict[str, Any]:
    """The page's description of a time axis over ``first``…``last`` seconds since ``reference``.

    ``format`` (one of ``TIME_AXES``), ``ref_days`` (the reference in IJD days, TT, or MJD days in
    ``scale``),
    ``ref_unix_ms`` (the reference as Unix milliseconds of UTC), ``leap_base``/``leaps`` (see
    :func:`leap_table`). Seconds ``s`` become ``ref_days + s / 86400`` days, or the UTC instant
    ``ref_unix_ms + 1000 (s − leaps(s))``.
    """
    if axis not in TIME_AXES:
        raise ValueError(f"time axis must be one of {TIME_AXES}, got {axis!r}")
    ref = reference.tt
    utc = ref.utc
    # two-part Julian date: Unix ms without the rounding of one float64 JD (~40 µs today)
    unix_ms = ((utc.jd1 - 2440587.5) * 86400.0 + utc.jd2 * 86400.0) * 1000.0
    spec: dict[str, Any] = {"format": axis, "ref_unix_ms": float(unix_ms), "ref_days": 0.0}
    if axis in ("IJD", "MJD"):
        spec["ref_days"] = float(seconds_to_axis(np.zeros(1), ref, axis, scale)[0])
    base, steps = leap_table(ref, min(first, last), max(first, last))
    spec["leap_base"] = base
    spec["leaps"] = steps
    return spec
