"""Science-window (ScW) lists read from files: text, CSV or FITS, as the web frontend's
"custom list in file" takes them, checked row by row.

A ScW id is 12 ASCII digits, a dot and 3 ASCII digits (``066500220010.001``: revolution, pointing,
sub-pointing, type, then the version; ids ending ``.000`` are near-real-time data). Python's
``\\d`` also matches full-width and other Unicode digits, which no dispatcher accepts: the pattern
is ASCII-only and such ids are refused with a message saying why.

:func:`read_scw_list` gives a :class:`ScwList`: the ids in file order, duplicates removed (and
counted), or an ``InvalidParameter`` naming every bad row by its line number. Nothing here imports
widgets.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from oda_widgets.errors import InvalidParameter

__all__ = [
    "SCW_PATTERN",
    "SWID_PATTERN",
    "ScwList",
    "read_scw_list",
    "scw_id_problem",
    "MAX_LIST_BYTES",
]

#: A science window with its version: 12 ASCII digits, a dot, 3 ASCII digits.
SCW_PATTERN = re.compile(r"^[0-9]{12}\.[0-9]{3}$")
#: A science window without its version (the ``SWID`` of ISDC indices, HEASARC's ``SCW_ID``).
SWID_PATTERN = re.compile(r"^[0-9]{12}$")
#: Column names that hold ScW ids (compared case-insensitively): ISDC's ``SWID``, HEASARC's
#: ``SCW_ID``, and the spellings people type in CSV headers.
ID_COLUMNS = ("swid", "scw_id", "scwid", "scw", "science_window", "scw_list")
#: Column names that hold the version of a 12-digit id (``SCW_VER`` at HEASARC, ``SW_VER``).
VERSION_COLUMNS = ("scw_ver", "sw_ver", "swver", "scwver", "version")
#: Largest list file read (the whole INTEGRAL archive, ~300 000 ScWs, is about 5 MB of text).
MAX_LIST_BYTES = 20 * 1024 * 1024
_SHOWN_ROWS = 5


def scw_id_problem(text: str) -> str | None:
    """Why ``text`` is not a ScW id (None when it is one)."""
    if SCW_PATTERN.match(text):
        return None
    if any(not c.isascii() for c in text):
        if any(c.isdigit() and not c.isascii() for c in text):
            return "has full-width or other non-ASCII digits: type them as 0-9"
        return "has non-ASCII characters"
    if SWID_PATTERN.match(text):
        return "lacks its version (add e.g. .001)"
    return "is not a ScW id (12 digits, a dot, 3 digits: 066500220010.001)"


@dataclass(frozen=True)
class ScwList:
    """Science windows read from a file or text: ``ids`` in order, without duplicates.

    ``duplicates`` counts the repeated ids left out; ``versioned`` the 12-digit ids of a table
    without a version column that were given ``.001``; ``source`` names where they came from.
    """

    ids: tuple[str, ...]
    duplicates: int = 0
    versioned: int = 0
    source: str = ""

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self) -> Iterator[str]:
        return iter(self.ids)

    @property
    def summary(self) -> str:
        """ "12 science windows from scws.txt (2 duplicates removed)"."""
        n = len(self.ids)
        text = f"{n} science window{'s' if n != 1 else ''}"
        if self.source:
            text += f" from {self.source}"
        notes = []
        if self.duplicates:
            notes.append(f"{self.duplicates} duplicate{'s' if self.duplicates != 1 else ''} removed")
        if self.versioned:
            notes.append(
                f"version .001 added to {self.versioned} 12-digit id{'s' if self.versioned != 1 else ''}"
            )
        return text + (f" ({'; '.join(notes)})" if notes else "")


def _unique(ids: Iterable[str]) -> list[str]:
    """``ids`` in order, each once."""
    return list(dict.fromkeys(ids))


def _fail(source: str, bad: list[tuple[int, str, str]], what: str = "line") -> InvalidParameter:
    shown = "; ".join(f"{what} {n}: {_clip(text)!r} {why}" for n, text, why in bad[:_SHOWN_ROWS])
    more = f"; and {len(bad) - _SHOWN_ROWS} more" if len(bad) > _SHOWN_ROWS else ""
    rows = f"{len(bad)} row{'s' if len(bad) != 1 else ''}"
    return InvalidParameter(
        f"{source}: {rows} not read — {shown}{more}. Nothing was changed.",
        parameter="scw_list",
        details={"rows": bad},
    )


def _clip(text: str, n: int = 40) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _from_text(text: str, source: str) -> ScwList:
    lines = text.splitlines()
    header = _csv_header(lines)
    if header is not None:
        return _from_csv(lines, header, source)
    ids: list[str] = []
    bad: list[tuple[int, str, str]] = []
    for number, line in enumerate(lines, start=1):
        line = line.split("#", 1)[0].strip()
        for item in re.split(r"[,;\s]+", line):
            if not item:
                continue
            why = scw_id_problem(item)
            if why:
                bad.append((number, item, why))
            else:
                ids.append(item)
    if bad:
        raise _fail(source, bad)
    unique = _unique(ids)
    return ScwList(tuple(unique), duplicates=len(ids) - len(unique), source=source)


def _csv_header(lines: list[str]) -> tuple[int, list[str]] | None:
    """(line index, column names) when the first non-comment line is a CSV header naming an id column."""
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        names = [c.strip().strip('"').lower() for c in next(csv.reader([stripped]))]
        if any(n in ID_COLUMNS for n in names):
            return index, names
        return None
    return None


def _from_csv(lines: list[str], header: tuple[int, list[str]], source: str) -> ScwList:
    start, names = header
    id_col = next(names.index(n) for n in names if n in ID_COLUMNS)
    ver_col = next((names.index(n) for n in names if n in VERSION_COLUMNS), None)
    rows: list[tuple[int, str, str | None]] = []
    for number, row in enumerate(csv.reader(lines[start + 1 :]), start=start + 2):
        if not row or all(not c.strip() for c in row) or row[0].lstrip().startswith("#"):
            continue
        value = row[id_col].strip() if id_col < len(row) else ""
        version = row[ver_col].strip() if ver_col is not None and ver_col < len(row) else None
        rows.append((number, value, version))
    return _join(rows, source, ver_col is not None, "line")


def _join(rows: list[tuple[int, str, str | None]], source: str, has_version: bool, what: str) -> ScwList:
    """ScW ids from (row number, id, version) rows of a table; 12-digit ids get their version."""
    ids: list[str] = []
    bad: list[tuple[int, str, str]] = []
    versioned = 0
    for number, value, version in rows:
        if SWID_PATTERN.match(value):
            if has_version:
                v = (version or "").strip()
                if not re.fullmatch(r"[0-9]{1,3}", v):
                    bad.append((number, f"{value} {v}", "has no 1-3 digit version"))
                    continue
                value = f"{value}.{int(v):03d}"
            else:
                value, versioned = f"{value}.001", versioned + 1
        why = scw_id_problem(value)
        if why:
            bad.append((number, value, why))
        else:
            ids.append(value)
    if bad:
        raise _fail(source, bad, what)
    unique = _unique(ids)
    return ScwList(tuple(unique), duplicates=len(ids) - len(unique), versioned=versioned, source=source)


def _from_fits(data: bytes, source: str) -> ScwList:
    from astropy.io import fits

    try:
        with fits.open(io.BytesIO(data), memmap=False) as hdul:
            for hdu in hdul:
                if not isinstance(hdu, (fits.BinTableHDU, fits.TableHDU)) or hdu.data is None:
                    continue
                names = [n.lower() for n in hdu.columns.names]
                id_name = next((n for n in ID_COLUMNS if n in names), None)
                if id_name is None:
                    continue
                ver_name = next((n for n in VERSION_COLUMNS if n in names), None)
                column = hdu.data[hdu.columns.names[names.index(id_name)]]
                versions = hdu.data[hdu.columns.names[names.index(ver_name)]] if ver_name else None
                rows = [
                    (
                        i + 1,
                        _cell(column[i]),
                        None if versions is None else _cell(versions[i]),
                    )
                    for i in range(len(column))
                ]
                return _join(rows, f"{source} [{hdu.name}]", ver_name is not None, "row")
            tables = [h.name for h in hdul if isinstance(h, (fits.BinTableHDU, fits.TableHDU))]
    except (OSError, ValueError, TypeError, IndexError) as exc:
        raise InvalidParameter(f"{source} is not a readable FITS file: {exc}", parameter="scw_list") from None
    raise InvalidParameter(
        f"{source}: no table with a ScW id column ({', '.join(c.upper() for c in ID_COLUMNS[:3])}) "
        f"in this FITS file (its tables: {', '.join(tables) or 'none'})",
        parameter="scw_list",
    )


def _cell(value: Any) -> str:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _read_bytes(source: Any, name: str | None) -> tuple[bytes | str, str]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), name or "the uploaded file"
    if isinstance(source, os.PathLike) or (
        isinstance(source, str) and "\n" not in source and len(source) < 4096 and _is_file(source)
    ):
        path = Path(source)
        if path.stat().st_size > MAX_LIST_BYTES:
            raise InvalidParameter(
                f"{path.name} is larger than {MAX_LIST_BYTES // 2**20} MB: not a ScW list",
                parameter="scw_list",
            )
        return path.read_bytes(), name or path.name
    if isinstance(source, str):
        return source, name or "the text"
    raise InvalidParameter(
        f"a ScW list comes from a file path, bytes, text or a list of ids, not {type(source).__name__}",
        parameter="scw_list",
    )


def _is_file(text: str) -> bool:
    try:
        return Path(text).expanduser().is_file()
    except (OSError, ValueError):
        return False


def read_scw_list(source: Any, name: str | None = None) -> ScwList:
    """The science windows in ``source``: a file path, the bytes of an uploaded file, text, a list
    of ids, or an astropy Table with a ``SWID``/``scw_id`` column.

    Text: ids separated by commas, spaces or new lines (``#`` starts a comment); a CSV file whose
    header names an id column (``SWID``, ``scw_id``…) is read by that column, with a version column
    (``SCW_VER``) completing 12-digit ids. FITS (also gzipped): the first table with such a column.
    Duplicates are removed and counted. Any bad row raises ``InvalidParameter`` naming it by its
    line (or row) number, and nothing is read.
    """
    if isinstance(source, (list, tuple)):
        return _from_text("\n".join(str(s) for s in source), name or "the list")
    if type(source).__name__ in ("Table", "QTable"):
        from astropy.table import Table

        table: Table = source
        names = [n.lower() for n in table.colnames]
        id_name = next((n for n in ID_COLUMNS if n in names), None)
        if id_name is None:
            raise InvalidParameter(
                f"the table has no ScW id column ({', '.join(ID_COLUMNS[:3])}); its columns: "
                f"{', '.join(table.colnames)}",
                parameter="scw_list",
            )
        ver_name = next((n for n in VERSION_COLUMNS if n in names), None)
        ids = table[table.colnames[names.index(id_name)]]
        vers = table[table.colnames[names.index(ver_name)]] if ver_name else None
        rows = [(i + 1, _cell(ids[i]), None if vers is None else _cell(vers[i])) for i in range(len(ids))]
        return _join(rows, name or "the table", ver_name is not None, "row")
    data, label = _read_bytes(source, name)
    if isinstance(data, bytes):
        if len(data) > MAX_LIST_BYTES:
            raise InvalidParameter(
                f"{label} is larger than {MAX_LIST_BYTES // 2**20} MB: not a ScW list", parameter="scw_list"
            )
        if data[:2] == b"\x1f\x8b":
            try:
                data = gzip.decompress(data)
            except (OSError, EOFError) as exc:
                raise InvalidParameter(f"{label}: broken gzip file ({exc})", parameter="scw_list") from None
        if data[:9] == b"SIMPLE  =":
            return _from_fits(data, label)
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvalidParameter(
                f"{label} is neither text (UTF-8) nor FITS: byte {exc.start} cannot be read",
                parameter="scw_list",
            ) from None
    return _from_text(data, label)
