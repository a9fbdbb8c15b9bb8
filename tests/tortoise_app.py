"""examples/tortoise as the app under test: Keel's task tests speak HTTP, so they run
against the Tortoise example too (``conftest.tasks_app``), on a database of its own
migrated by its own Aerich migrations.

The example keeps no SQLAlchemy engine, so the tests' direct looks at the database
(``helpers.count_rows``, a raw insert) go through one made here on the same
database, and its statements are counted by the example's own log of what Tortoise
sends (``tasks_tortoise.monitoring``). Tortoise allows one started app per process,
which a function-scoped fixture respects."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any
from weakref import WeakKeyDictionary

from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from keel_db import async_url

SECRET = "tortoise-in-keel-tests-secret-key-long-enough-for-hs256"
# Children first, so foreign keys never stand in the way.
TABLES = ("idempotency_keys", "task_transfers", "tasks", "user_profiles", "users")

_engines: WeakKeyDictionary[FastAPI, AsyncEngine] = WeakKeyDictionary()


def engine_of(app: FastAPI) -> AsyncEngine | None:
    """The engine on a started Tortoise app's database, None for any other app."""
    return _engines.get(app)


@asynccontextmanager
async def started(database_url: str) -> AsyncIterator[FastAPI]:
    """The Tortoise example on ``database_url``, started (so migrated), tables empty."""
    from tasks_tortoise.main import create_app
    from tasks_tortoise.state import Tuning

    # Cheap Argon2id for speed, as Keel's own test settings have.
    app = create_app(
        database_url, SECRET, tuning=Tuning(argon2_time_cost=1, argon2_memory_kib=1024)
    )
    engine = create_async_engine(async_url(database_url))
    try:
        async with LifespanManager(app):
            async with engine.begin() as connection:
                for table in TABLES:
                    await connection.execute(text(f"DELETE FROM {table}"))
            _engines[app] = engine
            yield app
    finally:
        await engine.dispose()


@contextmanager
def statements() -> Iterator[Any]:
    """The statements Tortoise sends inside the block (``.queries``, ``.count``)."""
    from tasks_tortoise.monitoring import count_queries

    with count_queries() as log:
        yield log
