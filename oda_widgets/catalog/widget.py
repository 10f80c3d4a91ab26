"""``CatalogTable``: the image catalog as a sortable, filterable table (anywidget, ``js/catalog.js``).

Filtering runs in the browser (no kernel round trip per slider step); the browser tells Python the
resulting row ids through the synced ``visible_ids`` / ``selected_ids`` traits. Every control is also
a Python method, and the same filter is computed in Python when a method changes it, so a table
without a browser gives the same answers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import anywidget
import numpy as np
import traitlets
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.table import Table

from oda_widgets._assets import esm_path
from oda_widgets.client import protocol
from oda_widgets.client.job import Job
from oda_widgets.errors import InvalidParameter, OdaError
from oda_widgets.products.catalog import Catalog, CatalogEditor
from oda_widgets.products.selection import flagged_rows, selected_rows
from oda_widgets.static import StaticFallback, catalog_html

__all__ = ["CatalogTable", "as_catalog", "DEFAULT_MIN_SIGNIFICANCE"]

#: oda_api's quick-look cut: ``OdaImage.extract_catalog_from_image(det_sigma=5, include_new_sources=False)``
DEFAULT_MIN_SIGNIFICANCE = 5.0
#: one arrow-key step of the significance cut (Shift or PageUp/PageDown: ten)
SIGNIFICANCE_STEP = 0.1


def as_catalog(obj: Any) -> Catalog:
    """A :class:`~oda_widgets.products.Catalog` from a Catalog, an astropy Table, the dispatcher's
    catalog dict or its JSON string, or anything with a ``.catalog`` (a product collection)."""
    if isinstance(obj, Catalog):
        return obj
    if isinstance(obj, Table):
        return Catalog(obj)
    if isinstance(obj, (dict, str)):
        return Catalog.from_dict(obj)
    inner = getattr(obj, "catalog", None)
    if inner is not None and inner is not obj:
        return as_catalog(inner)
    raise InvalidParameter(
        f"cannot show a {type(obj).__name__} as a catalog: give a Catalog, an astropy "
        "Table or the dispatcher's catalog dict",
        parameter="catalog",
    )


def _wire_column(col) -> list:
    # JSON-ready values: NaN → None, bytes → str (FITS string columns), numpy scalars → Python
    out = []
    for v in np.asarray(col).tolist():
        if isinstance(v, bytes):
            v = v.decode("utf-8", "replace")
        elif isinstance(v, float) and not math.isfinite(v):
            v = None
        out.append(v)
    return out


def _wire_table(t: Table) -> dict:
    return {"names": list(t.colnames), "columns": [_wire_column(t[c]) for c in t.colnames]}


def _kept_rows(t: Table) -> list[int]:
    # objects of interest (FLAG > 0): oda_api adds them after its cut, so no cut removes them
    return flagged_rows(t["FLAG"] if "FLAG" in t.colnames else None)


class CatalogTable(StaticFallback, anywidget.AnyWidget):
    """A catalog table: sortable columns, a significance slider, an "exclude NEW" toggle, a name
    search and row checkboxes.

    ``table.selected`` is the astropy Table of the rows that pass the filter and are checked;
    ``table.selected_catalog`` is that selection as the dispatcher's ``selected_catalog`` JSON
    string (``meta_ID`` kept, NaN → null). Defaults follow oda_api's quick-look cut
    (significance ≥ 5, NEW sources excluded).

    ``catalog`` is a Catalog, an astropy Table, the dispatcher's catalog dict, or the
    ProductCollection of an image job (then its ``analysis_parameters`` and instrument are used).
    ``dispatcher`` and those ``analysis_parameters`` are needed for :meth:`spectrum_for_selected`
    / :meth:`light_curves_for_selected`.
    """

    _esm = esm_path("catalog.js")
    _css = esm_path("catalog.css")
    #: saved notebooks show the rows that pass the cut as an HTML table
    _static_html = catalog_html

    table_data = traitlets.Dict().tag(sync=True)
    significance_column = traitlets.Unicode("significance").tag(sync=True)
    name_column = traitlets.Unicode("src_names").tag(sync=True)
    significance_range = traitlets.List([0.0, 1.0]).tag(sync=True)
    min_significance = traitlets.Float(DEFAULT_MIN_SIGNIFICANCE, allow_none=True).tag(sync=True)
    exclude_new_sources = traitlets.Bool(True).tag(sync=True)
    search_text = traitlets.Unicode("").tag(sync=True)
    #: row ids (0-based positions in the catalog) the user unticked
    unchecked_ids = traitlets.List(traitlets.Int()).tag(sync=True)
    #: row ids passing the filter, ascending (written by the browser and by Python)
    visible_ids = traitlets.List(traitlets.Int()).tag(sync=True)
    #: row ids passing the filter and ticked, ascending
    selected_ids = traitlets.List(traitlets.Int()).tag(sync=True)
    #: the highlighted row (clicked here or on the mosaic), -1 for none
    active_id = traitlets.Int(-1).tag(sync=True)
    sort_by = traitlets.Unicode("").tag(sync=True)
    sort_desc = traitlets.Bool(False).tag(sync=True)
    status = traitlets.Unicode("").tag(sync=True)
    height = traitlets.Int(300).tag(sync=True)
    #: the last follow-up job started from this table (spectrum / light curves; not synced):
    #: observe it to follow those jobs elsewhere (the Explorer puts them on its board)
    follow_up_job = traitlets.Instance(Job, allow_none=True)
    #: rows flagged as objects of interest (FLAG > 0): kept whatever the cut, as oda_api adds them
    #: after its significance cut
    kept_ids = traitlets.List(traitlets.Int()).tag(sync=True)
    editable = traitlets.Bool(True).tag(sync=True)
    lon_column = traitlets.Unicode("ra").tag(sync=True)
    lat_column = traitlets.Unicode("dec").tag(sync=True)
    can_undo = traitlets.Bool(False).tag(sync=True)
    can_redo = traitlets.Bool(False).tag(sync=True)

    def __init__(
        self,
        catalog: Any,
        *,
        dispatcher=None,
        analysis_parameters: Mapping | None = None,
        instrument: str | None = None,
        min_significance: float | None = DEFAULT_MIN_SIGNIFICANCE,
        exclude_new: bool = True,
        height: int = 300,
        **kwargs,
    ):
        self.catalog = as_catalog(catalog)
        t = self.catalog.table
        self.dispatcher = dispatcher
        self._par_names: dict[str, list[str | None] | None] = {}  # follow-up product -> its names
        if analysis_parameters is None:
            # a product collection carries the parameters of the image request
            analysis_parameters = getattr(catalog, "analysis_parameters", None)
        self.analysis_parameters = dict(analysis_parameters or {})
        self.instrument = (
            instrument or self.analysis_parameters.get("instrument") or getattr(catalog, "instrument", None)
        )
        has_sig = "significance" in t.colnames
        if has_sig:
            sig = np.asarray(t["significance"], dtype=float)
            finite = sig[np.isfinite(sig)]
            lo = float(min(finite.min(), 0.0)) if finite.size else 0.0
            hi = (
                float(max(finite.max(), DEFAULT_MIN_SIGNIFICANCE))
                if finite.size
                else DEFAULT_MIN_SIGNIFICANCE
            )
        else:
            lo, hi = 0.0, 1.0
            min_significance = None
        data = _wire_table(t)
        self.editor = CatalogEditor(self.catalog)
        super().__init__(
            table_data=data,
            kept_ids=_kept_rows(t),
            lon_column=str(t.meta.get("LON_NAME") or "ra"),
            lat_column=str(t.meta.get("LAT_NAME") or "dec"),
            significance_range=[lo, hi],
            height=height,
            min_significance=min_significance,
            exclude_new_sources=bool(exclude_new),
            significance_column="significance" if has_sig else "",
            name_column="src_names" if "src_names" in t.colnames else "",
            **kwargs,
        )
        self._refilter()
        self.on_msg(self._on_front_end_msg)

    # -- the filter: the rule of products/selection.py, whose twin js/catalog.js runs in the page --
    def _visible(self) -> list[int]:
        t = self.catalog.table
        return selected_rows(
            t[self.significance_column] if self.significance_column else None,
            t[self.name_column] if self.name_column else [""] * len(t),
            min_significance=self.min_significance,
            exclude_new=self.exclude_new_sources,
            search=self.search_text,
            kept=self.kept_ids,
        )

    @traitlets.validate("visible_ids", "selected_ids", "unchecked_ids", "kept_ids")
    def _known_rows(self, proposal):
        # ids come from the page too: keep only rows that exist, once each, in order
        n = len(self.catalog.table)
        return sorted({int(i) for i in proposal["value"] if 0 <= int(i) < n})

    @traitlets.observe("min_significance", "exclude_new_sources", "search_text", "unchecked_ids")
    def _on_filter(self, change):
        self._refilter()

    def _refilter(self) -> None:
        visible = self._visible()
        unchecked = set(self.unchecked_ids)
        with self.hold_sync():
            self.visible_ids = visible
            self.selected_ids = [i for i in visible if i not in unchecked]

    # -- Python twins of the UI actions -----------------------------------------------------------
    def set_min_significance(self, value: float | None) -> CatalogTable:
        """Keep sources with ``significance >= value`` (None: no cut), as the slider does."""
        if value is not None:
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise InvalidParameter(
                    f"minimum significance must be a number, got {value!r}", parameter="min_significance"
                ) from None
            if not math.isfinite(value):
                raise InvalidParameter(
                    f"minimum significance must be finite, got {value!r}", parameter="min_significance"
                )
            lo, hi = self.significance_range
            if value < lo or value > hi:
                # widen the slider so the state it shows is the state in effect
                self.significance_range = [min(lo, value), max(hi, value)]
        self.min_significance = value
        return self

    def exclude_new(self, exclude: bool = True) -> CatalogTable:
        """Hide sources whose name contains ``NEW`` (new detections), as the toggle does."""
        self.exclude_new_sources = bool(exclude)
        return self

    def search(self, text: str) -> CatalogTable:
        """Show only sources whose name contains ``text`` (case-insensitive; empty: all)."""
        if not isinstance(text, str):
            raise InvalidParameter(
                f"search text must be a string, got {type(text).__name__}", parameter="search"
            )
        self.search_text = text
        return self

    def select(self, meta_ids: Iterable[int] | None) -> CatalogTable:
        """Tick exactly the rows whose ``meta_ID`` is in ``meta_ids`` (None: tick all rows).

        Rows hidden by the filter stay out of :attr:`selected` even when ticked.
        """
        n = len(self.catalog.table)
        if meta_ids is None:
            self.unchecked_ids = []
            return self
        wanted = {int(i) for i in meta_ids}
        known = {int(i) for i in self.catalog.table["meta_ID"]}
        unknown = sorted(wanted - known)
        if unknown:
            raise InvalidParameter(f"no source with meta_ID {unknown} in this catalog", parameter="meta_ID")
        ids = np.asarray(self.catalog.table["meta_ID"], dtype=int)
        self.unchecked_ids = [i for i in range(n) if int(ids[i]) not in wanted]
        return self

    # -- editing (Python twins of the edit bar; each edit can be undone) ----------------------------
    def _set_catalog(self, catalog: Catalog) -> None:
        """Show ``catalog`` (a new version): ticks follow the sources by name, the slider keeps its
        range (widened only to cover new values)."""
        old = self.catalog.table
        unticked = (
            {str(old["src_names"][i]) for i in self.unchecked_ids} if "src_names" in old.colnames else set()
        )
        self.catalog = catalog
        t = catalog.table
        with self.hold_sync():
            if self.significance_column and len(t):
                sig = np.asarray(t[self.significance_column], dtype=float)
                finite = sig[np.isfinite(sig)]
                if finite.size:
                    lo, hi = self.significance_range
                    self.significance_range = [min(lo, float(finite.min())), max(hi, float(finite.max()))]
            self.table_data = _wire_table(t)
            self.kept_ids = _kept_rows(t)
            names = [str(n) for n in t["src_names"]] if "src_names" in t.colnames else []
            self.unchecked_ids = [i for i, n in enumerate(names) if n in unticked]
            if self.active_id >= len(t):
                self.active_id = -1
            self.can_undo, self.can_redo = self.editor.can_undo, self.editor.can_redo
            self._refilter()

    def _position(self, coord=None, ra=None, dec=None) -> SkyCoord:
        if coord is not None:
            if not isinstance(coord, SkyCoord):
                raise InvalidParameter(
                    f"coord must be a SkyCoord, got {type(coord).__name__}", parameter="coord"
                )
            return coord
        if ra is None or dec is None or str(ra).strip() == "" or str(dec).strip() == "":
            raise InvalidParameter(
                "give RA and Dec (degrees or sexagesimal), or a name to resolve", parameter="RA"
            )
        ra_unit = (
            u.hourangle if any(c in str(ra) for c in ":hH ") and not isinstance(ra, (int, float)) else u.deg
        )
        try:
            return SkyCoord(ra, dec, unit=(ra_unit, u.deg), frame=(self.catalog.frame or "icrs").lower())
        except (ValueError, TypeError) as err:
            raise InvalidParameter(
                f"cannot read the position {ra!r}, {dec!r}: {err}", parameter="RA"
            ) from None

    def _next_name(self) -> str:
        names = (
            {str(n) for n in self.catalog.table["src_names"]}
            if "src_names" in self.catalog.table.colnames
            else set()
        )
        k = 1
        while f"USER_{k}" in names:
            k += 1
        return f"USER_{k}"

    def add_source(
        self, coord: SkyCoord | None = None, name: str | None = None, *, ra=None, dec=None, **flags
    ) -> int:
        """Add an object of interest at ``coord`` (a SkyCoord; or ``ra``/``dec`` in degrees or
        sexagesimal text) named ``name`` (default ``USER_n``), with oda_api's conventions
        (:meth:`~oda_widgets.products.Catalog.with_source`: FLAG/ISGRI_FLAG set; a NEW detection
        within 1′ is renamed instead). It is ticked and kept whatever the cut. Returns its row."""
        position = self._position(coord, ra, dec)
        name = name.strip() if isinstance(name, str) and name.strip() else self._next_name()
        self._set_catalog(self.editor.add_source(name, position, **flags))
        row = [str(n) for n in self.catalog.table["src_names"]].index(name)
        self.status = f"added {name}"
        return row

    def add_object_of_interest(self, name: str, coord: SkyCoord | None = None, **flags) -> int:
        """Add the source ``name`` at ``coord``, or where the dispatcher's name resolver puts it."""
        if coord is None:
            if self.dispatcher is None:
                raise OdaError("resolving a name needs the dispatcher: CatalogTable(..., dispatcher=...)")
            coord = self.dispatcher.resolve(name)
        return self.add_source(coord, name, **flags)

    def edit_row(
        self,
        row: int,
        *,
        name: str | None = None,
        coord: SkyCoord | None = None,
        ra=None,
        dec=None,
        **columns,
    ):
        """Change row ``row`` (0-based): its ``name``, its position (``coord`` or ``ra``/``dec``)
        and/or other columns (``significance=``, ``FLAG=``...)."""
        if coord is None and (ra is not None or dec is not None):
            coord = self._position(None, ra, dec)
        self._set_catalog(self.editor.edit_row(int(row), name=name, coord=coord, **columns))
        self.status = f"edited row {row}"
        return self

    def delete_rows(self, rows: Iterable[int]) -> CatalogTable:
        """Delete the rows at 0-based positions ``rows``."""
        rows = sorted({int(i) for i in rows})
        if not rows:
            raise InvalidParameter("no row to delete", parameter="row")
        self._set_catalog(self.editor.delete_rows(rows))
        self.status = f"deleted {len(rows)} row{'s' if len(rows) > 1 else ''}"
        return self

    def undo(self) -> CatalogTable:
        """Undo the last edit."""
        self._set_catalog(self.editor.undo())
        self.status = "undone"
        return self

    def redo(self) -> CatalogTable:
        """Redo the edit undone last."""
        self._set_catalog(self.editor.redo())
        self.status = "redone"
        return self

    def save(self, path, overwrite: bool = True) -> str:
        """Write the edited catalog: ECSV (``.ecsv``), FITS (``.fits``) or DS9 regions (``.reg``)."""
        return self.catalog.save(path, overwrite=overwrite)

    def load(self, path_or_catalog) -> CatalogTable:
        """Replace the catalog by a file :meth:`save` wrote (ECSV, FITS, DS9 ``.reg``: points and
        circles become objects of interest), or a Catalog/Table (undoable)."""
        from pathlib import Path

        if isinstance(path_or_catalog, (str, Path)):
            path = Path(path_or_catalog)
            if path.suffix.lower() == ".reg":
                new = Catalog.from_regions(str(path), like=self.catalog, name=self.catalog.name)
            else:
                new = Catalog.read(path, name=self.catalog.name)
        else:
            new = as_catalog(path_or_catalog)
        self._set_catalog(self.editor.load(new))
        self.status = f"loaded {len(new)} sources"
        return self

    # -- what the user gets -------------------------------------------------------------------------
    @property
    def selected(self) -> Table:
        """The astropy Table of the rows that pass the filter and are ticked (catalog order)."""
        return self.catalog.table[list(self.selected_ids)]

    @property
    def selected_catalog(self) -> str:
        """The selection as the dispatcher's ``selected_catalog`` JSON string (meta_ID kept, NaN → null).

        Raises :class:`~oda_widgets.errors.InvalidParameter` when nothing is selected.
        """
        return Catalog(self.selected, name=self.catalog.name).to_selected_catalog()

    def to_selected_catalog(self) -> str:
        """Same as :attr:`selected_catalog` (so the table can be passed as ``selected_catalog=``)."""
        return self.selected_catalog

    # -- follow-up requests -------------------------------------------------------------------------
    def follow_up_parameters(self, product: str) -> dict:
        """The parameters of a follow-up request: the image's time/pointing/energy parameters plus
        this ``selected_catalog`` (what :meth:`spectrum_for_selected` sends)."""
        return protocol.user_parameters(self.follow_up_request("spectrum"))

    def follow_up_request(self, kind: str, *, with_selection: bool = True) -> dict:
        """The par_dict of the follow-up request ``kind`` (``spectrum`` or ``lc``) for the selected
        sources, as :func:`oda_widgets.client.protocol.follow_up` builds it: only the parameters
        the follow-up product accepts (its ``/api/par-names``) are carried over."""
        selection = self.selected_catalog if with_selection else None
        product = protocol.follow_up_product(self.instrument, kind)
        return protocol.follow_up(
            self.analysis_parameters,
            selection,
            kind,
            instrument=self.instrument,
            accepted=self._accepted(product),
        )

    def _accepted(self, product: str) -> list[str | None] | None:
        """The names ``product`` accepts, asked once per product (None: unknown, send all)."""
        if self.dispatcher is None or not self.instrument:
            return None
        if product not in self._par_names:
            try:
                self._par_names[product] = self.dispatcher.par_names(self.instrument, product)
            except OdaError:
                self._par_names[product] = None  # the dispatcher will say which arguments it did not use
        return self._par_names[product]

    def _follow_up(self, kind: str, submit: bool) -> Job:
        protocol.follow_up_product(self.instrument, kind)  # no instrument: say so first
        if self.dispatcher is None:
            raise OdaError(
                "this table has no dispatcher: create it with CatalogTable(catalog, "
                "dispatcher=..., analysis_parameters=...) to run follow-up requests"
            )
        request = self.follow_up_request(kind)
        job = Job(self.dispatcher, request["instrument"], request["product_type"], request)
        if submit:
            job.submit()
        self.follow_up_job = job
        return job

    def spectrum_for_selected(self, submit: bool = True):
        """A :class:`~oda_widgets.client.job.Job` for ``<instrument>_spectrum`` of the selected
        sources, with the image's parameters; submitted unless ``submit=False``."""
        return self._follow_up("spectrum", submit)

    def light_curves_for_selected(self, submit: bool = True):
        """A :class:`~oda_widgets.client.job.Job` for ``<instrument>_lc`` of the selected sources."""
        return self._follow_up("lc", submit)

    def form_for_selected(self, kind: str = "spectrum"):
        """A :class:`~oda_widgets.form.QueryForm` for ``<instrument>_spectrum`` (``kind="spectrum"``)
        or ``<instrument>_lc`` (``kind="lc"``), filled with the image's parameters and this
        selection, to review and submit (``form.submit()``)."""
        from oda_widgets.form import QueryForm

        if kind not in protocol.FOLLOW_UP_PRODUCTS:
            raise InvalidParameter(f"kind must be 'spectrum' or 'lc', got {kind!r}", parameter="kind")
        if not self.instrument or self.dispatcher is None:
            raise OdaError(
                "a follow-up form needs the dispatcher and the image's instrument: "
                "CatalogTable(collection, dispatcher=...)"
            )
        request = self.follow_up_request(kind, with_selection=False)
        form = QueryForm(self.dispatcher, request["instrument"], request["product_type"])
        form.set_values(protocol.user_parameters(request))
        form.link_catalog(Catalog(self.selected, name=self.catalog.name))
        return form

    @property
    def last_job(self) -> Job | None:
        """The last follow-up job started from this table (same as :attr:`follow_up_job`)."""
        return self.follow_up_job

    def _on_edit(self, content: dict) -> None:
        action = content.get("action")
        try:
            if action == "add":
                self.add_source(
                    None, content.get("name") or None, ra=content.get("ra"), dec=content.get("dec")
                )
            elif action == "resolve":
                self.add_object_of_interest(str(content.get("name") or "").strip())
            elif action == "edit":
                self.edit_row(
                    int(content["row"]),
                    name=content.get("name") or None,
                    ra=content.get("ra"),
                    dec=content.get("dec"),
                )
            elif action == "delete":
                self.delete_rows([int(r) for r in content.get("rows", [])])
            elif action == "undo":
                self.undo()
            elif action == "redo":
                self.redo()
        except OdaError as err:
            # shown beside the edit bar: the user's input stays in the fields
            self.status = f"✗ {err}"
        except (KeyError, TypeError, ValueError):
            self.status = "✗ malformed edit from the page"

    def _on_front_end_msg(self, _widget, content, _buffers) -> None:
        if isinstance(content, dict) and content.get("type") == "edit":
            self._on_edit(content)
            return
        if not isinstance(content, dict) or content.get("type") != "action":
            return
        action = {"spectrum": self.spectrum_for_selected, "light_curve": self.light_curves_for_selected}.get(
            content.get("name")
        )
        if action is None:
            return
        try:
            job = action()
        except OdaError as err:
            # shown where the user clicked: the button has no other place to report
            self.status = f"✗ {err}"
            return
        self.status = f"{job.product} job {job.job_id or ''} {job.state.value}".replace("  ", " ")

    def __repr__(self) -> str:
        return (
            f"CatalogTable({len(self.catalog.table)} sources, {len(self.visible_ids)} shown, "
            f"{len(self.selected_ids)} selected, min_significance={self.min_significance}, "
            f"exclude_new={self.exclude_new_sources})"
        )
