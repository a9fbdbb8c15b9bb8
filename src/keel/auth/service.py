"""Checking a password and issuing a token, with sign-in throttling."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from keel.auth import throttle
from keel.auth.schemas import Token
from keel.config import Settings
from keel.users import repository as users
from keel.users.passwords import Passwords
from keel.users.tokens import create_access_token


async def issue_token(
    *,
    session: AsyncSession,
    passwords: Passwords,
    settings: Settings,
    now: datetime,
    login: str,
    password: str,
) -> Token | None:
    """A token for the active user whose username or email is ``login`` and whose
    password matches; None otherwise (the caller must not say which part was wrong).

    Raises ``throttle.LoginThrottledError``, before looking anything up, when ``login``
    has had too many failed attempts lately; a token clears them."""
    key = throttle.login_key(login, secret=settings.jwt_key)
    window = timedelta(seconds=settings.login_failure_window_seconds)
    await throttle.count_attempt(
        session, key=key, now=now, max_failures=settings.login_max_failures, window=window
    )
    user = await users.get_by_login(session, login=login)
    valid = await passwords.verify_async(password, user.hashed_password if user else None)
    if user is None or not valid or not user.is_active:
        return None
    assert user.id is not None
    await throttle.clear_failures(session, key=key, now=now, window=window)
    token, expires_in = create_access_token(
        user_id=user.id,
        key=settings.jwt_key,
        now=now,
        lifetime=timedelta(minutes=settings.access_token_expire_minutes),
    )
    return Token(access_token=token, expires_in=expires_in)
