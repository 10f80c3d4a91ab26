"""Helpers of the job-status tests (imported by name)."""

from __future__ import annotations

import itertools
import json
import threading
from pathlib import Path

import ipywidgets as widgets

ROOT = Path(__file__).resolve().parent.parent.parent


_values = itertools.count(1)


def fresh_p() -> float:
    """A value of ``p`` no other test used: the real dispatcher's job_id hashes the parameters."""
    return round(3 + next(_values) * 0.41, 2)


def wait_state(status, states, timeout: float = 30.0) -> str:
    """Block until ``status.state`` is one of ``states`` (it is set from the poller's thread)."""
    states = {states} if isinstance(states, str) else set(states)
    reached = threading.Event()

    def check(_change=None):
        if status.state in states:
            reached.set()

    status.observe(check, "state")
    try:
        check()
        if not reached.wait(timeout):
            raise AssertionError(
                f"state stayed {status.state!r} (history {status.history}), "
                f"expected one of {sorted(states)} within {timeout} s"
            )
    finally:
        status.unobserve(check, "state")
    return status.state


def descendants(widget):
    """The widget and every widget inside it."""
    yield widget
    for child in getattr(widget, "children", ()) or ():
        yield from descendants(child)


def widget_state_text(widget) -> str:
    """Every synced trait of the widget tree as one JSON text (what a front end would receive)."""
    states = []
    for w in descendants(widget):
        if isinstance(w, widgets.Widget):
            states.append(w.get_state())
    return json.dumps(states, default=str)


def visible(button) -> bool:
    return button.layout.display != "none"
