"""Driver errors -> HTTP answers.

The database enforces uniqueness, foreign keys and CHECKs; ``keel_db.classify``
reads what each driver says when one is violated into one ``ConstraintViolation``,
and this module turns that into a 409 or 422 with a sentence. Constraint names
follow ``keel_db.NAMING_CONVENTION`` (``with_naming_convention``), so an app can
give a better sentence for its own constraints, per app::

    DatabaseConfig(
        ...,
        constraint_messages={"uq_users_email": "A user with this email already exists."},
    )

An unreachable database, a pool that has no connection to give, a timed-out
statement or a server shutting down become 503 with ``Retry-After``. Only what the
driver or the pool raised counts (``keel_db.interrupts`` tells it apart): a
``TimeoutError`` or ``ConnectionError`` raised by a route's own code is a bug, and
stays a 500 with its traceback in the log.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from types import MappingProxyType

from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc

from keel_db.classify import (
    ConstraintViolation,
    Violation,
    constraint_violation,
    is_retryable,
    is_unavailable,
    mysql_errno,
    sqlstate,
)
from keel_db.domain_errors import DomainError
from keel_db.interrupts import DatabaseUnreachableError
from keel_db.versioning import install_stale_data_handler

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 2
UNAVAILABLE_DETAIL = "The database is not available right now; please retry shortly."
DATA_ERROR_DETAIL = "A value does not fit its column: too long, out of range or malformed."

# Read from the driver's error by keel_db.classify; here for the callers that map them.
__all__ = [
    "ConstraintViolation",
    "Violation",
    "constraint_violation",
    "is_retryable",
    "is_unavailable",
    "mysql_errno",
    "sqlstate",
]

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
# A constraint's name -> the sentence a client reads when a write breaks it.
ConstraintMessages = Mapping[str, str]
_NO_MESSAGES: ConstraintMessages = MappingProxyType({})


def violation_detail(
    violation: ConstraintViolation, messages: ConstraintMessages = _NO_MESSAGES
) -> str:
    """The sentence for ``violation``: the one ``messages`` gives its constraint, else
    the generic one for its kind."""
    if violation.constraint and violation.constraint in messages:
        return messages[violation.constraint]
    return _DEFAULT_MESSAGES[violation.kind]


# --- FastAPI handlers --------------------------------------------------------------


def unavailable_response() -> JSONResponse:
    return JSONResponse(
        {"detail": UNAVAILABLE_DETAIL},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def database_error_response(
    request: Request, error: Exception, messages: ConstraintMessages = _NO_MESSAGES
) -> JSONResponse:
    """The answer for a database error: 409, 422 or 503; anything else re-raised."""
    if isinstance(error, sa_exc.DBAPIError):
        violation = constraint_violation(error)
        if violation is not None:
            detail = violation_detail(violation, messages)
            status_code = _STATUS[violation.kind]
            if status_code == status.HTTP_422_UNPROCESSABLE_CONTENT:
                return rejected_value_response(detail)
            return JSONResponse({"detail": detail}, status_code=status_code)
        if isinstance(error, sa_exc.DataError) or _value_refused_by_driver(error):
            return rejected_value_response(DATA_ERROR_DETAIL)
    if is_unavailable(error):
        logger.warning("database unavailable on %s %s: %s", request.method, request.url.path, error)
        return unavailable_response()
    raise error


async def _domain_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, DomainError)
    return JSONResponse({"detail": error.body()}, status_code=error.status_code)


async def _validation_error(_request: Request, error: Exception) -> JSONResponse:
    """FastAPI's 422, minus the ``input`` (and the docs ``url``) it would echo back:
    the value refused may be a password."""
    assert isinstance(error, RequestValidationError)
    errors = [
        {key: value for key, value in item.items() if key not in ("input", "url")}
        for item in error.errors()
    ]
    return JSONResponse({"detail": jsonable_encoder(errors)}, status_code=422)


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


def install_error_handlers(
    app: FastAPI, *, constraint_messages: ConstraintMessages = _NO_MESSAGES
) -> None:
    """Map database errors to 409 / 422 / 503 for every route of ``app``: a broken
    unique or foreign key is a 409, a broken CHECK or NOT NULL and a value that does
    not fit its column a 422, a database that cannot serve now a 503; anything else
    stays a 500 (a bug), and so does a ``TimeoutError`` that did not interrupt a
    database call. A versioned row changed by someone else meanwhile is a 412
    (``keel_db.versioning``). A service's ``keel_db.domain_errors`` become their
    404, 409, 412 or 422. Invalid input is FastAPI's 422 without the ``input``
    it would echo back, so a refused password never appears in an answer.
    ``constraint_messages`` gives the 409 (or 422) sentence of a named constraint."""
    messages = MappingProxyType(dict(constraint_messages))

    async def database_error(request: Request, error: Exception) -> JSONResponse:
        return database_error_response(request, error, messages)

    for error_type in (
        sa_exc.DBAPIError,
        sa_exc.TimeoutError,
        DatabaseUnreachableError,
        TimeoutError,
    ):
        app.add_exception_handler(error_type, database_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(DomainError, _domain_error)
    install_stale_data_handler(app)
