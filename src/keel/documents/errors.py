"""PyMongo's errors -> the answers the SQL database's errors get (``keel_db.errors``).

The document database enforces what it can, like the SQL one: a duplicate key is a
409 with keel_db's sentence for a broken unique constraint; a document the
collection's ``$jsonSchema`` validator refuses (code 121) is a 422 in FastAPI's
list form; no server within the server-selection timeout, a reply slower than the
socket timeout, a dropped connection or a primary stepping down is a 503 with
``Retry-After`` (``keel_db.unavailable_response``). Any other PyMongo error is a
bug and stays a 500 with its traceback in the log."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse
from pymongo.errors import ConnectionFailure, ExecutionTimeout, OperationFailure

from keel_db import (
    ConstraintViolation,
    InvalidInputError,
    Violation,
    unavailable_response,
    violation_detail,
)

logger = logging.getLogger(__name__)

DUPLICATE_KEY_CODES = frozenset({11000, 11001, 12582})
DOCUMENT_VALIDATION_FAILURE = 121
REFUSED = "A value does not fit the stored document: too long, out of range or malformed."


def document_error_response(request: Request, error: Exception) -> JSONResponse:
    """409, 422 or 503 for what PyMongo raised; anything else re-raised (a 500)."""
    # ConnectionFailure covers ServerSelectionTimeoutError, NetworkTimeout,
    # AutoReconnect (NotPrimaryError too) and WaitQueueTimeoutError; ExecutionTimeout
    # is a server-side time limit.
    if isinstance(error, ConnectionFailure | ExecutionTimeout):
        logger.warning(
            "document database unavailable on %s %s: %s", request.method, request.url.path, error
        )
        return unavailable_response()
    if isinstance(error, OperationFailure):
        # find_one_and_update reports both as a command error, insert_one as a WriteError.
        if error.code in DUPLICATE_KEY_CODES:
            detail = violation_detail(ConstraintViolation(Violation.UNIQUE))
            return JSONResponse({"detail": detail}, status_code=status.HTTP_409_CONFLICT)
        if error.code == DOCUMENT_VALIDATION_FAILURE:
            refused = InvalidInputError(("request",), REFUSED)
            return JSONResponse(
                {"detail": refused.body()}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT
            )
    raise error


async def _handle(request: Request, error: Exception) -> JSONResponse:
    return document_error_response(request, error)


def install_document_error_handlers(app: FastAPI) -> None:
    for error_type in (ConnectionFailure, OperationFailure):
        app.add_exception_handler(error_type, _handle)
