from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.security import OAuth2PasswordRequestForm

from keel.auth import service
from keel.auth.schemas import Token
from keel.auth.throttle import LoginThrottledError
from keel.dependencies import NowDep, SettingsDep
from keel.responses import answer
from keel.users.dependencies import unauthorized
from keel.users.passwords import PasswordsDep
from keel_db import AsyncSessionDep

router = APIRouter(prefix="/auth", tags=["auth"])

BAD_LOGIN = "Incorrect username or password."
THROTTLED = "Too many failed sign-in attempts; try again later."


@router.post(
    "/token",
    responses={
        **answer(401, BAD_LOGIN),
        **answer(
            429,
            f"{THROTTLED} The password was not checked; "
            "`Retry-After` says how many seconds to wait.",
        ),
    },
)
async def login_for_token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: AsyncSessionDep,
    passwords: PasswordsDep,
    settings: SettingsDep,
    now: NowDep,
) -> Token:
    """OAuth2 password flow; ``username`` may be the username or the email. After
    ``LOGIN_MAX_FAILURES`` failed attempts for one login within
    ``LOGIN_FAILURE_WINDOW_SECONDS``, the next are refused (429) until that window
    has passed, whatever the password."""
    try:
        token = await service.issue_token(
            session=session,
            passwords=passwords,
            settings=settings,
            now=now,
            login=form.username,
            password=form.password,
        )
    except LoginThrottledError as throttled:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            THROTTLED,
            headers={"Retry-After": str(throttled.retry_after)},
        ) from None
    if token is None:
        raise unauthorized(BAD_LOGIN)
    return token
