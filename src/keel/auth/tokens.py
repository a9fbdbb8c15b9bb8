"""JWT access tokens (PyJWT, HS256). The clock is passed in, so tests can move it."""

from __future__ import annotations

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
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM), int(lifetime.total_seconds())


def read_access_token(token: str, *, key: str, now: datetime) -> int:
    """The user id a valid, unexpired access token names."""
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
    return int(claims["sub"])
