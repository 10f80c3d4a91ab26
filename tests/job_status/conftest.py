"""Fixtures of the job-status tests: a private resume store per test."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
# The client tests' fault proxy (502/503 between us and a server), reused as it is.
sys.path.append(str(Path(__file__).parent.parent / "client"))


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch):
    """Every test gets its own resume store (never the user's ~/.cache)."""
    directory = tmp_path / "cache"
    monkeypatch.setenv("ODA_WIDGETS_CACHE_DIR", str(directory))
    return directory
