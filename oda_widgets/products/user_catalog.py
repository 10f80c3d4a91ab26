"""A user's own source catalog, read from a file, as the ``selected_catalog`` the dispatcher takes.

The web frontend's catalog upload sends the file to the dispatcher, which reads it with astropy
(``BasicCatalog.from_file``: ECSV or FITS with ``src_names``/``significance`` columns and
``FRAME``/``LON_NAME``/``LAT_NAME``/``COORD_UNIT`` meta, nothing else). Through the API files do not
travel, so the table is read here — from FITS, ECSV or any ASCII table astropy reads (CSV,
whitespace-separated, IPAC…) with name, RA and Dec columns under their usual names — and becomes
a :class:`~oda_widgets.products.catalog.Catalog` whose ``to_selected_catalog()`` the dispatcher
accepts. A table without usable columns, or with unreadable rows, raises ``InvalidParameter``
saying what was found and what is expected.
"""

from __future__ import annotations

import gzip
import io
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
from astropy import units as u
from astropy.table import Table

from oda_widgets.errors import InvalidParameter
from oda_widgets.products.catalog import Catalog

__all__ = ["read_user_catalog", "user_catalog_from_table", "NAME_COLUMNS", "RA_COLUMNS", "DEC_COLUMNS"]

#: Columns read as the source name (case-insensitive, first found): the dispatcher's, OSA
#: catalogues', VizieR/SIMBAD exports' and plain spellings.
NAME_COLUMNS = ("src_names", "src_name", "name", "source", "source_name", "object", "main_id", "id")
#: Columns read as right ascension (J2000/ICRS, degrees unless the column says hours).
RA_COLUMNS = ("ra", "ra_obj", "ra_fin", "raj2000", "_raj2000", "ra_icrs", "ra_deg", "ra_j2000", "radeg")
#: Columns read as declination.
DEC_COLUMNS = (
    "dec",
    "dec_obj",
    "dec_fin",
    "dej2000",
    "_dej2000",
    "decj2000",
    "de_icrs",
    "dec_deg",
    "dec_j2000",
    "dedeg",
)
#: Optional columns kept: the detection significance and the OSA fit flags.
SIGNIFICANCE_COLUMNS = ("significance", "detsig", "signif", "sigma")
#: Largest catalog file read; the dispatcher itself takes requests of a few MB.
MAX_CATALOG_BYTES = 20 * 1024 * 1024
_SHOWN_ROWS = 5


def _column(table: Table, names: tuple[str, ...]) -> str | None:
    lower = {c.lower(): c for c in table.colnames}
    return next((lower[n] for n in names if n in lower), None)


def _no_columns(table: Table, label: str, missing: list[str]) -> InvalidParameter:
    return InvalidParameter(
        f"{label}: no usable {' and '.join(missing)} column{'s' if len(missing) > 1 else ''}. "
        f"A catalog needs a name column ({', '.join(NAME_COLUMNS[:4])}…) and RA/Dec columns in "
        f"degrees or sexagesimal (ra/dec, RA_OBJ/DEC_OBJ, RAJ2000/DEJ2000…); this table has: "
        f"{', '.join(table.colnames) or 'no columns'}",
        parameter="selected_catalog",
    )


def _angles(column: Any, *, hours: bool) -> tuple[np.ndarray, list[int]]:
    """Degrees of a column (numbers with their unit, or sexagesimal text); NaN where unreadable."""
    from astropy.coordinates import Angle

    unit = getattr(column, "unit", None)
    try:
        scale = u.Unit(unit).to(u.deg) if unit is not None else 1.0
    except (ValueError, u.UnitsError):
        scale = math.nan  # a unit that is no angle: every row is reported
    out = np.full(len(column), np.nan)
    bad: list[int] = []
    for i, value in enumerate(column):
        deg = math.nan
        try:
            if np.ma.is_masked(value):
                pass
            elif isinstance(value, (str, bytes, np.str_, np.bytes_)):
                text = (
                    value.decode("ascii", "replace") if isinstance(value, (bytes, np.bytes_)) else str(value)
                )
                text = text.strip()
                try:
                    deg = float(text) * scale
                except ValueError:
                    as_hours = hours and not any(c in text for c in "d°")
                    deg = Angle(text, unit=u.hourangle if as_hours else u.deg).deg
            else:
                deg = float(value) * scale
        except (ValueError, TypeError, u.UnitsError):
            deg = math.nan
        if not math.isfinite(deg):
            bad.append(i)
        out[i] = deg
    return out, bad


def _numbers(table: Table, column: str | None, default: float, label: str) -> np.ndarray:
    """A numeric column as floats (``default`` everywhere when absent, NaN where masked);
    ``InvalidParameter`` if it does not hold numbers."""
    if column is None:
        return np.full(len(table), default, dtype=float)
    try:
        return np.ma.filled(np.ma.asarray(table[column], dtype=float), fill_value=np.nan)
    except (ValueError, TypeError):
        raise InvalidParameter(
            f"{label}: column {column} must hold numbers", parameter="selected_catalog"
        ) from None


def user_catalog_from_table(table: Table, name: str | None = None, *, label: str | None = None) -> Catalog:
    """A :class:`Catalog` (frame FK5, degrees) of the rows of ``table``, found by its name, RA and
    Dec columns; significance and the OSA flags (``FLAG``, ``ISGRI_FLAG``) are kept when present.

    Raises ``InvalidParameter`` for a table without usable columns, and one naming the rows whose
    name or coordinates cannot be read or are out of range (RA in [0, 360), Dec in [-90, 90]).
    ``label`` names the table in messages (default: ``name``).
    """
    label = label or name or "the table"
    name_col, ra_col, dec_col = (_column(table, c) for c in (NAME_COLUMNS, RA_COLUMNS, DEC_COLUMNS))
    missing = [what for what, col in (("name", name_col), ("RA", ra_col), ("Dec", dec_col)) if col is None]
    if missing:
        raise _no_columns(table, label, missing)
    if len(table) == 0:
        raise InvalidParameter(f"{label}: the table has no rows", parameter="selected_catalog")
    ra, bad_ra = _angles(table[ra_col], hours=True)
    dec, bad_dec = _angles(table[dec_col], hours=False)
    problems: dict[int, str] = {}
    for i in bad_ra:
        problems.setdefault(i, f"RA {_cell(table[ra_col][i])!r} is not an angle")
    for i in bad_dec:
        problems.setdefault(i, f"Dec {_cell(table[dec_col][i])!r} is not an angle")
    for i in range(len(table)):
        if i in problems:
            continue
        if not 0.0 <= ra[i] < 360.0:
            problems[i] = f"RA {ra[i]:g}° is outside [0, 360)"
        elif not -90.0 <= dec[i] <= 90.0:
            problems[i] = f"Dec {dec[i]:g}° is outside [-90, 90]"
    names = [_cell(v) for v in table[name_col]]
    for i, n in enumerate(names):
        if not n:
            problems.setdefault(i, "has no name")
    if problems:
        rows = sorted(problems)
        shown = "; ".join(f"row {i + 1}: {problems[i]}" for i in rows[:_SHOWN_ROWS])
        more = f"; and {len(rows) - _SHOWN_ROWS} more" if len(rows) > _SHOWN_ROWS else ""
        raise InvalidParameter(
            f"{label}: {len(rows)} row{'s' if len(rows) != 1 else ''} not read — {shown}{more}",
            parameter="selected_catalog",
            details={"rows": [(i + 1, problems[i]) for i in rows]},
        )
    catalog = Catalog.empty(frame="fk5", name=name)
    out = catalog.table
    width = max(32, *(len(n) for n in names))
    columns: dict[str, Any] = {
        "meta_ID": np.arange(len(table), dtype=np.int64),
        "src_names": np.array(names, dtype=f"U{width}"),
        # oda_api gives the sources a user adds significance 0 (they are not detections)
        "significance": _numbers(table, _column(table, SIGNIFICANCE_COLUMNS), 0.0, label),
        "ra": ra,
        "dec": dec,
    }
    for flag in ("NEW_SOURCE", "ISGRI_FLAG", "FLAG"):
        flags = _numbers(table, _column(table, (flag.lower(),)), 0.0, label)
        columns[flag] = np.nan_to_num(flags).astype(np.int64)
    columns["ERR_RAD"] = _numbers(table, _column(table, ("err_rad",)), 1e-3, label)
    result = Table([columns[c] for c in out.colnames], names=out.colnames, meta=dict(out.meta))
    for c in ("ra", "dec"):
        result[c].unit = u.deg
    return Catalog(result, name=name)


def _cell(value: Any) -> str:
    if isinstance(value, (bytes, np.bytes_)):
        value = value.decode("utf-8", "replace")
    if np.ma.is_masked(value):
        return ""
    return str(value).strip()


def _read_table(data: bytes, label: str) -> Table:
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise InvalidParameter(
                f"{label}: broken gzip file ({exc})", parameter="selected_catalog"
            ) from None
    if data[:9] == b"SIMPLE  =":
        from astropy.io import fits

        try:
            with fits.open(io.BytesIO(data), memmap=False) as hdul:
                tables = [
                    h for h in hdul if isinstance(h, (fits.BinTableHDU, fits.TableHDU)) and h.data is not None
                ]
                if not tables:
                    raise InvalidParameter(
                        f"{label}: this FITS file has no table", parameter="selected_catalog"
                    )
                # the first table with name and coordinates (an OSA catalogue has one table)
                for hdu in tables:
                    t = Table.read(hdu)
                    if all(_column(t, c) for c in (NAME_COLUMNS, RA_COLUMNS, DEC_COLUMNS)):
                        return t
                return Table.read(tables[0])
        except (OSError, ValueError, TypeError) as exc:
            raise InvalidParameter(
                f"{label} is not a readable FITS file: {exc}", parameter="selected_catalog"
            ) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidParameter(
            f"{label} is neither a text table (UTF-8) nor FITS: byte {exc.start} cannot be read",
            parameter="selected_catalog",
        ) from None
    formats = ["ascii.ecsv"] if text.lstrip().startswith("# %ECSV") else ["ascii.csv", "ascii"]
    errors = []
    for fmt in formats:
        try:
            table = Table.read(text, format=fmt)
        except Exception as exc:  # astropy's ASCII readers raise many kinds for text they do not take
            errors.append(f"{fmt}: {exc}")
            continue
        if len(table.colnames) > 1 or fmt == formats[-1]:
            return table
    raise InvalidParameter(
        f"{label}: not a table astropy can read ({'; '.join(errors)[:300]})", parameter="selected_catalog"
    )


def read_user_catalog(source: Any, name: str | None = None) -> Catalog:
    """The catalog in ``source``: a file path, the bytes of an uploaded file, an astropy Table or a
    :class:`Catalog` (FITS, also gzipped; ECSV; CSV or another ASCII table astropy reads).

    Columns are found by their usual names (see ``NAME_COLUMNS``, ``RA_COLUMNS``, ``DEC_COLUMNS``);
    RA/Dec in degrees (or hours when the column's unit says so) or sexagesimal text. A table
    already in the dispatcher's catalog form (an image's catalog saved as ECSV/FITS) is read too.
    """
    if isinstance(source, Catalog):
        return user_catalog_from_table(source.table, name or source.name)
    if isinstance(source, Table):
        return user_catalog_from_table(source, name)
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, label = bytes(source), name or "the uploaded file"
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source).expanduser()
        if not path.is_file():
            raise InvalidParameter(f"no such catalog file: {path}", parameter="selected_catalog")
        if path.stat().st_size > MAX_CATALOG_BYTES:
            raise InvalidParameter(
                f"{path.name} is larger than {MAX_CATALOG_BYTES // 2**20} MB: too big for a catalog",
                parameter="selected_catalog",
            )
        data, label = path.read_bytes(), name or path.name
    else:
        raise InvalidParameter(
            f"a catalog comes from a file path, bytes, a Table or a Catalog, not {type(source).__name__}",
            parameter="selected_catalog",
        )
    if len(data) > MAX_CATALOG_BYTES:
        raise InvalidParameter(
            f"{label} is larger than {MAX_CATALOG_BYTES // 2**20} MB: too big for a catalog",
            parameter="selected_catalog",
        )
    stem = Path(label).name.split(".")[0]
    return user_catalog_from_table(_read_table(data, label), stem or label, label=label)
