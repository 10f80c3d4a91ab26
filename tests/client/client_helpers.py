"""Helpers shared by the client tests (imported by name; ``conftest`` names are ambiguous)."""

from __future__ import annotations

import importlib.util
import itertools
import json
import warnings
from pathlib import Path

from oda_widgets.client import RetryPolicy

ROOT = Path(__file__).resolve().parent.parent.parent

#: Retries that give up within a second, so fault tests stay fast.
FAST_RETRIES = RetryPolicy(max_tries=4, initial=0.05, factor=1.2, cap=0.2)

# tests/conftest.py is imported by pytest as "conftest", a name other conftest files shadow;
# load it under its own name to reach its `real_token` helper and paths.
_spec = importlib.util.spec_from_file_location("_oda_tests_root_conftest", ROOT / "tests" / "conftest.py")
root_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(root_conftest)
CAPTURES = root_conftest.CAPTURES  # $ODA_WIDGETS_SHARED honoured (tests/shared_data.py)

_values = itertools.count(1)


def fresh_p() -> float:
    """A value of ``p`` no other test of the module used: job_id is a hash of the parameters."""
    return round(1 + next(_values) * 0.37, 2)


def real_token(**kw) -> str:
    """A token the real test dispatcher accepts (tests/conftest.py), without PyJWT's warning
    about the short public test secret."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return root_conftest.real_token(**kw)


def capture(name: str):
    """A captured dispatcher response (JSON) from ../shared/captures."""
    return json.loads((CAPTURES / name).read_text())


def capture_bytes(name: str) -> bytes:
    return (CAPTURES / name).read_bytes()
