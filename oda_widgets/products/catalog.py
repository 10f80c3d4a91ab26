"""The image catalog (PROTOCOL §3.2, §5.2, §6) as an astropy ``Table``.

The dispatcher sends it column-major (``cat_column_names`` / ``cat_column_list``); a filtered copy
goes back as the ``selected_catalog`` JSON string of a spectrum or light-curve request.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from typing import Any

import numpy as np
from astropy.coordinates import SkyCoord
from astropy.table import Table

from oda_widgets.errors import InvalidParameter, OdaError
from oda_widgets.products.selection import selection_mask

__all__ = ["Catalog", "REQUIRED_COLUMNS"]

#: columns the dispatcher needs in a selected catalog (besides the lon/lat columns)
REQUIRED_COLUMNS = ("meta_ID", "src_names", "significance")


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
        """Write the table (ECSV for ``.ecsv``/``.txt``, FITS for ``.fits``); returns the path."""
        path = str(path)
        fmt = "ascii.ecsv" if path.endswith((".ecsv", ".txt")) else None
        self.table.write(path, format=fmt, overwrite=overwrite)
        return str(path)

    def __repr__(self) -> str:
        names = list(self.table["src_names"][:5]) if "src_names" in self.table.colnames else []
        more = ", …" if len(self.table) > 5 else ""
        return (
            f"Catalog({self.name!r}, {len(self.table)} sources, frame={self.frame!r}: "
            f"{', '.join(map(str, names))}{more})"
        )
