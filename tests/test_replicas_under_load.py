"""A streaming replica stopped under load and started again: no error and no stale
read for the writers, in the app in process (statements counted per engine) and
through a real ``keel serve`` with real HTTP clients (figures read from /metrics)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import anyio.to_thread
import httpx
import pytest

from keel_db import KeelDB
from tests import replica_server
from tests.fault_server import keel_serve
from tests.helpers import signed_up_headers
from tests.replica_fixtures import (
    Figures,
    eventually,
    eventually_async,
    figures,
    log_statements,
    new_hero,
    primary_url,
    readers_and_writers,
    replica_or_skip,
    serving,
    standby,
    url_on,
)

pytestmark = pytest.mark.anyio

__all__ = ["figures", "primary_url", "standby"]  # fixtures, used by name


async def test_a_replica_stopped_under_load_is_skipped_without_errors(
    primary_url: str, figures: Figures
) -> None:
    replica = await anyio.to_thread.run_sync(replica_or_skip)  # this test's own
    try:
        async with serving(primary_url, replica) as (app, client):
            state = KeelDB.of(app).replicas.states[0]
            _, headers = await signed_up_headers(client)
            heroes = [await new_hero(client, headers, f"Hero {n}") for n in range(4)]
            await anyio.to_thread.run_sync(replica_server.wait_replayed, replica)
            log = log_statements(app)
            phase = {"done": False}
            load = asyncio.create_task(
                readers_and_writers(client, headers, heroes, lambda: phase["done"])
            )
            await asyncio.sleep(1.5)
            before_stop = log.reads("replica-1", "hero")
            await anyio.to_thread.run_sync(replica.stop)
            down_after = await eventually(lambda: state.problem is not None)
            await asyncio.sleep(1.5)
            primary_while_down = log.reads("primary", "hero")
            await anyio.to_thread.run_sync(replica.start)
            back_after = await eventually(lambda: state.problem is None)
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


@pytest.fixture
def own_replica(primary_url: str) -> Iterator[replica_server.Replica]:
    """A replica of this test's own: it is stopped and started under load."""
    replica = replica_or_skip()
    yield replica
    replica.remove()


def _figure(metrics: str, series: str) -> float:
    """One sample of ``series`` (name and labels as written) in /metrics' text."""
    found = re.search(rf"^{re.escape(series)} ([0-9.e+-]+)$", metrics, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


async def test_a_served_keel_keeps_answering_while_its_replica_stops_and_returns(
    primary_url: str, own_replica: replica_server.Replica, tmp_path: Path, figures: Figures
) -> None:
    replica_reads = 'keel_db_query_seconds_count{database="replica-1"}'
    up = 'keel_db_replica_up{database="replica-1"}'
    environment = {
        "READ_DATABASE_URL": url_on(own_replica, primary_url),
        "READ_CHECK_SECONDS": "0.2",
    }
    with keel_serve(primary_url, tmp_path, **environment) as server:
        limits = httpx.Limits(max_connections=32)
        async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=30) as client:

            async def metrics() -> str:
                return (await client.get("/metrics")).text

            _, headers = await signed_up_headers(client)
            heroes = [await new_hero(client, headers, f"Hero {n}") for n in range(4)]
            await anyio.to_thread.run_sync(replica_server.wait_replayed, own_replica)
            phase = {"done": False}
            load = asyncio.create_task(
                readers_and_writers(client, headers, heroes, lambda: phase["done"])
            )
            await asyncio.sleep(1.5)
            before_stop = _figure(await metrics(), replica_reads)
            await anyio.to_thread.run_sync(own_replica.stop)
            await eventually_async(lambda: _is(metrics, up, 0.0))
            await asyncio.sleep(1.5)
            await anyio.to_thread.run_sync(own_replica.start)
            back_after = await eventually_async(lambda: _is(metrics, up, 1.0))
            after_restart = _figure(await metrics(), replica_reads)
            await asyncio.sleep(1.0)
            phase["done"] = True
            tally = await load
            final = await metrics()
    assert tally.errors == []
    assert tally.stale == 0
    assert before_stop > 0
    assert _figure(final, replica_reads) > after_restart  # taken back under load
    fallbacks = _figure(final, 'keel_db_replica_fallbacks_total{reason="replica_failed"}')
    figures(
        f"keel serve, replica stopped under load: {tally.answered} answers over HTTP, errors "
        f"{len(tally.errors)}, stale reads for the writer {tally.stale}; replica queries "
        f"{before_stop:.0f} before the stop, {_figure(final, replica_reads):.0f} in the end; "
        f"reads the primary took after a replica failed {fallbacks:.0f}; back in service "
        f"{back_after:.2f} s after it streamed again"
    )


async def _is(metrics: Callable[[], Awaitable[str]], series: str, value: float) -> bool:
    return _figure(await metrics(), series) == value
