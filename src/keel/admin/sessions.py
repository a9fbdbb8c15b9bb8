"""The admin's way to the database: the app's own primary engine, found when a page
is asked for, and its writes run as the API's are.

SQLAdmin wants a session factory when it is built, in ``create_app``; keel_db opens
the engines later, at the start of the app's lifespan (``KeelDB.start``), and closes
them at its end. So the admin gets ``PrimaryReads``, a session factory that looks
the app's primary up each time it makes a session: no second engine or pool, no
engine that outlives the app, and the same pool limits, timeouts, pragmas and
query metrics as the API.

Writes do not go through SQLAdmin's own insert and update (which commit on their
own); ``write`` runs them inside ``keel_db.retrying``, as the API's units of work:
one transaction (``BEGIN IMMEDIATE`` on SQLite), retried after a deadlock, the
cache told which tables changed after the commit. What the database refuses comes
back as ``AdminWriteError`` carrying the sentence the API answers for the same
error (``keel_db.errors.database_error_response`` with the app's constraint
messages), which the form shows.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from pydantic import BaseModel, ValidationError
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel.ext.asyncio.session import AsyncSession as WriteSession

from keel_db import (
    ConstraintMessages,
    DatabaseUnreachableError,
    DomainError,
    KeelDB,
    database_error_response,
    retrying,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

CHANGED_MEANWHILE = (
    "Someone else changed this record after you opened it; nothing was saved. "
    "Open it again to see their change, then edit."
)
UNEXPECTED = "The change could not be saved; nothing was written (the server log says why)."
# What keel_db answers with a sentence (install_error_handlers); anything else is a bug.
DATABASE_ERRORS = (sa_exc.DBAPIError, sa_exc.TimeoutError, DatabaseUnreachableError, TimeoutError)


class AdminWriteError(Exception):
    """A change that was refused and left nothing behind; ``str()`` is the sentence
    the form shows (SQLAdmin puts it above the form)."""


class PrimaryReads(async_sessionmaker[AsyncSession]):
    """SQLAdmin's session factory: sessions on the app's primary, in read mode
    (autocommit on PostgreSQL: no BEGIN and ROLLBACK around each page's SELECTs),
    found at each call, so it can be built before the engines exist.

    Plain SQLAlchemy sessions, which SQLAdmin is written for (SQLModel's warns on
    every ``execute``). The admin reads the primary, not a replica: after a save,
    the page must show the change."""

    def __init__(self, app: FastAPI) -> None:
        super().__init__(class_=AsyncSession, expire_on_commit=False)
        self._app = app

    def __call__(self, **local_kw: Any) -> AsyncSession:
        engine = KeelDB.of(self._app).database.read_engine
        return super().__call__(bind=engine, **local_kw)


async def write(app: FastAPI, request: Request, work: Callable[[WriteSession], Awaitable[T]]) -> T:
    """``await work(session)`` as one unit of work on the app's primary (run again
    after a deadlock); ``AdminWriteError`` with the API's sentence when it is
    refused. ``work`` reads what it changes itself, so that it can run again."""
    async with refusals(app, request) as session:
        return await retrying(session, lambda: work(session))


@asynccontextmanager
async def refusals(app: FastAPI, request: Request) -> AsyncIterator[WriteSession]:
    """A session on the app's primary, for a domain's service that runs its own
    unit of work (``keel.users.service``); whatever the block's writes are refused
    for comes out as ``AdminWriteError`` with the API's sentence."""
    keel_db = KeelDB.of(app)
    async with keel_db.database.sessionmaker() as session:
        try:
            yield session
        except AdminWriteError:
            raise
        except StaleDataError:  # a versioned row changed between our read and write
            raise AdminWriteError(CHANGED_MEANWHILE) from None
        except DomainError as refused:
            raise AdminWriteError(refused.detail) from None
        except DATABASE_ERRORS as error:
            sentence = api_sentence(request, error, keel_db.config.constraint_messages)
            raise AdminWriteError(sentence) from None
        except Exception:
            # SQLAdmin would show str(error), which for SQLAlchemy holds the SQL and
            # its parameters (a password hash, for users): the log gets it instead.
            logger.exception("admin write failed on %s", request.url.path)
            raise AdminWriteError(UNEXPECTED) from None


def parsed(schema: type[M], values: dict[str, Any]) -> M:
    """``values`` read by one of the API's input schemas; ``AdminWriteError`` with
    the rules they break, in the API's words, when it refuses them."""
    try:
        return schema.model_validate(values)
    except ValidationError as invalid:
        raise AdminWriteError(invalid_input(invalid)) from None


def invalid_input(error: ValidationError) -> str:
    """The rules a form broke, as the API's 422 names them (``title: String should
    have at most 255 characters``), without the value typed (a password, maybe)."""
    return "; ".join(
        f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}"
        for item in error.errors(include_input=False, include_url=False)
    )


def api_sentence(request: Request, error: Exception, messages: ConstraintMessages) -> str:
    """What the API answers for ``error``: the sentence of a named constraint, of a
    value that does not fit, of a database that is not available. Raises
    ``error`` itself when the API would answer 500 (a bug)."""
    return api_answer(request, error, messages)[1]


def api_answer(request: Request, error: Exception, messages: ConstraintMessages) -> tuple[int, str]:
    """The status and sentence the API answers for ``error`` (``api_sentence``)."""
    answer = database_error_response(request, error, messages)
    detail = json.loads(bytes(answer.body))["detail"]
    if isinstance(detail, str):
        return answer.status_code, detail
    return answer.status_code, " ".join(str(item["msg"]) for item in detail)
