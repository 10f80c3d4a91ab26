"""A tiny pickle assembler for hostile payloads: each helper returns opcodes that push one object.

Payloads are written opcode by opcode (protocol 2, plus ADDITEMS/NEWOBJ_EX from 4), so a test can
apply BUILD, SETITEM, APPEND... to whatever an allowed global returns.
"""

from __future__ import annotations

import pickle
from typing import Any

PROTO = b"\x80\x02"
PROTO4 = b"\x80\x04"
MARK = b"("
STOP = b"."
REDUCE = b"R"
BUILD = b"b"
NEWOBJ = b"\x81"
NEWOBJ_EX = b"\x92"
SETITEM = b"s"
SETITEMS = b"u"
APPEND = b"a"
APPENDS = b"e"
ADDITEMS = b"\x90"
TUPLE = b"t"
TUPLE1 = b"\x85"
TUPLE2 = b"\x86"
TUPLE3 = b"\x87"
EMPTY_DICT = b"}"
EMPTY_LIST = b"]"
EMPTY_SET = b"\x8f"
POP = b"0"
NONE = b"N"
OBJ = b"o"


def glob(module: str, name: str) -> bytes:
    """GLOBAL module.name."""
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def inst(module: str, name: str, *args: bytes) -> bytes:
    """INST: module.name(*args) through the protocol-0 opcode (find_class + call)."""
    return MARK + b"".join(args) + b"i" + module.encode() + b"\n" + name.encode() + b"\n"


def val(obj: Any) -> bytes:
    """Plain data (str, numbers, lists, dicts, tuples of those) as opcodes."""
    return pickle.dumps(obj, protocol=2)[2:-1]


def tup(*items: bytes) -> bytes:
    return MARK + b"".join(items) + TUPLE


def lst(*items: bytes) -> bytes:
    return EMPTY_LIST + (MARK + b"".join(items) + APPENDS if items else b"")


def dct(**items: bytes) -> bytes:
    body = b"".join(val(k) + v for k, v in items.items())
    return EMPTY_DICT + (MARK + body + SETITEMS if items else b"")


def call(func: bytes, *args: bytes) -> bytes:
    """REDUCE: func(*args)."""
    return func + tup(*args) + REDUCE


def newobj(cls: bytes, *args: bytes) -> bytes:
    """NEWOBJ: cls.__new__(cls, *args)."""
    return cls + tup(*args) + NEWOBJ


def registry_unit(name: str) -> bytes:
    """What a pickled astropy IrreducibleUnit looks like: _recreate_irreducible_unit(cls, [name], True)."""
    return call(
        glob("astropy.units.core", "_recreate_irreducible_unit"),
        glob("astropy.units.core", "IrreducibleUnit"),
        val([name]),
        val(True),
    )


def payload(*parts: bytes, proto: bytes = PROTO) -> bytes:
    return proto + b"".join(parts) + STOP
