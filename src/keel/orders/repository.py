"""Every query on orders. Stock moves are the items domain's
(``keel.items.repository``)."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import selectinload
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from keel.orders.models import CANCELLED, PLACED, Order
from keel_db import Keyset, utcnow

_orders = Order.__table__  # type: ignore[attr-defined]
NEWEST_FIRST = Keyset("-id", col(Order.id), col(Order.id), descending=True)
_WITH_LINES = selectinload(Order.lines)  # type: ignore[arg-type]


async def mark_cancelled(session: AsyncSession, *, order_id: int, user_id: int) -> bool:
    """Placed -> cancelled, once: False if the order is not the user's or not placed."""
    connection = await session.connection()
    result = await connection.execute(
        update(_orders)
        .where(_orders.c.id == order_id, _orders.c.user_id == user_id, _orders.c.status == PLACED)
        .values(status=CANCELLED, updated_at=utcnow())
    )
    return bool(result.rowcount)


async def get_owned(session: AsyncSession, *, order_id: int, user_id: int) -> Order | None:
    """The user's order with its lines (two queries), or None."""
    statement = (
        select(Order)
        .where(Order.id == order_id, Order.user_id == user_id)
        .options(_WITH_LINES)
        .execution_options(populate_existing=True)
    )
    return (await session.exec(statement)).one_or_none()


def list_statement(*, user_id: int) -> SelectOfScalar[Order]:
    """The user's orders with their lines: one query for the page, one for all its lines."""
    return select(Order).where(Order.user_id == user_id).options(_WITH_LINES)
