"""Every query on users and profiles."""

from __future__ import annotations

from tortoise.backends.base.client import BaseDBAsyncClient

from tasks_tortoise.users.models import User, UserProfile
from tasks_tortoise.users.principals import Principal


async def principal(*, user_id: int) -> Principal | None:
    """The active user ``user_id`` as a ``Principal`` (one narrow query), or None."""
    rows = await User.filter(id=user_id, is_active=True).values(
        "id", "username", "is_admin", "password_changed_at"
    )
    if not rows:
        return None
    row = rows[0]
    changed = row["password_changed_at"]
    return Principal(
        id=row["id"],
        username=row["username"],
        is_admin=row["is_admin"],
        tokens_valid_from=0.0 if changed is None else changed.timestamp(),
    )


async def get_with_profile(*, user_id: int) -> tuple[User, UserProfile | None] | None:
    """The user and its profile (two queries), or None."""
    user = await User.get_or_none(id=user_id)
    if user is None:
        return None
    return user, await UserProfile.get_or_none(user_id=user_id)


async def get_by_login(*, login: str) -> User | None:
    """The user whose username, or email (any case), is ``login``."""
    if "@" in login:
        return await User.get_or_none(email=login.lower())
    return await User.get_or_none(username=login)


async def exists(*, user_id: int, using: BaseDBAsyncClient | None = None) -> bool:
    return await User.filter(id=user_id).using_db(using).exists()
