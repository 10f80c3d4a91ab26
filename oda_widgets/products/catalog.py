"""The image catalog (PROTOCOL §3.2, §5.2, §6) as an astropy ``Table``.

The dispatcher sends it column-major (``cat_column_names`` / ``cat_column_list``); a filtered copy
goes back as the ``selected_catalog`` JSON string of a spectrum or light-curve request.

Editing (add a source or an object of interest, edit a row, delete rows) makes a new Catalog;
:class:`CatalogEditor` keeps the versions for undo/redo. Catalogs are read and written as ECSV,
FITS and DS9 region files (astropy ``regions``).
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.io.fits.verify import VerifyWarning
from astropy.table import Table
from regions import CircleSkyRegion, PointSkyRegion, Regions

from oda_widgets.errors import InvalidParameter, OdaError
from oda_widgets.products.selection import selection_mask

__all__ = [
    "Catalog",
    "CatalogEditor",
    "read_regions",
    "REQUIRED_COLUMNS",
    "ISGRI_CATALOG_COLUMNS",
    "JEMX_CATALOG_COLUMNS",
    "FK5_DEGREES",
    "OBJECT_OF_INTEREST_FLAGS",
    "MATCH_TOLERANCE",
]

#: columns the dispatcher needs in a selected catalog (besides the lon/lat columns)
REQUIRED_COLUMNS = ("meta_ID", "src_names", "significance")

#: the columns (name, dtype) of an ISGRI image's catalog, in the dispatcher's order (PROTOCOL §5.2);
#: JEM-X's lack NEW_SOURCE and ISGRI_FLAG
ISGRI_CATALOG_COLUMNS = (
    ("meta_ID", "<i8"),
    ("src_names", "<U32"),
    ("significance", "<f8"),
    ("ra", "<f8"),
    ("dec", "<f8"),
    ("NEW_SOURCE", "<i8"),
    ("ISGRI_FLAG", "<i8"),
    ("FLAG", "<i8"),
    ("ERR_RAD", "<f8"),
)
JEMX_CATALOG_COLUMNS = tuple(c for c in ISGRI_CATALOG_COLUMNS if c[0] not in ("NEW_SOURCE", "ISGRI_FLAG"))
#: the meta-data of a catalog in FK5 degrees (the dispatcher's)
FK5_DEGREES = {"FRAME": "fk5", "COORD_UNIT": "deg", "LON_NAME": "ra", "LAT_NAME": "dec"}

#: what marks an "object of interest" the user added: oda_api's ``OdaImage.add_objects_of_interest``
#: defaults (``flag=1, isgri_flag=2``; the MMODA frontend writes ISGRI_FLAG 1). Flagged sources are
#: kept in the fit by the INTEGRAL analysis even where they are not detected.
OBJECT_OF_INTEREST_FLAGS = {"FLAG": 1, "ISGRI_FLAG": 2}

#: oda_api's tolerance for matching an added object to a NEW detection (degrees, per coordinate)
MATCH_TOLERANCE = 1.0 / 60.0

# values of a row added by hand, as oda_api's add_objects_of_interest fills them
_ADDED_ROW = {"meta_ID": 0, "significance": 0.0, "NEW_SOURCE": 0, "ERR_RAD": 1e-3}


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _column_values(values: list[Any], descr: str | None) -> np.ndarray | list[Any]:
    """A column's values as numpy infers them; ``null`` (NaN on the wire) becomes NaN."""
    if any(v is None for v in values):
        numeric = all(v is None or isinstance(v, (int, float)) for v in values)
        if numeric or (descr and "f" in descr):
            return np.array([math.nan if v is None else v for v in values], dtype=float)
        if all(v is None or isinstance(v, str) for v in values):
            return np.array(["" if v is None else v for v in values])
    return values


def _plain(v: Any) -> Any:
    # the wire form: NaN is sent as null
    return None if str(v) == "nan" else v


class Catalog:
    """A source catalog: ``table`` is an astropy Table with the dispatcher's columns.

    ``table.meta`` holds ``FRAME`` (e.g. ``fk5``), ``COORD_UNIT`` (``deg``), ``LON_NAME`` and
    ``LAT_NAME`` (``ra``/``dec``); the lon/lat columns carry that unit, so :attr:`coords` is a
    :class:`~astropy.coordinates.SkyCoord` in the catalog's frame.
    """

    def __init__(self, table: Table, name: str | None = "dispatcher_catalog"):
        if not isinstance(table, Table):
            raise TypeError(f"Catalog needs an astropy Table, got {type(table).__name__}")
        self.table = table
        self.name = name

    # -- construction --------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, d: dict[str, Any] | str, name: str | None = "dispatcher_catalog") -> Catalog:
        """The catalog of a dispatcher catalog dict (or its JSON string), PROTOCOL §3.2."""
        if isinstance(d, str):
            try:
                d = json.loads(d)
            except json.JSONDecodeError as exc:
                raise OdaError(f"catalog is not JSON: {exc}") from exc
        if not isinstance(d, dict) or "cat_column_names" not in d or "cat_column_list" not in d:
            raise OdaError("not a catalog: expected cat_column_names and cat_column_list")
        names = list(d["cat_column_names"])
        lists = list(d["cat_column_list"])
        if len(names) != len(lists):
            raise OdaError(f"catalog has {len(names)} column names but {len(lists)} columns")
        descr = {
            n: (t[1] if isinstance(t, (list, tuple)) and len(t) > 1 else None)
            for n, t in zip(names, d.get("cat_column_descr") or [])
        }
        meta: dict[str, Any] = dict(d.get("cat_meta") or {})
        meta.update(
            FRAME=d.get("cat_frame"),
            COORD_UNIT=d.get("cat_coord_units"),
            LON_NAME=d.get("cat_lon_name"),
            LAT_NAME=d.get("cat_lat_name"),
        )
        columns = [_column_values(list(v), descr.get(n)) for n, v in zip(names, lists)]
        table = Table(columns, names=names, meta=meta) if names else Table(meta=meta)
        unit = meta["COORD_UNIT"]
        if unit:
            for col in (meta["LON_NAME"], meta["LAT_NAME"]):
                if col in table.colnames:
                    table[col].unit = unit
        return cls(table, name=name)

    @classmethod
    def from_selected_catalog(cls, s: str, name: str | None = "selected_catalog") -> Catalog:
        """The catalog of a ``selected_catalog`` JSON string (what :meth:`to_selected_catalog` makes)."""
        return cls.from_dict(s, name=name)

    # -- output --------------------------------------------------------------------------------

    @property
    def frame(self) -> str | None:
        return _text_or_none(self.table.meta.get("FRAME"))

    @property
    def coord_unit(self) -> str | None:
        return _text_or_none(self.table.meta.get("COORD_UNIT"))

    @property
    def lon_name(self) -> str | None:
        return _text_or_none(self.table.meta.get("LON_NAME"))

    @property
    def lat_name(self) -> str | None:
        return _text_or_none(self.table.meta.get("LAT_NAME"))

    def _columns(self) -> list[list[Any]]:
        return [[_plain(x) for x in self.table[c].tolist()] for c in self.table.colnames]

    def to_dict(self) -> dict[str, Any]:
        """The catalog dict as the dispatcher sends it (PROTOCOL §3.2): column-major, NaN as None.

        Keys in the order of the dispatcher's and oda_api's serialisers, so JSON strings compare
        equal; table meta other than frame/units/lon/lat names is not part of the wire form.
        """
        return {
            "cat_frame": self.frame,
            "cat_coord_units": self.coord_unit,
            "cat_column_list": self._columns(),
            "cat_column_names": list(self.table.colnames),
            "cat_column_descr": [list(t) for t in self.table.dtype.descr],
            "cat_lat_name": self.lat_name,
            "cat_lon_name": self.lon_name,
        }

    def to_selected_catalog(self) -> str:
        """The ``selected_catalog`` JSON string the dispatcher accepts (NaN → null, meta_ID kept).

        Raises :class:`InvalidParameter` for an empty catalog or one missing the columns the
        dispatcher needs (meta_ID, src_names, significance, lon/lat).
        """
        missing = [
            c
            for c in (*REQUIRED_COLUMNS, self.lon_name, self.lat_name)
            if c is None or c not in self.table.colnames
        ]
        if missing:
            raise InvalidParameter(
                f"the catalog lacks the column(s) {missing} the dispatcher needs",
                parameter="selected_catalog",
            )
        if len(self.table) == 0:
            raise InvalidParameter(
                "no source left in the catalog: select at least one", parameter="selected_catalog"
            )
        return json.dumps(self.to_dict())

    # -- selection -----------------------------------------------------------------------------

    def filter(self, min_significance: float | None = None, exclude_new: bool = False) -> Catalog:
        """A new catalog with rows of ``significance >= min_significance`` (NaN never passes) and,
        if ``exclude_new``, without sources whose name contains ``NEW`` — as oda_api's helper
        (the rule of :mod:`oda_widgets.products.selection`)."""
        for wanted, column in ((min_significance is not None, "significance"), (exclude_new, "src_names")):
            if wanted and column not in self.table.colnames:
                raise InvalidParameter(
                    f"the catalog has no {column!r} column to filter on", parameter="selected_catalog"
                )
        t = self.table
        keep = selection_mask(
            t["significance"] if "significance" in t.colnames else np.full(len(t), np.nan),
            t["src_names"] if "src_names" in t.colnames else None,
            min_significance=min_significance,
            exclude_new=exclude_new,
        )
        return Catalog(t[keep], name=self.name)

    def select(self, meta_ids: Iterable[Any]) -> Catalog:
        """A new catalog with only the rows whose ``meta_ID`` is in ``meta_ids``."""
        wanted = {int(i) for i in meta_ids}
        keep = np.array([int(i) in wanted for i in self.table["meta_ID"]], dtype=bool)
        return Catalog(self.table[keep], name=self.name)

    def select_rows(self, rows: Iterable[int]) -> Catalog:
        """A new catalog with the rows at 0-based positions ``rows`` (in that order)."""
        return Catalog(self.table[[int(i) for i in rows]], name=self.name)

    # -- editing: each edit returns a new Catalog -------------------------------------------------

    def _coord_in_frame(self, coord: SkyCoord) -> tuple[float, float]:
        if not isinstance(coord, SkyCoord):
            raise InvalidParameter(
                f"a source position must be a SkyCoord, got {type(coord).__name__}", parameter="coord"
            )
        if coord.shape:
            raise InvalidParameter("give one position per source", parameter="coord")
        frame = (self.frame or "icrs").lower()
        target = SkyCoord(0, 0, unit="deg", frame=frame).frame
        # no transformation when already in the catalog's frame: the digits typed stay the digits sent
        c = coord if coord.frame.is_equivalent_frame(target) else coord.transform_to(target)
        unit = u.Unit(self.coord_unit or "deg")
        return float(c.spherical.lon.to_value(unit)), float(c.spherical.lat.to_value(unit))

    def _check_editable(self) -> None:
        missing = [
            c for c in ("src_names", self.lon_name, self.lat_name) if not c or c not in self.table.colnames
        ]
        if missing:
            raise InvalidParameter(
                f"this catalog cannot be edited: it lacks the column(s) {missing}", parameter="catalog"
            )

    def _widened(self, table: Table, column: str, text: str) -> Table:
        # astropy truncates strings to the column's width: widen it first
        col = table[column]
        if col.dtype.kind in "US" and len(text) > col.dtype.itemsize // (4 if col.dtype.kind == "U" else 1):
            table[column] = col.astype(f"U{len(text)}")
        return table

    def with_source(
        self,
        name: str,
        coord: SkyCoord,
        *,
        flag: int | None = None,
        isgri_flag: int | None = None,
        tolerance: float = MATCH_TOLERANCE,
    ) -> Catalog:
        """The catalog with an object of interest ``name`` at ``coord``, as oda_api's
        ``OdaImage.add_objects_of_interest`` does it: a NEW detection within ``tolerance`` degrees
        (in RA and in Dec) is renamed to it; a source of that name gets the flags; otherwise a row is
        added (meta_ID 0, significance 0, NEW_SOURCE 0, ERR_RAD 0.001). ``FLAG`` and ``ISGRI_FLAG``
        (and ``JEMX_FLAG``) are set to ``flag``/``isgri_flag``, by default
        :data:`OBJECT_OF_INTEREST_FLAGS`."""
        self._check_editable()
        if not isinstance(name, str) or not name.strip():
            raise InvalidParameter("a source needs a name", parameter="src_names")
        name = name.strip()
        flag = OBJECT_OF_INTEREST_FLAGS["FLAG"] if flag is None else int(flag)
        isgri_flag = OBJECT_OF_INTEREST_FLAGS["ISGRI_FLAG"] if isgri_flag is None else int(isgri_flag)
        lon, lat = self._coord_in_frame(coord)
        t = self._widened(self.table.copy(), "src_names", name)
        names = [str(n) for n in t["src_names"]]
        flags = {"FLAG": flag, "ISGRI_FLAG": isgri_flag, "JEMX_FLAG": isgri_flag}
        lon_v = np.asarray(t[self.lon_name], dtype=float)
        lat_v = np.asarray(t[self.lat_name], dtype=float)
        for i, n in enumerate(names):
            if "NEW" in n and abs(lon - lon_v[i]) <= tolerance and abs(lat - lat_v[i]) <= tolerance:
                t["src_names"][i] = name
                names[i] = name
                for col, value in flags.items():
                    if col in t.colnames:
                        t[col][i] = value
        rows = [i for i, n in enumerate(names) if n == name]
        if rows:
            for col, value in flags.items():
                if col in t.colnames:
                    t[col][rows] = value
            return Catalog(t, name=self.name)
        values: dict[str, Any] = {
            **_ADDED_ROW,
            **flags,
            "src_names": name,
            self.lon_name or "ra": lon,
            self.lat_name or "dec": lat,
        }
        t.add_row([values.get(c, _blank(t[c])) for c in t.colnames])
        return Catalog(t, name=self.name)

    def with_row(
        self, row: int, *, name: str | None = None, coord: SkyCoord | None = None, **columns: Any
    ) -> Catalog:
        """The catalog with row ``row`` (0-based) changed: its name, its position, and/or other
        columns by name (``significance=``, ``FLAG=``, ...)."""
        self._check_editable()
        n = len(self.table)
        if not isinstance(row, (int, np.integer)) or not 0 <= int(row) < n:
            raise InvalidParameter(f"no row {row!r}: the catalog has {n} rows", parameter="row")
        t = self.table.copy()
        if name is not None:
            if not isinstance(name, str) or not name.strip():
                raise InvalidParameter("a source needs a name", parameter="src_names")
            t = self._widened(t, "src_names", name.strip())
            t["src_names"][row] = name.strip()
        if coord is not None:
            lon, lat = self._coord_in_frame(coord)
            t[self.lon_name][row] = lon
            t[self.lat_name][row] = lat
        for col, value in columns.items():
            if col not in t.colnames:
                raise InvalidParameter(f"the catalog has no column {col!r}", parameter=col)
            try:
                t[col][row] = value
            except (TypeError, ValueError) as err:
                raise InvalidParameter(f"{col}: {err}", parameter=col) from None
        return Catalog(t, name=self.name)

    def without_rows(self, rows: Iterable[int]) -> Catalog:
        """The catalog without the rows at 0-based positions ``rows``."""
        drop = {int(i) for i in rows}
        n = len(self.table)
        unknown = sorted(i for i in drop if not 0 <= i < n)
        if unknown:
            raise InvalidParameter(f"no rows {unknown}: the catalog has {n} rows", parameter="row")
        keep = [i for i in range(n) if i not in drop]
        return Catalog(self.table[keep], name=self.name)

    # -- DS9 regions -------------------------------------------------------------------------------

    def to_regions(self) -> Regions:
        """One DS9 point per source (``text`` = its name; NEW sources dashed magenta, flagged
        objects of interest as boxes), in the catalog's frame."""
        out = []
        names = [str(n) for n in self.table["src_names"]] if "src_names" in self.table.colnames else []
        flags = self.table["FLAG"] if "FLAG" in self.table.colnames else None
        coords = self.coords if len(self.table) else []
        for i, c in enumerate(coords):
            name = names[i] if names else ""
            ooi = flags is not None and int(flags[i]) > 0
            # regions names DS9 point shapes by matplotlib markers: "s" is DS9's box, "o" its circle
            visual = {"color": "magenta" if "NEW" in name else "cyan", "marker": "s" if ooi else "o"}
            out.append(PointSkyRegion(center=c, meta={"text": name}, visual=visual))
        return Regions(out)

    @classmethod
    def from_regions(
        cls, regions: Any, like: Catalog | None = None, name: str | None = "user_catalog"
    ) -> Catalog:
        """A catalog of the points and circles of ``regions`` (a ``regions.Regions``, a DS9 file path
        or DS9 text): ``src_names`` from their ``text`` (else ``REG_n``). With ``like``, the rows
        take its columns and flags (as added objects of interest); otherwise the dispatcher's nine
        columns with the object-of-interest flags."""
        regs = read_regions(regions)
        points = [r for r in regs if isinstance(r, (PointSkyRegion, CircleSkyRegion))]
        if not points:
            raise InvalidParameter("no sky points or circles in these regions", parameter="regions")
        base = like if like is not None else cls.empty()
        cat = Catalog(base.table[:0].copy(), name=name)
        for k, r in enumerate(points):
            label = str((r.meta or {}).get("text") or f"REG_{k + 1}")
            cat = cat.with_source(label, r.center.transform_to((cat.frame or "icrs").lower()), tolerance=-1.0)
        return cat

    @classmethod
    def empty(cls, frame: str = "fk5", name: str | None = "user_catalog") -> Catalog:
        """A catalog with no rows and the dispatcher's columns (what a ``selected_catalog`` needs)."""
        t = Table(
            names=[n for n, _ in ISGRI_CATALOG_COLUMNS],
            dtype=[d for _, d in ISGRI_CATALOG_COLUMNS],
            meta={**FK5_DEGREES, "FRAME": frame},
        )
        return cls(t, name=name)

    @classmethod
    def read(cls, path: str | os.PathLike[str], name: str | None = None) -> Catalog:
        """A catalog from a file :meth:`save` wrote: ECSV (``.ecsv``/``.txt``), FITS or DS9 (``.reg``)."""
        path = Path(path)
        if path.suffix.lower() == ".reg":
            return cls.from_regions(Regions.read(str(path), format="ds9"), name=name or path.stem)
        fmt = "ascii.ecsv" if path.suffix.lower() in (".ecsv", ".txt") else None
        try:
            t = Table.read(str(path), format=fmt)
        except (OSError, ValueError) as err:
            raise InvalidParameter(
                f"cannot read a catalog from {path.name}: {err}", parameter="path"
            ) from None
        # FITS headers upper-case the meta keys the wire form needs: they are upper-case already
        for key in ("FRAME", "COORD_UNIT", "LON_NAME", "LAT_NAME"):
            if key not in t.meta and key.lower() in t.meta:
                t.meta[key] = t.meta.pop(key.lower())
        return cls(t, name=name or path.stem)

    @property
    def coords(self) -> SkyCoord:
        """Source positions as a SkyCoord in the catalog's frame and units."""
        unit = self.coord_unit or "deg"
        return SkyCoord(
            np.asarray(self.table[self.lon_name], dtype=float),
            np.asarray(self.table[self.lat_name], dtype=float),
            unit=(unit, unit),
            frame=(self.frame or "icrs").lower(),
        )

    def __len__(self) -> int:
        return len(self.table)

    def save(self, path: str | os.PathLike[str], overwrite: bool = True) -> str:
        """Write the table (ECSV for ``.ecsv``/``.txt``, FITS for ``.fits``, DS9 regions for
        ``.reg``); returns the path. :meth:`read` reads each back."""
        path = str(path)
        if path.endswith(".reg"):
            self.to_regions().write(path, format="ds9", overwrite=overwrite)
            return path
        fmt = "ascii.ecsv" if path.endswith((".ecsv", ".txt")) else None
        with warnings.catch_warnings():
            # FITS: the wire meta (COORD_UNIT, LON_NAME...) become HIERARCH cards, as intended
            warnings.simplefilter("ignore", VerifyWarning)
            self.table.write(path, format=fmt, overwrite=overwrite)
        return path

    def __repr__(self) -> str:
        names = list(self.table["src_names"][:5]) if "src_names" in self.table.colnames else []
        more = ", …" if len(self.table) > 5 else ""
        return (
            f"Catalog({self.name!r}, {len(self.table)} sources, frame={self.frame!r}: "
            f"{', '.join(map(str, names))}{more})"
        )


def _blank(col: Any) -> Any:
    # the value of a column no edit speaks about: zero, empty text, NaN for floats
    kind = col.dtype.kind
    if kind == "f":
        return math.nan
    if kind in "iub":
        return 0
    return ""


def read_regions(obj: Any) -> Regions:
    """``regions.Regions`` from a DS9 file path, DS9 text, a region or a list of regions.

    Lines ``regions`` cannot read are skipped (it warns); a file of which nothing can be read
    raises :class:`InvalidParameter` with the reasons."""
    from regions import PixelRegion, SkyRegion

    if isinstance(obj, Regions):
        return obj
    if isinstance(obj, (SkyRegion, PixelRegion)):
        return Regions([obj])
    if isinstance(obj, (list, tuple)):
        return Regions(list(obj))
    if not isinstance(obj, (str, Path)):
        raise InvalidParameter(
            f"expected regions, a DS9 file path or DS9 text, got {type(obj).__name__}", parameter="regions"
        )
    text = str(obj)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if "\n" not in text and Path(text).is_file():
                regs = Regions.read(text, format="ds9")
            else:
                regs = Regions.parse(text, format="ds9")
        except (OSError, ValueError) as err:
            raise InvalidParameter(f"not a DS9 region file: {err}", parameter="regions") from None
    if not len(regs):
        reasons = "; ".join(str(w.message) for w in caught) or "no region in it"
        raise InvalidParameter(f"not a DS9 region file: {reasons}", parameter="regions")
    return regs


class CatalogEditor:
    """Edits of a catalog with undo and redo: each action makes a new :class:`Catalog` version.

    ``editor.catalog`` is the current version; :meth:`add_source` (an object of interest, oda_api's
    conventions), :meth:`edit_row`, :meth:`delete_rows`, :meth:`undo`, :meth:`redo`, :meth:`load`
    (a file or catalog replacing the current one, undoable too).
    """

    def __init__(self, catalog: Catalog, limit: int = 200):
        self._versions = [catalog]
        self._at = 0
        self._limit = int(limit)

    @property
    def catalog(self) -> Catalog:
        return self._versions[self._at]

    def _push(self, catalog: Catalog) -> Catalog:
        del self._versions[self._at + 1 :]
        self._versions.append(catalog)
        if len(self._versions) > self._limit:
            del self._versions[0]
        self._at = len(self._versions) - 1
        return catalog

    def add_source(self, name: str, coord: SkyCoord, **flags: Any) -> Catalog:
        return self._push(self.catalog.with_source(name, coord, **flags))

    def edit_row(self, row: int, **changes: Any) -> Catalog:
        return self._push(self.catalog.with_row(row, **changes))

    def delete_rows(self, rows: Iterable[int]) -> Catalog:
        return self._push(self.catalog.without_rows(rows))

    def load(self, catalog: Catalog) -> Catalog:
        return self._push(catalog)

    @property
    def can_undo(self) -> bool:
        return self._at > 0

    @property
    def can_redo(self) -> bool:
        return self._at < len(self._versions) - 1

    def undo(self) -> Catalog:
        if not self.can_undo:
            raise InvalidParameter("nothing to undo", parameter="undo")
        self._at -= 1
        return self.catalog

    def redo(self) -> Catalog:
        if not self.can_redo:
            raise InvalidParameter("nothing to redo", parameter="redo")
        self._at += 1
        return self.catalog
