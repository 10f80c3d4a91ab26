"""oda-widgets: Jupyter widgets for the ODA/MMODA online data analysis service.

The widgets are importable from the top level; each is loaded on first use, so
``import oda_widgets`` stays cheap and the widget-free core (``oda_widgets.client``,
``oda_widgets.products``) never pulls in ipywidgets::

    from oda_widgets import Explorer
    Explorer()                       # demo dispatcher unless $ODA_DISPATCHER_URL is set
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: public name -> module that defines it
_EXPORTS = {
    "Explorer": "oda_widgets.explorer",
    "QueryForm": "oda_widgets.form",
    "JobStatus": "oda_widgets.job_status",
    "JobBoard": "oda_widgets.job_status",
    "LightCurveView": "oda_widgets.light_curve",
    "SpectrumView": "oda_widgets.spectrum",
    "MosaicView": "oda_widgets.mosaic",
    "CatalogTable": "oda_widgets.catalog",
    "results_view": "oda_widgets.results",
    "Dispatcher": "oda_widgets.client",
    "Job": "oda_widgets.client",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'oda_widgets' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
