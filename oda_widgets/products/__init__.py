"""Dispatcher products decoded into astropy objects (no widget imports).

* :func:`safe_loads` — the restricted unpickler every server pickle goes through;
* :func:`decode_numpy_data_product` / :func:`encode_numpy_data_product` — NumpyDataProduct ⇄ HDUList;
* :class:`Catalog` — the image catalog as an astropy Table, and back to ``selected_catalog``;
* :class:`ProductCollection` — every product of a response, with oda_api-compatible names;
* :func:`loads_response` — a response body (bytes) parsed with the base64 pickles decoded fast;
* typed views :class:`LightCurve`, :class:`Mosaic`, :class:`Spectrum`.
"""

from oda_widgets.products.catalog import Catalog, CatalogEditor
from oda_widgets.products.collection import (
    BinaryProduct,
    Picture,
    ProductCollection,
    TableProduct,
    Text,
    clean_name,
)
from oda_widgets.products.light_curve import LightCurve
from oda_widgets.products.mosaic import Mosaic
from oda_widgets.products.numpy_product import (
    NumpyProduct,
    decode_numpy_data_product,
    encode_numpy_data_product,
)
from oda_widgets.products.safe_pickle import ALLOWED_NAMES, safe_loads
from oda_widgets.products.spectrum import Spectrum
from oda_widgets.products.wire import loads_response

__all__ = [
    "safe_loads",
    "ALLOWED_NAMES",
    "NumpyProduct",
    "decode_numpy_data_product",
    "encode_numpy_data_product",
    "Catalog",
    "CatalogEditor",
    "ProductCollection",
    "TableProduct",
    "Picture",
    "Text",
    "BinaryProduct",
    "clean_name",
    "LightCurve",
    "Mosaic",
    "Spectrum",
    "loads_response",
]
