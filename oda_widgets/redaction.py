"""Keeping the user's token out of sight: :func:`redact` replaces it (and anything that looks
like a JWT) by ``<token>`` in whatever is shown, logged or stored.

Used by the client (messages, responses), the product model (``analysis_parameters`` and API
code echoed by the dispatcher) and the widgets; it depends on nothing else of the package.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["redact", "REDACTED", "JWT_PATTERN"]

#: What replaces a token wherever something is shown or logged.
REDACTED = "<token>"

#: A JWT in any text: base64url header and payload that both start with ``{"`` (``eyJ``),
#: then a signature that may be empty (unsigned tokens).
JWT_PATTERN = re.compile(r"eyJ[A-Za-z0-9_-]*\.eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*")


def redact(obj: Any, token: str | None = None) -> Any:
    """A copy of ``obj`` with ``token`` and anything that looks like a JWT replaced by ``<token>``.

    Walks strings, dicts (values and keys), lists and tuples; a dict entry named ``token`` is
    blanked whatever it holds. Other objects are returned as they are.
    """
    secret = token.strip() if isinstance(token, str) and token.strip() else None
    return _redact(obj, secret)


def _redact(obj: Any, secret: str | None) -> Any:
    if isinstance(obj, str):
        if secret and secret in obj:
            obj = obj.replace(secret, REDACTED)
        if "eyJ" in obj:
            obj = JWT_PATTERN.sub(REDACTED, obj)
        return obj
    if isinstance(obj, dict):
        out = {}
        for key, value in obj.items():
            if key == "token" and isinstance(value, str) and value:
                out[key] = REDACTED
            else:
                out[_redact(key, secret) if isinstance(key, str) else key] = _redact(value, secret)
        return out
    if isinstance(obj, list):
        return [_redact(v, secret) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_redact(v, secret) for v in obj)
    return obj
