"""Engine factories for SQLite, PostgreSQL and MySQL/MariaDB, with each dialect's pool
defaults, pragmas and timeouts. The URLs are ``keel_db.urls``'s.

Behind PgBouncer in transaction mode (``EngineSettings.pgbouncer``) they prepare no
named statement and send no startup setting: see ``keel_db.pgbouncer``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from keel_db import pgbouncer
from keel_db.interrupts import classify_driver_errors
from keel_db.liveness import ping_when_idle
from keel_db.pool import fair_pool_class
from keel_db.urls import backend_of, with_driver

SQLITE_BUSY_TIMEOUT_MS = 5000
# Execution option naming the SQLite BEGIN mode ("DEFERRED", "IMMEDIATE"); see
# keel_db.session.transaction.
SQLITE_BEGIN = "keel_sqlite_begin"


@dataclass(frozen=True)
class EngineSettings:
    """What an engine needs to know; ``None`` means "the sane value for this dialect"."""

    url: str
    pool_size: int | None = None
    max_overflow: int | None = None
    pool_timeout: float | None = None
    pool_recycle: int | None = None
    connect_timeout: float = 5.0
    echo: bool = False
    statement_timeout_ms: int = 5000
    slow_query_ms: int = 0  # 0: no slow-query log
    # Ping a pooled connection before use only after it sat idle this long (see
    # keel_db.liveness); server databases only.
    ping_after_idle: float = 10.0
    # Every transaction read-only: PostgreSQL default_transaction_read_only, MySQL
    # SET SESSION TRANSACTION READ ONLY, SQLite opens the file with mode=ro.
    read_only: bool = False
    # How the server lists this app's connections (PostgreSQL application_name).
    application_name: str | None = None
    # ``url`` reaches PostgreSQL through PgBouncer in transaction mode (or another
    # pooler that lends a server connection per transaction): no named prepared
    # statements, no startup settings (``keel_db.pgbouncer``).
    pgbouncer: bool = False
    # PostgreSQL itself, not the pooler: where work that needs a session of its own
    # connects (the migrations and their advisory lock). None: ``url``.
    direct_url: str | None = None


# Server databases: a bounded pool, a short wait for a connection (so an exhausted
# pool answers 503 quickly instead of hanging), and connections recycled before
# MySQL's wait_timeout or a firewall drops them.
_SERVER_POOL_DEFAULTS = {
    "pool_size": 10,
    "max_overflow": 10,
    "pool_timeout": 5.0,
    "pool_recycle": 1800,
}


def _pool_kwargs(settings: EngineSettings, url: URL) -> dict[str, Any]:
    given = {
        "pool_size": settings.pool_size,
        "max_overflow": settings.max_overflow,
        "pool_timeout": settings.pool_timeout,
        "pool_recycle": settings.pool_recycle,
    }
    if backend_of(url) == "sqlite":
        # SQLAlchemy picks the pool for SQLite (a queue pool for files, a static
        # pool for :memory:); only pass what the user set explicitly.
        return {key: value for key, value in given.items() if value is not None}
    return {
        key: _SERVER_POOL_DEFAULTS[key] if value is None else value for key, value in given.items()
    }


# What SQLAlchemy's queue pool uses when nothing is set (SQLite files).
_SQLALCHEMY_POOL_DEFAULTS = {"pool_size": 5, "max_overflow": 10, "pool_timeout": 30.0}


def pool_limits(settings: EngineSettings) -> tuple[int, float]:
    """How many connections the engine's pool may open at once, and how long a
    checkout waits for one: what admission in front of it should match."""
    url = make_url(settings.url)
    chosen = {**_SQLALCHEMY_POOL_DEFAULTS, **_pool_kwargs(settings, url)}
    return int(chosen["pool_size"]) + max(int(chosen["max_overflow"]), 0), float(
        chosen["pool_timeout"]
    )


def _connect_args(settings: EngineSettings, url: URL) -> dict[str, Any]:
    driver = url.get_driver_name()
    timeout = settings.connect_timeout
    if settings.pgbouncer:
        return pgbouncer.connect_args(settings, driver)
    if driver in ("asyncpg", "psycopg"):
        server_settings = {}
        if settings.application_name:
            server_settings["application_name"] = settings.application_name
        if settings.statement_timeout_ms:
            server_settings["statement_timeout"] = str(settings.statement_timeout_ms)
        if settings.read_only:
            server_settings["default_transaction_read_only"] = "on"
        if driver == "asyncpg":
            return {"timeout": timeout, "server_settings": server_settings}
        options = " ".join(f"-c {name}={value}" for name, value in server_settings.items())
        return {"connect_timeout": max(1, math.ceil(timeout)), "options": options}
    if driver in ("pymysql", "aiomysql"):
        return {"connect_timeout": max(1, math.ceil(timeout))}
    return {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}


def _use_wal(cursor: Any) -> None:
    """Switch the database file to WAL (it stays so). Several connections opening a
    new file at once race for the exclusive lock this needs, and the loser is told
    "database is locked" without the busy timeout applying: try again until one of
    them has switched it."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        cursor.execute("PRAGMA journal_mode")
        if cursor.fetchone()[0].lower() in ("wal", "memory"):
            return
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except Exception as error:  # the driver's OperationalError, sync or async
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _install_sqlite_listeners(engine: Engine, *, read_only: bool) -> None:
    """Pragmas on every connection, and transactions SQLAlchemy can rely on.

    The sqlite3 module opens transactions lazily and on its own terms, which breaks
    SAVEPOINT; SQLAlchemy's documented recipe is to switch that off and emit BEGIN
    ourselves when SQLAlchemy begins a transaction.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            f"busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
            "foreign_keys=ON",
            "synchronous=NORMAL",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        if not read_only:  # a read-only connection may not change the journal mode
            _use_wal(cursor)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get(SQLITE_BEGIN, "DEFERRED")
        if mode not in ("DEFERRED", "IMMEDIATE", "EXCLUSIVE"):
            raise ValueError(f"unknown SQLite BEGIN mode {mode!r}")
        connection.exec_driver_sql(f"BEGIN {mode}")


def _install_mysql_listeners(engine: Engine, settings: EngineSettings) -> None:
    """UTC session time zone and the server-side statement timeout, per connection."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("SELECT VERSION()")
        (version,) = cursor.fetchone()
        statements = ["SET SESSION time_zone = '+00:00'"]
        if settings.read_only:
            statements.append("SET SESSION TRANSACTION READ ONLY")
        if settings.statement_timeout_ms:
            if "mariadb" in str(version).lower():
                seconds = settings.statement_timeout_ms / 1000
                statements.append(f"SET SESSION max_statement_time = {seconds:.3f}")
            else:  # MySQL: milliseconds, and only for SELECT
                statements.append(
                    f"SET SESSION max_execution_time = {int(settings.statement_timeout_ms)}"
                )
        for statement in statements:
            cursor.execute(statement)
        cursor.close()


def _install_listeners(engine: Engine, settings: EngineSettings) -> None:
    classify_driver_errors(engine)
    backend = backend_of(engine.url)
    if settings.pgbouncer:
        pgbouncer.install_listeners(engine, settings)
    if backend == "sqlite":
        _install_sqlite_listeners(engine, read_only=settings.read_only)
        return
    if backend in ("mysql", "mariadb"):
        _install_mysql_listeners(engine, settings)
    ping_when_idle(engine, ping_after_idle=settings.ping_after_idle)


def _engine_kwargs(settings: EngineSettings, url: URL) -> dict[str, Any]:
    return {
        "echo": settings.echo,
        # Bound values (emails, password hashes...) stay out of error messages and
        # logs; the SQL itself is still shown.
        "hide_parameters": True,
        "connect_args": _connect_args(settings, url),
        **_pool_kwargs(settings, url),
    }


def _read_only_sqlite(url: URL) -> URL:
    """``sqlite:///path`` as a URI that opens the file read-only."""
    if url.database in (None, "", ":memory:") or url.query.get("uri"):
        return url
    return url.set(
        database=f"file:{url.database}", query={**url.query, "mode": "ro", "uri": "true"}
    )


def _url_for(settings: EngineSettings, *, use_async: bool) -> URL:
    url = with_driver(settings.url, use_async=use_async)
    if settings.pgbouncer:
        pgbouncer.check_url(url)
    if settings.read_only and backend_of(url) == "sqlite":
        url = _read_only_sqlite(url)
    return url


def make_sync_engine(settings: EngineSettings) -> Engine:
    """A sync engine (CLI, migrations, seeding) with keel_db's pool, pragmas and timeouts."""
    url = _url_for(settings, use_async=False)
    engine = create_engine(url, **_engine_kwargs(settings, url))
    _install_listeners(engine, settings)
    return engine


def make_async_engine(settings: EngineSettings) -> AsyncEngine:
    """An async engine (the request path) with keel_db's pool, pragmas and timeouts;
    its pool admits waiting requests in arrival order (``keel_db.pool``)."""
    url = _url_for(settings, use_async=True)
    kwargs = _engine_kwargs(settings, url)
    poolclass = fair_pool_class(url)
    if poolclass is not None:
        kwargs["poolclass"] = poolclass
    engine = create_async_engine(url, **kwargs)
    _install_listeners(engine.sync_engine, settings)
    return engine
