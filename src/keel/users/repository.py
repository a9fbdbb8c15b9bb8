"""Every query on users and profiles."""

from __future__ import annotations

from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import joinedload
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from keel.users.models import User
from keel.users.schemas import Principal
from keel_db import Keyset

# SQLModel types the relationship as its value; at runtime it is the attribute.
WITH_PROFILE = joinedload(User.profile)  # type: ignore[arg-type]


def _with_profile() -> SelectOfScalar[User]:
    return select(User).options(WITH_PROFILE)


async def get(session: AsyncSession, *, user_id: int) -> User | None:
    """The user with its profile (one query), or None."""
    return (await session.exec(_with_profile().where(User.id == user_id))).one_or_none()


_users = User.__table__  # type: ignore[attr-defined]
_PRINCIPAL = sa_select(
    _users.c.id, _users.c.username, _users.c.is_admin, _users.c.password_changed_at
).where(
    _users.c.is_active == True  # noqa: E712 - SQL, not Python
)


async def principal(connection: AsyncConnection, *, user_id: int) -> Principal | None:
    """The active user ``user_id`` as a ``Principal`` (one Core query), or None."""
    row = (await connection.execute(_PRINCIPAL.where(_users.c.id == user_id))).first()
    if row is None:
        return None
    changed = row.password_changed_at
    return Principal(
        id=row.id,
        username=row.username,
        is_admin=row.is_admin,
        tokens_valid_from=0.0 if changed is None else changed.timestamp(),
    )


async def exists(session: AsyncSession, *, user_id: int) -> bool:
    statement = select(User.id).where(User.id == user_id)
    return (await session.exec(statement)).first() is not None


async def get_by_login(session: AsyncSession, *, login: str) -> User | None:
    """The user whose username, or email (any case), is ``login``."""
    condition = User.email == login.lower() if "@" in login else User.username == login
    return (await session.exec(select(User).where(condition))).one_or_none()


# Users list in sign-up order.
BY_ID = Keyset(name="id", key=col(User.id), id=col(User.id))


def list_statement() -> SelectOfScalar[User]:
    """All users with their profiles (unordered: ``fetch_page`` orders by ``BY_ID``)."""
    return _with_profile()
