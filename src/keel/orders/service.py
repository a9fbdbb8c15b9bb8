"""Placing and cancelling orders: stock and order change in one transaction.

Stock is taken by a conditional UPDATE (``stock >= quantity``) on rows locked in
item-id order, so two buyers can never take the same last unit and two orders
never deadlock; those stock moves are the items domain's (``keel.items.repository``).
An unknown item is a 404 and short stock a 409, and then nothing at all has changed."""

from __future__ import annotations

from decimal import Decimal
from http import HTTPStatus

from sqlmodel.ext.asyncio.session import AsyncSession

from keel.idempotency.service import Idempotency, StoredAnswer, run_once
from keel.items import repository as items
from keel.orders import repository
from keel.orders.models import Order, OrderLine
from keel.orders.schemas import OrderCreate, OrderPublic
from keel_db import ConflictError, NotFoundError, retrying

ORDER_NOT_FOUND = "Order not found."
ALREADY_CANCELLED = "The order is already cancelled."


async def get_owned(session: AsyncSession, *, order_id: int, user_id: int) -> Order:
    """The user's order with its lines; ``NotFoundError`` for a missing order and
    another user's alike."""
    order = await repository.get_owned(session, order_id=order_id, user_id=user_id)
    if order is None:
        raise NotFoundError(ORDER_NOT_FOUND)
    return order


async def place(
    session: AsyncSession,
    *,
    user_id: int,
    data: OrderCreate,
    idempotency: Idempotency | None = None,
) -> OrderPublic | StoredAnswer:
    wanted = {line.item_id: line.quantity for line in data.lines}

    async def buy() -> OrderPublic:
        stock = await items.lock_for_sale(session, sorted(wanted))
        missing = [item_id for item_id in wanted if item_id not in stock]
        if missing:
            raise NotFoundError(f"Items not found: {', '.join(map(str, missing))}.")
        for item_id in sorted(wanted):
            if not await items.take_stock(session, item_id=item_id, quantity=wanted[item_id]):
                raise ConflictError(f"Not enough stock for item {item_id}.")
        lines = [
            OrderLine(
                item_id=line.item_id,
                item_name=stock[line.item_id].name,
                unit_price=stock[line.item_id].price,
                quantity=line.quantity,
            )
            for line in data.lines
        ]
        total = sum((line.unit_price * line.quantity for line in lines), Decimal("0.00"))
        order = Order(user_id=user_id, total=total, lines=lines)
        session.add(order)
        await session.flush()
        return OrderPublic.model_validate(order)

    return await run_once(
        session,
        user_id=user_id,
        idempotency=idempotency,
        work=buy,
        status_code=HTTPStatus.CREATED,
    )


async def cancel(session: AsyncSession, *, user_id: int, order_id: int) -> OrderPublic:
    """Cancel once: the stock goes back; a second cancel is a 409."""

    async def work() -> OrderPublic:
        cancelled = await repository.mark_cancelled(session, order_id=order_id, user_id=user_id)
        order = await get_owned(session, order_id=order_id, user_id=user_id)
        if not cancelled:
            raise ConflictError(ALREADY_CANCELLED)
        for line in sorted(order.lines, key=lambda line: line.item_id or 0):
            if line.item_id is not None:  # a deleted item has no stock to return
                await items.return_stock(session, item_id=line.item_id, quantity=line.quantity)
        return OrderPublic.model_validate(order)

    return await retrying(session, work)
