"""The one-flow widget: ``Explorer()`` — query form, job board, results and follow-ups together."""

from oda_widgets.explorer.widget import DISPATCHER_URL_ENV, Explorer

__all__ = ["Explorer", "DISPATCHER_URL_ENV"]
