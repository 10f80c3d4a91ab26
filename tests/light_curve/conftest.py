"""Fixtures of the light-curve tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def sent(monkeypatch):
    """Every comm message the kernel sends to the page: (widget, method, state keys)."""
    import ipywidgets

    log = []
    original = ipywidgets.Widget._send

    def record(self, msg, buffers=None):
        log.append((self, msg.get("method"), sorted(msg.get("state", {}))))
        return original(self, msg, buffers=buffers)

    monkeypatch.setattr(ipywidgets.Widget, "_send", record)
    return log
