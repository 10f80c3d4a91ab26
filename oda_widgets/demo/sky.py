"""The demo sky: INTEGRAL's hard-X-ray sky of 2002-2024 and its time line.

Positions are the published J2000 coordinates. Persistent sources have rough 20-40 keV levels in
mCrab with a smooth, deterministic variability so that light curves and mosaics look alive but
reproducible. The historic transients of the mission — MAXI J1820+070 in 2018, V404 Cyg in 2015,
Swift J1727.8-1613 in 2023, GX 339-4's outbursts, ... — shine at their real positions only during
their real outbursts, with light curves shaped like the published ones, in the ISGRI and in the
JEM-X band (:mod:`.history`, ``data/transients.ecsv``).

Invented transients that are *not* in the reference catalogue (they come out of the imaging step as
``NEW_1``, ``NEW_2``, ... with ``NEW_SOURCE = 1``):

* ``NEW_1`` near the Galactic Centre (RA 266.05, Dec -28.65), active all of 2017
  — the default ISGRI request (1E 1740.7-2942, 2017-03-06) detects it;
* ``NEW_2`` in Cygnus (RA 305.20, Dec 37.45), active 2015-06-01 .. 2015-10-01;
* ``NEW_3`` near Vela X-1 (RA 133.10, Dec -42.30), active 2020-01-01 .. 2020-06-30.

SPI-ACS light curves carry the bright gamma-ray bursts of the mission at their real trigger times
(GRB 221009A, the brightest ever, on 2022-10-09 at 13:16:59.99 UTC; GRB 230307A, GRB 130427A,
GRB 170817A, ... and the SGR 1806-20 giant flare; ``data/bursts.ecsv``) plus one synthetic burst
every few hours at deterministic times.

:func:`resolve` knows every source and burst by its name and its common aliases.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, replace
from functools import cache

import numpy as np

from oda_widgets.demo import history
from oda_widgets.products.light_curve import IJD_MJDREF

#: Revolution bookkeeping: revolution length (days) and the IJD at which revolution 0 would start,
#: chosen so that 2017-03-06 falls in revolution ~1791, as it did for INTEGRAL.
REVOLUTION_DAYS = 2.9954
REVOLUTION_ZERO_IJD = 912.2
#: A science window slot: pointing + slew (s); the on-source part is ``SCW_EXPOSURE``.
SCW_SLOT = 2400.0
SCW_EXPOSURE = 2200.0
#: Fraction of every revolution lost to the radiation belts (no science windows).
PERIGEE_FRACTION = 0.1


@dataclass(frozen=True)
class Source:
    """A point source of the demo sky."""

    name: str
    ra: float
    dec: float
    flux_mcrab: float
    photon_index: float = 2.1
    variability: float = 0.2
    period_days: float = 30.0
    new: bool = False
    active_ijd: tuple[float, float] | None = None
    #: Spectral shape beyond the power law (XSPEC definitions; :func:`spectral_model` gives the
    #: whole model): an exponential cut-off at ``cutoff_kev`` (cutoffpl), and/or a black body of
    #: ``bbody_kt`` keV with XSPEC bbody norm ``bbody_norm`` (L39/D10²) at the mean flux.
    cutoff_kev: float | None = None
    bbody_kt: float | None = None
    bbody_norm: float = 0.0
    #: Other names the resolver knows.
    aliases: tuple[str, ...] = ()
    #: Outbursts (and lasting changes of the persistent level) from ``data/transients.ecsv``.
    episodes: tuple[history.Episode, ...] = ()

    def flux(self, ijd, instrument: str = "isgri") -> np.ndarray:
        """Flux in mCrab at IJD time(s): 20-40 keV for ISGRI, 3-20 keV for JEM-X (the persistent
        part is the same in both; outbursts have their own level in each band)."""
        ijd = np.asarray(ijd, dtype=float)
        f = np.zeros_like(ijd)
        if self.flux_mcrab > 0:
            phase = _hash_float(self.name) * 2 * math.pi
            f = self.flux_mcrab * (
                1.0
                + self.variability * np.sin(2 * math.pi * ijd / self.period_days + phase)
                + 0.5 * self.variability * np.sin(2 * math.pi * ijd / (self.period_days / 7.3) + 2 * phase)
            )
        if self.episodes and ijd.size:
            lo, hi = float(ijd.min()), float(ijd.max())
            for ep in self.episodes:
                if ep.mode == "scale":
                    f = f * ep.value(ijd, instrument)
                elif ep.end >= lo and ep.start <= hi:
                    f = f + ep.value(ijd, instrument)
        if self.active_ijd is not None:
            lo, hi = self.active_ijd
            f = np.where((ijd >= lo) & (ijd <= hi), f, 0.0)
        return np.clip(f, 0.0, None)


def _hash_float(text: str) -> float:
    return int(hashlib.md5(text.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


def ijd_from_iso(iso: str) -> float:
    from astropy.time import Time

    return float(Time(iso, format="isot", scale="utc").tt.mjd - IJD_MJDREF)


def _ijd(y, m, d) -> float:
    from astropy.time import Time

    return float(Time(f"{y:04d}-{m:02d}-{d:02d}T00:00:00", scale="tt").mjd - IJD_MJDREF)


#: INTEGRAL science operations: first light (October 2002) to the end of science (February 2025).
MISSION_START_IJD = _ijd(2002, 10, 17)
MISSION_END_IJD = _ijd(2025, 3, 1)

_PERSISTENT: tuple[Source, ...] = (
    Source("Crab", 83.63308, 22.01450, 1000.0, 2.1, 0.02, 400.0),
    Source("A 0535+262", 84.72746, 26.31583, 40.0, 2.4, 0.8, 111.0),
    Source("4U 0614+091", 94.28042, 9.13694, 30.0, 2.3, 0.3, 50.0),
    Source("Cyg X-1", 299.59032, 35.20160, 900.0, 1.7, 0.35, 5.6, cutoff_kev=150.0),
    Source("Cyg X-3", 308.10742, 40.95775, 200.0, 3.0, 0.4, 4.8),
    Source("GX 1+4", 263.01213, -24.74558, 100.0, 2.5, 0.4, 300.0),
    Source("4U 1700-377", 255.98654, -37.84411, 400.0, 2.6, 0.5, 3.41),
    Source("GRS 1915+105", 288.79813, 10.94578, 300.0, 2.8, 0.5, 33.5),
    Source("1E 1740.7-2942", 265.97846, -29.74517, 80.0, 1.8, 0.15, 12.7, cutoff_kev=200.0),
    Source("GX 354-0", 262.98917, -33.83469, 100.0, 2.4, 0.3, 20.0),
    Source("GX 5-1", 270.28417, -25.07917, 80.0, 3.3, 0.2, 40.0, bbody_kt=2.8, bbody_norm=0.08),
    Source("GX 3+1", 266.98333, -26.56361, 60.0, 3.5, 0.2, 35.0),
    Source("GX 17+2", 274.00583, -14.03639, 60.0, 3.2, 0.2, 25.0, bbody_kt=2.5, bbody_norm=0.05),
    Source("GS 1826-238", 277.36750, -23.79694, 100.0, 1.9, 0.1, 60.0, cutoff_kev=60.0),
    Source("4U 1820-30", 275.91833, -30.36111, 50.0, 2.7, 0.3, 171.0),
    # discovered by INTEGRAL as IGR J17464-3213 in 2003: a recurrent transient
    Source("H1743-322", 266.56500, -32.23389, 0.0, 1.6, 0.0),
    Source("IGR J17456-2901", 266.41667, -29.00778, 10.0, 2.2, 0.1, 100.0),
    # a transient: active only in its outbursts (data/transients.ecsv)
    Source("GX 339-4", 255.70569, -48.78975, 0.0, 1.7, 0.0, cutoff_kev=100.0),
    Source("4U 1630-47", 248.50667, -47.39333, 50.0, 2.6, 0.6, 150.0),
    Source("OAO 1657-415", 255.20375, -41.65611, 100.0, 2.3, 0.4, 10.4),
    Source("Vela X-1", 135.52858, -40.55469, 500.0, 2.5, 0.4, 8.96),
    Source("Cen X-3", 170.31329, -60.62306, 200.0, 2.6, 0.5, 2.09),
    Source("Her X-1", 254.45755, 35.34236, 150.0, 2.0, 0.5, 35.0),
    Source("SS 433", 287.95651, 4.98272, 30.0, 2.5, 0.3, 162.0),
    Source("Sco X-1", 244.97946, -15.64022, 500.0, 4.0, 0.3, 19.0),
    Source("SMC X-1", 19.27142, -73.44333, 40.0, 2.4, 0.4, 3.89),
    Source("LMC X-4", 83.20650, -66.37036, 30.0, 2.4, 0.4, 30.5),
    Source("NGC 4151", 182.63574, 39.40585, 30.0, 1.7, 0.2, 120.0),
    Source("3C 273", 187.27792, 2.05239, 15.0, 1.6, 0.2, 300.0),
    Source("NEW_1", 266.05000, -28.65000, 60.0, 2.0, 0.2, 9.0, True, (_ijd(2017, 1, 1), _ijd(2018, 1, 1))),
    Source("NEW_2", 305.20000, 37.45000, 80.0, 2.0, 0.3, 11.0, True, (_ijd(2015, 6, 1), _ijd(2015, 10, 1))),
    Source("NEW_3", 133.10000, -42.30000, 70.0, 2.0, 0.3, 7.0, True, (_ijd(2020, 1, 1), _ijd(2020, 6, 30))),
    # the TeV blazar of the multi-wavelength lesson, at the quiet hard X-ray level the shipped SED
    # workflow's model gives (nuFnu ~4e-11 erg/cm2/s at 30 keV ~ 3.5 mCrab, photon index ~2.6);
    # its April 2013 flares are in data/transients.ecsv
    Source("Mrk 421", 166.11381, 38.20883, 3.5, 2.6, 0.3, 30.0),
)


#: Common names of the persistent sources (the transients' aliases are in data/transients.ecsv).
ALIASES: dict[str, tuple[str, ...]] = {
    "Crab": ("Crab Nebula", "Crab Pulsar", "PSR B0531+21", "M1", "Tau X-1"),
    "Cyg X-1": ("Cygnus X-1", "HDE 226868", "V1357 Cyg"),
    "Cyg X-3": ("Cygnus X-3", "V1521 Cyg"),
    "GX 1+4": ("V2116 Oph",),
    "4U 1700-377": ("HD 153919", "V884 Sco"),
    "1E 1740.7-2942": ("Great Annihilator",),
    "GX 354-0": ("4U 1728-34",),
    "GX 5-1": ("4U 1758-25",),
    "GX 3+1": ("4U 1744-26",),
    "GX 17+2": ("4U 1813-14",),
    "GS 1826-238": ("GS 1826-24", "V4634 Sgr"),
    "IGR J17456-2901": ("Sgr A*", "Galactic Centre", "Galactic Center"),
    "Vela X-1": ("4U 0900-40", "GP Vel", "HD 77581"),
    "Cen X-3": ("Centaurus X-3", "V779 Cen"),
    "Her X-1": ("Hercules X-1", "HZ Her"),
    "SS 433": ("V1343 Aql",),
    "Sco X-1": ("Scorpius X-1", "V818 Sco"),
}


def _with_history(src: Source, known: dict[str, history.Transient]) -> Source:
    """``src`` with its aliases and the episodes of data/transients.ecsv of the same name."""
    t = known.get(src.name)
    aliases = ALIASES.get(src.name, ()) + (t.aliases if t else ())
    return replace(src, aliases=aliases, episodes=t.episodes if t else ())


def _sky() -> tuple[Source, ...]:
    # Catalogue order is the meta_ID order of image catalogs: the persistent sources and the
    # invented transients keep their indices; the historic transients follow.
    known = {t.name: t for t in history.transients()}
    persistent = [_with_history(s, known) for s in _PERSISTENT]
    names = {s.name for s in persistent}
    historic = [
        Source(t.name, t.ra, t.dec, 0.0, t.photon_index, 0.0, aliases=t.aliases, episodes=t.episodes)
        for t in known.values()
        if t.name not in names
    ]
    return (*persistent, *historic)


SOURCES: tuple[Source, ...] = _sky()


def name_key(name: str) -> str:
    """How names are compared: case, spaces and underscores ignored, typographic dashes as '-'."""
    text = str(name).strip().lower()
    for dash in "\u2212\u2013\u2014\u2010":
        text = text.replace(dash, "-")
    return text.replace(" ", "").replace("_", "")


@dataclass(frozen=True)
class Resolved:
    """What the resolver knows of a name: the canonical name and the J2000 position (deg)."""

    name: str
    ra: float
    dec: float


def _names() -> dict[str, Resolved]:
    out: dict[str, Resolved] = {}
    for s in SOURCES:
        if s.new:
            continue
        for n in (s.name, *s.aliases):
            out.setdefault(name_key(n), Resolved(s.name, s.ra, s.dec))
    for b in history.bursts():
        for n in (b.name, *b.aliases):
            out.setdefault(name_key(n), Resolved(b.name, b.ra, b.dec))
    return out


_BY_NAME = _names()


def resolve(name: str) -> Resolved | None:
    """The source or burst of the demo sky called ``name`` (or one of its aliases), or None."""
    return _BY_NAME.get(name_key(name))


def find_source(name: str) -> Source | None:
    """The catalogued source called ``name`` or one of its aliases, or None."""
    r = resolve(name)
    return next((s for s in SOURCES if r is not None and s.name == r.name), None)


#: The demo's spectra are normalised at the centre of each instrument's reference band (the
#: band of its mCrab levels, see :meth:`Source.flux`): 28.3 keV for ISGRI (20–40 keV), 7.7 keV for
#: JEM-X (3–20 keV), where 1 mCrab is a thousandth of the Crab, taken as 10 E^-2.1 photons cm⁻² s⁻¹ keV⁻¹.
PIVOT_KEV = {"isgri": 28.3, "jemx": 7.7}
#: keV → erg
KEV_ERG = 1.602176634e-9


def crab_at(energy_kev: float) -> float:
    """The Crab's photon flux density (photons cm⁻² s⁻¹ keV⁻¹) the demo uses: 10 E^-2.1."""
    return 10.0 * energy_kev**-2.1


def spectral_model(src: Source, mcrab: float, instrument: str = "isgri") -> dict:
    """The XSPEC-style model of ``src``'s spectrum when it is at ``mcrab`` mCrab in
    ``instrument``'s reference band: ``{"model": "cutoffpl", "cutoffpl.gamma": ...,
    "cutoffpl.ecut": ..., "cutoffpl.norm": ...}`` (norms in photons cm⁻² s⁻¹ keV⁻¹ at 1 keV;
    ``bbody.norm`` is L39/D10², ``src.bbody_norm`` at ``src.flux_mcrab``, scaled with the flux).
    The (cut-off) power law equals ``mcrab`` mCrab at the band's pivot energy
    (:data:`PIVOT_KEV`); the black body comes on top."""
    pivot = PIVOT_KEV[instrument]
    level = crab_at(pivot) * mcrab / 1000.0
    out: dict = {}
    if src.cutoff_kev:
        out["model"] = "cutoffpl"
        norm = level * pivot**src.photon_index * math.exp(pivot / src.cutoff_kev)
        out.update(
            {"cutoffpl.gamma": src.photon_index, "cutoffpl.ecut": src.cutoff_kev, "cutoffpl.norm": norm}
        )
    else:
        out["model"] = "powerlaw"
        out.update({"powerlaw.gamma": src.photon_index, "powerlaw.norm": level * pivot**src.photon_index})
    if src.bbody_kt and src.flux_mcrab > 0:
        out["model"] = "bbody+" + out["model"]
        out.update({"bbody.kt": src.bbody_kt, "bbody.norm": src.bbody_norm * mcrab / src.flux_mcrab})
    return out


def photon_spectrum(src: Source, energy_kev, mcrab: float, instrument: str = "isgri") -> np.ndarray:
    """Photons cm⁻² s⁻¹ keV⁻¹ of ``src`` at ``energy_kev`` (the model of :func:`spectral_model`)."""
    e = np.asarray(energy_kev, dtype=float)
    m = spectral_model(src, mcrab, instrument)
    if "cutoffpl.norm" in m:
        n = m["cutoffpl.norm"] * e ** -m["cutoffpl.gamma"] * np.exp(-e / m["cutoffpl.ecut"])
    else:
        n = m["powerlaw.norm"] * e ** -m["powerlaw.gamma"]
    if "bbody.kt" in m:
        kt = m["bbody.kt"]
        with np.errstate(over="ignore"):
            n = n + m["bbody.norm"] * 8.0525 * e**2 / (kt**4 * np.expm1(e / kt))
    return n


def energy_flux(src: Source, e1: float, e2: float, mcrab: float, instrument: str = "isgri") -> float:
    """The model's energy flux in [e1, e2] keV, erg cm⁻² s⁻¹ (fine log grid, trapezoids)."""
    e = np.geomspace(e1, e2, 4001)
    y = e * photon_spectrum(src, e, mcrab, instrument)
    return float(np.sum((y[1:] + y[:-1]) / 2 * np.diff(e)) * KEV_ERG)


def crab_rate(e1: float, e2: float, instrument: str = "isgri") -> float:
    """Count rate (count/s) of 1 Crab in the band, roughly as ISGRI / JEM-X see it."""

    # Photon index 2.1 -> counts per band ~ E^-1.1 differences; normalised on a reference band.
    def band(a, b):
        return (a**-1.1 - b**-1.1) / 1.1

    if instrument == "jemx":
        return 80.0 * band(e1, e2) / band(3.0, 20.0)
    return 100.0 * band(e1, e2) / band(20.0, 40.0)


def source_rate(src: Source, ijd, e1: float, e2: float, instrument: str = "isgri") -> np.ndarray:
    """Count rate of ``src`` in the band at time(s) ``ijd``, shaped by its photon index."""
    e_mid = math.sqrt(e1 * e2)
    e_ref = 7.7 if instrument == "jemx" else 28.3
    colour = (e_mid / e_ref) ** (-(src.photon_index - 2.1))
    return src.flux(ijd, instrument) / 1000.0 * crab_rate(e1, e2, instrument) * colour


# --------------------------------------------------------------------------------------------
# Science windows


@dataclass(frozen=True)
class ScienceWindow:
    scw_id: str
    t_start: float  # IJD
    t_stop: float  # IJD
    ra: float  # pointing
    dec: float

    @property
    def exposure(self) -> float:
        return (self.t_stop - self.t_start) * 86400.0


def revolution(ijd: float) -> int:
    return int(math.floor((ijd - REVOLUTION_ZERO_IJD) / REVOLUTION_DAYS))


def _slot_start(rev: int, k: int) -> float:
    return REVOLUTION_ZERO_IJD + rev * REVOLUTION_DAYS + k * SCW_SLOT / 86400.0


def slots_per_revolution() -> int:
    return int(REVOLUTION_DAYS * (1 - PERIGEE_FRACTION) * 86400.0 // SCW_SLOT)


def _pointing(rev: int, k: int, ra: float, dec: float, radius: float) -> tuple[float, float]:
    """Deterministic pointing: a per-revolution field offset plus INTEGRAL's 5x5 dither (2.17 deg)."""
    rng = np.random.default_rng([rev, 7919])
    dither = min(2.17, radius / 3.0)
    # Fields wander over the search radius so that a larger radius covers more sky.
    field = max(0.0, min(0.6 * radius, radius - 2 * dither))
    r = field * math.sqrt(rng.random())
    a = 2 * math.pi * rng.random()
    ix, iy = (k % 25) % 5 - 2, (k % 25) // 5 - 2
    dx, dy = r * math.cos(a) + ix * dither, r * math.sin(a) + iy * dither
    p_dec = float(np.clip(dec + dy, -89.9, 89.9))
    p_ra = (ra + dx / max(math.cos(math.radians(p_dec)), 0.05)) % 360.0
    return p_ra, p_dec


def scw_id(rev: int, k: int) -> str:
    return f"{rev:04d}{k + 1:04d}0010.001"


def science_windows(
    t1_ijd: float, t2_ijd: float, ra: float, dec: float, radius: float, max_pointings: int, seed: int
) -> list[ScienceWindow]:
    """The ScWs in [T1, T2] pointed within ``radius`` of (RA, DEC): a random subset of
    ``max_pointings`` of them, as the INTEGRAL plugin picks, in time order."""
    n_slots = slots_per_revolution()
    t1_ijd, t2_ijd = max(t1_ijd, MISSION_START_IJD), min(t2_ijd, MISSION_END_IJD)
    if t2_ijd <= t1_ijd:
        return []
    rev0, rev1 = revolution(t1_ijd), revolution(t2_ijd)
    candidates: list[tuple[int, int]] = []
    for rev in range(rev0, rev1 + 1):
        base = REVOLUTION_ZERO_IJD + rev * REVOLUTION_DAYS
        k_lo = max(0, int(math.ceil((t1_ijd - base) * 86400.0 / SCW_SLOT)))
        k_hi = min(
            n_slots - 1, int(math.floor((t2_ijd - base) * 86400.0 / SCW_SLOT - SCW_EXPOSURE / SCW_SLOT))
        )
        candidates.extend((rev, k) for k in range(k_lo, k_hi + 1))
        if len(candidates) > 200000:
            break
    if len(candidates) > max_pointings:
        rng = np.random.default_rng(seed)
        pick = np.sort(rng.choice(len(candidates), size=max_pointings, replace=False))
        candidates = [candidates[i] for i in pick]
    out = []
    for rev, k in candidates:
        t0 = _slot_start(rev, k)
        p_ra, p_dec = _pointing(rev, k, ra, dec, radius)
        out.append(ScienceWindow(scw_id(rev, k), t0, t0 + SCW_EXPOSURE / 86400.0, p_ra, p_dec))
    return out


def science_windows_from_ids(ids: list[str], ra: float, dec: float) -> list[ScienceWindow]:
    """ScWs named explicitly (``scw_list``): times from the revolution/pointing digits."""
    out = []
    for sid in ids:
        rev, k = int(sid[:4]), max(int(sid[4:8]) - 1, 0) % max(slots_per_revolution(), 1)
        t0 = _slot_start(rev, k)
        p_ra, p_dec = _pointing(rev, k, ra, dec, 10.0)
        out.append(ScienceWindow(sid, t0, t0 + SCW_EXPOSURE / 86400.0, p_ra, p_dec))
    return out


# --------------------------------------------------------------------------------------------
# SPI-ACS bursts

#: A synthetic burst somewhere in every such interval (s).
BURST_INTERVAL = 4 * 3600.0
#: No synthetic burst this close (s) to a burst of data/bursts.ecsv, so famous ones stand alone.
BURST_QUIET = 1800.0


def burst_shape(dt, tau: float) -> np.ndarray:
    """The pulse of a burst ``dt`` seconds after its onset: 1 at its maximum, 0 before the onset."""
    return history.pulse_shape(dt, tau)


@cache
def _famous_pulses() -> tuple[tuple[float, float, float], ...]:
    return tuple(sorted(p for b in history.bursts() for p in b.pulses))


@cache
def _quiet_zones() -> tuple[tuple[float, float], ...]:
    return tuple((b.span[0] - BURST_QUIET, b.span[1] + BURST_QUIET) for b in history.bursts())


def bursts_between(t_start: float, t_stop: float) -> list[tuple[float, float, float]]:
    """Pulses (onset in s since IJD 0, count/s above background at their maximum, decay s) that
    shine in [t_start, t_stop]: those of data/bursts.ecsv and the synthetic ones."""
    out = [p for p in _famous_pulses() if t_start - 12 * p[2] <= p[0] <= t_stop]
    i0 = int(math.floor(t_start / BURST_INTERVAL)) - 1
    i1 = int(math.floor(t_stop / BURST_INTERVAL)) + 1
    for i in range(i0, i1 + 1):
        h = hashlib.md5(f"burst{i}".encode()).digest()
        offset = int.from_bytes(h[:4], "big") / 0xFFFFFFFF * BURST_INTERVAL
        peak = (500.0 + 20000.0 * (h[4] / 255.0) ** 3) * history.PULSE_MAX
        tau = 0.3 + 30.0 * (h[5] / 255.0) ** 2
        t = i * BURST_INTERVAL + offset
        if t_start - 10 * tau <= t <= t_stop and not any(lo <= t <= hi for lo, hi in _quiet_zones()):
            out.append((t, peak, tau))
    return out
