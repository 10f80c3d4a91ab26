"""Per-source spectra: spectrum + ARF + RMF as FITS, ready for XSPEC (PROTOCOL §5.3)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from astropy import units as u
from astropy.io import fits

from oda_widgets.errors import OdaError
from oda_widgets.products.numpy_product import NumpyProduct

__all__ = ["Spectrum", "spectral_part"]


def spectral_part(product: NumpyProduct) -> str | None:
    """``spectrum``, ``arf`` or ``rmf`` for a product of a spectral response, else None.

    Uses ``meta_data.product`` (``isgri_spectrum`` / ``isgri_arf`` / ``isgri_rmf``, JEM-X alike).
    """
    kind = str(product.meta_data.get("product") or "").lower()
    for part in ("spectrum", "arf", "rmf"):
        if kind.endswith(part):
            return part
    return None


def _clean(s: str) -> str:
    s = s.replace("-", "m").replace("+", "p").replace(" ", "_")
    return re.sub(r"[^0-9A-Za-z_]", "", s) or "source"


def _table(hdul: fits.HDUList, names: tuple[str, ...], column: str):
    for h in hdul:
        if isinstance(h, fits.BinTableHDU) and h.name.upper() in names:
            return h
    for h in hdul:
        if isinstance(h, fits.BinTableHDU) and h.data is not None and column in h.columns.names:
            return h
    return None


class Spectrum:
    """One source's spectral products: ``spectrum``, ``arf``, ``rmf`` (HDULists; ARF/RMF may be None).

    ``energy_low``/``energy_high`` are the channel bounds from the RMF's EBOUNDS (keV Quantity),
    ``channel``, ``rate``, ``error`` (count/s) the spectrum's columns, ``exposure`` its EXPOSURE.
    :meth:`save` writes three files whose ANCRFILE/RESPFILE point at each other, so XSPEC loads
    them with a single ``data`` command.
    """

    def __init__(
        self,
        source: str,
        spectrum: fits.HDUList,
        arf: fits.HDUList | None = None,
        rmf: fits.HDUList | None = None,
        *,
        names: dict[str, str] | None = None,
        instrument: str | None = None,
        products: list[NumpyProduct] | None = None,
    ):
        self.source = source
        #: the decoded products this spectrum was made of (for callers that track them)
        self.products: list[NumpyProduct] = list(products or [])
        self.spectrum = spectrum
        self.arf = arf
        self.rmf = rmf
        self.names = dict(names or {})
        self.instrument = instrument
        self._spec_hdu = _table(
            spectrum, ("ISGR-EVTS-SPE", "JMX1-PHA1-SPE", "JMX2-PHA1-SPE", "SPECTRUM"), "CHANNEL"
        )
        if self._spec_hdu is None:
            raise OdaError(f"no spectrum table in the spectrum of {source!r}")
        try:
            # what a view draws, read now: unreadable server data is this product's error
            self.channel, self.rate, self.error, self.exposure, self.energy_low, self.energy_high  # noqa: B018
        except OdaError:
            raise
        except Exception as exc:
            raise OdaError(
                f"The spectrum of {source!r} could not be read: {type(exc).__name__}: {exc}"
            ) from exc

    @classmethod
    def from_products(
        cls, source: str, parts: dict[str, NumpyProduct], names: dict[str, str] | None = None
    ) -> Spectrum:
        """Group decoded products (``{"spectrum": p, "arf": p, "rmf": p}``) into a Spectrum."""
        if "spectrum" not in parts:
            raise OdaError(f"no spectrum product for {source!r} (have {sorted(parts)})")
        kind = str(parts["spectrum"].meta_data.get("product") or "")
        instrument = kind.rsplit("_", 1)[0] if "_" in kind else None
        return cls(
            source,
            parts["spectrum"].hdulist,
            parts["arf"].hdulist if "arf" in parts else None,
            parts["rmf"].hdulist if "rmf" in parts else None,
            names=names,
            instrument=instrument,
            products=list(parts.values()),
        )

    # -- arrays -------------------------------------------------------------------------------

    def _ebounds(self):
        if self.rmf is None:
            return None
        for h in self.rmf:
            if h.name.upper() == "EBOUNDS":
                return h
        return None

    @property
    def energy_low(self) -> u.Quantity | None:
        eb = self._ebounds()
        return None if eb is None else np.asarray(eb.data["E_MIN"], dtype=float) * u.keV

    @property
    def energy_high(self) -> u.Quantity | None:
        eb = self._ebounds()
        return None if eb is None else np.asarray(eb.data["E_MAX"], dtype=float) * u.keV

    @property
    def e_min(self) -> u.Quantity | None:
        """Same as :attr:`energy_low` (the name ARCHITECTURE.md uses)."""
        return self.energy_low

    @property
    def e_max(self) -> u.Quantity | None:
        """Same as :attr:`energy_high`."""
        return self.energy_high

    @property
    def channel(self) -> np.ndarray:
        return np.asarray(self._spec_hdu.data["CHANNEL"])

    @property
    def rate(self) -> u.Quantity:
        d = self._spec_hdu.data
        if "RATE" in d.columns.names:
            return np.asarray(d["RATE"], dtype=float) * (u.ct / u.s)
        return np.asarray(d["COUNTS"], dtype=float) / self.exposure.to_value(u.s) * (u.ct / u.s)

    @property
    def error(self) -> u.Quantity:
        d = self._spec_hdu.data
        if "STAT_ERR" in d.columns.names:
            return np.asarray(d["STAT_ERR"], dtype=float) * (u.ct / u.s)
        return np.sqrt(np.abs(self.rate.value) / self.exposure.to_value(u.s)) * (u.ct / u.s)

    @property
    def sys_err(self) -> np.ndarray | None:
        """The fractional systematic error per channel (OGIP SYS_ERR), or None."""
        d = self._spec_hdu.data
        return np.asarray(d["SYS_ERR"], dtype=float) if "SYS_ERR" in d.columns.names else None

    @property
    def exposure(self) -> u.Quantity:
        return float(self._spec_hdu.header.get("EXPOSURE", np.nan)) * u.s

    # -- files --------------------------------------------------------------------------------

    def file_names(self) -> dict[str, str]:
        """The file names :meth:`save` writes, per part (collection names when known)."""
        base = _clean(self.source)
        out = {}
        for part in ("spectrum", "arf", "rmf"):
            if part == "spectrum" or getattr(self, part) is not None:
                out[part] = f"{self.names.get(part) or f'{base}_{part}'}.fits"
        return out

    def save(self, directory, overwrite: bool = True) -> dict[str, Path]:
        """Write spectrum, ARF and RMF into ``directory``; the spectrum's ANCRFILE/RESPFILE name
        the written ARF/RMF files. Returns ``{part: path}``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        names = self.file_names()
        spec = fits.HDUList([h.copy() for h in self.spectrum])
        target = next(h for h in spec if h.name == self._spec_hdu.name)
        target.header["ANCRFILE"] = names.get("arf", "NONE")
        target.header["RESPFILE"] = names.get("rmf", "NONE")
        paths = {"spectrum": directory / names["spectrum"]}
        spec.writeto(paths["spectrum"], overwrite=overwrite)
        for part in ("arf", "rmf"):
            hdul = getattr(self, part)
            if hdul is not None:
                paths[part] = directory / names[part]
                hdul.writeto(paths[part], overwrite=overwrite)
        return paths

    def __repr__(self) -> str:
        parts = "+".join(
            p for p in ("spectrum", "arf", "rmf") if p == "spectrum" or getattr(self, p) is not None
        )
        return f"Spectrum({self.source!r}, {len(self.channel)} channels, {parts})"
