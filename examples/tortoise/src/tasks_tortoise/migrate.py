"""Aerich's migrations, one folder per database, applied under a lock every process
sees, so several workers starting at once apply each migration once.

Aerich writes SQL for one database (its SQLite folder fails on PostgreSQL at
``AUTOINCREMENT``), so ``migrations/`` holds a folder per dialect, each
``migrations/<dialect>/models/<n>_<date>_<name>.py``, made by Aerich
(``make_migration``) against that database and edited by hand where Tortoise falls
short (see each file). The lock: ``pg_advisory_lock`` on PostgreSQL, ``GET_LOCK`` on
MariaDB (each held on a connection of its own), a lock file next to the database
file on SQLite.

Each call opens a Tortoise context of its own, without the app's statement timeout
(an index on a big table may take long) and closes it again: migrations run before
the app registers its own context, from the lifespan or ``python -m tasks_tortoise
migrate``. Aerich then uses that context as it finds it.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
from aerich import Command
from filelock import FileLock
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.context import TortoiseContext

from tasks_tortoise.database import APP, PoolSettings, backend_of, sqlite_path, tortoise_config

MIGRATIONS = Path(__file__).with_name("migrations")
FOLDERS = {"sqlite": "sqlite", "postgresql": "postgres", "mysql": "mysql"}
LOCK_NAME = "tasks_tortoise:migrations"
LOCK_TIMEOUT_SECONDS = 300


class MigrationLockTimeoutError(RuntimeError):
    """Another process held the migration lock for too long."""


def folder(database_url: str) -> Path:
    """The migrations of ``database_url``'s dialect (Aerich adds the app, ``models``)."""
    return MIGRATIONS / FOLDERS[backend_of(database_url)]


# Two connections: one holds the lock, Aerich uses the other. No statement timeout.
_POOL = PoolSettings(max_connections=2, statement_timeout_ms=0)


@asynccontextmanager
async def migration_context(database_url: str) -> AsyncIterator[BaseDBAsyncClient]:
    """A Tortoise context of its own on ``database_url``, for Aerich."""
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(database_url, _POOL))
        yield context.db()


@asynccontextmanager
async def migration_lock(database_url: str, client: BaseDBAsyncClient) -> AsyncIterator[None]:
    """Hold the lock for the block, on a connection of its own: not in a
    transaction, which PostgreSQL would abort at Aerich's first probe of a table
    that is not there yet."""
    backend = backend_of(database_url)
    if backend == "sqlite":
        lock = FileLock(f"{sqlite_path(database_url)}.migrate.lock", timeout=LOCK_TIMEOUT_SECONDS)
        await anyio.to_thread.run_sync(lock.acquire)
        try:
            yield
        finally:
            lock.release()
        return
    async with client.acquire_connection() as connection:
        if backend == "postgresql":
            key = zlib.crc32(LOCK_NAME.encode())
            await _pg_lock(connection, key)
            try:
                yield
            finally:
                await connection.execute("SELECT pg_advisory_unlock($1)", key)
            return
        async with connection.cursor() as cursor:
            await cursor.execute("SELECT GET_LOCK(%s, %s)", (LOCK_NAME, LOCK_TIMEOUT_SECONDS))
            if (await cursor.fetchone())[0] != 1:
                raise MigrationLockTimeoutError(_held())
            try:
                yield
            finally:
                await cursor.execute("SELECT RELEASE_LOCK(%s)", (LOCK_NAME,))


def _held() -> str:
    return f"another process held {LOCK_NAME!r} for {LOCK_TIMEOUT_SECONDS} s"


async def _pg_lock(connection: Any, key: int) -> None:
    """``pg_advisory_lock`` would wait for ever: try until the deadline instead."""
    deadline = time.monotonic() + LOCK_TIMEOUT_SECONDS
    while not await connection.fetchval("SELECT pg_try_advisory_lock($1)", key):
        if time.monotonic() >= deadline:
            raise MigrationLockTimeoutError(_held())
        await anyio.sleep(0.1)


def _command(database_url: str) -> Command:
    return Command(tortoise_config(database_url), app=APP, location=str(folder(database_url)))


async def upgrade(database_url: str) -> list[str]:
    """Apply every migration not applied yet; the files applied, in order."""
    async with migration_context(database_url) as client, migration_lock(database_url, client):
        command = _command(database_url)
        await command.init()
        applied: list[str] = await command.upgrade(run_in_transaction=True)
        return applied


async def downgrade(database_url: str, version: int = 0) -> list[str]:
    """Undo migration ``version`` and every later one, newest first; the files
    undone. (Aerich's own ``downgrade(version)`` undoes them oldest first, so a
    later table's foreign key would stop an earlier table's DROP.)"""
    undone: list[str] = []
    async with migration_context(database_url) as client, migration_lock(database_url, client):
        command = _command(database_url)
        await command.init()
        while [name for name in await _applied(command) if _number(name) >= version]:
            undone += await command.downgrade(-1, delete=False)
    return undone


def _number(migration: str) -> int:
    return int(migration.split("_", 1)[0])


async def _applied(command: Command) -> list[str]:
    names: list[str] = await command.get_applied_migrations(APP)
    return sorted(names, key=_number)


async def make_migration(database_url: str, name: str) -> str | None:
    """Let Aerich write the next migration of ``database_url``'s dialect from what
    changed in the models since the database's last migration (so migrate that
    database first); the new file's name, or None when nothing changed. Read it and
    edit it: Aerich writes no CHECK, and see the notes in the first migration."""
    async with migration_context(database_url):
        command = _command(database_url)
        await command.init()
        made: str | None = await command.migrate(name, no_input=True)
        return made or None


async def applied(database_url: str) -> list[str]:
    """The migrations the database has, as Aerich recorded them."""
    async with migration_context(database_url):
        command = _command(database_url)
        await command.init()
        return await _applied(command)
