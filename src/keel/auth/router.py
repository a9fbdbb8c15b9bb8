from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm

from keel.auth import service
from keel.auth.dependencies import unauthorized
from keel.auth.passwords import PasswordsDep
from keel.auth.schemas import Token
from keel.db import AsyncSessionDep
from keel.dependencies import NowDep, SettingsDep

router = APIRouter(prefix="/auth", tags=["auth"])

BAD_LOGIN = "Incorrect username or password."


@router.post("/token", responses={401: {"description": BAD_LOGIN}})
async def login_for_token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: AsyncSessionDep,
    passwords: PasswordsDep,
    settings: SettingsDep,
    now: NowDep,
) -> Token:
    """OAuth2 password flow; ``username`` may be the username or the email."""
    token = await service.issue_token(
        session=session,
        passwords=passwords,
        settings=settings,
        now=now,
        login=form.username,
        password=form.password,
    )
    if token is None:
        raise unauthorized(BAD_LOGIN)
    return token
