from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from keel.items import repository, service
from keel.items.models import Item
from keel.items.repository import ItemFilters
from keel.items.schemas import (
    ItemBulkCreate,
    ItemBulkResult,
    ItemCreate,
    ItemPublic,
    ItemSort,
    ItemUpdate,
)
from keel.money import NonNegativeMoney
from keel.responses import AUTH, PRECONDITION_FAILED, not_found, owned
from keel.users import service as users
from keel.users.dependencies import CurrentUser
from keel_db import (
    AsyncSessionDep,
    IfMatch,
    InvalidInputError,
    Page,
    PageRequest,
    PageRequestDep,
    ReadSessionDep,
    check_if_match,
    fetch_page,
    set_etag,
)

router = APIRouter(tags=["items"])

NOT_FOUND = not_found(service.ITEM_NOT_FOUND)
OWNED = owned("item")


async def item_filters(
    q: Annotated[
        str | None,
        Query(min_length=1, max_length=255, description="In name or description, any case."),
    ] = None,
    owner_id: Annotated[int | None, Query()] = None,
    min_price: Annotated[NonNegativeMoney | None, Query()] = None,
    max_price: Annotated[NonNegativeMoney | None, Query()] = None,
) -> ItemFilters:
    if min_price is not None and max_price is not None and min_price > max_price:
        raise InvalidInputError(("query", "max_price"), "max_price must not be below min_price")
    return ItemFilters(q=q, owner_id=owner_id, min_price=min_price, max_price=max_price)


Filters = Annotated[ItemFilters, Depends(item_filters)]
Sort = Annotated[ItemSort, Query()]


async def owned_item(item_id: int, user: CurrentUser, session: AsyncSessionDep) -> Item:
    return await service.get_owned(session, item_id=item_id, owner_id=user.id)


OwnedItem = Annotated[Item, Depends(owned_item)]


async def _page(
    session: ReadSessionDep, filters: ItemFilters, page: PageRequest, sort: ItemSort
) -> Page[ItemPublic]:
    result = await fetch_page(
        session, repository.list_statement(filters), page, repository.SORTS[sort]
    )
    return result.to_page(ItemPublic)


@router.post("/items", status_code=status.HTTP_201_CREATED, responses=AUTH)
async def create_item(data: ItemCreate, user: CurrentUser, session: AsyncSessionDep) -> ItemPublic:
    return ItemPublic.model_validate(await service.create(session, owner_id=user.id, data=data))


@router.get("/items")
async def list_items(
    session: ReadSessionDep, page: PageRequestDep, filters: Filters, sort: Sort = ItemSort.NEWEST
) -> Page[ItemPublic]:
    return await _page(session, filters, page, sort)


@router.post("/items/bulk", status_code=status.HTTP_201_CREATED, responses=AUTH)
async def create_items(
    data: ItemBulkCreate, user: CurrentUser, session: AsyncSessionDep
) -> ItemBulkResult:
    """Up to 10 000 items, all or nothing, as multi-row INSERTs."""
    return await service.bulk_create(session, owner_id=user.id, data=data)


@router.get("/items/{item_id}", responses=NOT_FOUND)
async def read_item(item_id: int, session: ReadSessionDep, response: Response) -> ItemPublic:
    item = await service.get(session, item_id=item_id)
    set_etag(response, item.version)
    return ItemPublic.model_validate(item)


@router.put("/items/{item_id}", responses={**OWNED, **PRECONDITION_FAILED})
async def replace_item(
    item: OwnedItem,
    data: ItemCreate,
    session: AsyncSessionDep,
    response: Response,
    if_match: IfMatch = None,
) -> ItemPublic:
    check_if_match(if_match, item.version)
    item = await service.replace(session, item=item, data=data)
    set_etag(response, item.version)
    return ItemPublic.model_validate(item)


@router.patch("/items/{item_id}", responses={**OWNED, **PRECONDITION_FAILED})
async def update_item(
    item: OwnedItem,
    data: ItemUpdate,
    session: AsyncSessionDep,
    response: Response,
    if_match: IfMatch = None,
) -> ItemPublic:
    check_if_match(if_match, item.version)
    item = await service.update(session, item=item, data=data)
    set_etag(response, item.version)
    return ItemPublic.model_validate(item)


@router.delete(
    "/items/{item_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**OWNED, **PRECONDITION_FAILED},
)
async def delete_item(item: OwnedItem, session: AsyncSessionDep, if_match: IfMatch = None) -> None:
    check_if_match(if_match, item.version)
    await service.delete(session, item=item)


@router.get("/users/{user_id}/items", responses=not_found(users.USER_NOT_FOUND))
async def list_user_items(
    user_id: int,
    session: ReadSessionDep,
    page: PageRequestDep,
    filters: Filters,
    sort: Sort = ItemSort.NEWEST,
) -> Page[ItemPublic]:
    """The user's items (the same filters as ``GET /items``; ``owner_id`` is the path's)."""
    await users.ensure_exists(session, user_id=user_id)
    return await _page(session, replace(filters, owner_id=user_id), page, sort)
