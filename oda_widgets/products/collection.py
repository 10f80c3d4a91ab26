"""Every product of a ``/run_analysis`` response, decoded, in oda_api's order and with its names.

:meth:`ProductCollection.from_response` takes the response's ``products`` dict (PROTOCOL §2.4).
Pickles go through the restricted unpickler; nothing from the server is evaluated.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from astropy.table import Table

from oda_widgets.cache import product_path
from oda_widgets.errors import OdaError
from oda_widgets.products.catalog import Catalog
from oda_widgets.products.light_curve import LightCurve, find_light_curve_hdu
from oda_widgets.products.mosaic import Mosaic
from oda_widgets.products.numpy_product import NumpyProduct, decode_numpy_data_product
from oda_widgets.products.safe_pickle import safe_loads
from oda_widgets.products.spectrum import Spectrum, spectral_part
from oda_widgets.products.wire import b64decode, loads_response
from oda_widgets.redaction import redact

__all__ = [
    "ProductCollection",
    "TableProduct",
    "Picture",
    "Text",
    "BinaryProduct",
    "PAYLOAD_KEYS",
    "BOOKKEEPING_KEYS",
    "clean_name",
]

#: product payload keys, in the order oda_api appends them to its DataCollection
PAYLOAD_KEYS = (
    "numpy_data_product",
    "numpy_data_product_list",
    "binary_data_product_list",
    "catalog",
    "astropy_table_product_ascii_list",
    "astropy_table_product_binary_list",
    "binary_image_product_list",
    "text_product_list",
)
#: payloads of other services (gravitational waves) we keep undecoded in ``unsupported``
_UNSUPPORTED = ("gw_strain_product_list", "gw_spectrogram_product", "gw_skymap_product")
#: keys kept as attributes of the collection
BOOKKEEPING_KEYS = (
    "analysis_parameters",
    "api_code",
    "session_id",
    "job_id",
    "input_prod_list",
    "prod_process_message",
)


def clean_name(s: str) -> str:
    """A product name as a Python identifier, by oda_api's rules (``-``→m, ``+``→p, space→_)."""
    s = s.replace("-", "m").replace("+", "p").replace(" ", "_")
    s = re.sub(r"[^0-9a-zA-Z_]", "", s)
    return re.sub(r"^[^a-zA-Z_]+", "", s)


@dataclass
class TableProduct:
    """An astropy table product (``astropy_table_product_*_list``)."""

    name: str | None
    table: Table
    meta_data: dict[str, Any] = field(default_factory=dict)
    extension = "fits"

    def save(self, path: str | os.PathLike[str], overwrite: bool = True) -> str:
        path = str(path)
        self.table.write(path, format="fits" if path.endswith(".fits") else None, overwrite=overwrite)
        return str(path)


@dataclass
class Picture:
    """An image file sent by the server (PNG, JPEG, …): ``data`` bytes, ``img_type`` (extension)."""

    name: str | None
    data: bytes
    img_type: str
    metadata: dict[str, Any] = field(default_factory=dict)
    filename: str | None = None

    @property
    def extension(self) -> str:
        return self.img_type

    def save(self, path: str | os.PathLike[str], overwrite: bool = True) -> str:
        return _write_bytes(path, self.data, overwrite)

    def _repr_png_(self) -> bytes | None:
        return self.data if self.img_type == "png" else None

    def __repr__(self) -> str:
        return f"Picture({self.name!r}, {self.img_type}, {len(self.data)} bytes)"


@dataclass
class Text:
    """A text product: ``value`` (str) and ``meta_data``."""

    name: str | None
    value: str
    meta_data: dict[str, Any] = field(default_factory=dict)
    extension = "txt"

    def save(self, path: str | os.PathLike[str], overwrite: bool = True) -> str:
        return _write_bytes(path, str(self.value).encode(), overwrite)

    def __str__(self) -> str:
        return str(self.value)


@dataclass
class BinaryProduct:
    """An opaque file (``binary_data_product_list``): ``data`` bytes, md5-checked on decoding."""

    name: str | None
    data: bytes

    @property
    def extension(self) -> str:
        return _sniff_extension(self.data) or "bin"

    def save(self, path: str | os.PathLike[str], overwrite: bool = True) -> str:
        return _write_bytes(path, self.data, overwrite)

    def __repr__(self) -> str:
        return f"BinaryProduct({self.name!r}, {len(self.data)} bytes, .{self.extension})"


_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpg"),
    (b"GIF8", "gif"),
    (b"%PDF", "pdf"),
    (b"SIMPLE  =", "fits"),
    (b"\x1f\x8b", "gz"),
    (b"PK\x03\x04", "zip"),
    (b"root", "root"),
    (b"<svg", "svg"),
    (b"BM", "bmp"),
    (b"II*\x00", "tif"),
    (b"MM\x00*", "tif"),
)


def _sniff_extension(data: bytes) -> str | None:
    for magic, ext in _MAGIC:
        if data.startswith(magic):
            return ext
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def _write_bytes(path: str | os.PathLike[str], data: bytes, overwrite: bool) -> str:
    p = Path(path)
    if p.exists() and not overwrite:
        raise FileExistsError(f"{p} exists (use overwrite=True)")
    p.write_bytes(data)
    return str(p)


def _b64(text: Any, what: str, urlsafe: bool) -> bytes:
    if not isinstance(text, str):
        raise OdaError(f"{what}: expected base64 text, got {type(text).__name__}")
    try:
        raw = text.encode("ascii", "ignore")
        return base64.urlsafe_b64decode(raw) if urlsafe else b64decode(raw)
    except (binascii.Error, ValueError) as exc:
        raise OdaError(f"{what}: not base64 ({exc})") from exc


def _json_dict(value: Any) -> dict[str, Any]:
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return {"text": value}
    return value if isinstance(value, dict) else {"value": value}


# -- decoders of each payload kind ---------------------------------------------------------------


def _binary(d: Any) -> BinaryProduct:
    if isinstance(d, str):
        # legacy form: a bare urlsafe base64 string
        return BinaryProduct(None, _b64(d, "binary product", urlsafe=True))
    if not isinstance(d, dict):
        raise OdaError(f"binary product: unexpected {type(d).__name__}")
    data = _b64(d.get("data"), f"binary product {d.get('name')!r}", urlsafe=True)
    md5 = d.get("md5")
    if md5 and hashlib.md5(data).hexdigest() != md5:
        raise OdaError(f"binary product {d.get('name')!r}: md5 mismatch, the data are corrupt")
    name = d.get("name")
    return BinaryProduct(None if name == "None" else name, data)


def _table(d: Any, binary: bool) -> TableProduct:
    if isinstance(d, str):
        d = json.loads(d)
    if not isinstance(d, dict):
        raise OdaError(f"table product: unexpected {type(d).__name__}")
    if binary and d.get("binary"):
        table = safe_loads(_b64(d["binary"], f"table {d.get('name')!r}", urlsafe=False))
        if not isinstance(table, Table):
            raise OdaError(f"table {d.get('name')!r} holds a {type(table).__name__}, not a Table")
    else:
        text = d.get("ascii")
        if not isinstance(text, str):
            raise OdaError(f"table {d.get('name')!r} has no ECSV text")
        # a list of lines is always read as data (a lone string could be taken for a file name)
        try:
            table = Table.read(text.splitlines(), format="ascii.ecsv")
        except Exception as exc:
            raise OdaError(f"table {d.get('name')!r} is not readable ECSV: {exc}") from exc
    return TableProduct(d.get("name"), table, _json_dict(d.get("meta_data")))


def _picture(d: Any) -> Picture:
    if isinstance(d, str):
        d = json.loads(d)
    data = _b64(d.get("b64data"), f"picture {d.get('name')!r}", urlsafe=True)
    img_type = str(d.get("img_type") or _sniff_extension(data) or "png").lstrip(".").lower()
    return Picture(d.get("name"), data, img_type, _json_dict(d.get("metadata")), d.get("filename"))


def _text(d: Any) -> Text:
    if isinstance(d, dict):
        return Text(d.get("name"), str(d.get("value") or ""), _json_dict(d.get("meta_data")))
    if isinstance(d, str):
        try:
            obj = json.loads(d)
        except json.JSONDecodeError:
            obj = None
        if isinstance(obj, dict) and "value" in obj:
            return Text(obj.get("name"), obj["value"], _json_dict(obj.get("meta_data")))
        return Text(None, d, {})
    raise OdaError(f"text product: unexpected {type(d).__name__}")


def _meta_for_naming(obj: Any) -> dict[str, Any]:
    # oda_api's DataCollection looks at ``meta_data`` of numpy, table and text products only
    if isinstance(obj, (NumpyProduct, TableProduct, Text)):
        return obj.meta_data
    return {}


def _decoded(kind: str, index: int, payload: Any, decode: Callable[[Any], Any]) -> Any:
    """``decode(payload)``, any failure on server data as an ``OdaError`` naming the product."""
    try:
        return decode(payload)
    except OdaError:
        raise
    except Exception as exc:
        name = payload.get("name") if isinstance(payload, dict) else None
        what = f"{kind}[{index}]" + (f" ({name!r})" if name else "")
        raise OdaError(f"The product {what} could not be read: {type(exc).__name__}: {exc}") from exc


def _each(products: dict[str, Any], kind: str, decode: Callable[[Any], Any]) -> list[Any]:
    payloads = products.get(kind) or []
    if not isinstance(payloads, list):
        raise OdaError(f"The products' {kind} is a {type(payloads).__name__}, not a list.")
    return [_decoded(kind, i, d, decode) for i, d in enumerate(payloads)]


class ProductCollection:
    """The decoded products of one response, in oda_api's order, each under oda_api's name.

    Access a product as ``coll.mosaic_image_0_mosaic`` or ``coll["mosaic_image_0_mosaic"]``
    (``coll[0]`` by position); :meth:`items` lists ``(name, product)`` pairs. Typed views:
    :attr:`light_curves`, :attr:`mosaic`, :attr:`catalog`, :attr:`spectra`, plus :attr:`tables`,
    :attr:`pictures`, :attr:`texts`, :attr:`binaries`. Bookkeeping (``analysis_parameters``,
    ``api_code``, ``job_id``, ``session_id``, ``input_prod_list``, ``prod_process_message``) is kept
    as attributes with any token replaced by ``<token>``.
    """

    def __init__(
        self,
        products: list[tuple[str, Any]],
        *,
        bookkeeping: dict[str, Any] | None = None,
        instrument: str | None = None,
        product: str | None = None,
        unsupported: dict[str, Any] | None = None,
    ):
        self._products = list(products)
        self._by_name = {name: obj for name, obj in self._products}
        self.instrument = instrument
        self.product = product
        self.unsupported = dict(unsupported or {})
        book = dict(bookkeeping or {})
        self.analysis_parameters: dict[str, Any] | None = book.pop("analysis_parameters", None)
        self.api_code: str | None = book.pop("api_code", None)
        self.session_id: str | None = book.pop("session_id", None)
        self.job_id: str | None = book.pop("job_id", None)
        self.input_prod_list: list[Any] | None = book.pop("input_prod_list", None)
        self.prod_process_message: str | None = book.pop("prod_process_message", None)
        #: other non-product keys of the response's ``products`` (redacted)
        self.extra: dict[str, Any] = book
        #: why a product could not be given its typed view (it stays reachable by name)
        self.problems: list[str] = []
        self._views: dict[str, Any] = {}

    # -- decoding -----------------------------------------------------------------------------

    @classmethod
    def from_response(
        cls, products: dict[str, Any], *, instrument: str | None = None, product: str | None = None
    ) -> ProductCollection:
        """Decode a response's ``products`` dict (PROTOCOL §2.4).

        ``instrument``/``product`` name unnamed products as oda_api does; by default they are taken
        from ``analysis_parameters`` (``instrument``, ``product_type``).
        """
        if products is None:
            products = {}
        if not isinstance(products, dict):
            raise OdaError(f"products must be a JSON object, got {type(products).__name__}")
        params = products.get("analysis_parameters")
        params = params if isinstance(params, dict) else {}
        token = params.get("token") if isinstance(params.get("token"), str) else None
        instrument = instrument or params.get("instrument")
        product = product or params.get("product_type")

        decoded: list[Any] = []
        if products.get("numpy_data_product") is not None:
            decoded.append(
                _decoded("numpy_data_product", 0, products["numpy_data_product"], decode_numpy_data_product)
            )
        elif "numpy_data_product_list" in products:
            decoded += _each(products, "numpy_data_product_list", decode_numpy_data_product)
        decoded += _each(products, "binary_data_product_list", _binary)
        if products.get("catalog") is not None:
            decoded.append(
                _decoded(
                    "catalog",
                    0,
                    products["catalog"],
                    lambda d: Catalog.from_dict(d, name="dispatcher_catalog"),
                )
            )
        decoded += _each(products, "astropy_table_product_ascii_list", lambda d: _table(d, binary=False))
        decoded += _each(products, "astropy_table_product_binary_list", lambda d: _table(d, binary=True))
        decoded += _each(products, "binary_image_product_list", _picture)
        decoded += _each(products, "text_product_list", _text)

        named = []
        for i, obj in enumerate(decoded):
            base = getattr(obj, "name", None)
            if base is None or str(base).strip() == "":
                base = product or instrument or "prod"
            name = f"{base}_{i}"
            meta = _meta_for_naming(obj)
            for key in ("src_name", "product"):
                value = meta.get(key)
                if value is None:
                    continue
                s = str(value).replace(" ", "").strip()
                if s:
                    name += "_" + s
            named.append((clean_name(name), obj))

        payload = set(PAYLOAD_KEYS) | set(_UNSUPPORTED)
        book = {k: v for k, v in products.items() if k not in payload}
        unsupported = {k: products[k] for k in _UNSUPPORTED if k in products}
        return cls(
            named,
            bookkeeping=redact(book, token),
            instrument=instrument,
            product=product,
            unsupported=unsupported,
        )

    @classmethod
    def from_response_bytes(cls, content: bytes, **kwargs: Any) -> ProductCollection:
        """Decode a whole ``/run_analysis`` body given as bytes (the HTTP response content).

        Faster than ``json.loads`` + :meth:`from_response` for big products: the base64 pickles
        are decoded straight from the bytes (:func:`~oda_widgets.products.wire.loads_response`).
        """
        body = loads_response(content)
        return cls.from_response(body.get("products") or {}, **kwargs)

    # -- access -------------------------------------------------------------------------------

    def items(self) -> list[tuple[str, Any]]:
        """``(name, product)`` pairs in order."""
        return list(self._products)

    def names(self) -> list[str]:
        return [n for n, _ in self._products]

    def __iter__(self) -> Iterator[Any]:
        return (obj for _, obj in self._products)

    def __len__(self) -> int:
        return len(self._products)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __getitem__(self, key: str | int) -> Any:
        if isinstance(key, int):
            return self._products[key][1]
        try:
            return self._by_name[key]
        except KeyError:
            raise KeyError(f"no product {key!r}; have {self.names()}") from None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        by_name = self.__dict__.get("_by_name", {})
        if name in by_name:
            return by_name[name]
        raise AttributeError(f"no product or attribute {name!r}; products: {list(by_name)}")

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self._by_name))

    # -- typed views --------------------------------------------------------------------------

    def _numpy(self) -> list[tuple[str, NumpyProduct]]:
        return [(n, p) for n, p in self._products if isinstance(p, NumpyProduct)]

    def _view(self, key: str, build: Callable[[], Any]) -> Any:
        if key not in self._views:
            self._views[key] = build()
        return self._views[key]

    @property
    def light_curves(self) -> list[LightCurve]:
        """One :class:`LightCurve` per light-curve product, in order."""

        def build() -> Any:
            out = []
            for name, p in self._numpy():
                if spectral_part(p) is not None:
                    continue
                try:
                    find_light_curve_hdu(p.hdulist)
                except OdaError:
                    continue  # not a light curve
                try:
                    out.append(LightCurve.from_product(p, name=name))
                except OdaError as exc:
                    self.problems.append(f"{name}: {exc}")
            return out

        return list(self._view("light_curves", build))

    @property
    def mosaic(self) -> Mosaic | None:
        """The sky mosaic (the first product with a celestial image), or None."""

        def build() -> Any:
            for name, p in self._numpy():
                if _is_mosaic(p):
                    try:
                        return Mosaic.from_product(p, name=name)
                    except OdaError as exc:
                        self.problems.append(f"{name}: {exc}")
            return None

        mosaic: Mosaic | None = self._view("mosaic", build)
        return mosaic

    @property
    def catalog(self) -> Catalog | None:
        """The dispatcher's source catalog, or None."""
        return next((p for _, p in self._products if isinstance(p, Catalog)), None)

    @property
    def spectra(self) -> list[Spectrum]:
        """One :class:`Spectrum` per source (spectrum + ARF + RMF grouped by ``src_name``)."""

        def build() -> Any:
            groups: dict[str, dict[str, NumpyProduct]] = {}
            names: dict[str, dict[str, str]] = {}
            for name, p in self._numpy():
                part = spectral_part(p)
                if part is None:
                    continue
                src = str(p.meta_data.get("src_name") or p.name or "source")
                groups.setdefault(src, {}).setdefault(part, p)
                names.setdefault(src, {}).setdefault(part, name)
            out = []
            for src, parts in groups.items():
                try:
                    out.append(Spectrum.from_products(src, parts, names=names[src]))
                except OdaError as exc:
                    self.problems.append(f"spectrum of {src}: {exc}")
            return out

        return list(self._view("spectra", build))

    @property
    def tables(self) -> list[TableProduct]:
        return [p for _, p in self._products if isinstance(p, TableProduct)]

    @property
    def pictures(self) -> list[Picture]:
        return [p for _, p in self._products if isinstance(p, Picture)]

    @property
    def texts(self) -> list[Text]:
        return [p for _, p in self._products if isinstance(p, Text)]

    @property
    def binaries(self) -> list[BinaryProduct]:
        return [p for _, p in self._products if isinstance(p, BinaryProduct)]

    def others(self) -> list[tuple[str, Any]]:
        """``(name, product)`` pairs no typed view covers (not an LC, mosaic, catalog, spectral
        part, table, picture, text or binary)."""
        covered = {id(lc.product) for lc in self.light_curves}
        covered |= {id(p) for s in self.spectra for p in s.products}
        if self.mosaic is not None:
            covered.add(id(self.mosaic.product))
        out = []
        for name, p in self._products:
            if isinstance(p, NumpyProduct) and id(p) not in covered:
                out.append((name, p))
        return out

    # -- output -------------------------------------------------------------------------------

    def default_folder(self) -> str:
        """The folder name products of this job are saved under by default: ``<product>_<job id>``."""
        return re.sub(r"[^\w.-]", "_", f"{self.product or 'products'}_{self.job_id or 'job'}")

    def file_name(self, name: str) -> str:
        """The file name :meth:`save` uses for product ``name`` (oda_api's ``<name>.<ext>``)."""
        return f"{name}.{_extension(self[name])}"

    def save(
        self,
        directory: str | os.PathLike[str] | None = None,
        overwrite: bool = True,
        *,
        grouping: Any = None,
        systematic: float | None = None,
        energy_range: Any = None,
    ) -> list[Path]:
        """Write every product into ``directory`` as ``<name>.<ext>`` (FITS, ECSV, …), as oda_api's
        ``save_all_data`` names them; returns the paths written.

        Without ``directory``: ``<product>_<job id>`` in the products folder
        (:func:`oda_widgets.cache.products_dir`, never inside this project's ``notebooks/``).

        Spectra are written ready for XSPEC (:meth:`Spectrum.save`): each PHA's ANCRFILE/RESPFILE
        name its source's ARF/RMF files written beside it; ``grouping``, ``systematic`` and
        ``energy_range`` apply to every spectrum."""
        directory = Path(directory) if directory is not None else product_path(None, self.default_folder())
        directory.mkdir(parents=True, exist_ok=True)
        written: dict[str, Path] = {}
        for spectrum in self.spectra:
            by_part = spectrum.save(
                directory,
                overwrite,
                grouping=grouping,
                systematic=systematic,
                energy_range=energy_range,
            )
            for part, path in by_part.items():
                if part in spectrum.names:
                    written[spectrum.names[part]] = path
        paths = []
        for name, p in self._products:
            if name in written:
                paths.append(written[name])
                continue
            path = directory / self.file_name(name)
            p.save(path, overwrite=overwrite)
            paths.append(path)
        return paths

    def to_oda_api(self) -> Any:
        """The same products as an ``oda_api.api.DataCollection`` (needs oda_api installed).

        Built from our decoded HDULists and tables; the server's pickles are not loaded again.
        """
        try:
            from oda_api import data_products as dp
            from oda_api.api import DataCollection
        except ImportError as exc:
            raise OdaError("to_oda_api() needs the oda_api package (pip install oda-api)") from exc
        out = []
        for _, p in self._products:
            if isinstance(p, NumpyProduct):
                units = [dp.NumpyDataUnit.from_fits_hdu(h) for h in p.hdulist]
                out.append(dp.NumpyDataProduct(units, name=p.name, meta_data=dict(p.meta_data)))
            elif isinstance(p, Catalog):
                out.append(dp.ApiCatalog(p.to_dict(), name=p.name))
            elif isinstance(p, TableProduct):
                out.append(dp.ODAAstropyTable(p.table, name=p.name, meta_data=dict(p.meta_data)))
            elif isinstance(p, Picture):
                out.append(dp.PictureProduct(p.data, name=p.name, metadata=dict(p.metadata)))
            elif isinstance(p, Text):
                out.append(dp.TextLikeProduct(p.value, name=p.name, meta_data=dict(p.meta_data)))
            elif isinstance(p, BinaryProduct):
                out.append(dp.BinaryProduct(p.data, name=p.name))
        return DataCollection(
            out, instrument=self.instrument, product=self.product, request_job_id=self.job_id
        )

    def __repr__(self) -> str:
        lines = [
            f"ProductCollection({len(self)} products" + (f", job {self.job_id}" if self.job_id else "") + ")"
        ]
        width = max((len(n) for n in self.names()), default=0)
        for name, p in self._products:
            lines.append(f"  {name:<{width}}  {_describe(p)}")
        if isinstance(self.input_prod_list, list) and self.input_prod_list:
            lines.append(f"  input_prod_list: {len(self.input_prod_list)} entries")
        if self.unsupported:
            lines.append(f"  not decoded: {', '.join(self.unsupported)}")
        return "\n".join(lines)


def _is_mosaic(p: NumpyProduct) -> bool:
    if str(p.meta_data.get("product") or "").lower() == "mosaic":
        return True
    for h in p.hdulist:
        celestial = h.header.get("IMATYPE") or str(h.header.get("CTYPE1", "")).startswith(("RA--", "GLON"))
        if celestial and getattr(h, "data", None) is not None and h.data.ndim == 2:
            return True
    return False


def _extension(p: Any) -> str:
    if isinstance(p, NumpyProduct):
        return "fits"
    if isinstance(p, Catalog):
        return "ecsv"
    return str(p.extension)


def _describe(p: Any) -> str:
    if isinstance(p, NumpyProduct):
        units = ", ".join(h.name or "?" for h in p.hdulist)
        meta = {k: v for k, v in p.meta_data.items() if k in ("product", "src_name") and v}
        return f"FITS [{units}]" + (f" {meta}" if meta else "")
    if isinstance(p, Catalog):
        return f"catalog, {len(p)} sources"
    if isinstance(p, TableProduct):
        return f"table, {len(p.table)} rows × {len(p.table.colnames)} columns"
    return repr(p)
