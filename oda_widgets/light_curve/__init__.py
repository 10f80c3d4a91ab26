"""Light-curve view (bqplot): ``LightCurveView``; screen-resolution decimation in ``decimate``."""

from .decimate import Decimated, decimate, segments
from .view import TIME_FORMATS, LightCurveView

__all__ = ["LightCurveView", "TIME_FORMATS", "decimate", "Decimated", "segments"]
