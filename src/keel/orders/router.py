from __future__ import annotations

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse

from keel.idempotency.dependencies import IdempotencyHeaderDep, answer
from keel.orders import repository, service
from keel.orders.schemas import OrderCreate, OrderPublic
from keel.responses import AUTH, KEYED_INVALID, conflict, not_found
from keel.users.dependencies import CurrentUser
from keel_db import AsyncSessionDep, Page, PageRequestDep, fetch_page

router = APIRouter(prefix="/orders", tags=["orders"])

NOT_FOUND = {**AUTH, **not_found(service.ORDER_NOT_FOUND)}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=OrderPublic,
    responses={
        **AUTH,
        **not_found("An item does not exist."),
        **conflict("Not enough stock."),
        **KEYED_INVALID,
    },
)
async def place_order(
    data: OrderCreate,
    user: CurrentUser,
    session: AsyncSessionDep,
    keyed: IdempotencyHeaderDep,
) -> OrderPublic | JSONResponse:
    """Buy items: their names and prices are copied onto the lines, their stock is
    taken in the same transaction. Retry-safe with an ``Idempotency-Key``."""
    result = await service.place(
        session, user_id=user.id, data=data, idempotency=keyed.for_body(data)
    )
    return answer(result)


@router.get("", responses=AUTH)
async def list_orders(
    user: CurrentUser, session: AsyncSessionDep, page: PageRequestDep
) -> Page[OrderPublic]:
    """The caller's orders, newest first, lines embedded."""
    statement = repository.list_statement(user_id=user.id)
    result = await fetch_page(session, statement, page, repository.NEWEST_FIRST)
    return result.to_page(OrderPublic)


@router.get("/{order_id}", responses=NOT_FOUND)
async def read_order(order_id: int, user: CurrentUser, session: AsyncSessionDep) -> OrderPublic:
    order = await service.get_owned(session, order_id=order_id, user_id=user.id)
    return OrderPublic.model_validate(order)


@router.post(
    "/{order_id}/cancel",
    responses={**NOT_FOUND, **conflict(service.ALREADY_CANCELLED)},
)
async def cancel_order(order_id: int, user: CurrentUser, session: AsyncSessionDep) -> OrderPublic:
    """Cancel the order and give its stock back, exactly once."""
    return await service.cancel(session, user_id=user.id, order_id=order_id)
