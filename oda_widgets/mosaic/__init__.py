"""Mosaic (sky image) viewer with a catalog overlay, linked to a CatalogTable."""

from oda_widgets.mosaic.widget import EXTENSION_ORDER, REMOTE_PIXELS, MosaicView, link, wcs_to_dict

__all__ = ["MosaicView", "link", "wcs_to_dict", "EXTENSION_ORDER", "REMOTE_PIXELS"]
