"""``CurrentUser``: who is calling, from the bearer token (401 otherwise)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import OAuth2PasswordBearer

from tasks_tortoise.state import NowDep, StateDep
from tasks_tortoise.users import repository
from tasks_tortoise.users.principals import Principal
from tasks_tortoise.users.tokens import InvalidTokenError, read_access_token

TOKEN_URL = "/api/v1/auth/token"  # noqa: S105 - a path, not a secret
oauth2_scheme = OAuth2PasswordBearer(tokenUrl=TOKEN_URL)


def unauthorized(detail: str = "Could not validate credentials.") -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"}
    )


async def get_current_user(
    token: Annotated[str, Depends(oauth2_scheme)], state: StateDep, now: NowDep
) -> Principal:
    """The active user the token names; 401 for a bad, expired or orphaned token,
    and for one issued before the user's last password change."""
    try:
        access = read_access_token(token, key=state.secret_key, now=now)
    except InvalidTokenError:
        raise unauthorized() from None

    async def load() -> Principal | None:
        return await repository.principal(user_id=access.user_id)

    principal = await state.principals.get(access.user_id, load)
    if principal is None or access.issued_at < principal.tokens_valid_from:
        raise unauthorized()
    return principal


CurrentUser = Annotated[Principal, Depends(get_current_user)]
