"""Catalog table widget: sort, filter and pick sources of an image catalog in the browser."""

from oda_widgets.catalog.widget import DEFAULT_MIN_SIGNIFICANCE, CatalogTable, as_catalog

__all__ = ["CatalogTable", "as_catalog", "DEFAULT_MIN_SIGNIFICANCE"]
