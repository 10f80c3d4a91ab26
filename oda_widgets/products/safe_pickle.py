"""A restricted unpickler for the pickles inside dispatcher responses.

The dispatcher ships FITS data as base64 pickles (PROTOCOL §3.1) and some tables as pickled
astropy ``Table`` objects. A plain ``pickle.loads`` of server data runs whatever callable the
server names, so we load them with an unpickler whose ``find_class`` resolves only the
numpy/astropy data classes those payloads legitimately contain. Anything else raises
:class:`~oda_widgets.errors.UnsafePayload` naming the class, before any of it is called.

A payload must not change anything the process shares either. The pickle machine only changes
objects through a few opcodes (BUILD, SETITEM(S), APPEND(S), ADDITEMS), so the unpickler checks
the object each of them is applied to, at run time:

* never an allowed class or function itself (that would redefine it for everyone);
* SETITEM/APPEND/ADDITEMS only on plain dicts, lists and sets;
* BUILD on a unit or a dtype only if this payload created that object blank (how pickles of
  units and dtypes work). Units are rebuilt from plain data — names for astropy's irreducible
  units, text for ``Unit(...)`` — which gives the registry's own unit for a known name: such a
  shared unit is never built upon (its state is already what the payload would restate), so
  ``deg`` cannot be redefined, and conversions keep working (astropy compares base units by
  identity). ``numpy.dtype`` always answers a copy, never the shared built-in descriptor.

The checks run in the pure-Python unpickler of :mod:`pickle` (its opcode table is extended, not
replaced); on the payloads the dispatcher sends it is about as fast as the C one.
"""

from __future__ import annotations

import importlib
import io
import math
import pickle
import types
from collections.abc import Callable
from typing import Any, ClassVar

from oda_widgets.errors import OdaError, UnsafePayload

__all__ = ["safe_loads", "ALLOWED_NAMES"]


def _refuse(message: str, what: str) -> UnsafePayload:
    return UnsafePayload(f"{message} Nothing of the payload was kept.", class_name=what)


def _latin1_encode(text: str, encoding: str = "latin1", errors: str = "strict") -> bytes:
    # Protocol-2 pickles store bytes as ``_codecs.encode(str, 'latin1')``; only that use is allowed
    # (other codecs would let a payload pick arbitrary transformations).
    if not isinstance(text, str) or encoding.replace("-", "").replace("_", "").lower() != "latin1":
        raise UnsafePayload(
            f"Refused _codecs.encode with encoding {encoding!r}: only latin1 byte strings are allowed.",
            class_name="_codecs.encode",
        )
    return text.encode("latin1", "strict")


def _unit_names(names: Any) -> list[str]:
    if (
        not isinstance(names, (list, tuple))
        or not names
        or not all(isinstance(n, str) and len(n) <= 200 for n in names)
    ):
        raise _refuse("Refused a unit without plain-text names in a server payload.", "unit names")
    return list(names)


def _recreate_unit(cls: Any, names: Any, registered: Any = False) -> Any:
    """Stand-in for astropy's ``_recreate_irreducible_unit(cls, names, registered)``.

    The unit named ``names[0]`` in the registry (looked up, never added), else a new unit of
    that name that stays unregistered: a payload cannot add units to the process.
    """
    from astropy.units.core import IrreducibleUnit, get_current_unit_registry

    if not isinstance(cls, type) or not issubclass(cls, IrreducibleUnit):
        raise _refuse(
            "Refused _recreate_irreducible_unit for a class that is not an irreducible unit.",
            "astropy.units.core._recreate_irreducible_unit",
        )
    names = _unit_names(names)
    known = get_current_unit_registry().registry.get(names[0])
    return known if known is not None else cls(names)


class _Immutable(type):
    """Metaclass of the stand-in below: nothing can set attributes on it."""

    def __setattr__(cls, name: str, value: Any) -> None:
        raise _refuse(f"Refused to modify {cls.__name__} from a server payload.", name)

    def __delattr__(cls, name: str) -> None:
        raise _refuse(f"Refused to modify {cls.__name__} from a server payload.", name)


class _UnitFromText(metaclass=_Immutable):
    """Stand-in for ``astropy.units.core.Unit``.

    Pickles of units create them blank (``NEWOBJ`` without arguments) and fill them with BUILD:
    that gives a new ``Unit``. Called with one unit string, it parses it; anything else (the
    ``represents``/``namespace`` arguments that define new units) is refused.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        from astropy.units.core import Unit

        if not args and not kwargs:
            return Unit.__new__(Unit)
        if len(args) == 1 and not kwargs and isinstance(args[0], str) and len(args[0]) <= 1000:
            return Unit(args[0])
        raise _refuse(
            "Refused astropy.units.core.Unit called with more than a unit string.",
            "astropy.units.core.Unit",
        )


def _dtype(spec: Any, align: Any = False, copy: Any = False) -> Any:
    """Stand-in for ``numpy.dtype``: always a new descriptor (``copy=True``), which the BUILD that
    follows may fill; ``numpy.dtype('f8')`` itself is a process-wide singleton."""
    import numpy as np

    return np.dtype(spec, bool(align), True)


def _reconstruct(subtype: Any, shape: Any, dtype: Any) -> Any:
    """Stand-in for numpy's ``_reconstruct``: pickles of arrays start from an empty placeholder
    (shape ``(0,)``) that BUILD fills; a placeholder of any real size would only allocate memory."""
    from numpy._core.multiarray import _reconstruct as numpy_reconstruct

    if not isinstance(shape, tuple) or math.prod(int(n) for n in shape) > 1:
        raise _refuse(
            f"Refused an array placeholder of shape {shape!r} in a server payload.",
            "numpy._core.multiarray._reconstruct",
        )
    return numpy_reconstruct(subtype, shape, dtype)


# (module, name) as written in a pickle -> (module, attribute) we actually import. Old module
# paths (numpy 1.x ``numpy.core``, ``numpy.chararray``) map to today's location.
_NUMPY = {
    ("numpy", "ndarray"): ("numpy", "ndarray"),
    ("numpy", "record"): ("numpy", "record"),
    ("numpy.core.records", "record"): ("numpy", "record"),
    ("numpy._core.records", "record"): ("numpy", "record"),
    ("numpy.ma.core", "MaskedArray"): ("numpy.ma.core", "MaskedArray"),
    ("numpy.ma.core", "_mareconstruct"): ("numpy.ma.core", "_mareconstruct"),
    ("numpy", "chararray"): ("numpy.char", "chararray"),
    ("numpy.char", "chararray"): ("numpy.char", "chararray"),
}
for _core in ("numpy._core", "numpy.core"):
    _NUMPY[(f"{_core}.multiarray", "_reconstruct")] = ("numpy._core.multiarray", "_reconstruct")
    _NUMPY[(f"{_core}.multiarray", "scalar")] = ("numpy._core.multiarray", "scalar")
    _NUMPY[(f"{_core}.numeric", "_frombuffer")] = ("numpy._core.numeric", "_frombuffer")
    _NUMPY[(f"{_core}.defchararray", "chararray")] = ("numpy.char", "chararray")

_ASTROPY_FITS = {
    ("astropy.io.fits.fitsrec", "FITS_rec"): ("astropy.io.fits.fitsrec", "FITS_rec"),
    ("astropy.utils.compat.numpycompat", "chararray"): ("astropy.utils.compat.numpycompat", "chararray"),
}
for _name in (
    "ColDefs",
    "_AsciiColDefs",
    "Column",
    "_ColumnFormat",
    "_AsciiColumnFormat",
    "_FormatP",
    "_FormatQ",
    "_FormatX",
    "_VLF",
):
    _ASTROPY_FITS[("astropy.io.fits.column", _name)] = ("astropy.io.fits.column", _name)

_ASTROPY_TABLE = {
    ("astropy.table.table", "Table"): ("astropy.table.table", "Table"),
    ("astropy.table.table", "QTable"): ("astropy.table.table", "QTable"),
    ("astropy.table.column", "BaseColumn"): ("astropy.table.column", "BaseColumn"),
    ("astropy.table.column", "Column"): ("astropy.table.column", "Column"),
    ("astropy.table.column", "MaskedColumn"): ("astropy.table.column", "MaskedColumn"),
    ("astropy.units.quantity", "Quantity"): ("astropy.units.quantity", "Quantity"),
    ("astropy.units.structured", "StructuredUnit"): ("astropy.units.structured", "StructuredUnit"),
    ("collections", "OrderedDict"): ("collections", "OrderedDict"),
}
for _name in (
    "UnitBase",
    "NamedUnit",
    "IrreducibleUnit",
    "PrefixUnit",
    "CompositeUnit",
    "UnrecognizedUnit",
):
    _ASTROPY_TABLE[("astropy.units.core", _name)] = ("astropy.units.core", _name)
for _name in ("MagUnit", "DexUnit", "DecibelUnit"):
    _ASTROPY_TABLE[("astropy.units.function.logarithmic", _name)] = (
        "astropy.units.function.logarithmic",
        _name,
    )
for _name in ("IrreducibleFunctionUnit", "RegularFunctionUnit"):
    _ASTROPY_TABLE[("astropy.units.function.mixin", _name)] = ("astropy.units.function.mixin", _name)

# names resolved to a guarded stand-in instead of the real callable
_WRAPPED = {
    ("_codecs", "encode"): _latin1_encode,
    ("astropy.units.core", "_recreate_irreducible_unit"): _recreate_unit,
    ("astropy.units.core", "Unit"): _UnitFromText,
    ("numpy", "dtype"): _dtype,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
}

_TARGETS: dict[tuple[str, str], tuple[str, str]] = {
    k: v for k, v in {**_NUMPY, **_ASTROPY_FITS, **_ASTROPY_TABLE}.items() if k not in _WRAPPED
}

#: every ``module.name`` a payload may reference
ALLOWED_NAMES: frozenset[str] = frozenset(f"{m}.{n}" for m, n in (*_TARGETS, *_WRAPPED))

_resolved: dict[tuple[str, str], Any] = {}


def _resolve(key: tuple[str, str]) -> Any:
    if key in _WRAPPED:
        return _WRAPPED[key]
    if not _resolved:
        # Every allowed module is imported on the first load, whatever the payload names: which
        # modules a process has loaded must not depend on what a server sent.
        for k, (module, attr) in _TARGETS.items():
            _resolved[k] = getattr(importlib.import_module(module), attr)
    return _resolved[key]


_GLOBAL_TYPES = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.MethodType)


def _unit_types() -> tuple[type, ...]:
    from astropy.units.core import UnitBase
    from astropy.units.function.core import FunctionUnitBase
    from astropy.units.structured import StructuredUnit

    return (UnitBase, FunctionUnitBase, StructuredUnit)


# The pure-Python unpickler's own BUILD and INST/OBJ steps, which the guarded ones end with.
_PLAIN_BUILD: Callable[[Any], None] = pickle._Unpickler.dispatch[pickle.BUILD[0]]
_PLAIN_INSTANTIATE: Callable[[Any, Any, list[Any]], None] = vars(pickle._Unpickler)["_instantiate"]


class _RestrictedUnpickler(pickle._Unpickler):
    """Resolves only the allow-listed numpy/astropy names, calls only those, and applies the
    object-changing opcodes only to objects the payload made itself (see the module doc)."""

    dispatch: ClassVar[dict[int, Callable[[Any], None]]] = dict(pickle._Unpickler.dispatch)
    # the pure-Python unpickler's machinery (undocumented, not in its type stubs)
    stack: list[Any]
    append: Callable[[Any], None]
    pop_mark: Callable[[], list[Any]]

    def __init__(self, file: Any, **kwargs: Any):
        super().__init__(file, **kwargs)
        import numpy as np

        self._unit_types = _unit_types()
        self._dtype_type = np.dtype
        self._globals: dict[int, Any] = {}
        # Units and dtypes this payload created blank; kept referenced so no id is reused.
        self._blank: dict[int, Any] = {}

    def find_class(self, module: str, name: str) -> Any:
        key = (module, name)
        if key not in _TARGETS and key not in _WRAPPED:
            raise UnsafePayload(
                f"Refused to load {module}.{name} from a server payload: only numpy/astropy data "
                "classes are allowed, nothing of it was run.",
                class_name=f"{module}.{name}",
            )
        obj = _resolve(key)
        self._globals[id(obj)] = obj
        return obj

    def persistent_load(self, pid: Any) -> Any:
        raise _refuse(
            "Refused a pickle persistent id (persistent_load) in a server payload.", "persistent_load"
        )

    # -- what may be called ----------------------------------------------------------------------

    def _callable(self, func: Any, op: str) -> None:
        if id(func) not in self._globals:
            raise _refuse(f"Refused {op} of a {type(func).__name__} that is not an allowed class.", op)

    def load_reduce(self) -> None:
        stack = self.stack
        args = stack.pop()
        func = stack[-1]
        self._callable(func, "REDUCE")
        if not isinstance(args, tuple):
            raise _refuse("Refused REDUCE with arguments that are not a tuple.", "REDUCE")
        result = func(*args)
        if func is _dtype:
            self._blank[id(result)] = result
        stack[-1] = result

    def _new(self, cls: Any, args: Any, kwargs: Any) -> None:
        self._callable(cls, "NEWOBJ")
        if not isinstance(cls, type):
            raise _refuse("Refused NEWOBJ of something that is not a class.", "NEWOBJ")
        if cls is _UnitFromText and (args or kwargs):
            # NEWOBJ makes blank objects; with arguments Unit's stand-in would parse them and
            # answer a shared unit, which must not count as this payload's own
            raise _refuse("Refused NEWOBJ of astropy.units.core.Unit with arguments.", "NEWOBJ")
        obj = cls.__new__(cls, *args, **kwargs)
        if isinstance(obj, self._unit_types):
            self._blank[id(obj)] = obj
        self.append(obj)

    def load_newobj(self) -> None:
        args = self.stack.pop()
        cls = self.stack.pop()
        self._new(cls, args, {})

    def load_newobj_ex(self) -> None:
        kwargs = self.stack.pop()
        args = self.stack.pop()
        cls = self.stack.pop()
        self._new(cls, args, kwargs)

    def _instantiate(self, klass: Any, args: list[Any]) -> None:
        self._callable(klass, "INST/OBJ")
        _PLAIN_INSTANTIATE(self, klass, args)

    def _refused_extension(self) -> None:
        raise _refuse("Refused a pickle extension code (EXT opcodes) in a server payload.", "EXT")

    # -- what may be changed ---------------------------------------------------------------------

    def _changeable(self, target: Any, op: str) -> None:
        if id(target) in self._globals or isinstance(target, _GLOBAL_TYPES):
            raise _refuse(
                f"Refused a server payload that modifies {getattr(target, '__name__', 'a class')} "
                f"({op} on a global: a class or function).",
                f"{op} on a global",
            )

    def load_build(self) -> None:
        stack = self.stack
        state = stack[-1]
        target = stack[-2]
        self._changeable(target, "BUILD")
        if isinstance(target, (*self._unit_types, self._dtype_type)) and id(target) not in self._blank:
            # A unit or descriptor the process already had (the registry's ``deg``, a built-in
            # dtype): the payload may name it, never change it.
            stack.pop()
            return
        for part in state if isinstance(state, tuple) and len(state) == 2 else (state,):
            if isinstance(part, dict):
                bad = [k for k in part if isinstance(k, str) and k.startswith("__") and k != "__doc__"]
                if bad:
                    raise _refuse(f"Refused a server payload that sets {bad[0]} on an object.", "BUILD")
        _PLAIN_BUILD(self)

    def _container(self, kind: type, op: str) -> Any:
        target = self.stack[-1]
        self._changeable(target, op)
        if not isinstance(target, kind):
            raise _refuse(f"Refused {op} on a {type(target).__name__} in a server payload.", op)
        return target

    def load_setitem(self) -> None:
        stack = self.stack
        value = stack.pop()
        key = stack.pop()
        self._container(dict, "SETITEM")[key] = value

    def load_setitems(self) -> None:
        items = self.pop_mark()
        target = self._container(dict, "SETITEMS")
        for i in range(0, len(items), 2):
            target[items[i]] = items[i + 1]

    def load_append(self) -> None:
        value = self.stack.pop()
        self._container(list, "APPEND").append(value)

    def load_appends(self) -> None:
        items = self.pop_mark()
        self._container(list, "APPENDS").extend(items)

    def load_additems(self) -> None:
        items = self.pop_mark()
        self._container(set, "ADDITEMS").update(items)

    for _op, _method in (
        (pickle.REDUCE, load_reduce),
        (pickle.NEWOBJ, load_newobj),
        (pickle.NEWOBJ_EX, load_newobj_ex),
        (pickle.BUILD, load_build),
        (pickle.SETITEM, load_setitem),
        (pickle.SETITEMS, load_setitems),
        (pickle.APPEND, load_append),
        (pickle.APPENDS, load_appends),
        (pickle.ADDITEMS, load_additems),
        (pickle.EXT1, _refused_extension),
        (pickle.EXT2, _refused_extension),
        (pickle.EXT4, _refused_extension),
    ):
        dispatch[_op[0]] = _method
    del _op, _method


def safe_loads(data: bytes | bytearray) -> Any:
    """The object pickled in ``data``, loaded with only numpy/astropy data classes allowed.

    Raises :class:`UnsafePayload` (with ``class_name``) when the pickle names anything else or
    tries to change something it did not create — nothing of it is kept — and :class:`OdaError`
    when the bytes are not a readable pickle.
    """
    if isinstance(data, str):
        raise TypeError("safe_loads expects bytes (decode the base64 first)")
    try:
        try:
            return _RestrictedUnpickler(io.BytesIO(data)).load()
        except UnicodeDecodeError:
            # pickles written by Python 2 carry 8-bit str objects (numpy array buffers)
            return _RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load()
    except UnsafePayload:
        raise
    except RecursionError:
        raise OdaError("A server payload could not be unpickled: it is nested too deeply.") from None
    except Exception as exc:
        raise OdaError(f"A server payload could not be unpickled: {type(exc).__name__}: {exc}") from exc
