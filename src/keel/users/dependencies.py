"""``CurrentUser`` and ``AdminUser``: who is calling, from the bearer token.

They are a ``Principal`` (id, username, is_admin), read with one narrow query on a
connection of its own (released at once, so a route's own session never waits
behind it) and cached (``keel_db.cache``) until the next committed write to the
users table: a valid token usually costs no query, and a deactivated, demoted or
deleted user is refused by the next request (by every worker when the cache is in
Redis; with the in-process cache, by this worker, and others within the cache's
TTL). A route that needs the full account (with its profile) loads it itself.

They live with the users, not with sign-in (``keel.auth``): every domain, users'
own routes included, asks who is calling, and that is read from the users table;
sign-in builds on users, never the other way round."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer

from keel.context import keel_context
from keel.dependencies import current_time
from keel.users import repository as users
from keel.users.schemas import Principal
from keel.users.service import UserDeletionHook
from keel.users.tokens import InvalidTokenError, read_access_token
from keel_db import Cache, Database, KeelDB

TOKEN_URL = "/api/v1/auth/token"  # noqa: S105 - a path, not a secret


def unauthorized(detail: str = "Could not validate credentials.") -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"}
    )


class BearerCaller(OAuth2PasswordBearer):
    """The bearer token and the caller it names, as one dependency (FastAPI pays a
    resolution step per dependency, and this one runs on nearly every request; the
    clock is read only when a token came). To OpenAPI it is the same OAuth2
    password scheme on every route. ``required``: no token is a 401 (FastAPI's
    own "Not authenticated"); else no token is an anonymous caller, None, while a
    bad token is still a 401 (a client that sends one wants to be recognised)."""

    def __init__(self, *, required: bool) -> None:
        super().__init__(
            tokenUrl=TOKEN_URL, scheme_name="OAuth2PasswordBearer", auto_error=required
        )

    async def __call__(self, request: Request) -> Principal | None:  # type: ignore[override]
        token = await super().__call__(request)
        if token is None:
            return None
        return await _user_for(token, request=request, now=await current_time(request))


async def _user_for(token: str, *, request: Request, now: datetime) -> Principal:
    """The active user the token names; 401 for a bad, expired or orphaned token."""
    # The app's KeelDB directly, not through more dependencies: this runs on nearly
    # every request, and each dependency costs FastAPI a resolution step.
    db = KeelDB.of(request)
    key = keel_context(request).settings.jwt_key
    try:
        access = read_access_token(token, key=key, now=now)
    except InvalidTokenError:
        raise unauthorized() from None
    principal = await _principal(db.database, db.cache, access.user_id)
    if principal is None:  # deleted or deactivated since the token was issued
        raise unauthorized()
    if access.issued_at < principal.tokens_valid_from:  # the password changed since
        raise unauthorized()
    return principal


async def _principal(database: Database, cache: Cache, user_id: int) -> Principal | None:
    async def load() -> dict[str, object] | None:
        async with database.read_engine.connect() as connection:
            found = await users.principal(connection, user_id=user_id)
        return None if found is None else asdict(found)

    # Computed from the users table only: any committed write to it forgets this.
    value = await cache.get_or_compute("principal", str(user_id), load, tables=["users"])
    return None if value is None else Principal(**value)


# The active caller, else 401; and on routes anyone may use, the caller or None.
get_current_user = BearerCaller(required=True)
get_optional_user = BearerCaller(required=False)
CurrentUser = Annotated[Principal, Depends(get_current_user)]
OptionalUser = Annotated[Principal | None, Depends(get_optional_user)]


async def get_admin_user(user: CurrentUser) -> Principal:
    if not user.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "This action needs an administrator.")
    return user


AdminUser = Annotated[Principal, Depends(get_admin_user)]


async def get_user_deletion_hooks(request: Request) -> tuple[UserDeletionHook, ...]:
    """What else goes when a user does, as the app was made with it (``create_app``
    adds the deletion of their posts when those live in the document database)."""
    return keel_context(request).on_user_deletion


DeletionHooks = Annotated[tuple[UserDeletionHook, ...], Depends(get_user_deletion_hooks)]
