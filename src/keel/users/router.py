from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status

from keel.responses import ADMIN, AUTH, conflict, not_found
from keel.users import repository, service
from keel.users.dependencies import AdminUser, CurrentUser, DeletionHooks, unauthorized
from keel.users.models import User
from keel.users.passwords import PasswordsDep
from keel.users.schemas import UserCreate, UserPublic, UserUpdateAdmin, UserUpdateMe
from keel_db import AsyncSessionDep, Page, PageRequestDep, fetch_page

router = APIRouter(prefix="/users", tags=["users"])

CONFLICT = conflict("The email or the username is taken.")
NOT_FOUND = not_found(service.USER_NOT_FOUND)


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
async def delete_me(user: Account, session: AsyncSessionDep, also: DeletionHooks) -> None:
    await service.delete(session=session, user=user, also=also)


@router.get("", responses=ADMIN)
async def list_users(
    _admin: AdminUser, session: AsyncSessionDep, page: PageRequestDep
) -> Page[UserPublic]:
    result = await fetch_page(session, repository.list_statement(), page, repository.BY_ID)
    return result.to_page(UserPublic)


@router.get("/{user_id}", responses={**ADMIN, **NOT_FOUND})
async def read_user(user_id: int, _admin: AdminUser, session: AsyncSessionDep) -> UserPublic:
    return UserPublic.model_validate(await service.get(session, user_id=user_id))


@router.patch("/{user_id}", responses={**ADMIN, **NOT_FOUND, **CONFLICT})
async def update_user(
    user_id: int,
    data: UserUpdateAdmin,
    _admin: AdminUser,
    session: AsyncSessionDep,
    passwords: PasswordsDep,
) -> UserPublic:
    user = await service.get(session, user_id=user_id)
    user = await service.update(session=session, passwords=passwords, user=user, data=data)
    return UserPublic.model_validate(user)


@router.delete(
    "/{user_id}", status_code=status.HTTP_204_NO_CONTENT, responses={**ADMIN, **NOT_FOUND}
)
async def delete_user(
    user_id: int, _admin: AdminUser, session: AsyncSessionDep, also: DeletionHooks
) -> None:
    user = await service.get(session, user_id=user_id)
    await service.delete(session=session, user=user, also=also)
