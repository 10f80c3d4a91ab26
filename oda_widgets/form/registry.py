"""Which control shows which parameter: an ordered list of (predicate, factory) rules.

The first rule whose predicate accepts a ``ParameterSpec`` builds its control. Predicates look at
what the dispatcher tells (ontology URI, units, restrictions, name); ``register`` adds rules,
ahead of the built-in ones by default, so a notebook can give a parameter its own control::

    from oda_widgets.form import register, TextControl
    register(lambda spec: spec.name == "src_name", MySourcePicker)
"""

from __future__ import annotations

from collections.abc import Callable

from oda_widgets.client.description import ParameterSpec
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

__all__ = ["Rule", "register", "unregister", "rules", "control_for", "has_uri"]

Predicate = Callable[[ParameterSpec], bool]
Factory = Callable[[ParameterSpec, str], Control]
Rule = tuple[Predicate, Factory]


def has_uri(fragment: str) -> Predicate:
    """Predicate: the parameter's ontology URIs include one ending with ``#<fragment>``."""
    return lambda spec: any(u.rsplit("#", 1)[-1] == fragment for u in spec.owl_uri)


def _kind(*kinds: str) -> Predicate:
    return lambda spec: spec.kind in kinds


# Most specific first. Kinds come from owl_uri/units/restrictions/name (see client.description),
# so rules on kind already honour those; the few direct checks cover what kind does not say.
_BUILTIN: list[Rule] = [
    (lambda s: s.name == "selected_catalog" or s.kind == "user_catalog", CatalogControl),
    (_kind("input_prod_list"), InputListControl),
    (_kind("boolean"), BooleanControl),
    (lambda s: bool(s.allowed_values), EnumControl),
    (_kind("time"), TimeControl),
    (_kind("time_delta"), TimeDeltaControl),
    (_kind("structured"), StructuredControl),
    (lambda s: s.schema is not None, StructuredControl),
    (_kind("integer"), IntegerControl),
    (_kind("angle"), AngleControl),
    (_kind("float", "energy", "threshold", "time_interval"), NumberControl),
    (_kind("long_string"), LongTextControl),
    (_kind("file_url"), FileURLControl),
    (lambda s: True, TextControl),
]

_USER: list[Rule] = []


def register(predicate: Predicate, factory: Factory, first: bool = True) -> Rule:
    """Use ``factory(spec, instrument)`` for parameters where ``predicate(spec)`` is true.

    ``first=True`` puts the rule before every rule registered so far (built-ins included);
    ``first=False`` puts it after the user rules but still before the built-ins. Returns the
    rule (give it to ``unregister`` to remove it).
    """
    rule = (predicate, factory)
    if first:
        _USER.insert(0, rule)
    else:
        _USER.append(rule)
    return rule


def unregister(rule: Rule) -> None:
    """Remove a rule added with ``register``."""
    _USER.remove(rule)


def rules() -> list[Rule]:
    """The rules in the order they are tried."""
    return [*_USER, *_BUILTIN]


def control_for(spec: ParameterSpec, instrument: str = "") -> Control:
    """The control of the first rule that accepts ``spec``."""
    for predicate, factory in rules():
        if predicate(spec):
            return factory(spec, instrument)
    return TextControl(spec, instrument)
