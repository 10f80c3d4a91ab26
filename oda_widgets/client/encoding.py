"""How parameter values travel to ``/run_analysis`` and back (PROTOCOL §1.3).

The one place that knows the dispatcher's encoding rules. The client uses :func:`encode_params`;
the demo dispatcher uses :func:`decode_params`, which undoes exactly what the real server undoes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

#: An explicit "no value" for an optional parameter: the server maps it back to null.
NUL = "\x00"

#: Above this many characters of JSON the request goes as a form POST (oda_api's rule).
POST_THRESHOLD = 1000

#: Values sent as they are (already strings, or comma/repeated lists) instead of JSON.
_NOT_JSON = ("selected_catalog", "catalog_selected_objects", "scw_list")


def _scalar(value: Any) -> str:
    if value is None:
        return NUL
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def encode_value(name: str, value: Any) -> list[str]:
    """The string(s) sent for one parameter; a list means repeated keys."""
    if value is None:
        return [NUL]
    if name == "scw_list":
        if isinstance(value, str):
            return [value]
        return [str(v) for v in value]
    if name == "selected_catalog":
        # The dispatcher wants the JSON text; a dict given by mistake is serialised for the user.
        if isinstance(value, (dict, list)):
            return [json.dumps(value)]
        to_json = getattr(value, "to_selected_catalog", None)
        return [to_json() if callable(to_json) else str(value)]
    if name == "catalog_selected_objects":
        if isinstance(value, str):
            return [value]
        return [",".join(str(int(v)) for v in value)]
    if isinstance(value, (list, tuple, dict, set)):
        return [json.dumps(sorted(value) if isinstance(value, set) else value)]
    return [_scalar(value)]


def encode_params(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Encode a par_dict as ``(key, value)`` pairs ready for ``requests`` (GET params or POST data).

    A ``None`` token is omitted rather than sent as NUL, as oda_api does.
    """
    pairs: list[tuple[str, str]] = []
    for name, value in params.items():
        if name == "token" and not value:
            continue
        for text in encode_value(name, value):
            pairs.append((name, text))
    return pairs


def should_post(pairs: Iterable[tuple[str, str]]) -> bool:
    """True when ``/run_analysis`` should get its parameters in a POST body: when they carry a
    token (kept out of URLs, so out of proxy and server access logs; dispatchers 1.3.3 and 1.3.6
    read run_analysis parameters from the body too) or are too long for a query string
    (oda_api: JSON length > 1000)."""
    pairs = list(pairs)
    return any(name == "token" for name, _ in pairs) or len(json.dumps(pairs)) > POST_THRESHOLD


def decode_value(name: str, raw: str) -> Any:
    """Server-side reading of one value: NUL → None, JSON lists/dicts parsed, the rest kept as text."""
    if raw == NUL:
        return None
    if name in ("selected_catalog", "catalog_selected_objects"):
        return raw
    try:
        parsed = json.loads(raw)
    except (ValueError, RecursionError):  # not JSON, or nested too deeply to read: kept as text
        return raw
    return parsed if isinstance(parsed, (list, dict)) else raw


def decode_params(multi: Mapping[str, list[str]]) -> dict[str, Any]:
    """Undo :func:`encode_params` as the dispatcher does (``multi`` maps a key to all its values).

    ``scw_list`` may arrive as repeated keys or as one comma-separated string; both give a list.
    """
    out: dict[str, Any] = {}
    for name, values in multi.items():
        values = list(values)
        if name == "scw_list":
            items: list[str] = []
            for v in values:
                if v == NUL:
                    continue
                decoded = decode_value(name, v)
                if isinstance(decoded, list):
                    items.extend(str(x) for x in decoded)
                else:
                    items.extend(s.strip() for s in str(decoded).split(",") if s.strip())
            out[name] = items if values and values != [NUL] else None
            continue
        out[name] = decode_value(name, values[-1]) if values else None
    return out


__all__ = [
    "NUL",
    "POST_THRESHOLD",
    "encode_value",
    "encode_params",
    "should_post",
    "decode_value",
    "decode_params",
]
