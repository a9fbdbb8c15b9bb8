"""Many more clients than pool connections, and races on one idempotency key, against
a real ``keel serve``.

Load: ``DB_POOL_SIZE=5`` (and no overflow, so five connections in all) on PostgreSQL
and MariaDB, driven by 4 x and 16 x that many concurrent clients for a few seconds.
Every answer must be a 2xx or a 503 with ``Retry-After``, no client may time out,
and the wait must be spread evenly: the slowest 1 % of answers within 4 x the
median (requests are admitted to the database in arrival order, keel_db.pool).

Races: 20 concurrent copies of one ``POST /transfers``, ``POST /orders`` and
``POST /tasks/bulk`` with one ``Idempotency-Key``, 20 times over, on every database:
no 500, the same answer for all twenty, one effect per key.

These tests measure a server under load, so they carry the ``load`` marker:
``scripts/test`` runs them alone after the fault tests. ``pytest -m load -n 0 -s``
prints the figures.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from keel.users.admin import create_admin
from keel_db.testing import drop_database
from tests.conftest import make_settings, new_database
from tests.fault_server import KeelServer, keel_serve
from tests.helpers import API, PASSWORD, signed_up_headers, token_for
from tests.load_client import Connection

pytestmark = [pytest.mark.anyio, pytest.mark.load]

POOL_SIZE = 5
SECONDS = 4.0
WARM_UP = 1.0
CLIENT_TIMEOUT = 10.0  # over DB_POOL_TIMEOUT (5 s): a request waits, then is answered
RACE_ROUNDS = 20
RACERS = 20


@pytest.fixture
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[KeelServer, str]]:
    """``keel serve`` with five connections on a new database of the parametrised kind."""
    url = new_database(request.param, tmp_path)
    try:
        # ENVIRONMENT=development, as a user runs it: outside tests the start-up objects
        # are frozen out of the garbage collector's sight, and a full collection of
        # them (about 0.1 s here) no longer stalls every request in flight.
        with keel_serve(
            url,
            tmp_path,
            DB_POOL_SIZE=str(POOL_SIZE),
            DB_MAX_OVERFLOW="0",
            ENVIRONMENT="development",
        ) as server:
            yield server, url
    finally:
        drop_database(url)


@dataclass
class Load:
    """What one load run saw: statuses, latencies of answered requests, timeouts."""

    statuses: Counter[int] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    timeouts: int = 0
    unavailable_without_retry_after: int = 0

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]

    def report(self, name: str) -> str:
        p50, p90, p99 = (self.percentile(share) for share in (0.5, 0.9, 0.99))
        return (
            f"{name}: {len(self.latencies)} answers {dict(self.statuses)}, "
            f"{self.timeouts} timeouts, p50 {p50 * 1000:.1f} ms, p90 {p90 * 1000:.1f} ms, "
            f"p99 {p99 * 1000:.1f} ms, max {max(self.latencies) * 1000:.1f} ms, "
            f"p99/p50 {p99 / p50:.2f}"
        )


async def drive(
    target: str, *, clients: int, server: KeelServer, seconds: float = SECONDS, **headers: str
) -> Load:
    """``clients`` concurrent clients, each on its own connection (``load_client``),
    sending ``GET target`` again as soon as it is answered, for ``seconds``."""
    load = Load()
    deadline = time.monotonic() + seconds

    async def one_client() -> None:
        connection = Connection("127.0.0.1", server.port)
        try:
            while time.monotonic() < deadline:
                started = time.perf_counter()
                try:
                    async with asyncio.timeout(CLIENT_TIMEOUT):
                        answer = await connection.get(target, headers)
                except TimeoutError:
                    load.timeouts += 1
                    await connection.close()
                    continue
                load.latencies.append(time.perf_counter() - started)
                load.statuses[answer.status_code] += 1
                if answer.status_code == 503 and "retry-after" not in answer.headers:
                    load.unavailable_without_retry_after += 1
        finally:
            await connection.close()

    # The test process holds many objects: a full collection in it would stall every
    # client at once and be measured as the server's latency.
    gc.collect()
    gc.disable()
    try:
        await asyncio.gather(*(one_client() for _ in range(clients)))
    finally:
        gc.enable()
    return load


def assert_fair(load: Load, name: str) -> None:
    print(load.report(name))
    assert load.timeouts == 0, load.report(name)
    unexpected = {code: n for code, n in load.statuses.items() if not (200 <= code < 300)}
    assert set(unexpected) <= {503}, load.report(name)
    assert load.unavailable_without_retry_after == 0
    assert load.statuses[200] > 0
    assert load.percentile(0.99) <= 4 * statistics.median(load.latencies), load.report(name)


async def seeded(server: KeelServer) -> tuple[int, dict[str, str]]:
    """A hero to read and a user with 60 tasks; the hero's id and the user's headers."""
    async with httpx.AsyncClient(base_url=server.url, timeout=CLIENT_TIMEOUT) as client:
        _, headers = await signed_up_headers(client)
        tasks = [{"title": f"task {n}"} for n in range(60)]
        created = await client.post(f"{API}/tasks/bulk", json={"tasks": tasks}, headers=headers)
        assert created.status_code == 201, created.text
        hero = await client.post(
            f"{API}/heroes", json={"name": "Dragon", "secret_name": "D", "age": 30}, headers=headers
        )
        assert hero.status_code == 201, hero.text
        return int(hero.json()["id"]), headers


@pytest.mark.parametrize("served", ["postgresql", "mariadb"], indirect=True)
@pytest.mark.parametrize("times_the_pool", [4, 16])
async def test_many_more_clients_than_connections_wait_their_turn(
    served: tuple[KeelServer, str], times_the_pool: int
) -> None:
    server, url = served
    hero_id, headers = await seeded(server)
    clients = times_the_pool * POOL_SIZE
    kind = url.split(":", 1)[0]

    # Unmeasured first: every pooled connection opened, every statement compiled.
    await drive(f"{API}/heroes/{hero_id}", clients=clients, server=server, seconds=WARM_UP)
    await drive(f"{API}/tasks?limit=50", clients=clients, server=server, seconds=WARM_UP, **headers)
    heroes = await drive(f"{API}/heroes/{hero_id}", clients=clients, server=server)
    assert_fair(heroes, f"{kind} GET /heroes/{{id}} x{clients}")
    tasks = await drive(f"{API}/tasks?limit=50", clients=clients, server=server, **headers)
    assert_fair(tasks, f"{kind} signed-in GET /tasks?limit=50 x{clients}")


# --- races on one idempotency key ----------------------------------------------------


@dataclass
class Racers:
    """A rich payer, a payee and an item with plenty of stock, on one server."""

    client: httpx.AsyncClient
    payer: dict[str, str]
    payee_id: int
    item_id: int


async def race(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], headers: dict[str, str]
) -> list[httpx.Response]:
    """``RACERS`` copies of one keyed POST, sent at once."""
    keyed = {**headers, "Idempotency-Key": uuid.uuid4().hex}
    return await asyncio.gather(
        *(client.post(f"{API}{path}", json=body, headers=keyed) for _ in range(RACERS))
    )


def assert_one_answer(responses: list[httpx.Response]) -> dict[str, Any]:
    codes = Counter(response.status_code for response in responses)
    assert set(codes) == {201}, codes
    bodies = [response.json() for response in responses]
    assert all(body == bodies[0] for body in bodies)
    first: dict[str, Any] = bodies[0]
    return first


async def balance(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    response = await client.get(f"{API}/accounts/me", headers=headers)
    assert response.status_code == 200, response.text
    value: str = response.json()["balance"]
    return value


async def racers_on(server: KeelServer, url: str, client: httpx.AsyncClient) -> Racers:
    payer_user, payer = await signed_up_headers(client)
    payee, _ = await signed_up_headers(client)
    create_admin(make_settings(url), email="root@example.com", username="root", password=PASSWORD)
    admin = {"Authorization": f"Bearer {await token_for(client, 'root')}"}
    deposit = await client.post(
        f"{API}/accounts/{payer_user['id']}/deposit", json={"amount": "1000.00"}, headers=admin
    )
    assert deposit.status_code in (200, 201), deposit.text
    item = await client.post(
        f"{API}/items",
        json={"name": "Widget", "price": "1.00", "stock": 1000},
        headers=payer,
    )
    assert item.status_code == 201, item.text
    return Racers(client, payer, int(payee["id"]), int(item.json()["id"]))


@pytest.mark.parametrize("served", ["sqlite", "postgresql", "mariadb"], indirect=True)
async def test_same_key_races_have_one_effect_and_no_500(served: tuple[KeelServer, str]) -> None:
    server, url = served
    async with httpx.AsyncClient(base_url=server.url, timeout=CLIENT_TIMEOUT) as client:
        racers = await racers_on(server, url, client)
        for round_number in range(1, RACE_ROUNDS + 1):
            transfer = await race(
                client,
                "/transfers",
                {"to_user_id": racers.payee_id, "amount": "1.00"},
                racers.payer,
            )
            assert_one_answer(transfer)
            assert await balance(client, racers.payer) == f"{1000 - round_number}.00"

            order = await race(
                client,
                "/orders",
                {"lines": [{"item_id": racers.item_id, "quantity": 1}]},
                racers.payer,
            )
            assert_one_answer(order)
            item = (await client.get(f"{API}/items/{racers.item_id}")).json()
            assert item["stock"] == 1000 - round_number

            titles = [{"title": f"round {round_number} task {n}"} for n in range(3)]
            bulk = await race(
                client, "/tasks/bulk", {"tasks": titles, "mode": "atomic"}, racers.payer
            )
            assert len(assert_one_answer(bulk)["created"]) == 3
            listed = await client.get(f"{API}/tasks?limit=1000", headers=racers.payer)
            assert len(listed.json()["items"]) == 3 * round_number
    print(f"{url.split(':', 1)[0]}: {RACE_ROUNDS} rounds x 3 routes x {RACERS} racers, no 500")
