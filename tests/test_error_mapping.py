"""Only what the database or the pool raised is a 503: the same exception types raised
by a route's own code are bugs, answered 500, and their transaction rolled back."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import insert, text

from keel.heroes.models import Team
from keel.main import create_app
from keel.tables import metadata
from keel_db import AsyncSessionDep, Database, KeelDB, backend_name, transaction
from keel_db.testing import delete_all_rows
from tests.conftest import make_settings
from tests.helpers import count_rows

pytestmark = pytest.mark.anyio

TEAMS = Team.__table__  # type: ignore[attr-defined]
_names = itertools.count(1)


def team() -> dict[str, object]:
    # A new name each time: a statement cut short on MariaDB keeps its transaction
    # (and the row it wrote) open on the server until the statement ends.
    return {"name": f"written {next(_names)}", "headquarters": "here", "version": 1}


SLEEP = {"postgresql": "SELECT pg_sleep(2)", "mysql": "SELECT SLEEP(2)"}


def _routes(app: FastAPI) -> None:
    """Routes that fail on purpose, each after writing a team in its transaction."""

    def raising(error: BaseException) -> object:
        async def route(session: AsyncSessionDep) -> None:
            async with transaction(session):
                connection = await session.connection()
                await connection.execute(insert(TEAMS).values(team()))
                raise error

        return route

    for name, error in {
        "timeout": TimeoutError("the route's own timeout"),
        "connection": ConnectionError("the route's own connection"),
        "overflow": OverflowError("the route's own arithmetic"),
    }.items():
        app.add_api_route(f"/broken/{name}", raising(error), methods=["POST"])

    async def bounded(session: AsyncSessionDep, statement: str = "SELECT 1") -> None:
        async with asyncio.timeout(0.3), transaction(session):
            connection = await session.connection()
            await connection.execute(insert(TEAMS).values(team()))
            await connection.execute(text(statement))

    app.add_api_route("/bounded", bounded, methods=["POST"])


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[FastAPI]:
    """Keel with one pooled connection and the routes above."""
    application = create_app(make_settings(database_url, db_pool_size=1, db_max_overflow=0))
    _routes(application)
    async with LifespanManager(application):
        await delete_all_rows(KeelDB.of(application).database.engine, metadata)
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    # Unhandled errors become the 500 a client sees, as under a server.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://keel.test") as http:
        yield http


@pytest.mark.parametrize("kind", ["timeout", "connection", "overflow"])
async def test_a_routes_own_timeout_connection_or_overflow_error_is_a_500_not_a_503(
    app: FastAPI, client: httpx.AsyncClient, kind: str
) -> None:
    response = await client.post(f"/broken/{kind}")
    assert response.status_code == 500
    assert "retry-after" not in response.headers
    assert await count_rows(app, TEAMS) == 0


async def test_a_timeout_around_a_wait_for_a_connection_is_a_503(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    database: Database = KeelDB.of(app).database
    async with database.engine.connect() as held:  # the pool's only connection
        await held.execute(text("SELECT 1"))
        response = await client.post("/bounded")
    assert response.status_code == 503
    assert response.headers["retry-after"].isdigit()
    assert await count_rows(app, TEAMS) == 0


async def test_a_timeout_around_a_slow_statement_is_a_503(
    app: FastAPI, client: httpx.AsyncClient, database_url: str
) -> None:
    statement = SLEEP.get(backend_name(database_url))
    if statement is None:
        pytest.skip("SQLite has no sleep statement")  # its waits: the test above
    response = await client.post("/bounded", params={"statement": statement})
    assert response.status_code == 503
    assert response.headers["retry-after"].isdigit()
    assert await count_rows(app, TEAMS) == 0
    assert (await client.post("/bounded")).status_code == 200  # the pool recovered
    assert await count_rows(app, TEAMS) == 1
