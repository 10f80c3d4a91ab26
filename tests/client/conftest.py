"""Fixtures of the client tests: a token for the real dispatcher, a fault proxy in front of it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fault_proxy import FaultProxy
from peers import real_token


@pytest.fixture
def token():
    return real_token()


@pytest.fixture
def proxy(real_dispatcher):
    """A fault proxy in front of the module's real dispatcher (fresh schedule and log per test)."""
    with FaultProxy(real_dispatcher.url) as p:
        yield p
