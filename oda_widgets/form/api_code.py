"""'API code' both ways: oda_api code for a par_dict, and the par_dict of pasted code.

Pasted code is the user's own text: it is parsed with ``ast.parse`` and only the literal values of
the ``par_dict`` (or of ``get_product(...)`` keywords) are read with ``ast.literal_eval`` — the
code is never executed. A value that is not a literal (``os.environ['ODA_TOKEN']``) is skipped for
``token`` and reported for anything else.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping
from typing import Any

from oda_widgets.errors import InvalidParameter

__all__ = ["api_code", "par_dict_from_code", "py_literal"]

# Keys the API code drops (PROTOCOL §7).
_DROPPED = ("job_id", "query_status", "session_id", "use_resolver[local]", "use_scws", "token")


def py_literal(value: Any, indent: int = 4, level: int = 1) -> str:
    """Python source for a JSON-like value (``True``/``None``, not ``true``/``null``)."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(py_literal(v, indent, level + 1) for v in value) + "]"
    if isinstance(value, Mapping):
        return (
            "{"
            + ", ".join(f"{json.dumps(str(k))}: {py_literal(v, indent, level + 1)}" for k, v in value.items())
            + "}"
        )
    return json.dumps(str(value))


def api_code(
    par_dict: Mapping[str, Any], url: str, *, with_token: bool = False, query_type: str | None = None
) -> str:
    """oda_api code that asks ``url`` for the same product as ``par_dict``.

    Like the dispatcher's own API code: keys sorted, ``product_type`` renamed ``product`` and the
    query type passed as ``product_type``. The token is never written: with ``with_token`` the
    code reads it from ``os.environ['ODA_TOKEN']``.
    """
    d = {k: v for k, v in par_dict.items() if k not in _DROPPED}
    if "product_type" in d:
        d["product"] = d.pop("product_type")
    if query_type:
        d["product_type"] = query_type
    lines = [f"    {json.dumps(k)}: {py_literal(d[k])}," for k in sorted(d)]
    if with_token:
        lines.append("    \"token\": os.environ['ODA_TOKEN'],")
    head = ["import os", ""] if with_token else []
    return "\n".join(
        [
            *head,
            "from oda_api.api import DispatcherAPI",
            "",
            f"disp = DispatcherAPI(url={json.dumps(url)}, instrument='mock')",
            "",
            "par_dict = {",
            *lines,
            "}",
            "",
            "data_collection = disp.get_product(**par_dict)",
            "",
        ]
    )


# literal_eval raises TypeError for e.g. {[1]} (unhashable) and RecursionError/MemoryError for
# absurdly nested text; all mean "not a value we can take".
_NOT_LITERAL = (ValueError, TypeError, SyntaxError, RecursionError, MemoryError)


def _literal_items(keys, values, skipped: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in zip(keys, values):
        if k is None:  # {**other}: nothing literal to read
            continue
        try:
            key = ast.literal_eval(k)
        except _NOT_LITERAL:
            continue
        if not isinstance(key, str):
            continue
        try:
            out[key] = ast.literal_eval(v)
        except _NOT_LITERAL:
            skipped.append(key)
    return out


def par_dict_from_code(text: str) -> tuple[dict[str, Any], list[str]]:
    """(par_dict, names whose value was not a literal) read from pasted API code.

    Understands ``par_dict = {...}`` followed by ``get_product(**par_dict)``, a
    ``get_product(instrument=..., ...)`` call with keywords, or a bare dict literal.
    """
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        raise InvalidParameter(
            f"The pasted code is not valid Python (line {exc.lineno}: {exc.msg})"
        ) from None
    except (RecursionError, MemoryError, ValueError) as exc:  # absurd nesting, NUL bytes
        raise InvalidParameter(f"The pasted code cannot be read ({type(exc).__name__})") from None
    skipped: list[str] = []
    found: dict[str, Any] = {}
    seen_any = False
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Dict)
            and any(isinstance(t, ast.Name) and t.id == "par_dict" for t in node.targets)
        ):
            found.update(_literal_items(node.value.keys, node.value.values, skipped))
            seen_any = True
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, (ast.Attribute, ast.Name))
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "get_product"
        ):
            kws = [kw for kw in node.keywords if kw.arg is not None]
            found.update(
                _literal_items([ast.Constant(kw.arg) for kw in kws], [kw.value for kw in kws], skipped)
            )
            seen_any = seen_any or bool(kws)
    if not seen_any:
        body = tree.body
        if len(body) == 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Dict):
            found.update(_literal_items(body[0].value.keys, body[0].value.values, skipped))
            seen_any = True
    if not seen_any:
        raise InvalidParameter(
            "No par_dict found in the pasted text: paste the API code "
            "(par_dict = {...}) or a dict of parameters."
        )
    return found, skipped
