"""Where the project's shared data lives: ``$ODA_WIDGETS_SHARED``, else ``shared/`` beside the
repository (protocol captures, real INTEGRAL sample files). Import these names in tests and
benchmarks; never write the path out."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("ODA_WIDGETS_SHARED") or ROOT.parent / "shared")
CAPTURES = SHARED / "captures"
SAMPLES = SHARED / "samples"

__all__ = ["ROOT", "SHARED", "CAPTURES", "SAMPLES"]
