"""Faults against a real ``keel serve``: the database goes away and comes back, the
process is stopped while it works. It stays up, answers 503 while it must, recovers
by itself, loses no acknowledged write, and stops without dropping a request.

The outage tests stop the PostgreSQL and MariaDB servers, so they carry the ``fault``
marker: ``scripts/test`` runs them alone, one at a time, after the parallel run. Run
them by hand with ``pytest -m fault -n 0 -s`` (``-s`` shows the figures).
"""

from __future__ import annotations

import re
import signal
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import httpx
import pytest
from sqlalchemy import NullPool, create_engine, select, update

from keel.tasks.models import Task
from keel_db.engine import EngineSettings, make_sync_engine
from keel_db.testing import drop_database
from keel_db.urls import backend_name, sync_url
from tests.conftest import new_database
from tests.fault_load import Answer, Load, Outage, check_writes_through_an_outage, timed
from tests.fault_server import (
    KeelServer,
    accepts_connections,
    keel_serve,
    require_server_control,
    server_restored,
    start_database_server,
    stop_database_server,
)
from tests.helpers import API, create_task, signed_up_headers

pytestmark = pytest.mark.anyio

TASKS = Task.__table__  # type: ignore[attr-defined]


@pytest.fixture
def own_database(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """A new, empty database of the parametrised kind (``keel serve`` migrates it)."""
    url = new_database(request.param, tmp_path)
    yield url
    drop_database(url)


def kind_of(database_url: str) -> str:
    """``sqlite``, ``postgresql`` or ``mariadb``."""
    return {"mysql": "mariadb"}.get(backend_name(database_url), backend_name(database_url))


def titles_in(database_url: str) -> set[str]:
    engine = create_engine(sync_url(database_url), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return set(connection.execute(select(TASKS.c.title)).scalars())
    finally:
        engine.dispose()


# --- the database goes away and comes back ----------------------------------------

POOL_TIMEOUT = 2.0
CONNECT_TIMEOUT = 2.0
# Waiting for a pooled connection, then for a new one, then a margin for the rest.
SLOWEST_ANSWER = POOL_TIMEOUT + CONNECT_TIMEOUT + 3.0
CLIENTS = 8
BEFORE_SECONDS = 3.0
OUTAGE_SECONDS = 5.0
AFTER_SECONDS = 8.0
RECOVERY_BOUND = 5.0


async def _write_steadily(server: KeelServer, load: Load, client_number: int) -> None:
    """One client: sign up, then create tasks with unique titles until told to stop."""
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
        _, headers = await signed_up_headers(client)
        serial = 0
        while not load.stop.is_set():
            serial += 1
            title = f"client {client_number} task {serial}"
            answer = await timed(
                client, "POST", f"{API}/tasks", json={"title": title}, headers=headers
            )
            answer.title = title
            load.writes.append(answer)
            if answer.status != 201:
                await anyio.sleep(0.05)  # a client that retries at once, almost


async def _probe(server: KeelServer, load: Load) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
        while not load.stop.is_set():
            for path, answers in load.probes.items():
                answers.append(await timed(client, "GET", path))
            await anyio.sleep(0.25)


def _report(kind: str, load: Load, outage: Outage, database_titles: set[str]) -> float | None:
    counts = Counter(
        "2xx" if isinstance(a.status, int) and 200 <= a.status < 300 else str(a.status)
        for a in load.writes
    )
    first_after = load.first_created_after(outage.restarting)
    recovery = None if first_after is None else first_after - outage.back
    acknowledged = load.acknowledged()
    refused_but_stored = load.refused() & database_titles
    late_503 = sum(1 for a in load.writes if a.status == 503 and a.started >= outage.back)
    other = sum(n for key, n in counts.items() if key not in ("2xx", "503"))
    since_start = "none" if first_after is None else f"{first_after - outage.restarting:.2f} s"
    print(
        f"\n[{kind}] database stopped for {outage.restarting - outage.down:.1f} s, "
        f"answering again {outage.back - outage.restarting:.2f} s after its start command"
        f"\n  writes: {len(load.writes)} = {counts['2xx']} 2xx + {counts['503']} 503 + "
        f"{other} other; slowest answer {max(a.seconds for a in load.writes):.2f} s"
        f"\n  recovery: first 2xx {since_start} after the start command, "
        f"{'none' if recovery is None else f'{recovery:.2f} s'} after the server first "
        f"answered the test's own probe (every 0.05 s; below 0: Keel got there first)"
        f"\n  503 sent after the server was back: {late_503}; acknowledged titles "
        f"stored: {len(acknowledged & database_titles)}/{len(acknowledged)}; "
        f"refused writes stored anyway: {len(refused_but_stored)}"
    )
    return recovery


@pytest.mark.fault
@pytest.mark.parametrize("stop", ["clean", "abrupt"])
@pytest.mark.parametrize("own_database", ["postgresql", "mariadb"], indirect=True)
async def test_a_database_outage_is_503_then_recovers_and_loses_no_acknowledged_write(
    own_database: str, tmp_path: Path, stop: str
) -> None:
    """Eight clients write steadily; the database server stops (cleanly, or as in a
    crash) for five seconds and starts again; Keel is never restarted."""
    kind = kind_of(own_database)
    require_server_control(kind)
    load, outage = Load(), Outage()
    settings = {"DB_POOL_TIMEOUT": str(POOL_TIMEOUT), "DB_CONNECT_TIMEOUT": str(CONNECT_TIMEOUT)}
    with server_restored(kind), keel_serve(own_database, tmp_path, **settings) as server:
        async with anyio.create_task_group() as group:
            for number in range(CLIENTS):
                group.start_soon(_write_steadily, server, load, number)
            group.start_soon(_probe, server, load)
            await anyio.sleep(BEFORE_SECONDS)
            outage.down = await anyio.to_thread.run_sync(
                partial(stop_database_server, kind, abrupt=stop == "abrupt")
            )
            await anyio.sleep(OUTAGE_SECONDS)
            outage.restarting = time.monotonic()
            outage.back = await anyio.to_thread.run_sync(start_database_server, kind)
            await anyio.sleep(AFTER_SECONDS)
            load.stop.set()
        assert server.process.poll() is None, "keel serve died:\n" + server.log_tail()

    stored = titles_in(own_database)
    recovery = _report(f"{kind}, {stop} stop", load, outage, stored)
    check_writes_through_an_outage(
        load,
        outage,
        recovery=recovery,
        recovery_bound=RECOVERY_BOUND,
        slowest=SLOWEST_ANSWER,
        stored=stored,
    )
    probes = [a for answers in load.probes.values() for a in answers]
    slow = [a for a in probes if a.seconds > SLOWEST_ANSWER]
    assert not slow, f"probes slower than {SLOWEST_ANSWER} s: {slow[:5]}"
    ready = [a for a in load.probes["/health/ready"] if outage.covers(a)]
    live = [a for a in load.probes["/health/live"] if outage.covers(a)]
    assert ready, "no readiness probe was answered while the database was down"
    assert {a.status for a in ready} == {503}
    assert live, "no liveness probe was answered while the database was down"
    assert {a.status for a in live} == {200}


async def _round(clients: list[tuple[httpx.AsyncClient, Any]]) -> list[Answer]:
    """One write from each client, all at once."""
    answers: list[Answer] = []

    async def write(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
        title = f"task {len(answers)} {time.monotonic()}"
        answer = await timed(client, "POST", f"{API}/tasks", json={"title": title}, headers=headers)
        answer.title = title
        answers.append(answer)

    async with anyio.create_task_group() as group:
        for client, headers in clients:
            group.start_soon(write, client, headers)
    return answers


@pytest.mark.fault
@pytest.mark.parametrize("ping_after_idle", [60, 0], ids=["ping-when-idle", "ping-always"])
@pytest.mark.parametrize("own_database", ["postgresql", "mariadb"], indirect=True)
async def test_a_restart_between_requests_costs_at_most_one_503_per_pooled_connection(
    own_database: str, tmp_path: Path, ping_after_idle: int
) -> None:
    """The database restarts while Keel is idle, and the requests come back before
    the pooled connections have been idle long enough to be pinged: each connection
    the pool holds may fail one request (503, never a 500), and the first failure
    discards all of them. With DB_PING_AFTER_IDLE_SECONDS=0 (ping before every
    use) not even that."""
    kind = kind_of(own_database)
    require_server_control(kind)
    settings = {
        "DB_POOL_TIMEOUT": str(POOL_TIMEOUT),
        "DB_CONNECT_TIMEOUT": str(CONNECT_TIMEOUT),
        "DB_PING_AFTER_IDLE_SECONDS": str(ping_after_idle),
    }
    with server_restored(kind), keel_serve(own_database, tmp_path, **settings) as server:
        async with AsyncExitStack() as stack:
            clients = []
            for _ in range(CLIENTS):
                client = await stack.enter_async_context(
                    httpx.AsyncClient(base_url=server.url, timeout=60)
                )
                clients.append((client, (await signed_up_headers(client))[1]))
            before = [a for _ in range(3) for a in await _round(clients)]
            restart_began = time.monotonic()
            await anyio.to_thread.run_sync(stop_database_server, kind)
            await anyio.to_thread.run_sync(start_database_server, kind)
            restart = time.monotonic() - restart_began
            first = await _round(clients)
            later = [a for _ in range(5) for a in await _round(clients)]

    failed = sum(1 for a in first if a.status == 503)
    print(
        f"\n[{kind}, DB_PING_AFTER_IDLE_SECONDS={ping_after_idle}] restart {restart:.1f} s "
        f"between requests: first round {failed} 503 of {len(first)}, "
        f"then {sum(1 for a in later if a.status != 201)} not 201 of {len(later)}"
    )
    assert {a.status for a in before} == {201}
    assert {a.status for a in first} <= {201, 503}, first
    assert {a.status for a in later} == {201}, later
    if ping_after_idle == 0:
        assert failed == 0, first
    acknowledged = {a.title for a in before + first + later if a.status == 201}
    assert acknowledged <= titles_in(own_database)


# --- stopping the process while it works -----------------------------------------

IN_FLIGHT = 3


@dataclass
class RowLock:
    """A transaction of the test's own holding tasks' rows (SQLite: the write
    lock), so that requests writing them wait in the middle of their work."""

    database_url: str
    task_ids: list[int]

    def __enter__(self) -> RowLock:
        self.engine = make_sync_engine(
            EngineSettings(url=self.database_url, statement_timeout_ms=0)
        )
        self.connection = self.engine.connect()
        self.transaction = self.connection.begin()
        self.connection.execute(
            update(TASKS).where(TASKS.c.id.in_(self.task_ids)).values(description="held")
        )
        return self

    def release(self) -> None:
        if self.transaction.is_active:
            self.transaction.rollback()

    def __exit__(self, *_: object) -> None:
        self.release()
        self.connection.close()
        self.engine.dispose()


async def _until(condition: Callable[[], Awaitable[bool]]) -> None:
    """Poll ``condition`` until it holds (bound the wait with ``anyio.fail_after``)."""
    while True:
        if await condition():
            return
        await anyio.sleep(0.02)


async def _refused(port: int) -> bool:
    return not accepts_connections(port)


async def _in_use_at_least(client: httpx.AsyncClient, connections: int) -> bool:
    """The server holds at least ``connections`` of its pool's connections."""
    metrics = (await client.get("/metrics")).text
    match = re.search(r'^keel_db_pool_in_use\{database="primary"\} (\S+)$', metrics, re.M)
    return match is not None and float(match.group(1)) >= connections


async def _wait_until_in_use(server: KeelServer, connections: int) -> None:
    """Until the server holds ``connections`` pooled connections: the requests are in
    the middle of their work, waiting on the lock."""
    async with httpx.AsyncClient(base_url=server.url) as client:
        with anyio.fail_after(10):
            await _until(lambda: _in_use_at_least(client, connections))


async def _patch(server: KeelServer, path: str, headers: dict[str, str], body: Any) -> Answer:
    """One PATCH on a connection of its own."""
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
        return await timed(client, "PATCH", path, json=body, headers=headers)


@pytest.mark.parametrize("own_database", ["sqlite", "postgresql", "mariadb"], indirect=True)
async def test_sigterm_lets_requests_in_flight_finish_refuses_new_ones_and_exits_0(
    own_database: str, tmp_path: Path
) -> None:
    # Statements wait on the lock as long as the test holds it (SQLite: up to its
    # 5 s busy timeout, longer than the test needs).
    with keel_serve(own_database, tmp_path, STATEMENT_TIMEOUT_MS="60000") as server:
        async with httpx.AsyncClient(base_url=server.url) as client:
            _, headers = await signed_up_headers(client)
            ids = [(await create_task(client, headers))["id"] for _ in range(IN_FLIGHT)]
        answers: list[Answer] = []

        async def patch(number: int) -> None:
            body = {"description": f"in flight {number}"}
            answers.append(await _patch(server, f"{API}/tasks/{ids[number]}", headers, body))

        with RowLock(own_database, ids) as lock:
            async with anyio.create_task_group() as group:
                for number in range(IN_FLIGHT):
                    group.start_soon(patch, number)
                await _wait_until_in_use(server, IN_FLIGHT)
                server.process.send_signal(signal.SIGTERM)
                stopping = time.monotonic()
                with anyio.fail_after(5):
                    await _until(lambda: _refused(server.port))
                refused_after = time.monotonic() - stopping
                assert not answers, "the requests should still be waiting on the lock"
                lock.release()

        assert sorted(a.status for a in answers) == [200] * IN_FLIGHT, answers
        # The normal answer: the task with this request's own change.
        assert sorted(a.body["description"] for a in answers) == [
            f"in flight {n}" for n in range(IN_FLIGHT)
        ]
        code = server.wait_for_exit(timeout=10)
        stopped_after = time.monotonic() - stopping
        print(
            f"\n[{kind_of(own_database)}] SIGTERM: new connections refused "
            f"after {refused_after:.2f} s; "
            f"{IN_FLIGHT} requests in flight answered 200; exit {code} "
            f"after {stopped_after:.2f} s"
        )
        assert code == 0, server.log_tail()


@pytest.mark.parametrize("own_database", ["postgresql", "mariadb"], indirect=True)
async def test_a_request_past_the_graceful_timeout_is_cut_and_leaves_nothing_behind(
    own_database: str, tmp_path: Path
) -> None:
    with keel_serve(
        own_database, tmp_path, "--graceful-timeout", "1", STATEMENT_TIMEOUT_MS="60000"
    ) as server:
        async with httpx.AsyncClient(base_url=server.url) as client:
            _, headers = await signed_up_headers(client)
            task = await create_task(client, headers, description="before")
        path = f"{API}/tasks/{task['id']}"
        with RowLock(own_database, [task["id"]]) as lock:
            async with anyio.create_task_group() as group:
                answers: list[Answer] = []

                async def patch() -> None:
                    answers.append(await _patch(server, path, headers, {"description": "cut"}))

                group.start_soon(patch)
                await _wait_until_in_use(server, 1)
                server.process.send_signal(signal.SIGTERM)
                stopping = time.monotonic()
                code = await anyio.to_thread.run_sync(server.wait_for_exit, 10.0)
                stopped_after = time.monotonic() - stopping
            lock.release()
    print(
        f"\n[{kind_of(own_database)}] --graceful-timeout 1: the stuck request "
        f"got {answers[0].status}; "
        f"exit {code} after {stopped_after:.2f} s"
    )
    assert code == 0, server.log_tail()
    assert stopped_after < 1 + 5, stopped_after
    # Cut, and told so: a 503 to retry, not uvicorn's plain 500.
    assert answers[0].status == 503, answers
    assert answers[0].retry_after is not None
    # The cut transaction never committed: once the lock is gone, the task is as it was.
    engine = create_engine(sync_url(own_database), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            description = connection.execute(
                select(TASKS.c.description).where(TASKS.c.id == task["id"])
            ).scalar_one()
    finally:
        engine.dispose()
    assert description == "before"
