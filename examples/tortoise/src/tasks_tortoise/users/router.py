from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from tasks_tortoise.state import StateDep
from tasks_tortoise.users import service
from tasks_tortoise.users.dependencies import CurrentUser
from tasks_tortoise.users.schemas import UserCreate, UserPublic

router = APIRouter(prefix="/users", tags=["users"])

Responses = dict[int | str, dict[str, Any]]
CONFLICT: Responses = {409: {"description": "The email or the username is taken."}}
AUTH: Responses = {401: {"description": "Not signed in."}}


@router.post("", status_code=status.HTTP_201_CREATED, responses=CONFLICT)
async def sign_up(data: UserCreate, state: StateDep) -> UserPublic:
    """Public sign-up; the optional profile is created in the same transaction."""
    return await service.sign_up(passwords=state.passwords, data=data)


@router.get("/me", responses=AUTH)
async def read_me(user: CurrentUser) -> UserPublic:
    return await service.get(user_id=user.id)


@router.delete("/me", status_code=status.HTTP_204_NO_CONTENT, responses=AUTH)
async def delete_me(user: CurrentUser, state: StateDep) -> None:
    """Leave: the account, its profile and its tasks go."""
    await service.delete(user_id=user.id)
    state.principals.forget(user.id)
