"""Hot reads (and one-statement writes) below SQLAlchemy's execution path:
``PreparedRead`` and ``PreparedWrite``.

A ``PreparedRead`` is a SELECT built with SQLAlchemy (portable, parameterised, its
columns typed), compiled once per dialect on first use, and run on a connection
checked out of the engine's own pool (so the pool's limits, fairness, pings and
per-connection set-up all apply):

* on asyncpg, straight through the driver: ``Connection.fetch`` with asyncpg's cache
  of prepared statements, so from the second use on a connection a read is one
  Bind/Execute round trip, and SQLAlchemy's Connection, cursor and result objects
  are never made. Outside a transaction, as the read engine's autocommit sessions are;
* on the other drivers, through Core on the same pool (the statement is the same).

Behind PgBouncer in transaction mode (``EngineSettings.pgbouncer``) asyncpg's cache,
which names its statements, is off (``keel_db.pgbouncer``): the driver path keeps
each connection's statements itself, unnamed, and asyncpg sends a statement's Parse
again with its Bind, still one round trip.

Either way a row is a tuple in the order of the selected columns, each value
passed through its column type's own result processing (a ``TypeDecorator``'s too:
``UTCDateTime``, money in SQLite cents), and each parameter through its bind
processing: a row reads exactly as Core reads it. The engine's cursor events fire
around the call, so ``count_queries``, the metrics and the slow-query log see it as
any other statement; a driver error is raised as SQLAlchemy's ``DBAPIError`` of the
same class Core would raise (a lost connection is invalidated), so the error
handlers answer it alike.

Outside any unit of work: a ``PreparedRead`` reads; a ``PreparedWrite`` is one
``INSERT``/``UPDATE … RETURNING`` that commits by itself (asyncpg only). Writes of
more than one statement and ORM loading keep the usual path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import Select
from sqlalchemy.sql.dml import ReturningInsert, ReturningUpdate
from sqlalchemy.util import greenlet_spawn

from keel_db.interrupts import mark_database_cancel
from keel_db.pgbouncer import UNNAMED_STATEMENTS
from keel_db.session import Database

Processor = Callable[[Any], Any] | None
Row = tuple[Any, ...]


@dataclass
class _Plan:
    """A statement compiled for one dialect. The result processing depends on the
    types the server reports for the columns, so it is found on the first run."""

    sql: str
    names: tuple[str, ...]  # the bound parameters, in the driver's order
    binds: tuple[Processor, ...]
    fixed: dict[str, Any]  # the values of the statement's own literals (``version + 1``)
    types: tuple[Any, ...]  # the selected columns' types, for this dialect
    results: tuple[Processor, ...] | None = None  # None: no column needs processing
    described: bool = False


class PreparedRead:
    """``read = PreparedRead(select(...).where(t.c.id == bindparam("id")))``, then
    ``await read.rows(engine, id=7)``: the rows, as tuples, on the engine's pool."""

    def __init__(
        self, statement: Select[Any] | ReturningInsert[Any] | ReturningUpdate[Any]
    ) -> None:
        self.statement: Any = statement
        columns = statement.exported_columns  # iterating it gives columns, .keys() names
        self.keys: tuple[str, ...] = tuple(str(key) for key in columns.keys())  # noqa: SIM118
        self._plans: dict[tuple[str, str], _Plan] = {}

    def _plan(self, dialect: Dialect) -> _Plan:
        key = (dialect.name, dialect.driver)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = _compile(self.statement, dialect)
        return plan

    async def rows(self, engine: AsyncEngine, /, **params: Any) -> list[Row]:
        if not _on_asyncpg(engine):
            async with engine.connect() as connection:
                result = await connection.execute(self.statement, params)
                return [tuple(row) for row in result.all()]
        plan = self._plan(engine.dialect)
        args = [
            value if process is None else process(value)
            for value, process in zip(
                (params[n] if n in params else plan.fixed[n] for n in plan.names),
                plan.binds,
                strict=True,
            )
        ]
        records = await _fetch(engine, plan, args)
        if plan.results is None:
            return [tuple(record) for record in records]
        processors = plan.results
        return [
            tuple(v if p is None else p(v) for v, p in zip(record, processors, strict=True))
            for record in records
        ]


class PreparedWrite(PreparedRead):
    """A one-statement write with ``RETURNING`` (an ``INSERT``, an ``UPDATE``), prepared as a
    ``PreparedRead`` is, committed by itself: on asyncpg it runs outside a
    transaction, so it commits as it succeeds, in one round trip instead of
    ``BEGIN``, the statement and ``COMMIT``. ``tables`` are then told to the
    database's commit listeners (the cache forgets what it computed from them), as
    ``transaction`` does after its commit. Only on asyncpg (``on_driver``): the
    other drivers keep the ORM's path, which also knows MySQL's INSERT without
    RETURNING."""

    def __init__(
        self, statement: ReturningInsert[Any] | ReturningUpdate[Any], *, tables: set[str]
    ) -> None:
        super().__init__(statement)
        self.tables = frozenset(tables)

    @staticmethod
    def on_driver(database: Database) -> bool:
        return _on_asyncpg(database.engine)

    async def write(self, database: Database, **params: Any) -> list[Row]:
        if not self.on_driver(database):
            raise RuntimeError("PreparedWrite runs on asyncpg only: check on_driver() first")
        rows = await self.rows(database.engine, **params)
        await database.tables_committed(set(self.tables))
        return rows


def _on_asyncpg(engine: AsyncEngine) -> bool:
    """Whether statements run straight on the driver here (else through Core)."""
    return engine.dialect.driver == "asyncpg"


def _compile(statement: Any, dialect: Dialect) -> _Plan:
    compiled = statement.compile(dialect=dialect)
    names = tuple(compiled.positiontup or ())
    binds = tuple(
        compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names
    )
    types = tuple(column.type.dialect_impl(dialect) for column in statement.exported_columns)
    fixed = {
        name: compiled.binds[name].effective_value
        for name in names
        if not compiled.binds[name].required
    }
    return _Plan(compiled.string, names, binds, fixed, types)


def _describe(plan: _Plan, dialect: Dialect, prepared: Any) -> None:
    """The result processing of each column, for the type (its OID) the server
    reports, as SQLAlchemy's asyncpg cursor reports it to Core."""
    oids = [attribute.type.oid for attribute in prepared.get_attributes()]
    results = tuple(
        type_.result_processor(dialect, oid) for type_, oid in zip(plan.types, oids, strict=True)
    )
    plan.results = results if any(results) else None
    plan.described = True


async def _fetch(engine: AsyncEngine, plan: _Plan, args: Sequence[Any]) -> Any:
    """``plan`` run through asyncpg on a connection of the engine's pool (checked out
    and in as a session's would be), with the engine's cursor events around it and
    the driver's errors translated as Core translates them. Not through a
    SQLAlchemy ``Connection``: making one costs more than the read."""
    sync_engine = engine.sync_engine
    pooled = await greenlet_spawn(_checkout, sync_engine)
    try:
        dispatch = sync_engine.dispatch
        dispatch.before_cursor_execute(pooled, None, plan.sql, args, None, False)
        driver: Any = pooled.driver_connection
        unnamed = pooled.info.get(UNNAMED_STATEMENTS)
        try:
            if unnamed is not None:  # behind PgBouncer
                records = await _fetch_unnamed(unnamed, driver, plan, args, sync_engine)
            elif plan.described:
                records = await driver.fetch(plan.sql, *args)
            else:  # the first run: asyncpg's prepared statement says the column types
                prepared = await driver.prepare(plan.sql)
                records = await prepared.fetch(*args)
                _describe(plan, sync_engine.dialect, prepared)
        except Exception as error:
            translated = _translated(sync_engine.dialect, pooled, plan, args, error)
            if translated is error:
                raise
            raise translated from error
        except BaseException as cancelled:  # asyncio.CancelledError: a timeout around it
            mark_database_cancel(cancelled)
            raise
        dispatch.after_cursor_execute(pooled, None, plan.sql, args, None, False)
        return records
    finally:
        await greenlet_spawn(pooled.close)


async def _fetch_unnamed(
    statements: dict[str, Any], driver: Any, plan: _Plan, args: Sequence[Any], engine: Engine
) -> Any:
    """``plan`` as this connection's unnamed statement, described once per connection
    (as asyncpg's cache would do with a named one): each run sends Parse, Bind,
    Execute and Sync together, which PgBouncer keeps on one server connection."""
    prepared = statements.get(plan.sql)
    if prepared is None:
        prepared = statements[plan.sql] = await driver.prepare(plan.sql, name="")
    records = await prepared.fetch(*args)
    if not plan.described:
        _describe(plan, engine.dialect, prepared)
    return records


def _checkout(sync_engine: Engine) -> Any:
    """A connection from the engine's pool; a driver error while connecting (the
    server starting up, refusing the login) raised as Core raises it when a
    ``Connection`` is made: wrapped, the engine's error events told, the pool
    invalidated on a disconnect."""
    try:
        return sync_engine.pool.connect()
    except sync_engine.dialect.loaded_dbapi.Error as error:
        Connection._handle_dbapi_exception_noconnection(error, sync_engine.dialect, sync_engine)
        raise  # pragma: no cover - the call above always raises


def _translated(
    dialect: Dialect, pooled: Any, plan: _Plan, args: Sequence[Any], error: Exception
) -> Exception:
    """``error`` as Core would raise it: the dialect's DB-API exception, wrapped in
    SQLAlchemy's ``DBAPIError`` class for it; a disconnect invalidates the connection."""
    adapted = pooled.dbapi_connection
    try:
        adapted._handle_exception(error)
    except Exception as dbapi_error:
        translated: Exception = dbapi_error
    else:  # pragma: no cover - _handle_exception always raises
        translated = error
    if not isinstance(translated, dialect.loaded_dbapi.Error):
        return error  # not the driver's (an OSError, a bug): raised as it is, as Core does
    disconnect = dialect.is_disconnect(translated, adapted, None)
    if disconnect:
        pooled.invalidate(translated)
    wrapped = sa_exc.DBAPIError.instance(
        plan.sql,
        args,
        translated,
        dialect.loaded_dbapi.Error,
        hide_parameters=True,
        connection_invalidated=disconnect,
        dialect=dialect,
    )
    assert isinstance(wrapped, sa_exc.DBAPIError)  # a driver error is always one
    return wrapped
