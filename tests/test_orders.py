"""Orders: prices copied at order time, stock taken in the same transaction,
never oversold, cancelled once."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from keel.orders.models import Order
from keel_db import KeelDB
from tests.helpers import API, count_rows, run_concurrently, signed_up_headers

pytestmark = pytest.mark.anyio

Headers = dict[str, str]
orders_table = Order.__table__  # type: ignore[attr-defined]


async def item(client: httpx.AsyncClient, headers: Headers, **fields: Any) -> dict[str, Any]:
    body = {"name": "Widget", "price": "2.50", "stock": 10, **fields}
    response = await client.post(f"{API}/items", json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def stock(client: httpx.AsyncClient, item_id: int) -> int:
    value: int = (await client.get(f"{API}/items/{item_id}")).json()["stock"]
    return value


async def order(
    client: httpx.AsyncClient, headers: Headers, *lines: tuple[int, int], **extra: str
) -> httpx.Response:
    body = {"lines": [{"item_id": item_id, "quantity": quantity} for item_id, quantity in lines]}
    return await client.post(f"{API}/orders", json=body, headers={**headers, **extra})


async def test_an_order_copies_names_and_prices_and_takes_stock(client: httpx.AsyncClient) -> None:
    _, seller = await signed_up_headers(client)
    buyer, headers = await signed_up_headers(client)
    pen = await item(client, seller, name="Pen", price="0.10", stock=100)
    pad = await item(client, seller, name="Pad", price="3.33", stock=5)
    response = await order(client, headers, (pen["id"], 3), (pad["id"], 2))
    assert response.status_code == 201, response.text
    placed = response.json()
    assert placed["user_id"] == buyer["id"]
    assert placed["status"] == "placed"
    assert placed["total"] == "6.96"
    assert placed["lines"] == [
        {"item_id": pen["id"], "item_name": "Pen", "unit_price": "0.10", "quantity": 3},
        {"item_id": pad["id"], "item_name": "Pad", "unit_price": "3.33", "quantity": 2},
    ]
    assert await stock(client, pen["id"]) == 97
    assert await stock(client, pad["id"]) == 3
    # A later change to the item does not change what was bought.
    await client.patch(
        f"{API}/items/{pad['id']}", json={"price": "9.99", "name": "Big pad"}, headers=seller
    )
    assert (await client.get(f"{API}/orders/{placed['id']}", headers=headers)).json() == placed
    page = (await client.get(f"{API}/orders", headers=headers)).json()
    assert page["items"] == [placed]


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("unknown item", 404),
        ("short stock", 409),
        ("no lines", 422),
        ("zero quantity", 422),
        ("same item twice", 422),
    ],
)
async def test_a_failed_order_changes_nothing_at_all(
    client: httpx.AsyncClient, app: FastAPI, case: str, status: int
) -> None:
    _, seller = await signed_up_headers(client)
    _, headers = await signed_up_headers(client)
    first = await item(client, seller, stock=5)
    second = await item(client, seller, name="Other", stock=2)
    lines = {
        "unknown item": [(first["id"], 1), (999999, 1)],
        "short stock": [(first["id"], 1), (second["id"], 3)],
        "no lines": [],
        "zero quantity": [(first["id"], 0)],
        "same item twice": [(first["id"], 1), (first["id"], 1)],
    }[case]
    response = await order(client, headers, *lines)
    assert response.status_code == status, response.text
    assert await stock(client, first["id"]) == 5
    assert await stock(client, second["id"]) == 2
    assert await count_rows(app, orders_table) == 0


async def test_cancel_returns_the_stock_exactly_once(client: httpx.AsyncClient) -> None:
    _, seller = await signed_up_headers(client)
    _, headers = await signed_up_headers(client)
    thing = await item(client, seller, stock=10)
    placed = (await order(client, headers, (thing["id"], 4))).json()
    url = f"{API}/orders/{placed['id']}/cancel"
    answers = await asyncio.gather(*(client.post(url, headers=headers) for _ in range(8)))
    assert sorted(answer.status_code for answer in answers) == [200] + [409] * 7
    assert next(a for a in answers if a.status_code == 200).json()["status"] == "cancelled"
    assert await stock(client, thing["id"]) == 10
    again = await client.post(url, headers=headers)
    assert again.status_code == 409
    assert again.json() == {"detail": "The order is already cancelled."}
    assert await stock(client, thing["id"]) == 10


async def test_orders_are_private(client: httpx.AsyncClient) -> None:
    _, seller = await signed_up_headers(client)
    _, headers = await signed_up_headers(client)
    _, other = await signed_up_headers(client)
    thing = await item(client, seller)
    placed = (await order(client, headers, (thing["id"], 1))).json()
    assert (await client.get(f"{API}/orders/{placed['id']}", headers=other)).status_code == 404
    assert (
        await client.post(f"{API}/orders/{placed['id']}/cancel", headers=other)
    ).status_code == 404
    assert (await client.get(f"{API}/orders", headers=other)).json()["items"] == []
    assert (await client.get(f"{API}/orders/{placed['id']}")).status_code == 401
    assert await stock(client, thing["id"]) == 9


async def test_fifty_buyers_for_ten_units_never_oversell(
    client: httpx.AsyncClient, app: FastAPI, database_url: str
) -> None:
    _, seller = await signed_up_headers(client)
    buyers = [(await signed_up_headers(client))[1] for _ in range(50)]
    thing = await item(client, seller, stock=10)
    answers = await run_concurrently(
        [lambda headers=headers: order(client, headers, (thing["id"], 1)) for headers in buyers],
        workers=50,
    )
    outcomes = Counter(answer.status_code for answer in answers)
    print(f"\noversell on {database_url.split(':')[0]}: {dict(outcomes)}")
    assert outcomes == {201: 10, 409: 40}
    assert await stock(client, thing["id"]) == 0
    assert await count_rows(app, orders_table) == 10


async def test_one_idempotency_key_places_one_order(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    _, seller = await signed_up_headers(client)
    _, headers = await signed_up_headers(client)
    thing = await item(client, seller, stock=100)
    answers = await run_concurrently(
        [lambda: order(client, headers, (thing["id"], 3), **{"Idempotency-Key": "cart-42"})] * 20,
        workers=20,
    )
    assert {answer.status_code for answer in answers} == {201}
    assert len({answer.text for answer in answers}) == 1
    assert await count_rows(app, orders_table) == 1
    assert await stock(client, thing["id"]) == 97
    different = await order(client, headers, (thing["id"], 4), **{"Idempotency-Key": "cart-42"})
    assert different.status_code == 422
    assert await stock(client, thing["id"]) == 97
    assert await count_rows(app, orders_table) == 1


async def test_order_list_runs_the_same_queries_for_1_and_50_orders(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    from keel_db.monitoring import count_queries

    _, seller = await signed_up_headers(client)
    _, headers = await signed_up_headers(client)
    things = [await item(client, seller, name=f"thing {n}", stock=1000) for n in range(3)]

    async def queries() -> int:
        with count_queries(KeelDB.of(app).database.engine) as log:
            assert (await client.get(f"{API}/orders", headers=headers)).status_code == 200
        return log.count

    await order(client, headers, (things[0]["id"], 1))
    one = await queries()
    for n in range(50):
        await order(client, headers, *[(thing["id"], 1 + n % 2) for thing in things[: 1 + n % 3]])
    assert await queries() == one
    page = (await client.get(f"{API}/orders", headers=headers)).json()
    assert len(page["items"]) == 50
    assert sum(len(o["lines"]) for o in page["items"]) > 50
