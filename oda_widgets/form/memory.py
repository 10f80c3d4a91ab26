"""The last values a user submitted, per instrument and product, in a small JSON file.

Kept in oda-widgets' cache directory (:func:`oda_widgets.cache.cache_dir`). Only product
parameters are kept: never the token nor ``selected_catalog`` (it belongs to the image it came
from), nor any other bookkeeping key (:data:`oda_widgets.client.protocol.NOT_FORWARDED`).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from oda_widgets.cache import cache_dir
from oda_widgets.client.protocol import NOT_FORWARDED
from oda_widgets.errors import OdaError

__all__ = ["LastValues", "default_path"]


def default_path() -> Path:
    """``<cache dir>/form-last-values.json``."""
    return cache_dir() / "form-last-values.json"


class LastValues:
    """``load(instrument, product)`` / ``save(instrument, product, values)`` on one JSON file."""

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path is not None else default_path()

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}  # missing or damaged: start afresh rather than break the form
        return data if isinstance(data, dict) else {}

    def load(self, instrument: str, product: str) -> dict[str, Any] | None:
        """The values saved for this product, or None."""
        entry = self._read().get(f"{instrument}/{product}")
        return dict(entry) if isinstance(entry, dict) else None

    def save(self, instrument: str, product: str, values: Mapping[str, Any]) -> None:
        """Remember ``values`` (minus token and catalog) for this product."""
        data = self._read()
        data[f"{instrument}/{product}"] = {k: v for k, v in values.items() if k not in NOT_FORWARDED}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".form-", suffix=".json")
            with os.fdopen(fd, "w") as f:
                json.dump(data, f, indent=1)
            os.replace(tmp, self.path)  # atomic: two kernels never leave a half-written file
        except OSError as exc:  # a read-only or full disk must not undo the submission
            raise OdaError(f"Could not remember the values in {self.path}: {exc}") from None
