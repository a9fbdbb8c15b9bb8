"""Placing and cancelling orders: stock and order change in one transaction.

Stock is taken by a conditional UPDATE (``stock >= quantity``) on rows locked in
item-id order, so two buyers can never take the same last unit and two orders
never deadlock. An unknown item is a 404 and short stock a 409, and then nothing
at all has changed."""

from __future__ import annotations

from decimal import Decimal
from http import HTTPStatus

from sqlmodel.ext.asyncio.session import AsyncSession

from keel.idempotency.service import Idempotency, StoredAnswer, run_once
from keel.orders import repository
from keel.orders.models import Order, OrderLine
from keel.orders.schemas import OrderCreate, OrderPublic
from keel_db import ConflictError, NotFoundError, retrying

ORDER_NOT_FOUND = "Order not found."
ALREADY_CANCELLED = "The order is already cancelled."


def _conflict(detail: str) -> ConflictError:
    return ConflictError(detail)


def not_found(detail: str = ORDER_NOT_FOUND) -> NotFoundError:
    return NotFoundError(detail)


async def place(
    session: AsyncSession,
    *,
    user_id: int,
    data: OrderCreate,
    idempotency: Idempotency | None = None,
) -> OrderPublic | StoredAnswer:
    wanted = {line.item_id: line.quantity for line in data.lines}

    async def buy() -> OrderPublic:
        items = await repository.lock_items(session, sorted(wanted))
        missing = [item_id for item_id in wanted if item_id not in items]
        if missing:
            raise not_found(f"Items not found: {', '.join(map(str, missing))}.")
        for item_id in sorted(wanted):
            if not await repository.take_stock(session, item_id=item_id, quantity=wanted[item_id]):
                raise _conflict(f"Not enough stock for item {item_id}.")
        lines = [
            OrderLine(
                item_id=line.item_id,
                item_name=items[line.item_id].name,
                unit_price=items[line.item_id].price,
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
        if not await repository.mark_cancelled(session, order_id=order_id, user_id=user_id):
            if await repository.get_owned(session, order_id=order_id, user_id=user_id) is None:
                raise not_found()
            raise _conflict(ALREADY_CANCELLED)
        order = await repository.get_owned(session, order_id=order_id, user_id=user_id)
        assert order is not None
        for line in sorted(order.lines, key=lambda line: line.item_id or 0):
            if line.item_id is not None:  # a deleted item has no stock to return
                await repository.return_stock(session, item_id=line.item_id, quantity=line.quantity)
        return OrderPublic.model_validate(order)

    return await retrying(session, work)
