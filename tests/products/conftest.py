"""Fixtures of the product-model tests: the real sample files and captured responses."""

from __future__ import annotations

from pathlib import Path

import pytest
from _products_helpers import CAPTURES, SAMPLES


@pytest.fixture(scope="session")
def samples() -> Path:
    assert SAMPLES.is_dir(), SAMPLES
    return SAMPLES


@pytest.fixture(scope="session")
def captures() -> Path:
    assert CAPTURES.is_dir(), CAPTURES
    return CAPTURES
