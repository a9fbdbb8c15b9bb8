"""Helpers for test suites that run against real databases.

``create_database`` makes a fresh, uniquely named database on a PostgreSQL or
MariaDB server (or a file for SQLite) and ``drop_database`` removes it, so a test
run never depends on what an earlier one left. ``new_test_database`` does the same
inside a pytest test, skipping it when the server does not answer, or failing it
under ``CI=true`` (CI must never pass by testing less). ``delete_all_rows`` empties
every table of a metadata between tests, children before parents.
``execute_on_server`` runs one statement outside any transaction (a database's
defaults, say). A database is dropped ``WITH (FORCE)`` on PostgreSQL, which also
ends the server connections a PgBouncer in front of it still holds.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Mapping
from pathlib import Path

from sqlalchemy import URL, Engine, MetaData, NullPool, create_engine, make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine

from keel_db.urls import backend_name, sync_url


def _server_engine(server_url: str | URL) -> Engine:
    return create_engine(sync_url(server_url), isolation_level="AUTOCOMMIT", poolclass=NullPool)


def execute_on_server(url: str | URL, statement: str) -> None:
    """One statement on ``url``'s database, outside any transaction (CREATE and DROP
    DATABASE need that), on a connection of its own."""
    engine = _server_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(text(statement))
    finally:
        engine.dispose()


def server_reachable(server_url: str) -> str | None:
    """None when the server answers, else why not (one line)."""
    try:
        execute_on_server(server_url, "SELECT 1")
    except Exception as error:
        return " ".join(str(error).split())[:300]
    return None


def create_database(server_url: str, *, prefix: str = "test", directory: Path | None = None) -> str:
    """A new empty database next to ``server_url``'s; returns its URL (same form).

    For SQLite, a new file in ``directory`` (the server URL is then ignored)."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    backend = backend_name(server_url)
    if backend == "sqlite":
        if directory is None:
            raise ValueError("SQLite test databases need a directory")
        return f"sqlite:///{directory / (name + '.db')}"
    if backend == "postgresql":
        execute_on_server(server_url, f'CREATE DATABASE "{name}"')
    else:
        execute_on_server(
            server_url, f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
        )
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def new_test_database(
    kind: str,
    *,
    servers: Mapping[str, str],
    directory: Path,
    prefix: str = "test",
    wait_seconds: int = 0,
) -> str:
    """In a pytest test or fixture: a new empty database of ``kind`` (``"sqlite"``, a
    file in ``directory``; else one on the server ``servers[kind]``), dropped by the
    caller with ``drop_database``. A server that does not answer skips the test with
    the reason, or fails it when the environment says ``CI=true``, after waiting up
    to ``wait_seconds`` there for a server that was just started."""
    import pytest  # only test suites call this

    if kind == "sqlite":
        return create_database("sqlite://", prefix=prefix, directory=directory)
    in_ci = os.environ.get("CI", "").lower() == "true"
    problem = server_reachable(servers[kind])
    for _ in range(wait_seconds if in_ci else 0):
        if problem is None:
            break
        time.sleep(1)
        problem = server_reachable(servers[kind])
    if problem is not None:
        message = f"{kind} server not reachable at {servers[kind]}: {problem}"
        if in_ci:
            pytest.fail(message)
        pytest.skip(message)
    return create_database(servers[kind], prefix=prefix)


def drop_database(url: str) -> None:
    """Remove a database made by ``create_database`` (connections are cut first)."""
    parsed = make_url(url)
    backend = backend_name(url)
    name = parsed.database or ""
    if backend == "sqlite":
        for suffix in ("", "-wal", "-shm", ".migrate.lock"):
            Path(name + suffix).unlink(missing_ok=True)
        return
    maintenance = parsed.set(database="postgres" if backend == "postgresql" else "mysql")
    if backend == "postgresql":
        execute_on_server(maintenance, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        execute_on_server(maintenance, f"DROP DATABASE IF EXISTS `{name}`")


async def delete_all_rows(engine: AsyncEngine, metadata: MetaData) -> None:
    """Empty every table of ``metadata``, children first, in one transaction."""
    async with engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            await connection.execute(table.delete())
