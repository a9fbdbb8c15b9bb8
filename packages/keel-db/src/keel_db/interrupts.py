"""Telling the database's failures apart from the same exception types raised by a bug.

A ``TimeoutError``, ``ConnectionError`` or ``OverflowError`` says nothing about where
it came from: raised by a route's own code it is a bug and must stay a 500, raised
by the driver or the pool it means "the database cannot serve this now" (503) or "a
value no column can hold" (422). So ``keel_db`` marks or converts them where it can
see them, on every engine it makes:

- a driver that cannot connect (asyncpg raises ``OSError`` or ``TimeoutError``, not a
  DB-API error) raises ``DatabaseUnreachableError`` instead, chained to the cause;
- sqlite3 refusing to bind an integer beyond 64 bits (``OverflowError``) becomes
  SQLAlchemy's ``DataError``, as every other driver reports such a value;
- a cancellation that interrupts a statement, or a wait for a connection, is marked;
  the ``TimeoutError`` that ``asyncio.timeout`` or ``asyncio.wait_for`` turns it into
  is then recognised by ``interrupted_database_call``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import ExceptionContext

_MARK = "_keel_interrupted_database_call"


class DatabaseUnreachableError(Exception):
    """The driver could not open a connection (refused, unreachable, timed out)."""


def mark_database_cancel(cancelled: BaseException) -> None:
    """Note that ``cancelled`` interrupted a database call or a wait for a connection."""
    setattr(cancelled, _MARK, True)


def interrupted_database_call(error: BaseException) -> bool:
    """True when ``error`` (a ``TimeoutError``) is a cancellation, marked by
    ``mark_database_cancel``, that timed out: it or a cause or context of it."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if getattr(current, _MARK, False):
            return True
        pending += [current.__cause__, current.__context__]
    return False


def classify_driver_errors(engine: Engine) -> None:
    """Install the conversions and marks described in the module on ``engine``."""

    @event.listens_for(engine, "do_connect")
    def _connect(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        try:
            return dialect.connect(*cargs, **cparams)
        except (OSError, TimeoutError) as error:
            raise DatabaseUnreachableError(
                f"could not connect to the database: {type(error).__name__}: {error}"
            ) from error

    @event.listens_for(engine, "handle_error")
    def _classify(context: ExceptionContext) -> BaseException | None:
        error = context.original_exception
        if isinstance(error, asyncio.CancelledError):
            mark_database_cancel(error)
            return None
        if isinstance(error, OverflowError) and context.sqlalchemy_exception is None:
            return sa_exc.DataError(
                context.statement, context.parameters, error, hide_parameters=True
            )
        return None
