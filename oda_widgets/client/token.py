"""The user's ODA token: where it is found, what it says, and keeping it out of sight.

The dispatcher signs its tokens (HS256) with a secret only it knows, so the client reads the
payload *without* verifying the signature (PROTOCOL §8): enough to show who is logged in, which
roles they hold and when the token expires. The server still verifies every request.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from astropy.time import Time

from oda_widgets.errors import InvalidParameter, TokenExpired
from oda_widgets.redaction import JWT_PATTERN, REDACTED, redact

log = logging.getLogger(__name__)

#: Where users are told to get a fresh token.
HOW_TO_GET_A_TOKEN = (
    'Log in at https://www.astro.unige.ch/mmoda/, open your user menu → "API token", copy it, '
    "and pass it as token=... or store it in the ODA_TOKEN environment variable or ~/.oda-token."
)


@dataclass(frozen=True)
class TokenInfo:
    """What a token says about its user. Never shows the token itself.

    ``email`` comes from the ``sub`` claim (the user identity the dispatcher uses), falling back to
    ``email``; ``roles`` is always a list even when the claim is a comma-separated string;
    ``expires`` is an astropy ``Time`` (UTC) or ``None`` for a token without ``exp``.
    """

    email: str | None
    name: str | None
    roles: list[str] = field(default_factory=list)
    expires: Time | None = None
    claims: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_token(cls, token: str) -> TokenInfo:
        """Read the token's payload (no signature check). Raises ``InvalidParameter`` if it is not a JWT."""
        if not isinstance(token, str) or not token.strip():
            raise InvalidParameter("The token is empty: " + HOW_TO_GET_A_TOKEN, parameter="token")
        try:
            claims = jwt.decode(token.strip(), options={"verify_signature": False, "verify_exp": False})
        except jwt.PyJWTError as exc:
            # The exception text never contains the token, only what is wrong with it.
            raise InvalidParameter(
                f"The token is not a readable JWT ({exc}). " + HOW_TO_GET_A_TOKEN, parameter="token"
            ) from None
        if not isinstance(claims, dict):
            raise InvalidParameter("The token's payload is not a JSON object.", parameter="token")
        exp = claims.get("exp")
        expires = None
        if isinstance(exp, (int, float)) and not isinstance(exp, bool):
            expires = Time(float(exp), format="unix", scale="utc")
            expires.format = "iso"
        email = claims.get("sub") or claims.get("email")
        return cls(
            email=str(email) if email else None,
            name=str(claims["name"]) if claims.get("name") else None,
            roles=_roles(claims.get("roles")),
            expires=expires,
            claims=redact(claims),
        )

    @property
    def expiry(self) -> str:
        """When the token expires, ``YYYY-MM-DD hh:mm:ss`` (UTC), or "never"."""
        return "never" if self.expires is None else str(self.expires.iso)[:19]

    @property
    def expired(self) -> bool:
        """True once ``exp`` is in the past (checked now, so a long session notices)."""
        return self.expires is not None and self.expires.unix <= time.time()

    @property
    def remaining(self) -> float | None:
        """Seconds until expiry (negative once expired), ``None`` without ``exp``."""
        return None if self.expires is None else float(self.expires.unix - time.time())

    def has_roles(self, *roles: str) -> bool:
        """True when the token carries every one of ``roles``."""
        return all(r in self.roles for r in roles)

    def __repr__(self) -> str:
        expires = "never" if self.expires is None else f"{self.expires.iso} UTC"
        state = ", expired" if self.expired else ""
        return (
            f"TokenInfo(email={self.email!r}, name={self.name!r}, roles={self.roles!r}, "
            f"expires={expires}{state})"
        )

    __str__ = __repr__


def _roles(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        items: list[Any] = value.split(",")
    elif isinstance(value, (list, tuple, set)):
        items = list(value)
    else:
        items = [value]
    return [str(r).strip() for r in items if str(r).strip()]


def expired_message(info: TokenInfo) -> str:
    """The readable explanation for an expired token: when, and how to get a new one."""
    ago = -(info.remaining or 0.0)
    if ago < 120:
        span = f"{ago:.0f} s ago"
    elif ago < 7200:
        span = f"{ago / 60:.0f} min ago"
    elif ago < 2 * 86400:
        span = f"{ago / 3600:.1f} h ago"
    else:
        span = f"{ago / 86400:.1f} days ago"
    return f"Your ODA token expired on {info.expiry} UTC ({span}); nothing was sent. " + HOW_TO_GET_A_TOKEN


def ensure_valid(token: str | None) -> TokenInfo | None:
    """``TokenInfo`` of ``token`` (``None`` for no token); raises ``TokenExpired`` if it has expired."""
    if not token:
        return None
    info = TokenInfo.from_token(token)
    if info.expired:
        raise TokenExpired(expired_message(info), details={"expires": info.expiry})
    return info


def _candidates() -> Iterator[tuple[str, str]]:
    """(where, token) pairs in oda_api's order; unreadable places are skipped quietly."""
    env = os.environ.get("ODA_TOKEN")
    if env:
        yield "environment variable ODA_TOKEN", env.strip()
    for where in (Path.cwd() / ".oda-token", Path.home() / ".oda-token"):
        try:
            text = where.read_text().strip()
        except OSError:
            continue
        if text:
            yield str(where), text
    context = Path.cwd() / ".oda_api_context"
    try:
        payload = json.loads(context.read_text())
    except (OSError, ValueError):
        return
    if isinstance(payload, dict) and isinstance(payload.get("token"), str) and payload["token"].strip():
        yield str(context), payload["token"].strip()


def discover_token() -> str | None:
    """Find the user's token like oda_api does; the first readable, non-expired one wins.

    Looked up, in order: ``$ODA_TOKEN``, ``./.oda-token``, ``~/.oda-token``, and key ``token`` of
    ``./.oda_api_context``. Returns ``None`` when there is none (public requests only).
    """
    for where, token in _candidates():
        try:
            info = TokenInfo.from_token(token)
        except InvalidParameter:
            log.info("skipping %s: not a readable token", where)
            continue
        if info.expired:
            log.info("skipping %s: token expired on %s UTC", where, info.expiry)
            continue
        log.debug("using the token from %s (%s)", where, info.email)
        return token
    return None


__all__ = [
    "TokenInfo",
    "discover_token",
    "redact",
    "ensure_valid",
    "expired_message",
    "REDACTED",
    "JWT_PATTERN",
    "HOW_TO_GET_A_TOKEN",
]
