"""The history of INTEGRAL's sky for the demo: X-ray transient outbursts and bright bursts in SPI-ACS.

The facts live in two data files beside this module, one row per episode or burst, each with its
published figures and references; their headers say how accurate the values are:

* ``data/transients.ecsv`` — outbursts of X-ray transients (MAXI J1820+070 in 2018, V404 Cyg in 2015,
  GX 339-4's outbursts, ...) as light curves in the ISGRI (20-40 keV) and JEM-X (3-20 keV) bands:
  log-linear between dated knots, so fast rises, exponential decays, plateaus and state transitions
  (the hard flux dropping while the soft flux rises) are drawn as published;
* ``data/bursts.ecsv`` — gamma-ray bursts and the SGR 1806-20 giant flare at their real trigger
  times, as SPI-ACS count-rate profiles (sums of fast-rise exponential-decay pulses).

:mod:`.sky` turns these into sources of the demo sky; this module only reads and evaluates them.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
from astropy.table import Table
from astropy.time import Time

from oda_widgets.products.light_curve import IJD_MJDREF

DATA = Path(__file__).with_name("data")
TRANSIENTS_FILE = DATA / "transients.ecsv"
BURSTS_FILE = DATA / "bursts.ecsv"


#: Offset (mCrab, or a factor for ``scale`` episodes) that keeps the log-linear interpolation finite
#: at the zero-flux knots of an outburst's start and end.
_LOG_FLOOR = {"outburst": 1.0, "scale": 1e-3}

#: Pulse shape of SPI-ACS bursts: rise time as a fraction of the decay time.
PULSE_RISE = 0.1
_PULSE_X_MAX = PULSE_RISE * math.log(1 + 1 / PULSE_RISE)
#: Maximum of the un-normalised pulse (1 - exp(-x / PULSE_RISE)) * exp(-x).
PULSE_MAX = (1 - math.exp(-_PULSE_X_MAX / PULSE_RISE)) * math.exp(-_PULSE_X_MAX)
#: Time from a pulse's onset to its maximum, in units of its decay time.
PULSE_PEAK_DELAY = _PULSE_X_MAX


def ijd(times) -> np.ndarray:
    """IJD (TT days since 2000-01-01) of UTC ISO dates or times."""
    return np.atleast_1d(Time(times, format="isot", scale="utc").tt.mjd - IJD_MJDREF)


def pulse_shape(dt: np.ndarray, tau: float) -> np.ndarray:
    """A fast-rise exponential-decay pulse ``dt`` seconds after its onset, 1 at its maximum
    (reached ``PULSE_PEAK_DELAY * tau`` after the onset), 0 before the onset."""
    x = np.asarray(dt, dtype=float) / tau
    shape = (1 - np.exp(-np.maximum(x, 0.0) / PULSE_RISE)) * np.exp(-x)
    return np.where(x > 0, shape / PULSE_MAX, 0.0)


def _phase(text: str) -> float:
    return int(hashlib.md5(text.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF * 2 * math.pi


# --------------------------------------------------------------------------------------------
# Outbursts of X-ray transients


@dataclass(frozen=True, eq=False)
class Episode:
    """One outburst of a source (or, for ``mode="scale"``, a lasting change of its persistent level)."""

    source: str
    label: str
    mode: str
    t: np.ndarray  # IJD of the knots
    isgri: np.ndarray  # mCrab 20-40 keV at the knots (factors for "scale")
    jemx: np.ndarray  # mCrab 3-20 keV at the knots
    flicker: float
    flicker_days: float
    reference: str
    approximate: bool

    @property
    def start(self) -> float:
        return float(self.t[0])

    @property
    def end(self) -> float:
        return float(self.t[-1])

    def value(self, ijd: np.ndarray, instrument: str = "isgri") -> np.ndarray:
        """Flux in mCrab in the instrument's band at IJD time(s) (for ``scale``: the factor)."""
        ijd = np.asarray(ijd, dtype=float)
        knots = self.jemx if instrument == "jemx" else self.isgri
        floor = _LOG_FLOOR[self.mode]
        v = np.exp(np.interp(ijd, self.t, np.log(knots + floor))) - floor
        if self.mode == "scale":
            # before the first knot the source is as it always was; after the last it stays there
            return np.where(ijd < self.t[0], 1.0, np.clip(v, 0.0, None))
        v = np.where((ijd >= self.t[0]) & (ijd <= self.t[-1]), np.clip(v, 0.0, None), 0.0)
        if self.flicker > 0:
            v = v * self._flicker(ijd)
        return v

    def _flicker(self, ijd: np.ndarray) -> np.ndarray:
        """Deterministic log-normal-like variability with unit mean on ``flicker_days`` scales."""
        periods = self.flicker_days * np.array([1.0, 0.413, 0.171, 0.0707])
        s = np.zeros_like(ijd)
        for k, p in enumerate(periods):
            s += np.sin(2 * math.pi * ijd / p + _phase(f"{self.source}/{self.label}/{k}"))
        s *= math.sqrt(2 / len(periods))
        return np.exp(self.flicker * s - 0.5 * self.flicker**2)


@dataclass(frozen=True)
class Transient:
    """A source of the transients table: where it is, what it is called, its episodes."""

    name: str
    aliases: tuple[str, ...]
    kind: str
    ra: float
    dec: float
    photon_index: float
    episodes: tuple[Episode, ...] = field(default=())


def _text(value) -> str:
    """A string cell of a table; empty cells are read as masked."""
    return "" if np.ma.is_masked(value) else str(value)


def _knots(text: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    dates, isgri, jemx = [], [], []
    for part in text.split(";"):
        date, a, b = part.split()
        dates.append(date)
        isgri.append(float(a))
        jemx.append(float(b))
    return dates, np.array(isgri), np.array(jemx)


@cache
def transients(path: Path = TRANSIENTS_FILE) -> tuple[Transient, ...]:
    """Every source of ``data/transients.ecsv`` (or ``path``) with its episodes, in the file's order.

    The file is checked as it is read: the summary columns (dates, peaks) must agree with the knots,
    knots must be in time order, a source keeps one position — so a typo cannot go unnoticed."""
    table = Table.read(path, format="ascii.ecsv")
    order: list[str] = []
    rows: dict[str, list] = {}
    for row in table:
        name = str(row["name"])
        if name not in rows:
            order.append(name)
            rows[name] = []
        rows[name].append(row)
    out = []
    for name in order:
        first = rows[name][0]
        episodes = []
        for row in rows[name]:
            label = f"{name} {row['episode']}"
            if (row["ra"], row["dec"], _text(row["aliases"])) != (
                first["ra"],
                first["dec"],
                _text(first["aliases"]),
            ):
                raise ValueError(f"{path.name}: {label}: position or aliases differ between rows")
            dates, isgri, jemx = _knots(str(row["knots"]))
            t = ijd(dates)
            if np.any(np.diff(t) <= 0):
                raise ValueError(f"{path.name}: {label}: knots are not in time order")
            summary = (
                str(row["t_start"]),
                str(row["t_end"]),
                float(row["peak_isgri"]),
                float(row["peak_jemx"]),
            )
            if (
                summary != (dates[0], dates[-1], float(isgri.max()), float(jemx.max()))
                or str(row["t_peak"]) != dates[int(np.argmax(isgri))]
            ):
                raise ValueError(f"{path.name}: {label}: t_start/t_peak/t_end/peaks disagree with the knots")
            if row["mode"] not in _LOG_FLOOR:
                raise ValueError(f"{path.name}: {label}: unknown mode {row['mode']!r}")
            episodes.append(
                Episode(
                    name,
                    str(row["episode"]),
                    str(row["mode"]),
                    t,
                    isgri,
                    jemx,
                    float(row["flicker"]),
                    float(row["flicker_days"]),
                    str(row["reference"]),
                    bool(row["approximate"]),
                )
            )
        aliases = tuple(a for a in _text(first["aliases"]).split("|") if a)
        out.append(
            Transient(
                name,
                aliases,
                str(first["kind"]),
                float(first["ra"]),
                float(first["dec"]),
                float(first["photon_index"]),
                tuple(episodes),
            )
        )
    return tuple(out)


# --------------------------------------------------------------------------------------------
# Bursts in SPI-ACS


@dataclass(frozen=True)
class Burst:
    """A burst of ``data/bursts.ecsv``: its trigger (seconds since IJD 0, TT) and SPI-ACS pulses."""

    name: str
    aliases: tuple[str, ...]
    kind: str
    trigger_utc: str
    trigger: float
    ra: float
    dec: float
    t90: float
    #: (onset in seconds since IJD 0, counts/s above background at the maximum, decay time s)
    pulses: tuple[tuple[float, float, float], ...]
    reference: str
    approximate: bool

    def rate(self, t: np.ndarray) -> np.ndarray:
        """Noise-free SPI-ACS count rate above background at times ``t`` (seconds since IJD 0)."""
        t = np.asarray(t, dtype=float)
        out = np.zeros_like(t)
        for onset, peak, tau in self.pulses:
            out += peak * pulse_shape(t - onset, tau)
        return out

    @property
    def span(self) -> tuple[float, float]:
        """First onset and the time by which every pulse has decayed below 1e-5 of its peak."""
        return (
            min(p[0] for p in self.pulses),
            max(p[0] + PULSE_PEAK_DELAY * p[2] + 12 * p[2] for p in self.pulses),
        )


def _pulses(trigger: float, text: str, tail: str) -> tuple[tuple[float, float, float], ...]:
    out = []
    for part in text.split(";"):
        t_peak, peak, tau = (float(x) for x in part.split())
        out.append((trigger + t_peak - PULSE_PEAK_DELAY * tau, peak, tau))
    if tail.strip():
        start, period, n, first, last, tau = (float(x) for x in tail.split())
        for k in range(int(n)):
            peak = first * (last / first) ** (k / max(n - 1, 1))
            out.append((trigger + start + k * period - PULSE_PEAK_DELAY * tau, peak, tau))
    return tuple(out)


@cache
def bursts(path: Path = BURSTS_FILE) -> tuple[Burst, ...]:
    """Every burst of ``data/bursts.ecsv`` (or ``path``), in trigger order."""
    table = Table.read(path, format="ascii.ecsv")
    triggers = ijd(list(table["trigger_utc"])) * 86400.0
    out = []
    for row, trigger in zip(table, triggers):
        out.append(
            Burst(
                str(row["name"]),
                tuple(a for a in _text(row["aliases"]).split("|") if a),
                str(row["kind"]),
                str(row["trigger_utc"]),
                float(trigger),
                float(row["ra"]),
                float(row["dec"]),
                float(row["t90"]),
                _pulses(
                    float(trigger),
                    str(row["pulses"]),
                    _text(row["tail"]),
                ),
                str(row["reference"]),
                bool(row["approximate"]),
            )
        )
    return tuple(sorted(out, key=lambda b: b.trigger))
