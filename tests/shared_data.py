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

#: the ODA ontology nb2service reads offline in the tests
SHARED_ONTOLOGY = SHARED / "nb2workflow" / "ontology.ttl"

#: The workflow runs the session makes once (``workflow_jobs`` in tests/conftest.py): small, quick
#: variants of the shipped products, each a fresh notebook run (nb2service caches by value), and
#: one failure. Tests that need a finished workflow product use these jobs, not runs of their own.
WORKFLOW_RUNS = {
    "lc": ("optical_photometry", "light_curve", {"T2": "2023-09-11T00:00:00", "seed": 7}),
    "images": ("optical_imaging", "sky_images", {"pixels": 64}),
    "sed": ("multiwavelength_sed", "sed", {"detection_sigma": 8.0}),
    "fail": ("optical_photometry", "light_curve", {"src_name": "FAIL_BACKEND"}),
}

__all__ = ["ROOT", "SHARED", "CAPTURES", "SAMPLES", "SHARED_ONTOLOGY", "WORKFLOW_RUNS"]
