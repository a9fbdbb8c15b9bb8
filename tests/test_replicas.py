"""Catalogue reads on real PostgreSQL streaming replicas (``tests.replica_server``):
where reads and writes go, read-your-writes through ``Read-After`` while replay is
paused, a replica lagging over READ_MAX_LAG_SECONDS skipped and taken back, reads
shared by two replicas, a malformed Read-After refused (a replica stopped under
load: tests/test_replicas_under_load.py). Each test records its figures (reads per server, lag
seen, errors), printed at the end of the run.

PostgreSQL only: streaming replication is PostgreSQL's. Making a replica needs root
(or the postgres user) on the test server's machine; under CI=true a replica that
cannot be made fails the run.
"""

from __future__ import annotations

import anyio.to_thread
import pytest
from sqlalchemy import text

from keel_db import KeelDB
from tests import replica_server
from tests.helpers import API, signed_up_headers
from tests.replica_fixtures import (
    Figures,
    eventually,
    eventually_async,
    figures,
    hero_on_the_standby,
    log_statements,
    new_hero,
    primary_url,
    replica_or_skip,
    serving,
    standby,
)

pytestmark = pytest.mark.anyio

__all__ = ["figures", "primary_url", "standby"]  # fixtures, used by name


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
        hero_id = await new_hero(client, headers, "Streamed")
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
        headers, url = await hero_on_the_standby(client, standby)
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

        waited = await eventually_async(served_by_replica)
    assert stale == "Before"  # the replica really was behind, and served the others
    assert mine == ["After"] * 5  # and never the writer
    assert on_primary == 5
    figures(
        f"read-your-writes, replay paused: others read {stale!r} on the standby; the "
        f"writer read {mine.count('After')}/5 'After' on the primary (Read-After {position}); "
        f"back on the standby {waited:.2f} s after replay resumed"
    )


async def test_a_replica_lagging_over_the_bound_is_skipped_then_taken_back(
    primary_url: str,
    standby: replica_server.Replica,
    figures: Figures,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with serving(primary_url, standby, read_max_lag_seconds=1) as (app, client):
        state = KeelDB.of(app).replicas.states[0]
        headers, url = await hero_on_the_standby(client, standby)
        await anyio.to_thread.run_sync(standby.pause_replay)
        try:
            await client.patch(url, json={"name": "After"}, headers=headers)
            skipped_after = await eventually(lambda: state.problem is not None)
            lag_seen = state.lag_seconds
            log = log_statements(app)
            answers = [await client.get(url) for _ in range(5)]
            metrics = (await client.get("/metrics")).text
        finally:
            await anyio.to_thread.run_sync(standby.resume_replay)
        back_after = await eventually(lambda: state.problem is None)
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
    second = await anyio.to_thread.run_sync(replica_or_skip)
    try:
        async with serving(primary_url, standby, second) as (app, client):
            _, headers = await signed_up_headers(client)
            hero_id = await new_hero(client, headers, "Shared")
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
