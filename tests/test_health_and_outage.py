"""Probes, and what callers see when the database cannot be reached."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import text, update

from keel.main import create_app
from keel.tasks.models import Task
from keel.users.models import User
from keel_db import Database, KeelDB, backend_name
from keel_db.engine import SQLITE_BUSY_TIMEOUT_MS
from tests.conftest import make_settings
from tests.helpers import API, count_rows, create_task, signed_up_headers, user_payload

pytestmark = pytest.mark.anyio

UNREACHABLE = {
    "sqlite": "sqlite:///{tmp}/no/such/directory/keel.db",
    "postgresql": "postgresql://postgres@127.0.0.1:9/test",
    "mariadb": "mysql://root@127.0.0.1:9/test",
}


@pytest.mark.parametrize("path", ["/health/live", "/health/ready", f"{API}/health/ready"])
async def test_probes_answer_200_when_the_database_answers(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


@pytest.fixture(params=list(UNREACHABLE))
async def outage_client(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    """The app pointed at a database that does not answer (port 9 / no directory)."""
    url = UNREACHABLE[request.param].format(tmp=tmp_path)
    app = create_app(make_settings(url, db_connect_timeout=1.0))
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://keel.test") as http:
            yield http


async def test_unreachable_database_is_503_with_retry_after_and_live_still_answers(
    outage_client: httpx.AsyncClient,
) -> None:
    response = await outage_client.post(f"{API}/users", json=user_payload())
    assert response.status_code == 503
    assert response.headers["retry-after"].isdigit()
    assert "not available" in response.json()["detail"]

    response = await outage_client.post(
        f"{API}/auth/token", data={"username": "a", "password": "b"}
    )
    assert response.status_code == 503

    ready = await outage_client.get("/health/ready")
    assert ready.status_code == 503
    assert ready.json() == {"detail": "The database is not answering."}
    assert "retry-after" in ready.headers
    assert (await outage_client.get("/health/live")).status_code == 200


async def test_an_exhausted_pool_answers_503_quickly_then_recovers(database_url: str) -> None:
    pool_timeout = 0.3
    settings = make_settings(
        database_url, db_pool_size=1, db_max_overflow=0, db_pool_timeout=pool_timeout
    )
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=transport, base_url="http://keel.test") as client,
    ):
        database: Database = KeelDB.of(app).database
        # The shared test database may hold another test's users: count, not assume none.
        users_before = await count_rows(app, User.__table__)  # type: ignore[attr-defined]
        async with database.engine.connect() as held:  # the pool's only connection
            await held.execute(text("SELECT 1"))
            started = time.monotonic()
            response = await client.post(f"{API}/users", json=user_payload())
            assert response.status_code == 503
            assert time.monotonic() - started < pool_timeout + 1.5  # no queueing behind it
            assert "retry-after" in response.headers
        assert await count_rows(app, User.__table__) == users_before  # type: ignore[attr-defined]
        response = await client.post(f"{API}/users", json=user_payload())
        assert response.status_code == 201


# --- statements that wait too long ---------------------------------------------------

STATEMENT_TIMEOUT_MS = 500
TASKS: Any = Task.__table__  # type: ignore[attr-defined]


@asynccontextmanager
async def rows_held(app: FastAPI, task_ids: list[int]) -> AsyncIterator[None]:
    """Another transaction writes these tasks and keeps them locked for the block
    (SQLite: keeps the database's one write lock), then rolls back."""
    database: Database = KeelDB.of(app).database
    async with database.engine.connect() as holder:
        await holder.begin()
        await holder.execute(
            update(TASKS).where(TASKS.c.id.in_(task_ids)).values(description="held")
        )
        try:
            yield
        finally:
            await holder.rollback()


@pytest.mark.parametrize("many", [False, True], ids=["patch", "bulk-patch"])
async def test_a_write_stuck_on_a_lock_past_the_timeout_is_503_and_changes_nothing(
    database_url: str, many: bool
) -> None:
    """A statement waiting on a row lock is cut at STATEMENT_TIMEOUT_MS (PostgreSQL
    statement_timeout, MariaDB max_statement_time; SQLite gives up on its write lock
    after its busy timeout): a 503, the request's transaction rolled back (a bulk
    PATCH whose first row was already updated too), and the worker free again."""
    settings = make_settings(database_url, statement_timeout_ms=STATEMENT_TIMEOUT_MS)
    wait_limit = (
        SQLITE_BUSY_TIMEOUT_MS if backend_name(database_url) == "sqlite" else STATEMENT_TIMEOUT_MS
    )
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=transport, base_url="http://keel.test") as client,
    ):
        _, headers = await signed_up_headers(client)
        first = await create_task(client, headers, description="first")
        second = await create_task(client, headers, description="second")
        if many:
            path, body = (
                f"{API}/tasks/bulk",
                [
                    {"id": first["id"], "description": "changed"},
                    {"id": second["id"], "description": "changed"},
                ],
            )
        else:
            path, body = f"{API}/tasks/{second['id']}", {"description": "changed"}

        async with rows_held(app, [second["id"]]):  # the bulk PATCH's second row
            started = time.monotonic()
            response = await client.patch(path, json=body, headers=headers)
            waited = time.monotonic() - started
        kind = backend_name(database_url).replace("mysql", "mariadb")
        print(
            f"\n[{kind}] PATCH {path} stuck on a lock: {response.status_code} after {waited:.2f} s"
        )
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"].isdigit()
        assert waited < wait_limit / 1000 + 2.0

        for task in (first, second):
            stored = await client.get(f"{API}/tasks/{task['id']}", headers=headers)
            assert stored.json() == task  # same description, same version

        response = await client.patch(path, json=body, headers=headers)
        assert response.status_code == 200, response.text
