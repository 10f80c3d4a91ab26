"""A restricted unpickler for the pickles inside dispatcher responses.

The dispatcher ships FITS data as base64 pickles (PROTOCOL §3.1) and some tables as pickled
astropy ``Table`` objects. A plain ``pickle.loads`` of server data runs whatever callable the
server names, so we load them with an unpickler whose ``find_class`` resolves only the
numpy/astropy data classes those payloads legitimately contain. Anything else raises
:class:`~oda_widgets.errors.UnsafePayload` naming the class, before any of it is called.
"""

from __future__ import annotations

import importlib
import io
import pickle
import pickletools
from typing import Any

from oda_widgets.errors import OdaError, UnsafePayload

__all__ = ["safe_loads", "ALLOWED_NAMES"]


def _latin1_encode(text: str, encoding: str = "latin1", errors: str = "strict") -> bytes:
    # Protocol-2 pickles store bytes as ``_codecs.encode(str, 'latin1')``; only that use is allowed
    # (other codecs would let a payload pick arbitrary transformations).
    if not isinstance(text, str) or encoding.replace("-", "").replace("_", "").lower() != "latin1":
        raise UnsafePayload(
            f"Refused _codecs.encode with encoding {encoding!r}: only latin1 byte strings are allowed.",
            class_name="_codecs.encode",
        )
    return text.encode("latin1", "strict")


def _recreate_unit(cls, names, registered):
    # astropy's helper may add an unknown unit to the global registry; a payload must not change
    # process-wide state, so we rebuild the unit without registering it.
    from astropy.units.core import _recreate_irreducible_unit

    return _recreate_irreducible_unit(cls, names, False)


# (module, name) as written in a pickle -> (module, attribute) we actually import. Old module
# paths (numpy 1.x ``numpy.core``, ``numpy.chararray``) map to today's location.
_NUMPY = {
    ("numpy", "ndarray"): ("numpy", "ndarray"),
    ("numpy", "dtype"): ("numpy", "dtype"),
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
    "Unit",
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
}

_TARGETS: dict[tuple[str, str], tuple[str, str]] = {**_NUMPY, **_ASTROPY_FITS, **_ASTROPY_TABLE}

#: every ``module.name`` a payload may reference
ALLOWED_NAMES: frozenset[str] = frozenset(f"{m}.{n}" for m, n in (*_TARGETS, *_WRAPPED))

_resolved: dict[tuple[str, str], Any] = {}


def _resolve(key: tuple[str, str]) -> Any:
    if key in _WRAPPED:
        return _WRAPPED[key]
    obj = _resolved.get(key)
    if obj is None:
        module, attr = _TARGETS[key]
        obj = getattr(importlib.import_module(module), attr)
        _resolved[key] = obj
    return obj


class _RestrictedUnpickler(pickle.Unpickler):
    """Resolves only the allow-listed numpy/astropy names; refuses everything else."""

    def find_class(self, module: str, name: str) -> Any:
        key = (module, name)
        if key not in _TARGETS and key not in _WRAPPED:
            raise UnsafePayload(
                f"Refused to load {module}.{name} from a server payload: only numpy/astropy data "
                "classes are allowed, nothing of it was run.",
                class_name=f"{module}.{name}",
            )
        return _resolve(key)

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePayload(
            "Refused a pickle persistent id (persistent_load) in a server payload.",
            class_name="persistent_load",
        )


_GLOBAL_OPS = {"GLOBAL", "STACK_GLOBAL", "EXT1", "EXT2", "EXT4"}
# opcodes that change the object below their arguments: never allowed on a class or function
_MUTATING_OPS = {"BUILD", "SETITEM", "SETITEMS", "APPEND", "APPENDS", "ADDITEMS"}
_GLOBAL, _MARK = object(), object()


def _scan(data: bytes | bytearray) -> None:
    """Refuse pickles that modify an allow-listed class or function itself.

    ``find_class`` hands out the real classes, and a BUILD (or SETITEM/APPEND…) applied to a class
    rather than to an instance would set attributes on it process-wide. Legitimate data pickles
    never do that; we follow the pickle machine's stack (only "is this a global?") to find it.
    """
    stack: list[Any] = []
    memo: dict[Any, Any] = {}
    for op, arg, _pos in pickletools.genops(data):
        name = op.name
        before = op.stack_before
        if name in _MUTATING_OPS:
            if pickletools.markobject in before:
                # the target sits just below the mark
                idx = len(stack) - 1 - stack[::-1].index(_MARK)
                target = stack[idx - 1] if idx > 0 else None
            else:
                target = stack[-len(before)] if len(stack) >= len(before) else None
            if target is _GLOBAL:
                raise UnsafePayload(
                    f"Refused a server payload that modifies a class ({name} on a "
                    "global): nothing of it was run.",
                    class_name=f"{name} on a global",
                )
        if name in ("MEMOIZE",):
            memo[len(memo)] = stack[-1] if stack else None
            continue
        if name in ("PUT", "BINPUT", "LONG_BINPUT"):
            memo[arg] = stack[-1] if stack else None
            continue
        if name in ("GET", "BINGET", "LONG_BINGET"):
            stack.append(memo.get(arg))
            continue
        if name == "DUP":
            stack.append(stack[-1] if stack else None)
            continue
        if name == "MARK":
            stack.append(_MARK)
            continue
        if pickletools.markobject in before:
            if _MARK in stack:
                idx = len(stack) - 1 - stack[::-1].index(_MARK)
                del stack[idx:]
            n_below = before.index(pickletools.markobject)
            if n_below:
                del stack[-n_below:]
        elif before:
            del stack[-len(before) :]
        for _ in op.stack_after:
            stack.append(_GLOBAL if name in _GLOBAL_OPS else None)


def safe_loads(data: bytes | bytearray) -> Any:
    """The object pickled in ``data``, loaded with only numpy/astropy data classes allowed.

    Raises :class:`UnsafePayload` (with ``class_name``) when the pickle names anything else —
    nothing of it runs — and :class:`OdaError` when the bytes are not a readable pickle.
    """
    if isinstance(data, str):
        raise TypeError("safe_loads expects bytes (decode the base64 first)")
    try:
        _scan(data)
        try:
            return _RestrictedUnpickler(io.BytesIO(data)).load()
        except UnicodeDecodeError:
            # pickles written by Python 2 carry 8-bit str objects (numpy array buffers)
            return _RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load()
    except UnsafePayload:
        raise
    except Exception as exc:
        raise OdaError(f"A server payload could not be unpickled: {type(exc).__name__}: {exc}") from exc
