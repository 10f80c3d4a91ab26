"""Helpers shared by the client tests (imported by name; ``conftest`` names are ambiguous)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

from shared_data import CAPTURES

from oda_widgets.client import RetryPolicy

ROOT = Path(__file__).resolve().parent.parent.parent

#: Retries that give up within a second, so fault tests stay fast.
FAST_RETRIES = RetryPolicy(max_tries=4, initial=0.05, factor=1.2, cap=0.2)

# tests/conftest.py is imported by pytest as "conftest", a name other conftest files shadow;
# load it under its own name to reach its `real_token` helper and paths.

_values = itertools.count(1)


def fresh_p() -> float:
    """A value of ``p`` no other test of the module used: job_id is a hash of the parameters."""
    return round(1 + next(_values) * 0.37, 2)


def capture(name: str):
    """A captured dispatcher response (JSON) from ../shared/captures."""
    return json.loads((CAPTURES / name).read_text())


def capture_bytes(name: str) -> bytes:
    return (CAPTURES / name).read_bytes()
