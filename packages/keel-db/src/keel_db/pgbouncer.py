"""Engines behind PgBouncer in transaction mode (``EngineSettings.pgbouncer``).

PgBouncer lends a server connection for one transaction, or for one statement
outside any (as the read engine's autocommit statements are), then to another
client. So nothing may outlive that:

* no named prepared statement. asyncpg's statement cache is off
  (``statement_cache_size=0``) and SQLAlchemy prepares unnamed statements: asyncpg
  then sends each statement's Parse again together with its Bind, Execute and
  Sync, one exchange that PgBouncer keeps on one server connection. SQLAlchemy
  still keeps each connection's described statements, so a statement costs one
  round trip from its second run on (docs/pgbouncer.md has the cost).
  SQLAlchemy's documented recipe, unique statement names, fails in autocommit: its
  Parse and its Bind are separate exchanges, which PgBouncer sends to different
  server connections ("prepared statement ... does not exist"). psycopg, the sync
  engine's driver, prepares nothing (``prepare_threshold=None``);
* no startup parameter but ``application_name``: PgBouncer 1.18 refuses the
  others (or, listed in its ``ignore_startup_parameters``, drops them unapplied).
  So a read-only engine begins every transaction ``BEGIN READ ONLY`` instead of
  sending ``default_transaction_read_only``, and the statement timeout is the
  server's own (``ALTER ROLE ... SET statement_timeout``), not
  ``EngineSettings.statement_timeout_ms``.
"""

from __future__ import annotations

import math
from importlib.metadata import version
from typing import TYPE_CHECKING, Any

from sqlalchemy import URL, Engine, event

from keel_db.urls import backend_of

if TYPE_CHECKING:
    from keel_db.engine import EngineSettings

# On each asyncpg connection's pool record: the unnamed statements keel_db.prepared
# keeps for it, by SQL (asyncpg's own cache, which names them, is off).
UNNAMED_STATEMENTS = "keel_db_unnamed_statements"
# Before 0.31 asyncpg names the statement its COPY prepares even with its cache off.
ASYNCPG_AT_LEAST = (0, 31)


def _unnamed() -> str:
    return ""


def check_url(url: URL) -> None:
    """``ValueError`` with a sentence for what cannot work behind PgBouncer."""
    backend = backend_of(url)
    if backend != "postgresql":
        raise ValueError(
            f"EngineSettings.pgbouncer is for PostgreSQL behind PgBouncer; this URL is a "
            f"{backend} database: leave pgbouncer off for it"
        )
    if url.get_driver_name() == "asyncpg":
        installed = version("asyncpg")
        if tuple(int(part) for part in installed.split(".")[:2]) < ASYNCPG_AT_LEAST:
            wanted = ".".join(str(part) for part in ASYNCPG_AT_LEAST)
            raise ValueError(
                f"EngineSettings.pgbouncer needs asyncpg {wanted} or later (installed: "
                f"{installed}), which prepares no named statement with its cache off"
            )


def connect_args(settings: EngineSettings, driver: str) -> dict[str, Any]:
    """The drivers' arguments behind PgBouncer (see the module's docstring)."""
    name = {"application_name": settings.application_name} if settings.application_name else {}
    if driver == "asyncpg":
        return {
            "timeout": settings.connect_timeout,
            "statement_cache_size": 0,
            "prepared_statement_name_func": _unnamed,
            "server_settings": name,
        }
    return {
        "connect_timeout": max(1, math.ceil(settings.connect_timeout)),
        "prepare_threshold": None,
        **name,
    }


def install_listeners(engine: Engine, settings: EngineSettings) -> None:
    """Per connection: read-only transactions for a read-only engine (psycopg's and
    SQLAlchemy's asyncpg adapter's ``read_only``, which their BEGIN carries: no round
    trip), and the dictionary of ``UNNAMED_STATEMENTS`` on asyncpg. A statement in
    autocommit mode has no BEGIN: it is read-only only where the server is (a
    standby)."""
    dialect: Any = engine.dialect

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        if settings.read_only:
            dialect.set_readonly(dbapi_connection, True)
        if dialect.driver == "asyncpg":
            record.info[UNNAMED_STATEMENTS] = {}
