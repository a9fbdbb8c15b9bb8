"""Small factories for test data, all through the public HTTP API, and direct looks
at the database (on the app's own Tortoise connection) to check what was written."""

from __future__ import annotations

import itertools
from typing import Any

import httpx
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.context import require_context

from tasks_tortoise.database import PoolSettings
from tasks_tortoise.state import Tuning

API = "/api/v1"
PASSWORD = "correct horse battery"
SECRET = "tortoise-tests-secret-key-long-enough-for-hs256"
# Cheap Argon2id for speed; the algorithm and code path stay the same.
TUNING = Tuning(argon2_time_cost=1, argon2_memory_kib=1024, pool=PoolSettings())
# Children first, so foreign keys never stand in the way.
TABLES = ("idempotency_keys", "task_transfers", "tasks", "user_profiles", "users")
_serial = itertools.count(1)


def user_payload(**overrides: Any) -> dict[str, Any]:
    n = next(_serial)
    return {"email": f"user{n}@example.com", "username": f"user{n}", "password": PASSWORD} | (
        overrides
    )


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


def connection() -> BaseDBAsyncClient:
    """The started app's database connection (Tortoise's current context)."""
    return require_context().db()


async def rows(sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    """Rows of a raw query on the started app's connection."""
    _, found = await connection().execute_query(sql, params or [])
    return [dict(row) for row in found]


async def count_rows(table: str) -> int:
    (row,) = await rows(f"SELECT COUNT(*) AS n FROM {table}")
    return int(row["n"])


async def empty_tables() -> None:
    client = connection()
    for table in TABLES:
        await client.execute_script(f"DELETE FROM {table}")


def mark(position: int) -> str:
    """The bound-parameter marker of the started app's database, for raw SQL."""
    dialect = connection().capabilities.dialect
    return {"postgres": f"${position}", "mysql": "%s"}.get(dialect, "?")
