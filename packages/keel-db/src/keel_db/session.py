"""Engines held together, and the transaction helpers (the session dependencies
are in ``keel_db.dependencies``).

Sessions are SQLModel's (SQLAlchemy's, plus a typed ``exec``). A request gets one
``AsyncSession`` (``AsyncSessionDep``) for work that writes or must read in one
transaction, and routes that only read use a read session (``ReadSessionDep`` on
the replica, ``PrimaryReadSessionDep`` for the caller's own data): on PostgreSQL
that session runs in autocommit mode, each statement its own snapshot (what READ
COMMITTED gives inside a transaction too), without the BEGIN and ROLLBACK round
trips. The unit of work that
writes opens ``async with transaction(session):`` *inside* the route or service, so
the commit has happened before the route returns and FastAPI sends a 2xx. The
session dependency's teardown only closes the session (rolling back whatever was
not committed): FastAPI may run that teardown after the response has gone out, so a
commit there could fail after the client was told "done".
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session
from sqlmodel.ext.asyncio.session import AsyncSession

from keel_db.classify import is_retryable
from keel_db.engine import SQLITE_BEGIN, EngineSettings, make_async_engine, make_sync_engine
from keel_db.monitoring import instrument
from keel_db.read_after import current_read_after, parse_position

if TYPE_CHECKING:
    from keel_db.metrics import DatabaseMetrics

logger = logging.getLogger(__name__)


class Database:
    """The async engine for requests and the sync engine for everything else, with
    their session factories. Create one per process (the app's lifespan does) and
    ``await dispose()`` it on shutdown. Engines connect lazily: creating a
    ``Database`` opens no connection."""

    def __init__(
        self,
        settings: EngineSettings,
        *,
        name: str = "primary",
        metrics: DatabaseMetrics | None = None,
    ) -> None:
        self.settings = settings
        self.name = name
        # Set by ``KeelDB`` when lag-tolerant reads go to PostgreSQL replicas: after
        # each commit that wrote, the request notes the primary's WAL position, for
        # the client to read its writes (``keel_db.read_after``).
        self.notes_commit_positions = False
        self.engine: AsyncEngine = make_async_engine(settings)
        self.sync_engine: Engine = make_sync_engine(settings)
        # The request path is what is measured; the sync side only logs slow queries.
        instrument(self.engine, name=name, slow_query_ms=settings.slow_query_ms, metrics=metrics)
        instrument(self.sync_engine, name=f"{name}-sync", slow_query_ms=settings.slow_query_ms)
        # Tables written in a transaction, told to these after its commit (the
        # cache forgets what it computed from them).
        self.commit_listeners: list[Callable[[set[str]], Awaitable[None]]] = []
        _record_written_tables(self.engine)
        # expire_on_commit=False: objects stay readable after the commit, which is
        # when a route serialises them (an async session cannot lazy-load then).
        self.sessionmaker = async_sessionmaker(
            self.engine,
            class_=AsyncSession,
            expire_on_commit=False,
            info={_DATABASE: self},
        )
        # Same pool and events. SQLite and MySQL keep their transactions: MySQL would
        # pay a round trip to switch autocommit on and off, SQLite has no server.
        self.read_engine: AsyncEngine = (
            self.engine.execution_options(isolation_level="AUTOCOMMIT")
            if self.dialect == "postgresql"
            else self.engine
        )
        self.read_sessionmaker = async_sessionmaker(
            self.read_engine, class_=AsyncSession, expire_on_commit=False, info={_READ: True}
        )
        self.sync_sessionmaker = sessionmaker(
            self.sync_engine, class_=Session, expire_on_commit=False
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def ping(self) -> bool:
        """True when the database answers ``SELECT 1`` (bound the wait with
        ``asyncio.timeout`` around the call)."""
        try:
            async with self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception:  # whatever the reason, it did not answer
            return False
        return True

    async def tables_committed(self, tables: set[str]) -> None:
        for listener in self.commit_listeners:
            await listener(tables)
        if self.notes_commit_positions:
            await self._note_commit_position()

    async def _note_commit_position(self) -> None:
        """The primary's WAL position now, which the commit just made is behind, for
        this request's response (one more round trip per unit of work that wrote,
        only with replicas). If it cannot be read the write still stands: the
        response goes without the position, and a log line says so."""
        request = current_read_after()
        if request is None:
            return
        try:
            async with self.read_engine.connect() as connection:
                found = await connection.exec_driver_sql("SELECT pg_current_wal_lsn()::text")
                request.note_commit(parse_position(found.scalar_one()))
        except Exception as error:  # the commit is done; the client must hear so
            logger.warning("could not read the WAL position after a commit: %s", error)

    async def dispose(self) -> None:
        await self.engine.dispose()
        self.sync_engine.dispose()


_DATABASE = "keel_database"
_READ = "keel_read_only"
_WRITTEN = "keel_written_tables"
_IN_TRANSACTION = "keel_db_in_transaction"


def _record_written_tables(engine: AsyncEngine) -> None:
    """Note on the connection which tables each INSERT, UPDATE or DELETE touches."""

    @event.listens_for(engine.sync_engine, "after_cursor_execute")
    def _note(
        conn: Any, _cursor: Any, _statement: str, _params: Any, context: Any, _many: bool
    ) -> None:
        if context is None or not (context.isinsert or context.isupdate or context.isdelete):
            return
        table = getattr(getattr(context.compiled, "statement", None), "table", None)
        name = getattr(table, "name", None)
        if name:
            note_written(conn, name)


def note_written(connection: Any, table: str) -> None:
    """Note that the transaction on ``connection`` (sync or async) wrote ``table``,
    for a write no cursor event sees (PostgreSQL COPY)."""
    connection.info.setdefault(_WRITTEN, set()).add(table)


async def _take_written_tables(session: AsyncSession) -> set[str]:
    connection = await session.connection()
    written: set[str] = connection.info.pop(_WRITTEN, set())
    return written


@contextmanager
def standalone_transaction(settings: EngineSettings) -> Iterator[Session]:
    """A sync session in one transaction, on an engine of its own, for the command
    line and scripts: commit on success, roll back on any error, engine disposed."""
    engine = make_sync_engine(settings)
    try:
        with sessionmaker(engine, class_=Session, expire_on_commit=False).begin() as session:
            yield session
    finally:
        engine.dispose()


@asynccontextmanager
async def transaction(session: AsyncSession) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit when the block succeeds, roll back on any error.

    Works whether or not the session already began a transaction (a dependency that
    loaded the current user has). On PostgreSQL and MariaDB, reads done before the
    block are part of the same transaction; on SQLite the unit of work starts afresh
    with the write lock (see ``_begin_writing``).

    Blocks do not nest: an inner one would commit the outer one's work so far,
    which a later failure could no longer undo. It raises ``RuntimeError`` instead;
    a nested unit of work is a ``savepoint``.
    """
    if session.info.get(_READ):
        raise RuntimeError("a read session cannot run a unit of work: use AsyncSessionDep")
    if session.info.get(_IN_TRANSACTION):
        raise RuntimeError(
            "transaction() inside transaction() on one session would commit the outer "
            "block early: use savepoint() for a nested unit of work"
        )
    await _begin_writing(session)
    await _take_written_tables(session)  # forget what an earlier transaction noted
    session.info[_IN_TRANSACTION] = True
    try:
        yield session
        await session.flush()  # so that every write of the block has been noted
        written = await _take_written_tables(session)
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    finally:
        session.info.pop(_IN_TRANSACTION, None)
    database: Database | None = session.info.get(_DATABASE)
    if written and database is not None:
        await database.tables_committed(written)


async def _begin_writing(session: AsyncSession) -> None:
    """On SQLite, start the unit of work with ``BEGIN IMMEDIATE``.

    SQLite cannot turn a read transaction into a write one once another connection
    has written since it began: it fails at once with "database is locked", without
    waiting. So a unit of work takes the write lock up front (waiting up to the busy
    timeout for other writers), and a read-only transaction the session already
    holds (the current-user lookup, say) is committed first; its objects stay
    loaded. Server databases need none of this.
    """
    if session.bind is None or session.bind.dialect.name != "sqlite":
        return
    if session.in_transaction():
        await session.commit()
    await session.connection(execution_options={SQLITE_BEGIN: "IMMEDIATE"})


@asynccontextmanager
async def savepoint(session: AsyncSession) -> AsyncIterator[AsyncSession]:
    """A nested unit of work inside ``transaction``: on error only the work done in
    this block is undone (``ROLLBACK TO SAVEPOINT``) and the error propagates, so
    the caller can record it and carry on with the outer transaction.

    A deadlock on MySQL/MariaDB ends the whole transaction, savepoints included, so
    there is nothing to roll back to: then the deadlock itself propagates (not the
    "savepoint does not exist" that rolling back to it answers), and ``retrying``
    runs the unit of work again from the start, as after a deadlock anywhere else.
    """
    nested = await session.begin_nested()
    try:
        # SQLAlchemy emits SAVEPOINT lazily, at the session's next use of its
        # connection; a Connection object fetched before this block would run its
        # statements outside the savepoint. Emit it now.
        await session.connection()
        yield session
    except BaseException as error:
        try:
            await nested.rollback()
        except DBAPIError as lost:
            if is_retryable(error) and is_retryable(lost):
                raise error from lost
            raise
        raise
    await nested.commit()
