"""The query form: instrument, product and parameters, checked before they are sent.

``QueryForm(dispatcher, instrument, product)`` builds itself from the dispatcher's description; it
is a view over :class:`FormModel` (widget-free: fields, checks, the request). How a parameter's
value is read and checked is its kind (``register_kind``, :mod:`oda_widgets.form.kinds`); which
control shows it is ``register(predicate, factory)``; checks across fields are ``register_check``.

The widget-free parts (model, kinds, checks, remembered values, API code) are imported at once;
the widgets (``QueryForm``, the controls and their registry) on first use, so a script can drive
a ``FormModel`` without ipywidgets being imported.
"""

from __future__ import annotations

import importlib
from typing import Any

from oda_widgets.client.protocol import api_code, par_dict_from_code
from oda_widgets.form.checks import Ordered, register_check, unregister_check
from oda_widgets.form.kinds import Kind, kind_for, register_kind, unregister_kind
from oda_widgets.form.memory import LastValues
from oda_widgets.form.model import Field, FormModel

_CONTROLS = (
    "Control",
    "TextControl",
    "LongTextControl",
    "FileURLControl",
    "NumberControl",
    "IntegerControl",
    "AngleControl",
    "TimeControl",
    "TimeDeltaControl",
    "EnumControl",
    "BooleanControl",
    "StructuredControl",
    "InputListControl",
    "CatalogControl",
)
_LAZY = {
    "QueryForm": "oda_widgets.form.form",
    **{name: "oda_widgets.form.controls" for name in _CONTROLS},
    **{
        name: "oda_widgets.form.registry"
        for name in ("register", "unregister", "rules", "control_for", "has_uri", "kind_is")
    },
}

__all__ = [
    "QueryForm",
    "FormModel",
    "Field",
    "Kind",
    "kind_for",
    "register_kind",
    "unregister_kind",
    "Ordered",
    "register_check",
    "unregister_check",
    "LastValues",
    "register",
    "unregister",
    "rules",
    "control_for",
    "has_uri",
    "kind_is",
    "api_code",
    "par_dict_from_code",
    *_CONTROLS,
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'oda_widgets.form' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
