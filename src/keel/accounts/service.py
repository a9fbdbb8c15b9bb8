"""Deposits and transfers. Each is one unit of work, retried on a deadlock, and
(for transfers) protected by an idempotency key when the client sends one.

Two rows change in a transfer; they are always touched in user-id order, so two
opposite transfers lock in the same order and cannot deadlock each other."""

from __future__ import annotations

from decimal import Decimal
from http import HTTPStatus

from sqlmodel.ext.asyncio.session import AsyncSession

from keel.accounts import repository
from keel.accounts.models import Deposit, Transfer
from keel.accounts.schemas import AccountPublic, TransferPublic, TransferRequest
from keel.idempotency.service import Idempotency, StoredAnswer, run_once
from keel.users import service as users
from keel_db import ConflictError, InvalidInputError, retrying

NOT_ENOUGH_MONEY = "Not enough money."


async def account(session: AsyncSession, *, user_id: int) -> AccountPublic:
    return AccountPublic(
        user_id=user_id, balance=await repository.balance(session, user_id=user_id)
    )


async def deposit(
    session: AsyncSession, *, user_id: int, amount: Decimal, by_user_id: int
) -> AccountPublic:
    async def work() -> AccountPublic:
        await users.ensure_exists(session, user_id=user_id)
        await repository.credit(session, user_id=user_id, amount=amount)
        session.add(Deposit(user_id=user_id, by_user_id=by_user_id, amount=amount))
        await session.flush()
        return await account(session, user_id=user_id)

    return await retrying(session, work)


async def transfer(
    session: AsyncSession,
    *,
    from_user_id: int,
    data: TransferRequest,
    idempotency: Idempotency | None = None,
) -> TransferPublic | StoredAnswer:
    """Move money: 422 to oneself, 404 to nobody, 409 without the money; and then
    nothing has changed."""
    if data.to_user_id == from_user_id:
        raise InvalidInputError(("body", "to_user_id"), "A transfer needs another user")

    async def move() -> TransferPublic:
        await users.ensure_exists(session, user_id=data.to_user_id)
        for user_id in sorted((from_user_id, data.to_user_id)):
            if user_id == data.to_user_id:
                await repository.credit(session, user_id=user_id, amount=data.amount)
            elif not await repository.debit(session, user_id=user_id, amount=data.amount):
                raise ConflictError(NOT_ENOUGH_MONEY)
        log = Transfer(from_user_id=from_user_id, to_user_id=data.to_user_id, amount=data.amount)
        session.add(log)
        await session.flush()
        return TransferPublic.model_validate(log)

    return await run_once(
        session,
        user_id=from_user_id,
        idempotency=idempotency,
        work=move,
        status_code=HTTPStatus.CREATED,
    )
