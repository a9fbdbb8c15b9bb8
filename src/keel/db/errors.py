"""Driver errors -> HTTP answers.

The database enforces uniqueness, foreign keys and CHECKs; this module turns what
each driver says when one is violated (SQLSTATE on PostgreSQL, errno on MySQL and
MariaDB, the message on SQLite) into one ``ConstraintViolation`` and then into a 409
or 422 with a sentence. Constraint names follow ``keel.db.models.NAMING_CONVENTION``,
so a domain can register a better sentence for its own constraints::

    register_constraint_messages({"uq_users_email": "A user with this email already exists."})

An unreachable database, a pool that has no connection to give, a timed-out
statement or a server shutting down become 503 with ``Retry-After``.
"""

from __future__ import annotations

import enum
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc

from keel.db.versioning import install_stale_data_handler

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 2
UNAVAILABLE_DETAIL = "The database is not available right now; please retry shortly."
DATA_ERROR_DETAIL = "A value does not fit its column: too long, out of range or malformed."


class Violation(enum.Enum):
    UNIQUE = "unique"
    FOREIGN_KEY = "foreign_key"
    CHECK = "check"
    NOT_NULL = "not_null"
    OTHER = "other"


@dataclass(frozen=True)
class ConstraintViolation:
    kind: Violation
    constraint: str | None = None


_DEFAULT_MESSAGES = {
    Violation.UNIQUE: "A record with the same unique values already exists.",
    Violation.FOREIGN_KEY: (
        "The request refers to a record that does not exist, "
        "or removes one that other records still refer to."
    ),
    Violation.CHECK: "A value is outside the range the database accepts.",
    Violation.NOT_NULL: "A required value is missing.",
    Violation.OTHER: "The request conflicts with the data already stored.",
}
_STATUS = {
    Violation.UNIQUE: status.HTTP_409_CONFLICT,
    Violation.FOREIGN_KEY: status.HTTP_409_CONFLICT,
    Violation.CHECK: status.HTTP_422_UNPROCESSABLE_CONTENT,
    Violation.NOT_NULL: status.HTTP_422_UNPROCESSABLE_CONTENT,
    Violation.OTHER: status.HTTP_409_CONFLICT,
}
_constraint_messages: dict[str, str] = {}


def register_constraint_messages(messages: Mapping[str, str]) -> None:
    """Sentences for named constraints, used instead of the generic ones."""
    _constraint_messages.update(messages)


# --- reading the driver's error --------------------------------------------------

_PG_STATES = {
    "23505": Violation.UNIQUE,
    "23503": Violation.FOREIGN_KEY,
    "23514": Violation.CHECK,
    "23502": Violation.NOT_NULL,
}
_MYSQL_ERRNOS = {
    1062: Violation.UNIQUE,
    1451: Violation.FOREIGN_KEY,
    1452: Violation.FOREIGN_KEY,
    3819: Violation.CHECK,  # MySQL
    4025: Violation.CHECK,  # MariaDB
    1048: Violation.NOT_NULL,
    1364: Violation.NOT_NULL,
}
_MYSQL_NAME = re.compile(r"(?:for key|CONSTRAINT|constraint) [`']([^`']+)[`']")
_SQLITE_KINDS = {
    "UNIQUE constraint failed": Violation.UNIQUE,
    "FOREIGN KEY constraint failed": Violation.FOREIGN_KEY,
    "CHECK constraint failed": Violation.CHECK,
    "NOT NULL constraint failed": Violation.NOT_NULL,
}


def sqlstate(orig: Any) -> str | None:
    """SQLSTATE from psycopg (``orig.sqlstate``) or asyncpg (on the wrapped cause)."""
    for candidate in (orig, getattr(orig, "__cause__", None)):
        state = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if isinstance(state, str):
            return state
    return None


def _pg_constraint(orig: Any) -> str | None:
    diag = getattr(orig, "diag", None)  # psycopg
    if diag is not None and diag.constraint_name:
        return str(diag.constraint_name)
    cause = getattr(orig, "__cause__", None)  # asyncpg
    name = getattr(cause, "constraint_name", None)
    return str(name) if name else None


def mysql_errno(orig: Any) -> int | None:
    args = getattr(orig, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def _from_mysql(orig: Any, errno: int) -> ConstraintViolation:
    kind = _MYSQL_ERRNOS.get(errno, Violation.OTHER)
    match = _MYSQL_NAME.search(str(orig.args[1]) if len(orig.args) > 1 else "")
    # MySQL 8 says 'table.uq_name'; MariaDB says 'uq_name'.
    name = match.group(1).rsplit(".", 1)[-1] if match else None
    return ConstraintViolation(kind, name)


def _from_sqlite(message: str) -> ConstraintViolation:
    for prefix, kind in _SQLITE_KINDS.items():
        if message.startswith(prefix):
            detail = message[len(prefix) :].lstrip(": ").strip()
            if kind is Violation.UNIQUE and detail:
                # "users.email" or "tasks.owner_id, tasks.title": rebuild the
                # name the naming convention gave the constraint.
                columns = [part.strip().split(".") for part in detail.split(",")]
                table = columns[0][0]
                return ConstraintViolation(
                    kind, f"uq_{table}_" + "_".join(column for _, column in columns)
                )
            if kind is Violation.CHECK and detail and " " not in detail:
                return ConstraintViolation(kind, detail)
            return ConstraintViolation(kind)
    return ConstraintViolation(Violation.OTHER)


def constraint_violation(error: sa_exc.DBAPIError) -> ConstraintViolation | None:
    """Which constraint the error says was broken, on any of the three dialects, or
    None when it is not about a constraint. (MariaDB reports a failed CHECK as an
    OperationalError, so this looks past the exception class.)"""
    orig = error.orig
    errno = mysql_errno(orig)  # first: PyMySQL errors carry a (coarse) sqlstate too
    if errno is not None:
        if errno in _MYSQL_ERRNOS:
            return _from_mysql(orig, errno)
        return ConstraintViolation(Violation.OTHER) if _is_integrity(error) else None
    if not _is_integrity(error):
        return None
    state = sqlstate(orig)
    if state is not None:
        return ConstraintViolation(_PG_STATES.get(state, Violation.OTHER), _pg_constraint(orig))
    return _from_sqlite(str(orig))


def _is_integrity(error: sa_exc.DBAPIError) -> bool:
    return isinstance(error, sa_exc.IntegrityError)


def violation_detail(violation: ConstraintViolation) -> str:
    if violation.constraint and violation.constraint in _constraint_messages:
        return _constraint_messages[violation.constraint]
    return _DEFAULT_MESSAGES[violation.kind]


# --- transient failures ------------------------------------------------------------

# SQLSTATE classes that mean "not now": connection exception, transaction rollback
# (serialization failure, deadlock), insufficient resources, operator intervention
# (incl. statement timeout), system error.
_TRANSIENT_PG_CLASSES = ("08", "40", "53", "57", "58")
# MySQL/MariaDB: too many connections, server shutdown, lock wait timeout, deadlock,
# query interrupted, max_statement_time exceeded, can't connect, server gone, lost
# connection.
_TRANSIENT_MYSQL_ERRNOS = {1040, 1053, 1205, 1213, 1317, 1969, 2002, 2003, 2006, 2013, 2055, 3024}


def is_unavailable(error: BaseException) -> bool:
    """True when the error says the database cannot serve us now, not that the
    request was wrong: the caller should answer 503 and the client retry."""
    if isinstance(error, sa_exc.TimeoutError | ConnectionError | TimeoutError):
        return True
    if not isinstance(error, sa_exc.DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    errno = mysql_errno(error.orig)
    if errno is not None:
        return errno in _TRANSIENT_MYSQL_ERRNOS
    state = sqlstate(error.orig)
    if state is not None:
        return state.startswith(_TRANSIENT_PG_CLASSES)
    return isinstance(error, sa_exc.OperationalError | sa_exc.InterfaceError)


# --- FastAPI handlers --------------------------------------------------------------


def invalid_input(
    location: tuple[str | int, ...], message: str, kind: str = "value_error"
) -> RequestValidationError:
    """A 422 in FastAPI's own list form, for a rule checked outside the schema:
    ``raise invalid_input(("body", "to_user_id"), "The task already belongs to this user")``.
    """
    return RequestValidationError([{"type": kind, "loc": location, "msg": message}])


def unavailable_response() -> JSONResponse:
    return JSONResponse(
        {"detail": UNAVAILABLE_DETAIL},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


async def _database_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, sa_exc.DBAPIError | sa_exc.TimeoutError | OSError)
    if isinstance(error, sa_exc.DBAPIError):
        violation = constraint_violation(error)
        if violation is not None:
            status_code = _STATUS[violation.kind]
            if status_code == status.HTTP_422_UNPROCESSABLE_CONTENT:
                return rejected_value_response(violation_detail(violation))
            return JSONResponse({"detail": violation_detail(violation)}, status_code=status_code)
        if isinstance(error, sa_exc.DataError) or _value_refused_by_driver(error):
            return rejected_value_response(DATA_ERROR_DETAIL)
    if is_unavailable(error):
        logger.warning("database unavailable on %s %s: %s", request.method, request.url.path, error)
        return unavailable_response()
    raise error


def rejected_value_response(message: str) -> JSONResponse:
    """A 422 for a value the database refused, in FastAPI's list form like every
    422; the database does not say which field, so the location is the request."""
    return JSONResponse(
        {"detail": [{"type": "value_error", "loc": ["request"], "msg": message}]},
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
    )


def _value_refused_by_driver(error: sa_exc.DBAPIError) -> bool:
    """A value the database or its driver refused, which SQLAlchemy wraps as a bare
    DBAPIError on asyncpg: a PostgreSQL data exception (SQLSTATE class 22, such as a
    NUL character in text), or a value asyncpg cannot encode before sending it (an
    int beyond int32 for an INTEGER column)."""
    state = sqlstate(error.orig)
    if state is not None and state.startswith("22"):
        return True
    cause: BaseException | None = error.orig
    while cause is not None:
        if isinstance(cause, OverflowError) or type(cause).__name__ == "DataError":
            return True
        cause = cause.__cause__
    return False


async def _out_of_range(_request: Request, _error: Exception) -> JSONResponse:
    # sqlite3 refuses to bind an int beyond 64 bits with OverflowError (not a
    # DBAPIError): a number from the request that no column can hold.
    return rejected_value_response(DATA_ERROR_DETAIL)


def install_error_handlers(app: FastAPI) -> None:
    """Map database errors to 409 / 422 / 503 for every route of ``app``: a broken
    unique or foreign key is a 409, a broken CHECK or NOT NULL and a value that does
    not fit its column a 422, a database that cannot serve now a 503; anything else
    stays a 500 (a bug). A versioned row changed by someone else meanwhile is a 412
    (``keel.db.versioning``)."""
    for error_type in (sa_exc.DBAPIError, sa_exc.TimeoutError, ConnectionError, TimeoutError):
        app.add_exception_handler(error_type, _database_error)
    app.add_exception_handler(OverflowError, _out_of_range)
    install_stale_data_handler(app)
