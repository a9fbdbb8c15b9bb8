"""Catalogue reads on real PostgreSQL streaming replicas (``tests.replica_server``):
where reads and writes go, read-your-writes through ``Read-After`` while replay is
paused, a replica lagging over READ_MAX_LAG_SECONDS skipped and taken back, reads
shared by two replicas, and a replica stopped under load without an error or a
stale read for the writer. Each test records its figures (reads per server, lag
seen, errors), printed at the end of the run.

PostgreSQL only: streaming replication is PostgreSQL's. Making a replica needs root
(or the postgres user) on the test server's machine; under CI=true a replica that
cannot be made fails the run.
"""

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
from sqlalchemy import event, text

from keel.main import create_app, migrations_for
from keel_db import KeelDB
from keel_db.testing import drop_database
from tests import replica_server
from tests.conftest import IN_CI, make_settings, new_database
from tests.helpers import API, signed_up_headers

pytestmark = pytest.mark.anyio

Figures = Callable[[str], None]


def _replica_or_skip() -> replica_server.Replica:
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


def _url_on(replica: replica_server.Replica, primary_url: str) -> str:
    return replica.url(primary_url.rsplit("/", 1)[1])


@pytest.fixture(scope="module")
def standby(primary_url: str) -> Iterator[replica_server.Replica]:
    """A replica shared by the tests that leave it running and replaying."""
    replica = _replica_or_skip()
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
    read_urls = ",".join(_url_on(replica, primary_url) for replica in replicas)
    values: dict[str, object] = {"read_check_seconds": 0.1, **overrides}
    app = create_app(make_settings(primary_url, read_database_url=read_urls, **values))
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://keel.test") as client:
            yield app, client


async def _hero(client: httpx.AsyncClient, headers: dict[str, str], name: str) -> int:
    created = await client.post(
        f"{API}/heroes", json={"name": name, "secret_name": "S"}, headers=headers
    )
    assert created.status_code == 201, created.text
    hero_id: int = created.json()["id"]
    return hero_id


async def _hero_on_the_standby(
    client: httpx.AsyncClient, standby: replica_server.Replica
) -> tuple[dict[str, str], str]:
    """A hero named "Before", replayed on the standby: its writer's headers and URL."""
    _, headers = await signed_up_headers(client)
    hero_id = await _hero(client, headers, "Before")
    await anyio.to_thread.run_sync(replica_server.wait_replayed, standby)
    return headers, f"{API}/heroes/{hero_id}"


async def _eventually(condition: Callable[[], bool], seconds: float = 15.0) -> float:
    """Seconds until ``condition()`` held (fails the test after ``seconds``)."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < seconds, "condition not met in time"
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def test_catalogue_reads_go_to_the_standby_and_writes_never_do(
    primary_url: str, standby: replica_server.Replica, figures: Figures
) -> None:
    async with serving(primary_url, standby) as (app, client):
        db = KeelDB.of(app)
        async with db.replica().read_engine.connect() as connection:
            assert (await connection.execute(text("SELECT pg_is_in_recovery()"))).scalar()
        async with db.database.engine.connect() as connection:
            assert not (await connection.execute(text("SELECT pg_is_in_recovery()"))).scalar()
        _, headers = await signed_up_headers(client)
        hero_id = await _hero(client, headers, "Streamed")
        await anyio.to_thread.run_sync(replica_server.wait_replayed, standby)
        log = log_statements(app)
        for _ in range(5):
            assert (await client.get(f"{API}/heroes/{hero_id}")).json()["name"] == "Streamed"
        assert (await client.get(f"{API}/heroes")).json()["items"][0]["id"] == hero_id
        assert (await client.get(f"{API}/items")).status_code == 200
        renamed = await client.patch(
            f"{API}/heroes/{hero_id}", json={"name": "Renamed"}, headers=headers
        )
        assert renamed.status_code == 200
    assert log.reads("replica-1", "hero") >= 6
    assert log.reads("replica-1", "item") >= 1
    assert log.writes("replica-1") == 0
    assert log.writes("primary") == 1
    assert log.reads("primary", "hero") == 1  # the PATCH's own read, in its transaction
    figures(
        f"replica routing: hero/item reads on the standby {log.reads('replica-1', '')}, "
        f"on the primary {log.reads('primary', '')}; writes on the standby "
        f"{log.writes('replica-1')}, on the primary {log.writes('primary')}"
    )


async def test_the_writer_reads_its_write_while_replay_is_paused(
    primary_url: str, standby: replica_server.Replica, figures: Figures
) -> None:
    # A lag bound the pause cannot reach: the stale replica stays in service.
    async with serving(primary_url, standby, read_max_lag_seconds=600) as (app, client):
        headers, url = await _hero_on_the_standby(client, standby)
        await anyio.to_thread.run_sync(standby.pause_replay)
        try:
            renamed = await client.patch(url, json={"name": "After"}, headers=headers)
            assert renamed.status_code == 200
            position = renamed.headers["read-after"]
            log = log_statements(app)
            stale = (await client.get(url)).json()["name"]
            mine = [
                (await client.get(url, headers={"Read-After": position})).json()["name"]
                for _ in range(5)
            ]
            on_primary = log.reads("primary", "hero")
        finally:
            await anyio.to_thread.run_sync(standby.resume_replay)
        # Once the replica has replayed that far, the writer's reads go back to it.
        before = log.reads("replica-1", "hero")

        async def served_by_replica() -> bool:
            await client.get(url, headers={"Read-After": position})
            return log.reads("replica-1", "hero") > before

        waited = await _eventually_async(served_by_replica)
    assert stale == "Before"  # the replica really was behind, and served the others
    assert mine == ["After"] * 5  # and never the writer
    assert on_primary == 5
    figures(
        f"read-your-writes, replay paused: others read {stale!r} on the standby; the "
        f"writer read {mine.count('After')}/5 'After' on the primary (Read-After {position}); "
        f"back on the standby {waited:.2f} s after replay resumed"
    )


async def _eventually_async(
    condition: Callable[[], Awaitable[bool]], seconds: float = 15.0
) -> float:
    started = time.monotonic()
    while not await condition():
        assert time.monotonic() - started < seconds, "condition not met in time"
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def test_a_replica_lagging_over_the_bound_is_skipped_then_taken_back(
    primary_url: str,
    standby: replica_server.Replica,
    figures: Figures,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with serving(primary_url, standby, read_max_lag_seconds=1) as (app, client):
        state = KeelDB.of(app).replicas.states[0]
        headers, url = await _hero_on_the_standby(client, standby)
        await anyio.to_thread.run_sync(standby.pause_replay)
        try:
            await client.patch(url, json={"name": "After"}, headers=headers)
            skipped_after = await _eventually(lambda: state.problem is not None)
            lag_seen = state.lag_seconds
            log = log_statements(app)
            answers = [await client.get(url) for _ in range(5)]
            metrics = (await client.get("/metrics")).text
        finally:
            await anyio.to_thread.run_sync(standby.resume_replay)
        back_after = await _eventually(lambda: state.problem is None)
    assert [answer.json()["name"] for answer in answers] == ["After"] * 5  # no error
    assert log.reads("primary", "hero") == 5
    assert log.reads("replica-1", "hero") == 0
    assert lag_seen > 1
    assert 'keel_db_replica_up{database="replica-1"} 0.0' in metrics
    messages = [record.getMessage() for record in caplog.records]
    assert any("replica replica-1 skipped" in message for message in messages)
    assert any("replica replica-1 taken back" in message for message in messages)
    figures(
        f"lag bound 1 s: skipped {skipped_after:.2f} s after replay paused (lag seen "
        f"{lag_seen:.2f} s), 5/5 reads answered by the primary, 0 errors; taken back "
        f"{back_after:.2f} s after replay resumed"
    )


async def test_two_replicas_share_the_reads(
    primary_url: str, standby: replica_server.Replica, figures: Figures
) -> None:
    second = await anyio.to_thread.run_sync(_replica_or_skip)
    try:
        async with serving(primary_url, standby, second) as (app, client):
            _, headers = await signed_up_headers(client)
            hero_id = await _hero(client, headers, "Shared")
            for replica in (standby, second):
                await anyio.to_thread.run_sync(replica_server.wait_replayed, replica)
            log = log_statements(app)
            for _ in range(20):
                assert (await client.get(f"{API}/heroes/{hero_id}")).status_code == 200
    finally:
        await anyio.to_thread.run_sync(second.remove)
    first, other = log.reads("replica-1", "hero"), log.reads("replica-2", "hero")
    assert first + other == 20
    assert min(first, other) >= 8  # in turn, give or take the checks' timing
    figures(f"two replicas: 20 reads, {first} on replica-1, {other} on replica-2, 0 on primary")


@dataclass
class Tally:
    errors: list[str] = field(default_factory=list)
    stale: int = 0
    answered: int = 0


async def _readers_and_writers(
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


async def test_a_replica_stopped_under_load_is_skipped_without_errors(
    primary_url: str, figures: Figures
) -> None:
    replica = await anyio.to_thread.run_sync(_replica_or_skip)  # this test's own
    try:
        async with serving(primary_url, replica) as (app, client):
            state = KeelDB.of(app).replicas.states[0]
            _, headers = await signed_up_headers(client)
            heroes = [await _hero(client, headers, f"Hero {n}") for n in range(4)]
            await anyio.to_thread.run_sync(replica_server.wait_replayed, replica)
            log = log_statements(app)
            phase = {"done": False}
            load = asyncio.create_task(
                _readers_and_writers(client, headers, heroes, lambda: phase["done"])
            )
            await asyncio.sleep(1.5)
            before_stop = log.reads("replica-1", "hero")
            await anyio.to_thread.run_sync(replica.stop)
            down_after = await _eventually(lambda: state.problem is not None)
            await asyncio.sleep(1.5)
            primary_while_down = log.reads("primary", "hero")
            await anyio.to_thread.run_sync(replica.start)
            back_after = await _eventually(lambda: state.problem is None)
            after_restart = log.reads("replica-1", "hero")
            await asyncio.sleep(1.0)
            phase["done"] = True
            tally = await load
    finally:
        await anyio.to_thread.run_sync(replica.remove)
    assert tally.errors == []
    assert tally.stale == 0
    assert before_stop > 0
    assert primary_while_down > 0
    assert log.reads("replica-1", "hero") > after_restart  # taken back under load
    figures(
        f"replica stopped under load: {tally.answered} answers, errors {len(tally.errors)}, "
        f"stale reads for the writer {tally.stale}; standby reads before the stop "
        f"{before_stop}, primary reads up to the restart {primary_while_down}; marked down "
        f"{down_after:.2f} s after the stop, taken back {back_after:.2f} s after the start; "
        f"standby reads in the end {log.reads('replica-1', 'hero')}"
    )


async def test_a_read_after_header_that_is_not_a_position_is_refused(
    primary_url: str, standby: replica_server.Replica
) -> None:
    async with serving(primary_url, standby) as (app, client):
        _, headers = await signed_up_headers(client)
        log = log_statements(app)
        refused = await client.post(
            f"{API}/heroes",
            json={"name": "Never", "secret_name": "S"},
            headers={**headers, "Read-After": "yesterday"},
        )
        listed = await client.get(f"{API}/heroes", headers={"Read-After": "0/"})
    assert refused.status_code == 400
    assert "Read-After header must be a WAL position" in refused.json()["detail"]
    assert listed.status_code == 400
    assert log.writes("primary") == 0
    assert not any(log.sent.values())  # refused before any statement
