"""Builders shared by the product-model tests: dispatcher-style responses from real or synthetic HDUs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from astropy.io import fits

from oda_widgets.products import encode_numpy_data_product

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "samples"
CAPTURES = Path(__file__).resolve().parents[3] / "shared" / "captures"


def wire(obj):
    """What a client receives: the object through JSON text and back."""
    return json.loads(json.dumps(obj))


def response_body(products: dict, job_id: str = "0123456789abcdef") -> dict:
    """A done /run_analysis body around ``products``, as the dispatcher shapes it."""
    return {"query_status": "done", "job_status": "done", "session_id": "SESSION",
            "exit_status": {"status": 0, "message": "", "error_message": "", "debug_message": "",
                            "comment": "", "warning": ""},
            "job_monitor": {"job_id": job_id, "session_id": "SESSION", "status": "done"},
            "products": products}


def isgri_mosaic_hdulist(n: int, seed: int = 0) -> fits.HDUList:
    """An ISGRI-like mosaic: PRIMARY, GROUPING and four n×n float32 images with a TAN WCS."""
    rng = np.random.default_rng(seed)
    grouping = fits.BinTableHDU.from_columns([
        fits.Column("MEMBER_POSITION", "J", array=np.arange(2, 6)),
        fits.Column("IMATYPE", "16A", array=["INTENSITY", "VARIANCE", "SIGNIFICANCE", "EXPOSURE"]),
        fits.Column("E_MIN", "E", unit="keV", array=np.full(4, 25.0)),
        fits.Column("E_MAX", "E", unit="keV", array=np.full(4, 40.0)),
        fits.Column("TFIRST", "D", unit="d", array=np.full(4, 6274.561)),
        fits.Column("TLAST", "D", unit="d", array=np.full(4, 6274.648)),
    ], name="GROUPING")
    grouping.header.update(INSTRUME="IBIS", DETNAM="ISGRI", MJDREF=51544.0, TIMESYS="TT")
    hdus = [fits.PrimaryHDU(), grouping]
    for imatype in ("INTENSITY", "VARIANCE", "SIGNIFICANCE", "EXPOSURE"):
        img = rng.normal(size=(n, n)).astype(">f4")
        img[:3, :3] = np.nan
        h = fits.ImageHDU(img, name="ISGR-MOSA-IMA")
        h.header.update(IMATYPE=imatype, CTYPE1="RA---TAN", CTYPE2="DEC--TAN", CRPIX1=n / 2,
                        CRPIX2=n / 2, CRVAL1=265.97, CRVAL2=-29.74, CDELT1=-0.0823, CDELT2=0.0823,
                        RADECSYS="FK5", EQUINOX=2000.0, E_MIN=25.0, E_MAX=40.0,
                        TSTART=6274.561, TSTOP=6274.648, MJDREF=51544.0)
        hdus.append(h)
    return fits.HDUList(hdus)


def mosaic_products(n: int, seed: int = 0) -> dict:
    """The ``products`` of an isgri_image response with an n×n mosaic (no catalog)."""
    return {"numpy_data_product_list": [encode_numpy_data_product(
        isgri_mosaic_hdulist(n, seed), "mosaic_image",
        {"product": "mosaic", "instrument": "isgri", "src_name": "", "query_parameters": None})]}
