"""One widget showing every product of a finished job, each with the view that fits it.

``results_view(collection)`` looks at what a :class:`~oda_widgets.products.ProductCollection` holds:

* light curves → :class:`oda_widgets.light_curve.LightCurveView`
* a mosaic (and its catalog) → :class:`oda_widgets.mosaic.MosaicView` + :class:`oda_widgets.catalog.CatalogTable`
* spectra → :class:`oda_widgets.spectrum.SpectrumView`
* tables → an HTML table (first rows only), pictures → an image, texts → preformatted text
* anything else → a summary of its FITS units (name, type, shape, columns)

The specialised views are imported only when needed; if one is not installed or cannot draw a
product, that product is still shown with the generic summary and the reason is written above it.
"""

from __future__ import annotations

import html
import importlib
from typing import Any

import ipywidgets as widgets

#: rows of a table shown before "… N more rows"
MAX_TABLE_ROWS = 50

_VIEWS = {
    "light_curve": ("oda_widgets.light_curve", "LightCurveView"),
    "mosaic": ("oda_widgets.mosaic", "MosaicView"),
    "catalog": ("oda_widgets.catalog", "CatalogTable"),
    "spectrum": ("oda_widgets.spectrum", "SpectrumView"),
}


def _view_class(kind: str):
    """``(view class, None)`` for ``kind``, or ``(None, why)`` when its module cannot be imported."""
    module, name = _VIEWS[kind]
    try:
        return getattr(importlib.import_module(module), name), None
    except (ImportError, AttributeError) as exc:
        return None, f"{type(exc).__name__}: {exc}"


class ResultsView(widgets.VBox):
    """All products of one job, one section per kind.

    ``views`` maps a kind (``"light_curves"``, ``"mosaic"``, ``"catalog"``, ``"spectra"``, ``"tables"``,
    ``"pictures"``, ``"texts"``, ``"other"``) to the list of widgets built for it, so a caller (the
    Explorer) can wire follow-up actions to e.g. the catalog table's selection. ``problems`` lists
    why a product is shown as a summary instead of its own view.
    """

    def __init__(self, collection, *, dispatcher=None, **kwargs):
        self.collection = collection
        self.dispatcher = dispatcher
        self.views: dict[str, list[widgets.Widget]] = {}
        self.problems: list[str] = []
        sections = [s for s in self._sections(collection) if s is not None]
        if not sections:
            sections = [widgets.HTML("<i>This job returned no products.</i>")]
        super().__init__(children=sections, **kwargs)
        self.add_class("oda-results")

    # -- one builder per kind -------------------------------------------------------------

    def _sections(self, c):
        mosaic = _get(c, "mosaic", None)
        catalog = _get(c, "catalog", None)
        yield self._specialised("light_curves", "Light curves", "light_curve", list(_get(c, "light_curves")))
        if mosaic is not None or catalog is not None:
            yield self._mosaic(mosaic, catalog)
        yield self._specialised(
            "spectra", "Spectra", "spectrum", list(_get(c, "spectra")), energy_band=_energy_band(c)
        )
        yield self._simple("tables", "Tables", list(_get(c, "tables")), table_html)
        yield self._simple("pictures", "Pictures", list(_get(c, "pictures")), picture_widget)
        yield self._simple("texts", "Texts", list(_get(c, "texts")), text_widget)
        others = _others(c)
        if others:
            views = [generic_view(obj, name=name) for name, obj in others]
            self.views["other"] = views
            yield _section("Other products", views)

    def _build(self, kind: str, obj, **kwargs) -> list[widgets.Widget]:
        """The specialised view of ``obj`` or, failing that, the reason plus the generic summary."""
        cls, why = _view_class(kind)
        if cls is not None:
            try:
                return [cls(obj, **kwargs)]
            except Exception as exc:  # a product the view cannot draw must not hide the others
                reason = f"{_VIEWS[kind][1]} could not show {_label(obj)}: {exc}"
        else:
            reason = f"{_VIEWS[kind][0]} is not available ({why}); showing a summary of {_label(obj)}"
        self.problems.append(reason)
        note = widgets.HTML(f'<div class="oda-results-note">{html.escape(reason)}</div>')
        items = obj if isinstance(obj, list) else [obj]
        return [note, *(generic_view(o) for o in items)]

    def _specialised(self, key, title, kind, objs, **kwargs):
        """One view showing all products of a kind together (curves overlaid, spectra side by side)."""
        if not objs:
            return None
        views = self._build(kind, objs, **kwargs)
        self.views[key] = views
        return _section(title, views)

    def _mosaic(self, mosaic, catalog):
        """The mosaic with its catalog drawn over it, and the catalog table linked to both."""
        c = self.collection
        children: list[widgets.Widget] = []
        table = None
        if catalog is not None:
            params = dict(getattr(c, "analysis_parameters", None) or {})
            table_views = self._build(
                "catalog",
                catalog,
                dispatcher=self.dispatcher,
                analysis_parameters=params,
                instrument=getattr(c, "instrument", None) or params.get("instrument"),
            )
            self.views["catalog"] = table_views
            table = table_views[0] if len(table_views) == 1 else None
        if mosaic is not None:
            # the mosaic view takes the table (not the bare catalog) so both share one selection
            overlay = {"catalog": table} if table is not None else {}
            self.views["mosaic"] = self._build("mosaic", mosaic, **overlay)
            children += self.views["mosaic"]
        if catalog is not None:
            children += self.views["catalog"]
        return _section("Mosaic and catalog" if mosaic is not None else "Catalog", children)

    def _simple(self, key, title, objs, make):
        if not objs:
            return None
        views = [make(o) for o in objs]
        self.views[key] = views
        return _section(title, views)

    # -- conveniences for callers ---------------------------------------------------------

    def first(self, key: str):
        """The first widget built for ``key`` (e.g. ``"catalog"``), or None."""
        views = self.views.get(key) or []
        return views[0] if views else None


def _energy_band(c) -> tuple[float, float] | None:
    """The requested band (E1_keV, E2_keV) in keV from the job's parameters, to mark on spectra."""
    params = getattr(c, "analysis_parameters", None) or {}
    try:
        lo, hi = float(params["E1_keV"]), float(params["E2_keV"])
    except (KeyError, TypeError, ValueError):
        return None
    return (lo, hi) if 0 < lo < hi else None


def results_view(collection, *, dispatcher=None) -> ResultsView:
    """A widget showing every product of ``collection`` with the view that fits it.

    ``dispatcher`` (where the job ran) lets the catalog table start follow-up requests
    (spectrum / light curves of the selected sources).
    """
    return ResultsView(collection, dispatcher=dispatcher)


# -- generic views (also used as fall-backs) --------------------------------------------------


def table_html(table, max_rows: int = MAX_TABLE_ROWS) -> widgets.HTML:
    """An astropy table (or an object with ``.table``) as HTML, at most ``max_rows`` rows."""
    t = _as_table(table)
    n = len(t)
    head = t[:max_rows]
    # pformat(html=True) escapes cell values; astropy's _repr_html_ would elide rows on its own
    body = "\n".join(head.pformat(html=True, max_lines=-1, max_width=-1))
    more = f"<div><i>… {n - max_rows} more rows (of {n})</i></div>" if n > max_rows else ""
    name = _name(table)
    title = f"<b>{html.escape(name)}</b>" if name else ""
    w = widgets.HTML(
        f'{title}<div class="oda-results-table" style="max-height:400px;overflow:auto">{body}</div>{more}'
    )
    w.add_class("oda-results-table")
    return w


def picture_widget(picture) -> widgets.Widget:
    """A picture product (``Picture``: PNG/JPEG/… bytes and their type) as an image."""
    data = getattr(picture, "data", None)
    if not isinstance(data, (bytes, bytearray)):
        return generic_view(picture)
    fmt = str(getattr(picture, "img_type", None) or "png").lower()
    image = widgets.Image(value=bytes(data), format=fmt, layout=widgets.Layout(max_width="100%"))
    image.add_class("oda-results-picture")
    return image


def text_widget(text) -> widgets.HTML:
    """A text product (``Text``, or a plain string) as preformatted text."""
    value = text if isinstance(text, str) else getattr(text, "value", str(text))
    w = widgets.HTML(f'<pre style="white-space:pre-wrap">{html.escape(str(value))}</pre>')
    w.add_class("oda-results-text")
    return w


def generic_view(product, name: str | None = None) -> widgets.HTML:
    """A summary of any product: its FITS units (name, type, shape or columns) and meta-data."""
    label = name or _label(product)
    hdul = _hdulist(product)
    rows = []
    if hdul is not None:
        for i, hdu in enumerate(hdul):
            kind = type(hdu).__name__
            shape = getattr(hdu, "shape", None) or ()
            if getattr(hdu, "columns", None) is not None:
                detail = f"{len(hdu.data) if hdu.data is not None else 0} rows; columns: " + ", ".join(
                    hdu.columns.names
                )
            elif hdu.data is not None:
                detail = f"{'×'.join(str(s) for s in shape)} {hdu.data.dtype.name}"
                if "IMATYPE" in hdu.header:  # INTEGRAL mosaics: which of the four images this is
                    detail += f" ({hdu.header['IMATYPE']})"
            else:
                detail = "no data"
            rows.append(
                f"<tr><td>{i}</td><td>{html.escape(hdu.name)}</td><td>{kind}</td>"
                f"<td>{html.escape(detail)}</td></tr>"
            )
        body = (
            "<table><tr><th>#</th><th>name</th><th>type</th><th>content</th></tr>"
            + "".join(rows)
            + "</table>"
        )
    else:
        try:
            t = _as_table(product)
        except TypeError:
            t = None
        if t is not None:
            return table_html(product)
        body = f"<pre>{html.escape(_short_repr(product))}</pre>"
    meta = getattr(product, "meta_data", None)
    meta_html = ""
    if isinstance(meta, dict) and meta:
        items = "".join(
            f"<li>{html.escape(str(k))}: {html.escape(_short_repr(v))}</li>" for k, v in meta.items()
        )
        meta_html = f"<ul>{items}</ul>"
    w = widgets.HTML(f"<b>{html.escape(label)}</b>{meta_html}{body}")
    w.add_class("oda-results-generic")
    return w


# -- small adapters over the product model ------------------------------------------------------


def _get(collection, attr, default=()):
    value = getattr(collection, attr, default)
    if value is None:
        return default
    if isinstance(value, dict):  # a {name: product} mapping
        return list(value.values())
    return value


def _others(collection) -> list[tuple[str, Any]]:
    """``(name, product)`` pairs that no specialised section shows (unknown FITS products, files)."""
    others = getattr(collection, "others", None)
    out = list(others()) if callable(others) else []
    names = {id(p) for p in getattr(collection, "binaries", None) or []}
    out += [(n, p) for n, p in (collection.items() if hasattr(collection, "items") else []) if id(p) in names]
    return out


def _hdulist(product):
    from astropy.io import fits

    if isinstance(product, fits.HDUList):
        return product
    for attr in ("hdulist", "to_hdulist", "hdul"):
        value = getattr(product, attr, None)
        if callable(value):
            try:
                value = value()
            except TypeError:
                continue
        if isinstance(value, fits.HDUList):
            return value
    return None


def _as_table(obj):
    from astropy.table import Table

    if isinstance(obj, Table):
        return obj
    inner = getattr(obj, "table", None)
    if isinstance(inner, Table):
        return inner
    raise TypeError(f"{type(obj).__name__} is not a table")


def _name(obj) -> str:
    for attr in ("name", "source", "src_name"):
        value = getattr(obj, attr, None)
        if isinstance(value, str) and value:
            return value
    return ""


def _label(obj) -> str:
    if isinstance(obj, list):
        return f"{len(obj)} products"
    name = _name(obj)
    return f"{type(obj).__name__} {name!r}" if name else type(obj).__name__


def _short_repr(value: Any, limit: int = 2000) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + " …"


def _section(title: str, children: list[widgets.Widget]) -> widgets.VBox:
    box = widgets.VBox([widgets.HTML(f"<h4 style='margin:4px 0'>{html.escape(title)}</h4>"), *children])
    box.add_class("oda-results-section")
    return box
