"""Time columns of any light curve: FITS keywords first, then the column's name, unit and values
(MJD without MJDREF, JD, Unix, ISO; IJD only for INTEGRAL products)."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.time import Time

from oda_widgets.errors import OdaError
from oda_widgets.products.times import IJD_MJDREF, read_time_axis, time_column


def close(axis, expected: Time, atol_s: float = 1e-6) -> bool:
    return bool(np.all(np.abs((axis.time - expected).sec) < atol_s))


def test_days_without_mjdref_are_mjd_as_oda_api_writes_them():
    mjd = np.array([60188.0, 60188.25, 60197.9])
    axis = read_time_axis(mjd, {}, unit="d")
    assert axis.system == "MJD" and axis.scale == "utc"
    assert close(axis, Time(mjd, format="mjd", scale="utc"))
    assert axis.time[0].isot.startswith("2023-09-01")  # not 2163
    assert axis.seconds[0] == 0.0 and axis.reference.mjd == 60188.0


def test_integral_products_without_mjdref_are_ijd_in_tt():
    axis = read_time_axis(np.array([8318.6]), {}, unit="d", integral=True)
    assert axis.system == "IJD" and axis.scale == "tt"
    assert abs(axis.time[0].tt.mjd - (IJD_MJDREF + 8318.6)) < 1e-9


def test_fits_keywords_decide_when_present():
    header = {"MJDREF": 51544.0, "TIMESYS": "TT", "TIMEUNIT": "d"}
    axis = read_time_axis(np.array([1322.7]), header)
    assert axis.system == "IJD" and abs(axis.time[0].tt.mjd - 52866.7) < 1e-9
    # SPI-ACS: seconds relative to TIMEZERO (seconds since IJD 0)
    spi = {"MJDREF": 51544.0, "TIMESYS": "TT", "TIMEUNIT": "s", "TIMEZERO": 7.2e8}
    axis = read_time_axis(np.array([-1.0, 0.0, 0.05]), spi)
    assert axis.system == "MJDREF" and axis.time_zero is not None
    assert abs(axis.time_zero.tt.mjd - (51544.0 + 7.2e8 / 86400)) < 1e-9
    assert np.allclose(axis.seconds, [-1.0, 0.0, 0.05])
    # MJDREFI + MJDREFF, TIMEUNIT from the column, a TDB scale
    axis = read_time_axis(
        np.array([86400.0]), {"MJDREFI": 55197, "MJDREFF": 0.00076601852, "TIMESYS": "TDB"}, unit="s"
    )
    assert axis.scale == "tdb" and abs(axis.time[0].tdb.mjd - (55198.00076601852)) < 1e-9


def test_jd_unix_and_iso_columns():
    jd = read_time_axis(np.array([2460188.5, 2460189.5]), {})
    assert jd.system == "JD" and close(jd, Time([60188.0, 60189.0], format="mjd", scale="utc"))
    assert read_time_axis(np.array([2.5, 3.5]) + 2460000, {}, name="BJD").system == "JD"
    unix = read_time_axis(np.array([1.6935e9, 1.6935e9 + 60.25]), {}, name="TIME_UNIX")
    assert unix.system == "unix" and close(unix, Time([1.6935e9, 1.6935e9 + 60.25], format="unix"))
    guessed = read_time_axis(np.array([1.6935e9]), {}, unit="s")
    assert guessed.system == "unix"
    iso = read_time_axis(np.array(["2023-09-01T00:00:00", "2023-09-01T06:00:00.5"]), {}, name="DATE")
    assert iso.system == "ISO" and np.allclose(iso.seconds, [0.0, 21600.5])
    b = read_time_axis(np.array([b"2023-09-01T00:00:00"]), {}, name="DATE")
    assert b.time[0].isot == "2023-09-01T00:00:00.000"


def test_seconds_from_nowhere_are_an_error_not_a_guess():
    with pytest.raises(OdaError, match="unknown instant"):
        read_time_axis(np.array([0.0, 10.0]), {}, unit="s")
    with pytest.raises(OdaError, match="not a date"):
        read_time_axis(np.array(["soon"]), {}, name="DATE")


def test_time_column_names():
    assert time_column(["MAG", "ERROR", "TIME"]) == "TIME"
    assert time_column(["mjd", "flux"]) == "mjd"
    assert time_column(["obs_mjd_utc", "flux"]) == "obs_mjd_utc"
    assert time_column(["flux", "error"]) is None
    assert time_column(["t", "TIME"], preferred="t") == "t"
