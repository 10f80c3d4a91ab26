"""NumpyDataProduct (PROTOCOL §3.1) ⇄ astropy ``HDUList``, both directions.

The dispatcher sends one NumpyDataProduct per product: a JSON-string ``meta_data`` and one data
unit per FITS HDU, each with a flat header dict and the data as a base64 pickle. Decoding goes
through :func:`~oda_widgets.products.safe_pickle.safe_loads`; encoding (used by the demo
dispatcher) produces exactly the dict the real dispatcher sends.
"""

from __future__ import annotations

import binascii
import json
import os
import pickle
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from astropy.io import fits
from astropy.io.fits.card import Undefined
from astropy.io.fits.column import _VLF

from oda_widgets.errors import OdaError
from oda_widgets.products.safe_pickle import safe_loads
from oda_widgets.products.wire import b64decode, b64encode

__all__ = [
    "NumpyProduct",
    "PickledData",
    "decode_numpy_data_product",
    "encode_numpy_data_product",
    "encode_hdu",
    "decode_unit",
]

_HDU_CLASSES = {
    "primary": fits.PrimaryHDU,
    "image": fits.ImageHDU,
    "bintable": fits.BinTableHDU,
    "table": fits.TableHDU,
}


@dataclass
class NumpyProduct:
    """One decoded NumpyDataProduct: its ``name``, ``meta_data`` dict and FITS ``hdulist``.

    ``units`` keeps, per HDU, the unit-level ``meta_data`` dict the dispatcher attached (usually
    empty). ``hdulist`` is an ordinary :class:`astropy.io.fits.HDUList` — write it with
    ``writeto`` or use :meth:`save`.
    """

    name: str | None
    meta_data: dict[str, Any]
    hdulist: fits.HDUList
    units: list[dict[str, Any]] = field(default_factory=list)

    def hdu(self, extname: str) -> Any:
        """The first HDU whose EXTNAME is ``extname`` (case-insensitive); ``KeyError`` if none."""
        wanted = extname.upper()
        for h in self.hdulist:
            if h.name.upper() == wanted:
                return h
        raise KeyError(f"no HDU named {extname!r} in {self.name!r}; have {[h.name for h in self.hdulist]}")

    @property
    def extnames(self) -> list[str]:
        """The EXTNAMEs of the HDUs, in file order."""
        return [h.name for h in self.hdulist]

    def save(self, path: str | os.PathLike[str], overwrite: bool = True) -> str:
        """Write the product as a FITS file at ``path``; returns the path."""
        self.hdulist.writeto(path, overwrite=overwrite)
        return str(path)

    def __repr__(self) -> str:
        units = ", ".join(f"{h.name or '?'}:{type(h).__name__}" for h in self.hdulist)
        return f"NumpyProduct(name={self.name!r}, meta_data={self.meta_data!r}, units=[{units}])"


# -- encoding (what the dispatcher sends) ------------------------------------------------------


def _hdu_type(hdu: Any) -> str:
    if isinstance(hdu, fits.PrimaryHDU):
        return "primary"
    if isinstance(hdu, fits.ImageHDU):
        return "image"
    if isinstance(hdu, fits.BinTableHDU):
        return "bintable"
    if isinstance(hdu, fits.TableHDU):
        return "table"
    raise OdaError(f"cannot encode HDU of type {type(hdu).__name__}")


def _json_value(v: Any) -> Any:
    if isinstance(v, Undefined):
        return "UNDEFINED"
    if isinstance(v, np.generic):
        return v.item()
    return v


class PickledData:
    """A data unit's ``binarys`` written on demand: base64 of the pickle, in pieces.

    For responses too large to build as one string (a week of SPI-ACS at 0.05 s is ~200 MB of
    base64): :meth:`base64_chunks` gives the exact text ``b64encode(pickle.dumps(data))`` would,
    ``chunk`` bytes of pickle at a time, holding only the pickle (one copy of the data) meanwhile.
    """

    def __init__(self, data: np.ndarray):
        self.data = data

    def base64_chunks(self, chunk: int = 3 << 20) -> Iterator[str]:
        pieces: list[bytes | memoryview] = []

        class _Sink:
            # the pickler hands large payloads (the array's bytes) to write() as they are
            write = pieces.append

        pickle.Pickler(_Sink(), protocol=pickle.DEFAULT_PROTOCOL).dump(self.data)
        carry = b""
        for piece in pieces:
            view = memoryview(piece)
            start = 0
            if carry:
                need = 3 - len(carry)
                carry += bytes(view[:need])
                start = need
                if len(carry) < 3:
                    continue
                yield b64encode(carry)
                carry = b""
            usable = (len(view) - start) // 3 * 3
            for i in range(start, start + usable, chunk):
                yield b64encode(view[i : min(i + chunk, start + usable)])
            carry = bytes(view[start + usable :])
        if carry:
            yield b64encode(carry)

    def __str__(self) -> str:
        return "".join(self.base64_chunks())


def encode_hdu(hdu: Any, lazy: bool = False) -> dict[str, Any]:
    """One data unit as the dispatcher sends it (name, hdu_type, header, dt, binarys, ...).

    ``lazy``: ``binarys`` is a :class:`PickledData`, to be streamed rather than built here.
    """
    data = hdu.data
    dt = binarys = None
    if data is not None:
        if isinstance(data, fits.FITS_rec):
            # materialise every column: a FITS_rec pickles its converted columns, and the heap
            # of variable-length arrays (RMF MATRIX) travels only that way
            for i in range(len(data.columns)):
                data.field(i)
        else:
            data = np.asarray(data)
        dt = str(data.dtype)
        binarys = PickledData(data) if lazy else b64encode(pickle.dumps(data))
    return {
        "data": None,
        "dt": dt,
        "name": hdu.name,
        "header": {k: _json_value(v) for k, v in hdu.header.items()},
        "binarys": binarys,
        "meta_data": {},
        "hdu_type": _hdu_type(hdu),
        "units_dict": None,
    }


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"{type(o).__name__} is not JSON serialisable")


def encode_numpy_data_product(
    hdul: Any, name: str | None, meta_data: dict[str, Any] | None, lazy: bool = False
) -> dict[str, Any]:
    """The NumpyDataProduct dict the dispatcher sends for ``hdul`` (PROTOCOL §3.1).

    ``meta_data`` becomes a JSON *string*; each HDU becomes a data unit whose data is a base64
    pickle of an ``ndarray`` (images) or ``FITS_rec`` (tables) — with ``lazy``, a
    :class:`PickledData` that a server streams into the response.
    """
    return {
        "data_unit_list": [encode_hdu(h, lazy=lazy) for h in hdul],
        "name": name,
        "meta_data": json.dumps(meta_data or {}, default=_json_default),
    }


# -- decoding ----------------------------------------------------------------------------------

_RECORD_FIELD = re.compile(r"\(\s*'([^']*)'\s*,\s*'([^']*)'\s*(?:,\s*\(([\d,\s]*)\))?\s*\)")


def _dtype_from_text(dt: str) -> np.dtype:
    """A dtype from the ``dt`` text: a numpy dtype string or ``(numpy.record, [(name, fmt), ...])``."""
    try:
        return np.dtype(dt)
    except Exception:  # numpy raises TypeError or SyntaxError for text it cannot parse
        pass
    if not dt.startswith("(numpy.record,"):
        raise OdaError(f"unsupported data-unit dtype {dt!r}")
    fields = []
    for fname, fmt, shape in _RECORD_FIELD.findall(dt):
        dims = tuple(int(s) for s in shape.split(",") if s.strip()) if shape else ()
        fields.append((fname, fmt, dims) if dims else (fname, fmt))
    if not fields:
        raise OdaError(f"unsupported data-unit dtype {dt!r}")
    return np.dtype((np.record, fields))


def _unit_data(unit: dict[str, Any]) -> Any:
    binarys = unit.get("binarys")
    if binarys is not None:
        if isinstance(binarys, (bytes, bytearray)):
            raw = binarys  # already decoded by products.wire.loads_response
        else:
            try:
                raw = b64decode(binarys)
            except (binascii.Error, ValueError, TypeError) as exc:
                raise OdaError(f"data unit {unit.get('name')!r}: binarys is not base64 ({exc})") from exc
        data = safe_loads(raw)
        if not isinstance(data, np.ndarray):
            raise OdaError(f"data unit {unit.get('name')!r} holds a {type(data).__name__}, not an array")
        return data
    text = unit.get("data")
    if text is not None:
        # the textual alternative: JSON rows; parsed with json, never evaluated
        rows = json.loads(text) if isinstance(text, str) else text
        dtype = _dtype_from_text(unit.get("dt") or "float64")
        if dtype.names:
            return np.array([tuple(r) for r in rows], dtype=dtype).view(np.recarray)
        return np.asarray(rows, dtype=dtype)
    return None


def _header(header: dict[str, Any]) -> fits.Header:
    cards = []
    for k, v in header.items():
        if isinstance(v, list):
            # FITS has no list values; the dispatcher's client joins them the same way
            v = "".join(f"{el}," for el in v)
        elif isinstance(v, dict):
            v = json.dumps(v)
        cards.append((k, v))
    with warnings.catch_warnings():
        # long keywords become HIERARCH cards, as astropy does when writing them
        warnings.simplefilter("ignore", fits.verify.VerifyWarning)
        return fits.Header(cards)


def _repair_vlf(data: fits.FITS_rec) -> None:
    """Restore what pickling drops from variable-length columns.

    ``_VLF`` keeps its longest-row length and element dtype as instance attributes, which an
    ndarray pickle does not carry; without them astropy writes a TFORM like ``PE(<built-in method
    max ...>)`` in the header.
    """
    converted = getattr(data, "_converted", None) or {}
    for arr in converted.values():
        if isinstance(arr, _VLF) and "max" not in vars(arr):
            arr.max = max((int(np.size(x)) for x in arr), default=0)
            arr.element_dtype = np.asarray(arr[0]).dtype if len(arr) else "S"


def decode_unit(unit: dict[str, Any]) -> Any:
    """One data unit dict → an astropy HDU (PrimaryHDU, ImageHDU, BinTableHDU or TableHDU)."""
    if not isinstance(unit, dict):
        raise OdaError(f"a data unit must be a JSON object, got {type(unit).__name__}")
    hdu_type = unit.get("hdu_type") or "image"
    cls = _HDU_CLASSES.get(hdu_type)
    if cls is None:
        raise OdaError(f"data unit {unit.get('name')!r}: unknown hdu_type {hdu_type!r}")
    header_dict = unit.get("header") or {}
    if not isinstance(header_dict, dict):
        raise OdaError(f"data unit {unit.get('name')!r}: header must be a JSON object")
    data = _unit_data(unit)
    if (
        hdu_type in ("primary", "image")
        and data is not None
        and (not isinstance(data, np.ndarray) or data.dtype.kind not in "biuf")
    ):
        raise OdaError(
            f"data unit {unit.get('name')!r}: an image must hold numbers, got {getattr(data, 'dtype', data)!s:.60}"
        )
    if (
        isinstance(data, fits.FITS_rec)
        and hdu_type in ("table", "bintable")
        and getattr(data, "_tbsize", None) is None
    ):
        # pickled variable-length tables (RMF MATRIX) lose the fixed-part size; the header has it
        naxis = int(header_dict.get("NAXIS", 0) or 0)
        data._tbsize = int(np.prod([int(header_dict[f"NAXIS{i}"]) for i in range(1, naxis + 1)]))
    if isinstance(data, fits.FITS_rec):
        _repair_vlf(data)
    if hdu_type in ("table", "bintable") and data is not None and not isinstance(data, fits.FITS_rec):
        data = fits.FITS_rec.from_columns(fits.ColDefs(data))
    hdu = cls(data=data, header=_header(header_dict))
    name = unit.get("name")
    hdu.name = "table" if name is None else name
    units_dict = unit.get("units_dict")
    if units_dict:
        if hdu_type in ("primary", "image"):
            raise OdaError(f"data unit {hdu.name!r}: units_dict given for an image")
        for col, col_unit in units_dict.items():
            hdu.columns.change_unit(col, col_unit)
    return hdu


def _meta_data(meta: Any) -> dict[str, Any]:
    if meta is None or meta == "":
        return {}
    if isinstance(meta, str):
        try:
            meta = json.loads(meta)
        except json.JSONDecodeError as exc:
            raise OdaError(f"product meta_data is not JSON: {meta[:200]!r}") from exc
    if not isinstance(meta, dict):
        raise OdaError(f"product meta_data must be a JSON object, got {type(meta).__name__}")
    return meta


def decode_numpy_data_product(d: dict[str, Any]) -> NumpyProduct:
    """A NumpyDataProduct dict (as in the response JSON) → :class:`NumpyProduct`.

    Data are unpickled with the restricted unpickler (``UnsafePayload`` for anything outside
    numpy/astropy); headers, EXTNAMEs and data are restored as the file had them.
    """
    if isinstance(d, str):
        d = json.loads(d)
    if not isinstance(d, dict) or "data_unit_list" not in d:
        raise OdaError("not a NumpyDataProduct: expected an object with data_unit_list")
    units = d.get("data_unit_list") or []
    name = d.get("name")
    if not isinstance(units, list):
        raise OdaError(f"product {name!r}: data_unit_list must be a list")
    hdul = fits.HDUList()
    for i, u in enumerate(units):
        try:
            # append (not the constructor) so a first image unit becomes the primary HDU, as
            # oda_api builds it
            hdul.append(decode_unit(u))
        except OdaError as exc:
            # same error (UnsafePayload stays UnsafePayload), now naming the product
            exc.message = f"product {name!r}: {exc.message}"
            exc.args = (exc.message,)
            raise
        except Exception as exc:  # server data astropy cannot make an HDU of
            raise OdaError(
                f"product {name!r}: data unit {i} could not be read: {type(exc).__name__}: {exc}"
            ) from exc
    return NumpyProduct(
        name=name,
        meta_data=_meta_data(d.get("meta_data")),
        hdulist=hdul,
        units=[dict(u.get("meta_data") or {}) if isinstance(u.get("meta_data"), dict) else {} for u in units],
    )
