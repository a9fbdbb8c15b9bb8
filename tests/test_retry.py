"""keel_db.retry with real deadlocks from PostgreSQL and MariaDB."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, exc, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from keel_db import Database, savepoint
from keel_db.errors import is_unavailable
from keel_db.retry import DEFAULT_ATTEMPTS, is_retryable, retrying
from tests.helpers import database_with

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.parametrize("database_url", ["postgresql", "mariadb"], indirect=True),
]

probe = MetaData()
rows = Table("probe_rows", probe, Column("id", Integer, primary_key=True), Column("n", Integer))


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    async with database_with(database_url, probe) as db:
        async with db.engine.begin() as connection:
            await connection.execute(rows.insert(), [{"id": 1, "n": 0}, {"id": 2, "n": 0}])
        yield db


async def real_deadlock(database: Database) -> exc.DBAPIError:
    """Two transactions locking two rows in opposite orders: the database kills one."""
    async with database.engine.connect() as first, database.engine.connect() as second:
        await first.execute(update(rows).where(rows.c.id == 1).values(n=1))
        await second.execute(update(rows).where(rows.c.id == 2).values(n=1))
        waiting = asyncio.create_task(first.execute(update(rows).where(rows.c.id == 2).values(n=2)))
        await asyncio.sleep(0.3)
        results = await asyncio.gather(
            waiting,
            second.execute(update(rows).where(rows.c.id == 1).values(n=2)),
            return_exceptions=True,
        )
        await first.rollback()
        await second.rollback()
    (error,) = [result for result in results if isinstance(result, exc.DBAPIError)]
    return error


async def test_a_deadlock_is_retryable_and_maps_to_503(database: Database) -> None:
    error = await real_deadlock(database)
    assert is_retryable(error)
    assert is_unavailable(error)


async def test_retrying_runs_the_unit_of_work_again_after_a_deadlock(database: Database) -> None:
    deadlock = await real_deadlock(database)
    attempts = 0

    async def work() -> int:
        nonlocal attempts
        attempts += 1
        connection = await session.connection()
        await connection.execute(update(rows).where(rows.c.id == 1).values(n=rows.c.n + 10))
        if attempts < 3:
            raise deadlock
        return attempts

    async with database.sessionmaker() as session:
        assert await retrying(session, work) == 3
    async with database.engine.connect() as connection:
        # Only the third attempt's change was kept.
        assert (await connection.execute(select(rows.c.n).where(rows.c.id == 1))).scalar() == 10


async def test_retrying_gives_up_after_its_attempts(database: Database) -> None:
    deadlock = await real_deadlock(database)
    attempts = 0

    async def work() -> None:
        nonlocal attempts
        attempts += 1
        raise deadlock

    async with database.sessionmaker() as session:
        with pytest.raises(exc.DBAPIError):
            await retrying(session, work)
    assert attempts == DEFAULT_ATTEMPTS


async def test_other_errors_are_not_retried(database: Database) -> None:
    attempts = 0

    async def work() -> None:
        nonlocal attempts
        attempts += 1
        connection = await session.connection()
        await connection.execute(rows.insert().values(id=1, n=0))  # duplicate key

    async with database.sessionmaker() as session:
        with pytest.raises(exc.IntegrityError):
            await retrying(session, work)
    assert attempts == 1


async def test_a_deadlock_inside_a_savepoint_retries_the_whole_unit_of_work(
    database: Database,
) -> None:
    """Two units of work lock the two rows in opposite orders, the second lock inside
    a savepoint: the database kills one (MariaDB rolls its whole transaction back,
    savepoint included), and that one runs again from the start instead of failing on
    a savepoint that no longer exists. Both end up applied, once each."""
    both_hold_their_first_row = asyncio.Barrier(2)

    async def add_one(session: AsyncSession, first: int, second: int) -> None:
        async def work() -> None:
            connection = await session.connection()
            await connection.execute(update(rows).where(rows.c.id == first).values(n=rows.c.n + 1))
            attempts[first] += 1
            if attempts[first] == 1:
                await both_hold_their_first_row.wait()
            async with savepoint(session):
                await connection.execute(
                    update(rows).where(rows.c.id == second).values(n=rows.c.n + 1)
                )

        await retrying(session, work)

    attempts = {1: 0, 2: 0}
    async with database.sessionmaker() as one, database.sessionmaker() as other:
        await asyncio.gather(add_one(one, 1, 2), add_one(other, 2, 1))
    assert sorted(attempts.values()) == [1, 2]  # one of them lost the race and ran again
    async with database.engine.connect() as connection:
        assert (await connection.execute(select(rows.c.n).order_by(rows.c.id))).scalars().all() == [
            2,
            2,
        ]
