"""keel_db.pool: connections handed out in arrival order, on every database."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import MetaData, exc, text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.util import greenlet_spawn

from keel_db import Database
from keel_db.errors import is_unavailable
from keel_db.pool import AdmissionGate, FairQueuePool
from tests.helpers import database_with, queued

pytestmark = pytest.mark.anyio

nothing = MetaData()


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """A Database whose pool holds one connection and never overflows."""
    async with database_with(
        database_url, nothing, pool_size=1, max_overflow=0, pool_timeout=5
    ) as db:
        yield db


def gate_of(database: Database) -> FairQueuePool:
    pool = database.engine.sync_engine.pool
    assert isinstance(pool, FairQueuePool)
    return pool


async def test_waiting_requests_get_the_connection_in_arrival_order(database: Database) -> None:
    """Five requests queue for the only connection. Whoever holds it gives it back
    and at once asks again (as a request does that reads the caller, then its page):
    it goes to the end of the line, so the connection goes round in arrival order.
    (That the whole server stays fair under load is shown against a real
    ``keel serve`` in tests/test_load.py.)"""
    admitted: list[str] = []
    gate = gate_of(database).gate
    all_queued = asyncio.Event()

    async def request(name: str, *, laps: int = 1) -> None:
        for _ in range(laps):
            async with database.engine.connect() as connection:
                admitted.append(name)
                await connection.execute(text("SELECT 1"))
                await all_queued.wait()

    first = asyncio.create_task(request("first", laps=3))
    while not admitted:  # noqa: ASYNC110 - polls the list the request appends to
        await asyncio.sleep(0.001)
    waiting = []
    for count, name in enumerate("abcde", start=1):
        waiting.append(asyncio.create_task(request(name)))
        await queued(gate, count)  # each in the line before the next
    all_queued.set()
    await asyncio.gather(first, *waiting)
    assert admitted == ["first", "a", "b", "c", "d", "e", "first", "first"]
    assert gate_of(database).gate.in_use == 0


async def test_a_request_not_admitted_within_the_pool_timeout_is_unavailable(
    database_url: str,
) -> None:
    async with database_with(
        database_url, nothing, pool_size=1, max_overflow=0, pool_timeout=0.3
    ) as database:
        async with database.engine.connect() as held:
            await held.execute(text("SELECT 1"))
            started = time.monotonic()
            with pytest.raises(exc.TimeoutError) as raised:
                async with database.engine.connect():
                    pass
            waited = time.monotonic() - started
        assert 0.25 < waited < 1.0
        assert is_unavailable(raised.value)
        assert gate_of(database).gate.waiting == 0
        async with database.engine.connect() as connection:  # the permit was not lost
            assert (await connection.execute(text("SELECT 1"))).scalar() == 1


async def holding_the_only_connection(database: Database) -> AsyncConnection:
    held = await database.engine.connect()
    await held.execute(text("SELECT 1"))
    return held


async def one_statement(database: Database) -> int:
    async with database.engine.connect() as connection:
        return int((await connection.execute(text("SELECT 7"))).scalar_one())


async def test_a_waiter_cancelled_in_the_queue_loses_no_permit(database: Database) -> None:
    """One waiter gives up (its task is cancelled); the one behind it is admitted as
    soon as the connection comes back, and afterwards the pool is whole again."""
    gate = gate_of(database).gate
    held = await holding_the_only_connection(database)
    quitter = asyncio.create_task(one_statement(database))
    await queued(gate, 1)
    patient = asyncio.create_task(one_statement(database))
    await queued(gate, 2)
    quitter.cancel()
    await asyncio.sleep(0.01)
    assert gate.waiting == 1
    await held.close()
    assert await asyncio.wait_for(patient, 2) == 7
    with pytest.raises(asyncio.CancelledError):
        await quitter
    assert (gate.in_use, gate.waiting) == (0, 0)


async def test_a_cancel_just_after_admission_passes_the_connection_on(database: Database) -> None:
    """A waiter handed the connection in the same moment it is cancelled must not keep
    the permit: the next waiter gets it."""
    gate = gate_of(database).gate
    held = await holding_the_only_connection(database)
    unlucky = asyncio.create_task(one_statement(database))
    await queued(gate, 1)
    next_in_line = asyncio.create_task(one_statement(database))
    await queued(gate, 2)
    await held.close()  # hands the permit to `unlucky`, which has not run yet
    unlucky.cancel()
    assert await asyncio.wait_for(next_in_line, 2) == 7
    with pytest.raises(asyncio.CancelledError):
        await unlucky
    assert (gate.in_use, gate.waiting) == (0, 0)


async def test_a_permit_given_back_goes_to_the_waiter_not_to_a_newcomer() -> None:
    """The gate alone: A holds the only permit, B waits, A gives it back and C asks
    in the same moment, before B has run. B is admitted; C waits for its turn (a
    plain counter would have let C take the permit B was woken for)."""
    gate = AdmissionGate(1, timeout=5)
    await greenlet_spawn(gate.enter)  # A
    b = asyncio.create_task(greenlet_spawn(gate.enter))
    await queued(gate, 1)
    gate.leave()  # A is done: the permit is B's
    c = asyncio.create_task(greenlet_spawn(gate.enter))
    await asyncio.sleep(0.01)
    assert b.done()
    assert not c.done()
    gate.leave()  # B is done: now C
    await asyncio.wait_for(c, 1)
    gate.leave()
    assert (gate.in_use, gate.waiting) == (0, 0)
