"""The query form: instrument, product and parameters, checked before they are sent.

``QueryForm(dispatcher, instrument, product)`` builds itself from the dispatcher's description; it
is a view over :class:`FormModel` (widget-free: fields, checks, the request). How a parameter's
value is read and checked is its kind (``register_kind``, :mod:`oda_widgets.form.kinds`); which
control shows it is ``register(predicate, factory)``; checks across fields are ``register_check``.
"""

from oda_widgets.client.protocol import api_code, par_dict_from_code
from oda_widgets.form.checks import Ordered, register_check, unregister_check
from oda_widgets.form.controls import (
    AngleControl,
    BooleanControl,
    CatalogControl,
    Control,
    EnumControl,
    FileURLControl,
    InputListControl,
    IntegerControl,
    LongTextControl,
    NumberControl,
    StructuredControl,
    TextControl,
    TimeControl,
    TimeDeltaControl,
)
from oda_widgets.form.form import QueryForm
from oda_widgets.form.kinds import Kind, kind_for, register_kind, unregister_kind
from oda_widgets.form.memory import LastValues
from oda_widgets.form.model import Field, FormModel
from oda_widgets.form.registry import control_for, has_uri, register, rules, unregister

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
    "api_code",
    "par_dict_from_code",
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
]
