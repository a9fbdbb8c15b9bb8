"""Small factories for test data, all through the public HTTP API."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import MetaData, Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import FromClause

from keel.context import keel_context
from keel.documents.monitoring import Command
from keel.posts.models import Post
from keel.posts.mongo_schema import POSTS
from keel_db import Database, EngineSettings, KeelDB, QueryLog, count_queries
from keel_db.pool import AdmissionGate
from tests import tortoise_app

API = "/api/v1"
PASSWORD = "correct horse battery"
_serial = itertools.count(1)


def user_payload(**overrides: Any) -> dict[str, Any]:
    n = next(_serial)
    return {
        "email": f"user{n}@example.com",
        "username": f"user{n}",
        "password": PASSWORD,
        **overrides,
    }


async def sign_up(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    response = await client.post(f"{API}/users", json=user_payload(**overrides))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def token_for(client: httpx.AsyncClient, login: str, password: str = PASSWORD) -> str:
    response = await client.post(
        f"{API}/auth/token", data={"username": login, "password": password}
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def signed_up_headers(
    client: httpx.AsyncClient, **overrides: Any
) -> tuple[dict[str, Any], dict[str, str]]:
    """A new user and the Authorization header for it."""
    user = await sign_up(client, **overrides)
    token = await token_for(client, user["username"])
    return user, {"Authorization": f"Bearer {token}"}


def sql_engine(app: FastAPI) -> AsyncEngine:
    """An engine on the app's primary database: Keel's own, or the one a test made
    beside the Tortoise example (``tests.tortoise_app``)."""
    return tortoise_app.engine_of(app) or KeelDB.of(app).database.engine


@contextmanager
def statements(app: FastAPI) -> Iterator[QueryLog]:
    """The statements the app sent to its primary inside the block (``.queries``
    without transaction control, ``.count``), whichever ORM sent them."""
    if tortoise_app.engine_of(app) is not None:
        with tortoise_app.statements() as log:
            yield log
        return
    with count_queries(KeelDB.of(app).database.engine) as log:
        yield log


async def count_rows(app: FastAPI, table: FromClause, *where: Any) -> int:
    """Rows in ``table`` (matching ``where``), read straight from the database."""
    async with sql_engine(app).connect() as connection:
        statement = select(func.count()).select_from(table)
        if where:
            statement = statement.where(*where)
        return int((await connection.execute(statement)).scalar_one())


async def count_posts(app: FastAPI) -> int:
    """Posts stored, in whichever store the app keeps them."""
    documents = keel_context(app).documents
    if documents is None:
        return await count_rows(app, Post.__table__)  # type: ignore[attr-defined]
    return await documents.database[POSTS].count_documents({})


@dataclass
class Operations:
    """What the app asked of its databases: SQL statements and document commands."""

    sql: QueryLog
    documents: list[Command] = field(default_factory=list)

    @property
    def count(self) -> int:
        return self.sql.count + len(self.documents)


@contextmanager
def operations(app: FastAPI) -> Iterator[Operations]:
    """The SQL statements (on the primary) and document-database commands run
    inside the block, for query-budget tests on either post store."""
    documents = keel_context(app).documents
    with count_queries(KeelDB.of(app).database.engine) as sql:
        if documents is None:
            yield Operations(sql)
            return
        with documents.commands.watch() as commands:
            yield Operations(sql, commands)


async def create_post(
    client: httpx.AsyncClient, headers: dict[str, str], **fields: Any
) -> dict[str, Any]:
    body = {"title": "Hello", "content": "First words.", "category": "news", **fields}
    response = await client.post(f"{API}/posts", json=body, headers=headers)
    assert response.status_code == 201, response.text
    post: dict[str, Any] = response.json()
    return post


async def cursor_walk(client: httpx.AsyncClient, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a cursor walk over ``API + path``, first page to last."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page_params = {**params, "cursor": cursor} if cursor else params
        response = await client.get(API + path, params=page_params)
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


async def create_task(
    client: httpx.AsyncClient, headers: dict[str, str], **fields: Any
) -> dict[str, Any]:
    body = {"title": f"task {next(_serial)}", **fields}
    response = await client.post(f"{API}/tasks", json=body, headers=headers)
    assert response.status_code == 201, response.text
    task: dict[str, Any] = response.json()
    return task


async def bulk_tasks(
    client: httpx.AsyncClient, headers: dict[str, str], count: int, **fields: Any
) -> list[dict[str, Any]]:
    """``count`` tasks in one atomic bulk request, titles ``bulk <n>``."""
    tasks = [{"title": f"bulk {next(_serial)}", **fields} for _ in range(count)]
    response = await client.post(f"{API}/tasks/bulk", json={"tasks": tasks}, headers=headers)
    assert response.status_code == 201, response.text
    created: list[dict[str, Any]] = response.json()["created"]
    return created


async def run_concurrently(jobs: list[Any], workers: int) -> list[Any]:
    """Await every job (a zero-argument coroutine function) with ``workers`` of them
    in flight at once; the results come back in the order of ``jobs``."""
    results: list[Any] = [None] * len(jobs)
    queue = list(enumerate(jobs))[::-1]

    async def worker() -> None:
        while queue:
            index, job = queue.pop()
            results[index] = await job()

    await asyncio.gather(*(worker() for _ in range(workers)))
    return results


async def queued(gate: AdmissionGate, count: int) -> None:
    """Return once ``count`` requests wait at ``gate`` (fail after 2 s)."""
    async with asyncio.timeout(2):
        while gate.waiting < count:  # noqa: ASYNC110 - the gate has no event to await
            await asyncio.sleep(0.001)


@asynccontextmanager
async def database_with(
    url: str,
    tables: MetaData,
    rows: Mapping[Table, Sequence[Mapping[str, Any]]] | None = None,
    **engine: Any,
) -> AsyncIterator[Database]:
    """A ``Database`` on ``url`` with ``tables`` created (and ``rows`` inserted in
    them) for the block, and dropped after."""
    database = Database(EngineSettings(url=url, **engine))
    async with database.engine.begin() as connection:
        await connection.run_sync(tables.create_all)
        for table, values in (rows or {}).items():
            await connection.execute(insert(table), list(values))
    try:
        yield database
    finally:
        async with database.engine.begin() as connection:
            await connection.run_sync(tables.drop_all)
        await database.dispose()


@asynccontextmanager
async def started_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """``app`` with its lifespan run (a variant of the ``app`` fixture's settings,
    say) and a client for it."""
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://keel.test") as client:
            yield client
