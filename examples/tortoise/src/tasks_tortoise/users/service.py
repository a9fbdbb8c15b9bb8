"""Sign-up and leaving. Uniqueness of email and username is the database's: a clash
is an IntegrityError that ``tasks_tortoise.errors`` answers with a 409 naming the
field; nothing is checked first (a SELECT before the INSERT would race)."""

from __future__ import annotations

from datetime import UTC, datetime

from keel_db import NotFoundError
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from tasks_tortoise.users import repository
from tasks_tortoise.users.models import User, UserProfile
from tasks_tortoise.users.passwords import Passwords
from tasks_tortoise.users.schemas import ProfileIn, ProfilePublic, UserCreate, UserPublic

USER_NOT_FOUND = "User not found."


async def sign_up(*, passwords: Passwords, data: UserCreate) -> UserPublic:
    """The user and, if given, its profile, in one transaction."""
    hashed = await passwords.hash_async(data.password.get_secret_value())
    now = datetime.now(UTC)
    async with in_transaction() as connection:
        user = await User.create(
            email=data.email,
            username=data.username,
            full_name=data.full_name,
            hashed_password=hashed,
            created_at=now,
            updated_at=now,
            using_db=connection,
        )
        profile = None
        if data.profile is not None:
            profile = await UserProfile.create(
                user_id=user.id, **_profile_values(data.profile), using_db=connection
            )
    return public(user, profile)


def _profile_values(profile: ProfileIn) -> dict[str, str | None]:
    values = profile.model_dump()
    if values["website"] is not None:
        values["website"] = str(values["website"])
    return values


def public(user: User, profile: UserProfile | None) -> UserPublic:
    return UserPublic(
        id=user.id,
        email=user.email,
        username=user.username,
        full_name=user.full_name,
        is_active=user.is_active,
        is_admin=user.is_admin,
        created_at=user.created_at,
        profile=None if profile is None else ProfilePublic.model_validate(profile),
    )


async def get(*, user_id: int) -> UserPublic:
    found = await repository.get_with_profile(user_id=user_id)
    if found is None:
        raise NotFoundError(USER_NOT_FOUND)
    return public(*found)


async def delete(*, user_id: int) -> None:
    """The user and, by the database's ON DELETE rules, their profile and tasks
    (transfer records keep a null in place of the user)."""
    await User.filter(id=user_id).delete()


async def ensure_exists(*, user_id: int, using: BaseDBAsyncClient | None = None) -> None:
    """``NotFoundError`` unless the user exists, in the users' own words."""
    if not await repository.exists(user_id=user_id, using=using):
        raise NotFoundError(USER_NOT_FOUND)
