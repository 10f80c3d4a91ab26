"""Keeping the user's token out of sight: :func:`redact` replaces it (and anything that looks
like a JWT) by ``<token>`` in whatever is shown, logged or stored.

Used by the client (messages, responses), the product model (``analysis_parameters`` and API
code echoed by the dispatcher) and the widgets; it depends on nothing else of the package.

Log records too: :func:`protect_logs` puts :data:`TOKEN_FILTER` on urllib3's, requests', the
demo servers' and every oda_widgets logger, so a ``token=...`` query string, a JWT or a token in
use never reaches a log handler (urllib3 logs every request line at DEBUG level).
"""

from __future__ import annotations

import logging
import re
import threading
from pathlib import Path
from typing import Any

__all__ = [
    "redact",
    "redact_text",
    "remember_token",
    "protect_logs",
    "TokenFilter",
    "TOKEN_FILTER",
    "REDACTED",
    "JWT_PATTERN",
]

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


def _redact_text(text: str, secret: str | None) -> str:
    if secret and secret in text:
        text = text.replace(secret, REDACTED)
    if "eyJ" in text:
        text = JWT_PATTERN.sub(REDACTED, text)
    return text


def _redact(obj: Any, secret: str | None) -> Any:
    # Iterative, not recursive: server answers may nest deeper than Python's recursion limit.
    def leaf(value: Any) -> Any:
        return _redact_text(value, secret) if isinstance(value, str) else value

    if not isinstance(obj, (dict, list, tuple)):
        return leaf(obj)
    root: list[Any] = [None]
    # (source, copy under construction, where the finished copy goes: (container, key))
    stack: list[tuple[Any, Any, tuple[Any, Any]]] = []
    pending_tuples: list[tuple[list[Any], tuple[Any, Any]]] = []

    def open_(source: Any, slot: tuple[Any, Any]) -> None:
        copy: Any = {} if isinstance(source, dict) else []
        slot[0][slot[1]] = copy
        stack.append((source, copy, slot))

    open_(obj, (root, 0))
    while stack:
        source, copy, slot = stack.pop()
        if isinstance(source, dict):
            for key, value in source.items():
                new_key = leaf(key) if isinstance(key, str) else key
                if key == "token" and isinstance(value, str) and value:
                    copy[new_key] = REDACTED
                elif isinstance(value, (dict, list, tuple)):
                    copy[new_key] = None
                    open_(value, (copy, new_key))
                else:
                    copy[new_key] = leaf(value)
        else:
            for value in source:
                if isinstance(value, (dict, list, tuple)):
                    copy.append(None)
                    open_(value, (copy, len(copy) - 1))
                else:
                    copy.append(leaf(value))
        if isinstance(source, tuple):
            # its nested copies are filled in later: the tuple is made once they all are
            pending_tuples.append((copy, slot))
    for copy, slot in reversed(pending_tuples):
        slot[0][slot[1]] = tuple(copy)
    return root[0]


# -- log records ------------------------------------------------------------------------------

_TOKEN_PARAM = re.compile(r"(?i)((?:^|[?&;\s\"'(,])token=)([^&\s\"'#;,)]+)")
_live_tokens: set[str] = set()
_live_lock = threading.Lock()


def remember_token(token: str | None) -> None:
    """Also redact this exact token from log records (for tokens that are not JWTs)."""
    if isinstance(token, str) and len(token.strip()) >= 8:
        with _live_lock:
            _live_tokens.add(token.strip())


def redact_text(text: str) -> str:
    """``text`` with ``token=...`` values, JWTs and the tokens in use replaced by ``<token>``."""
    if not isinstance(text, str):
        return text
    if "token=" in text.lower():
        text = _TOKEN_PARAM.sub(lambda m: m.group(1) + REDACTED, text)
    with _live_lock:
        tokens = list(_live_tokens)
    for token in tokens:
        if token in text:
            text = text.replace(token, REDACTED)
    if "eyJ" in text:
        text = JWT_PATTERN.sub(REDACTED, text)
    return text


class TokenFilter(logging.Filter):
    """Replaces tokens in a log record's message and traceback text (never drops a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken record is the logging module's business, not ours
            return True
        clean = redact_text(message)
        if clean != message:
            record.msg, record.args = clean, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        return True


TOKEN_FILTER = TokenFilter("oda-widgets tokens")

#: Third-party loggers that see request URLs (urllib3 logs "GET /path?query", werkzeug and
#: waitress log request lines of servers).
_THEIR_LOGGERS = (
    "urllib3",
    "urllib3.connectionpool",
    "urllib3.connection",
    "urllib3.poolmanager",
    "urllib3.response",
    "urllib3.util.retry",
    "requests",
    "werkzeug",
    "waitress",
    "waitress.queue",
)
_protected = False


def protect_logs() -> None:
    """Put :data:`TOKEN_FILTER` on urllib3's, requests', werkzeug's, waitress' and every
    oda_widgets logger (idempotent). A filter only applies to the logger it is on, not to its
    children, so each of our modules' loggers gets it by name, imported yet or not."""
    global _protected
    if _protected:
        return
    package = Path(__file__).resolve().parent
    names = {"oda_widgets", "oda_widgets.demo.requests", *_THEIR_LOGGERS}
    for path in package.rglob("*.py"):
        parts = path.relative_to(package.parent).with_suffix("").parts
        names.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    for name in sorted(names):
        logger = logging.getLogger(name)
        if TOKEN_FILTER not in logger.filters:
            logger.addFilter(TOKEN_FILTER)
    _protected = True
