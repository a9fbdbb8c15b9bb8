"""Optimistic concurrency on tasks, items, heroes and teams: a single-resource GET
carries an ``ETag`` (the row's version); PATCH, PUT and DELETE honour ``If-Match``,
and a stale tag is a 412 that changes nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.helpers import API, signed_up_headers

pytestmark = pytest.mark.anyio

Headers = dict[str, str]


@dataclass
class Resource:
    """One versioned resource under test: where it lives and a change to make."""

    kind: str
    url: str
    field: str
    values: tuple[Any, Any, Any]  # successive values of ``field``


async def _created(client: httpx.AsyncClient, path: str, body: dict[str, Any], h: Headers) -> str:
    response = await client.post(f"{API}/{path}", json=body, headers=h)
    assert response.status_code == 201, response.text
    return f"{API}/{path}/{response.json()['id']}"


async def _task(client: httpx.AsyncClient, h: Headers) -> Resource:
    url = await _created(client, "tasks", {"title": "Versioned"}, h)
    return Resource("task", url, "title", ("first", "second", "stale"))


async def _item(client: httpx.AsyncClient, h: Headers) -> Resource:
    url = await _created(client, "items", {"name": "Widget", "price": "1.00", "stock": 5}, h)
    return Resource("item", url, "stock", (6, 7, 8))


async def _hero(client: httpx.AsyncClient, h: Headers) -> Resource:
    url = await _created(client, "heroes", {"name": "Hero", "secret_name": "S", "age": 30}, h)
    return Resource("hero", url, "age", (31, 32, 33))


async def _team(client: httpx.AsyncClient, h: Headers) -> Resource:
    url = await _created(client, "teams", {"name": "Team", "headquarters": "HQ"}, h)
    return Resource("team", url, "headquarters", ("One", "Two", "Stale"))


MAKERS: dict[str, Callable[[httpx.AsyncClient, Headers], Awaitable[Resource]]] = {
    "task": _task,
    "item": _item,
    "hero": _hero,
    "team": _team,
}


@pytest.fixture(params=sorted(MAKERS))
async def resource(
    request: pytest.FixtureRequest, client: httpx.AsyncClient
) -> tuple[Resource, Headers]:
    _, headers = await signed_up_headers(client)
    return await MAKERS[request.param](client, headers), headers


async def _read(client: httpx.AsyncClient, resource: Resource, h: Headers) -> httpx.Response:
    response = await client.get(resource.url, headers=h)
    assert response.status_code == 200, response.text
    return response


async def test_a_change_based_on_the_current_tag_succeeds_and_moves_the_tag(
    client: httpx.AsyncClient, resource: tuple[Resource, Headers]
) -> None:
    thing, h = resource
    tag = (await _read(client, thing, h)).headers["ETag"]
    assert tag.startswith('"')
    assert tag.endswith('"')
    first, second, _ = thing.values
    changed = await client.patch(
        thing.url, json={thing.field: first}, headers={**h, "If-Match": tag}
    )
    assert changed.status_code == 200, changed.text
    assert changed.headers["ETag"] != tag
    assert (await _read(client, thing, h)).headers["ETag"] == changed.headers["ETag"]
    # No If-Match: the change is unconditional, as before.
    plain = await client.patch(thing.url, json={thing.field: second}, headers=h)
    assert plain.status_code == 200


async def test_a_stale_tag_is_412_and_changes_nothing(
    client: httpx.AsyncClient, resource: tuple[Resource, Headers]
) -> None:
    thing, h = resource
    stale = (await _read(client, thing, h)).headers["ETag"]
    first, _, lost = thing.values
    assert (await client.patch(thing.url, json={thing.field: first}, headers=h)).status_code == 200

    response = await client.patch(
        thing.url, json={thing.field: lost}, headers={**h, "If-Match": stale}
    )
    assert response.status_code == 412
    assert "ETag" in response.json()["detail"]
    assert (await _read(client, thing, h)).json()[thing.field] == first

    deleted = await client.delete(thing.url, headers={**h, "If-Match": stale})
    assert deleted.status_code == 412
    await _read(client, thing, h)  # still there

    weak = await client.delete(thing.url, headers={**h, "If-Match": f"W/{stale}"})
    assert weak.status_code == 412  # If-Match compares strongly: a weak tag never matches


async def test_delete_with_the_current_tag_or_a_star_succeeds(
    client: httpx.AsyncClient, resource: tuple[Resource, Headers]
) -> None:
    thing, h = resource
    tag = (await _read(client, thing, h)).headers["ETag"]
    other = '"999999"'
    deleted = await client.delete(thing.url, headers={**h, "If-Match": f"{other}, {tag}"})
    assert deleted.status_code == 204
    assert (await client.get(thing.url, headers=h)).status_code == 404
    second = await MAKERS[thing.kind](client, h)
    assert (await client.delete(second.url, headers={**h, "If-Match": "*"})).status_code == 204


async def test_concurrent_changes_on_one_tag_let_exactly_one_through(
    client: httpx.AsyncClient, resource: tuple[Resource, Headers]
) -> None:
    """Ten writers all based on the same read: one wins, nine get 412 (the check
    before the write or the versioned UPDATE itself), none is silently lost."""
    thing, h = resource
    tag = (await _read(client, thing, h)).headers["ETag"]
    first, second, third = thing.values
    values = [first, second, third] * 4
    answers = await asyncio.gather(
        *(
            client.patch(thing.url, json={thing.field: value}, headers={**h, "If-Match": tag})
            for value in values[:10]
        )
    )
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] + [412] * 9, statuses
    winner = next(answer for answer in answers if answer.status_code == 200)
    now = await _read(client, thing, h)
    assert now.json()[thing.field] == winner.json()[thing.field]
    assert now.headers["ETag"] == winner.headers["ETag"]


async def test_an_order_moves_the_item_tag(client: httpx.AsyncClient) -> None:
    """Stock taken by an order (a Core UPDATE) is a new version of the item too."""
    _, seller = await signed_up_headers(client)
    _, buyer = await signed_up_headers(client)
    url = await _created(client, "items", {"name": "W", "price": "1.00", "stock": 5}, seller)
    tag = (await client.get(url)).headers["ETag"]
    item_id = int(url.rsplit("/", 1)[1])
    body = {"lines": [{"item_id": item_id, "quantity": 2}]}
    assert (await client.post(f"{API}/orders", json=body, headers=buyer)).status_code == 201
    response = await client.patch(url, json={"stock": 100}, headers={**seller, "If-Match": tag})
    assert response.status_code == 412
    assert (await client.get(url)).json()["stock"] == 3
