"""Cached stats on both stores (this process's memory, Redis): a write is seen by
the next read, repeated reads skip the database, and a cache outage is a miss."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import redis
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from keel.config import Settings
from keel.main import create_app
from keel_db import KeelDB
from keel_db.monitoring import count_queries
from tests.conftest import IN_CI, REDIS_URL, make_settings
from tests.helpers import API, create_task, signed_up_headers, started_client

pytestmark = pytest.mark.anyio


def redis_or_skip() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as error:
        if IN_CI:
            pytest.fail(f"Redis not reachable at {REDIS_URL}: {error}")
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {error}")
    return REDIS_URL


@pytest.fixture(params=["memory", "redis"])
async def cached_app(request: pytest.FixtureRequest, settings: Settings) -> AsyncIterator[FastAPI]:
    """The app with the in-process cache, or with Redis under a key prefix of its own."""
    overrides: dict[str, object] = {}
    if request.param == "redis":
        overrides = {
            "redis_url": redis_or_skip(),
            "cache_key_prefix": f"test-{uuid.uuid4().hex}",
            # What is tested is single flight, not a slow Redis: a busy test machine
            # must not turn lookups into misses (the outage tests use short timeouts).
            "cache_timeout_seconds": 5,
        }
    app = create_app(make_settings(settings.database_url, **overrides))
    async with LifespanManager(app):
        yield app


@pytest.fixture
async def cached_client(cached_app: FastAPI, app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    # ``app`` (unused) empties the tables first.
    transport = httpx.ASGITransport(app=cached_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://keel.test") as client:
        yield client


async def stats(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, object]:
    response = await client.get(f"{API}/tasks/stats", headers=headers)
    assert response.status_code == 200
    body: dict[str, object] = response.json()
    return body


async def test_task_stats_are_cached_and_every_write_is_seen(
    cached_client: httpx.AsyncClient, cached_app: FastAPI
) -> None:
    client = cached_client
    _, headers = await signed_up_headers(client)
    task = await create_task(client, headers, priority=2)
    assert (await stats(client, headers))["total"] == 1
    with count_queries(KeelDB.of(cached_app).database.engine) as log:
        assert (await stats(client, headers))["total"] == 1
    assert log.count == 0  # the caller and the aggregate both came from the cache

    url = f"{API}/tasks/{task['id']}"
    await client.patch(url, json={"completed": True}, headers=headers)
    assert (await stats(client, headers))["completed"] == 1
    await create_task(client, headers, priority=4)
    assert (await stats(client, headers))["avg_priority"] == 3.0
    await client.post(
        f"{API}/tasks/bulk", json={"tasks": [{"title": "b1"}, {"title": "b2"}]}, headers=headers
    )
    assert (await stats(client, headers))["total"] == 4
    await client.delete(url, headers=headers)
    assert (await stats(client, headers))["total"] == 3

    metrics = (await client.get("/metrics")).text
    assert 'keel_cache_requests_total{namespace="task-stats",result="hit"}' in metrics
    assert 'keel_cache_requests_total{namespace="task-stats",result="miss"}' in metrics


async def test_team_stats_follow_membership_changes(cached_client: httpx.AsyncClient) -> None:
    client = cached_client
    _, headers = await signed_up_headers(client)
    team = (
        await client.post(f"{API}/teams", json={"name": "T", "headquarters": "H"}, headers=headers)
    ).json()
    hero = (
        await client.post(
            f"{API}/heroes", json={"name": "N", "secret_name": "S", "age": 30}, headers=headers
        )
    ).json()

    async def count() -> object:
        return (await client.get(f"{API}/teams/stats")).json()[0]["hero_count"]

    assert await count() == 0
    await client.put(f"{API}/teams/{team['id']}/heroes/{hero['id']}", json={}, headers=headers)
    assert await count() == 1
    await client.delete(f"{API}/heroes/{hero['id']}", headers=headers)
    assert await count() == 0


async def test_concurrent_misses_compute_once(
    cached_client: httpx.AsyncClient, cached_app: FastAPI
) -> None:
    client = cached_client
    _, headers = await signed_up_headers(client)
    await client.post(f"{API}/teams", json={"name": "T", "headquarters": "H"}, headers=headers)
    with count_queries(KeelDB.of(cached_app).database.engine) as log:
        answers = await asyncio.gather(*(client.get(f"{API}/teams/stats") for _ in range(10)))
    assert {answer.status_code for answer in answers} == {200}
    assert len({answer.text for answer in answers}) == 1
    assert sum("count(" in query.lower() for query in log.queries) == 1


async def test_an_unreachable_redis_is_a_miss_not_an_error(
    settings: Settings, app: FastAPI
) -> None:
    broken = create_app(make_settings(settings.database_url, redis_url="redis://127.0.0.1:9/0"))
    async with started_client(broken) as client:
        _, headers = await signed_up_headers(client)
        await create_task(client, headers)
        assert (await stats(client, headers))["total"] == 1
        await create_task(client, headers)
        assert (await stats(client, headers))["total"] == 2


async def test_with_caching_off_every_read_asks_the_database(
    settings: Settings, app: FastAPI
) -> None:
    uncached = create_app(make_settings(settings.database_url, cache_enabled=False))
    async with started_client(uncached) as client:
        _, headers = await signed_up_headers(client)
        await create_task(client, headers)
        await stats(client, headers)
        with count_queries(KeelDB.of(uncached).database.engine) as log:
            assert (await stats(client, headers))["total"] == 1
        assert log.count == 2  # the current user, then the aggregate again
