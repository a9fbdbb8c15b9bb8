"""Every query on orders, and the stock moves they make on items."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import selectinload
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from keel.items.models import Item
from keel.orders.models import CANCELLED, PLACED, Order
from keel_db import Keyset, bumped, utcnow

_items = Item.__table__  # type: ignore[attr-defined]
_orders = Order.__table__  # type: ignore[attr-defined]
NEWEST_FIRST = Keyset("-id", col(Order.id), col(Order.id), descending=True)
_WITH_LINES = selectinload(Order.lines)  # type: ignore[arg-type]


async def lock_items(session: AsyncSession, item_ids: Sequence[int]) -> dict[int, Any]:
    """id, name, price and stock of these items, locked until the transaction ends,
    taken in id order (every order locks in the same order: no deadlock between two)."""
    connection = await session.connection()
    statement = (
        _items.select()
        .with_only_columns(_items.c.id, _items.c.name, _items.c.price, _items.c.stock)
        .where(_items.c.id.in_(item_ids))
        .order_by(_items.c.id)
        .with_for_update()
    )
    return {row.id: row for row in await connection.execute(statement)}


async def take_stock(session: AsyncSession, *, item_id: int, quantity: int) -> bool:
    """Take ``quantity`` from the item's stock if it has that many; False if not."""
    connection = await session.connection()
    result = await connection.execute(
        update(_items)
        .where(_items.c.id == item_id, _items.c.stock >= quantity)
        .values(stock=_items.c.stock - quantity, updated_at=utcnow(), **bumped(_items))
    )
    return bool(result.rowcount)


async def return_stock(session: AsyncSession, *, item_id: int, quantity: int) -> None:
    connection = await session.connection()
    await connection.execute(
        update(_items)
        .where(_items.c.id == item_id)
        .values(stock=_items.c.stock + quantity, updated_at=utcnow(), **bumped(_items))
    )


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
