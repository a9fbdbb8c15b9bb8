"""Cached stats on both stores (this process's memory, Redis): a write is seen by
the next read, repeated reads skip the database, and a cache outage is a miss.
On Redis, workers that miss one key at once compute it once between them, and a
leader that died holds the others back no longer than the bound."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from keel.config import Settings
from keel.main import create_app
from keel_db import Cache, CacheUnavailableError, KeelDB, MemoryStore
from keel_db.cache import Lease
from keel_db.monitoring import count_queries
from keel_db.redis_store import RedisStore
from tests.conftest import make_settings
from tests.helpers import API, create_task, signed_up_headers, started_client
from tests.redis_check import redis_or_skip

pytestmark = pytest.mark.anyio


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


# --- one flight across workers: two Cache objects stand for two worker processes ---


@pytest.fixture
async def redis_stores() -> AsyncIterator[Callable[[], RedisStore]]:
    """Makes RedisStores on the test Redis (each with connections of its own, as each
    worker has), closed at the end."""
    url = redis_or_skip()
    made: list[RedisStore] = []

    def store() -> RedisStore:
        made.append(RedisStore(url, timeout=5))
        return made[-1]

    yield store
    for each in made:
        await each.close()


def counted(computed: list[int], *, seconds: float = 0.0) -> Callable[[], Awaitable[Any]]:
    """A computation that notes each run in ``computed`` and takes ``seconds``."""

    async def compute() -> Any:
        computed.append(1)
        await asyncio.sleep(seconds)
        return {"runs": len(computed)}

    return compute


async def test_two_workers_on_one_redis_compute_a_missed_key_once(
    redis_stores: Callable[[], RedisStore],
) -> None:
    prefix = f"test-{uuid.uuid4().hex}"
    workers = [Cache(redis_stores(), prefix=prefix, shared_flight_seconds=10) for _ in range(2)]
    computed: list[int] = []
    compute = counted(computed, seconds=0.2)
    answers = await asyncio.gather(
        *(
            worker.get_or_compute("stats", "1", compute, tables=["tasks"])
            for worker in workers
            for _ in range(5)
        )
    )
    assert len(computed) == 1  # not once per worker
    assert answers == [{"runs": 1}] * 10


async def test_a_dead_leader_holds_the_others_back_no_longer_than_the_bound(
    redis_stores: Callable[[], RedisStore],
) -> None:
    prefix = f"test-{uuid.uuid4().hex}"
    # The leader takes the lease for 30 s and never finishes: as a worker that died
    # (or hangs) in the middle of its computation.
    leader = Cache(redis_stores(), prefix=prefix, shared_flight_seconds=30)
    started, never = asyncio.Event(), asyncio.Event()

    async def hang() -> Any:
        started.set()
        await never.wait()

    leading = asyncio.create_task(leader.get_or_compute("stats", "1", hang, tables=["tasks"]))
    await started.wait()
    follower = Cache(redis_stores(), prefix=prefix, shared_flight_seconds=0.5)
    computed: list[int] = []
    began = time.monotonic()
    async with asyncio.timeout(10):
        answer = await follower.get_or_compute("stats", "1", counted(computed), tables=["tasks"])
    waited = time.monotonic() - began
    leading.cancel()
    assert answer == {"runs": 1}
    assert 0.45 <= waited < 1.5  # it waited for the leader, then no longer than the bound


async def test_a_lease_is_released_only_by_whoever_holds_it(
    redis_stores: Callable[[], RedisStore],
) -> None:
    first, second = redis_stores(), redis_stores()
    key = f"test-{uuid.uuid4().hex}:lease"
    expired = await first.try_lease(key, 0.1)
    assert expired is not None
    assert await second.try_lease(key, 5) is None  # held
    await asyncio.sleep(0.2)
    current = await second.try_lease(key, 5)
    assert current is not None  # the first one's lease expired: the second took it
    await expired.release()  # too late: this must not delete the second one's lease
    assert await first.try_lease(key, 5) is None
    await current.release()
    assert await first.try_lease(key, 5) is not None


class LeasesDown(MemoryStore):
    """A store whose values answer but whose leases do not."""

    async def try_lease(self, key: str, ttl: float) -> Lease | None:
        raise CacheUnavailableError("leases down")


async def test_a_store_that_cannot_lease_is_a_miss_not_an_error() -> None:
    cache = Cache(LeasesDown())
    computed: list[int] = []
    assert await cache.get_or_compute("stats", "1", counted(computed), tables=["t"]) == {"runs": 1}
    assert await cache.get_or_compute("stats", "1", counted(computed), tables=["t"]) == {"runs": 1}
    assert len(computed) == 1  # stored all the same, and read back
