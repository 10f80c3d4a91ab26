"""Builders shared by the product-model tests: dispatcher-style responses from real or synthetic HDUs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from astropy.io import fits

from oda_widgets.products import encode_numpy_data_product


def wire(obj):
    """What a client receives: the object through JSON text and back."""
    return json.loads(json.dumps(obj))


def response_body(products: dict, job_id: str = "0123456789abcdef") -> dict:
    """A done /run_analysis body around ``products``, as the dispatcher shapes it."""
    return {
        "query_status": "done",
        "job_status": "done",
        "session_id": "SESSION",
        "exit_status": {
            "status": 0,
            "message": "",
            "error_message": "",
            "debug_message": "",
            "comment": "",
            "warning": "",
        },
        "job_monitor": {"job_id": job_id, "session_id": "SESSION", "status": "done"},
        "products": products,
    }


def isgri_mosaic_hdulist(n: int, seed: int = 0) -> fits.HDUList:
    """An ISGRI-like mosaic: PRIMARY, GROUPING and four n×n float32 images with a TAN WCS."""
    rng = np.random.default_rng(seed)
    grouping = fits.BinTableHDU.from_columns(
        [
            fits.Column("MEMBER_POSITION", "J", array=np.arange(2, 6)),
            fits.Column("IMATYPE", "16A", array=["INTENSITY", "VARIANCE", "SIGNIFICANCE", "EXPOSURE"]),
            fits.Column("E_MIN", "E", unit="keV", array=np.full(4, 25.0)),
            fits.Column("E_MAX", "E", unit="keV", array=np.full(4, 40.0)),
            fits.Column("TFIRST", "D", unit="d", array=np.full(4, 6274.561)),
            fits.Column("TLAST", "D", unit="d", array=np.full(4, 6274.648)),
        ],
        name="GROUPING",
    )
    grouping.header.update(INSTRUME="IBIS", DETNAM="ISGRI", MJDREF=51544.0, TIMESYS="TT")
    hdus = [fits.PrimaryHDU(), grouping]
    for imatype in ("INTENSITY", "VARIANCE", "SIGNIFICANCE", "EXPOSURE"):
        img = rng.normal(size=(n, n)).astype(">f4")
        img[:3, :3] = np.nan
        h = fits.ImageHDU(img, name="ISGR-MOSA-IMA")
        h.header.update(
            IMATYPE=imatype,
            CTYPE1="RA---TAN",
            CTYPE2="DEC--TAN",
            CRPIX1=n / 2,
            CRPIX2=n / 2,
            CRVAL1=265.97,
            CRVAL2=-29.74,
            CDELT1=-0.0823,
            CDELT2=0.0823,
            RADECSYS="FK5",
            EQUINOX=2000.0,
            E_MIN=25.0,
            E_MAX=40.0,
            TSTART=6274.561,
            TSTOP=6274.648,
            MJDREF=51544.0,
        )
        hdus.append(h)
    return fits.HDUList(hdus)


def mosaic_products(n: int, seed: int = 0) -> dict:
    """The ``products`` of an isgri_image response with an n×n mosaic (no catalog)."""
    return {
        "numpy_data_product_list": [
            encode_numpy_data_product(
                isgri_mosaic_hdulist(n, seed),
                "mosaic_image",
                {"product": "mosaic", "instrument": "isgri", "src_name": "", "query_parameters": None},
            )
        ]
    }


def isgri_lc_hdulist(source: str = "OAO 1657-415", n: int = 23) -> fits.HDUList:
    """An ISGRI light curve as the dispatcher sends it (ISGR-SRC.-LCR, IJD times, XAX_E, TIMEDEL)."""
    tbin = 70.0 / 86400
    t = 6274.56 + tbin * (np.arange(n) + 0.5)
    rate = np.linspace(5.0, 7.0, n).astype(">f4")
    err = np.full(n, 0.5, dtype=">f4")
    rate[2], err[2] = 0.0, 0.0  # dropped: RATE and ERROR both 0
    rate[4] = np.nan  # dropped: not finite
    err[6] = -1.0  # dropped: ERROR <= 0
    cols = [
        fits.Column("TIME", "D", unit="d", array=t),
        fits.Column("TOT_COUNTS", "J", array=np.full(n, 100)),
        fits.Column("RATE", "E", unit="count/s", array=rate),
        fits.Column("ERROR", "E", unit="count/s", array=err),
        fits.Column("FRACEXP", "E", array=np.full(n, 0.9)),
        fits.Column("XAX_E", "D", unit="d", array=np.full(n, tbin / 2)),
        fits.Column("TIMEDEL", "D", unit="d", array=np.full(n, tbin)),
    ]
    lc = fits.BinTableHDU.from_columns(cols, name="ISGR-SRC.-LCR")
    lc.header.update(
        NAME=source,
        E_MIN=28.0,
        E_MAX=40.0,
        TIMEDEL=tbin,
        TIMEPIXR=0.5,
        MJDREF=51544.0,
        TIMESYS="TT",
        TIMEUNIT="d",
        INSTRUME="IBIS",
        DETNAM="ISGRI",
        TSTART=t[0] - tbin / 2,
        TSTOP=t[-1] + tbin / 2,
    )
    return fits.HDUList([fits.PrimaryHDU(), lc])


def spi_acs_lc_hdulist(n: int = 50, timezero: float = 6274.6 * 86400) -> fits.HDUList:
    """A SPI-ACS light curve: EXTNAME RATE, TIME in s relative to TIMEZERO (s since IJD 0)."""
    t = (np.arange(n) - n / 2) * 2.0 + 1.0
    cols = [
        fits.Column("TIME", "D", array=t),
        fits.Column("RATE", "D", array=np.full(n, 8000.0)),
        fits.Column("ERROR", "D", array=np.full(n, 60.0)),
    ]
    h = fits.BinTableHDU.from_columns(cols, name="RATE")
    h.header.update(
        INSTRUME="SPI-ACS",
        TELESCOP="INTEGRAL",
        TIMEDEL=2.0,
        TIMEZERO=timezero,
        TIMEUNIT="s",
        MJDREF=51544.0,
        TIMESYS="TT",
    )
    return fits.HDUList([fits.PrimaryHDU(), h])


def spectrum_products(samples: Path, source: str = "4U 1700-377") -> list[dict]:
    """Spectrum, ARF and RMF products of one source, as isgri_spectrum sends them."""
    nchan = 256
    spec = fits.BinTableHDU.from_columns(
        [
            fits.Column("CHANNEL", "J", array=np.arange(nchan)),
            fits.Column("RATE", "E", unit="count/s", array=np.linspace(1, 0.01, nchan)),
            fits.Column("SYS_ERR", "E", array=np.zeros(nchan)),
            fits.Column("STAT_ERR", "E", unit="count/s", array=np.full(nchan, 0.01)),
            fits.Column("QUALITY", "I", array=np.zeros(nchan, dtype=int)),
            fits.Column("GROUPING", "I", array=np.ones(nchan, dtype=int)),
        ],
        name="ISGR-EVTS-SPE",
    )
    spec.header.update(
        HDUCLASS="OGIP",
        HDUCLAS1="SPECTRUM",
        EXPOSURE=1800.0,
        ANCRFILE="NONE",
        RESPFILE="NONE",
        BACKFILE="NONE",
        NAME=source,
        DETCHANS=nchan,
        TELESCOP="INTEGRAL",
        INSTRUME="IBIS",
        CHANTYPE="PI",
        POISSERR=False,
    )
    arf = fits.BinTableHDU.from_columns(
        [
            fits.Column("ENERG_LO", "E", unit="keV", array=np.linspace(15, 800, 2466)),
            fits.Column("ENERG_HI", "E", unit="keV", array=np.linspace(15.3, 800.3, 2466)),
            fits.Column("SPECRESP", "E", unit="cm**2", array=np.full(2466, 900.0)),
        ],
        name="SPECRESP",
    )
    with fits.open(samples / "isgri_rmf_Crab.fits") as rmf:
        rmf.readall()
        parts = [
            (fits.HDUList([fits.PrimaryHDU(), spec]), "isgri_spectrum"),
            (fits.HDUList([fits.PrimaryHDU(), arf]), "isgri_arf"),
            (rmf, "isgri_rmf"),
        ]
        return [
            encode_numpy_data_product(h, None, {"src_name": source, "product": kind}) for h, kind in parts
        ]


def png_bytes(width: int = 8, height: int = 8) -> bytes:
    """A small valid greyscale PNG file, built with zlib."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes((x * 32 + y) % 256 for x in range(width)) for y in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
