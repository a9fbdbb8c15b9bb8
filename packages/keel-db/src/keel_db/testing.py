"""Helpers for test suites that run against real databases.

``create_database`` makes a fresh, uniquely named database on a PostgreSQL or
MariaDB server (or a file for SQLite) and ``drop_database`` removes it, so a test
run never depends on what an earlier one left. ``delete_all_rows`` empties every
table of a metadata between tests, children before parents.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import URL, Engine, MetaData, NullPool, create_engine, make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine

from keel_db.engine import backend_name, sync_url


def _server_engine(server_url: str | URL) -> Engine:
    return create_engine(sync_url(server_url), isolation_level="AUTOCOMMIT", poolclass=NullPool)


def _execute_on_server(url: str | URL, statement: str) -> None:
    """One statement outside any transaction (CREATE/DROP DATABASE need that)."""
    engine = _server_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(text(statement))
    finally:
        engine.dispose()


def server_reachable(server_url: str) -> str | None:
    """None when the server answers, else why not (one line)."""
    try:
        _execute_on_server(server_url, "SELECT 1")
    except Exception as error:
        return " ".join(str(error).split())[:300]
    return None


def create_database(
    server_url: str, *, prefix: str = "keel_test", directory: Path | None = None
) -> str:
    """A new empty database next to ``server_url``'s; returns its URL (same form).

    For SQLite, a new file in ``directory`` (the server URL is then ignored)."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    backend = backend_name(server_url)
    if backend == "sqlite":
        if directory is None:
            raise ValueError("SQLite test databases need a directory")
        return f"sqlite:///{directory / (name + '.db')}"
    if backend == "postgresql":
        _execute_on_server(server_url, f'CREATE DATABASE "{name}"')
    else:
        _execute_on_server(
            server_url, f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
        )
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


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
        _execute_on_server(maintenance, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        _execute_on_server(maintenance, f"DROP DATABASE IF EXISTS `{name}`")


async def delete_all_rows(engine: AsyncEngine, metadata: MetaData) -> None:
    """Empty every table of ``metadata``, children first, in one transaction."""
    async with engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            await connection.execute(table.delete())
