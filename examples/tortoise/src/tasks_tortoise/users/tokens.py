"""JWT access tokens (PyJWT, HS256), claim for claim as Keel issues them, so a token
is read the same way by both. The clock is passed in, so tests can move it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

ALGORITHM = "HS256"


class InvalidTokenError(Exception):
    """The token is malformed, tampered with, of another kind or expired."""


def create_access_token(
    *, user_id: int, key: str, now: datetime, lifetime: timedelta
) -> tuple[str, int]:
    """A signed token for ``user_id`` and its lifetime in seconds."""
    claims = {
        "sub": str(user_id),
        "type": "access",
        # Milliseconds: a token issued just after a password change must be told
        # apart from one issued just before it.
        "iat": round(now.timestamp(), 3),
        "exp": int((now + lifetime).timestamp()),
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM), int(lifetime.total_seconds())


@dataclass(frozen=True)
class AccessToken:
    user_id: int
    issued_at: float  # seconds since the epoch


def read_access_token(token: str, *, key: str, now: datetime) -> AccessToken:
    """Whom a valid, unexpired access token names, and when it was issued."""
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            # Times are checked below against the app's clock, not PyJWT's.
            options={
                "require": ["sub", "exp", "iat"],
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except jwt.PyJWTError as error:
        raise InvalidTokenError(str(error)) from error
    if claims.get("type") != "access" or not str(claims["sub"]).isdigit():
        raise InvalidTokenError("not an access token")
    if not isinstance(claims["exp"], int) or claims["exp"] <= now.timestamp():
        raise InvalidTokenError("token expired")
    if not isinstance(claims["iat"], int | float):
        raise InvalidTokenError("malformed issue time")
    return AccessToken(user_id=int(claims["sub"]), issued_at=float(claims["iat"]))
