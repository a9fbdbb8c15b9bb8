"""Items: exact money, owner-only writes, PUT vs PATCH, filters, bulk."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from keel.items.models import Item
from keel_db import KeelDB
from keel_db.monitoring import count_queries
from tests.helpers import API, count_rows, signed_up_headers

pytestmark = pytest.mark.anyio

items = Item.__table__  # type: ignore[attr-defined]
Headers = dict[str, str]


async def new_item(client: httpx.AsyncClient, headers: Headers, **fields: Any) -> dict[str, Any]:
    body = {"name": "Widget", "price": "9.99", "stock": 3, **fields}
    response = await client.post(f"{API}/items", json=body, headers=headers)
    assert response.status_code == 201, response.text
    item: dict[str, Any] = response.json()
    return item


@pytest.mark.parametrize(
    ("sent", "stored"),
    [("10.00", "10.00"), (10, "10.00"), (0.1, "0.10"), ("3.5", "3.50"), (0, "0.00")],
)
async def test_price_is_an_exact_two_decimal_string(
    client: httpx.AsyncClient, sent: object, stored: str
) -> None:
    _, headers = await signed_up_headers(client)
    item = await new_item(client, headers, price=sent)
    assert item["price"] == stored
    assert (await client.get(f"{API}/items/{item['id']}")).json()["price"] == stored


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"price": "1.005"}, "price"),
        ({"price": 1.999}, "price"),
        ({"price": "-1.00"}, "price"),
        ({"price": "ten"}, "price"),
        ({"price": True}, "price"),
        ({"price": "1e3"}, "price"),
        ({"price": "1000000000000.00"}, "price"),
        ({"stock": -1}, "stock"),
        ({"name": ""}, "name"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_bad_item_is_422_and_writes_nothing(
    client: httpx.AsyncClient, app: FastAPI, body: dict[str, Any], field: str
) -> None:
    _, headers = await signed_up_headers(client)
    payload = {"name": "Widget", "price": "9.99", "stock": 3, **body}
    response = await client.post(f"{API}/items", json=payload, headers=headers)
    assert response.status_code == 422
    assert any(error["loc"][:2] == ["body", field] for error in response.json()["detail"])
    assert await count_rows(app, items) == 0


async def test_put_replaces_and_patch_updates(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up_headers(client)
    item = await new_item(client, headers, description="Blue", stock=5)
    url = f"{API}/items/{item['id']}"
    patched = (await client.patch(url, json={"price": "12.50"}, headers=headers)).json()
    assert (patched["price"], patched["description"], patched["stock"]) == ("12.50", "Blue", 5)
    replaced = await client.put(url, json={"name": "Gadget", "price": 3}, headers=headers)
    assert replaced.status_code == 200
    body = replaced.json()
    assert (body["name"], body["price"], body["description"], body["stock"]) == (
        "Gadget",
        "3.00",
        None,
        0,
    )
    incomplete = await client.put(url, json={"name": "No price"}, headers=headers)
    assert incomplete.status_code == 422
    assert (await client.get(url)).json() == body


async def test_items_are_public_to_read_and_owner_only_to_write(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    _, owner = await signed_up_headers(client)
    _, other = await signed_up_headers(client)
    item = await new_item(client, owner)
    url = f"{API}/items/{item['id']}"
    assert (await client.get(url)).json() == item
    for method, body in (
        ("PATCH", {"price": "0.01"}),
        ("PUT", {"name": "x", "price": 1}),
        ("DELETE", None),
    ):
        assert (await client.request(method, url, json=body, headers=other)).status_code == 404
        assert (await client.request(method, url, json=body)).status_code == 401
    assert (await client.get(url)).json() == item
    assert (await client.delete(url, headers=owner)).status_code == 204
    assert await count_rows(app, items) == 0


async def test_filters_and_sorts(client: httpx.AsyncClient) -> None:
    alice, a = await signed_up_headers(client)
    _, b = await signed_up_headers(client)
    await new_item(client, a, name="Red pen", price="1.50")
    await new_item(client, a, name="Blue pen", price="2.00", description="Ocean BLUE")
    await new_item(client, b, name="Notebook", price="10.00")

    async def names(path: str = "/items", **params: Any) -> list[str]:
        response = await client.get(API + path, params=params)
        assert response.status_code == 200, response.text
        return [item["name"] for item in response.json()["items"]]

    assert await names(q="PEN", sort="name") == ["Blue pen", "Red pen"]
    assert await names(q="ocean") == ["Blue pen"]
    assert await names(owner_id=alice["id"], sort="-price") == ["Blue pen", "Red pen"]
    assert await names(min_price="1.99", sort="price") == ["Blue pen", "Notebook"]
    assert await names(min_price=1.5, max_price="2", sort="price") == ["Red pen", "Blue pen"]
    assert await names() == ["Notebook", "Blue pen", "Red pen"]
    assert await names(f"/users/{alice['id']}/items", sort="price") == ["Red pen", "Blue pen"]
    assert await names(f"/users/{alice['id']}/items", max_price="1.60") == ["Red pen"]
    for params in ({"sort": "stock"}, {"min_price": "1.001"}, {"min_price": 5, "max_price": 1}):
        assert (await client.get(f"{API}/items", params=params)).status_code == 422
    assert (await client.get(f"{API}/users/999999/items")).status_code == 404


async def test_cheapest_first_walk_by_cursor(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up_headers(client)
    response = await client.post(
        f"{API}/items/bulk",
        json={"items": [{"name": f"i{n}", "price": f"{n % 7}.{n % 100:02d}"} for n in range(60)]},
        headers=headers,
    )
    ids = response.json()["ids"]
    seen, prices, cursor = [], [], None
    while True:
        params = {"sort": "price", "limit": 9, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(f"{API}/items", params=params)).json()
        seen += [item["id"] for item in page["items"]]
        prices += [item["price"] for item in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert sorted(seen) == sorted(ids)
    from decimal import Decimal

    assert [Decimal(p) for p in prices] == sorted(Decimal(p) for p in prices)


async def test_bulk_inserts_thousands_in_a_few_statements(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    _, headers = await signed_up_headers(client)
    batch = [{"name": f"bulk {n}", "price": f"{n}.25", "stock": n} for n in range(3000)]
    with count_queries(KeelDB.of(app).database.engine) as log:
        response = await client.post(f"{API}/items/bulk", json={"items": batch}, headers=headers)
    assert response.status_code == 201
    body = response.json()
    assert body["created"] == 3000
    inserts = [q for q in log.queries if q.lstrip().upper().startswith("INSERT")]
    assert len(inserts) <= 3, len(inserts)
    first, last = body["ids"][0], body["ids"][-1]
    assert (await client.get(f"{API}/items/{first}")).json()["price"] == "0.25"
    assert (await client.get(f"{API}/items/{last}")).json()["name"] == "bulk 2999"
    assert await count_rows(app, items) == 3000


@pytest.mark.parametrize(
    "body",
    [
        {"items": [{"name": "ok", "price": 1}] * 10_001},
        {"items": []},
        {"items": [{"name": "ok", "price": 1}, {"name": "bad", "price": "1.001"}]},
    ],
    ids=["10001 rows", "empty", "one bad price"],
)
async def test_bad_bulk_is_422_and_writes_nothing(
    client: httpx.AsyncClient, app: FastAPI, body: dict[str, Any]
) -> None:
    _, headers = await signed_up_headers(client)
    assert (await client.post(f"{API}/items/bulk", json=body, headers=headers)).status_code == 422
    assert await count_rows(app, items) == 0


async def test_item_lists_run_the_same_queries_for_1_and_50_rows(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    owner, headers = await signed_up_headers(client)
    await new_item(client, headers)

    async def queries(path: str) -> int:
        with count_queries(KeelDB.of(app).database.engine) as log:
            assert (await client.get(API + path)).status_code == 200
        return log.count

    paths = ["/items", f"/users/{owner['id']}/items", "/items?sort=price&count=none"]
    one = [await queries(path) for path in paths]
    await client.post(
        f"{API}/items/bulk",
        json={"items": [{"name": f"n{n}", "price": 1} for n in range(60)]},
        headers=headers,
    )
    assert [await queries(path) for path in paths] == one


@pytest.mark.parametrize(
    "body", [{"stock": -1}, {"price": "0.001"}, {"price": None}, {"name": None}, {"owner_id": 7}]
)
async def test_bad_patch_is_422_and_changes_nothing(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    _, headers = await signed_up_headers(client)
    item = await new_item(client, headers)
    url = f"{API}/items/{item['id']}"
    assert (await client.patch(url, json=body, headers=headers)).status_code == 422
    assert (await client.get(url)).json() == item
