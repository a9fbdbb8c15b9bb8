"""Accounts and transfers: money never goes negative, never appears or vanishes,
and a failed transfer leaves no trace, under any concurrency."""

from __future__ import annotations

import random
from collections import Counter
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from keel.accounts.models import Account, Deposit, Transfer
from keel_db import Database, KeelDB
from tests.helpers import API, count_rows, run_concurrently, signed_up_headers, token_for

pytestmark = pytest.mark.anyio

Headers = dict[str, str]
transfers_table = Transfer.__table__  # type: ignore[attr-defined]


async def balance(client: httpx.AsyncClient, headers: Headers) -> str:
    response = await client.get(f"{API}/accounts/me", headers=headers)
    assert response.status_code == 200
    amount: str = response.json()["balance"]
    return amount


async def deposit(
    client: httpx.AsyncClient, admin: Headers, user_id: int, amount: object
) -> httpx.Response:
    return await client.post(
        f"{API}/accounts/{user_id}/deposit", json={"amount": amount}, headers=admin
    )


async def test_deposits_and_a_transfer(client: httpx.AsyncClient, admin_headers: Headers) -> None:
    alice, a = await signed_up_headers(client)
    bob, b = await signed_up_headers(client)
    assert await balance(client, a) == "0.00"
    response = await deposit(client, admin_headers, alice["id"], "100.10")
    assert response.status_code == 200
    assert response.json() == {"user_id": alice["id"], "balance": "100.10"}
    assert (await deposit(client, admin_headers, alice["id"], 0.2)).json()["balance"] == "100.30"

    response = await client.post(
        f"{API}/transfers", json={"to_user_id": bob["id"], "amount": "0.30"}, headers=a
    )
    assert response.status_code == 201
    sent = response.json()
    assert (sent["from_user_id"], sent["to_user_id"], sent["amount"]) == (
        alice["id"],
        bob["id"],
        "0.30",
    )
    assert await balance(client, a) == "100.00"
    assert await balance(client, b) == "0.30"
    for headers in (a, b):
        page = (await client.get(f"{API}/transfers", headers=headers)).json()
        assert [t["id"] for t in page["items"]] == [sent["id"]]


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("to myself", 422),
        ("to nobody", 404),
        ("more than I have", 409),
        ("zero", 422),
        ("three decimals", 422),
        ("negative", 422),
        ("no amount", 422),
    ],
)
async def test_failed_transfers_leave_no_trace(
    client: httpx.AsyncClient, app: FastAPI, admin_headers: Headers, case: str, status: int
) -> None:
    me, headers = await signed_up_headers(client)
    other, other_headers = await signed_up_headers(client)
    await deposit(client, admin_headers, me["id"], "10.00")
    body: dict[str, Any] = {
        "to myself": {"to_user_id": me["id"], "amount": "1.00"},
        "to nobody": {"to_user_id": 999999, "amount": "1.00"},
        "more than I have": {"to_user_id": other["id"], "amount": "10.01"},
        "zero": {"to_user_id": other["id"], "amount": "0"},
        "three decimals": {"to_user_id": other["id"], "amount": "1.001"},
        "negative": {"to_user_id": other["id"], "amount": -1},
        "no amount": {"to_user_id": other["id"]},
    }[case]
    response = await client.post(f"{API}/transfers", json=body, headers=headers)
    assert response.status_code == status, response.text
    assert await balance(client, headers) == "10.00"
    assert await balance(client, other_headers) == "0.00"
    assert await count_rows(app, transfers_table) == 0


@pytest.mark.parametrize(
    ("who", "status"), [("user", 403), ("anonymous", 401), ("unknown", 404), ("bad", 422)]
)
async def test_failed_deposits_leave_no_trace(
    client: httpx.AsyncClient, app: FastAPI, admin_headers: Headers, who: str, status: int
) -> None:
    user, headers = await signed_up_headers(client)
    target = 999999 if who == "unknown" else user["id"]
    amount = "1.001" if who == "bad" else "5.00"
    caller = {"user": headers, "anonymous": {}}.get(who, admin_headers)
    response = await client.post(
        f"{API}/accounts/{target}/deposit", json={"amount": amount}, headers=caller
    )
    assert response.status_code == status
    assert await balance(client, headers) == "0.00"
    assert await count_rows(app, Deposit.__table__) == 0  # type: ignore[attr-defined]


async def test_the_bank_keeps_its_books_under_concurrent_transfers(
    client: httpx.AsyncClient, app: FastAPI, admin_headers: Headers, database_url: str
) -> None:
    """20 accounts, 2000 random transfers from 32 concurrent clients."""
    people = [await signed_up_headers(client) for _ in range(20)]
    for user, _ in people:
        assert (await deposit(client, admin_headers, user["id"], "100.00")).status_code == 200
    rng = random.Random(20261122)

    def job() -> Any:
        sender, receiver = rng.sample(people, 2)
        amount = f"{rng.randint(1, 6000) / 100:.2f}"
        body = {"to_user_id": receiver[0]["id"], "amount": amount}
        return lambda: client.post(f"{API}/transfers", json=body, headers=sender[1])

    responses = await run_concurrently([job() for _ in range(2000)], workers=32)
    outcomes = Counter(response.status_code for response in responses)
    print(f"\nbank on {database_url.split(':')[0]}: {dict(outcomes)}")
    assert set(outcomes) <= {201, 409}, outcomes
    assert outcomes[201] > 500

    database: Database = KeelDB.of(app).database
    async with database.engine.connect() as connection:
        balances = dict((await connection.execute(select(Account.user_id, Account.balance))).all())
        log = (
            await connection.execute(
                select(Transfer.id, Transfer.from_user_id, Transfer.to_user_id, Transfer.amount)
            )
        ).all()
    accepted = {response.json()["id"] for response in responses if response.status_code == 201}
    assert {row.id for row in log} == accepted  # every 2xx is in the log, nothing else is
    assert all(amount >= 0 for amount in balances.values())
    assert sum(balances.values()) == Decimal("2000.00")
    for user, _ in people:
        incoming = sum((row.amount for row in log if row.to_user_id == user["id"]), Decimal(0))
        outgoing = sum((row.amount for row in log if row.from_user_id == user["id"]), Decimal(0))
        assert balances[user["id"]] == Decimal("100.00") + incoming - outgoing


async def test_one_idempotency_key_moves_money_once(
    client: httpx.AsyncClient, app: FastAPI, admin_headers: Headers
) -> None:
    me, headers = await signed_up_headers(client)
    other, other_headers = await signed_up_headers(client)
    await deposit(client, admin_headers, me["id"], "50.00")
    keyed = {**headers, "Idempotency-Key": "pay-rent-2026-11"}
    body = {"to_user_id": other["id"], "amount": "12.34"}
    responses = await run_concurrently(
        [lambda: client.post(f"{API}/transfers", json=body, headers=keyed)] * 20, workers=20
    )
    assert {response.status_code for response in responses} == {201}
    assert len({response.text for response in responses}) == 1
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in responses) == 19
    assert await count_rows(app, transfers_table) == 1
    assert await balance(client, headers) == "37.66"
    assert await balance(client, other_headers) == "12.34"

    other_body = {"to_user_id": other["id"], "amount": "1.00"}
    response = await client.post(f"{API}/transfers", json=other_body, headers=keyed)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]
    assert await count_rows(app, transfers_table) == 1


async def test_a_failed_keyed_transfer_can_be_retried(
    client: httpx.AsyncClient, app: FastAPI, admin_headers: Headers
) -> None:
    me, headers = await signed_up_headers(client)
    other, _ = await signed_up_headers(client)
    keyed = {**headers, "Idempotency-Key": "k1"}
    body = {"to_user_id": other["id"], "amount": "5.00"}
    assert (await client.post(f"{API}/transfers", json=body, headers=keyed)).status_code == 409
    await deposit(client, admin_headers, me["id"], "5.00")
    assert (await client.post(f"{API}/transfers", json=body, headers=keyed)).status_code == 201
    assert await count_rows(app, transfers_table) == 1


async def test_an_idempotency_key_expires(
    client: httpx.AsyncClient, app: FastAPI, admin_headers: Headers
) -> None:
    from datetime import UTC, datetime, timedelta

    from keel.dependencies import get_now

    me, headers = await signed_up_headers(client)
    other, _ = await signed_up_headers(client)
    await deposit(client, admin_headers, me["id"], "10.00")
    keyed = {**headers, "Idempotency-Key": "weekly"}
    body = {"to_user_id": other["id"], "amount": "1.00"}
    assert (await client.post(f"{API}/transfers", json=body, headers=keyed)).status_code == 201
    assert (await client.post(f"{API}/transfers", json=body, headers=keyed)).headers[
        "idempotent-replayed"
    ] == "true"
    later = datetime.now(UTC) + timedelta(hours=25)
    app.dependency_overrides[get_now] = lambda: later
    try:  # a day later: sign in then, and the key is free again
        token = await token_for(client, me["username"])
        keyed_later = {"Authorization": f"Bearer {token}", "Idempotency-Key": "weekly"}
        response = await client.post(f"{API}/transfers", json=body, headers=keyed_later)
    finally:
        app.dependency_overrides.clear()
    assert response.status_code == 201
    assert "idempotent-replayed" not in response.headers
    assert await count_rows(app, transfers_table) == 2
    assert await balance(client, headers) == "8.00"


async def test_transfer_list_runs_the_same_queries_for_1_and_50_transfers(
    client: httpx.AsyncClient, app: FastAPI, admin_headers: Headers
) -> None:
    from keel_db.monitoring import count_queries

    me, headers = await signed_up_headers(client)
    other, _ = await signed_up_headers(client)
    await deposit(client, admin_headers, me["id"], "100.00")

    async def queries() -> int:
        with count_queries(KeelDB.of(app).database.engine) as log:
            assert (await client.get(f"{API}/transfers", headers=headers)).status_code == 200
        return log.count

    body = {"to_user_id": other["id"], "amount": "1.00"}
    await client.post(f"{API}/transfers", json=body, headers=headers)
    one = await queries()
    for _ in range(50):
        await client.post(f"{API}/transfers", json=body, headers=headers)
    assert await queries() == one
