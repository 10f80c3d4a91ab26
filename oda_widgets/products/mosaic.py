"""ISGRI / JEM-X mosaic images keyed by IMATYPE, with their WCS (PROTOCOL §5.1)."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from astropy import units as u
from astropy.io import fits
from astropy.time import Time, TimeDelta
from astropy.wcs import WCS, FITSFixedWarning

from oda_widgets.errors import OdaError
from oda_widgets.products.light_curve import IJD_MJDREF
from oda_widgets.products.numpy_product import NumpyProduct

__all__ = ["Mosaic", "IMATYPES"]

#: the images of an ISGRI mosaic, in the order the dispatcher sends them
IMATYPES = ("INTENSITY", "VARIANCE", "SIGNIFICANCE", "EXPOSURE")


def _wcs(header: fits.Header) -> WCS:
    with warnings.catch_warnings():
        # OSA writes RADECSYS (old spelling); astropy fixes it and warns — harmless
        warnings.simplefilter("ignore", FITSFixedWarning)
        return WCS(header, naxis=2)


def _label(name: str | None) -> str:
    return f"The mosaic {name!r}" if name else "The mosaic"


def _ijd_time(value: Any, header: fits.Header) -> Time:
    ref = float(header.get("MJDREF", IJD_MJDREF))
    return Time(ref, format="mjd", scale="tt") + TimeDelta(float(value) * u.day)


class Mosaic:
    """A sky mosaic: ``images`` maps IMATYPE (``INTENSITY``, ``VARIANCE``, ``SIGNIFICANCE``,
    ``EXPOSURE``) to a 2-D array; ``wcs`` is their celestial :class:`~astropy.wcs.WCS`.

    ``e_min``/``e_max`` (keV Quantity) and ``t_start``/``t_stop`` (Time, TT) come from the image
    headers or the GROUPING table when present, else None. ``headers`` maps IMATYPE to the header.
    """

    def __init__(
        self,
        images: dict[str, np.ndarray],
        headers: dict[str, fits.Header],
        *,
        hdulist: fits.HDUList,
        product: NumpyProduct | None = None,
        name: str | None = None,
    ):
        if not images:
            raise OdaError("a mosaic needs at least one image")
        try:
            self._read(images, headers, hdulist, product, name)
        except OdaError:
            raise
        except Exception as exc:  # server data: an unusable WCS or keyword is the product's error
            raise OdaError(f"{_label(name)} could not be read: {type(exc).__name__}: {exc}") from exc

    def _read(
        self,
        images: dict[str, np.ndarray],
        headers: dict[str, fits.Header],
        hdulist: fits.HDUList,
        product: NumpyProduct | None,
        name: str | None,
    ) -> None:
        for key, image in images.items():
            if np.asarray(image).dtype.kind not in "biuf":
                raise OdaError(
                    f"{_label(name)} has a {key} image of {np.asarray(image).dtype} values; images must be numbers."
                )
        self.images = images
        self.headers = headers
        self.hdulist = hdulist
        self.product = product
        self.name = name
        first = next(iter(headers.values()))
        self.wcs = _wcs(first)
        # a WCS that cannot project (singular matrix, unknown projection) fails here, not when drawn
        self.wcs.wcs.set()
        for key in images:
            self.wcs_of(key).wcs.set()
        grouping = next(
            (
                h
                for h in hdulist
                if h.name.upper() == "GROUPING"
                and isinstance(h, fits.BinTableHDU)
                and h.data is not None
                and len(h.data)
            ),
            None,
        )
        self.e_min = self._energy("E_MIN", first, grouping)
        self.e_max = self._energy("E_MAX", first, grouping)
        self.t_start = self._time(("TSTART", "TFIRST"), "DATE-OBS", first, grouping, min)
        self.t_stop = self._time(("TSTOP", "TLAST"), "DATE-END", first, grouping, max)
        for t in (self.t_start, self.t_stop):
            if t is not None:
                t.isot  # noqa: B018  (a time a calendar cannot hold fails here, not when shown)

    @staticmethod
    def _energy(key: str, header: fits.Header, grouping: Any) -> u.Quantity | None:
        if key in header:
            return float(header[key]) * u.keV
        if grouping is not None and key in grouping.columns.names:
            return float(grouping.data[key][0]) * u.keV
        return None

    @staticmethod
    def _time(
        keys: tuple[str, ...],
        date_key: str,
        header: fits.Header,
        grouping: Any,
        pick: Callable[[np.ndarray], Any],
    ) -> Time | None:
        for key in keys:
            if key in header:
                return _ijd_time(header[key], header)
        if grouping is not None:
            for key in keys:
                if key in grouping.columns.names:
                    values = np.asarray(grouping.data[key], dtype=float)
                    values = values[np.isfinite(values)]
                    if values.size:
                        return _ijd_time(pick(values), grouping.header)
        if date_key in header:
            return Time(header[date_key], scale=str(header.get("TIMESYS", "tt")).lower())
        return None

    @classmethod
    def from_product(
        cls, product: NumpyProduct | fits.HDUList, name: str | None = None, imatype: str | None = None
    ) -> Mosaic:
        """The mosaic of a decoded product or an HDUList (``fits.open(file)``).

        Images are keyed by their IMATYPE keyword; an image without one (e.g. a file holding only a
        significance map in its primary HDU) is keyed by ``imatype`` if given, else its EXTNAME,
        else ``IMAGE``.
        """
        if isinstance(product, NumpyProduct):
            hdul, prod = product.hdulist, product
            name = name or product.name
        elif isinstance(product, fits.HDUList):
            hdul, prod = product, None
        else:
            raise TypeError(
                f"Mosaic.from_product needs a NumpyProduct or HDUList, got {type(product).__name__}"
            )
        images: dict[str, np.ndarray] = {}
        headers: dict[str, fits.Header] = {}
        for h in hdul:
            if not isinstance(h, (fits.PrimaryHDU, fits.ImageHDU)) or h.data is None or h.data.ndim != 2:
                continue
            key = (
                str(
                    h.header.get("IMATYPE")
                    or imatype
                    or (h.name if h.name not in ("", "PRIMARY") else "IMAGE")
                )
                .strip()
                .upper()
            )
            if key in images:
                continue
            images[key] = h.data
            headers[key] = h.header
        if not images:
            raise OdaError(f"no 2-D image among the units {[h.name for h in hdul]}")
        return cls(images, headers, hdulist=hdul, product=prod, name=name)

    @property
    def instrument(self) -> str | None:
        """The instrument named by the image header (INSTRUME, else TELESCOP) or the product."""
        first = next(iter(self.headers.values()))
        for key in ("INSTRUME", "TELESCOP"):
            value = str(first.get(key) or "").strip()
            if value:
                return value
        meta = getattr(self.product, "meta_data", None) or {}
        given = meta.get("instrument") if isinstance(meta, dict) else None
        return str(given) if given else None

    def wcs_of(self, imatype: str) -> WCS:
        """The WCS of one image: its own header's (images of one product may differ in
        projection or grid), the mosaic's ``wcs`` when its header has no celestial axes."""
        header = self.headers.get(imatype)
        if header is None:
            raise OdaError(f"no {imatype!r} image; this mosaic has {list(self.images)}")
        w = _wcs(header)
        return w if w.has_celestial else self.wcs

    def unit(self, imatype: str) -> str | None:
        """The unit of one image (its BUNIT keyword), None when the header gives none."""
        header = self.headers.get(imatype)
        value = str(header.get("BUNIT") or "").strip() if header is not None else ""
        return value or None

    def title(self, instrument: str | None = None) -> str:
        """A one-line caption: instrument, energy band and time range (TT), from the headers.

        ``instrument`` overrides the header's (e.g. the request's ``isgri``)."""
        parts = []
        name = instrument or self.instrument
        if name:
            parts.append(str(name).upper() if str(name).islower() else str(name))
        if self.e_min is not None and self.e_max is not None:
            parts.append(f"{self.e_min.to_value(u.keV):g}–{self.e_max.to_value(u.keV):g} keV")
        if self.t_start is not None and self.t_stop is not None:
            t0 = self.t_start.tt.isot[:19].replace("T", " ")
            t1 = self.t_stop.tt.isot[:19].replace("T", " ")
            parts.append(f"{t0} – {t1} TT")
        return " · ".join(parts)

    @property
    def image(self) -> np.ndarray:
        """The image to show first: SIGNIFICANCE when present (as MMODA does), else the first."""
        return self.images.get("SIGNIFICANCE", next(iter(self.images.values())))

    @property
    def significance(self) -> np.ndarray | None:
        return self.images.get("SIGNIFICANCE")

    @property
    def shape(self) -> tuple[int, int]:
        return self.image.shape

    def save(self, path: str | os.PathLike[str], overwrite: bool = True) -> str:
        """Write every unit of the mosaic (as received) to the FITS file ``path``; returns it."""
        self.hdulist.writeto(Path(path), overwrite=overwrite)
        return str(path)

    def __repr__(self) -> str:
        band = (
            f", {self.e_min.value:g}–{self.e_max.value:g} keV"
            if self.e_min is not None and self.e_max is not None
            else ""
        )
        when = (
            f", {self.t_start.isot} … {self.t_stop.isot}"
            if self.t_start is not None and self.t_stop is not None
            else ""
        )
        ny, nx = self.shape
        return f"Mosaic({nx}×{ny} px, images {list(self.images)}{band}{when})"
