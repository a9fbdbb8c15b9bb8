"""Rules and transactions for users: sign-up, self-service changes, admin changes.

Uniqueness of email and username is left to the database: a clash raises an
``IntegrityError`` that ``keel_db.errors`` answers with a 409 naming the field.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

from keel.users import repository
from keel.users.models import User, UserProfile
from keel.users.passwords import Passwords
from keel.users.schemas import ProfileIn, UserCreate, UserUpdateAdmin, UserUpdateMe
from keel_db import (
    InvalidInputError,
    NotFoundError,
    get_or_raise,
    new_timestamps,
    transaction,
    utcnow,
)

USER_NOT_FOUND = "User not found."


class UserDeletionHook(Protocol):
    """What another domain does when a user is deleted, for what it keeps of
    theirs where SQL's cascades do not reach (their posts in the document
    database)."""

    async def before_commit(self, session: AsyncSession, user_id: int) -> None:
        """Inside the deleting transaction, after the DELETE: what it writes
        commits with the deletion; an error rolls the deletion back."""

    async def after_commit(self, user_id: int) -> None:
        """Once the deletion has committed; it must not raise."""


def build_user(data: UserCreate, *, hashed_password: str, is_admin: bool = False) -> User:
    """A new, unsaved user (and profile, if given) from sign-up data."""
    user = User(
        email=data.email,
        username=data.username,
        full_name=data.full_name,
        hashed_password=hashed_password,
        is_admin=is_admin,
        **new_timestamps(),
    )
    user.profile = _profile_values(data.profile) if data.profile else None
    return user


def _profile_values(profile: ProfileIn) -> UserProfile:
    return UserProfile(**_profile_changes(profile))


def _profile_changes(profile: ProfileIn) -> dict[str, Any]:
    changes = profile.model_dump(exclude_unset=True)
    if changes.get("website") is not None:
        changes["website"] = str(changes["website"])
    return changes


async def sign_up(*, session: AsyncSession, passwords: Passwords, data: UserCreate) -> User:
    hashed = await passwords.hash_async(data.password.get_secret_value())
    user = build_user(data, hashed_password=hashed)
    async with transaction(session):
        session.add(user)
    return user


async def _apply(
    *,
    session: AsyncSession,
    passwords: Passwords,
    user: User,
    data: UserUpdateMe | UserUpdateAdmin,
) -> User:
    changes = data.model_dump(
        exclude_unset=True, exclude={"password", "current_password", "profile"}
    )
    if data.password is not None:
        changes["hashed_password"] = await passwords.hash_async(data.password.get_secret_value())
        changes["password_changed_at"] = utcnow()
    async with transaction(session):
        for field, value in changes.items():
            setattr(user, field, value)
        if data.profile is not None:
            if user.profile is None:
                user.profile = _profile_values(data.profile)
            else:
                for field, value in _profile_changes(data.profile).items():
                    setattr(user.profile, field, value)
    return user


async def update_me(
    *, session: AsyncSession, passwords: Passwords, user: User, data: UserUpdateMe
) -> User:
    """Change one's own account; a new password needs the current one."""
    if data.password is not None:
        if data.current_password is None:
            raise InvalidInputError(
                ("body", "current_password"), "Field required to change the password", "missing"
            )
        current = data.current_password.get_secret_value()
        if not await passwords.verify_async(current, user.hashed_password):
            raise InvalidInputError(("body", "current_password"), "Current password is incorrect")
    return await _apply(session=session, passwords=passwords, user=user, data=data)


async def update(
    *, session: AsyncSession, passwords: Passwords, user: User, data: UserUpdateAdmin
) -> User:
    """An administrator's change to any account."""
    return await _apply(session=session, passwords=passwords, user=user, data=data)


async def delete(
    *, session: AsyncSession, user: User, also: Sequence[UserDeletionHook] = ()
) -> None:
    """Delete the user; SQL's cascades take what they own there, and each of
    ``also`` what it keeps elsewhere (``UserDeletionHook``)."""
    user_id = user.id
    assert user_id is not None  # a stored user
    async with transaction(session):
        await session.delete(user)
        await session.flush()
        for hook in also:
            await hook.before_commit(session, user_id)
    for hook in also:
        await hook.after_commit(user_id)


async def get(session: AsyncSession, *, user_id: int) -> User:
    """The user with its profile (one query), or ``NotFoundError``."""
    return await get_or_raise(
        session, User, user_id, detail=USER_NOT_FOUND, options=[repository.WITH_PROFILE]
    )


async def ensure_exists(session: AsyncSession, *, user_id: int) -> None:
    """``NotFoundError`` unless the user exists: for another domain that names a
    user (a transfer's recipient, a list of someone's items) and must say so in
    the users' own words."""
    if not await repository.exists(session, user_id=user_id):
        raise NotFoundError(USER_NOT_FOUND)
