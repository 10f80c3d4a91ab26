"""Per-source spectra: spectrum + ARF + RMF as FITS, ready for XSPEC (PROTOCOL §5.3).

:meth:`Spectrum.save` writes an OGIP type-I PHA whose ``ANCRFILE``/``RESPFILE``/``BACKFILE`` name
the files written beside it, with ``OBJECT`` set, optional channel grouping (:class:`Grouping`:
minimum counts, minimum signal-to-noise, or the user's energy bins), a systematic fraction
(``SYS_ERR``) and ``QUALITY`` marking channels outside the chosen energy band — so that
``data spectrum.fits`` in XSPEC (or Sherpa's ``load_pha``) finds everything from the headers.

INTEGRAL ISGRI and JEM-X spectra from the dispatcher are already background-subtracted rates
(the ``Background`` pseudo-source of ISGRI is the background model, not a spectrum to subtract),
so ``BACKFILE`` is ``NONE`` unless a background spectrum is given explicitly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from astropy import units as u
from astropy.io import fits

from oda_widgets.errors import InvalidParameter, OdaError
from oda_widgets.products.numpy_product import NumpyProduct

__all__ = [
    "Spectrum",
    "Grouping",
    "spectral_part",
    "QUALITY_GOOD",
    "QUALITY_BAD",
    "QUALITY_DUBIOUS",
    "QUALITY_USER",
]

#: OGIP QUALITY flags: good, bad (software), dubious (software: an incomplete last group), bad (user)
QUALITY_GOOD, QUALITY_BAD, QUALITY_DUBIOUS, QUALITY_USER = 0, 1, 2, 5


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


@dataclass(frozen=True)
class Grouping:
    """How channels are grouped for a fit or an XSPEC file (OGIP ``GROUPING``: 1 starts a group,
    -1 continues it). Give one of:

    * ``min_counts`` — consecutive channels (from low energy up) until the group holds at least
      this many counts (rate × exposure; for a background-subtracted spectrum the net counts);
    * ``min_snr`` — until the group's signal-to-noise Σ rate / √Σ error² reaches this value;
    * ``edges`` — the user's energy bins (keV Quantity or numbers): channels whose centre lies in
      [edge_i, edge_i+1) form one group; channels outside the edges are marked bad (QUALITY 5).

    As in grppha and Sherpa, a last group that cannot reach the threshold is kept but flagged
    ``QUALITY = 2`` (dubious), so fits leave it out.
    """

    min_counts: float | None = None
    min_snr: float | None = None
    edges: Any = None

    def __post_init__(self):
        given = [k for k in ("min_counts", "min_snr", "edges") if getattr(self, k) is not None]
        if len(given) != 1:
            raise InvalidParameter(
                f"Grouping needs exactly one of min_counts, min_snr, edges (got {given or 'none'})"
            )
        for k in ("min_counts", "min_snr"):
            v = getattr(self, k)
            if v is not None and not (np.isfinite(v) and v > 0):
                raise InvalidParameter(f"Grouping {k} must be a positive number, got {v!r}")
        if self.edges is not None:
            e = np.asarray(u.Quantity(self.edges, u.keV).value, dtype=float)
            if e.ndim != 1 or e.size < 2 or not np.all(np.diff(e) > 0):
                raise InvalidParameter("Grouping edges must be at least two increasing energies")

    @classmethod
    def parse(cls, value: Any) -> Grouping | None:
        """None, a Grouping, ``{"min_counts": 20}`` / ``{"min_snr": 3}`` / ``{"edges": [...]}``,
        or an array of energy edges (Quantity or keV numbers)."""
        if value is None or isinstance(value, Grouping):
            return value
        if isinstance(value, dict):
            try:
                return cls(**value)
            except TypeError as exc:
                raise InvalidParameter(f"grouping: {exc}") from exc
        if isinstance(value, (list, tuple, np.ndarray, u.Quantity)):
            return cls(edges=value)
        raise InvalidParameter(
            f"grouping must be a Grouping, a dict (min_counts/min_snr/edges) or energy edges, got {value!r}"
        )

    def flags(
        self,
        rate: np.ndarray,
        error: np.ndarray,
        exposure: float,
        e_lo: np.ndarray,
        e_hi: np.ndarray,
        usable: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(grouping, quality)`` int16 arrays for the channels; ``usable`` marks the channels that
        may be grouped (good and inside the chosen band); the others stay single, their quality
        is left to the caller (0 here)."""
        n = rate.size
        grouping = np.ones(n, dtype=np.int16)
        quality = np.zeros(n, dtype=np.int16)
        idx = np.flatnonzero(usable)
        if self.edges is not None:
            edges = np.asarray(u.Quantity(self.edges, u.keV).value, dtype=float)
            centre = (e_lo + e_hi) / 2
            cell = np.searchsorted(edges, centre, side="right") - 1
            inside = (cell >= 0) & (cell < edges.size - 1)
            quality[usable & ~inside] = QUALITY_USER
            keep = idx[inside[idx]]
            if keep.size:
                new = np.r_[True, (np.diff(cell[keep]) != 0) | (np.diff(keep) != 1)]
                grouping[keep] = np.where(new, 1, -1)
            return grouping, quality
        counts = rate * exposure
        var = (error * exposure) ** 2
        start: int | None = None
        prev = -2
        acc_c = acc_v = 0.0
        for i in (int(k) for k in idx):
            if start is not None and i != prev + 1:
                # a gap (a bad channel) closes an incomplete group
                quality[start : prev + 1] = QUALITY_DUBIOUS
                start = None
            if start is None:
                start, acc_c, acc_v = i, 0.0, 0.0
                grouping[i] = 1
            else:
                grouping[i] = -1
            acc_c += counts[i]
            acc_v += var[i]
            prev = i
            done = (
                acc_c >= self.min_counts
                if self.min_counts is not None
                else acc_v > 0 and acc_c / np.sqrt(acc_v) >= (self.min_snr or 0.0)
            )
            if done:
                start = None
        if start is not None:
            quality[start : prev + 1] = QUALITY_DUBIOUS
        return grouping, quality


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

    def channel_energies(self) -> tuple[u.Quantity, u.Quantity]:
        """``(E_MIN, E_MAX)`` of each spectrum channel from the RMF's EBOUNDS, matched by channel
        number (NaN where EBOUNDS has no such channel)."""
        eb = self._ebounds()
        if eb is None:
            raise InvalidParameter(
                f"spectrum of {self.source!r} has no RMF with EBOUNDS: its channels have no energies"
            )
        eb_chan = np.asarray(eb.data["CHANNEL"], dtype=np.int64)
        order = np.argsort(eb_chan)
        chan = self.channel.astype(np.int64)
        pos = np.clip(np.searchsorted(eb_chan[order], chan), 0, eb_chan.size - 1)
        matched = eb_chan[order][pos] == chan
        j = order[pos]
        lo = np.where(matched, np.asarray(eb.data["E_MIN"], dtype=float)[j], np.nan)
        hi = np.where(matched, np.asarray(eb.data["E_MAX"], dtype=float)[j], np.nan)
        return lo * u.keV, hi * u.keV

    def usable(self) -> np.ndarray:
        """Channels a fit can use: finite rate, positive finite error, QUALITY 0 in the product."""
        rate = self.rate.value
        err = self.error.value
        ok = np.isfinite(rate) & np.isfinite(err) & (err > 0)
        d = self._spec_hdu.data
        if "QUALITY" in d.columns.names:
            ok &= np.asarray(d["QUALITY"]) == QUALITY_GOOD
        return ok

    def quality_and_grouping(
        self, grouping: Any = None, energy_range: Any = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """OGIP ``(GROUPING, QUALITY)`` for this spectrum: unusable channels bad (1), channels outside
        ``energy_range`` (E1, E2) bad by the user's choice (5), then :class:`Grouping` inside."""
        n = self.channel.size
        quality = np.zeros(n, dtype=np.int16)
        ok = self.usable()
        quality[~ok] = QUALITY_BAD
        e_lo, e_hi = (q.value for q in self.channel_energies())
        inside = np.isfinite(e_lo)
        if energy_range is not None:
            lo, hi = _energy_range(energy_range)
            inside &= (e_hi > lo) & (e_lo < hi)
            quality[ok & ~inside] = QUALITY_USER
        group = Grouping.parse(grouping)
        flags = np.ones(n, dtype=np.int16)
        if group is not None:
            usable = ok & inside
            flags, gq = group.flags(
                np.nan_to_num(self.rate.value),
                np.nan_to_num(self.error.value),
                float(self.exposure.to_value(u.s)),
                np.nan_to_num(e_lo),
                np.nan_to_num(e_hi),
                usable,
            )
            quality = np.where(usable & (gq != 0), gq, quality).astype(np.int16)
        return flags, quality

    # -- files --------------------------------------------------------------------------------

    def file_names(self) -> dict[str, str]:
        """The file names :meth:`save` writes, per part (collection names when known)."""
        base = _clean(self.source)
        out = {}
        for part in ("spectrum", "arf", "rmf"):
            if part == "spectrum" or getattr(self, part) is not None:
                out[part] = f"{self.names.get(part) or f'{base}_{part}'}.fits"
        return out

    def to_pha(
        self,
        *,
        grouping: Any = None,
        systematic: float | None = None,
        energy_range: Any = None,
        names: dict[str, str | None] | None = None,
    ) -> fits.HDUList:
        """The spectrum as an XSPEC-ready OGIP PHA (a copy; the product is left as it is).

        ``names`` gives the ``arf``/``rmf``/``background`` file names for ANCRFILE/RESPFILE/BACKFILE
        (``NONE`` for a missing one); ``grouping`` a :class:`Grouping` (or what
        :meth:`Grouping.parse` takes); ``systematic`` the fractional systematic error written as
        SYS_ERR (replacing the product's); ``energy_range`` (E1, E2) sets QUALITY = 5 outside.
        Non-finite rates are written as 0 with QUALITY = 1.
        """
        names = dict(names or {})
        spec = fits.HDUList([h.copy() for h in self.spectrum])
        index = next(i for i, h in enumerate(spec) if h.name == self._spec_hdu.name)
        old = spec[index]
        d = old.data
        n = len(d)
        rate = np.asarray(self.rate.value, dtype=float)
        err = np.asarray(self.error.value, dtype=float)
        flags, quality = self.quality_and_grouping(grouping, energy_range)
        if systematic is not None:
            if not (np.isfinite(systematic) and 0 <= systematic < 1):
                raise InvalidParameter(f"systematic must be a fraction in [0, 1), got {systematic!r}")
            sys_err = np.full(n, float(systematic))
        else:
            sys_err = self.sys_err if self.sys_err is not None else np.zeros(n)
        bad = ~(np.isfinite(rate) & np.isfinite(err))
        cols = [
            fits.Column("CHANNEL", "J", array=self.channel.astype(np.int32)),
            fits.Column("RATE", "E", unit="count/s", array=np.where(bad, 0.0, rate).astype(np.float32)),
            fits.Column("STAT_ERR", "E", unit="count/s", array=np.where(bad, 0.0, err).astype(np.float32)),
            fits.Column("SYS_ERR", "E", array=np.nan_to_num(sys_err).astype(np.float32)),
            fits.Column("QUALITY", "I", array=quality),
        ]
        if grouping is not None:
            cols.append(fits.Column("GROUPING", "I", array=flags))
        # keep any other column of the product (e.g. OSA's extra ones), not a stale grouping
        known = {c.name for c in cols} | {"GROUPING", "COUNTS"}
        cols += [c for c in old.columns if c.name not in known]
        new = fits.BinTableHDU.from_columns(cols, name=old.name)
        header = new.header
        for card in old.header.cards:
            key = card.keyword
            if key in header or key.startswith(("TTYPE", "TFORM", "TUNIT", "TNULL", "TLMIN", "TLMAX")):
                continue
            if key in ("XTENSION", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "PCOUNT", "GCOUNT", "TFIELDS"):
                continue
            if key in ("COMMENT", "HISTORY", ""):
                continue
            header[key] = (card.value, card.comment)
        detchans = self._detchans()
        header["TLMIN1"] = int(self._first_channel())
        header["TLMAX1"] = int(self._first_channel()) + detchans - 1
        header["HDUCLASS"] = "OGIP"
        header["HDUCLAS1"] = "SPECTRUM"
        header["HDUVERS"] = "1.2.1"
        header["HDUCLAS3"] = "RATE"
        header["POISSERR"] = False
        header["CHANTYPE"] = str(old.header.get("CHANTYPE", "PI"))
        header["DETCHANS"] = detchans
        header["EXPOSURE"] = float(self.exposure.to_value(u.s))
        header.setdefault("AREASCAL", 1.0)
        header.setdefault("BACKSCAL", 1.0)
        header.setdefault("CORRSCAL", 0.0)
        header["CORRFILE"] = "NONE"
        header["OBJECT"] = (str(self.source), "source name")
        header.setdefault("TELESCOP", "INTEGRAL")
        header.setdefault("INSTRUME", self._instrume())
        header.setdefault("FILTER", "NONE")
        header["ANCRFILE"] = names.get("arf") or "NONE"
        header["RESPFILE"] = names.get("rmf") or "NONE"
        header["BACKFILE"] = names.get("background") or "NONE"
        spec[index] = new
        return spec

    def _detchans(self) -> int:
        eb = self._ebounds()
        if eb is not None:
            return int(eb.header.get("DETCHANS", len(eb.data)))
        return int(self._spec_hdu.header.get("DETCHANS", self.channel.size))

    def _first_channel(self) -> int:
        eb = self._ebounds()
        if eb is not None and len(eb.data):
            return int(np.min(eb.data["CHANNEL"]))
        return int(np.min(self.channel)) if self.channel.size else 0

    def _instrume(self) -> str:
        name = (self.instrument or "").lower()
        return (
            "IBIS" if name == "isgri" else ("JEMX" if name.startswith("jemx") else name.upper() or "UNKNOWN")
        )

    def save(
        self,
        directory,
        overwrite: bool = True,
        *,
        grouping: Any = None,
        systematic: float | None = None,
        energy_range: Any = None,
        background: Spectrum | None = None,
    ) -> dict[str, Path]:
        """Write spectrum, ARF and RMF into ``directory``, ready for XSPEC: the PHA's
        ANCRFILE/RESPFILE (and BACKFILE, when a ``background`` spectrum is given) name the files
        written beside it; OBJECT is the source. ``grouping``/``systematic``/``energy_range`` as in
        :meth:`to_pha`. Returns ``{part: path}`` (``background`` too when written)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        names = self.file_names()
        header_names: dict[str, str | None] = {"arf": names.get("arf"), "rmf": names.get("rmf")}
        paths = {"spectrum": directory / names["spectrum"]}
        if background is not None:
            bkg_name = f"{Path(names['spectrum']).stem}_bkg.fits"
            header_names["background"] = bkg_name
            paths["background"] = directory / bkg_name
            background.to_pha().writeto(paths["background"], overwrite=overwrite)
        spec = self.to_pha(
            grouping=grouping, systematic=systematic, energy_range=energy_range, names=header_names
        )
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


def _energy_range(value: Any) -> tuple[float, float]:
    """(E1, E2) as keV floats from Quantities or numbers; E2 > E1 > 0."""
    try:
        lo, hi = value
    except (TypeError, ValueError) as exc:
        raise InvalidParameter(f"energy range must be (E1, E2), got {value!r}") from exc
    lo = float(u.Quantity(lo, u.keV).value)
    hi = float(u.Quantity(hi, u.keV).value)
    if not (np.isfinite(lo) and np.isfinite(hi) and 0 <= lo < hi):
        raise InvalidParameter(f"energy range: E2 ({hi} keV) must be above E1 ({lo} keV) ≥ 0")
    return lo, hi
