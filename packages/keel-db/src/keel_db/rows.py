"""The simplest units of work on one ORM row: find it or say it is not there, add
it, change it, delete it, each of the writes in its own transaction (committed
before the route answers)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy.orm.interfaces import ORMOption
from sqlmodel.ext.asyncio.session import AsyncSession

from keel_db.domain_errors import NotFoundError
from keel_db.session import transaction

M = TypeVar("M")


async def get_or_raise(
    session: AsyncSession,
    model: type[M],
    ident: Any,
    *,
    detail: str,
    options: Sequence[ORMOption] = (),
) -> M:
    """The ``model`` row whose primary key is ``ident``, or ``NotFoundError(detail)``
    (a 404 once ``install_error_handlers`` is in place). Written once here so every
    service looks a row up the same way and says "not found" in its own sentence,
    without knowing HTTP. ``options`` are loader options (``joinedload(...)``) for
    what the caller reads next. A row the session already holds is returned as it
    is, without a query (and without applying ``options`` again)."""
    row = await session.get(model, ident, options=options)
    if row is None:
        raise NotFoundError(detail)
    return row


async def add_row(session: AsyncSession, row: Any) -> None:
    async with transaction(session):
        session.add(row)


async def change_row(session: AsyncSession, row: Any, changes: Mapping[str, Any]) -> None:
    """Set each of ``changes`` on ``row`` and commit."""
    async with transaction(session):
        for field, value in changes.items():
            setattr(row, field, value)


async def delete_row(session: AsyncSession, row: Any) -> None:
    async with transaction(session):
        await session.delete(row)
