"""Checks across fields (T1 before T2, E1_keV below E2_keV), run after each field is valid alone.

A check is a callable ``check(fields, read) -> {parameter: message}``: ``fields`` are the
product's fields that are valid on their own (name → :class:`~oda_widgets.form.model.Field`, with
``spec``, ``instrument`` and ``kind``), ``read(field)`` their value. A check that needs a field the
product lacks (or one that is wrong already) says nothing. Adding one is one entry::

    def time_bin_at_least_a_second(fields, read):
        tb = fields.get("time_bin")
        if tb is not None and tb.instrument == "isgri" and tb.format == "sec" and read(tb) < 1:
            return {"time_bin": "ISGRI light curves need time_bin ≥ 1 s"}
        return {}

    register_check(time_bin_at_least_a_second)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from oda_widgets.errors import InvalidParameter

if TYPE_CHECKING:
    from oda_widgets.form.model import Field

__all__ = ["Check", "Ordered", "register_check", "unregister_check", "checks"]

Check = Callable[[Mapping[str, "Field"], Callable[["Field"], Any]], dict[str, str]]


@dataclass(frozen=True)
class Ordered:
    """``second`` must come after (times) or above (numbers) ``first``; the message is at ``second``."""

    first: str
    second: str

    def __call__(self, fields: Mapping[str, Field], read: Callable[[Field], Any]) -> dict[str, str]:
        a, b = fields.get(self.first), fields.get(self.second)
        if a is None or b is None:
            return {}
        try:
            x, y = read(a), read(b)
            if x is None or y is None:
                return {}
            if a.kind.name == "time" and b.kind.name == "time":
                if not a.kind.order_key(a, x) < b.kind.order_key(b, y):
                    return {self.second: f"{self.second} must be after {self.first}"}
            elif not a.kind.order_key(a, x) < b.kind.order_key(b, y):
                return {self.second: f"{self.second} must be above {self.first} ({x:g})"}
        except (InvalidParameter, TypeError):
            return {}
        return {}


_BUILTIN: list[Check] = [Ordered("T1", "T2"), Ordered("E1_keV", "E2_keV")]
_USER: list[Check] = []


def register_check(check: Check) -> Check:
    """Run ``check`` on every form (after the built-in ones); returns it for :func:`unregister_check`."""
    _USER.append(check)
    return check


def unregister_check(check: Check) -> None:
    """Stop running a check added with :func:`register_check`."""
    _USER.remove(check)


def checks() -> list[Check]:
    """The checks in the order they run."""
    return [*_BUILTIN, *_USER]
