"""keel.db.retry with real deadlocks from PostgreSQL and MariaDB."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, exc, select, update

from keel.db import Database
from keel.db.errors import is_unavailable
from keel.db.retry import DEFAULT_ATTEMPTS, is_retryable, retrying
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
