"""What kind of file some bytes are, from their first bytes (magic numbers) — never by running them.

:func:`guess_file_type` answers a :class:`FileType` (extension, description, MIME type); bytes it
cannot place are ``FileType("bin", "binary data", "application/octet-stream")``, which saves as
``.bin``. The formats of our field come first from the table below (FITS, HDF5, NumPy, VOTable,
ECSV… — puremagic, the library oda_api uses, misses several of them); binary files outside it go
to puremagic's database of a few hundred formats; text formats (JSON, XML/VOTable, ECSV, CSV, plain
text) are recognised only when the bytes are valid UTF-8 text.
"""

from __future__ import annotations

import json
import mimetypes
from dataclasses import dataclass

import puremagic

__all__ = ["FileType", "guess_file_type", "UNKNOWN", "extension_of_name"]


@dataclass(frozen=True)
class FileType:
    """A guessed file type: ``extension`` (no dot), a human ``description`` and the ``mime`` type."""

    extension: str
    description: str
    mime: str

    @property
    def is_image(self) -> bool:
        return self.mime.startswith("image/")

    @property
    def is_text(self) -> bool:
        return self.mime.startswith("text/") or self.mime in ("application/json", "application/xml")


UNKNOWN = FileType("bin", "binary data", "application/octet-stream")

# (prefix, offset, type), most specific first
_MAGIC: tuple[tuple[bytes, int, FileType], ...] = (
    (b"SIMPLE  =", 0, FileType("fits", "FITS file", "application/fits")),
    (b"\x89PNG\r\n\x1a\n", 0, FileType("png", "PNG image", "image/png")),
    (b"\xff\xd8\xff", 0, FileType("jpg", "JPEG image", "image/jpeg")),
    (b"GIF87a", 0, FileType("gif", "GIF image", "image/gif")),
    (b"GIF89a", 0, FileType("gif", "GIF image", "image/gif")),
    (b"%PDF-", 0, FileType("pdf", "PDF document", "application/pdf")),
    (b"%!PS", 0, FileType("ps", "PostScript document", "application/postscript")),
    (b"\x89HDF\r\n\x1a\n", 0, FileType("h5", "HDF5 file", "application/x-hdf5")),
    (b"CDF\x01", 0, FileType("nc", "netCDF file", "application/x-netcdf")),
    (b"CDF\x02", 0, FileType("nc", "netCDF file (64-bit offsets)", "application/x-netcdf")),
    (b"\x93NUMPY", 0, FileType("npy", "NumPy array", "application/x-npy")),
    (b"\x1f\x8b", 0, FileType("gz", "gzip-compressed data", "application/gzip")),
    (b"BZh", 0, FileType("bz2", "bzip2-compressed data", "application/x-bzip2")),
    (b"\xfd7zXZ\x00", 0, FileType("xz", "xz-compressed data", "application/x-xz")),
    (b"7z\xbc\xaf\x27\x1c", 0, FileType("7z", "7-Zip archive", "application/x-7z-compressed")),
    (b"PK\x03\x04", 0, FileType("zip", "zip archive", "application/zip")),
    (b"PK\x05\x06", 0, FileType("zip", "zip archive (empty)", "application/zip")),
    (b"ustar", 257, FileType("tar", "tar archive", "application/x-tar")),
    (b"\x28\xb5\x2f\xfd", 0, FileType("zst", "Zstandard-compressed data", "application/zstd")),
    (b"II*\x00", 0, FileType("tif", "TIFF image", "image/tiff")),
    (b"MM\x00*", 0, FileType("tif", "TIFF image", "image/tiff")),
    (b"BM", 0, FileType("bmp", "BMP image", "image/bmp")),
    (b"root", 0, FileType("root", "ROOT file", "application/x-root")),
    (b"PAR1", 0, FileType("parquet", "Parquet table", "application/vnd.apache.parquet")),
    (b"ARROW1", 0, FileType("arrow", "Arrow IPC file", "application/vnd.apache.arrow.file")),
    (b"\x80\x02", 0, FileType("pkl", "Python pickle (not loaded)", "application/x-python-pickle")),
    (b"\x80\x03", 0, FileType("pkl", "Python pickle (not loaded)", "application/x-python-pickle")),
    (b"\x80\x04", 0, FileType("pkl", "Python pickle (not loaded)", "application/x-python-pickle")),
    (b"\x80\x05", 0, FileType("pkl", "Python pickle (not loaded)", "application/x-python-pickle")),
)

_WEBP = FileType("webp", "WebP image", "image/webp")
_WAV = FileType("wav", "WAV audio", "audio/wav")
_SVG = FileType("svg", "SVG image", "image/svg+xml")
_VOTABLE = FileType("vot", "VOTable (XML)", "application/x-votable+xml")
_XML = FileType("xml", "XML document", "application/xml")
_HTML = FileType("html", "HTML page", "text/html")
_JSON = FileType("json", "JSON document", "application/json")
_ECSV = FileType("ecsv", "ECSV table", "text/x-ecsv")
_CSV = FileType("csv", "CSV table", "text/csv")
_TEXT = FileType("txt", "text", "text/plain")

#: how much of the start is looked at for text formats
_HEAD = 4096


def _text_head(data: bytes) -> str | None:
    """The start of ``data`` as text, or None when it is not UTF-8 text."""
    head = data[:_HEAD]
    if b"\x00" in head:
        return None
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # a multi-byte character cut at the end of the window is still text
        if exc.start < len(head) - 4:
            return None
        text = head[: exc.start].decode("utf-8")
    printable = sum(ch.isprintable() or ch in "\r\n\t\f" for ch in text)
    return text if text and printable >= 0.95 * len(text) else None


def _is_json(data: bytes | bytearray | memoryview, head: str) -> bool:
    if head[:1] not in ("{", "["):
        return False
    if len(data) <= 1_000_000:  # a bigger document is taken on its first character
        try:
            json.loads(bytes(data).decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return False
    return True


def _is_csv(head: str) -> bool:
    lines = [ln for ln in head.splitlines()[:10] if ln.strip() and not ln.startswith("#")]
    if len(lines) < 2:
        return False
    # the last line of a full window may be cut short
    whole = lines[:-1] if len(lines) > 2 and len(head) >= _HEAD else lines
    counts = {ln.count(",") for ln in whole}
    return len(counts) == 1 and counts != {0}


def guess_file_type(data: bytes | bytearray | memoryview) -> FileType:
    """The type of a file from its content; :data:`UNKNOWN` (``.bin``) when it cannot be told."""
    first = bytes(data[:_HEAD])
    for magic, offset, ftype in _MAGIC:
        if first[offset : offset + len(magic)] == magic:
            return ftype
    if first[:4] == b"RIFF" and first[8:12] == b"WEBP":
        return _WEBP
    if first[:4] == b"RIFF" and first[8:12] == b"WAVE":
        return _WAV
    head = _text_head(first)
    if head is None:
        return _puremagic(first)
    start = head.lstrip("\ufeff \t\r\n")
    lower = start[:_HEAD].lower()
    if lower.startswith("<?xml") or lower.startswith("<votable") or lower.startswith("<svg"):
        if "<votable" in lower:
            return _VOTABLE
        if "<svg" in lower:
            return _SVG
        return _XML
    if lower.startswith("<!doctype html") or lower.startswith("<html"):
        return _HTML
    if _is_json(data, start):
        return _JSON
    if start.startswith("# %ECSV"):
        return _ECSV
    if _is_csv(start):
        return _CSV
    return _TEXT


def _puremagic(first: bytes) -> FileType:
    try:
        match = puremagic.magic_string(first)
    except (puremagic.PureError, ValueError):
        return UNKNOWN
    if not match or not match[0].extension:
        return UNKNOWN
    best = match[0]
    ext = best.extension.lstrip(".").lower()
    mime = best.mime_type or mimetypes.types_map.get("." + ext) or "application/octet-stream"
    return FileType(ext, best.name or f"{ext} file", mime)


def extension_of_name(name: str | None) -> str | None:
    """The extension a product's own name carries (``Mrk_421_sed.fits`` → ``fits``), if any."""
    if not name or "." not in name:
        return None
    ext = name.rsplit(".", 1)[1].lower()
    return ext if ext.isalnum() and 1 <= len(ext) <= 8 else None
