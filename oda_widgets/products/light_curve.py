"""Light curves as a reference ``Time`` plus float64 seconds and Quantity values (PROTOCOL §5.4–5.6).

ISGRI, JEM-X and SPI-ACS (count rates, IJD, TT), and any other instrument's: a value column RATE,
COUNTS, FLUX or MAG (also banded, ``FLUX_B``…, or any column with a rate, flux or magnitude unit),
with its unit and error; several value columns, or several light-curve tables, give several curves
(:meth:`LightCurve.all_from_product`). Times follow the FITS keywords when present and
:mod:`oda_widgets.products.times` otherwise (a TIME column in days without MJDREF is MJD, as
oda_api's ``LightCurveDataProduct`` writes it; IJD only for INTEGRAL's products).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
from astropy import units as u
from astropy.io import fits
from astropy.table import QTable, Table
from astropy.time import Time, TimeDelta

from oda_widgets.errors import OdaError
from oda_widgets.products.columns import VALUE_KINDS, ValueColumn, light_curve_values
from oda_widgets.products.numpy_product import NumpyProduct
from oda_widgets.products.times import IJD_MJDREF, read_time_axis, time_column

__all__ = ["LightCurve", "find_light_curve_hdu", "light_curve_hdus", "IJD_MJDREF"]

_LCR = re.compile(r"^(ISGR|JMX[12])-SRC\.-LCR$", re.IGNORECASE)
_INSTRUMENTS = {"ISGR": "ISGRI", "JMX1": "JEM-X1", "JMX2": "JEM-X2"}
#: the unit of a value column that says none, by what it holds
#: SPI-ACS products carry no energy keywords; oda_api labels them with the ACS's nominal band (keV)
SPI_ACS_BAND = (75.0, 2000.0)
_DEFAULT_UNITS = {"rate": u.ct / u.s, "counts": u.ct, "magnitude": u.mag}
VALUE_NAMES = tuple(VALUE_KINDS)
_QUANTITY_NAMES = {
    "rate": "Rate",
    "counts": "Counts",
    "flux": "Flux",
    "magnitude": "Magnitude",
    "value": "Value",
}


def _is_spi_acs(hdu) -> bool:
    h = hdu.header
    return hdu.name.upper() == "RATE" and (str(h.get("INSTRUME", "")).upper() == "SPI-ACS" or "TIMEZERO" in h)


def _is_integral(hdu) -> bool:
    """An INTEGRAL light curve: its times are IJD (TT) even when the header does not say so."""
    return bool(
        _LCR.match(hdu.name) or _is_spi_acs(hdu) or str(hdu.header.get("TELESCOP", "")).upper() == "INTEGRAL"
    )


def _table_of(hdu) -> Table:
    # column names, units and a cheap look at the dtypes: no data is converted here
    return Table(hdu.data, copy=False) if hdu.data is not None else Table()


def _curves_in(hdu, time: str | None = None) -> tuple[str | None, list[ValueColumn]]:
    """(time column, value columns) of a table HDU; value columns empty when it is not a light curve."""
    if not isinstance(hdu, (fits.BinTableHDU, fits.TableHDU)) or hdu.data is None:
        return None, []
    tcol = time_column(hdu.columns.names, time)
    if _is_spi_acs(hdu) or _LCR.match(hdu.name):
        # INTEGRAL's light curves by name: RATE and ERROR (a unit without them cannot be read,
        # and says so, rather than pass for something else)
        names = {n.upper(): n for n in hdu.columns.names}
        return tcol or "TIME", [ValueColumn(names.get("RATE", "RATE"), names.get("ERROR"), "rate")]
    if tcol is None:
        return None, []
    return tcol, light_curve_values(_table_of(hdu), time=tcol)


def light_curve_hdus(hdul: fits.HDUList) -> list[Any]:
    """Every light-curve table of ``hdul``: ``*-SRC.-LCR`` (ISGRI/JEM-X), ``RATE`` (SPI-ACS), and
    any table with a time column and a value column (RATE, COUNTS, FLUX, MAG…)."""
    return [h for h in hdul if _curves_in(h)[1]]


def find_light_curve_hdu(hdul: fits.HDUList):
    """The (first) light-curve table of ``hdul`` (see :func:`light_curve_hdus`); ``OdaError`` if
    there is none."""
    found = light_curve_hdus(hdul)
    if found:
        return found[0]
    raise OdaError(
        f"no light-curve table (a time column and RATE, COUNTS, FLUX or MAG) among the units "
        f"{[h.name for h in hdul]}"
    )


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


def _unit_of(text: Any) -> u.UnitBase | None:
    if text is None or str(text).strip() == "":
        return None
    try:
        return u.Unit(str(text).strip(), parse_strict="silent")
    except (ValueError, TypeError):
        return None


def _column_unit(hdu, name: str | None) -> Any:
    if name is None:
        return None
    for c in hdu.columns:
        if c.name.upper() == name.upper():
            return c.unit
    return None


class LightCurve:
    """One curve: a source's count rate, counts, flux or magnitude against time.

    * ``time`` — bin centres, astropy :class:`~astropy.time.Time` (in the file's scale: TT for
      INTEGRAL, TIMESYS if given, else UTC), built on first use;
    * ``reference`` and ``seconds`` — the same instants as a scalar ``Time`` and float64 seconds since
      it (TIMEZERO for SPI-ACS, MJDREF for files that have one, else the curve's first whole day).
      Plots and statistics use these: no per-bin ``Time`` is ever needed for them;
      ``time_system`` says how the time column was read (``IJD``, ``MJDREF``, ``MJD``, ``JD``,
      ``unix``, ``ISO``);
    * ``rate``, ``error`` — the values and their 1σ errors, :class:`~astropy.units.Quantity` in the
      column's unit (count/s for INTEGRAL; Jy, mag… for others; float32 if the file has float32);
      ``values``/``errors`` are the same arrays. ``value_column`` names the column, ``quantity`` what
      it holds (``rate``, ``counts``, ``flux``, ``magnitude``, ``value``); :attr:`is_magnitude`
      (plot the axis inverted); ``has_errors`` is False when the file has no error column;
    * ``timedel`` — bin width per bin (Quantity, s); ``xerr`` — half width (XAX_E, else TIMEDEL/2);
      a header TIMEDEL is broadcast (read-only, no memory per bin);
    * ``valid`` — bins worth showing (MMODA's rules: drops non-finite values, ERROR ≤ 0 and
      RATE = ERROR = 0; a curve without errors keeps every finite value);
    * ``source``, ``instrument`` (``ISGRI``, ``JEM-X1``, ``JEM-X2``, ``SPI-ACS``, the header's
      INSTRUME/TELESCOP, else what the response says), ``band`` (``20–40 keV``, a FILTER…),
      ``e_min``/``e_max`` (keV Quantity or None), ``time_zero`` (SPI-ACS TIMEZERO as Time);
      ``curve_label`` distinguishes the curves of one product (None when it has one);
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
        value: ValueColumn | str | None = None,
    ):
        try:
            self._read(hdu, hdulist, product, name, value)
        except OdaError:
            raise
        except Exception as exc:  # server data: any unreadable keyword or column is the product's error
            raise OdaError(
                f"The light curve {name or getattr(hdu, 'name', '')!r} could not be read: "
                f"{type(exc).__name__}: {exc}"
            ) from exc

    def _read(self, hdu, hdulist, product, name, value) -> None:
        self.hdu = hdu
        self.hdulist = hdulist if hdulist is not None else fits.HDUList([fits.PrimaryHDU(), hdu])
        self.product = product
        self.name = name
        meta = product.meta_data if product is not None else {}
        self.meta_data: dict[str, Any] = dict(meta)
        h = hdu.header
        data = hdu.data
        if data is None:
            raise OdaError(f"light curve {hdu.name!r} holds no rows")
        tcol, found = _curves_in(hdu, meta.get("time"))
        if isinstance(value, str):
            found = [v for v in found if v.name.upper() == value.upper()] or [
                ValueColumn(value, None, "value")
            ]
        elif isinstance(value, ValueColumn):
            found = [value]
        elif meta.get("rate"):
            # INTEGRAL products may name their columns in meta_data (rate, rate_err)
            found = [ValueColumn(str(meta["rate"]), meta.get("rate_err") or "ERROR", "rate")]
        t_raw = data[tcol] if tcol is not None and tcol in data.columns.names else None
        chosen = found[0] if found else None
        rate = _column(data, chosen.name, keep_float32=True) if chosen is not None else None
        if t_raw is None or rate is None or chosen is None:
            raise OdaError(
                f"light curve {hdu.name!r} has no time column and value column (RATE, COUNTS, FLUX, MAG) "
                f"(columns: {data.columns.names})"
            )
        assert tcol is not None
        err = _column(data, chosen.error, keep_float32=True)
        #: the column the values come from, and what it holds
        self.value_column: str = chosen.name
        self.quantity: str = chosen.kind
        self.has_errors = err is not None
        if err is None:
            err = np.full_like(rate, np.nan)
        self.is_spi_acs = _is_spi_acs(hdu)
        integral = _is_integral(hdu)
        axis = read_time_axis(
            t_raw,
            h,
            name=tcol,
            unit=_column_unit(hdu, tcol),
            integral=integral,
            default_unit=("s" if self.is_spi_acs else "d") if integral else None,
        )
        #: how the time column was read: IJD, MJDREF, MJD, JD, unix or ISO
        self.time_system: str = axis.system
        # only a real offset is worth showing ("seconds since TIMEZERO", as for SPI-ACS)
        self.time_zero: Time | None = axis.time_zero
        #: the instant ``seconds`` count from, a scalar Time
        self.reference: Time = axis.reference
        #: bin centres in float64 seconds since ``reference``
        self.seconds: np.ndarray = np.ascontiguousarray(axis.seconds, dtype=np.float64)
        if self.seconds.size:
            # times a calendar cannot hold (MJDREF 1e300...) fail here, not when drawn or printed
            (self.reference + TimeDelta(self.seconds[[0, -1]], format="sec")).tt.isot  # noqa: B018
        self._time: Time | None = None
        self._valid: np.ndarray | None = None
        unit = _unit_of(_column_unit(hdu, chosen.name)) or _DEFAULT_UNITS.get(
            chosen.kind, u.dimensionless_unscaled
        )
        err_unit = _unit_of(_column_unit(hdu, chosen.error)) or unit
        self.rate = u.Quantity(rate, unit, copy=False)
        error = u.Quantity(err, err_unit, copy=False)
        self.error = error if err_unit == unit or not err_unit.is_equivalent(unit) else error.to(unit)
        # bin widths are in TIMEUNIT, else their own column's unit, else the time column's
        width_unit = (
            _unit_of(h.get("TIMEUNIT"))
            or _unit_of(_column_unit(hdu, "TIMEDEL"))
            or _unit_of(_column_unit(hdu, tcol))
            or (u.s if self.is_spi_acs or axis.system in ("unix", "ISO") else u.day)
        )
        to_seconds = float(width_unit.to(u.s)) if width_unit.physical_type == "time" else 1.0
        td: Any = _column(data, "TIMEDEL")
        if td is None:
            if "TIMEDEL" in h:
                td = float(h["TIMEDEL"]) * to_seconds
            else:
                # no bin width anywhere: the median spacing of the bins (already seconds)
                sec = self.seconds
                td = float(np.median(np.diff(sec[:100_001]))) if sec.size > 1 else np.nan
        else:
            td *= to_seconds
        n = self.seconds.size
        self.timedel = _per_bin_seconds(td, n)
        xax = _column(data, "XAX_E")
        self.xerr = _per_bin_seconds(xax * to_seconds if xax is not None else td / 2, n)
        self.fracexp = _column(data, "FRACEXP")
        self.source: str | None = h.get("NAME") or h.get("OBJECT") or meta.get("src_name") or None
        self.curve_label: str | None = None
        if self.is_spi_acs:
            self.instrument: str | None = "SPI-ACS"
            self.e_min = self.e_max = None
        else:
            m = _LCR.match(hdu.name)
            prefix = m.group(1).upper() if m else str(h.get("INSTRUME", "")).upper()
            given = str(h.get("INSTRUME") or h.get("TELESCOP") or meta.get("instrument") or "").strip()
            self.instrument = _INSTRUMENTS.get(prefix, given or None)
            self.e_min = float(h["E_MIN"]) * u.keV if "E_MIN" in h else None
            self.e_max = float(h["E_MAX"]) * u.keV if "E_MAX" in h else None
        filt = str(h.get("FILTER") or h.get("BAND") or meta.get("band") or meta.get("filter") or "").strip()
        if self.e_min is not None and self.e_max is not None:
            self.band: str | None = f"{self.e_min.to_value(u.keV):g}–{self.e_max.to_value(u.keV):g} keV"
        else:
            self.band = filt or None

    @property
    def values(self) -> u.Quantity:
        """The curve's values (the same array as ``rate``, whatever quantity it holds)."""
        return self.rate

    @property
    def errors(self) -> u.Quantity:
        """The values' 1σ errors (the same array as ``error``; NaN where the file gives none)."""
        return self.error

    @property
    def is_magnitude(self) -> bool:
        """True for magnitudes: brighter is smaller, so the value axis is drawn inverted."""
        return self.quantity == "magnitude" or self.rate.unit == u.mag

    @property
    def is_integral(self) -> bool:
        """An INTEGRAL curve (IJD, TT)."""
        return _is_integral(self.hdu)

    @property
    def value_label(self) -> str:
        """The value axis' label: what is plotted, its band and unit (``Rate 20–40 keV [counts/s]``,
        ``Magnitude V [mag]``, ``FLUX_B [Jy]``)."""
        unit = self.rate.unit
        unit_text = "counts/s" if unit == u.ct / u.s else unit.to_string()
        what = _QUANTITY_NAMES.get(self.quantity, self.value_column)
        if self.value_column.upper() not in VALUE_NAMES:
            what = self.value_column  # a banded or unit-chosen column says more than its quantity
        if str(self.instrument or "").upper().startswith("SPI") and (
            self.e_min is None or self.e_max is None
        ):
            band = f" ~{SPI_ACS_BAND[0]:g}–{SPI_ACS_BAND[1]:g} keV"
        else:
            band = f" {self.band}" if self.band and self.band not in what else ""
        return f"{what}{band} [{unit_text}]" if unit_text else f"{what}{band}"

    @property
    def time(self) -> Time:
        """Bin centres as astropy ``Time`` (the reference's scale), built from ``reference`` +
        ``seconds`` on first use."""
        if self._time is None:
            # offsets as TimeDelta keep the double-double precision of Time
            self._time = self.reference + TimeDelta(self.seconds, format="sec")
        return self._time

    @classmethod
    def from_product(cls, product: NumpyProduct | fits.HDUList, name: str | None = None) -> LightCurve:
        """The (first) light curve in a decoded product (or an HDUList such as ``fits.open(file)``)."""
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

    @classmethod
    def all_from_product(
        cls, product: NumpyProduct | fits.HDUList, name: str | None = None
    ) -> list[LightCurve]:
        """Every curve of a product: one per value column of each light-curve table (a product
        with FLUX_B and FLUX_V gives two; so does one with two light-curve tables). Curves of one
        product that has several get a ``curve_label`` (the column, and the table when several)."""
        if isinstance(product, NumpyProduct):
            hdul, prod, name = product.hdulist, product, name or product.name
        elif isinstance(product, fits.HDUList):
            hdul, prod = product, None
        else:
            raise TypeError(
                f"LightCurve.all_from_product needs a NumpyProduct or HDUList, got {type(product).__name__}"
            )
        meta = prod.meta_data if prod is not None else {}
        hdus = light_curve_hdus(hdul)
        if not hdus:
            find_light_curve_hdu(hdul)  # raises the OdaError that says what is missing
        out = []
        for hdu in hdus:
            _, values = _curves_in(hdu, meta.get("time"))
            for value in values:
                out.append(cls(hdu, hdulist=hdul, product=prod, name=name, value=value))
        if len(out) > 1:
            tables = len({id(lc.hdu) for lc in out}) > 1
            for lc in out:
                lc.curve_label = f"{lc.hdu.name} {lc.value_column}" if tables else lc.value_column
        return out

    @property
    def valid(self) -> np.ndarray:
        """Boolean mask of the bins worth showing (PROTOCOL §5.4); computed once. A curve without
        an error column keeps every bin with a finite time and value."""
        if self._valid is None:
            rate = self.rate.value
            with np.errstate(invalid="ignore"):
                ok = np.isfinite(self.seconds) & np.isfinite(rate)
                if self.has_errors:
                    err = self.error.value
                    ok &= np.isfinite(err) & ~((rate == 0) & (err == 0)) & (err > 0)
            self._valid = ok
        return self._valid

    @property
    def ijd(self) -> np.ndarray:
        """Bin centres in IJD (days since MJD 51544, TT)."""
        ref = self.reference.tt
        offset = (ref.jd1 - 2400000.5 - IJD_MJDREF) + ref.jd2
        return offset + self.seconds / 86400.0

    @property
    def mjd(self) -> np.ndarray:
        """Bin centres in MJD, in the curve's own time scale (UTC for an MJD column without
        TIMESYS, as written; TT for INTEGRAL)."""
        ref = self.reference
        return ((ref.jd1 - 2400000.5) + ref.jd2) + self.seconds / 86400.0

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
        band = f", {self.band}" if self.band else ""
        what = "" if self.quantity == "rate" else f" {self.value_column}"
        span = ""
        if len(self):
            ends = self.reference + TimeDelta(self.seconds[[0, -1]], format="sec")
            scale = ends.scale.upper()
            span = f", {ends[0].isot} … {ends[1].isot} {scale}"
        who = f"{self.instrument} " if self.instrument else ""
        return (
            f"LightCurve({who}{self.source!r}{what}, {len(self)} bins "
            f"({int(self.valid.sum())} valid){band}{span})"
        )
