"""Light curves of ISGRI, JEM-X and SPI-ACS as astropy Time/Quantity arrays (PROTOCOL §5.4–5.6)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
from astropy import units as u
from astropy.io import fits
from astropy.table import QTable
from astropy.time import Time, TimeDelta

from oda_widgets.errors import OdaError
from oda_widgets.products.numpy_product import NumpyProduct

__all__ = ["LightCurve", "find_light_curve_hdu", "IJD_MJDREF"]

#: MJD of IJD 0 (2000-01-01T00:00:00 TT); every INTEGRAL file has MJDREF = 51544
IJD_MJDREF = 51544.0

_LCR = re.compile(r"^(ISGR|JMX[12])-SRC\.-LCR$", re.IGNORECASE)
_INSTRUMENTS = {"ISGR": "ISGRI", "JMX1": "JEM-X1", "JMX2": "JEM-X2"}
_TIME_UNITS = {"d": u.day, "day": u.day, "days": u.day, "s": u.s, "sec": u.s, "second": u.s}


def _is_spi_acs(hdu) -> bool:
    h = hdu.header
    return hdu.name.upper() == "RATE" and (str(h.get("INSTRUME", "")).upper() == "SPI-ACS" or "TIMEZERO" in h)


def find_light_curve_hdu(hdul: fits.HDUList):
    """The light-curve table of ``hdul``: ``*-SRC.-LCR`` (ISGRI/JEM-X), ``RATE`` (SPI-ACS), else
    the first table with TIME and RATE columns; ``OdaError`` if there is none."""
    tables = [h for h in hdul if isinstance(h, (fits.BinTableHDU, fits.TableHDU)) and h.data is not None]
    for h in tables:
        if _LCR.match(h.name) or _is_spi_acs(h):
            return h
    for h in tables:
        names = {n.upper() for n in h.columns.names}
        if {"TIME", "RATE"} <= names:
            return h
    raise OdaError(f"no light-curve table among the units {[h.name for h in hdul]}")


def _mjdref(h: fits.Header) -> float:
    if "MJDREF" in h:
        return float(h["MJDREF"])
    if "MJDREFI" in h:
        return float(h["MJDREFI"]) + float(h.get("MJDREFF", 0.0))
    return IJD_MJDREF


def _column(data, name: str | None, *, keep_float32: bool = False) -> np.ndarray | None:
    """Column ``name`` (case-insensitive) as one contiguous native-endian array, or None.

    The FITS table stores big-endian rows; this is the one copy of the column the kernel keeps for
    plotting and statistics. float32 columns stay float32 with ``keep_float32`` (half the memory;
    SPI-ACS rates are float32 on the wire), everything else becomes float64.
    """
    if name is None:
        return None
    names = {n.upper(): n for n in data.columns.names}
    key = names.get(name.upper())
    if key is None:
        return None
    col = data[key]
    dtype = np.float32 if keep_float32 and col.dtype.kind == "f" and col.dtype.itemsize == 4 else np.float64
    # filled into a fresh array: a column of an unpickled table can carry a non-canonical dtype that
    # numpy later copies again on every np.asarray(..., dtype=float64)
    out = np.empty(col.shape, dtype=dtype)
    out[...] = col
    return out


def _per_bin_seconds(values: np.ndarray | float, n: int) -> u.Quantity:
    """Seconds per bin as a Quantity of length ``n``; a header constant is broadcast, not copied."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.broadcast_to(arr, (n,))
    return u.Quantity(arr, u.s, copy=False)


class LightCurve:
    """One source's light curve.

    * ``time`` — bin centres, astropy :class:`~astropy.time.Time` (TT), built on first use;
    * ``reference`` and ``seconds`` — the same instants as a scalar ``Time`` and float64 seconds since
      it (the file's own TIME column scaled to seconds: TIMEZERO for SPI-ACS, else MJDREF). Plots and
      statistics use these: no per-bin ``Time`` is ever needed for them;
    * ``rate``, ``error`` — :class:`~astropy.units.Quantity` in count/s (float32 if the file has float32);
    * ``timedel`` — bin width per bin (Quantity, s); ``xerr`` — half width (XAX_E, else TIMEDEL/2);
      a header TIMEDEL is broadcast (read-only, no memory per bin);
    * ``valid`` — bins MMODA shows (drops RATE=ERROR=0, non-finite values, ERROR ≤ 0);
    * ``source``, ``instrument`` (``ISGRI``, ``JEM-X1``, ``JEM-X2``, ``SPI-ACS``),
      ``e_min``/``e_max`` (keV Quantity, None for SPI-ACS), ``time_zero`` (SPI-ACS TIMEZERO as Time);
    * ``fracexp`` — fractional exposure per bin, or None;
    * ``hdu``/``hdulist``/``product`` — where it came from.

    The per-bin arrays are one native copy of the table's columns, made here once; views and
    statistics share them.
    """

    def __init__(
        self,
        hdu,
        *,
        hdulist: fits.HDUList | None = None,
        product: NumpyProduct | None = None,
        name: str | None = None,
    ):
        try:
            self._read(hdu, hdulist, product, name)
        except OdaError:
            raise
        except Exception as exc:  # server data: any unreadable keyword or column is the product's error
            raise OdaError(
                f"The light curve {name or getattr(hdu, 'name', '')!r} could not be read: "
                f"{type(exc).__name__}: {exc}"
            ) from exc

    def _read(self, hdu, hdulist, product, name) -> None:
        self.hdu = hdu
        self.hdulist = hdulist if hdulist is not None else fits.HDUList([fits.PrimaryHDU(), hdu])
        self.product = product
        self.name = name
        meta = product.meta_data if product is not None else {}
        self.meta_data: dict[str, Any] = dict(meta)
        h = hdu.header
        data = hdu.data
        tcol = meta.get("time") or "TIME"
        rcol = meta.get("rate") or "RATE"
        ecol = meta.get("rate_err") or "ERROR"
        t = _column(data, tcol)
        rate = _column(data, rcol, keep_float32=True)
        err = _column(data, ecol, keep_float32=True)
        if t is None or rate is None:
            raise OdaError(
                f"light curve {hdu.name!r} has no {tcol}/{rcol} columns (columns: {data.columns.names})"
            )
        if err is None:
            err = np.full_like(rate, np.nan)
        self.is_spi_acs = _is_spi_acs(hdu)
        tunit = _TIME_UNITS.get(
            str(h.get("TIMEUNIT", "s" if self.is_spi_acs else "d")).strip().lower(),
            u.s if self.is_spi_acs else u.day,
        )
        to_seconds = float(tunit.to(u.s))
        scale = str(h.get("TIMESYS", "TT")).strip().lower() or "tt"
        ref = Time(_mjdref(h), format="mjd", scale=scale if scale in Time.SCALES else "tt")
        timezero = float(h.get("TIMEZERO", 0.0) or 0.0)
        t0 = ref + TimeDelta(timezero * tunit) if timezero else ref
        # only a real offset is worth showing ("seconds since TIMEZERO", as for SPI-ACS)
        self.time_zero: Time | None = t0 if timezero else None
        #: the instant ``seconds`` count from (TIMEZERO, else MJDREF), a scalar Time
        self.reference: Time = t0
        if to_seconds != 1.0:
            t *= to_seconds  # in place: t is already our own copy of the column
        #: bin centres in float64 seconds since ``reference`` (the file's TIME, in seconds)
        self.seconds: np.ndarray = t
        if t.size:
            # times a calendar cannot hold (MJDREF 1e300...) fail here, not when drawn or printed
            (t0 + TimeDelta(np.array([t[0], t[-1]]) * u.s)).tt.isot  # noqa: B018
        self._time: Time | None = None
        self._valid: np.ndarray | None = None
        self.rate = u.Quantity(rate, u.ct / u.s, copy=False)
        self.error = u.Quantity(err, u.ct / u.s, copy=False)
        td: Any = _column(data, "TIMEDEL")
        if td is None:
            if "TIMEDEL" in h:
                td = float(h["TIMEDEL"])
            else:
                # no bin width anywhere: the median spacing of the bins
                td = float(np.median(np.diff(t[:100_001]))) if t.size > 1 else np.nan
            td = td * to_seconds
        else:
            td *= to_seconds
        self.timedel = _per_bin_seconds(td, t.size)
        xax = _column(data, "XAX_E")
        self.xerr = _per_bin_seconds(xax * to_seconds if xax is not None else td / 2, t.size)
        self.fracexp = _column(data, "FRACEXP")
        self.source: str | None = h.get("NAME") or meta.get("src_name") or None
        if self.is_spi_acs:
            self.instrument = "SPI-ACS"
            self.e_min = self.e_max = None
        else:
            m = _LCR.match(hdu.name)
            prefix = m.group(1).upper() if m else str(h.get("INSTRUME", "")).upper()
            self.instrument = _INSTRUMENTS.get(prefix, str(h.get("INSTRUME") or prefix or "unknown"))
            self.e_min = float(h["E_MIN"]) * u.keV if "E_MIN" in h else None
            self.e_max = float(h["E_MAX"]) * u.keV if "E_MAX" in h else None

    @property
    def time(self) -> Time:
        """Bin centres as astropy ``Time`` (TT), built from ``reference`` + ``seconds`` on first use."""
        if self._time is None:
            # offsets as TimeDelta keep the double-double precision of Time
            self._time = self.reference + TimeDelta(self.seconds, format="sec")
        return self._time

    @classmethod
    def from_product(cls, product: NumpyProduct | fits.HDUList, name: str | None = None) -> LightCurve:
        """The light curve in a decoded product (or an HDUList such as ``fits.open(file)``)."""
        if isinstance(product, NumpyProduct):
            return cls(
                find_light_curve_hdu(product.hdulist),
                hdulist=product.hdulist,
                product=product,
                name=name or product.name,
            )
        if isinstance(product, fits.HDUList):
            return cls(find_light_curve_hdu(product), hdulist=product, name=name)
        raise TypeError(
            f"LightCurve.from_product needs a NumpyProduct or HDUList, got {type(product).__name__}"
        )

    @property
    def valid(self) -> np.ndarray:
        """Boolean mask of the bins MMODA displays (PROTOCOL §5.4); computed once."""
        if self._valid is None:
            rate = self.rate.value
            err = self.error.value
            with np.errstate(invalid="ignore"):
                self._valid = (
                    np.isfinite(self.seconds)
                    & np.isfinite(rate)
                    & np.isfinite(err)
                    & ~((rate == 0) & (err == 0))
                    & (err > 0)
                )
        return self._valid

    @property
    def ijd(self) -> np.ndarray:
        """Bin centres in IJD (days since MJD 51544, TT)."""
        ref = self.reference.tt
        offset = (ref.jd1 - 2400000.5 - IJD_MJDREF) + ref.jd2
        return offset + self.seconds / 86400.0

    def to_table(self) -> QTable:
        """A QTable with ``time``, ``rate``, ``error``, ``timedel``, ``xerr``, ``valid``."""
        return QTable(
            {
                "time": self.time,
                "rate": self.rate,
                "error": self.error,
                "timedel": self.timedel,
                "xerr": self.xerr,
                "valid": self.valid,
            },
            meta={"source": self.source, "instrument": self.instrument},
        )

    def save(self, path, overwrite: bool = True) -> str:
        """Write the light curve's FITS units (as received) to ``path``; returns the path."""
        self.hdulist.writeto(Path(path), overwrite=overwrite)
        return str(path)

    def __len__(self) -> int:
        return len(self.rate)

    def __repr__(self) -> str:
        band = (
            f", {self.e_min.value:g}–{self.e_max.value:g} keV"
            if self.e_min is not None and self.e_max is not None
            else ""
        )
        span = ""
        if len(self):
            ends = self.reference + TimeDelta(self.seconds[[0, -1]], format="sec")
            span = f", {ends[0].tt.isot} … {ends[1].tt.isot} TT"
        return (
            f"LightCurve({self.instrument} {self.source!r}, {len(self)} bins "
            f"({int(self.valid.sum())} valid){band}{span})"
        )
