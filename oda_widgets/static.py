"""Static pictures of the widgets, for notebooks read without a kernel.

A widget's output in a notebook is a reference to a live model: GitHub, nbviewer, nbconvert's HTML
and an untrusted notebook in JupyterLab cannot draw it and show a text line instead. Widgets that
mix in :class:`StaticFallback` put a picture next to that reference, in the same output:

* ``image/png`` for sky images, light curves and spectra — drawn with matplotlib (and astropy's
  WCSAxes for sky images) **when the widget is displayed**, never on a trait change, so a live
  session pays one drawing per ``display``;
* ``text/html`` for tables and for composite widgets (``ResultsView``, ``Explorer``): a snapshot
  of what they show (:func:`snapshot_html`), the pictures of their views included.

Live front ends (JupyterLab, Notebook 7, Voilà, VS Code) still draw the widget: they prefer the
widget's own mimetype. Renderers without widget JavaScript pick the picture.

A view opts in with its class line and one attribute::

    class LightCurveView(StaticFallback, widgets.VBox):
        _static_png = light_curve_png      # a function(view) -> PNG bytes

(``_static_html`` for an HTML fallback). ``view.to_png()`` / ``view.to_html()`` give the same
pictures to scripts. :func:`export_html` (``python -m oda_widgets.static notebook.ipynb``) writes a
notebook as a static HTML page with those pictures, readable offline.
"""

from __future__ import annotations

import base64
import html
import io
import math
import struct
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
from astropy import units as u

__all__ = [
    "StaticFallback",
    "snapshot_html",
    "children_html",
    "html_table",
    "png_img",
    "png_size",
    "light_curve_png",
    "spectrum_png",
    "mosaic_png",
    "catalog_html",
    "export_html",
    "LIGHT_CURVE_SIZE",
    "SPECTRUM_SIZE",
    "MOSAIC_SIZE",
    "DPI",
]

#: pixel sizes of the static pictures (width, height)
LIGHT_CURVE_SIZE = (800, 360)
SPECTRUM_SIZE = (800, 400)
MOSAIC_SIZE = (640, 600)
DPI = 100
#: a light curve with more bins than this many per column is drawn as its min–max envelope
_COLUMNS = 800
#: sky images are sampled down to at most this many pixels a side before drawing
_MAX_IMAGE_SIDE = 1024
#: rows of a static table before "… N more rows"
MAX_ROWS = 50

PNG = "image/png"
HTML = "text/html"


class StaticFallback:
    """Mixin for widgets: a static picture next to the widget view in the notebook output.

    Set ``_static_png`` (a function ``view -> PNG bytes``) and/or ``_static_html`` (``view -> HTML
    text``) on the class. The picture is drawn when the widget is displayed (IPython calls
    ``_repr_mimebundle_`` then), not when its traits change. If drawing fails the output is the
    widget view alone (and a note in the plain-text line): a picture must never cost the widget.
    """

    _static_png: Callable[[Any], bytes] | None = None
    _static_html: Callable[[Any], str] | None = None

    def to_png(self) -> bytes:
        """The static picture of this view as PNG bytes (what saved notebooks show without a kernel)."""
        render = type(self)._static_png
        if render is None:
            raise TypeError(f"{type(self).__name__} has no PNG picture; use to_html()")
        return render(self)

    def to_html(self) -> str:
        """The static HTML of this view (its PNG as an ``<img>``, or its table/snapshot)."""
        render = type(self)._static_html
        if render is not None:
            return render(self)
        return png_img(self.to_png(), alt=_label(self))

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)  # type: ignore[misc]
        if bundle is None:
            return None
        data, meta = bundle if isinstance(bundle, tuple) else (bundle, {})
        data, meta = dict(data), dict(meta or {})
        include, exclude = kwargs.get("include"), kwargs.get("exclude")

        def wanted(mime: str) -> bool:
            return (not include or mime in include) and not (exclude and mime in exclude)

        try:
            if type(self)._static_png is not None and wanted(PNG):
                png = self.to_png()
                data[PNG] = base64.b64encode(png).decode("ascii")
                width, height = png_size(png)
                meta[PNG] = {"width": width, "height": height}
            elif type(self)._static_html is not None and wanted(HTML):
                data[HTML] = self.to_html()
        except Exception as exc:  # a picture that cannot be drawn must not hide the widget
            note = f" [no static picture: {type(exc).__name__}: {exc}]"
            data["text/plain"] = str(data.get("text/plain", "")) + note
        return data, meta


# -- pictures -------------------------------------------------------------------------------------


def _figure(size: tuple[int, int], **kwargs):
    # matplotlib's object API: no pyplot, no global figure list, no backend switch in the kernel
    from matplotlib.figure import Figure

    return Figure(figsize=(size[0] / DPI, size[1] / DPI), dpi=DPI, **kwargs)


def _png(fig, palette: bool = False) -> bytes:
    buf = io.BytesIO()
    # no "Software" stamp: re-executed notebooks differ only where their pictures do
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    if not palette:
        return buf.getvalue()
    # A noisy sky image compresses badly as RGBA (~0.5 MB in every saved notebook); as 256
    # palette colours (a colour map has 256 anyway) it is ~6x smaller, in ~15 ms.
    from PIL import Image

    buf.seek(0)
    quantized = Image.open(buf).convert("RGB").quantize(256, method=Image.Quantize.FASTOCTREE)
    out = io.BytesIO()
    quantized.save(out, format="PNG")
    return out.getvalue()


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) of PNG bytes, from the IHDR chunk."""
    if png[:8] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    width, height = struct.unpack(">II", png[16:24])
    return int(width), int(height)


def png_img(png: bytes, alt: str = "") -> str:
    """An ``<img>`` tag holding ``png`` as a data URI, with its pixel size."""
    width, height = png_size(png)
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<img src="data:image/png;base64,{data}" width="{width}" height="{height}" '
        f'alt="{html.escape(alt)}" style="max-width:100%;height:auto">'
    )


def _axis_label(view: Any, name: str, default: str) -> str:
    axis = getattr(view, name, None)
    label = getattr(axis, "label", None)
    return str(label) if label else default


def _envelope(x: np.ndarray, y: np.ndarray, lo: float, hi: float, columns: int):
    """Per column of ``[lo, hi]``: the centre, the lowest and the highest ``y`` (what a pixel
    column of the live view shows for a curve with more bins than pixels)."""
    col = np.clip(((x - lo) / (hi - lo) * columns).astype(np.int64), 0, columns - 1)
    order = np.argsort(col, kind="stable")
    col, ys = col[order], y[order]
    starts = np.flatnonzero(np.diff(col, prepend=-1))
    centre = lo + (col[starts] + 0.5) * (hi - lo) / columns
    return centre, np.minimum.reduceat(ys, starts), np.maximum.reduceat(ys, starts)


def light_curve_png(view: Any) -> bytes:
    """A light-curve view as PNG: its curves over its visible time range, on its time axis.

    Reads the view's public state — ``light_curves``, ``reference``, ``time_format``,
    ``view_range()``, ``sources``, its axis labels — and the curves' flat arrays
    (:func:`~oda_widgets.products.curve_arrays.curve_arrays`: no per-bin ``Time``), so it shows what
    the widget shows. Curves with more bins than pixel columns are drawn as their min–max envelope,
    as the live view does.
    """
    from oda_widgets.products.curve_arrays import curve_arrays, seconds_since
    from oda_widgets.products.rebin import seconds_to_axis

    ref, fmt = view.reference, view.time_format
    scale = str(getattr(view, "time_scale", "tt"))  # MJD days in the curves' own scale
    lo, hi = (float(v) for v in seconds_since(view.view_range(), ref))
    if not hi > lo:
        hi = lo + 1.0
    fig = _figure(LIGHT_CURVE_SIZE, layout="constrained")
    ax = fig.add_subplot()
    names = list(getattr(view, "sources", []))
    for i, lc in enumerate(view.light_curves):
        arrays = curve_arrays(lc, ref)
        sec, values, errors = arrays.seconds, arrays.values, arrays.errors
        inside = (sec >= lo) & (sec <= hi)
        sec, values, errors = sec[inside], values[inside], errors[inside]
        name = names[i] if i < len(names) else str(getattr(lc, "source", "") or f"curve {i + 1}")
        colour = f"C{i % 10}"  # matplotlib's tab10 is d3's category10, the live view's palette
        if sec.size > 4 * _COLUMNS:
            centre, ymin, ymax = _envelope(sec, values, lo, hi, _COLUMNS)
            x = seconds_to_axis(centre, ref, fmt, scale)
            ax.fill_between(x, ymin, ymax, color=colour, linewidth=0.6, edgecolor=colour, label=name)
        else:
            x = seconds_to_axis(sec, ref, fmt, scale)
            ax.errorbar(
                x, values, yerr=errors, color=colour, linewidth=0.9, elinewidth=0.6, alpha=0.9,
                marker="o" if sec.size <= 200 else None, markersize=2.5, label=name,
            )  # fmt: skip
    ax.set_xlim(*(seconds_to_axis(np.array([lo, hi]), ref, fmt, scale)))
    ax.set_xlabel(str(getattr(view, "x_label", "") or f"Time [{fmt}]"))
    ax.set_ylabel(str(getattr(view, "y_label", "") or "Rate [counts/s]"))
    plot = getattr(view, "plot", None)
    if getattr(plot, "y_log", False):
        ax.set_yscale("log")
    if getattr(view, "inverted", False) or getattr(plot, "y_inverted", False):
        ax.invert_yaxis()  # magnitudes: brighter up, as in the live view
    ax.grid(True, linestyle=":", linewidth=0.6)
    if names:
        ax.legend(loc="upper right", fontsize="small", framealpha=0.9)
    return _png(fig)


def spectrum_png(view: Any) -> bytes:
    """A spectrum view as PNG: count-rate density against energy, log–log (linear y if the view is
    linear), error bars, the requested band dashed, one colour per source as in the widget."""
    log_y = type(getattr(view, "y_scale", None)).__name__ != "LinearScale"
    fig = _figure(SPECTRUM_SIZE, layout="constrained")
    ax = fig.add_subplot()
    for i, p in enumerate(view.points):
        e, hw = p.energy.to_value(u.keV), p.half_width.to_value(u.keV)
        y, err = p.density.value, p.error.value
        keep = y > 0 if log_y else np.ones(y.shape, bool)
        ax.errorbar(
            e[keep], y[keep], xerr=hw[keep], yerr=err[keep], fmt="o", markersize=3,
            elinewidth=0.8, color=f"C{i % 10}", label=p.source,
        )  # fmt: skip
    ax.set_xscale("log")
    ax.set_yscale("log" if log_y else "linear")
    fit = getattr(view, "last_fit", None)
    if fit is not None:
        colours = {p.source: f"C{i % 10}" for i, p in enumerate(view.points)}
        for r in fit.residuals:
            e, hw, model = r.energy.to_value(u.keV), r.half_width.to_value(u.keV), r.model.value
            x = np.column_stack([e - hw, e + hw]).ravel()
            y = np.repeat(model, 2)
            keep = y > 0 if log_y else np.ones(y.shape, bool)
            ax.plot(x[keep], y[keep], color=colours.get(r.source, "black"), linewidth=1.5)
        ax.set_title(
            f"fit: {getattr(fit.model, 'expression', fit.model)}, χ²/dof = {fit.statistic:.1f}/{fit.dof}",
            fontsize=9,
        )
    band = getattr(view, "energy_band", None)
    if band is not None:
        for edge in band:
            ax.axvline(u.Quantity(edge, u.keV).value, color="#888888", linestyle="--", linewidth=1)
    ax.set_xlabel(_axis_label(view, "x_axis", "Energy [keV]"))
    ax.set_ylabel(_axis_label(view, "y_axis", "Count rate density [counts s⁻¹ keV⁻¹]"))
    ax.grid(True, which="both", linestyle=":", linewidth=0.5)
    ax.legend(loc="upper right", fontsize="small", framealpha=0.9)
    return _png(fig)


def _interval(view: Any):
    from astropy.visualization import ManualInterval, MinMaxInterval, PercentileInterval, ZScaleInterval

    limits = str(getattr(view, "limits", "99.5"))
    if limits == "manual":
        return ManualInterval(float(view.vmin), float(view.vmax))
    if limits == "minmax":
        return MinMaxInterval()
    if limits == "zscale":
        return ZScaleInterval()
    try:
        return PercentileInterval(float(limits))
    except ValueError:
        return PercentileInterval(99.5)


def _stretch(name: str):
    from astropy.visualization import AsinhStretch, LinearStretch, LogStretch, SqrtStretch

    return {"sqrt": SqrtStretch, "log": LogStretch, "asinh": AsinhStretch}.get(name, LinearStretch)()


def mosaic_png(view: Any) -> bytes:
    """A sky-image view as PNG: the extension on show with the view's colour map, stretch and
    limits, an RA/Dec (or l/b) grid from its WCS (astropy WCSAxes), the colour bar with the unit,
    the title, the catalog sources that pass the table's cut (NEW ones in red) and the markers."""
    from astropy.visualization import ImageNormalize

    data = np.asarray(view.data, dtype=float)
    wcs = getattr(view, "wcs_object", None)
    step = max(1, math.ceil(max(data.shape) / _MAX_IMAGE_SIDE))
    if step > 1:
        data = data[::step, ::step]
    fig = _figure(MOSAIC_SIZE, layout="constrained")
    sky = None
    if wcs is not None:
        try:
            sky = wcs.celestial
            if step > 1:
                sky = sky.slice((slice(None, None, step), slice(None, None, step)))
        except Exception:  # a WCS WCSAxes cannot take: pixels then
            sky = None
    ax = fig.add_subplot(projection=sky) if sky is not None else fig.add_subplot()
    finite = data[np.isfinite(data)]
    vmin, vmax = _interval(view).get_limits(finite) if finite.size else (0.0, 1.0)
    if not vmax > vmin:
        vmax = vmin + 1.0
    norm = ImageNormalize(vmin=vmin, vmax=vmax, stretch=_stretch(str(getattr(view, "stretch", "linear"))))
    image = ax.imshow(data, origin="lower", cmap=str(getattr(view, "cmap", "viridis")), norm=norm)
    fig.colorbar(image, ax=ax, shrink=0.85, label=str(getattr(view, "unit", "") or ""))

    def to_drawn(values) -> np.ndarray:
        # pixel centres of the full image → the sampled one
        return (np.asarray([np.nan if v is None else v for v in values], dtype=float) + 0.5) / step - 0.5

    sources = getattr(view, "sources", None) or {}
    if sources.get("x"):
        visible = set(getattr(view, "visible_ids", []) or sources.get("ids", []))
        x, y = to_drawn(sources["x"]), to_drawn(sources["y"])
        for i, name, new in zip(sources["ids"], sources.get("names", []), sources.get("new", [])):
            if i not in visible or not (np.isfinite(x[i]) and np.isfinite(y[i])):
                continue
            colour = "#ff4040" if new else "white"
            ax.scatter([x[i]], [y[i]], s=110, facecolors="none", edgecolors=colour, linewidths=1.2)
            label = ax.annotate(
                str(name), (x[i], y[i]), xytext=(7, 5), textcoords="offset points",
                color=colour, fontsize=7.5, annotation_clip=True,
            )  # fmt: skip
            label.set_clip_on(True)  # a label running off the image is cut at its edge
    for markers in getattr(view, "marker_sets", None) or []:
        mx, my = to_drawn(markers.get("x", [])), to_drawn(markers.get("y", []))
        ax.scatter(mx, my, s=40, marker="+", color=markers.get("color", "red"), linewidths=1)
    ax.set_xlim(-0.5, data.shape[1] - 0.5)
    ax.set_ylim(-0.5, data.shape[0] - 0.5)
    if sky is not None:
        lon, lat = ax.coords[0], ax.coords[1]
        names = view.wcs.get("lon_name", "RA"), view.wcs.get("lat_name", "Dec")
        lon.set_axislabel(names[0])
        lat.set_axislabel(names[1])
        ax.coords.grid(color="white", alpha=0.35, linestyle="dotted")
    title = str(getattr(view, "title", "") or "")
    if title:
        ax.set_title(title, fontsize=9)
    return _png(fig, palette=True)


# -- tables and snapshots -----------------------------------------------------------------------------


def html_table(table: Any, max_rows: int = MAX_ROWS, caption: str = "") -> str:
    """An astropy table (or an object with ``.table``) as an HTML table, at most ``max_rows`` rows,
    cells escaped; ``caption`` above it (HTML). The one table writer of the static pictures and of
    the results' table views."""
    from astropy.table import Table

    t = table if isinstance(table, Table) else getattr(table, "table", None)
    if not isinstance(t, Table):
        raise TypeError(f"{type(table).__name__} is not a table")
    n = len(t)
    # pformat(html=True) escapes cell values; astropy's _repr_html_ would elide rows on its own
    body = "\n".join(t[:max_rows].pformat(html=True, max_lines=-1, max_width=-1))
    more = f"<div><i>… {n - max_rows} more rows (of {n})</i></div>" if n > max_rows else ""
    head = f"<div>{caption}</div>" if caption else ""
    return f'{head}<div class="oda-static-table" style="max-height:400px;overflow:auto">{body}</div>{more}'


def catalog_html(view: Any) -> str:
    """A catalog table view as HTML: the rows that pass its cut, a ✓ for the selected ones, and
    what the cut is."""
    t = view.catalog.table
    visible = list(getattr(view, "visible_ids", range(len(t))))
    selected = set(getattr(view, "selected_ids", visible))
    shown = t[visible] if visible else t[:0]
    columns = [c for c in ("src_names", "ra", "dec", "significance", "FLAG", "ISGRI_FLAG") if c in t.colnames]
    shown = shown[columns] if columns else shown
    shown.add_column(["✓" if i in selected else "" for i in visible], name="selected", index=0)
    cut = []
    if getattr(view, "significance_column", "") and view.min_significance is not None:
        cut.append(f"significance ≥ {view.min_significance:g}σ")
    if getattr(view, "exclude_new_sources", False):
        cut.append("NEW sources excluded")
    if getattr(view, "search_text", ""):
        cut.append(f"names matching {view.search_text!r}")
    caption = (
        f"<b>Catalog</b>: {len(visible)} of {len(t)} sources shown"
        + (f" ({html.escape(', '.join(cut))})" if cut else "")
        + f", {len(selected & set(visible))} selected"
    )
    return html_table(shown, caption=caption)


def _hidden(widget: Any) -> bool:
    layout = getattr(widget, "layout", None)
    return getattr(layout, "display", None) == "none" or getattr(layout, "visibility", None) == "hidden"


def _label(widget: Any) -> str:
    return str(getattr(widget, "title", "") or getattr(widget, "description", "") or type(widget).__name__)


def snapshot_html(widget: Any) -> str:
    """A static HTML snapshot of any widget tree, as it shows now.

    Views with a static picture give it; HTML widgets their HTML, labels and value widgets their
    text (``description: value``), images an ``<img>``, boxes their children (tabs and accordions
    with their titles); buttons and hidden widgets nothing.
    """
    import ipywidgets as W

    if widget is None or _hidden(widget):
        return ""
    if isinstance(widget, StaticFallback):
        try:
            return widget.to_html()
        except Exception as exc:  # one view's picture must not cost the others theirs
            return (
                f"<div><i>{html.escape(_label(widget))}: no static picture ({type(exc).__name__})</i></div>"
            )
    if isinstance(widget, (W.HTML, W.HTMLMath)):
        return str(widget.value)
    if isinstance(widget, W.Label):
        return f"<span>{html.escape(str(widget.value))}</span>"
    if isinstance(widget, W.Image):
        fmt = html.escape(str(widget.format or "png"))
        data = base64.b64encode(bytes(widget.value)).decode("ascii")
        return f'<img src="data:image/{fmt};base64,{data}" style="max-width:100%">'
    if isinstance(widget, (W.Tab, W.Accordion)):
        titles = list(getattr(widget, "titles", ()) or ())
        parts = []
        for i, child in enumerate(widget.children):
            inner = snapshot_html(child)
            if inner:
                title = titles[i] if i < len(titles) and titles[i] else ""
                heading = f"<div><b>{html.escape(title)}</b></div>" if title else ""
                parts.append(f"{heading}{inner}")
        return f"<div>{''.join(parts)}</div>" if parts else ""
    if isinstance(widget, W.Box):
        inner = children_html(widget)
        if not inner:
            return ""
        row = isinstance(widget, W.HBox) or "row" in str(getattr(widget.layout, "flex_flow", "") or "")
        style = "display:flex;flex-wrap:wrap;gap:4px 12px;align-items:flex-start" if row else ""
        return f'<div style="{style}">{inner}</div>'
    if isinstance(widget, W.Button):
        return ""
    if isinstance(widget, W.Textarea):
        text = str(widget.value)
        return f"<pre>{html.escape(text)}</pre>" if text else ""
    if isinstance(widget, W.ValueWidget):
        value = getattr(widget, "label", None) if isinstance(widget, W.Dropdown) else widget.value
        if isinstance(value, (list, tuple)):
            value = ", ".join(str(v) for v in value)
        description = str(getattr(widget, "description", "") or "")
        if value in (None, "") and not description:
            return ""
        head = f"<b>{html.escape(description)}</b> " if description else ""
        return f"<span>{head}{html.escape(str(value if value is not None else ''))}</span>"
    return ""


def children_html(widget: Any) -> str:
    """The snapshots of a box's children, one after the other (a composite's static HTML)."""
    return "".join(f"<div>{part}</div>" for child in widget.children if (part := snapshot_html(child)))


# -- whole notebooks ---------------------------------------------------------------------------------


def export_html(notebook: str | Path, output: str | Path | None = None) -> Path:
    """Write ``notebook`` as a static HTML page (nbconvert's lab template) in which every widget
    output shows its static picture; returns the page's path (default: beside the notebook).

    The saved widget state is left out of the page: with it nbconvert would emit the live widgets,
    whose JavaScript it loads from a CDN (nothing offline; bqplot's front end is not published
    there at all). The notebook file itself is not changed.
    """
    import nbformat
    from nbconvert import HTMLExporter

    notebook = Path(notebook)
    nb = nbformat.read(notebook, as_version=4)
    nb.metadata.pop("widgets", None)
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(
        nb, resources={"metadata": {"name": notebook.stem, "path": str(notebook.parent)}}
    )
    out = Path(output) if output is not None else notebook.with_suffix(".html")
    out.write_text(body, encoding="utf-8")
    return out


def main(argv: Iterable[str] | None = None) -> int:
    """``python -m oda_widgets.static NOTEBOOK.ipynb [...]``: a static HTML page beside each."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or any(a in ("-h", "--help") for a in args):
        print("usage: python -m oda_widgets.static NOTEBOOK.ipynb [...]  (writes NOTEBOOK.html beside it)")
        return 0 if args else 2
    for name in args:
        print(export_html(name))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
