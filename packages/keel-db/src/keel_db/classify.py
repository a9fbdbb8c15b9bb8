"""Reading what a driver's error says, on SQLite, PostgreSQL and MySQL/MariaDB.

Which constraint a write broke (``constraint_violation``), whether the database
cannot serve now (``is_unavailable``) and whether the transaction lost a race and
may run again (``is_retryable``): by SQLSTATE on PostgreSQL, errno on MySQL and
MariaDB, the message on SQLite. ``keel_db.errors`` turns the answers into HTTP.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exc as sa_exc

from keel_db.interrupts import DatabaseUnreachableError, interrupted_database_call


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
    # asyncpg: on its own error, or on the cause SQLAlchemy's adapter wraps.
    for candidate in (orig, getattr(orig, "__cause__", None)):
        name = getattr(candidate, "constraint_name", None)
        if name:
            return str(name)
    return None


def postgresql_violation(orig: Any) -> ConstraintViolation:
    """The constraint a PostgreSQL integrity error (psycopg's or asyncpg's own
    exception) names, by its SQLSTATE."""
    return ConstraintViolation(
        _PG_STATES.get(sqlstate(orig) or "", Violation.OTHER), _pg_constraint(orig)
    )


def mysql_errno(orig: Any) -> int | None:
    args = getattr(orig, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def mysql_violation(orig: Any) -> ConstraintViolation | None:
    """The constraint a MySQL/MariaDB error (PyMySQL's, aiomysql's or asyncmy's own
    exception) names, by its error number; None when the number is not about a
    constraint."""
    errno = mysql_errno(orig)
    if errno not in _MYSQL_ERRNOS:
        return None
    kind = _MYSQL_ERRNOS[errno]
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
    if mysql_errno(orig) is not None:  # first: PyMySQL errors carry a (coarse) sqlstate too
        found = mysql_violation(orig)
        if found is None and _is_integrity(error):
            return ConstraintViolation(Violation.OTHER)
        return found
    if not _is_integrity(error):
        return None
    if sqlstate(orig) is not None:
        return postgresql_violation(orig)
    return _from_sqlite(str(orig))


def _is_integrity(error: sa_exc.DBAPIError) -> bool:
    return isinstance(error, sa_exc.IntegrityError)


# --- transient failures ------------------------------------------------------------

# SQLSTATE classes that mean "not now": connection exception, transaction rollback
# (serialization failure, deadlock), insufficient resources, operator intervention
# (incl. statement timeout), system error.
_TRANSIENT_PG_CLASSES = ("08", "40", "53", "57", "58")
# MySQL/MariaDB: too many connections, server shutdown, lock wait timeout, deadlock,
# savepoint gone with its deadlocked transaction, query interrupted, max_statement_time
# exceeded, can't connect, server gone, lost connection.
_TRANSIENT_MYSQL_ERRNOS = {
    *(1040, 1053, 1205, 1213, 1305, 1317, 1969),
    *(2002, 2003, 2006, 2013, 2055, 3024),
}


# SQLite's primary result codes for a database that cannot serve now: busy, locked,
# out of memory, interrupted, disk I/O, disk full, cannot open the file, lock
# protocol. Any other OperationalError (no such table, a syntax error) is a bug.
_TRANSIENT_SQLITE_CODES = {5, 6, 7, 9, 10, 13, 14, 15}


def sqlite_code(orig: Any) -> int | None:
    """The primary result code of a sqlite3 error (Python >= 3.11 carries it)."""
    code = getattr(orig, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


def is_unavailable(error: BaseException) -> bool:
    """True when the error says the database cannot serve us now, not that the
    request was wrong: the caller should answer 503 and the client retry."""
    if isinstance(error, sa_exc.TimeoutError | DatabaseUnreachableError):
        return True  # the pool had no connection to give; the driver could not connect
    if isinstance(error, TimeoutError):  # asyncio.timeout around a database call
        return interrupted_database_call(error)
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
    code = sqlite_code(error.orig)
    if code is not None:
        return code in _TRANSIENT_SQLITE_CODES
    return isinstance(error, sa_exc.OperationalError | sa_exc.InterfaceError)


# --- races lost --------------------------------------------------------------------

RETRYABLE_SQLSTATES = {"40001", "40P01"}
# Lock wait timeout, deadlock; and a savepoint that no longer exists, which on MySQL
# and MariaDB means a deadlock ended the whole transaction, savepoints included.
RETRYABLE_MYSQL_ERRNOS = {1205, 1213, 1305}


def is_retryable(error: BaseException) -> bool:
    """True when the transaction lost a race (deadlock, serialization failure, lock
    wait timeout, SQLite busy) and nothing it did was kept: run it again whole."""
    if not isinstance(error, sa_exc.DBAPIError):
        return False
    if "database is locked" in str(error.orig):  # SQLITE_BUSY
        return True
    errno = mysql_errno(error.orig)
    if errno is not None:
        return errno in RETRYABLE_MYSQL_ERRNOS
    return sqlstate(error.orig) in RETRYABLE_SQLSTATES
