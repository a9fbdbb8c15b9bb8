"""The simplest units of work on one ORM row: add it, change it, delete it, each in
its own transaction (committed before the route answers)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from keel_db.session import transaction


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
