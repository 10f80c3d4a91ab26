"""Typed errors of oda-widgets.

Every error carries a message a person can act on (``str(err)``); widgets render them in place
instead of raising. The classes mirror what the dispatcher can answer (PROTOCOL §1.4) plus the
few things we refuse on our side (unsafe payloads, expired tokens, invalid field values).
"""

from __future__ import annotations

from typing import Any


class OdaError(Exception):
    """Base class: something the user should read. ``details`` keeps the raw context (redacted)."""

    status_code: int | None = None

    def __init__(
        self, message: str, *, details: dict[str, Any] | None = None, status_code: int | None = None
    ):
        super().__init__(message)
        self.message = message
        self.details = dict(details or {})
        if status_code is not None:
            self.status_code = status_code

    def __str__(self) -> str:
        return self.message


class RequestNotUnderstood(OdaError):
    """HTTP 400: the dispatcher refused a parameter value or the request shape.

    ``parameter`` names the offending parameter when the server's message does, so a form can
    show the message next to that field.
    """

    status_code = 400

    def __init__(self, message: str, *, parameter: str | None = None, **kw: Any):
        super().__init__(message, **kw)
        self.parameter = parameter


class Unauthorized(OdaError):
    """HTTP 403: bad/expired token, or roles missing for this product/parameter combination."""

    status_code = 403

    def __init__(self, message: str, *, missing_roles: list[str] | None = None, **kw: Any):
        super().__init__(message, **kw)
        self.missing_roles = list(missing_roles or [])


class TokenExpired(Unauthorized):
    """The token's ``exp`` is in the past: refused before anything is sent."""


class AnalysisFailed(OdaError):
    """HTTP 200 with ``query_status: failed``: the backend ran and failed."""

    def __init__(self, message: str, *, error_message: str = "", debug_message: str = "", **kw: Any):
        super().__init__(message, **kw)
        self.error_message = error_message
        self.debug_message = debug_message


class DispatcherUnavailable(OdaError):
    """502/503/504, connection errors and time-outs that outlasted the retry budget."""


class ServerError(OdaError):
    """HTTP 500 (JSON or Flask's HTML page) or another unexpected status."""


class ResponseTooLarge(ServerError):
    """The dispatcher's answer is larger than the client accepts (``Dispatcher(max_response_bytes=)``).

    ``limit`` is the cap in bytes, ``received`` how much was read before stopping (0 when the
    announced length was refused unread).
    """

    def __init__(self, message: str, *, limit: int | None = None, received: int | None = None, **kw: Any):
        super().__init__(message, **kw)
        self.limit = limit
        self.received = received


class Redirected(OdaError):
    """The dispatcher answered with a redirect: the URL to use instead is ``location``."""

    def __init__(self, message: str, *, location: str | None = None, **kw: Any):
        super().__init__(message, **kw)
        self.location = location


class UnsafePayload(OdaError):
    """A server payload asked to load something outside the numpy/astropy allow-list.

    ``class_name`` is the fully qualified name that was refused; nothing of it ran.
    """

    def __init__(self, message: str, *, class_name: str | None = None, **kw: Any):
        super().__init__(message, **kw)
        self.class_name = class_name


class InvalidParameter(OdaError, ValueError):
    """A value refused on our side before submission (form validation, bad pasted par_dict)."""

    def __init__(self, message: str, *, parameter: str | None = None, **kw: Any):
        super().__init__(message, **kw)
        self.parameter = parameter


class FitUnavailable(OdaError):
    """Spectral fitting was asked for but its library (Sherpa) is not installed.

    The message says how to enable it: ``pip install 'oda-widgets[fit]'``.
    """


class FitFailed(OdaError):
    """A fit could not be done: no channel left in the chosen range, the minimiser failed, a
    parameter value outside its bounds, too few bins for the free parameters."""


__all__ = [
    "OdaError",
    "RequestNotUnderstood",
    "Unauthorized",
    "TokenExpired",
    "AnalysisFailed",
    "DispatcherUnavailable",
    "ServerError",
    "ResponseTooLarge",
    "Redirected",
    "UnsafePayload",
    "InvalidParameter",
    "FitUnavailable",
    "FitFailed",
]
