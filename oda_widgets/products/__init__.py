"""Dispatcher products decoded into astropy objects (no widget imports).

* :func:`safe_loads` — the restricted unpickler every server pickle goes through;
* :func:`decode_numpy_data_product` / :func:`encode_numpy_data_product` — NumpyDataProduct ⇄ HDUList;
* :class:`Catalog` — the image catalog as an astropy Table, and back to ``selected_catalog``;
* :class:`ProductCollection` — every product of a response, with oda_api-compatible names;
* :func:`loads_response` — a response body (bytes) parsed with the base64 pickles decoded fast;
* typed views :class:`LightCurve`, :class:`Mosaic`, :class:`Spectrum` (and :class:`OgipSpectrum`,
  :class:`FluxSpectrum` for workflow spectra);
* :class:`Annotation` — what a workflow instrument declared each product to be (``prod_uris``);
* :func:`guess_file_type` — what a binary product is, from its first bytes;
* :func:`guess_plot_columns` — which columns of a table to plot against which.
"""

from oda_widgets.products.annotations import Annotation
from oda_widgets.products.catalog import Catalog, CatalogEditor
from oda_widgets.products.collection import (
    BinaryProduct,
    Picture,
    ProductCollection,
    ProgressReport,
    TableProduct,
    Text,
    clean_name,
)
from oda_widgets.products.columns import PlotColumns, guess_plot_columns
from oda_widgets.products.filetypes import FileType, guess_file_type
from oda_widgets.products.flux_spectrum import FluxSpectrum, OgipSpectrum
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
    "ProgressReport",
    "BinaryProduct",
    "Annotation",
    "FileType",
    "guess_file_type",
    "PlotColumns",
    "guess_plot_columns",
    "FluxSpectrum",
    "OgipSpectrum",
    "clean_name",
    "LightCurve",
    "Mosaic",
    "Spectrum",
    "loads_response",
]
