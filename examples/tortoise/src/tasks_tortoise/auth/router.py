"""``POST /auth/token``: the OAuth2 password flow, answering as Keel does."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from tasks_tortoise.state import NowDep, StateDep
from tasks_tortoise.users import repository
from tasks_tortoise.users.dependencies import unauthorized
from tasks_tortoise.users.tokens import create_access_token

router = APIRouter(prefix="/auth", tags=["auth"])

BAD_LOGIN = "Incorrect username or password."


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105
    expires_in: int


@router.post("/token", responses={401: {"description": BAD_LOGIN}})
async def login_for_token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], state: StateDep, now: NowDep
) -> Token:
    """``username`` may be the username or the email; a wrong one and a wrong
    password get one and the same 401, after the same work."""
    user = await repository.get_by_login(login=form.username)
    hashed = user.hashed_password if user is not None else None
    valid = await state.passwords.verify_async(form.password, hashed)
    if user is None or not valid or not user.is_active:
        raise unauthorized(BAD_LOGIN)
    token, expires_in = create_access_token(
        user_id=user.id, key=state.secret_key, now=now, lifetime=state.token_lifetime
    )
    return Token(access_token=token, expires_in=expires_in)
