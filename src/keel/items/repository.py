"""Every query on items, stock moves included: an order takes and returns stock
through these, never by writing the table itself."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, Update, update
from sqlalchemy import select as sa_select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from keel.items.models import Item
from keel.items.schemas import ItemCreate, ItemSort
from keel_db import Keyset, bumped, insert_returning_ids, new_timestamps, utcnow

_items = Item.__table__  # type: ignore[attr-defined]
_ID = col(Item.id)
SORTS: dict[ItemSort, Keyset] = {
    ItemSort.NEWEST: Keyset(ItemSort.NEWEST, col(Item.created_at), _ID, descending=True),
    ItemSort.OLDEST: Keyset(ItemSort.OLDEST, col(Item.created_at), _ID),
    ItemSort.CHEAPEST: Keyset(ItemSort.CHEAPEST, col(Item.price), _ID),
    ItemSort.DEAREST: Keyset(ItemSort.DEAREST, col(Item.price), _ID, descending=True),
    ItemSort.NAME: Keyset(ItemSort.NAME, col(Item.name), _ID),
}


@dataclass(frozen=True)
class ItemFilters:
    q: str | None = None
    owner_id: int | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None


def list_statement(filters: ItemFilters) -> Select[Any]:
    """Items matching the filters, as Core rows (a hot public read)."""
    statement = sa_select(Item.__table__)  # type: ignore[attr-defined]
    if filters.q:
        statement = statement.where(
            col(Item.name).icontains(filters.q, autoescape=True)
            | col(Item.description).icontains(filters.q, autoescape=True)
        )
    if filters.owner_id is not None:
        statement = statement.where(col(Item.owner_id) == filters.owner_id)
    if filters.min_price is not None:
        statement = statement.where(col(Item.price) >= filters.min_price)
    if filters.max_price is not None:
        statement = statement.where(col(Item.price) <= filters.max_price)
    return statement


async def insert_many(
    session: AsyncSession, *, owner_id: int, items: Sequence[ItemCreate]
) -> list[int]:
    """Insert ``items`` in multi-row batches; the new ids, in the order sent."""
    stamps = new_timestamps()
    rows = [{**item.model_dump(), "owner_id": owner_id, **stamps} for item in items]
    return await insert_returning_ids(await session.connection(), _items, rows)


# --- stock, for orders ------------------------------------------------------------------


async def lock_for_sale(session: AsyncSession, item_ids: Sequence[int]) -> dict[int, Any]:
    """id, name, price and stock of these items (rows, by id), locked until the
    transaction ends, taken in id order (every order locks in the same order: no
    deadlock between two)."""
    connection = await session.connection()
    statement = (
        sa_select(_items.c.id, _items.c.name, _items.c.price, _items.c.stock)
        .where(_items.c.id.in_(item_ids))
        .order_by(_items.c.id)
        .with_for_update()
    )
    return {row.id: row for row in await connection.execute(statement)}


def stock_taken(*, item_id: int, quantity: int) -> Update:
    """The UPDATE that takes ``quantity`` from the item's stock if it has that many
    (it changes no row if not), raising the item's version. A statement, so the
    sync seeding runs the very same one."""
    return (
        update(_items)
        .where(_items.c.id == item_id, _items.c.stock >= quantity)
        .values(stock=_items.c.stock - quantity, updated_at=utcnow(), **bumped(_items))
    )


async def take_stock(session: AsyncSession, *, item_id: int, quantity: int) -> bool:
    """Take ``quantity`` from the item's stock if it has that many; False if not."""
    connection = await session.connection()
    result = await connection.execute(stock_taken(item_id=item_id, quantity=quantity))
    return bool(result.rowcount)


async def return_stock(session: AsyncSession, *, item_id: int, quantity: int) -> None:
    """Put ``quantity`` back (an order cancelled)."""
    connection = await session.connection()
    await connection.execute(
        update(_items)
        .where(_items.c.id == item_id)
        .values(stock=_items.c.stock + quantity, updated_at=utcnow(), **bumped(_items))
    )
