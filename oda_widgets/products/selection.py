"""Which rows of a source catalog a cut keeps — one rule for the product model, the catalog table,
the mosaic overlay and the browser.

The cut is oda_api's quick-look one (``OdaImage.extract_catalog_from_image(det_sigma,
include_new_sources)``): ``significance >= min_significance`` (NaN never passes) and, when NEW
sources are excluded, no source whose name contains ``NEW`` (case-sensitive: the INTEGRAL
pipelines name new detections ``NEW_1``…); plus ours, a case-insensitive name search. Rows the
user flagged as objects of interest (``FLAG > 0``, given as ``kept``) pass the cut and the NEW
filter, as oda_api's ``add_objects_of_interest`` adds them after its cut; the search still applies.

``js/catalog.js`` (``filterRows``, ``isNewSource``) is this rule's twin in the browser, where the
slider works without a kernel round trip. ``js/tests/selection_cases.json`` holds cases whose
expected rows this module computed; ``js/tests/selection.test.mjs`` checks the twin against them
and ``tests/catalog/test_selection_twin.py`` checks that the file is still what this rule says.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

__all__ = [
    "NEW_SOURCE_MARK",
    "source_name",
    "is_new_source",
    "flagged_rows",
    "selection_mask",
    "selected_rows",
]

#: What marks a new detection in a source name.
NEW_SOURCE_MARK = "NEW"


def source_name(name: Any) -> str:
    """A catalog name as text (FITS string columns arrive as bytes)."""
    return name.decode("utf-8", "replace") if isinstance(name, bytes) else str(name)


def is_new_source(name: Any) -> bool:
    """True for a new detection (its name contains ``NEW``)."""
    return NEW_SOURCE_MARK in source_name(name)


def flagged_rows(flags: Sequence[float] | np.ndarray | None) -> list[int]:
    """Row ids of objects of interest: a ``FLAG`` column above 0 (None: no such column)."""
    if flags is None:
        return []
    values = np.nan_to_num(np.asarray(flags, dtype=float))
    return [int(i) for i in np.flatnonzero(values > 0)]


def selection_mask(
    significance: Sequence[float] | np.ndarray | None,
    names: Iterable[Any] | None,
    *,
    min_significance: float | None = None,
    exclude_new: bool = False,
    search: str = "",
    kept: Iterable[int] = (),
) -> np.ndarray:
    """Boolean mask of the rows the cut keeps (see the module docstring).

    ``significance`` may be None when there is no significance column (then no cut on it);
    ``names`` None means unnamed rows (then ``exclude_new`` and ``search`` keep nothing but
    rows whose empty name passes). At least one of the two must give the row count.
    """
    sig = None if significance is None else np.asarray(significance, dtype=float)
    texts = None if names is None else [source_name(n) for n in names]
    n = len(sig) if sig is not None else len(texts or [])
    if texts is None:
        texts = [""] * n
    keep = np.ones(n, dtype=bool)
    flagged = np.zeros(n, dtype=bool)
    flagged[[i for i in kept if 0 <= int(i) < n]] = True
    if min_significance is not None and sig is not None:
        with np.errstate(invalid="ignore"):
            keep &= (sig >= float(min_significance)) | flagged
    if exclude_new:
        keep &= np.array([NEW_SOURCE_MARK not in t for t in texts], dtype=bool) | flagged
    needle = (search or "").strip().lower()
    if needle:
        keep &= np.array([needle in t.lower() for t in texts], dtype=bool)
    return keep


def selected_rows(
    significance: Sequence[float] | np.ndarray | None,
    names: Iterable[Any] | None,
    *,
    min_significance: float | None = None,
    exclude_new: bool = False,
    search: str = "",
    kept: Iterable[int] = (),
) -> list[int]:
    """Ascending row ids the cut keeps (what ``js/catalog.js`` ``filterRows`` returns)."""
    mask = selection_mask(
        significance,
        names,
        min_significance=min_significance,
        exclude_new=exclude_new,
        search=search,
        kept=kept,
    )
    return [int(i) for i in np.flatnonzero(mask)]
