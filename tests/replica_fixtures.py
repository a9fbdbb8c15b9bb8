"""What the replica tests share: a migrated primary database and a hot standby of
it (``tests.replica_server``), the app reading from replicas, the statements each of
its engines sent, figures for the run's summary, and a load of readers and writers
reading their own writes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread
import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import event

from keel.main import create_app, migrations_for
from keel_db import KeelDB
from keel_db.testing import drop_database
from tests import replica_server
from tests.conftest import IN_CI, make_settings, new_database
from tests.helpers import API, signed_up_headers

Figures = Callable[[str], None]


def replica_or_skip() -> replica_server.Replica:
    try:
        return replica_server.make_replica()
    except (replica_server.ReplicaError, OSError, LookupError) as error:
        if IN_CI:
            pytest.fail(f"could not make a streaming replica: {error}")
        pytest.skip(f"could not make a streaming replica: {error}")


@pytest.fixture(scope="module")
def primary_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = new_database("postgresql", tmp_path_factory.mktemp("replicas"))
    migrations_for(make_settings(url)).upgrade()
    yield url
    drop_database(url)


def url_on(replica: replica_server.Replica, primary_url: str) -> str:
    return replica.url(primary_url.rsplit("/", 1)[1])


@pytest.fixture(scope="module")
def standby(primary_url: str) -> Iterator[replica_server.Replica]:
    """A replica shared by the tests that leave it running and replaying."""
    replica = replica_or_skip()
    yield replica
    replica.remove()


@pytest.fixture
def figures(record_property: Callable[[str, object], None]) -> Figures:
    """Notes a line for the run's "figures" section (``tests.conftest``)."""
    return lambda line: record_property("figures", line)


@dataclass
class ServerLog:
    """Statements each of the app's engines sent, by engine name ("primary",
    "replica-1"...), without the replica checks' own."""

    sent: dict[str, list[str]] = field(default_factory=dict)

    def reads(self, name: str, table: str) -> int:
        return sum(1 for s in self.sent.get(name, []) if s.startswith("SELECT") and table in s)

    def writes(self, name: str) -> int:
        return sum(1 for s in self.sent.get(name, []) if s.startswith(("INSERT", "UPDATE")))


def log_statements(app: FastAPI) -> ServerLog:
    """Start noting what each engine of ``app`` sends."""
    log = ServerLog()
    for database in KeelDB.of(app).databases:
        sent = log.sent.setdefault(database.name, [])

        def note(*args: Any, sent: list[str] = sent) -> None:
            statement = " ".join(str(args[2]).split())
            if "pg_is_in_recovery" not in statement and "pg_current_wal_lsn" not in statement:
                sent.append(statement)

        event.listen(database.engine.sync_engine, "before_cursor_execute", note)
    return log


@asynccontextmanager
async def serving(
    primary_url: str, *replicas: replica_server.Replica, **overrides: object
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The app on ``primary_url`` reading from ``replicas``, checked every 0.1 s."""
    read_urls = ",".join(url_on(replica, primary_url) for replica in replicas)
    values: dict[str, object] = {"read_check_seconds": 0.1, **overrides}
    app = create_app(make_settings(primary_url, read_database_url=read_urls, **values))
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://keel.test") as client:
            yield app, client


async def new_hero(client: httpx.AsyncClient, headers: dict[str, str], name: str) -> int:
    created = await client.post(
        f"{API}/heroes", json={"name": name, "secret_name": "S"}, headers=headers
    )
    assert created.status_code == 201, created.text
    hero_id: int = created.json()["id"]
    return hero_id


async def hero_on_the_standby(
    client: httpx.AsyncClient, standby: replica_server.Replica
) -> tuple[dict[str, str], str]:
    """A hero named "Before", replayed on the standby: its writer's headers and URL."""
    _, headers = await signed_up_headers(client)
    hero_id = await new_hero(client, headers, "Before")
    await anyio.to_thread.run_sync(replica_server.wait_replayed, standby)
    return headers, f"{API}/heroes/{hero_id}"


async def eventually(condition: Callable[[], bool], seconds: float = 15.0) -> float:
    """Seconds until ``condition()`` held (fails the test after ``seconds``)."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < seconds, "condition not met in time"
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def eventually_async(
    condition: Callable[[], Awaitable[bool]], seconds: float = 15.0
) -> float:
    started = time.monotonic()
    while not await condition():
        assert time.monotonic() - started < seconds, "condition not met in time"
        await asyncio.sleep(0.05)
    return time.monotonic() - started


@dataclass
class Tally:
    errors: list[str] = field(default_factory=list)
    stale: int = 0
    answered: int = 0


async def readers_and_writers(
    client: httpx.AsyncClient, headers: dict[str, str], heroes: list[int], until: Callable[[], bool]
) -> Tally:
    """Readers of the catalogue and writers reading their own writes, until ``until()``."""
    tally = Tally()

    async def read(n: int) -> None:
        while not until():
            path = f"{API}/heroes" if n % 2 else f"{API}/heroes/{heroes[n % len(heroes)]}"
            answer = await client.get(path)
            tally.answered += 1
            if answer.status_code != 200:
                tally.errors.append(f"GET {path}: {answer.status_code}")

    async def write(hero_id: int) -> None:
        version = 0
        while not until():
            version += 1
            url = f"{API}/heroes/{hero_id}"
            written = await client.patch(url, json={"name": f"v{version}"}, headers=headers)
            mine = await client.get(url, headers={"Read-After": written.headers["read-after"]})
            tally.answered += 2
            if written.status_code != 200 or mine.status_code != 200:
                tally.errors.append(f"write-then-read: {written.status_code}/{mine.status_code}")
            elif mine.json()["name"] != f"v{version}":
                tally.stale += 1

    await asyncio.gather(*(read(n) for n in range(12)), *(write(h) for h in heroes))
    return tally
