"""``MosaicView``: a sky image with colour maps, stretches, zoom/pan, a WCS read-out and a catalog
overlay (anywidget, ``js/mosaic.js``).

The image goes to the browser once, as float32 bytes in the ``image`` trait
(``{value, dtype, shape}``, never JSON lists); colour map, stretch and limits are applied there,
so changing them sends no pixels. Mosaics larger than 4096² (or ``remote=True``) are sent as a
screen-resolution cut of the current view, renewed when the user zooms or pans.

The coordinate grid, the read-out and clicks use the WCS in the browser (``wcs_to_dict``: the
projection's closed formulas plus wcslib's resolved rotation), so zoom and pan need no kernel.
Everything placed on the sky by Python — catalog overlays, markers, regions, selections — is
projected here by astropy, exact for any WCS.
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
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.table import Column, Table, vstack
from astropy.wcs import WCS
from regions import (
    CirclePixelRegion,
    CircleSkyRegion,
    PixCoord,
    PixelRegion,
    PointSkyRegion,
    RectanglePixelRegion,
    Regions,
    SkyRegion,
)

from oda_widgets._assets import esm_path
from oda_widgets.errors import InvalidParameter, OdaError
from oda_widgets.products.catalog import read_regions
from oda_widgets.products.mosaic import Mosaic
from oda_widgets.products.selection import is_new_source, source_name
from oda_widgets.static import StaticFallback, mosaic_png

__all__ = [
    "MosaicView",
    "link",
    "EXTENSION_ORDER",
    "REMOTE_PIXELS",
    "wcs_to_dict",
    "BROWSER_PROJECTIONS",
    "MARKER_SHAPES",
]

#: the extension shown first and the order of the switch (SIGNIFICANCE first, as the web frontend)
EXTENSION_ORDER = ("SIGNIFICANCE", "INTENSITY", "VARIANCE", "EXPOSURE")
#: above this many pixels the view asks for screen-resolution cuts instead of the full array
REMOTE_PIXELS = 4096 * 4096
# the first cut of a remote mosaic, before the browser tells its size
_FIRST_CUT = (1000, 800)

COLORMAPS = ("viridis", "inferno", "magma", "gray", "cubehelix")
STRETCHES = ("linear", "sqrt", "log", "asinh")
LIMITS = ("minmax", "99.5", "99", "zscale", "manual")
TOOLS = ("pan", "box", "circle", "add")
#: marker shapes of :meth:`MosaicView.add_markers` (the names astrowidgets/ipyaladin use)
MARKER_SHAPES = ("circle", "square", "cross", "plus", "x", "diamond")
# DS9 point shapes for the marker shapes, as regions names them (matplotlib markers: "s" is
# DS9's box, "+" its cross; DS9 has no "plus", its cross is one)
_DS9_POINT = {"circle": "o", "square": "s", "cross": "+", "plus": "+", "x": "x", "diamond": "D"}


#: projections js/mosaic.js implements (grid, read-out, clicks); others show pixel coordinates only
BROWSER_PROJECTIONS = ("TAN", "SIN", "ARC", "ZEA", "STG", "CAR", "MER", "CEA", "SFL", "MOL", "AIT")

# celestial frames by the first four letters of CTYPE1 (FITS WCS paper II) and RADESYS
_FRAMES = {"GLON": "galactic", "ELON": "geocentricmeanecliptic", "SLON": "supergalactic"}


def _frame_name(cel: WCS) -> str:
    lon = str(cel.wcs.ctype[0])[:4].upper()
    if lon in _FRAMES:
        return _FRAMES[lon]
    return (str(cel.wcs.radesys or "").strip() or "ICRS").lower()


def wcs_to_dict(wcs: WCS) -> dict:
    """What the front end projects with: the linear part (``crpix`` 1-based, ``cd`` in deg/px), the
    projection code and its ``pv`` parameters, and wcslib's Euler angles of the spherical rotation
    (LONPOLE/LATPOLE already resolved by astropy), plus the frame and axis names for labels.

    ``supported`` is False (with ``reason``) for what the browser does not draw — projections
    outside :data:`BROWSER_PROJECTIONS` and distortions (SIP, lookup tables): the view then shows
    pixel coordinates, while overlays and selections, computed here by astropy, stay exact.
    Raises :class:`InvalidParameter` for a WCS without two celestial axes.
    """
    try:
        cel = wcs.celestial
    except Exception as exc:  # astropy's WCS errors (singular matrix...) are ValueErrors or worse
        raise InvalidParameter(
            f"this WCS cannot project: {type(exc).__name__}: {exc}", parameter="wcs"
        ) from exc
    ctype = [str(c) for c in cel.wcs.ctype]
    if cel.naxis != 2 or not cel.has_celestial:
        raise InvalidParameter(
            f"the mosaic viewer needs a celestial WCS with two axes, this one has {ctype}", parameter="wcs"
        )
    cel = cel.deepcopy()
    if cel.wcs.lng != 0:
        # latitude first: swap so the front end always gets (lon, lat)
        cel = cel.swapaxes(0, 1)
        ctype = [str(c) for c in cel.wcs.ctype]
    try:
        cel.wcs.set()
    except Exception as exc:  # astropy's WCS errors (singular matrix...) are ValueErrors or worse
        raise InvalidParameter(
            f"this WCS cannot project: {type(exc).__name__}: {exc}", parameter="wcs"
        ) from exc
    code = ctype[0][5:8] if len(ctype[0]) >= 8 else ctype[0][-3:]
    reason = ""
    if code not in BROWSER_PROJECTIONS:
        reason = f"the {code} projection is not drawn in the browser"
    elif getattr(wcs, "sip", None) is not None or wcs.cpdis1 is not None or wcs.det2im1 is not None:
        reason = "distortion terms (SIP / lookup tables) are not drawn in the browser"
    elif code == "SIN" and any(abs(float(v)) > 0 for v in cel.wcs.cel.prj.pv[1:3] if np.isfinite(v)):
        reason = "slant orthographic (SIN with PV2_1/PV2_2) is not drawn in the browser"
    c = cel.wcs.cel
    offset = None
    if c.offset:
        # the fiducial point is not at the origin of the plane: wcslib shifts it by (x0, y0)
        offset = [float(c.prj.x0), float(c.prj.y0)]
    frame = _frame_name(cel)
    lon_name, lat_name = {
        "galactic": ("l", "b"),
        "supergalactic": ("SGL", "SGB"),
        "geocentricmeanecliptic": ("λ", "β"),
    }.get(frame, ("RA", "Dec"))
    return {
        "crval": [float(v) for v in cel.wcs.crval],
        "crpix": [float(v) for v in cel.wcs.crpix],
        "cd": [[float(v) for v in row] for row in cel.pixel_scale_matrix],
        "ctype": ctype,
        "radesys": str(cel.wcs.radesys or ""),
        "proj": code,
        "pv": [float(v) if np.isfinite(v) else 0.0 for v in c.prj.pv[:4]],
        "euler": [float(v) for v in c.euler],
        "offset": offset,
        "frame": frame,
        "lon_name": lon_name,
        "lat_name": lat_name,
        "sexagesimal": lon_name == "RA",
        "supported": not reason,
        "reason": reason,
    }


def _images_and_wcs(
    mosaic: Any, wcs: WCS | None
) -> tuple[dict[str, np.ndarray], WCS | None, dict, str, dict[str, WCS]]:
    """Images keyed by IMATYPE, the WCS, units by IMATYPE, a title and each image's own WCS (when
    its header has one), from a ProductCollection, a products.Mosaic, an HDUList, a dict or an array."""
    instrument = getattr(mosaic, "instrument", None)
    inner = getattr(mosaic, "mosaic", None)  # a ProductCollection of an image job
    if inner is not None and inner is not mosaic:
        mosaic = inner
    if isinstance(mosaic, fits.HDUList):
        try:
            mosaic = Mosaic.from_product(mosaic)
        except OdaError as err:
            raise InvalidParameter(str(err), parameter="mosaic") from None
    if isinstance(mosaic, Mosaic):
        units = {k: mosaic.unit(k) for k in mosaic.images}
        title = mosaic.title(instrument if isinstance(instrument, str) else None)
        own = {} if wcs is not None else {k: mosaic.wcs_of(k) for k in mosaic.images}
        return dict(mosaic.images), wcs if wcs is not None else mosaic.wcs, units, title, own
    images = getattr(mosaic, "images", None)
    if isinstance(images, dict):
        return dict(images), wcs if wcs is not None else getattr(mosaic, "wcs", None), {}, "", {}
    if isinstance(mosaic, dict):
        return dict(mosaic), wcs, {}, "", {}
    if isinstance(mosaic, np.ndarray):
        return {"IMAGE": mosaic}, wcs, {}, "", {}
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


class MosaicView(StaticFallback, anywidget.AnyWidget):
    """An interactive sky mosaic.

    ``MosaicView(mosaic, catalog=None)``: ``mosaic`` is an ``oda_widgets.products.Mosaic`` (images by
    IMATYPE + ``wcs``), an HDUList, or a 2-D array / dict of arrays with ``wcs=``. ``catalog`` (a
    :class:`~oda_widgets.catalog.CatalogTable`, or a Catalog/Table made into one, as ``view.table``)
    adds circles and labels; filtering the table hides them, and selection is shared both ways.

    Controls (each also a trait or method): ``extension``, ``cmap``, ``stretch``, ``limits``
    (``minmax``, ``99.5``, ``99``, ``zscale``, ``manual`` with ``vmin``/``vmax``), wheel zoom, drag
    pan, keyboard (arrows pan, ``+``/``-`` zoom, ``0`` resets), "Reset view", :meth:`export_png`.

    Around the image: an RA/Dec grid with labelled ticks (``show_grid``) that follows zoom and pan,
    axis names, a colour bar with the current stretch, limits and the image's unit (``unit``, from
    BUNIT), and a ``title`` (instrument, band, time range).

    Sky annotations: :meth:`add_markers` / :meth:`remove_markers` / :attr:`markers` (astrowidgets'
    API); :meth:`load_regions` / :meth:`export_regions` (DS9 files through astropy ``regions``);
    box/circle selection (``tool``, :meth:`select_region`) ticks the catalog rows inside it.
    """

    _esm = esm_path("mosaic.js")
    _css = esm_path("mosaic.css")
    #: saved notebooks show the image as a PNG (matplotlib + WCSAxes, drawn on display)
    _static_png = mosaic_png

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
    height = traitlets.Int(560).tag(sync=True)
    #: caption above the image (instrument, band, time range)
    title = traitlets.Unicode("").tag(sync=True)
    #: unit of the image on show (BUNIT), shown on the colour bar and in the read-out
    unit = traitlets.Unicode("").tag(sync=True)
    show_grid = traitlets.Bool(True).tag(sync=True)
    #: what a drag or click on the image does: pan, box / circle selection, add a catalog source
    tool = traitlets.Enum(TOOLS, "pan").tag(sync=True)
    #: marker sets drawn on the image: [{name, color, marker, size, x: [...], y: [...]}] (pixels)
    marker_sets = traitlets.List(traitlets.Dict()).tag(sync=True)
    #: loaded regions as pixel shapes: [{shape, x, y, r | w, h, angle | xs, ys, color, text}]
    region_shapes = traitlets.List(traitlets.Dict()).tag(sync=True)
    #: the box/circle drawn with the selection tools, in 0-based pixels ({} for none)
    selection_region = traitlets.Dict().tag(sync=True)

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
        images, the_wcs, units, title, own_wcs = _images_and_wcs(mosaic, wcs)
        self._wcses = {str(k).upper(): w for k, w in own_wcs.items()}
        self._images = {str(k).upper(): np.asarray(v) for k, v in images.items()}
        self._units = {str(k).upper(): v for k, v in units.items() if v}
        for name, arr in self._images.items():
            if arr.ndim != 2:
                raise InvalidParameter(
                    f"image {name} has shape {arr.shape}, a 2-D image is needed", parameter="mosaic"
                )
            if arr.dtype.kind not in "biuf":
                raise InvalidParameter(
                    f"image {name} holds {arr.dtype} values, numbers are needed", parameter="mosaic"
                )
        names = _ordered(list(self._images))
        if extension is not None and extension.upper() not in self._images:
            raise InvalidParameter(f"no {extension!r} image; this mosaic has {names}", parameter="extension")
        self.wcs_object = the_wcs
        #: PNG bytes of the last :meth:`export_png` answer
        self.png: bytes | None = None
        self._png_callbacks: list[Callable[[bytes], Any]] = []
        big = max(a.size for a in self._images.values()) > REMOTE_PIXELS
        kwargs.setdefault("title", title)
        super().__init__(
            extensions=names,
            remote=bool(big if remote is None else remote),
            wcs=wcs_to_dict(the_wcs) if the_wcs is not None else {},
            **kwargs,
        )
        self._marker_tables: dict[str, Table] = {}
        self._marker_styles: dict[str, dict] = {}
        self._regions = Regions([])
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
        self.unit = self._units.get(self.extension, "")
        own = self._wcses.get(self.extension)
        if (
            own is not None
            and own is not self.wcs_object
            and (self.wcs_object is None or own.to_header_string() != self.wcs_object.to_header_string())
        ):
            # an image with a projection or grid of its own: grid, read-out and overlays follow it
            self.wcs_object = own
            self.wcs = wcs_to_dict(own)
            self._reproject()
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

    def _reproject(self) -> None:
        """Place catalog, markers and regions again (after the WCS changed with the extension)."""
        if getattr(self, "table", None) is not None:
            self.sources = _sources_of(self.table, self.wcs_object)
        for t in getattr(self, "_marker_tables", {}).values():
            t["x"], t["y"] = self._to_pixels(t["coord"])
        if getattr(self, "_marker_tables", None):
            self._send_markers()
        if len(getattr(self, "_regions", [])):
            # sky regions move with the new WCS; pixel regions stay on their pixels
            self.region_shapes = [
                shape for r in self._regions if (shape := _region_shape(r, self.wcs_object))
            ]

    # -- sky ↔ pixels (astropy: exact for any WCS) -------------------------------------------------
    def _need_wcs(self) -> WCS:
        if self.wcs_object is None:
            raise InvalidParameter("this image has no WCS: sky positions cannot be placed", parameter="wcs")
        return self.wcs_object

    def _to_pixels(self, coords: SkyCoord) -> tuple[np.ndarray, np.ndarray]:
        x, y = self._need_wcs().world_to_pixel(coords)
        return np.atleast_1d(np.asarray(x, dtype=float)), np.atleast_1d(np.asarray(y, dtype=float))

    def pixel_to_sky(self, x: float, y: float) -> SkyCoord:
        """The sky position (in the image's frame) of 0-based pixel (x, y)."""
        return self._need_wcs().pixel_to_world(x, y)

    # -- markers (the astrowidgets / ipyaladin / jdaviz API) -----------------------------------------
    def add_markers(
        self,
        table_or_skycoord: Any,
        name: str = "markers",
        color: str = "red",
        marker: str = "circle",
        size: float = 6,
        *,
        skycoord_colname: str = "coord",
        x_colname: str = "x",
        y_colname: str = "y",
    ) -> MosaicView:
        """Draw markers at sky positions: a SkyCoord (one or many), a Table with a SkyCoord column
        (``skycoord_colname``, else any SkyCoord column), with RA/Dec columns (``ra``/``dec``,
        ``RA_OBJ``/``DEC_OBJ``... in degrees or with units), a Catalog, or a Table of 0-based pixel
        positions (``x_colname``/``y_colname``). Markers added under an existing ``name`` join
        that set. ``marker``: one of :data:`MARKER_SHAPES`; ``size`` in screen pixels."""
        if marker not in MARKER_SHAPES:
            raise InvalidParameter(
                f"marker must be one of {list(MARKER_SHAPES)}, got {marker!r}", parameter="marker"
            )
        if not isinstance(name, str) or not name:
            raise InvalidParameter("a marker set needs a non-empty name", parameter="name")
        coords, x, y = self._marker_positions(table_or_skycoord, skycoord_colname, x_colname, y_colname)
        new = Table({"x": x, "y": y, "coord": coords})
        old = self._marker_tables.get(name)
        self._marker_tables[name] = new if old is None else vstack([old, new])
        self._marker_styles[name] = {"color": str(color), "marker": marker, "size": float(size)}
        self._send_markers()
        return self

    def _marker_positions(self, obj, skycoord_colname, x_colname, y_colname):
        from oda_widgets.products.catalog import Catalog

        if isinstance(obj, Catalog):
            obj = obj.coords
        if isinstance(obj, SkyCoord):
            coords = obj.reshape(-1) if obj.shape else obj.reshape(1)
            x, y = self._to_pixels(coords)
            return coords, x, y
        if not isinstance(obj, Table):
            raise InvalidParameter(
                f"add_markers needs a SkyCoord, an astropy Table or a Catalog, got {type(obj).__name__}",
                parameter="table_or_skycoord",
            )
        sky = [c for c in obj.colnames if isinstance(obj[c], SkyCoord)]
        if skycoord_colname in obj.colnames and isinstance(obj[skycoord_colname], SkyCoord):
            sky = [skycoord_colname]
        if sky:
            return self._marker_positions(obj[sky[0]], skycoord_colname, x_colname, y_colname)
        lower = {c.lower(): c for c in obj.colnames}
        for lon, lat in (("ra", "dec"), ("ra_obj", "dec_obj"), ("raj2000", "dej2000"), ("glon", "glat")):
            if lon in lower and lat in lower:
                a, b = obj[lower[lon]], obj[lower[lat]]
                frame = "galactic" if lon == "glon" else "icrs"
                coords = SkyCoord(u.Quantity(a, a.unit or u.deg), u.Quantity(b, b.unit or u.deg), frame=frame)
                return self._marker_positions(coords, skycoord_colname, x_colname, y_colname)
        if x_colname in obj.colnames and y_colname in obj.colnames:
            x = np.asarray(obj[x_colname], dtype=float)
            y = np.asarray(obj[y_colname], dtype=float)
            coords = self._need_wcs().pixel_to_world(x, y) if self.wcs_object is not None else None
            if coords is None:
                raise InvalidParameter("pixel markers need the image's WCS", parameter="wcs")
            return coords, x, y
        raise InvalidParameter(
            f"the table has no sky positions: give a SkyCoord column ({skycoord_colname!r}), ra/dec "
            f"columns or pixel columns {x_colname!r}/{y_colname!r}; it has {obj.colnames}",
            parameter="table_or_skycoord",
        )

    def remove_markers(self, name: str | None = None) -> MosaicView:
        """Remove the marker set ``name`` (every set when None)."""
        if name is None:
            self._marker_tables.clear()
        elif name not in self._marker_tables:
            raise InvalidParameter(
                f"no marker set {name!r}; there are {sorted(self._marker_tables)}", parameter="name"
            )
        else:
            del self._marker_tables[name]
        self._send_markers()
        return self

    def get_markers(self, name: str | None = None) -> Table:
        """Markers as an astropy Table (``x``, ``y`` 0-based pixels, ``coord``, ``marker name``),
        of one set or of all."""
        names = [name] if name is not None else list(self._marker_tables)
        parts = []
        for n in names:
            if n not in self._marker_tables:
                raise InvalidParameter(f"no marker set {n!r}", parameter="name")
            t = self._marker_tables[n].copy()
            t["marker name"] = Column([n] * len(t), dtype=str)
            parts.append(t)
        if not parts:
            return Table(names=("x", "y", "marker name"), dtype=(float, float, str))
        return vstack(parts) if len(parts) > 1 else parts[0]

    @property
    def markers(self) -> Table:
        """Every marker as an astropy Table (``x``, ``y``, ``coord``, ``marker name``)."""
        return self.get_markers()

    def _send_markers(self) -> None:
        def plain(values):
            return [float(v) if np.isfinite(v) else None for v in values]

        self.marker_sets = [
            {
                "name": n,
                **self._marker_styles[n],
                "x": plain(t["x"]),
                "y": plain(t["y"]),
            }
            for n, t in self._marker_tables.items()
        ]

    # -- selection on the image ----------------------------------------------------------------------
    def select_region(self, region: PixelRegion | SkyRegion | None) -> Table:
        """Tick exactly the catalog rows inside ``region`` (a ``regions`` sky or pixel region: circle,
        rectangle, ellipse, polygon...; None clears the selection shape and ticks every row). The
        box/circle tools of the page call this. Returns the rows inside as an astropy Table."""
        if self.table is None:
            raise InvalidParameter("this view has no catalog to select from", parameter="catalog")
        if region is None:
            self.selection_region = {}
            self.table.select(None)
            return self.table.selected
        pix = region.to_pixel(self._need_wcs()) if isinstance(region, SkyRegion) else region
        if not isinstance(pix, PixelRegion):
            raise InvalidParameter(
                f"select_region needs a regions sky or pixel region, got {type(region).__name__}",
                parameter="region",
            )
        src = self.sources
        x = np.array([np.nan if v is None else v for v in src.get("x", [])], dtype=float)
        y = np.array([np.nan if v is None else v for v in src.get("y", [])], dtype=float)
        ok = np.isfinite(x) & np.isfinite(y)
        inside = np.zeros(len(x), dtype=bool)
        if ok.any():
            inside[ok] = np.asarray(pix.contains(PixCoord(x[ok], y[ok])), dtype=bool)
        rows = [int(i) for i in np.flatnonzero(inside)]
        shape = _selection_shape(pix)
        if shape != self.selection_region:
            self._selecting = True
            try:
                self.selection_region = shape
            finally:
                self._selecting = False
        chosen = set(rows)
        self.table.unchecked_ids = [i for i in range(len(x)) if i not in chosen]
        return self.table.catalog.table[rows]

    def select_circle(self, center: SkyCoord, radius: u.Quantity) -> Table:
        """Tick the catalog rows within ``radius`` (an angle Quantity) of ``center``."""
        return self.select_region(CircleSkyRegion(center=center, radius=u.Quantity(radius, u.deg)))

    @property
    def selected_region(self) -> SkyRegion | None:
        """The box/circle drawn on the image, as a ``regions`` sky region (None without one)."""
        pix = _pixel_region(self.selection_region)
        return pix.to_sky(self._need_wcs()) if pix is not None else None

    @property
    def selected_sources(self) -> Table:
        """The catalog rows ticked (in the table, or by a selection on the image) that pass its filter."""
        if self.table is None:
            raise InvalidParameter("this view has no catalog", parameter="catalog")
        return self.table.selected

    @traitlets.observe("selection_region")
    def _on_selection_region(self, change):
        if getattr(self, "_selecting", False) or self.table is None:
            return
        region = _pixel_region(change["new"])
        if region is None:
            return
        self.select_region(region)

    # -- regions (DS9 files through astropy regions) --------------------------------------------------
    def load_regions(self, regions_or_path: Any, *, replace: bool = True) -> Regions:
        """Draw regions on the image: a DS9 region file path, DS9 text, or ``regions`` objects
        (circles, points, boxes, ellipses, polygons; sky or pixel). Returns what is shown."""
        loaded = read_regions(regions_or_path)
        self._regions = Regions(([] if replace else list(self._regions)) + list(loaded))
        self.region_shapes = [shape for r in self._regions if (shape := _region_shape(r, self.wcs_object))]
        return self._regions

    def clear_regions(self) -> MosaicView:
        """Remove the regions drawn with :meth:`load_regions`."""
        self._regions = Regions([])
        self.region_shapes = []
        return self

    @property
    def regions(self) -> Regions:
        """The regions loaded with :meth:`load_regions` (``regions.Regions``)."""
        return self._regions

    def to_regions(self, include=("catalog", "markers", "regions")) -> Regions:
        """The catalog's visible sources (points named by ``src_names``), the markers and the loaded
        regions, as ``regions.Regions`` in sky coordinates."""
        out: list = []
        if "catalog" in include and self.table is not None:
            out += list(self.table.catalog.select_rows(self.table.visible_ids).to_regions())
        if "markers" in include:
            for name, t in self._marker_tables.items():
                style = self._marker_styles[name]
                for c in t["coord"]:
                    out.append(
                        PointSkyRegion(
                            center=c,
                            meta={"text": name},
                            visual={"color": style["color"], "marker": _DS9_POINT[style["marker"]]},
                        )
                    )
        if "regions" in include:
            w = self.wcs_object
            out += [r.to_sky(w) if isinstance(r, PixelRegion) and w is not None else r for r in self._regions]
        return Regions(out)

    def export_regions(
        self, path=None, include=("catalog", "markers", "regions"), overwrite: bool = True
    ) -> str:
        """The DS9 region text of :meth:`to_regions` (fk5/icrs degrees); written to ``path`` if given."""
        regs = self.to_regions(include)
        text = regs.serialize(format="ds9")
        if path is not None:
            regs.write(str(path), format="ds9", overwrite=overwrite)
        return text

    # -- PNG export -------------------------------------------------------------------------------
    def export_png(self, callback: Callable[[bytes], Any] | None = None, path=None) -> None:
        """Ask the browser for a PNG of the current view (image + overlays).

        The answer comes back asynchronously — after the running cell ends, since the kernel reads
        widget messages between cells: then ``view.png`` holds the PNG bytes, ``callback(png)`` is
        called and, if ``path`` is given, the file is written. Needs the view displayed;
        :meth:`to_png` draws a PNG without a browser.
        """

        def done(png: bytes) -> None:
            if path is not None:
                with open(path, "wb") as f:
                    f.write(png)
            if callback is not None:
                callback(png)

        self._png_callbacks.append(done)
        self.send({"type": "export_png"})

    def add_source_at(self, x: float, y: float, name: str | None = None):
        """Add a source at 0-based pixel (x, y) to the linked catalog (what the "Add source" tool
        does on a click); ``name`` defaults to the catalog's next free ``USER_n``. Returns its row."""
        if self.table is None:
            raise InvalidParameter("this view has no catalog to add sources to", parameter="catalog")
        coord = self.pixel_to_sky(float(x), float(y))
        return self.table.add_source(coord, name=name)

    def _on_front_end_msg(self, _widget, content, _buffers) -> None:
        if not isinstance(content, dict):
            return
        if content.get("type") == "add_source":
            try:
                x, y = float(content["x"]), float(content["y"])
            except (KeyError, TypeError, ValueError):
                return  # a malformed click from the page: nothing to add
            if not (np.isfinite(x) and np.isfinite(y)):
                return
            try:
                self.add_source_at(x, y)
            except OdaError as err:
                if self.table is not None:
                    self.table.status = f"✗ {err}"
            return
        if content.get("type") != "png":
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


def _selection_shape(region: PixelRegion) -> dict:
    """The rubber band the page draws for a pixel region ({} when it is neither box nor circle)."""
    if isinstance(region, CirclePixelRegion):
        return {
            "shape": "circle",
            "x": float(region.center.x),
            "y": float(region.center.y),
            "r": float(region.radius),
        }
    if isinstance(region, RectanglePixelRegion) and not float(region.angle.to_value(u.deg)):
        cx, cy, w, h = (
            float(region.center.x),
            float(region.center.y),
            float(region.width),
            float(region.height),
        )
        return {"shape": "box", "x0": cx - w / 2, "y0": cy - h / 2, "x1": cx + w / 2, "y1": cy + h / 2}
    return {}


def _pixel_region(shape: dict) -> PixelRegion | None:
    """The pixel region of a selection drawn on the page (None for an empty or malformed one)."""
    try:
        if shape.get("shape") == "circle":
            r = float(shape["r"])
            if not (np.isfinite(r) and r > 0):
                return None
            return CirclePixelRegion(PixCoord(float(shape["x"]), float(shape["y"])), radius=r)
        if shape.get("shape") == "box":
            x0, x1 = sorted((float(shape["x0"]), float(shape["x1"])))
            y0, y1 = sorted((float(shape["y0"]), float(shape["y1"])))
            if not (x1 > x0 and y1 > y0):
                return None
            return RectanglePixelRegion(PixCoord((x0 + x1) / 2, (y0 + y1) / 2), width=x1 - x0, height=y1 - y0)
    except (KeyError, TypeError, ValueError):
        return None
    return None


def _region_shape(region, wcs: WCS | None) -> dict | None:
    """A region as the page draws it (0-based pixels), or None for shapes it does not draw."""
    if isinstance(region, SkyRegion):
        if wcs is None:
            return None
        region = region.to_pixel(wcs)
    visual = getattr(region, "visual", {}) or {}
    meta = getattr(region, "meta", {}) or {}
    common = {
        "color": str(visual.get("edgecolor") or visual.get("color") or "#7cfc00"),
        "text": str(meta.get("text") or ""),
    }
    kind = type(region).__name__.replace("PixelRegion", "").lower()
    c = getattr(region, "center", None)
    if kind == "circle":
        return {"shape": "circle", "x": float(c.x), "y": float(c.y), "r": float(region.radius), **common}
    if kind in ("rectangle", "ellipse"):
        return {
            "shape": "box" if kind == "rectangle" else "ellipse",
            "x": float(c.x),
            "y": float(c.y),
            "w": float(region.width),
            "h": float(region.height),
            "angle": float(region.angle.to_value(u.deg)),
            **common,
        }
    if kind == "point":
        return {"shape": "point", "x": float(c.x), "y": float(c.y), **common}
    if kind == "polygon":
        v = region.vertices
        return {"shape": "polygon", "xs": [float(t) for t in v.x], "ys": [float(t) for t in v.y], **common}
    return None


def _sources_of(table, wcs: WCS | None = None) -> dict:
    """Overlay data of a CatalogTable: row ids, RA/Dec in degrees, names, NEW flags, and 0-based
    pixel positions from astropy (any WCS, the catalog's frame converted to the image's)."""
    cat = table.catalog
    t = cat.table
    names = [source_name(n) for n in t["src_names"]] if "src_names" in t.colnames else [""] * len(t)
    lon = t.meta.get("LON_NAME") or "ra"
    lat = t.meta.get("LAT_NAME") or "dec"
    ra = np.asarray(getattr(t[lon], "degree", t[lon]), dtype=float) if len(t) else np.zeros(0)
    dec = np.asarray(getattr(t[lat], "degree", t[lat]), dtype=float) if len(t) else np.zeros(0)
    out = {
        "ids": list(range(len(t))),
        "ra": [float(v) for v in ra],
        "dec": [float(v) for v in dec],
        "names": names,
        "new": [is_new_source(n) for n in names],
    }
    if wcs is not None and len(t):
        with np.errstate(invalid="ignore"):
            x, y = wcs.world_to_pixel(cat.coords)
        out["x"] = [float(v) if np.isfinite(v) else None for v in np.atleast_1d(x)]
        out["y"] = [float(v) if np.isfinite(v) else None for v in np.atleast_1d(y)]
    elif wcs is not None:
        out["x"], out["y"] = [], []
    return out


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
    view.sources = _sources_of(table, view.wcs_object)
    # an edited catalog (rows added, changed, deleted) is redrawn from the table's data
    table.observe(lambda _ch: setattr(view, "sources", _sources_of(table, view.wcs_object)), "table_data")
    view._links = []
    for name in ("visible_ids", "selected_ids", "active_id"):
        setattr(view, name, getattr(table, name))
        view._links.append(ipywidgets.jslink((table, name), (view, name)))
        # Python-side mirror, for changes made by Python methods (the browser may be absent)
        view._links.append(traitlets.dlink((table, name), (view, name)))
    view.observe(lambda ch: setattr(table, "active_id", ch["new"]), "active_id")
    return table
