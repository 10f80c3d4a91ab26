"""Light-curve view: ``LightCurveView`` on a canvas plot (``LightCurvePlot``, ``js/lightcurve.js``);
screen-resolution decimation in ``decimate``."""

from .decimate import Decimated, decimate, segments
from .plot import LightCurvePlot, PlotSeries
from .view import TIME_FORMATS, LightCurveView

__all__ = [
    "LightCurveView",
    "LightCurvePlot",
    "PlotSeries",
    "TIME_FORMATS",
    "decimate",
    "Decimated",
    "segments",
]
