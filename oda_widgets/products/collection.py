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
from oda_widgets.products.annotations import Annotation, annotate_lists
from oda_widgets.products.catalog import Catalog
from oda_widgets.products.filetypes import FileType, extension_of_name, guess_file_type
from oda_widgets.products.flux_spectrum import FluxSpectrum, OgipSpectrum, is_ogip_spectrum
from oda_widgets.products.light_curve import LightCurve, find_light_curve_hdu
from oda_widgets.products.mosaic import Mosaic, has_celestial_image, image_hdus
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
    "ProgressReport",
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
    "progress_product_list",
)
#: payloads of other services (gravitational waves) we keep undecoded in ``unsupported``; so is
#: any other ``*_product``/``*_product_list`` key a newer dispatcher may send
_UNSUPPORTED = ("gw_strain_product_list", "gw_spectrogram_product", "gw_skymap_product")
#: response keys that describe the products (workflow instruments), not products themselves
ANNOTATION_KEYS = ("prod_uris", "extra_metadata")
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


def _label(name: str | None, annotation: Annotation, fallback: str) -> str:
    return str(annotation.label or name or annotation.output or fallback)


@dataclass(repr=False)
class TableProduct:
    """An astropy table product (``astropy_table_product_*_list``): ``table`` (units, meta and
    all), the product's ``meta_data`` dict and, for workflow outputs, its ``annotation``."""

    name: str | None
    table: Table
    meta_data: dict[str, Any] = field(default_factory=dict)
    annotation: Annotation = field(default_factory=Annotation)
    extension = "fits"

    @property
    def label(self) -> str:
        """How to call it: the workflow's label, else its name, else the output's."""
        return _label(self.name, self.annotation, "table")

    def __repr__(self) -> str:
        return f"TableProduct({self.label!r}, {len(self.table)} rows × {len(self.table.colnames)} columns)"

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
    annotation: Annotation = field(default_factory=Annotation)

    @property
    def extension(self) -> str:
        return self.img_type

    @property
    def label(self) -> str:
        return _label(self.name, self.annotation, "picture")

    def save(self, path: str | os.PathLike[str], overwrite: bool = True) -> str:
        return _write_bytes(path, self.data, overwrite)

    def _repr_png_(self) -> bytes | None:
        return self.data if self.img_type == "png" else None

    def __repr__(self) -> str:
        return f"Picture({self.name!r}, {self.img_type}, {len(self.data)} bytes)"


@dataclass(repr=False)
class Text:
    """A text product: ``value`` (str) and ``meta_data``. A workflow output annotated with a
    parameter term (``Float``, ``TimeInstant``…) is a Text too: ``parameter_uri`` names the term."""

    name: str | None
    value: str
    meta_data: dict[str, Any] = field(default_factory=dict)
    annotation: Annotation = field(default_factory=Annotation)
    extension = "txt"

    @property
    def label(self) -> str:
        return _label(self.name, self.annotation, "text")

    @property
    def parameter_uri(self) -> str | None:
        """The parameter term of a parameter-valued output, else None."""
        uri = self.meta_data.get("uri")
        if isinstance(uri, str):
            return uri
        return self.annotation.uri if self.annotation.kind == "parameter" else None

    def save(self, path: str | os.PathLike[str], overwrite: bool = True) -> str:
        return _write_bytes(path, str(self.value).encode(), overwrite)

    def __str__(self) -> str:
        return str(self.value)

    def __repr__(self) -> str:
        short = self.value if len(self.value) <= 60 else self.value[:57] + "…"
        return f"{type(self).__name__}({self.label!r}, {short!r})"


@dataclass(repr=False)
class ProgressReport(Text):
    """One entry of ``progress_product_list``: what a running workflow reported (often HTML)."""

    extension = "html"


@dataclass
class BinaryProduct:
    """An opaque file (``binary_data_product_list``): ``data`` bytes, md5-checked on decoding.

    :attr:`file_type` is guessed from the content (FITS, PNG, PDF, gzip, zip, HDF5, VOTable, JSON,
    text…); bytes that cannot be placed save as ``.bin``. Nothing in them is loaded or run.
    """

    name: str | None
    data: bytes
    annotation: Annotation = field(default_factory=Annotation)

    @property
    def file_type(self) -> FileType:
        """The type guessed from the first bytes (``.extension``, ``.description``, ``.mime``)."""
        return guess_file_type(self.data)

    @property
    def extension(self) -> str:
        """The file extension to save it with: the guessed type's; for bytes that cannot be
        placed, the one the product's name carries if any, else ``bin``."""
        guessed = self.file_type
        if guessed.extension in ("bin", "txt"):
            return extension_of_name(self.name) or guessed.extension
        return guessed.extension

    @property
    def label(self) -> str:
        return _label(self.name, self.annotation, "file")

    @property
    def size(self) -> int:
        """Size in bytes."""
        return len(self.data)

    def file_name(self) -> str:
        """A file name for it: its own name when that has the right extension, else name.extension."""
        base = (
            re.sub(r"[^\w.+-]", "_", str(self.name or self.annotation.output or "file")).strip("._") or "file"
        )
        ext = self.extension
        return base if base.lower().endswith("." + ext) else f"{base}.{ext}"

    def save(self, path: str | os.PathLike[str], overwrite: bool = True) -> str:
        return _write_bytes(path, self.data, overwrite)

    def __repr__(self) -> str:
        return f"BinaryProduct({self.name!r}, {len(self.data)} bytes, .{self.extension})"


def _sniff_extension(data: bytes) -> str | None:
    ftype = guess_file_type(data)
    return None if ftype.extension == "bin" else ftype.extension


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
    """A meta-data dict from what the server sent: a dict, JSON text, or JSON text of JSON text
    (the nb2workflow plugin encodes a table's ``meta_data`` twice)."""
    for _ in range(3):
        if not isinstance(value, str):
            break
        if value.strip() == "":
            return {}
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return {"text": value}
    if value is None:
        return {}
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


def _text_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, indent=1, default=str)
    return str(value)


def _text(d: Any) -> Text:
    if isinstance(d, dict):
        return Text(d.get("name"), _text_value(d.get("value")), _json_dict(d.get("meta_data")))
    if isinstance(d, str):
        try:
            obj = json.loads(d)
        except json.JSONDecodeError:
            obj = None
        if isinstance(obj, dict) and "value" in obj:
            return Text(obj.get("name"), obj["value"], _json_dict(obj.get("meta_data")))
        return Text(None, d, {})
    raise OdaError(f"text product: unexpected {type(d).__name__}")


def _progress(d: Any) -> ProgressReport:
    if isinstance(d, dict):
        return ProgressReport(d.get("name"), _text_value(d.get("value")), _json_dict(d.get("meta_data")))
    return ProgressReport(None, _text_value(d), {})


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


def default_folder_name(product: str | None, job_id: str | None) -> str:
    """The folder a job's products are saved under by default: ``<product>_<job id>``, file-safe."""
    return re.sub(r"[^\w.-]", "_", f"{product or 'products'}_{job_id or 'job'}")


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
        prod_uris: dict[str, str] | None = None,
        extra_metadata: dict[str, Any] | None = None,
    ):
        self._products = list(products)
        #: workflow instruments: output name → ontology URI, and → label/description/group
        self.prod_uris: dict[str, str] = dict(prod_uris) if isinstance(prod_uris, dict) else {}
        self.extra_metadata: dict[str, Any] = dict(extra_metadata) if isinstance(extra_metadata, dict) else {}
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
        self._kinds: dict[int, str] = {}

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

        annotations = annotate_lists(products)
        decoded: list[Any] = []

        def add(key: str, decode: Callable[[Any], Any]) -> None:
            notes = annotations.get(key) or []
            for i, obj in enumerate(_each(products, key, decode)):
                if i < len(notes) and notes[i]:
                    obj.annotation = notes[i]
                decoded.append(obj)

        if products.get("numpy_data_product") is not None:
            decoded.append(
                _decoded("numpy_data_product", 0, products["numpy_data_product"], decode_numpy_data_product)
            )
        elif "numpy_data_product_list" in products:
            add("numpy_data_product_list", decode_numpy_data_product)
        add("binary_data_product_list", _binary)
        if products.get("catalog") is not None:
            decoded.append(
                _decoded(
                    "catalog",
                    0,
                    products["catalog"],
                    lambda d: Catalog.from_dict(d, name="dispatcher_catalog"),
                )
            )
        add("astropy_table_product_ascii_list", lambda d: _table(d, binary=False))
        add("astropy_table_product_binary_list", lambda d: _table(d, binary=True))
        add("binary_image_product_list", _picture)
        add("text_product_list", _text)
        add("progress_product_list", _progress)

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

        unknown = [
            k
            for k in products
            if k not in PAYLOAD_KEYS and (k.endswith("_product_list") or k.endswith("_product"))
        ]
        payload = set(PAYLOAD_KEYS) | set(_UNSUPPORTED) | set(unknown) | set(ANNOTATION_KEYS)
        book = {k: v for k, v in products.items() if k not in payload}
        unsupported = {k: products[k] for k in [*_UNSUPPORTED, *unknown] if k in products}
        return cls(
            named,
            bookkeeping=redact(book, token),
            instrument=instrument,
            product=product,
            unsupported=unsupported,
            prod_uris=products.get("prod_uris"),
            extra_metadata=products.get("extra_metadata"),
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

    def kind_of(self, product: Any) -> str:
        """What a decoded product is taken for: ``light_curve``, ``image``, ``spectrum``,
        ``spectral_part`` (INTEGRAL's spectrum/ARF/RMF, grouped per source), ``catalog``,
        ``table``, ``picture``, ``text``, ``progress``, ``binary`` or ``other``.

        A workflow product's ontology term decides (``prod_uris``); a product without one is
        recognised from its content (meta-data, FITS units and keywords)."""
        if isinstance(product, Catalog):
            return "catalog"
        if isinstance(product, ProgressReport):
            return "progress"
        if isinstance(product, (Text, Picture, BinaryProduct)):
            return {Text: "text", Picture: "picture", BinaryProduct: "binary"}[type(product)]
        if isinstance(product, TableProduct):
            return "spectrum" if product.annotation.kind == "spectrum" else "table"
        if not isinstance(product, NumpyProduct):
            return "other"
        # looking inside a FITS product (WCS, columns) is done once per product
        known = self._kinds.get(id(product))
        if known is None:
            known = self._kinds[id(product)] = _kind_of_fits(product)
        return known

    def _of_kind(self, kind: str) -> list[tuple[str, Any]]:
        return [(n, p) for n, p in self._products if self.kind_of(p) == kind]

    @property
    def light_curves(self) -> list[LightCurve]:
        """One :class:`LightCurve` per light-curve product, in order (a product that says it is
        one but cannot be read as one is listed in :attr:`problems` and stays in :meth:`others`)."""

        def build() -> Any:
            out = []
            for name, p in self._of_kind("light_curve"):
                try:
                    curves = LightCurve.all_from_product(p, name=name)
                except OdaError as exc:
                    self.problems.append(f"{name}: {exc}")
                    continue
                for lc in curves:
                    self._label_light_curve(lc, p)
                out += curves
            return out

        return list(self._view("light_curves", build))

    def _label_light_curve(self, lc: LightCurve, product: NumpyProduct) -> None:
        """What the file does not say about a curve, from the rest of the response: the source
        and instrument of the request, the requested band (E1_keV–E2_keV, a ``band``/``filter``
        parameter), so a workflow's curve is never "unknown"."""
        params = self.analysis_parameters or {}
        if not lc.source:
            lc.source = self._requested_source() or product.annotation.label or product.name
        if not lc.instrument:
            lc.instrument = self.instrument or params.get("instrument") or None
        if not lc.band:
            lc.band = _requested_band(params)

    @property
    def images(self) -> list[Mosaic]:
        """Every sky image product as a :class:`Mosaic` (one or several images, each with its
        own WCS), in order: INTEGRAL's mosaic and every workflow image."""

        def build() -> Any:
            out = []
            for name, p in self._of_kind("image"):
                if not image_hdus(p.hdulist):
                    self.problems.append(f"{name}: declared an image, but holds no 2-D image")
                    continue
                try:
                    out.append(Mosaic.from_product(p, name=name))
                except OdaError as exc:
                    self.problems.append(f"{name}: {exc}")
            return out

        return list(self._view("images", build))

    @property
    def mosaic(self) -> Mosaic | None:
        """The sky mosaic: INTEGRAL's (its ``meta_data.product`` is ``mosaic``, or its images
        have an IMATYPE), else the first of :attr:`images`; None without images."""
        images = self.images
        for m in images:
            meta = m.product.meta_data if m.product is not None else {}
            if str(meta.get("product") or "").lower() == "mosaic" or any(
                h.get("IMATYPE") for h in m.headers.values()
            ):
                return m
        return images[0] if images else None

    @property
    def catalog(self) -> Catalog | None:
        """The dispatcher's source catalog, or None."""
        return next((p for _, p in self._products if isinstance(p, Catalog)), None)

    @property
    def spectra(self) -> list[Spectrum | FluxSpectrum]:
        """Spectra, in order: one :class:`Spectrum` per INTEGRAL source (spectrum + ARF + RMF
        grouped by ``src_name``), one per OGIP-like spectrum file of a workflow, and one
        :class:`FluxSpectrum` per energy/flux table a workflow declared a ``Spectrum``."""

        def build() -> Any:
            groups: dict[str, dict[str, NumpyProduct]] = {}
            names: dict[str, dict[str, str]] = {}
            for name, p in self._of_kind("spectral_part"):
                part = spectral_part(p)
                assert part is not None
                src = str(p.meta_data.get("src_name") or p.name or "source")
                groups.setdefault(src, {}).setdefault(part, p)
                names.setdefault(src, {}).setdefault(part, name)
            out: list[Spectrum | FluxSpectrum] = []
            for src, parts in groups.items():
                try:
                    out.append(Spectrum.from_products(src, parts, names=names[src]))
                except OdaError as exc:
                    self.problems.append(f"spectrum of {src}: {exc}")
            source = self._requested_source()
            for name, p in self._of_kind("spectrum"):
                try:
                    if isinstance(p, NumpyProduct) and is_ogip_spectrum(p.hdulist):
                        out.append(OgipSpectrum.from_product(p, name=name, source=source))
                    else:
                        out.append(FluxSpectrum.from_product(p, name=name, source=source))
                except OdaError as exc:
                    self.problems.append(f"{name}: {exc}")
            return out

        return list(self._view("spectra", build))

    def _requested_source(self) -> str | None:
        params = self.analysis_parameters or {}
        value = params.get("src_name")
        return str(value).strip() or None if value else None

    @property
    def tables(self) -> list[TableProduct]:
        """Every table product (a table declared a ``Spectrum`` is among :attr:`spectra` too)."""
        return [p for _, p in self._products if isinstance(p, TableProduct)]

    @property
    def pictures(self) -> list[Picture]:
        return [p for _, p in self._products if isinstance(p, Picture)]

    @property
    def texts(self) -> list[Text]:
        """Text products, parameter-valued outputs and progress reports."""
        return [p for _, p in self._products if isinstance(p, Text)]

    @property
    def binaries(self) -> list[BinaryProduct]:
        return [p for _, p in self._products if isinstance(p, BinaryProduct)]

    def others(self) -> list[tuple[str, Any]]:
        """``(name, product)`` pairs no typed view covers: FITS products that are not a light
        curve, image or spectrum (or could not be read as the one they claim to be)."""
        covered = {id(lc.product) for lc in self.light_curves}
        covered |= {id(p) for s in self.spectra for p in s.products}
        covered |= {id(m.product) for m in self.images}
        out = []
        for name, p in self._products:
            if isinstance(p, NumpyProduct) and id(p) not in covered:
                out.append((name, p))
        return out

    def typed(self) -> list[tuple[str, Any]]:
        """Every product once, typed where recognised, in the order a results view shows them:
        light curves, images, the catalog, spectra, tables, pictures, texts, files, then the
        rest; ``(name, object)`` pairs (a spectrum's name is its spectrum part's or product's)."""
        names = {id(p): n for n, p in self._products}
        out: list[tuple[str, Any]] = []
        for lc in self.light_curves:
            out.append((names.get(id(lc.product), lc.name or "light_curve"), lc))
        for m in self.images:
            out.append((names.get(id(m.product), m.name or "image"), m))
        catalog = self.catalog
        if catalog is not None:
            out.append((names.get(id(catalog), "catalog"), catalog))
        spectra = self.spectra
        in_spectra = set()
        for s in spectra:
            first = s.products[0] if s.products else None
            in_spectra |= {id(p) for p in s.products}
            out.append((names.get(id(first), str(s.source)), s))
        for kind in (TableProduct, Picture, Text, BinaryProduct):
            out += [
                (n, p) for n, p in self._products if type(p) is kind or (kind is Text and isinstance(p, Text))
            ]
        out = [(n, p) for n, p in out if id(p) not in in_spectra]
        out += self.others()
        return out

    # -- output -------------------------------------------------------------------------------

    def default_folder(self) -> str:
        """The folder name products of this job are saved under by default: ``<product>_<job id>``."""
        return default_folder_name(self.product, self.job_id)

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
            if not isinstance(spectrum, Spectrum):
                continue  # a flux spectrum is a table: saved as its product below
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


def _kind_of_fits(product: NumpyProduct) -> str:
    """What a FITS product is: its ontology term first, else its content."""
    declared = product.annotation.kind
    if declared in ("light_curve", "image", "spectrum"):
        return declared
    if spectral_part(product) is not None:
        return "spectral_part"
    if is_ogip_spectrum(product.hdulist):
        return "spectrum"
    try:
        find_light_curve_hdu(product.hdulist)
        return "light_curve"
    except OdaError:
        pass
    return "image" if has_celestial_image(product.hdulist) else "other"


def _requested_band(params: dict[str, Any]) -> str | None:
    """The band a request asked for: ``E1_keV``–``E2_keV``, else a ``band``/``filter`` parameter."""
    try:
        lo, hi = float(params["E1_keV"]), float(params["E2_keV"])
        if 0 < lo < hi:
            return f"{lo:g}–{hi:g} keV"
    except (KeyError, TypeError, ValueError):
        pass
    for key in ("band", "filter", "Band", "Filter"):
        value = params.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


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
