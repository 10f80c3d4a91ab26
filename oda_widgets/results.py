"""One widget showing every product of a finished job, each with the view that fits it.

Which view shows which product is a registry: an ordered list of :class:`ViewRule` entries, most
specific first, in the same shape as the form's control registry. ``results_view(collection)``
offers each product of a :class:`~oda_widgets.products.ProductCollection` (its typed products —
``LightCurve``, ``Mosaic``, ``Catalog``, ``Spectrum``, tables, pictures, texts — then the rest) to
the rules in turn; the first rule that accepts it shows it, together with the other products it
took, in one section. Built in:

* light curves → :class:`oda_widgets.light_curve.LightCurveView` (overlaid when their values share
  an axis, stacked views otherwise: a magnitude curve above a flux curve)
* sky images and the catalog → one :class:`oda_widgets.mosaic.MosaicView` per image, the catalog
  (:class:`oda_widgets.catalog.CatalogTable`) drawn over the mosaic it belongs to and linked to it
* spectra → :class:`oda_widgets.spectrum.SpectrumView`
* tables → :class:`oda_widgets.table.TableView` (sortable, virtual-scrolled, x/y plot)
* pictures → an image, texts → preformatted text
* binary files → :class:`oda_widgets.binary.BinaryView` (size, guessed type, Save)
* anything else → a summary of its FITS units (name, type, shape, columns)

Adding a view is one entry::

    register(ViewRule("images", "Images", lambda p: is_image(p), lambda products, ctx: [ImageGrid(products)]))

A view that fails to draw its products is reported where they would be: a red note with the
error's type and message, then their summary; the other products are shown as usual.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets

from oda_widgets.binary import BinaryView
from oda_widgets.catalog import CatalogTable
from oda_widgets.light_curve import LightCurveView
from oda_widgets.mosaic import MosaicView
from oda_widgets.products import (
    BinaryProduct,
    Catalog,
    FluxSpectrum,
    LightCurve,
    Mosaic,
    Picture,
    Spectrum,
    TableProduct,
    Text,
)
from oda_widgets.spectrum import SpectrumView
from oda_widgets.static import StaticFallback, children_html, html_table
from oda_widgets.table import TableView

__all__ = [
    "ResultsView",
    "ResultsContext",
    "ViewRule",
    "results_view",
    "register",
    "unregister",
    "view_rules",
    "table_html",
    "picture_widget",
    "light_curve_groups",
    "text_widget",
    "generic_view",
    "MAX_TABLE_ROWS",
]

#: rows of a table shown before "… N more rows"
MAX_TABLE_ROWS = 50

Built = list[widgets.Widget] | dict[str, list[widgets.Widget]]


@dataclass
class ResultsContext:
    """What a view may need besides its products: the whole collection, the dispatcher the job
    ran on (for follow-up requests), product names, and the :class:`ResultsView` being built."""

    collection: Any
    dispatcher: Any
    names: dict[int, str]
    results: ResultsView

    @property
    def analysis_parameters(self) -> dict:
        return dict(getattr(self.collection, "analysis_parameters", None) or {})

    @property
    def instrument(self) -> str | None:
        return getattr(self.collection, "instrument", None) or self.analysis_parameters.get("instrument")

    @property
    def energy_band(self) -> tuple[float, float] | None:
        """The requested band (E1_keV, E2_keV) in keV, to mark on spectra."""
        return _energy_band(self.collection)

    def name_of(self, product: Any) -> str | None:
        return self.names.get(id(product))

    def drawn(
        self, what: str, products: list[Any], make: Callable[[], list[widgets.Widget]]
    ) -> list[widgets.Widget]:
        """``make()``, or — if drawing fails — the error at the products, then their summary."""
        return self.results._drawn(what, products, make)


@dataclass(frozen=True)
class ViewRule:
    """One entry of the view registry.

    ``accepts(product)`` says whether this rule shows a product; ``build(products, context)``
    makes the widgets for all the products it took (in collection order) — a list, or a dict
    ``{key: widgets}`` when it fills several entries of ``ResultsView.views`` (mosaic and catalog).
    ``key`` names the entry of ``ResultsView.views`` and ``title`` the section.
    """

    key: str
    title: str
    accepts: Callable[[Any], bool]
    build: Callable[[list[Any], ResultsContext], Built]


def _light_curves(products: list[Any], ctx: ResultsContext) -> Built:
    """Curves that can share a value axis overlaid in one view; the others (a magnitude beside a
    flux) stacked below it, one view per kind of value."""
    return [
        w
        for group in light_curve_groups(products)
        for w in ctx.drawn("LightCurveView", group, lambda g=group: [LightCurveView(g)])
    ]


def light_curve_groups(curves: list[Any]) -> list[list[Any]]:
    """``curves`` grouped by value axis (convertible units together), in order of first appearance."""
    groups: list[list[Any]] = []
    for lc in curves:
        unit = getattr(getattr(lc, "rate", None), "unit", None)
        for group in groups:
            first = getattr(group[0].rate, "unit", None)
            if unit is not None and first is not None and unit.is_equivalent(first):
                group.append(lc)
                break
        else:
            groups.append([lc])
    return groups


def _spectra(products: list[Any], ctx: ResultsContext) -> Built:
    return [SpectrumView(products, energy_band=ctx.energy_band)]


def _mosaic_and_catalog(products: list[Any], ctx: ResultsContext) -> Built:
    """Every sky image in its own image view; the catalog as a table, drawn over the mosaic it
    belongs to (the collection's ``mosaic``: INTEGRAL's, else the first image) and linked to it."""
    images = [p for p in products if isinstance(p, Mosaic)]
    catalog = next((p for p in products if isinstance(p, Catalog)), None)
    out: dict[str, list[widgets.Widget]] = {}
    table = None
    if catalog is not None:
        params = ctx.analysis_parameters
        out["catalog"] = ctx.drawn(
            "CatalogTable",
            [catalog],
            lambda: [
                CatalogTable(
                    catalog,
                    dispatcher=ctx.dispatcher,
                    analysis_parameters=params,
                    instrument=ctx.instrument,
                )
            ],
        )
        table = out["catalog"][0] if isinstance(out["catalog"][0], CatalogTable) else None
    if images:
        home = getattr(ctx.collection, "mosaic", None)
        home = home if any(home is m for m in images) else images[0]
        views: list[widgets.Widget] = []
        for m in images:
            # the mosaic view takes the table (not the bare catalog) so both share one selection
            options: dict[str, Any] = {"catalog": table} if table is not None and m is home else {}
            if not any(h.get("IMATYPE") for h in m.headers.values()):
                # an optical/radio image: faint stars and bright ones in one view
                options["stretch"] = "asinh"
            views += ctx.drawn("MosaicView", [m], lambda m=m, options=options: [MosaicView(m, **options)])
        out = {"mosaic": views, **out}
    return out


def _table_view(products: list[Any], ctx: ResultsContext) -> Built:
    return [TableView(p) for p in products]


def _each(make: Callable[[Any], widgets.Widget]) -> Callable[[list[Any], ResultsContext], Built]:
    return lambda products, ctx: [make(p) for p in products]


#: FITS tables of an unrecognised product shown in a table view each (the rest are in its summary)
MAX_OTHER_TABLES = 3


def _other(products: list[Any], ctx: ResultsContext) -> Built:
    """A summary of each product's FITS units, and its tables in table views, so that a product no
    rule knows can still be read (and saved with the Explorer's Save products)."""
    out: list[widgets.Widget] = []
    for p in products:
        out.append(generic_view(p, name=ctx.name_of(p)))
        hdul = _hdulist(p)
        tables = [h for h in (hdul or []) if getattr(h, "columns", None) is not None and h.data is not None]
        for h in tables[:MAX_OTHER_TABLES]:
            out += ctx.drawn(
                "TableView",
                [p],
                lambda h=h, p=p: [TableView(h, title=f"{ctx.name_of(p) or _name(p)} · {h.name}")],
            )
    return out


_BUILTIN: list[ViewRule] = [
    ViewRule("light_curves", "Light curves", lambda p: isinstance(p, LightCurve), _light_curves),
    ViewRule(
        "mosaic", "Sky images and catalog", lambda p: isinstance(p, (Mosaic, Catalog)), _mosaic_and_catalog
    ),
    ViewRule("spectra", "Spectra", lambda p: isinstance(p, (Spectrum, FluxSpectrum)), _spectra),
    ViewRule("tables", "Tables", lambda p: isinstance(p, TableProduct), _table_view),
    ViewRule("pictures", "Pictures", lambda p: isinstance(p, Picture), _each(lambda p: picture_widget(p))),
    ViewRule("texts", "Texts", lambda p: isinstance(p, Text), _each(lambda p: text_widget(p))),
    ViewRule("binaries", "Files", lambda p: isinstance(p, BinaryProduct), _each(lambda p: BinaryView(p))),
    ViewRule("other", "Other products", lambda p: True, _other),
]
_USER: list[ViewRule] = []


def register(rule: ViewRule, first: bool = True) -> ViewRule:
    """Show the products ``rule.accepts`` with ``rule.build``.

    ``first=True`` puts the rule before every rule registered so far (built-ins included);
    ``first=False`` after the user rules but still before the built-ins. Returns the rule (give
    it to :func:`unregister` to remove it).
    """
    if first:
        _USER.insert(0, rule)
    else:
        _USER.append(rule)
    return rule


def unregister(rule: ViewRule) -> None:
    """Remove a rule added with :func:`register`."""
    _USER.remove(rule)


def view_rules() -> list[ViewRule]:
    """The rules in the order they are tried."""
    return [*_USER, *_BUILTIN]


class ResultsView(StaticFallback, widgets.VBox):
    """All products of one job, one section per view rule that took some.

    ``views`` maps a rule's key (``"light_curves"``, ``"mosaic"`` — one view per sky image —,
    ``"catalog"``, ``"spectra"``, ``"tables"``, ``"pictures"``, ``"texts"``, ``"binaries"``,
    ``"other"``) to the list of widgets built for it, so
    a caller (the Explorer) can wire follow-up actions to e.g. the catalog table's selection.
    ``problems`` lists the views that failed to draw, with the error.
    """

    #: saved notebooks show every section: the views' pictures, tables, texts
    _static_html = children_html

    def __init__(self, collection, *, dispatcher=None, **kwargs):
        self.collection = collection
        self.dispatcher = dispatcher
        self.views: dict[str, list[widgets.Widget]] = {}
        self.problems: list[str] = []
        sections = self._sections(collection)
        if not sections:
            sections = [widgets.HTML("<i>This job returned no products.</i>")]
        super().__init__(children=sections, **kwargs)
        self.add_class("oda-results")

    def _sections(self, c) -> list[widgets.Widget]:
        placed, names = _placed_products(c)
        ctx = ResultsContext(c, self.dispatcher, names, self)
        groups: dict[int, tuple[ViewRule, list[Any]]] = {}
        rules = view_rules()
        for product in placed:
            for i, rule in enumerate(rules):
                if rule.accepts(product):
                    groups.setdefault(i, (rule, []))[1].append(product)
                    break
        sections = []
        for rule, products in groups.values():
            built = self._drawn(rule.title, products, lambda r=rule, ps=products: r.build(ps, ctx))
            if isinstance(built, dict):
                children = [w for views in built.values() for w in views]
                self.views.update(built)
            else:
                children = list(built)
                self.views[rule.key] = children
            title = rule.title
            if rule.key == "mosaic" and "mosaic" not in self.views:
                title = "Catalog"
            elif rule.key == "mosaic" and "catalog" not in built:
                title = "Sky images" if len(self.views["mosaic"]) > 1 else "Sky image"
            sections.append(_section(title, children))
        return sections

    def _drawn(self, what: str, products: list[Any], make: Callable[[], Any]) -> Any:
        """``make()``; if drawing fails, the error (type and message) at the products, then
        their summary — the other sections are not affected."""
        try:
            return make()
        except Exception as exc:  # a product a view cannot draw must not hide the others
            reason = f"{what} could not show {_label(products if len(products) > 1 else products[0])}: {type(exc).__name__}: {exc}"
            self.problems.append(reason)
            note = widgets.HTML(
                f'<div class="oda-results-note oda-results-error" style="color:#c62828;'
                f'border-left:3px solid #c62828;padding:2px 6px">{html.escape(reason)}</div>'
            )
            note.add_class("oda-results-error")
            return [note, *(generic_view(p) for p in products)]

    # -- conveniences for callers ---------------------------------------------------------

    def first(self, key: str):
        """The first widget built for ``key`` (e.g. ``"catalog"``), or None."""
        views = self.views.get(key) or []
        return views[0] if views else None


def _placed_products(c) -> tuple[list[Any], dict[int, str]]:
    """The products to show, typed where the collection recognises them, in display order, and
    the collection's name of each (by id)."""
    typed = getattr(c, "typed", None)
    if callable(typed):  # a ProductCollection: every product once, typed (products/collection.py)
        pairs = list(typed())
        return [p for _, p in pairs], {id(p): n for n, p in pairs}
    names = {id(p): n for n, p in (c.items() if hasattr(c, "items") else [])}
    placed: list[Any] = [*_get(c, "light_curves")]
    for attr in ("mosaic", "catalog"):
        obj = _get(c, attr, None)
        if obj is not None:
            placed.append(obj)
    for attr in ("spectra", "tables", "pictures", "texts"):
        placed += list(_get(c, attr))
    for name, obj in _others(c):
        names.setdefault(id(obj), name)
        placed.append(obj)
    return placed, names


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


# -- generic views (also what a failed view leaves under its error) --------------------------------------------------


def table_html(table, max_rows: int = MAX_TABLE_ROWS) -> widgets.HTML:
    """An astropy table (or an object with ``.table``) as HTML, at most ``max_rows`` rows."""
    name = _name(table)
    title = f"<b>{html.escape(name)}</b>" if name else ""
    w = widgets.HTML(html_table(_as_table(table), max_rows, caption=title))
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
