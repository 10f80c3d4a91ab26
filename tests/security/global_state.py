"""A snapshot of the process-wide state a server payload must never change.

``GlobalState.take()`` records the astropy unit registry (every unit's attributes, by identity
and value), the built-in numpy dtypes, the classes and functions the restricted unpickler
hands out, ``sys.modules``, the warnings filters and the logging configuration;
``diff(other)`` lists what differs, as readable lines, and a few unit conversions are checked
by value so a change that keeps identities but alters meaning is caught as well.
"""

from __future__ import annotations

import logging
import math
import sys
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np


def _value_key(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool, type(None))):
        return value
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(id(v) for v in value), repr(value)[:200])
    if isinstance(value, dict):
        return ("dict", tuple((k, id(v)) for k, v in value.items()))
    return (type(value).__name__, id(value))


def _attrs(obj: Any) -> tuple:
    d = getattr(obj, "__dict__", None)
    if d is None:
        return ()
    return tuple(sorted((str(k), _value_key(v)) for k, v in dict(d).items()))


def _units() -> dict[str, Any]:
    from astropy.units.core import get_current_unit_registry

    registry = get_current_unit_registry()
    out = {f"unit {name}": (id(unit), _attrs(unit)) for name, unit in registry.registry.items()}
    out["registry keys"] = tuple(sorted(registry.registry))
    out["registry equivalencies"] = repr(registry.equivalencies)
    return out


def _conversions() -> dict[str, Any]:
    from astropy import units as u

    return {
        "deg→rad": (1 * u.deg).to_value(u.rad),
        "keV→erg": (1 * u.keV).to_value(u.erg),
        "ct/s→1/min": (1 * u.ct / u.s).to_value(u.ct / u.min),
        "mag(AB)": u.Unit("mag(AB)").to_string(),
        "s decomposes to itself": u.s.decompose() is u.s,
        "Unit('ct / s')": u.Unit("ct / s") == u.ct / u.s,
    }


EXPECTED_CONVERSIONS = {
    "deg→rad": math.pi / 180,
    "keV→erg": 1.602176634e-09,
    "ct/s→1/min": 60.0,
    "mag(AB)": "mag(AB)",
    "s decomposes to itself": True,
    "Unit('ct / s')": True,
}


def _dtypes() -> dict[str, Any]:
    out = {}
    for code in np.typecodes["All"]:
        try:
            dt = np.dtype(code)
        except TypeError:
            continue
        out[f"dtype {code}"] = (id(dt), dt.str, dt.byteorder, dt.itemsize, dt.names, dt.metadata, dt.flags)
    return out


def _allowed_objects() -> dict[str, Any]:
    from oda_widgets.products import safe_pickle

    out = {}
    for name in sorted(safe_pickle.ALLOWED_NAMES):
        module, _, attr = name.rpartition(".")
        obj = safe_pickle._resolve((module, attr))
        state = {"attrs": _attrs(obj)}
        for a in ("__code__", "__defaults__", "__kwdefaults__"):
            if hasattr(obj, a):
                state[a] = _value_key(getattr(obj, a))
        out[f"global {name}"] = (id(obj), state)
    return out


def _logging() -> dict[str, Any]:
    manager = logging.Logger.manager
    loggers = {
        name: (lg.level, tuple(id(h) for h in lg.handlers), tuple(id(f) for f in lg.filters), lg.disabled)
        for name, lg in list(manager.loggerDict.items())
        if isinstance(lg, logging.Logger)
    }
    root = logging.getLogger()
    return {
        "root": (root.level, tuple(id(h) for h in root.handlers), tuple(id(f) for f in root.filters)),
        "loggers": loggers,
        "disable": manager.disable,
        "record factory": id(logging.getLogRecordFactory()),
    }


@dataclass
class GlobalState:
    parts: dict[str, Any]

    @classmethod
    def take(cls) -> GlobalState:
        parts: dict[str, Any] = {}
        parts.update(_units())
        parts.update(_dtypes())
        parts.update(_allowed_objects())
        parts["conversions"] = _conversions()
        parts["sys.modules"] = tuple(sorted(sys.modules))
        parts["warnings.filters"] = tuple(map(repr, warnings.filters))
        parts["logging"] = _logging()
        parts["recursion limit"] = sys.getrecursionlimit()
        parts["numpy errstate"] = tuple(sorted(np.geterr().items()))
        parts["numpy printoptions"] = repr(np.get_printoptions())
        return cls(parts)

    def diff(self, other: GlobalState) -> list[str]:
        lines = []
        for key in sorted(set(self.parts) | set(other.parts)):
            a, b = self.parts.get(key), other.parts.get(key)
            if a != b:
                if key == "sys.modules":
                    gained, lost = sorted(set(b or ()) - set(a or ())), sorted(set(a or ()) - set(b or ()))
                    lines.append(f"sys.modules gained {gained} lost {lost}")
                else:
                    lines.append(f"{key}: {str(a)[:300]} → {str(b)[:300]}")
        return lines


def conversions_are_right() -> list[str]:
    now = _conversions()
    wrong = []
    for key, expected in EXPECTED_CONVERSIONS.items():
        value = now[key]
        ok = (
            math.isclose(value, expected, rel_tol=1e-12) if isinstance(expected, float) else value == expected
        )
        if not ok:
            wrong.append(f"{key}: {value!r}, expected {expected!r}")
    return wrong
