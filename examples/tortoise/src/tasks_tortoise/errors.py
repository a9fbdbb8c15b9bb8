"""Tortoise's and the drivers' errors -> HTTP answers (409, 422, 503), as Keel gives them.

Tortoise wraps a driver's error in its own ``IntegrityError`` or
``OperationalError`` with the driver's exception in ``args[0]``, and lets some
through unwrapped (asyncpg's lost connections, ``OSError`` from a refused
connect). Which constraint broke is read from the driver's code, never from
Tortoise's class or text: errno on MariaDB (which reports a failed CHECK as an
OperationalError), SQLSTATE on PostgreSQL, the extended result code on SQLite.
The message is read only for the constraint's name where the code does not carry
it (MariaDB's key name, SQLite's column list). Tortoise's own
``tortoise_exception_handlers()`` would answer every IntegrityError with a 422
holding the database's raw text; these handlers replace it.

A database that cannot serve now (refused, gone, timed out, locked) is a 503 with
``Retry-After``; an ``OSError`` or ``TimeoutError`` that no database call raised is
a bug and stays a 500.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping
from typing import Any

import asyncmy.errors
import asyncpg
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from keel_db import (
    ConstraintViolation,
    DomainError,
    Violation,
    mysql_errno,
    mysql_violation,
    postgresql_violation,
    rejected_value_response,
    sqlite_code,
    sqlstate,
    unavailable_response,
    violation_detail,
)
from tortoise.exceptions import BaseORMException, DBConnectionError

logger = logging.getLogger(__name__)

# SQLite's extended result codes of SQLITE_CONSTRAINT (19).
_SQLITE_CODES = {
    2067: Violation.UNIQUE,
    1555: Violation.UNIQUE,  # primary key
    787: Violation.FOREIGN_KEY,
    275: Violation.CHECK,
    1299: Violation.NOT_NULL,
}

# "Not now": connection exception, transaction rollback, insufficient resources,
# operator intervention (statement timeout, shutdown), system error.
_TRANSIENT_PG_CLASSES = ("08", "40", "53", "57", "58")
# Too many connections, shutdown, lock wait timeout, deadlock, interrupted,
# max_statement_time, cannot connect, server gone, connection lost.
_TRANSIENT_MYSQL_ERRNOS = {1040, 1053, 1205, 1213, 1317, 1969, 2002, 2003, 2006, 2013, 2055}
# Busy, locked, out of memory, interrupted, I/O, full, cannot open, protocol.
_TRANSIENT_SQLITE_CODES = {5, 6, 7, 9, 10, 13, 14, 15}
_DRIVER_MODULES = ("asyncpg", "asyncmy", "aiosqlite", "sqlite3", "tortoise.backends")

# The exception types that may carry a database's answer (the handlers decide).
DATABASE_ERRORS: tuple[type[Exception], ...] = (
    BaseORMException,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncmy.errors.MySQLError,
    sqlite3.Error,
    OSError,  # TimeoutError and ConnectionError too
)


def driver_error(error: BaseException) -> BaseException:
    """The driver's exception inside Tortoise's wrapper (or ``error`` itself)."""
    if isinstance(error, BaseORMException) and error.args:
        inner = error.args[0]
        if isinstance(inner, BaseException):
            return inner
    return error


def _errno(orig: BaseException) -> int | None:
    """MariaDB's error number (asyncmy's ``args[0]``); None for any other error
    (an ``OSError``'s ``args[0]`` is an errno too, of the operating system)."""
    return mysql_errno(orig) if isinstance(orig, asyncmy.errors.MySQLError) else None


def _sqlite_violation(orig: sqlite3.Error) -> ConstraintViolation:
    kind = _SQLITE_CODES.get(getattr(orig, "sqlite_errorcode", -1), Violation.OTHER)
    detail = str(orig).partition(":")[2].strip()
    if kind is Violation.UNIQUE and detail:
        # "tasks.owner_id, tasks.title" -> Keel's name for it, uq_tasks_owner_id_title
        columns = [part.strip().split(".") for part in detail.split(",")]
        name = f"uq_{columns[0][0]}_" + "_".join(column[-1] for column in columns)
        return ConstraintViolation(kind, name)
    if kind is Violation.CHECK and detail and " " not in detail:
        return ConstraintViolation(kind, detail)
    return ConstraintViolation(kind)


def constraint_violation(error: BaseException) -> ConstraintViolation | None:
    """Which constraint ``error`` says a write broke, or None if it is not about one."""
    orig = driver_error(error)
    if _errno(orig) is not None:  # first: asyncmy's errors carry a coarse sqlstate too
        return mysql_violation(orig)
    if isinstance(orig, asyncpg.IntegrityConstraintViolationError):
        return postgresql_violation(orig)
    if isinstance(orig, sqlite3.IntegrityError):
        return _sqlite_violation(orig)
    return None


def _raised_by_a_driver(error: BaseException) -> bool:
    """True when a frame of the traceback is the driver's or Tortoise's client."""
    frame = error.__traceback__
    while frame is not None:
        module = str(frame.tb_frame.f_globals.get("__name__", ""))
        if module.startswith(_DRIVER_MODULES):
            return True
        frame = frame.tb_next
    return False


def is_unavailable(error: BaseException) -> bool:
    """True when the database cannot serve now: the client should retry later."""
    if isinstance(error, DBConnectionError):
        return True
    orig = driver_error(error)
    errno = _errno(orig)
    if errno is not None:
        return errno in _TRANSIENT_MYSQL_ERRNOS
    if isinstance(orig, asyncpg.PostgresError):
        return (sqlstate(orig) or "").startswith(_TRANSIENT_PG_CLASSES)
    if isinstance(orig, sqlite3.Error):
        return sqlite_code(orig) in _TRANSIENT_SQLITE_CODES
    if isinstance(orig, asyncpg.InterfaceError | OSError):  # lost, refused, timed out
        return _raised_by_a_driver(orig) or _raised_by_a_driver(error)
    return False


def _is_bad_value(orig: BaseException) -> bool:
    """A value the database refused: PostgreSQL's data exceptions (class 22),
    MariaDB's "out of range" and "too long" (1264, 1406)."""
    if _errno(orig) in (1264, 1366, 1406):
        return True
    return isinstance(orig, asyncpg.DataError) or (sqlstate(orig) or "").startswith("22")


def database_error_response(
    request: Request, error: Exception, messages: Mapping[str, str]
) -> JSONResponse:
    """409 / 422 / 503 for a database's error; anything else is re-raised (a 500)."""
    violation = constraint_violation(error)
    if violation is not None:
        detail = violation_detail(violation, messages)
        if violation.kind in (Violation.CHECK, Violation.NOT_NULL):
            return rejected_value_response(detail)
        return JSONResponse({"detail": detail}, status_code=409)
    if _is_bad_value(driver_error(error)):
        return rejected_value_response(
            "A value does not fit its column: too long, out of range or malformed."
        )
    if is_unavailable(error):
        logger.warning("database unavailable on %s %s: %r", request.method, request.url, error)
        return unavailable_response()
    raise error


async def _validation_error(_request: Request, error: Exception) -> JSONResponse:
    """FastAPI's 422 without the ``input`` (and docs ``url``) it would echo back:
    the refused value may be a password."""
    assert isinstance(error, RequestValidationError)
    errors: list[dict[str, Any]] = [
        {key: value for key, value in item.items() if key not in ("input", "url")}
        for item in error.errors()
    ]
    return JSONResponse({"detail": jsonable_encoder(errors)}, status_code=422)


async def _domain_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, DomainError)
    return JSONResponse({"detail": error.body()}, status_code=error.status_code)


def install_error_handlers(app: FastAPI, *, constraint_messages: Mapping[str, str]) -> None:
    """Every answer of this module, and the services' domain errors (404, 409, 422)."""
    messages = dict(constraint_messages)

    async def database_error(request: Request, error: Exception) -> JSONResponse:
        return database_error_response(request, error, messages)

    for error_type in DATABASE_ERRORS:
        app.add_exception_handler(error_type, database_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(DomainError, _domain_error)
