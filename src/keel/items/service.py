"""Writes to items. Only the owner changes an item; to anyone else it is a 404."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from keel.items import repository
from keel.items.models import Item
from keel.items.schemas import ItemBulkCreate, ItemBulkResult, ItemCreate, ItemUpdate
from keel_db import (
    NotFoundError,
    add_row,
    change_row,
    delete_row,
    get_or_raise,
    new_timestamps,
    transaction,
)

ITEM_NOT_FOUND = "Item not found."


async def get(session: AsyncSession, *, item_id: int) -> Item:
    return await get_or_raise(session, Item, item_id, detail=ITEM_NOT_FOUND)


async def get_owned(session: AsyncSession, *, item_id: int, owner_id: int) -> Item:
    """The item if ``owner_id`` owns it; to anyone else it does not exist."""
    item = await get(session, item_id=item_id)
    if item.owner_id != owner_id:
        raise NotFoundError(ITEM_NOT_FOUND)
    return item


async def create(session: AsyncSession, *, owner_id: int, data: ItemCreate) -> Item:
    item = Item(**data.model_dump(), owner_id=owner_id, **new_timestamps())
    await add_row(session, item)
    return item


async def replace(session: AsyncSession, *, item: Item, data: ItemCreate) -> Item:
    """PUT: every field takes the value sent (or its default when left out)."""
    await change_row(session, item, data.model_dump())
    return item


async def update(session: AsyncSession, *, item: Item, data: ItemUpdate) -> Item:
    """PATCH: only the fields sent change."""
    await change_row(session, item, data.model_dump(exclude_unset=True))
    return item


async def delete(session: AsyncSession, *, item: Item) -> None:
    await delete_row(session, item)


async def bulk_create(
    session: AsyncSession, *, owner_id: int, data: ItemBulkCreate
) -> ItemBulkResult:
    async with transaction(session):
        ids = await repository.insert_many(session, owner_id=owner_id, items=data.items)
    return ItemBulkResult(created=len(ids), ids=ids)
