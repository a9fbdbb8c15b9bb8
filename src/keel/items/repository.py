"""Every query on items."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Select
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from keel.items.models import Item
from keel.items.schemas import ItemCreate, ItemSort
from keel_db import Keyset, insert_returning_ids, new_timestamps

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


async def get(session: AsyncSession, *, item_id: int) -> Item | None:
    return (await session.exec(select(Item).where(Item.id == item_id))).one_or_none()


async def insert_many(
    session: AsyncSession, *, owner_id: int, items: Sequence[ItemCreate]
) -> list[int]:
    """Insert ``items`` in multi-row batches; the new ids, in the order sent."""
    stamps = new_timestamps()
    rows = [{**item.model_dump(), "owner_id": owner_id, **stamps} for item in items]
    table = Item.__table__  # type: ignore[attr-defined]
    return await insert_returning_ids(await session.connection(), table, rows)
