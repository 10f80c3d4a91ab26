"""Spectrum view (bqplot): ``SpectrumView``; the plotted points via ``count_density``."""

from .view import SpectrumPoints, SpectrumView, count_density

__all__ = ["SpectrumView", "count_density", "SpectrumPoints"]
