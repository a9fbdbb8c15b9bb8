"""The database going away: every request that needs it is a 503 with
``Retry-After`` and a sentence, the process stays up, and it serves again by itself
when the database is back. An ``OSError`` that no database call raised stays a 500."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from keel_db.errors import UNAVAILABLE_DETAIL

from tasks_tortoise.database import PoolSettings, sqlite_path
from tasks_tortoise.main import create_app
from tasks_tortoise.state import Tuning
from tests.helpers import API, SECRET, TUNING, create_task, signed_up_headers
from tests.proxy import Proxy

pytestmark = pytest.mark.anyio
SHORT_WAITS = Tuning(
    argon2_time_cost=1,
    argon2_memory_kib=1024,
    pool=PoolSettings(statement_timeout_ms=2000, sqlite_busy_timeout_ms=200),
)


async def _client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tasks.test") as http:
            yield http


def _is_unavailable(response: httpx.Response) -> bool:
    return (
        response.status_code == 503
        and response.headers.get("retry-after") == "2"
        and response.json() == {"detail": UNAVAILABLE_DETAIL}
    )


async def _answers_again(client: httpx.AsyncClient, headers: dict[str, str]) -> bool:
    """The first requests after the return may still meet connections cut while it
    was away (each a 503); within a few, the app serves again."""
    for _ in range(5):
        if (await client.get(f"{API}/tasks", headers=headers)).status_code == 200:
            return True
        await asyncio.sleep(0.2)
    return False


async def _server_goes_away(url: str) -> None:
    """A server database: the proxy in front of it stops, then starts again."""
    proxy = Proxy(url)
    await proxy.start()
    async for client in _client(create_app(proxy.url, SECRET, tuning=SHORT_WAITS)):
        _, headers = await signed_up_headers(client)
        await create_task(client, headers)
        await proxy.stop()
        for method, body in [("GET", None), ("POST", {"title": "while down"})]:
            response = await client.request(method, f"{API}/tasks", json=body, headers=headers)
            assert _is_unavailable(response), response.text
        await proxy.start()
        assert await _answers_again(client, headers)
        await proxy.stop()


async def _sqlite_file_is_locked(url: str) -> None:
    """SQLite: another process holds the file longer than the busy timeout."""
    async for client in _client(create_app(url, SECRET, tuning=SHORT_WAITS)):
        _, headers = await signed_up_headers(client)
        other = sqlite3.connect(sqlite_path(url), isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")
        try:
            response = await client.post(f"{API}/tasks", json={"title": "x"}, headers=headers)
            assert _is_unavailable(response), response.text
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert await _answers_again(client, headers)


async def test_a_database_that_cannot_serve_is_a_503_until_it_can(
    empty_database_url: str,
) -> None:
    if empty_database_url.startswith("sqlite"):
        await _sqlite_file_is_locked(empty_database_url)
    else:
        await _server_goes_away(empty_database_url)


@pytest.mark.usefixtures("database_kind")
async def test_an_oserror_of_the_apps_own_is_a_500_not_a_503(database_url: str) -> None:
    app = create_app(database_url, SECRET, tuning=TUNING)

    @app.get("/boom")
    async def boom() -> None:
        raise ConnectionRefusedError("not the database")

    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            assert (await client.get("/boom")).status_code == 500
