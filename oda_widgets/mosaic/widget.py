"""``MosaicView``: a sky image with colour maps, stretches, zoom/pan, a WCS read-out and a catalog
overlay (anywidget, ``js/mosaic.js``).

The image goes to the browser once, as float32 bytes in the ``image`` trait
(``{value, dtype, shape}``, never JSON lists); colour map, stretch and limits are applied there,
so changing them sends no pixels. Mosaics larger than 4096² (or ``remote=True``) are sent as a
screen-resolution cut of the current view, renewed when the user zooms or pans.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable
from typing import Any

import anywidget
import ipywidgets
import numpy as np
import traitlets
from astropy.io import fits
from astropy.wcs import WCS

from oda_widgets._assets import esm_path
from oda_widgets.errors import InvalidParameter
from oda_widgets.products.selection import is_new_source, source_name

__all__ = ["MosaicView", "link", "EXTENSION_ORDER", "REMOTE_PIXELS", "wcs_to_dict"]

#: the extension shown first and the order of the switch (SIGNIFICANCE first, as the web frontend)
EXTENSION_ORDER = ("SIGNIFICANCE", "INTENSITY", "VARIANCE", "EXPOSURE")
#: above this many pixels the view asks for screen-resolution cuts instead of the full array
REMOTE_PIXELS = 4096 * 4096
# the first cut of a remote mosaic, before the browser tells its size
_FIRST_CUT = (1000, 800)

COLORMAPS = ("viridis", "inferno", "magma", "gray", "cubehelix")
STRETCHES = ("linear", "sqrt", "log", "asinh")
LIMITS = ("minmax", "99.5", "99", "zscale", "manual")


def wcs_to_dict(wcs: WCS) -> dict:
    """The small dict the front end projects with: ``crval``, ``crpix`` (FITS 1-based), ``cd`` (deg/px).

    Raises :class:`InvalidParameter` unless the WCS is a celestial TAN projection with the default
    native pole (what INTEGRAL mosaics use), since that is the projection the browser implements.
    """
    cel = wcs.celestial
    ctype = [str(c) for c in cel.wcs.ctype]
    if len(ctype) != 2 or not all(c.endswith("-TAN") for c in ctype):
        raise InvalidParameter(
            f"the mosaic viewer reads TAN projections only, this WCS has {ctype}", parameter="wcs"
        )
    if ctype[0].startswith(("DEC", "GLAT", "ELAT")):
        raise InvalidParameter("the mosaic viewer expects longitude on the first axis", parameter="wcs")
    if not math.isclose(float(cel.wcs.lonpole), 180.0) and not math.isnan(float(cel.wcs.lonpole)):
        raise InvalidParameter(f"LONPOLE={cel.wcs.lonpole} is not supported (180 expected)", parameter="wcs")
    cel.wcs.set()
    return {
        "crval": [float(v) for v in cel.wcs.crval],
        "crpix": [float(v) for v in cel.wcs.crpix],
        "cd": [[float(v) for v in row] for row in cel.pixel_scale_matrix],
        "ctype": ctype,
        "radesys": str(cel.wcs.radesys or ""),
    }


def _images_and_wcs(mosaic: Any, wcs: WCS | None) -> tuple[dict[str, np.ndarray], WCS | None]:
    """Images keyed by IMATYPE and the WCS, from a products.Mosaic, an HDUList, a dict or an array."""
    inner = getattr(mosaic, "mosaic", None)  # a ProductCollection of an image job
    if inner is not None and inner is not mosaic:
        mosaic = inner
    images = getattr(mosaic, "images", None)
    if isinstance(images, dict):
        return dict(images), wcs if wcs is not None else getattr(mosaic, "wcs", None)
    if isinstance(mosaic, fits.HDUList):
        found: dict[str, np.ndarray] = {}
        first_header = None
        for hdu in mosaic:
            if hdu.data is None or getattr(hdu.data, "ndim", 0) != 2 or isinstance(hdu, fits.BinTableHDU):
                continue
            key = str(hdu.header.get("IMATYPE") or hdu.header.get("EXTNAME") or "IMAGE").strip().upper()
            if key == "PRIMARY":
                key = "IMAGE"
            found.setdefault(key, hdu.data)
            first_header = first_header or hdu.header
        if not found:
            raise InvalidParameter("this HDUList has no 2-D image", parameter="mosaic")
        return found, wcs if wcs is not None else WCS(first_header).celestial
    if isinstance(mosaic, dict):
        return dict(mosaic), wcs
    if isinstance(mosaic, np.ndarray):
        return {"IMAGE": mosaic}, wcs
    raise InvalidParameter(
        f"cannot show a {type(mosaic).__name__} as a mosaic: give an "
        "oda_widgets.products.Mosaic, an HDUList, or an array with wcs=",
        parameter="mosaic",
    )


def _ordered(names) -> list[str]:
    known = [n for n in EXTENSION_ORDER if n in names]
    return known + [n for n in names if n not in known]


def _array_trait(arr: np.ndarray, **extra) -> dict:
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    return {"value": memoryview(arr).cast("B"), "dtype": "float32", "shape": list(arr.shape), **extra}


class MosaicView(anywidget.AnyWidget):
    """An interactive sky mosaic.

    ``MosaicView(mosaic, catalog=None)``: ``mosaic`` is an ``oda_widgets.products.Mosaic`` (images by
    IMATYPE + ``wcs``), an HDUList, or a 2-D array / dict of arrays with ``wcs=``. ``catalog`` (a
    :class:`~oda_widgets.catalog.CatalogTable`, or a Catalog/Table made into one, as ``view.table``)
    adds circles and labels; filtering the table hides them, and selection is shared both ways.

    Controls (each also a trait or method): ``extension``, ``cmap``, ``stretch``, ``limits``
    (``minmax``, ``99.5``, ``99``, ``zscale``, ``manual`` with ``vmin``/``vmax``), wheel zoom, drag
    pan, "Reset view", and :meth:`export_png`.
    """

    _esm = esm_path("mosaic.js")
    _css = esm_path("mosaic.css")

    image = traitlets.Dict().tag(sync=True)
    extensions = traitlets.List(traitlets.Unicode()).tag(sync=True)
    extension = traitlets.Unicode("").tag(sync=True)
    wcs = traitlets.Dict().tag(sync=True)
    cmap = traitlets.Enum(COLORMAPS, "viridis").tag(sync=True)
    stretch = traitlets.Enum(STRETCHES, "linear").tag(sync=True)
    limits = traitlets.Enum(LIMITS, "99.5").tag(sync=True)
    vmin = traitlets.Float(0.0).tag(sync=True)
    vmax = traitlets.Float(1.0).tag(sync=True)
    sources = traitlets.Dict().tag(sync=True)
    visible_ids = traitlets.List(traitlets.Int()).tag(sync=True)
    selected_ids = traitlets.List(traitlets.Int()).tag(sync=True)
    active_id = traitlets.Int(-1).tag(sync=True)
    remote = traitlets.Bool(False).tag(sync=True)
    view_box = traitlets.Dict().tag(sync=True)
    height = traitlets.Int(520).tag(sync=True)

    def __init__(
        self,
        mosaic: Any,
        catalog: Any = None,
        *,
        wcs: WCS | None = None,
        extension: str | None = None,
        remote: bool | None = None,
        **kwargs,
    ):
        images, the_wcs = _images_and_wcs(mosaic, wcs)
        self._images = {str(k).upper(): np.asarray(v) for k, v in images.items()}
        for name, arr in self._images.items():
            if arr.ndim != 2:
                raise InvalidParameter(
                    f"image {name} has shape {arr.shape}, a 2-D image is needed", parameter="mosaic"
                )
        names = _ordered(list(self._images))
        if extension is not None and extension.upper() not in self._images:
            raise InvalidParameter(f"no {extension!r} image; this mosaic has {names}", parameter="extension")
        self.wcs_object = the_wcs
        #: PNG bytes of the last :meth:`export_png` answer
        self.png: bytes | None = None
        self._png_callbacks: list[Callable[[bytes], Any]] = []
        big = max(a.size for a in self._images.values()) > REMOTE_PIXELS
        super().__init__(
            extensions=names,
            remote=bool(big if remote is None else remote),
            wcs=wcs_to_dict(the_wcs) if the_wcs is not None else {},
            **kwargs,
        )
        self.extension = (extension or names[0]).upper()
        self.table = None
        if catalog is not None:
            link(self, catalog)
        self.on_msg(self._on_front_end_msg)

    # -- pixels ---------------------------------------------------------------------------------
    @property
    def data(self) -> np.ndarray:
        """The array of the extension on show."""
        return self._images[self.extension]

    @traitlets.validate("extension")
    def _check_extension(self, proposal):
        name = str(proposal["value"]).upper()
        if name not in self._images:
            raise InvalidParameter(
                f"no {name!r} image; this mosaic has {self.extensions}", parameter="extension"
            )
        return name

    @traitlets.observe("extension")
    def _send_extension(self, _change=None):
        arr = self.data
        if self.remote:
            ny, nx = arr.shape
            if self.view_box:
                # the page already told its view: cut the new extension the same way
                self._on_view_box({"new": self.view_box})
            else:
                self._send_cut(0, nx, 0, ny, *_FIRST_CUT, first=True)
        else:
            self.image = _array_trait(arr, extension=self.extension)

    @traitlets.observe("view_box")
    def _on_view_box(self, change):
        box = change["new"]
        if not self.remote or not box:
            return
        try:
            x0, x1, y0, y1 = (int(box[k]) for k in ("x0", "x1", "y0", "y1"))
            width, height = int(box["width"]), int(box["height"])
        except (KeyError, TypeError, ValueError):
            return  # a malformed box from the page: keep the current cut
        self._send_cut(x0, x1, y0, y1, width, height)

    def _send_cut(self, x0, x1, y0, y1, width, height, first=False):
        """Send the region [x0, x1) × [y0, y1) sampled to about ``width`` × ``height`` pixels."""
        arr = self.data
        ny, nx = arr.shape
        step = max(1, math.ceil((x1 - x0) / max(width, 1)), math.ceil((y1 - y0) / max(height, 1)))
        # align to the step grid so successive cuts sample the same pixels
        x0, y0 = (max(0, x0) // step) * step, (max(0, y0) // step) * step
        x1, y1 = min(nx, x1), min(ny, y1)
        cut = arr[y0:y1:step, x0:x1:step]
        self.image = _array_trait(
            cut, x0=x0, y0=y0, dx=step, dy=step, full_shape=[ny, nx], cut=not first, extension=self.extension
        )

    def set_view(
        self,
        *,
        cmap: str | None = None,
        stretch: str | None = None,
        limits: str | None = None,
        vmin: float | None = None,
        vmax: float | None = None,
    ) -> MosaicView:
        """Change colour map / stretch / limits (``vmin``/``vmax`` switch to manual limits)."""
        if vmin is not None or vmax is not None:
            lo = self.vmin if vmin is None else float(vmin)
            hi = self.vmax if vmax is None else float(vmax)
            if not lo < hi:
                raise InvalidParameter(f"vmin ({lo}) must be below vmax ({hi})", parameter="vmin")
            self.vmin, self.vmax, self.limits = lo, hi, "manual"
        for name, value, allowed in (
            ("cmap", cmap, COLORMAPS),
            ("stretch", stretch, STRETCHES),
            ("limits", limits, LIMITS),
        ):
            if value is not None:
                if value not in allowed:
                    raise InvalidParameter(
                        f"{name} must be one of {list(allowed)}, got {value!r}", parameter=name
                    )
                setattr(self, name, value)
        return self

    # -- PNG export -------------------------------------------------------------------------------
    def export_png(self, callback: Callable[[bytes], Any] | None = None, path=None) -> None:
        """Ask the browser for a PNG of the current view (image + overlays).

        The answer comes back asynchronously — after the running cell ends, since the kernel reads
        widget messages between cells: then ``view.png`` holds the PNG bytes, ``callback(png)`` is
        called and, if ``path`` is given, the file is written. Needs the view displayed.
        """

        def done(png: bytes) -> None:
            if path is not None:
                with open(path, "wb") as f:
                    f.write(png)
            if callback is not None:
                callback(png)

        self._png_callbacks.append(done)
        self.send({"type": "export_png"})

    def _on_front_end_msg(self, _widget, content, _buffers) -> None:
        if not isinstance(content, dict) or content.get("type") != "png":
            return
        data = content.get("data")
        prefix = "data:image/png;base64,"
        if not isinstance(data, str) or not data.startswith(prefix):
            return
        png = base64.b64decode(data[len(prefix) :], validate=True)
        if not png.startswith(b"\x89PNG"):
            return
        self.png = png
        callbacks, self._png_callbacks = self._png_callbacks, []
        for cb in callbacks:
            cb(png)

    def __repr__(self) -> str:
        ny, nx = self.data.shape
        return f"MosaicView({self.extension} {nx}×{ny}, extensions={self.extensions}, remote={self.remote})"


def _sources_of(table) -> dict:
    """Overlay data of a CatalogTable: row ids, RA/Dec in degrees, names, NEW flags."""
    t = table.catalog.table
    lon = t.meta.get("LON_NAME") or "ra"
    lat = t.meta.get("LAT_NAME") or "dec"
    names = [source_name(n) for n in t["src_names"]] if "src_names" in t.colnames else [""] * len(t)
    ra = np.asarray(getattr(t[lon], "degree", t[lon]), dtype=float)
    dec = np.asarray(getattr(t[lat], "degree", t[lat]), dtype=float)
    return {
        "ids": list(range(len(t))),
        "ra": [float(v) for v in ra],
        "dec": [float(v) for v in dec],
        "names": names,
        "new": [is_new_source(n) for n in names],
    }


def link(view: MosaicView, table) -> Any:
    """Link a mosaic view and a catalog table: filtering the table hides overlays, and the
    highlighted source and the selection are shared both ways. Returns the CatalogTable.

    The links are front-end links (``ipywidgets.jslink``): a slider step in the browser updates the
    overlays without a kernel round trip. Python-side changes are mirrored too.
    """
    from oda_widgets.catalog import CatalogTable

    if not isinstance(table, CatalogTable):
        table = CatalogTable(table)
    view.table = table
    view.sources = _sources_of(table)
    view._links = []
    for name in ("visible_ids", "selected_ids", "active_id"):
        setattr(view, name, getattr(table, name))
        view._links.append(ipywidgets.jslink((table, name), (view, name)))
        # Python-side mirror, for changes made by Python methods (the browser may be absent)
        view._links.append(traitlets.dlink((table, name), (view, name)))
    view.observe(lambda ch: setattr(table, "active_id", ch["new"]), "active_id")
    return table
