"""Every query on balances and the money logs. Balances change only through
conditional UPDATEs: the check and the change are one statement, so two
concurrent debits can never both pass on the same money."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import insert, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from keel.accounts.models import Account, Transfer
from keel_db import Keyset, savepoint, utcnow

_accounts = Account.__table__  # type: ignore[attr-defined]
NEWEST_FIRST = Keyset("-id", col(Transfer.id), col(Transfer.id), descending=True)


async def balance(session: AsyncSession, *, user_id: int) -> Decimal:
    statement = select(col(Account.balance)).where(Account.user_id == user_id)
    found = (await session.exec(statement)).one_or_none()
    return Decimal("0.00") if found is None else found


async def debit(session: AsyncSession, *, user_id: int, amount: Decimal) -> bool:
    """Take ``amount`` from the account if it holds that much; False if it does not."""
    connection = await session.connection()
    result = await connection.execute(
        update(_accounts)
        .where(_accounts.c.user_id == user_id, _accounts.c.balance >= amount)
        .values(balance=_accounts.c.balance - amount, updated_at=utcnow())
    )
    return bool(result.rowcount)


async def credit(session: AsyncSession, *, user_id: int, amount: Decimal) -> None:
    """Add ``amount`` to the account, opening it if this is its first money."""
    connection = await session.connection()
    added = update(_accounts).where(_accounts.c.user_id == user_id)
    result = await connection.execute(
        added.values(balance=_accounts.c.balance + amount, updated_at=utcnow())
    )
    if result.rowcount:
        return
    try:
        async with savepoint(session):
            await connection.execute(
                insert(_accounts).values(user_id=user_id, balance=amount, updated_at=utcnow())
            )
    except IntegrityError:  # opened by a concurrent credit since our UPDATE: add to it
        await connection.execute(
            added.values(balance=_accounts.c.balance + amount, updated_at=utcnow())
        )


def transfers_statement(*, user_id: int) -> SelectOfScalar[Transfer]:
    """The user's transfers, sent and received."""
    return select(Transfer).where(
        or_(col(Transfer.from_user_id) == user_id, col(Transfer.to_user_id) == user_id)
    )
