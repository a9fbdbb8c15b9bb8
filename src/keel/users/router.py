from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, status

from keel.auth.dependencies import AdminUser, CurrentUser, unauthorized
from keel.auth.passwords import PasswordsDep
from keel.users import repository, service
from keel.users.models import User
from keel.users.schemas import UserCreate, UserPublic, UserUpdateAdmin, UserUpdateMe
from keel_db import AsyncSessionDep, Page, PageRequestDep, fetch_page

router = APIRouter(prefix="/users", tags=["users"])

Responses = dict[int | str, dict[str, Any]]
CONFLICT: Responses = {409: {"description": "The email or the username is taken."}}
AUTH: Responses = {401: {"description": "Not signed in."}}
ADMIN: Responses = {**AUTH, 403: {"description": "Not an administrator."}}
NOT_FOUND: Responses = {404: {"description": service.USER_NOT_FOUND}}


@router.post("", status_code=status.HTTP_201_CREATED, responses=CONFLICT)
async def sign_up(
    data: UserCreate, session: AsyncSessionDep, passwords: PasswordsDep
) -> UserPublic:
    """Public sign-up; the optional profile is created in the same transaction."""
    user = await service.sign_up(session=session, passwords=passwords, data=data)
    return UserPublic.model_validate(user)


async def _account(caller: CurrentUser, session: AsyncSessionDep) -> User:
    """The caller's whole account, profile included."""
    user = await repository.get(session, user_id=caller.id)
    if user is None:
        raise unauthorized()
    return user


Account = Annotated[User, Depends(_account)]


@router.get("/me", responses=AUTH)
async def read_me(user: Account) -> UserPublic:
    return UserPublic.model_validate(user)


@router.patch("/me", responses={**AUTH, **CONFLICT})
async def update_me(
    data: UserUpdateMe, user: Account, session: AsyncSessionDep, passwords: PasswordsDep
) -> UserPublic:
    """Change one's own account. A new ``password`` needs ``current_password``."""
    user = await service.update_me(session=session, passwords=passwords, user=user, data=data)
    return UserPublic.model_validate(user)


@router.delete("/me", status_code=status.HTTP_204_NO_CONTENT, responses=AUTH)
async def delete_me(user: Account, session: AsyncSessionDep) -> None:
    await service.delete(session=session, user=user)


@router.get("", responses=ADMIN)
async def list_users(
    _admin: AdminUser, session: AsyncSessionDep, page: PageRequestDep
) -> Page[UserPublic]:
    result = await fetch_page(session, repository.list_statement(), page, repository.BY_ID)
    return Page[UserPublic].model_validate(result.as_dict(), from_attributes=True)


async def _get_or_404(session: AsyncSessionDep, user_id: int) -> User:
    user = await repository.get(session, user_id=user_id)
    if user is None:
        raise service.not_found()
    return user


@router.get("/{user_id}", responses={**ADMIN, **NOT_FOUND})
async def read_user(user_id: int, _admin: AdminUser, session: AsyncSessionDep) -> UserPublic:
    return UserPublic.model_validate(await _get_or_404(session, user_id))


@router.patch("/{user_id}", responses={**ADMIN, **NOT_FOUND, **CONFLICT})
async def update_user(
    user_id: int,
    data: UserUpdateAdmin,
    _admin: AdminUser,
    session: AsyncSessionDep,
    passwords: PasswordsDep,
) -> UserPublic:
    user = await _get_or_404(session, user_id)
    user = await service.update(session=session, passwords=passwords, user=user, data=data)
    return UserPublic.model_validate(user)


@router.delete(
    "/{user_id}", status_code=status.HTTP_204_NO_CONTENT, responses={**ADMIN, **NOT_FOUND}
)
async def delete_user(user_id: int, _admin: AdminUser, session: AsyncSessionDep) -> None:
    await service.delete(session=session, user=await _get_or_404(session, user_id))
