"""``CurrentUser`` and ``AdminUser``: who is calling, from the bearer token.

They are a ``Principal`` (id, username, is_admin), read with one narrow query per
request; the token is checked against the database every time, so a deactivated
or deleted user is refused at once. A route that needs the full account (with its
profile) loads it itself."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import OAuth2PasswordBearer
from sqlmodel.ext.asyncio.session import AsyncSession

from keel.auth.tokens import InvalidTokenError, read_access_token
from keel.config import Settings
from keel.db import AsyncSessionDep
from keel.dependencies import NowDep, SettingsDep
from keel.users import repository as users
from keel.users.schemas import Principal

TOKEN_URL = "/api/v1/auth/token"  # noqa: S105 - a path, not a secret
oauth2_scheme = OAuth2PasswordBearer(tokenUrl=TOKEN_URL)
optional_oauth2_scheme = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)


def unauthorized(detail: str = "Could not validate credentials.") -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"}
    )


async def get_current_user(
    token: Annotated[str, Depends(oauth2_scheme)],
    session: AsyncSessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> Principal:
    """The active user the token names; 401 for a bad, expired or orphaned token."""
    return await _user_for(token, session=session, settings=settings, now=now)


async def _user_for(
    token: str, *, session: AsyncSession, settings: Settings, now: datetime
) -> Principal:
    try:
        user_id = read_access_token(token, key=settings.jwt_key, now=now)
    except InvalidTokenError:
        raise unauthorized() from None
    principal = await users.principal(session, user_id=user_id)
    if principal is None:  # deleted or deactivated since the token was issued
        raise unauthorized()
    return principal


CurrentUser = Annotated[Principal, Depends(get_current_user)]


async def get_optional_user(
    token: Annotated[str | None, Depends(optional_oauth2_scheme)],
    session: AsyncSessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> Principal | None:
    """The caller on routes anyone may use: None when anonymous, and still a 401 for
    a token that is bad (a client that sends one wants to be recognised)."""
    if token is None:
        return None
    return await _user_for(token, session=session, settings=settings, now=now)


OptionalUser = Annotated[Principal | None, Depends(get_optional_user)]


async def get_admin_user(user: CurrentUser) -> Principal:
    if not user.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "This action needs an administrator.")
    return user


AdminUser = Annotated[Principal, Depends(get_admin_user)]
