"""Which control shows which parameter: an ordered list of (predicate, factory) rules.

The first rule whose predicate accepts a ``ParameterSpec`` builds its control. Predicates look at
what the dispatcher tells (ontology URI, units, restrictions, name) or at the parameter's kind
(:mod:`oda_widgets.form.kinds`: how its value is read and checked); ``register`` adds rules,
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
from oda_widgets.form.kinds import kind_for

__all__ = ["Rule", "register", "unregister", "rules", "control_for", "has_uri", "kind_is"]

Predicate = Callable[[ParameterSpec], bool]
Factory = Callable[[ParameterSpec, str], Control]
Rule = tuple[Predicate, Factory]


def has_uri(fragment: str) -> Predicate:
    """Predicate: the parameter's ontology URIs include one ending with ``#<fragment>``."""
    return lambda spec: any(u.rsplit("#", 1)[-1] == fragment for u in spec.owl_uri)


def kind_is(*names: str) -> Predicate:
    """Predicate: the parameter's kind (:func:`oda_widgets.form.kinds.kind_for`) is one of ``names``,
    or a refinement of one (a ``right_ascension`` is an ``angle``: its kind subclasses AngleKind)."""

    def predicate(spec: ParameterSpec) -> bool:
        kind = kind_for(spec)
        return any(getattr(cls, "name", None) in names for cls in type(kind).__mro__)

    return predicate


# Most specific first. The kind (form/kinds.py) says what the value means; the control only how
# it is shown, so the built-in rules follow the kinds (a multi-line box for long strings).
_BUILTIN: list[Rule] = [
    (kind_is("catalog"), CatalogControl),
    (kind_is("input_list"), InputListControl),
    (kind_is("boolean"), BooleanControl),
    (kind_is("enum"), EnumControl),
    (kind_is("time"), TimeControl),
    (kind_is("time_delta"), TimeDeltaControl),
    (kind_is("structured"), StructuredControl),
    (kind_is("integer"), IntegerControl),
    (kind_is("angle"), AngleControl),
    (kind_is("number"), NumberControl),
    (lambda s: kind_for(s).name == "text" and s.kind == "long_string", LongTextControl),
    (kind_is("file_url"), FileURLControl),
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
