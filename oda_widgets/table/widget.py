"""``TableView``: any astropy table, sortable and virtual-scrolled in the browser, with an x/y plot.

The columns travel as binary buffers (float64 numbers, UTF-8 text with offsets), not JSON lists, so
10^5 rows load in one message of ~8 bytes per number. Sorting and scrolling run in the page
(``js/table.js``): only the rows in view are in the DOM. Every control is also a Python method:
:meth:`sort`, :meth:`show_columns` / :meth:`hide_columns`, :meth:`plot`, :meth:`set_log`,
:meth:`save`. Which columns the plot shows first (x, y, their errors, upper limits, log axes) is
:func:`oda_widgets.products.guess_plot_columns` — an SED table opens as ν F_ν against frequency on
log axes with its upper limits marked.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import anywidget
import numpy as np
import traitlets
from astropy import units as u
from astropy.table import Table
from astropy.time import Time

from oda_widgets._assets import esm_path
from oda_widgets.errors import InvalidParameter
from oda_widgets.products.columns import PlotColumns, guess_plot_columns

__all__ = ["TableView", "as_table", "wire_column"]

_PLOT_TRAITS = (
    "plot_x_err",
    "plot_y_err",
    "plot_y_err_lo",
    "plot_y_err_hi",
    "plot_x_lo",
    "plot_x_hi",
    "plot_upper_limit",
)
# numbers beyond 2**53 do not survive float64: such integer columns travel as text
_EXACT_INT = 2**53


def as_table(obj: Any) -> Table:
    """An astropy Table from a Table/QTable, a table product (``.table``), a Catalog, or a FITS
    table HDU."""
    if isinstance(obj, Table):
        return obj
    inner = getattr(obj, "table", None)
    if isinstance(inner, Table):
        return inner
    from astropy.io import fits

    if isinstance(obj, (fits.BinTableHDU, fits.TableHDU)):
        return Table.read(obj)
    raise InvalidParameter(
        f"cannot show a {type(obj).__name__} as a table: give an astropy Table or a table product",
        parameter="table",
    )


def _unit_text(col: Any) -> str:
    unit = getattr(col, "unit", None)
    if unit is None:
        return ""
    try:
        return unit.to_string()
    except Exception:  # an unparsed unit from a file: show what it says
        return str(unit)


def _texts(values: Iterable[Any]) -> tuple[bytes, np.ndarray]:
    encoded = []
    for v in values:
        if isinstance(v, bytes):
            v = v.decode("utf-8", "replace")
        encoded.append(("" if v is None or v is np.ma.masked else str(v)).encode("utf-8"))
    offsets = np.zeros(len(encoded) + 1, dtype="<u4")
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
    return b"".join(encoded), offsets


def wire_column(col: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """One column as ``(description, data)``: description ``{name, unit, kind, description}``
    (kind ``f`` float, ``i`` integer, ``b`` boolean, ``t`` time as MJD, ``s`` text) and data
    ``{"values": float64 bytes}`` or ``{"text": UTF-8 bytes, "offsets": uint32 bytes}``."""
    name = str(col.info.name)
    desc = {"name": name, "unit": _unit_text(col), "description": str(col.info.description or "")}
    if isinstance(col, Time):
        mjd = np.ma.filled(np.ma.asarray(col.mjd, dtype=float), np.nan)
        desc.update(kind="t", unit=f"MJD ({col.scale.upper()})")
        return desc, {"values": memoryview(np.ascontiguousarray(mjd, dtype="<f8")).cast("B")}
    arr = np.ma.asarray(col.value if isinstance(col, u.Quantity) else col)
    kind = arr.dtype.kind
    if arr.ndim == 1 and kind in "iufb":
        if kind in "iu" and arr.size and np.ma.max(np.abs(arr.astype(float))) >= _EXACT_INT:
            text, offsets = _texts(arr.tolist())
            desc["kind"] = "i"
            return desc, {"text": memoryview(text), "offsets": memoryview(offsets).cast("B")}
        values = np.ma.filled(arr.astype(float), np.nan)
        desc["kind"] = {"b": "b", "f": "f"}.get(kind, "i")
        return desc, {"values": memoryview(np.ascontiguousarray(values, dtype="<f8")).cast("B")}
    desc["kind"] = "s"
    if arr.ndim > 1:  # vector cells: shown as text, not plotted
        values = [np.array2string(np.asarray(v), threshold=8, precision=5) for v in arr]
    else:
        values = arr.tolist()
    text, offsets = _texts(values)
    return desc, {"text": memoryview(text), "offsets": memoryview(offsets).cast("B")}


class TableView(anywidget.AnyWidget):
    """An astropy table in the browser: sortable columns (click a header), only the rows in view in
    the page (10^5 rows scroll smoothly), units in the header, a column picker, and an x/y plot of
    two columns with log axes, error bars and upper limits marked as arrows.

    ``TableView(table)`` takes an astropy Table/QTable, a table product of a
    :class:`~oda_widgets.products.ProductCollection`, or a FITS table HDU. ``title`` defaults to
    the product's label. ``plot=False`` starts with the plot closed; ``x``/``y`` choose its columns.

    Python methods for every control: :meth:`sort` (a header click), :meth:`show_columns` /
    :meth:`hide_columns` (the column picker), :meth:`plot` (the x/y menus), :meth:`set_log` (the log
    boxes), :meth:`toggle_plot` (Plot), :meth:`save` (Save); :meth:`sorted_rows` gives the
    displayed order.
    """

    _esm = esm_path("table.js")
    _css = esm_path("table.css")

    title = traitlets.Unicode("").tag(sync=True)
    #: ``[{name, unit, kind, description}]`` per column, in table order
    columns = traitlets.List(traitlets.Dict()).tag(sync=True)
    #: per column ``{"values": float64 bytes}`` or ``{"text": bytes, "offsets": uint32 bytes}``
    column_data = traitlets.List().tag(sync=True)
    n_rows = traitlets.Int(0).tag(sync=True)
    visible_columns = traitlets.List(traitlets.Unicode()).tag(sync=True)
    sort_column = traitlets.Unicode("").tag(sync=True)
    sort_descending = traitlets.Bool(False).tag(sync=True)
    show_plot = traitlets.Bool(True).tag(sync=True)
    plot_x = traitlets.Unicode("").tag(sync=True)
    plot_y = traitlets.Unicode("").tag(sync=True)
    plot_x_err = traitlets.Unicode("").tag(sync=True)
    plot_y_err = traitlets.Unicode("").tag(sync=True)
    plot_y_err_lo = traitlets.Unicode("").tag(sync=True)
    plot_y_err_hi = traitlets.Unicode("").tag(sync=True)
    plot_x_lo = traitlets.Unicode("").tag(sync=True)
    plot_x_hi = traitlets.Unicode("").tag(sync=True)
    plot_upper_limit = traitlets.Unicode("").tag(sync=True)
    log_x = traitlets.Bool(False).tag(sync=True)
    log_y = traitlets.Bool(False).tag(sync=True)
    invert_y = traitlets.Bool(False).tag(sync=True)
    height = traitlets.Int(300).tag(sync=True)
    status = traitlets.Unicode("").tag(sync=True)

    def __init__(
        self,
        table: Any,
        *,
        title: str | None = None,
        plot: bool = True,
        x: str | None = None,
        y: str | None = None,
        height: int = 300,
        **kwargs: Any,
    ):
        self.table = as_table(table)
        self.product = table if table is not self.table else None
        descs, data = [], []
        for name in self.table.colnames:
            d, buf = wire_column(self.table[name])
            descs.append(d)
            data.append(buf)
        if title is None:
            title = str(getattr(table, "label", None) or getattr(table, "name", None) or "")
        self._choosing = False
        super().__init__(
            title=title,
            columns=descs,
            column_data=data,
            n_rows=len(self.table),
            visible_columns=list(self.table.colnames),
            height=height,
            **kwargs,
        )
        self.observe(self._plot_columns_changed, names=["plot_x", "plot_y"])
        self.on_msg(self._on_message)
        self.add_class("oda-table-view")
        chosen = guess_plot_columns(self.table, x=x, y=y)
        self._apply(chosen)
        self.show_plot = bool(plot and chosen.x and chosen.y)

    # -- columns and order ----------------------------------------------------------------------

    def _check(self, name: str, what: str = "column") -> str:
        if name not in self.table.colnames:
            raise InvalidParameter(f"no {what} {name!r}; the table has {self.table.colnames}", parameter=what)
        return name

    def sort(self, column: str | None, descending: bool = False) -> None:
        """Sort the rows shown by ``column`` (None: table order); missing values (NaN) go last."""
        if column is None:
            self.sort_column = ""
            self.sort_descending = False
            return
        self._check(column)
        with self.hold_trait_notifications():
            self.sort_column = column
            self.sort_descending = bool(descending)

    def sorted_rows(self) -> np.ndarray:
        """Row indices in the order shown (the page sorts by the same rule)."""
        n = len(self.table)
        if not self.sort_column:
            return np.arange(n)
        col = self.table[self.sort_column]
        kind = next(c["kind"] for c in self.columns if c["name"] == self.sort_column)
        if kind in "fibt" and not isinstance(col, Time):
            values = np.ma.filled(np.ma.asarray(col, dtype=float), np.nan)
        elif isinstance(col, Time):
            values = np.asarray(col.mjd, dtype=float)
        else:
            text = [("" if v is None else str(v)) for v in np.ma.asarray(col).tolist()]
            # Python's sort is stable in both directions: ties keep table order, as in the page
            return np.asarray(sorted(range(n), key=text.__getitem__, reverse=self.sort_descending), dtype=int)
        missing = ~np.isfinite(values)
        idx = np.arange(n)
        present = idx[~missing]
        keys = values[present]
        if self.sort_descending:
            order = present[np.lexsort((present, -keys))]
        else:
            order = present[np.lexsort((present, keys))]
        return np.concatenate([order, idx[missing]])

    def show_columns(self, names: Iterable[str]) -> None:
        """Show exactly these columns (in table order); the others are hidden, not removed."""
        wanted = {self._check(n) for n in names}
        self.visible_columns = [n for n in self.table.colnames if n in wanted]

    def hide_columns(self, names: Iterable[str]) -> None:
        """Hide these columns from the table (the plot can still use them)."""
        hidden = {self._check(n) for n in names}
        self.visible_columns = [n for n in self.visible_columns if n not in hidden]

    # -- plot -------------------------------------------------------------------------------------

    @property
    def plot_columns(self) -> PlotColumns:
        """What the plot shows now (column names, None where nothing)."""
        return PlotColumns(
            x=self.plot_x or None,
            y=self.plot_y or None,
            x_err=self.plot_x_err or None,
            y_err=self.plot_y_err or None,
            y_err_lo=self.plot_y_err_lo or None,
            y_err_hi=self.plot_y_err_hi or None,
            x_lo=self.plot_x_lo or None,
            x_hi=self.plot_x_hi or None,
            upper_limit=self.plot_upper_limit or None,
            log_x=self.log_x,
            log_y=self.log_y,
            invert_y=self.invert_y,
        )

    def _apply(self, cols: PlotColumns) -> None:
        self._choosing = True
        try:
            with self.hold_trait_notifications():
                self.plot_x = cols.x or ""
                self.plot_y = cols.y or ""
                for trait in _PLOT_TRAITS:
                    setattr(self, trait, getattr(cols, trait[len("plot_") :]) or "")
                self.log_x, self.log_y, self.invert_y = cols.log_x, cols.log_y, cols.invert_y
        finally:
            self._choosing = False

    def _plot_columns_changed(self, change: Any) -> None:
        # x or y picked in the page: errors, limits and axes follow the one rule
        if self._choosing:
            return
        x, y = self.plot_x or None, self.plot_y or None
        if (x and x not in self.table.colnames) or (y and y not in self.table.colnames):
            return
        self._apply(guess_plot_columns(self.table, x=x, y=y))

    def plot(
        self,
        x: str | None = None,
        y: str | None = None,
        *,
        x_err: str | None = None,
        y_err: str | None = None,
        upper_limit: str | None = None,
        log_x: bool | None = None,
        log_y: bool | None = None,
        invert_y: bool | None = None,
    ) -> PlotColumns:
        """Plot column ``y`` against ``x`` (either left out: the current or guessed one). Errors,
        bin edges, upper-limit flags and log axes are guessed from the names and units unless
        given. Opens the plot; returns what it shows."""
        x = self._check(x) if x else (self.plot_x or None)
        y = self._check(y) if y else (self.plot_y or None)
        cols = guess_plot_columns(self.table, x=x, y=y)
        changes: dict[str, Any] = {}
        if x_err is not None:
            changes["x_err"] = self._check(x_err)
        if y_err is not None:
            changes["y_err"] = self._check(y_err)
        if upper_limit is not None:
            changes["upper_limit"] = self._check(upper_limit)
        for key, value in (("log_x", log_x), ("log_y", log_y), ("invert_y", invert_y)):
            if value is not None:
                changes[key] = bool(value)
        cols = PlotColumns(**{**cols.__dict__, **changes})
        if cols.x is None or cols.y is None:
            raise InvalidParameter(
                f"no two numeric columns to plot in {self.table.colnames}",
                parameter="x" if cols.x is None else "y",
            )
        self._apply(cols)
        self.show_plot = True
        return cols

    def toggle_plot(self, show: bool | None = None) -> bool:
        """Open or close the plot (the Plot button); ``show`` forces it. Returns whether it shows."""
        self.show_plot = (not self.show_plot) if show is None else bool(show)
        return self.show_plot

    def set_log(self, x: bool | None = None, y: bool | None = None) -> None:
        """Logarithmic (True) or linear (False) axes; None leaves an axis as it is."""
        if x is not None:
            self.log_x = bool(x)
        if y is not None:
            self.log_y = bool(y)

    # -- files ------------------------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str] | None = None, overwrite: bool = True) -> Path:
        """Write the whole table (all columns, table order, units and meta kept): ``.fits``,
        ``.csv``, ``.vot``/``.xml`` (VOTable), else ECSV. Default: ``<title>.ecsv`` here."""
        if path is None or str(path).strip() == "":
            stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in (self.title or "table")).strip(
                "._"
            )
            path = f"{stem or 'table'}.ecsv"
        p = Path(path)
        fmt = {
            ".fits": "fits",
            ".fit": "fits",
            ".csv": "ascii.csv",
            ".vot": "votable",
            ".xml": "votable",
        }.get(p.suffix.lower(), "ascii.ecsv")
        self.table.write(p, format=fmt, overwrite=overwrite)
        self.status = f"Saved {len(self.table)} rows to {p}"
        return p

    def _on_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict) or content.get("type") != "save":
            return
        try:
            self.save(content.get("path") or None)
        except (OSError, ValueError, InvalidParameter) as exc:
            self.status = f"Could not save: {exc}"

    def __repr__(self) -> str:
        return f"TableView({self.title!r}, {len(self.table)} rows × {len(self.table.colnames)} columns)"
