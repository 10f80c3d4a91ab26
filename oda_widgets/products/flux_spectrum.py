"""Spectra of workflow instruments: OGIP-like spectrum files and energy/flux tables.

A workflow declares a spectrum with the ontology term ``Spectrum``; what it sends is either an
OGIP-like FITS file (a ``SPECTRUM`` table with ``CHANNEL`` and ``RATE``/``COUNTS``, channel
energies from an ``EBOUNDS`` unit in the same file or from ``E_MIN``/``E_MAX`` columns) —
:class:`OgipSpectrum`, a :class:`~oda_widgets.products.Spectrum` — or a table of flux against
energy, frequency or wavelength — :class:`FluxSpectrum`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from astropy import units as u
from astropy.io import fits
from astropy.table import Table

from oda_widgets.errors import OdaError
from oda_widgets.products.columns import guess_plot_columns
from oda_widgets.products.numpy_product import NumpyProduct
from oda_widgets.products.spectrum import Spectrum

__all__ = ["OgipSpectrum", "FluxSpectrum", "is_ogip_spectrum", "spectrum_table", "flux_spectrum_columns"]

_SPECTRUM_NAMES = ("SPECTRUM", "ISGR-EVTS-SPE", "JMX1-PHA1-SPE", "JMX2-PHA1-SPE")


def spectrum_table(hdul: fits.HDUList) -> Any:
    """The OGIP spectrum table of ``hdul`` (HDUCLAS1 ``SPECTRUM`` or EXTNAME ``SPECTRUM`` with a
    ``CHANNEL`` column and ``RATE`` or ``COUNTS``), else None."""
    for h in hdul:
        if not isinstance(h, fits.BinTableHDU) or h.data is None:
            continue
        names = {n.upper() for n in h.columns.names}
        named = h.name.upper() in _SPECTRUM_NAMES or str(h.header.get("HDUCLAS1", "")).upper() == "SPECTRUM"
        if named and "CHANNEL" in names and names & {"RATE", "COUNTS"}:
            return h
    return None


def is_ogip_spectrum(hdul: fits.HDUList) -> bool:
    """Whether ``hdul`` holds an OGIP-like spectrum table (see :func:`spectrum_table`)."""
    return spectrum_table(hdul) is not None


def _energy_column(data: Any, name: str, unit: str | None) -> np.ndarray:
    values = np.asarray(data[name], dtype=float)
    if not unit:
        return values  # OGIP energies are keV
    try:
        converted: np.ndarray = (values * u.Unit(unit)).to_value(u.keV, equivalencies=u.spectral())
    except (ValueError, TypeError, u.UnitsError):
        return values
    return converted


class OgipSpectrum(Spectrum):
    """A workflow's OGIP-like spectrum file: a :class:`~oda_widgets.products.Spectrum` whose
    channel energies (:attr:`ebounds`, keV) come from an RMF if one is given, else from an
    ``EBOUNDS`` unit of the spectrum file itself, else from ``E_MIN``/``E_MAX`` columns of the
    spectrum table."""

    @property
    def ebounds(self) -> Any:
        """The EBOUNDS table (CHANNEL, E_MIN, E_MAX in keV), or None."""
        for hdul in (self.rmf, self.spectrum):
            if hdul is None:
                continue
            for h in hdul:
                if h.name.upper() == "EBOUNDS" and h.data is not None:
                    if hdul is self.rmf:
                        return h
                    cols = {n.upper(): n for n in h.columns.names}
                    return self._keV(h.data, cols, h.columns)
        spec = spectrum_table(self.spectrum)
        if spec is not None:
            cols = {n.upper(): n for n in spec.columns.names}
            if "E_MIN" in cols and "E_MAX" in cols:
                return self._keV(spec.data, cols, spec.columns)
        return None

    @staticmethod
    def _keV(data: Any, cols: dict[str, str], columns: Any) -> Any:
        units = {c.name: c.unit for c in columns}
        return fits.BinTableHDU.from_columns(
            [
                fits.Column("CHANNEL", "J", array=np.asarray(data[cols["CHANNEL"]], dtype=np.int32)),
                fits.Column(
                    "E_MIN", "D", unit="keV", array=_energy_column(data, cols["E_MIN"], units[cols["E_MIN"]])
                ),
                fits.Column(
                    "E_MAX", "D", unit="keV", array=_energy_column(data, cols["E_MAX"], units[cols["E_MAX"]])
                ),
            ],
            name="EBOUNDS",
        )

    def _ebounds(self) -> Any:
        return self.ebounds

    @classmethod
    def from_product(
        cls, product: NumpyProduct | fits.HDUList, *, name: str | None = None, source: str | None = None
    ) -> OgipSpectrum:
        """The spectrum of a decoded product (or an HDUList); ``source`` names it when the file
        does not (OBJECT keyword)."""
        hdul = product.hdulist if isinstance(product, NumpyProduct) else product
        spec = spectrum_table(hdul)
        if spec is None:
            raise OdaError(f"no OGIP spectrum table among the units {[h.name for h in hdul]}")
        header = spec.header
        primary = hdul[0].header
        src = str(
            header.get("OBJECT")
            or primary.get("OBJECT")
            or source
            or getattr(product, "label", "")
            or "source"
        )
        instrument = (
            str(header.get("INSTRUME") or header.get("TELESCOP") or primary.get("INSTRUME") or "") or None
        )
        products = [product] if isinstance(product, NumpyProduct) else []
        names = {"spectrum": name} if name else None
        return cls(src, hdul, names=names, instrument=instrument, products=products)


def flux_spectrum_columns(table: Table) -> dict[str, str | None] | None:
    """The columns of a flux spectrum in ``table``: ``x`` (energy, frequency or wavelength —
    a spectral unit), ``y`` (flux), ``y_err``, ``x_lo``/``x_hi`` and ``upper_limit``; None when
    the table has no spectral column with a unit and a numeric column beside it."""
    cols = guess_plot_columns(table)
    if cols.x is None or cols.y is None:
        return None
    unit = table[cols.x].unit
    try:
        spectral = unit is not None and u.Unit(unit).is_equivalent(u.keV, equivalencies=u.spectral())
    except (ValueError, TypeError):
        spectral = False
    if not spectral:
        return None
    return {
        "x": cols.x,
        "y": cols.y,
        "y_err": cols.y_err,
        "x_lo": cols.x_lo,
        "x_hi": cols.x_hi,
        "upper_limit": cols.upper_limit,
    }


def _table_of(product: Any) -> Table:
    if isinstance(product, Table):
        return product
    inner = getattr(product, "table", None)
    if isinstance(inner, Table):
        return inner
    hdul = product.hdulist if isinstance(product, NumpyProduct) else product
    if isinstance(hdul, fits.HDUList):
        for h in hdul:
            if isinstance(h, (fits.BinTableHDU, fits.TableHDU)) and h.data is not None and len(h.data):
                table = Table.read(h)
                if flux_spectrum_columns(table) is not None:
                    return table
    raise OdaError("no table of flux against energy, frequency or wavelength (with units) in this product")


class FluxSpectrum:
    """Flux against energy, frequency or wavelength, with errors and upper limits — what a
    workflow sends as a ``Spectrum`` that is not an OGIP count spectrum.

    * ``x`` — the spectral coordinate as given (Quantity: keV, Hz, Å…); :attr:`energy` — in keV;
    * ``x_lo``/``x_hi`` — bin edges (Quantity) or None;
    * ``flux``, ``error`` — Quantity in the table's unit (error NaN where none);
    * ``upper_limit`` — boolean array (True: ``flux`` is an upper limit);
    * ``source``, ``name``, ``table`` (the whole table), ``products`` (where it came from).
    """

    def __init__(
        self,
        table: Table,
        *,
        source: str | None = None,
        name: str | None = None,
        products: list[Any] | None = None,
    ):
        cols = flux_spectrum_columns(table)
        if cols is None:
            raise OdaError(
                f"table {name or ''!r} has no column of energy, frequency or wavelength with a unit "
                f"beside a flux column (columns: {table.colnames})"
            )
        self.table = table
        self.columns = cols
        self.name = name
        self.source = str(source or table.meta.get("OBJECT") or table.meta.get("source") or name or "source")
        self.products: list[Any] = list(products or [])
        self.instrument: str | None = None

        def quantity(col: str | None) -> u.Quantity | None:
            if col is None:
                return None
            c = table[col]
            values: np.ndarray = np.ma.filled(np.ma.asarray(c, dtype=float), np.nan)
            return u.Quantity(values, c.unit if c.unit is not None else u.dimensionless_unscaled)

        x = quantity(cols["x"])
        y = quantity(cols["y"])
        assert x is not None and y is not None
        self.x: u.Quantity = x
        self.flux: u.Quantity = y
        err = quantity(cols["y_err"])
        self.error: u.Quantity = (
            err.to(y.unit)
            if err is not None and err.unit.is_equivalent(y.unit)
            else (err.value * y.unit if err is not None else np.full(len(table), np.nan) * y.unit)
        )
        self.x_lo = quantity(cols["x_lo"])
        self.x_hi = quantity(cols["x_hi"])
        ul = cols["upper_limit"]
        self.upper_limit: np.ndarray = (
            np.asarray(table[ul], dtype=bool) if ul is not None else np.zeros(len(table), dtype=bool)
        )

    @classmethod
    def from_product(
        cls, product: Any, *, name: str | None = None, source: str | None = None
    ) -> FluxSpectrum:
        """The flux spectrum of a table product, a FITS product (its first table with a spectral
        column), an astropy Table or an HDUList."""
        table = _table_of(product)
        label = getattr(product, "label", None)
        return cls(table, source=source, name=name or label, products=[product])

    @property
    def energy(self) -> u.Quantity:
        """Bin centres in keV (frequencies and wavelengths converted)."""
        return self.x.to(u.keV, equivalencies=u.spectral())

    @property
    def energy_half_width(self) -> u.Quantity:
        """Half the bin width in keV (0 without bin edges)."""
        if self.x_lo is None or self.x_hi is None:
            return np.zeros(len(self.x)) * u.keV
        lo = self.x_lo.to_value(u.keV, equivalencies=u.spectral())
        hi = self.x_hi.to_value(u.keV, equivalencies=u.spectral())
        return np.abs(hi - lo) / 2 * u.keV

    @property
    def label(self) -> str:
        """What the y axis shows: the flux column and its unit."""
        name = self.columns["y"] or "flux"
        unit = self.flux.unit.to_string() if self.flux.unit != u.dimensionless_unscaled else ""
        return f"{name} [{unit}]" if unit else name

    def save(self, path: str | os.PathLike[str], overwrite: bool = True) -> str:
        """Write the table (FITS for ``.fits``, else by extension, ECSV by default); returns the path."""
        p = Path(path)
        if p.is_dir():
            p = p / f"{self.name or self.source}.ecsv"
        fmt = (
            "fits"
            if p.suffix.lower() in (".fits", ".fit")
            else ("ascii.ecsv" if p.suffix in ("", ".ecsv") else None)
        )
        self.table.write(p, format=fmt, overwrite=overwrite)
        return str(p)

    def __len__(self) -> int:
        return len(self.table)

    def __repr__(self) -> str:
        return (
            f"FluxSpectrum({self.source!r}, {len(self)} points of {self.columns['y']} against "
            f"{self.columns['x']}, {int(self.upper_limit.sum())} upper limits)"
        )
