"""INTEGRAL-like products built from the demo sky (PROTOCOL §5).

Everything is a function of the normalised request: the random generator is seeded from it, so
the same request gives the same bytes. All arrays are built with vectorised numpy.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass

import numpy as np
from astropy.io import fits
from astropy.time import Time
from astropy.wcs import WCS

from oda_widgets.client.protocol import MAX_LIGHT_CURVE_BINS, NOT_IN_JOB_ID
from oda_widgets.demo import sky
from oda_widgets.demo.instruments import DemoError, Request
from oda_widgets.products import encode_numpy_data_product
from oda_widgets.products.light_curve import IJD_MJDREF

ISGRI_PIXEL = 0.0823  # deg, ISGRI mosaic pixel
JEMX_PIXEL = 0.03  # deg
#: (half-width of the fully coded field, half-width where the response reaches zero), deg
FOV = {"isgri": (4.5, 14.5), "jemx": (2.4, 6.6)}
PSF_SIGMA = {"isgri": 0.085, "jemx": 0.025}  # deg (ISGRI FWHM 12', JEM-X 3.5')
#: Variance of a rate measured for 1 s at the centre of the field, (count/s)^2 s, reference band
VAR0 = {"isgri": 871.0, "jemx": 300.0}
MAX_SIDE = 1400  # pixels; larger pointing sets are clipped to this mosaic
SPI_NATIVE_BIN = 0.05  # s
#: Largest SPI-ACS request the demo serves, in native 0.05 s bins (~6.9 days; 10^7 rows is 5.8 days).
#: Beyond it the request is refused with the message shape of the real SPI-ACS plugin, whose
#: backend refuses requests over its resource limits. Up to it, the response is streamed (see
#: ``app._json``) and the curve built in chunks: the server holds about one copy of the table.
SPI_MAX_NATIVE_BINS = MAX_LIGHT_CURVE_BINS
#: native bins generated per step (bounded temporaries whatever the request)
SPI_CHUNK = 1 << 20
IJD_UNITS = 86400.0


def seed_of(params: dict) -> int:
    """A 64-bit seed from the normalised parameters (bookkeeping keys excluded)."""
    # verbosity changes what is said, not the products
    skip = NOT_IN_JOB_ID | {"verbose"}
    text = json.dumps({k: v for k, v in params.items() if k not in skip}, sort_keys=True, default=str)
    return int(hashlib.sha256(text.encode()).hexdigest()[:16], 16)


def _ijd(iso: str) -> float:
    return float(Time(iso, format="isot", scale="utc").tt.mjd - IJD_MJDREF)


def _iso(ijd: float) -> str:
    return Time(ijd + IJD_MJDREF, format="mjd", scale="tt").utc.isot


def _coding(instr: str, d: np.ndarray) -> np.ndarray:
    """1-D coding response for offsets ``d`` (deg) from the pointing axis: 1 inside the fully coded
    field, falling linearly to 0 at the edge of the partially coded field."""
    full, zero = FOV[instr]
    return np.clip((zero - np.abs(d)) / (zero - full), 0.0, 1.0)


def _offsets(ra, dec, p_ra, p_dec):
    """Offsets (deg) east and north of the pointing, on the tangent plane of the pointing."""
    ra, dec, p_ra, p_dec = map(np.radians, (ra, dec, p_ra, p_dec))
    cosc = np.sin(p_dec) * np.sin(dec) + np.cos(p_dec) * np.cos(dec) * np.cos(ra - p_ra)
    cosc = np.where(cosc <= 0.05, np.nan, cosc)
    x = np.cos(dec) * np.sin(ra - p_ra) / cosc
    y = (np.cos(p_dec) * np.sin(dec) - np.sin(p_dec) * np.cos(dec) * np.cos(ra - p_ra)) / cosc
    return np.degrees(x), np.degrees(y)


def coding_at(instr: str, scws, ra: float, dec: float) -> np.ndarray:
    """Coding fraction of the position for each ScW."""
    p_ra = np.array([s.ra for s in scws])
    p_dec = np.array([s.dec for s in scws])
    x, y = _offsets(ra, dec, p_ra, p_dec)
    f = _coding(instr, x) * _coding(instr, y)
    return np.nan_to_num(f, nan=0.0)


def _band_var(instr: str, e1: float, e2: float) -> float:
    # The background grows with the band width like a soft power law.
    lo, hi = (20.0, 40.0) if instr == "isgri" else (3.0, 20.0)
    return VAR0[instr] * (e1**-0.5 - e2**-0.5) / (lo**-0.5 - hi**-0.5)


@dataclass
class Observation:
    instr: str
    scws: list
    seed: int
    e1: float
    e2: float
    jemx_num: int = 2

    @property
    def t_start(self) -> float:
        return min(s.t_start for s in self.scws)

    @property
    def t_stop(self) -> float:
        return max(s.t_stop for s in self.scws)

    @property
    def t_mid(self) -> np.ndarray:
        return np.array([(s.t_start + s.t_stop) / 2 for s in self.scws])

    @property
    def exposures(self) -> np.ndarray:
        return np.array([s.exposure for s in self.scws])

    @property
    def detnam(self) -> str:
        return "ISGRI" if self.instr == "isgri" else f"JMX{self.jemx_num}"

    @property
    def instrume(self) -> str:
        return "IBIS" if self.instr == "isgri" else f"JMX{self.jemx_num}"

    def time_keywords(self) -> dict:
        return {
            "TIMESYS": "TT",
            "MJDREF": IJD_MJDREF,
            "TIMEUNIT": "d",
            "TSTART": self.t_start,
            "TSTOP": self.t_stop,
            "DATE-OBS": _iso(self.t_start),
            "DATE-END": _iso(self.t_stop),
            "TELESCOP": "INTEGRAL",
            "INSTRUME": self.instrume,
            "DETNAM": self.detnam,
        }


def observation(req: Request) -> Observation:
    """The science windows a request selects (``scw_list`` or T1/T2/RA/DEC/radius/max_pointings)."""
    v = req.values
    seed = seed_of(req.analysis_parameters)
    if v.get("scw_list"):
        scws = sky.science_windows_from_ids(v["scw_list"], v["RA"], v["DEC"])
    else:
        scws = sky.science_windows(
            _ijd(v["T1"]), _ijd(v["T2"]), v["RA"], v["DEC"], v["radius"], v["max_pointings"], seed
        )
    return Observation(req.instrument.name, scws, seed, v["E1_keV"], v["E2_keV"], int(v.get("jemx_num") or 2))


# --------------------------------------------------------------------------------------------
# Mosaic


def _source_mean_rate(obs: Observation, src: sky.Source, weights: np.ndarray) -> float:
    rates = sky.source_rate(src, obs.t_mid, obs.e1, obs.e2, obs.instr)
    total = weights.sum()
    return float((rates * weights).sum() / total) if total > 0 else 0.0


def mosaic(req: Request, obs: Observation):
    """``(HDUList, catalog rows)`` of the image product: PRIMARY, GROUPING, 4 mosaic images."""
    v = req.values
    instr = obs.instr
    pix = ISGRI_PIXEL if instr == "isgri" else JEMX_PIXEL
    zero = FOV[instr][1]
    ra0, dec0 = v["RA"] % 360.0, v["DEC"]
    p_ra = np.array([s.ra for s in obs.scws])
    p_dec = np.array([s.dec for s in obs.scws])
    px, py = _offsets(p_ra, p_dec, ra0, dec0)
    extent = float(np.nanmax(np.maximum(np.abs(px), np.abs(py)))) if len(px) else 0.0
    side = int(min(MAX_SIDE, 2 * math.ceil((extent + zero) / pix) + 1))

    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [ra0, dec0]
    w.wcs.crpix = [(side + 1) / 2.0, (side + 1) / 2.0]
    w.wcs.cdelt = [-pix, pix]
    w.wcs.radesys = "FK5"
    w.wcs.equinox = 2000.0

    # Exposure: separable square field response per ScW, placed at the pointing's pixel.
    axis = np.arange(side, dtype=np.float64)
    ppx, ppy = w.wcs_world2pix(p_ra, p_dec, 0)
    exposure = np.zeros((side, side), dtype=np.float64)
    for i, s in enumerate(obs.scws):
        if not (np.isfinite(ppx[i]) and np.isfinite(ppy[i])):
            continue
        fx = _coding(instr, (axis - ppx[i]) * pix)
        fy = _coding(instr, (axis - ppy[i]) * pix)
        ix, iy = np.nonzero(fx)[0], np.nonzero(fy)[0]
        if len(ix) and len(iy):
            exposure[iy[0] : iy[-1] + 1, ix[0] : ix[-1] + 1] += s.exposure * np.outer(
                fy[iy[0] : iy[-1] + 1], fx[ix[0] : ix[-1] + 1]
            )
    covered = exposure > 1.0
    var0 = _band_var(instr, obs.e1, obs.e2)
    with np.errstate(divide="ignore", invalid="ignore"):
        variance = np.where(covered, var0 / exposure, np.nan)

    rng = np.random.default_rng(obs.seed)
    model = np.zeros((side, side), dtype=np.float64)
    sigma_px = PSF_SIGMA[instr] / pix
    half = int(math.ceil(4 * sigma_px))
    candidates = []
    src_list = list(sky.SOURCES)
    forced = (v.get("selected_catalog") or {}).get("rows", [])
    sx, sy = w.wcs_world2pix(np.array([s.ra for s in src_list]), np.array([s.dec for s in src_list]), 0)
    for i, src in enumerate(src_list):
        if not (0 <= sx[i] < side and 0 <= sy[i] < side):
            continue
        ix, iy = int(round(sx[i])), int(round(sy[i]))
        if not covered[iy, ix]:
            continue
        weights = obs.exposures * coding_at(instr, obs.scws, src.ra, src.dec)
        rate = _source_mean_rate(obs, src, weights)
        if rate <= 0:
            continue
        y0, y1 = max(iy - half, 0), min(iy + half + 1, side)
        x0, x1 = max(ix - half, 0), min(ix + half + 1, side)
        yy, xx = np.mgrid[y0:y1, x0:x1]
        model[y0:y1, x0:x1] += rate * np.exp(-((xx - sx[i]) ** 2 + (yy - sy[i]) ** 2) / (2 * sigma_px**2))
        candidates.append((i, src, ix, iy))

    noise = rng.standard_normal((side, side), dtype=np.float32)
    std = np.sqrt(variance)
    intensity = (model + noise * std).astype(">f4")
    intensity[~covered] = np.nan
    significance = (intensity / std).astype(">f4")
    exposure_img = np.where(covered, exposure, np.nan).astype(">f4")
    variance = variance.astype(">f4")

    threshold = v.get("detection_threshold", 7.0)
    rows = []
    new_count = 0
    # rows of selected_catalog are kept whatever their significance, under the name they carry there
    forced_names = _names_by_sky_index(forced, src_list)
    for i, src, ix, iy in candidates:
        sig = float(significance[iy, ix])
        if not (sig > threshold or i in forced_names):
            continue
        err = max(0.35 / max(sig, 1.0), 0.0002) if instr == "isgri" else max(0.1 / max(sig, 1.0), 0.0002)
        d_ra, d_dec = rng.normal(0.0, err / 2, 2)
        name = forced_names.get(i, src.name)
        if src.new and i not in forced_names:
            new_count += 1
            name = f"NEW_{new_count}"
        rows.append(
            {
                "meta_ID": i,
                "src_names": name,
                "significance": sig,
                "ra": float((src.ra + d_ra / max(math.cos(math.radians(src.dec)), 0.05)) % 360.0)
                if instr == "isgri"
                else src.ra,
                "dec": float(src.dec + d_dec) if instr == "isgri" else src.dec,
                "NEW_SOURCE": 1 if src.new else -32768,
                "ISGRI_FLAG": 0 if src.new else 1,
                "FLAG": 1 if i in forced_names else 0,
                "ERR_RAD": float(err),
            }
        )

    tkw = obs.time_keywords()
    e_mean = (obs.e1 + obs.e2) / 2
    ontime = float(obs.exposures.sum())
    primary = fits.PrimaryHDU()
    for k, val in tkw.items():
        primary.header[k] = val
    grouping = fits.BinTableHDU.from_columns(
        [
            fits.Column("MEMBER_POSITION", "J", array=np.arange(1, 5)),
            fits.Column("IMATYPE", "20A", array=["INTENSITY", "VARIANCE", "SIGNIFICANCE", "EXPOSURE"]),
            fits.Column("E_MIN", "E", unit="keV", array=[obs.e1] * 4),
            fits.Column("E_MEAN", "E", unit="keV", array=[e_mean] * 4),
            fits.Column("E_MAX", "E", unit="keV", array=[obs.e2] * 4),
            fits.Column("TFIRST", "D", unit="d", array=[obs.t_start] * 4),
            fits.Column("TLAST", "D", unit="d", array=[obs.t_stop] * 4),
            fits.Column("TELAPSE", "D", unit="s", array=[(obs.t_stop - obs.t_start) * IJD_UNITS] * 4),
            fits.Column("ONTIME", "D", unit="s", array=[ontime] * 4),
        ],
        name="GROUPING",
    )
    for k, val in tkw.items():
        grouping.header[k] = val
    extname = "ISGR-MOSA-IMA" if instr == "isgri" else f"JMX{obs.jemx_num}-MOSA-IMA"
    hdus = [primary, grouping]
    wcs_header = w.to_header()
    for imatype, data, bunit in (
        ("INTENSITY", intensity, "count/s"),
        ("VARIANCE", variance, "count2/s2"),
        ("SIGNIFICANCE", significance, ""),
        ("EXPOSURE", exposure_img, "s"),
    ):
        h = fits.ImageHDU(data=data, name=extname)
        h.header.update(wcs_header)
        h.header["IMATYPE"] = imatype
        h.header["BUNIT"] = bunit
        h.header["E_MIN"] = obs.e1
        h.header["E_MAX"] = obs.e2
        h.header["ONTIME"] = ontime
        for k, val in tkw.items():
            h.header[k] = val
        hdus.append(h)
    return fits.HDUList(hdus), rows


def catalog_dict(instr: str, rows: list[dict]) -> dict:
    """The catalog dict of the image product (PROTOCOL §3.2 / §5.2)."""
    from astropy.table import Table

    from oda_widgets.products import Catalog

    if instr == "isgri":
        names = [
            "meta_ID",
            "src_names",
            "significance",
            "ra",
            "dec",
            "NEW_SOURCE",
            "ISGRI_FLAG",
            "FLAG",
            "ERR_RAD",
        ]
        dtypes = ["<i8", "<U20", "<f8", "<f8", "<f8", "<i8", "<i8", "<i8", "<f8"]
    else:
        names = ["meta_ID", "src_names", "significance", "ra", "dec", "FLAG", "ERR_RAD"]
        dtypes = ["<i8", "<U20", "<f8", "<f8", "<f8", "<i8", "<f8"]
    table = Table(
        [np.array([r[n] for r in rows], dtype=dt) for n, dt in zip(names, dtypes)],
        names=names,
        meta={"FRAME": "fk5", "COORD_UNIT": "deg", "LON_NAME": "ra", "LAT_NAME": "dec"},
    )
    d = Catalog(table).to_dict()
    d["cat_meta"] = {}
    return d


# --------------------------------------------------------------------------------------------
# Sources for spectra and light curves


def _match_sky(ra: float, dec: float) -> sky.Source | None:
    best, best_d = None, 0.2
    for s in sky.SOURCES:
        d = math.degrees(
            math.acos(
                min(
                    1.0,
                    math.sin(math.radians(dec)) * math.sin(math.radians(s.dec))
                    + math.cos(math.radians(dec))
                    * math.cos(math.radians(s.dec))
                    * math.cos(math.radians(ra - s.ra)),
                )
            )
        )
        if d < best_d:
            best, best_d = s, d
    return best


def _names_by_sky_index(rows: list[dict], src_list: list[sky.Source]) -> dict[int, str]:
    """Index in ``src_list`` of the sky source each catalog row points at -> the row's name."""
    index = {id(s): i for i, s in enumerate(src_list)}
    out: dict[int, str] = {}
    for r in rows:
        src = _match_sky(r["ra"], r["dec"])
        if src is not None and id(src) in index:
            out[index[id(src)]] = r["name"]
    return out


def target_sources(req: Request, obs: Observation) -> list[tuple[str, float, float, sky.Source | None]]:
    """``(name, ra, dec, sky source)``: rows of ``selected_catalog``, else the backend's own
    detections (>= 3 sigma expected significance in these ScWs)."""
    cat = req.values.get("selected_catalog")
    if cat:
        return [(r["name"], r["ra"], r["dec"], _match_sky(r["ra"], r["dec"])) for r in cat["rows"]]
    var0 = _band_var(obs.instr, obs.e1, obs.e2)
    out = []
    new_count = 0
    for src in sky.SOURCES:
        weights = obs.exposures * coding_at(obs.instr, obs.scws, src.ra, src.dec)
        eff = weights.sum()
        if eff <= 0:
            continue
        sig = _source_mean_rate(obs, src, weights) / math.sqrt(var0 / eff)
        if sig >= 3.0:
            name = src.name
            if src.new:
                new_count += 1
                name = f"NEW_{new_count}"
            out.append((name, src.ra, src.dec, src))
    return out


# --------------------------------------------------------------------------------------------
# Spectra


def _response(instr: str):
    """Energy grid, channel bounds, ARF and redistribution matrix (fixed-length rows)."""
    if instr == "isgri":
        e_grid = np.geomspace(13.0, 1000.0, 201)
        ch = np.geomspace(15.0, 1000.0, 63)
        e = np.sqrt(e_grid[:-1] * e_grid[1:])
        area = 900.0 * (1 - np.exp(-((e / 25.0) ** 3))) * np.exp(-e / 600.0)
        fwhm = 0.08 * e * np.sqrt(100.0 / e) ** 0.5
    else:
        e_grid = np.geomspace(2.0, 40.0, 151)
        ch = np.geomspace(3.0, 35.0, 33)
        e = np.sqrt(e_grid[:-1] * e_grid[1:])
        area = 110.0 * (1 - np.exp(-((e / 4.0) ** 3))) * np.exp(-e / 25.0)
        fwhm = 0.4 * np.sqrt(e)
    sigma = fwhm / 2.355
    # Probability that a photon of energy e lands in channel [ch_lo, ch_hi): Gaussian integrals.
    from math import erf

    verf = np.vectorize(erf)
    z_hi = (ch[None, 1:] - e[:, None]) / (np.sqrt(2) * sigma[:, None])
    z_lo = (ch[None, :-1] - e[:, None]) / (np.sqrt(2) * sigma[:, None])
    matrix = 0.5 * (verf(z_hi) - verf(z_lo))
    return e_grid, ch, area, matrix.astype(np.float32)


_RESPONSES: dict = {}


def response(instr: str):
    if instr not in _RESPONSES:
        _RESPONSES[instr] = _response(instr)
    return _RESPONSES[instr]


def _arf_hdul(instr: str, tkw: dict) -> fits.HDUList:
    e_grid, _, area, _ = response(instr)
    h = fits.BinTableHDU.from_columns(
        [
            fits.Column("ENERG_LO", "E", unit="keV", array=e_grid[:-1]),
            fits.Column("ENERG_HI", "E", unit="keV", array=e_grid[1:]),
            fits.Column("SPECRESP", "E", unit="cm**2", array=area),
        ],
        name="SPECRESP",
    )
    h.header.update({"HDUCLASS": "OGIP", "HDUCLAS1": "RESPONSE", "HDUCLAS2": "SPECRESP", **tkw})
    return fits.HDUList([fits.PrimaryHDU(), h])


def _rmf_hdul(instr: str, jemx_num: int, tkw: dict) -> fits.HDUList:
    e_grid, ch, _area, matrix = response(instr)
    n_e, n_ch = matrix.shape
    m = fits.BinTableHDU.from_columns(
        [
            fits.Column("ENERG_LO", "E", unit="keV", array=e_grid[:-1]),
            fits.Column("ENERG_HI", "E", unit="keV", array=e_grid[1:]),
            fits.Column("N_GRP", "I", array=np.ones(n_e, dtype=np.int16)),
            fits.Column("F_CHAN", "I", array=np.zeros(n_e, dtype=np.int16)),
            fits.Column("N_CHAN", "I", array=np.full(n_e, n_ch, dtype=np.int16)),
            fits.Column("MATRIX", f"{n_ch}E", array=matrix),
        ],
        name="SPECRESP MATRIX",
    )
    m.header.update(
        {
            "HDUCLASS": "OGIP",
            "HDUCLAS1": "RESPONSE",
            "HDUCLAS2": "RSP_MATRIX",
            "CHANTYPE": "PI",
            "DETCHANS": n_ch,
            "TLMIN4": 0,
            **tkw,
        }
    )
    eb = fits.BinTableHDU.from_columns(
        [
            fits.Column("CHANNEL", "I", array=np.arange(n_ch, dtype=np.int16)),
            fits.Column("E_MIN", "E", unit="keV", array=ch[:-1]),
            fits.Column("E_MAX", "E", unit="keV", array=ch[1:]),
        ],
        name="EBOUNDS",
    )
    eb.header.update(
        {
            "HDUCLASS": "OGIP",
            "HDUCLAS1": "RESPONSE",
            "HDUCLAS2": "EBOUNDS",
            "CHANTYPE": "PI",
            "DETCHANS": n_ch,
            **tkw,
        }
    )
    hdus = [fits.PrimaryHDU(), m, eb]
    if instr == "jemx":
        for kind in ("AXIS", "IMAG"):
            a = _arf_hdul(instr, tkw)[1]
            hdus.append(fits.BinTableHDU(data=a.data, header=a.header, name=f"JMX{jemx_num}-{kind}-ARF"))
    return fits.HDUList(hdus)


def _folded(instr: str, photons_per_kev) -> np.ndarray:
    """Count rate per channel of a photon spectrum (a function of keV, photons cm⁻² s⁻¹ keV⁻¹)
    through the demo's ARF and RMF (midpoint of each fine energy bin, 2 % wide)."""
    e_grid, _, area, matrix = response(instr)
    e = np.sqrt(e_grid[:-1] * e_grid[1:])
    return (photons_per_kev(e) * np.diff(e_grid) * area) @ matrix


def _background_spectrum(instr: str):
    e_ref = 28.3 if instr == "isgri" else 7.7
    norm = 2.0 if instr == "isgri" else 0.5
    return lambda e: norm * (e / e_ref) ** -1.5


def _mean_flux(obs: Observation, ra: float, dec: float, src: sky.Source | None) -> tuple[float, float]:
    """(exposure, mean mCrab) of a source over the observation's ScWs, weighted by exposure ×
    coding fraction, in the instrument's band: the level its spectrum is simulated at."""
    weights = obs.exposures * coding_at(obs.instr, obs.scws, ra, dec)
    exposure = float(weights.sum())
    if src is None or exposure <= 0:
        return exposure, 0.0
    return exposure, float((src.flux(obs.t_mid, obs.instr) * weights).sum() / exposure)


def injected_spectra(analysis_parameters: dict) -> dict[str, dict]:
    """The models the demo simulated a spectrum job's sources with, by source name:
    :func:`sky.spectral_model` at the exposure-weighted mean flux, plus ``"exposure"`` (s),
    ``"mcrab"`` (that mean flux), ``"instrument"`` and the sky ``"source"``. Lets tests (and
    teachers) compare a fit with the truth; ``sky.energy_flux(source, e1, e2, mcrab, instrument)``
    gives the band flux.

    ``analysis_parameters``: the job's echo of them (``ProductCollection.analysis_parameters``,
    or the collection itself): the science windows are a random subset seeded by them, so the
    par_dict as typed may pick other ScWs."""
    from oda_widgets.demo.instruments import normalise

    params = getattr(analysis_parameters, "analysis_parameters", analysis_parameters)
    req = normalise(dict(params or {}), ["general"])
    obs = observation(req)
    out = {}
    for name, ra, dec, src in target_sources(req, obs):
        if src is None:
            continue
        exposure, mcrab = _mean_flux(obs, ra, dec, src)
        out[name] = {
            **sky.spectral_model(src, mcrab, obs.instr),
            "exposure": exposure,
            "mcrab": mcrab,
            "instrument": obs.instr,
            "source": src,
        }
    return out


def _spectrum_hdul(
    obs: Observation,
    name: str,
    ra: float,
    dec: float,
    rate: np.ndarray,
    err: np.ndarray,
    exposure: float,
    tkw: dict,
) -> fits.HDUList:
    n_ch = len(rate)
    extname = "ISGR-EVTS-SPE" if obs.instr == "isgri" else f"JMX{obs.jemx_num}-PHA1-SPE"
    h = fits.BinTableHDU.from_columns(
        [
            fits.Column("CHANNEL", "I", array=np.arange(n_ch, dtype=np.int16)),
            fits.Column("RATE", "E", unit="count/s", array=rate),
            fits.Column("SYS_ERR", "E", array=np.full(n_ch, 0.01, dtype=np.float32)),
            fits.Column("STAT_ERR", "E", unit="count/s", array=err),
            fits.Column("QUALITY", "I", array=np.zeros(n_ch, dtype=np.int16)),
            fits.Column("GROUPING", "I", array=np.zeros(n_ch, dtype=np.int16)),
        ],
        name=extname,
    )
    h.header.update(
        {
            "HDUCLASS": "OGIP",
            "HDUCLAS1": "SPECTRUM",
            "HDUCLAS2": "TOTAL",
            "HDUCLAS3": "RATE",
            "CHANTYPE": "PI",
            "DETCHANS": n_ch,
            "POISSERR": False,
            "EXPOSURE": exposure,
            "ONTIME": exposure,
            "TELAPSE": (obs.t_stop - obs.t_start) * IJD_UNITS,
            "NAME": name,
            "RA_OBJ": ra,
            "DEC_OBJ": dec,
            "ANCRFILE": "NONE",
            "RESPFILE": "NONE",
            "BACKFILE": "NONE",
            **tkw,
        }
    )
    return fits.HDUList([fits.PrimaryHDU(), h])


def spectra(req: Request, obs: Observation) -> list[tuple[str, str, fits.HDUList]]:
    """``(src_name, product kind, HDUList)``: spectrum, ARF, RMF per source, then the Background."""
    rng = np.random.default_rng(obs.seed)
    tkw = obs.time_keywords()
    tkw.pop("TIMEUNIT")
    instr = obs.instr
    kinds = [f"{instr}_spectrum", f"{instr}_arf", f"{instr}_rmf"]
    bkg = _folded(instr, _background_spectrum(instr))
    out = []
    targets = target_sources(req, obs)
    for name, ra, dec, src in targets:
        exposure, mcrab = _mean_flux(obs, ra, dec, src)
        if src is not None and exposure > 0 and mcrab > 0:
            # the source's own model (sky.spectral_model), as injected_spectra() reports it
            model = _folded(instr, lambda e, src=src, m=mcrab: sky.photon_spectrum(src, e, m, instr))
        else:
            model = np.zeros_like(bkg)
        err = np.sqrt((bkg + model) / max(exposure, 1.0)).astype(np.float32)
        rate = (model + rng.standard_normal(len(model)) * err).astype(np.float32)
        if exposure <= 0:
            rate[:] = np.nan
        out.append((name, kinds[0], _spectrum_hdul(obs, name, ra, dec, rate, err, exposure, tkw)))
        out.append((name, kinds[1], _arf_hdul(instr, tkw)))
        out.append((name, kinds[2], _rmf_hdul(instr, obs.jemx_num, tkw)))
    if instr == "isgri":
        exposure = float(obs.exposures.sum())
        err = np.sqrt(bkg / max(exposure, 1.0)).astype(np.float32)
        rate = (bkg + rng.standard_normal(len(bkg)) * err).astype(np.float32)
        out.append(
            ("Background", kinds[0], _spectrum_hdul(obs, "Background", 0.0, 0.0, rate, err, exposure, tkw))
        )
        out.append(("Background", kinds[1], _arf_hdul(instr, tkw)))
        out.append(("Background", kinds[2], _rmf_hdul(instr, obs.jemx_num, tkw)))
    return out


# --------------------------------------------------------------------------------------------
# ISGRI / JEM-X light curves


def light_curves(req: Request, obs: Observation) -> list[tuple[str, fits.HDUList]]:
    """One LC per source: bins of ``time_bin`` inside each ScW, gaps between ScWs."""
    rng = np.random.default_rng(obs.seed)
    instr = obs.instr
    time_bin = float(req.values["time_bin"])
    var0 = _band_var(instr, obs.e1, obs.e2)
    starts = np.array([s.t_start for s in obs.scws])
    exps = obs.exposures
    n_per = np.ceil(exps / time_bin).astype(int)
    total = int(n_per.sum())
    if total > MAX_LIGHT_CURVE_BINS:
        raise DemoError(f"Parameter time_bin wrong value {time_bin}: too many light-curve bins ({total})")
    scw_index = np.repeat(np.arange(len(obs.scws)), n_per)
    k = np.arange(total) - np.repeat(np.cumsum(n_per) - n_per, n_per)
    t0 = starts[scw_index] + k * time_bin / IJD_UNITS
    width = np.minimum(time_bin, exps[scw_index] - k * time_bin)
    centre = t0 + width / 2 / IJD_UNITS
    tkw = obs.time_keywords()
    extname = "ISGR-SRC.-LCR" if instr == "isgri" else f"JMX{obs.jemx_num}-SRC.-LCR"
    bkg_rate = 0.5 * math.sqrt(var0)
    out = []
    for name, ra, dec, src in target_sources(req, obs):
        frac_scw = coding_at(instr, obs.scws, ra, dec)
        frac = frac_scw[scw_index]
        keep = frac > 0
        if not keep.any():
            continue
        c, wdt, f = centre[keep], width[keep], frac[keep]
        truth = sky.source_rate(src, c, obs.e1, obs.e2, instr) if src is not None else np.zeros_like(c)
        err = np.sqrt(var0 / (wdt * f))
        rate = truth + rng.standard_normal(len(c)) * err
        back = np.full(len(c), bkg_rate)
        cols = [fits.Column("TIME", "D", unit="d", array=c)]
        if instr == "isgri":
            cols += [
                fits.Column("TOT_COUNTS", "E", unit="count", array=np.maximum((rate + back) * wdt * f, 0)),
                fits.Column("BACKV", "E", unit="count/s", array=back),
                fits.Column("BACKE", "E", unit="count/s", array=np.sqrt(back / wdt)),
                fits.Column("RATE", "E", unit="count/s", array=rate),
                fits.Column("ERROR", "E", unit="count/s", array=err),
                fits.Column("FRACEXP", "E", array=f),
                fits.Column("XAX_E", "E", unit="d", array=wdt / 2 / IJD_UNITS),
                fits.Column("TIMEDEL", "E", unit="d", array=wdt / IJD_UNITS),
            ]
        else:
            cols += [
                fits.Column("RATE", "E", unit="count/s", array=rate),
                fits.Column("ERROR", "E", unit="count/s", array=err),
                fits.Column("BRATE", "E", unit="count/s", array=back),
                fits.Column("BERROR", "E", unit="count/s", array=np.sqrt(back / wdt)),
                fits.Column("BARYTIME", "D", unit="d", array=c + 0.004 * np.cos(2 * np.pi * c / 365.25)),
                fits.Column("FRACEXP", "E", array=f),
                fits.Column("TIMEDEL", "E", unit="d", array=wdt / IJD_UNITS),
            ]
        h = fits.BinTableHDU.from_columns(cols, name=extname)
        h.header.update(
            {
                "NAME": name,
                "E_MIN": obs.e1,
                "E_MAX": obs.e2,
                "TIMEDEL": time_bin / IJD_UNITS,
                "TIMEPIXR": 0.5,
                **tkw,
            }
        )
        out.append((name, fits.HDUList([fits.PrimaryHDU(), h])))
    return out


# --------------------------------------------------------------------------------------------
# SPI-ACS


def spi_acs_lc(req: Request) -> fits.HDUList:
    """The SPI-ACS rate in [T1, T2]: 0.05 s native bins summed to ``time_bin``, Poisson counts,
    orbital background modulation and bursts; TIME relative to TIMEZERO (the midpoint).

    Built in chunks of native bins straight into the table's rows (TIME D, RATE E, ERROR E, the
    real product's layout): memory is the table plus one chunk's temporaries.
    """
    v = req.values
    t1 = _ijd(v["T1"]) * IJD_UNITS
    t2 = _ijd(v["T2"]) * IJD_UNITS
    n_native = int(round((t2 - t1) / SPI_NATIVE_BIN))
    if n_native > SPI_MAX_NATIVE_BINS:
        limit_days = SPI_MAX_NATIVE_BINS * SPI_NATIVE_BIN / 86400
        raise DemoError(
            "SPI-ACS backend refuses to process this request, due to resource constrain: requests to "
            f"this service are limited to {limit_days:.1f} days ({SPI_MAX_NATIVE_BINS:,} bins of "
            f"{SPI_NATIVE_BIN:g} s); T2 - T1 is {(t2 - t1) / 86400:.2f} days. Ask for a shorter "
            "interval, or split it into several requests."
        )
    # native bins per output bin; a bin longer than the interval (even 1e308 s) gives one bin
    k = max(1, math.floor(min(v["time_bin"] / SPI_NATIVE_BIN + 1e-9, max(n_native, 1))))
    bin_s = k * SPI_NATIVE_BIN
    n_bins = max(n_native // k, 1)
    n_native = n_bins * k
    rng = np.random.default_rng(seed_of(req.analysis_parameters))
    timezero = (t1 + t2) / 2.0
    orbit = sky.REVOLUTION_DAYS * IJD_UNITS
    bursts = list(sky.bursts_between(t1, t1 + n_native * SPI_NATIVE_BIN))
    rows = np.empty(n_bins, dtype=[("TIME", ">f8"), ("RATE", ">f4"), ("ERROR", ">f4")])
    step = max(SPI_CHUNK // k, 1) * k  # whole output bins per chunk
    for c0 in range(0, n_native, step):
        c1 = min(c0 + step, n_native)
        t_native = t1 + (np.arange(c0, c1) + 0.5) * SPI_NATIVE_BIN
        lam = SPI_NATIVE_BIN * (
            80000.0
            + 6000.0 * np.sin(2 * np.pi * t_native / orbit)
            + 1500.0 * np.sin(2 * np.pi * t_native / 5400.0)
        )
        for t0, peak, tau in bursts:
            i0 = max(int((t0 - t1) / SPI_NATIVE_BIN), c0)
            i1 = min(int((t0 + 12 * tau - t1) / SPI_NATIVE_BIN) + 1, c1)
            if i1 <= i0:
                continue
            lam[i0 - c0 : i1 - c0] += (
                SPI_NATIVE_BIN * peak * sky.burst_shape(t_native[i0 - c0 : i1 - c0] - t0, tau)
            )
        # one generator, drawn in order chunk after chunk: the same counts as one call on everything
        counts = rng.poisson(lam)
        if k > 1:
            counts = counts.reshape(-1, k).sum(axis=1)
        b0, b1 = c0 // k, c1 // k
        # relative times without the ~1e9 s offset, so bins are exact to float64 precision
        rows["TIME"][b0:b1] = (np.arange(b0, b1) + 0.5) * bin_s - (timezero - t1)
        rows["RATE"][b0:b1] = counts / bin_s
        rows["ERROR"][b0:b1] = np.sqrt(counts) / bin_s
    h = fits.BinTableHDU(data=rows, name="RATE")
    h.header.update({"TUNIT1": "s", "TUNIT2": "count/s", "TUNIT3": "count/s"})
    t_stop = t1 + n_bins * bin_s
    h.header.update(
        {
            "INSTRUME": "SPI-ACS",
            "TELESCOP": "INTEGRAL",
            "TIMEDEL": bin_s,
            "TIMEZERO": timezero,
            "TIMEUNIT": "s",
            "MJDREF": IJD_MJDREF,
            "TIMESYS": "TT",
            "TSTART": t1,
            "TSTOP": t_stop,
            "ONTIME": t_stop - t1,
            "DATE-OBS": _iso(t1 / IJD_UNITS),
            "DATE-END": _iso(t_stop / IJD_UNITS),
            "TASSIGN": "SATELLITE",
            "EPHS": "demo ephemeris",
        }
    )
    return fits.HDUList([fits.PrimaryHDU(), h])


# --------------------------------------------------------------------------------------------
# Assembly into the API-mode products dict


def products(req: Request) -> dict:
    """The product keys of a ``done`` response in API mode (bookkeeping added by the caller)."""
    instr = req.instrument.name
    if instr == "spi_acs":
        hdul = spi_acs_lc(req)
        d = encode_numpy_data_product(
            hdul,
            "spi_acs_lc",
            {
                "src_name": "query",
                "time_bin": float(hdul[1].header["TIMEDEL"]),
                "time": "TIME",
                "rate": "RATE",
                "rate_err": "ERROR",
            },
            # the table's pickle is streamed into the response, never held as one string
            lazy=True,
        )
        d["data_unit_list"][0]["name"] = "Primary"
        d["data_unit_list"][1]["units_dict"] = {"TIME": "s", "RATE": "count/s", "ERROR": "count/s"}
        return {"numpy_data_product_list": [d], "binary_data_product_list": [], "input_prod_list": [1]}

    obs = observation(req)
    if not obs.scws:
        raise DemoError("no science windows found for this time range and sky region")
    out: dict = {}
    kind = req.product.rsplit("_", 1)[1]
    if kind == "image":
        hdul, rows = mosaic(req, obs)
        meta = {"product": "mosaic", "instrument": instr, "src_name": "", "query_parameters": None}
        out["numpy_data_product_list"] = [encode_numpy_data_product(hdul, "mosaic_image", meta)]
        out["catalog"] = catalog_dict(instr, rows)
    elif kind == "spectrum":
        out["numpy_data_product_list"] = [
            encode_numpy_data_product(h, req.product, {"src_name": name, "product": k})
            for name, k, h in spectra(req, obs)
        ]
    else:
        time_bin_days = float(req.values["time_bin"]) / IJD_UNITS
        out["numpy_data_product_list"] = [
            encode_numpy_data_product(
                h,
                req.product,
                {
                    "src_name": name,
                    "time_bin": time_bin_days,
                    "time": "TIME",
                    "rate": "RATE",
                    "rate_err": "ERROR",
                },
            )
            for name, h in light_curves(req, obs)
        ]
    out["input_prod_list"] = [s.scw_id for s in obs.scws]
    return out
