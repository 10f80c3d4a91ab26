"""Quick-look analysis without widgets: spectral fits (Sherpa) and light-curve statistics.

* :mod:`oda_widgets.analysis.spectral` — forward-folded χ² fits of ISGRI/JEM-X spectra through
  their RMF/ARF with Sherpa (optional extra ``oda-widgets[fit]``): :func:`fit_spectrum`,
  :func:`fit_spectra` (joint, tied parameters), :class:`SpectralModel`, :class:`SpectralFit`;
* :mod:`oda_widgets.analysis.timing` — light curves: constant and linear fits, fractional
  variability, excess search, hardness ratio (numpy/scipy only).

Importing this package does not import Sherpa; the spectral functions do, when called.
"""

from oda_widgets.analysis.spectral import (
    COMPONENTS,
    FitParameter,
    SpectralFit,
    SpectralModel,
    SpectrumResiduals,
    fit_spectra,
    fit_spectrum,
    sherpa_available,
)
from oda_widgets.analysis.timing import (
    ConstantFit,
    Excess,
    ExcessSearch,
    FractionalVariability,
    HardnessRatio,
    LinearFit,
    find_excesses,
    fit_constant,
    fit_linear,
    fractional_variability,
    hardness_ratio,
)

__all__ = [
    "COMPONENTS",
    "FitParameter",
    "SpectralFit",
    "SpectralModel",
    "SpectrumResiduals",
    "fit_spectra",
    "fit_spectrum",
    "sherpa_available",
    "ConstantFit",
    "Excess",
    "ExcessSearch",
    "FractionalVariability",
    "HardnessRatio",
    "LinearFit",
    "fit_constant",
    "fit_linear",
    "find_excesses",
    "fractional_variability",
    "hardness_ratio",
]
