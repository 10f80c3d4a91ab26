"""The query form: instrument, product and parameters, checked before they are sent.

``QueryForm(dispatcher, instrument, product)`` builds itself from the dispatcher's description;
``register(predicate, factory)`` chooses the control of parameters you want shown differently.
"""

from oda_widgets.form.api_code import api_code, par_dict_from_code
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
from oda_widgets.form.memory import LastValues
from oda_widgets.form.registry import control_for, has_uri, register, rules, unregister

__all__ = [
    "QueryForm",
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
