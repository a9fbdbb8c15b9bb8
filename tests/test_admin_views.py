"""/admin's views that write: the API's rules and sentences on every write (a
duplicate team name, a change made meanwhile, what the input schemas refuse), a 503
when the database cannot serve a page, and read-only orders and money. Lists,
posts and files: tests/test_admin_lists.py."""

from __future__ import annotations

import logging
import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from keel.accounts.models import Account, Deposit, Transfer
from keel.admin.sessions import CHANGED_MEANWHILE
from keel.heroes.models import Hero, HeroTeamLink, Team
from keel.items.models import Item
from keel.orders.models import Order, OrderLine
from keel.tasks.models import Task
from keel_db import EngineSettings, KeelDB
from keel_db.engine import make_async_engine
from tests.admin_helpers import (
    ADMIN,
    Headers,
    form_error,
    join_heroes,
    new_team,
    only_id,
    sign_in,
    signed_in,
    stored,
)
from tests.helpers import API, PASSWORD, count_rows, sign_up

pytestmark = pytest.mark.anyio

teams = Team.__table__  # type: ignore[attr-defined]
heroes = Hero.__table__  # type: ignore[attr-defined]
links = HeroTeamLink.__table__  # type: ignore[attr-defined]
items = Item.__table__  # type: ignore[attr-defined]
tasks = Task.__table__  # type: ignore[attr-defined]


# --- the API's rules on every write -----------------------------------------------------


async def test_a_duplicate_team_name_shows_the_apis_sentence_and_changes_nothing(
    client: httpx.AsyncClient,
    app: FastAPI,
    admin_headers: Headers,
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert (await sign_in(client, "root")).status_code == 302
    await new_team(client, admin_headers, "Avengers")
    other = await new_team(client, admin_headers, "Defenders")
    api_answer = await client.post(
        f"{API}/teams", json={"name": "Avengers", "headquarters": "X"}, headers=admin_headers
    )
    edit = await client.get(f"{ADMIN}/team/edit/{other['id']}")
    version = re.search(r'name="version" type="hidden" value="(\d+)"', edit.text)
    assert version is not None
    form = {"name": "Avengers", "headquarters": "Elsewhere", "version": version.group(1)}
    response = await client.post(f"{ADMIN}/team/edit/{other['id']}", data={**form, "save": "Save"})
    assert response.status_code == 400
    assert form_error(response) == api_answer.json()["detail"]
    assert form_error(response) == "A team with this name already exists."
    assert await stored(app, teams, "name", other["id"]) == "Defenders"
    assert await stored(app, teams, "headquarters", other["id"]) == "HQ"
    created = await client.post(f"{ADMIN}/team/create", data={**form, "save": "Save"})
    assert form_error(created) == "A team with this name already exists."
    assert await count_rows(app, teams) == 2
    # The admin's mistake, not the server's: one line at INFO, no traceback.
    logged = [record for record in caplog.records if record.name == "sqladmin.application"]
    assert len(logged) == 2
    assert all(record.levelno == logging.INFO and not record.exc_info for record in logged)


async def test_a_rename_in_the_admin_reaches_the_apis_cached_stats(
    client: httpx.AsyncClient, app: FastAPI, admin_headers: Headers
) -> None:
    assert (await sign_in(client, "root")).status_code == 302
    team = await new_team(client, admin_headers, "Before")
    stats = await client.get(f"{API}/teams/stats")
    assert [row["name"] for row in stats.json()] == ["Before"]  # now cached
    form = {"name": "After", "headquarters": "HQ", "version": "1", "save": "Save"}
    assert (await client.post(f"{ADMIN}/team/edit/{team['id']}", data=form)).status_code == 302
    stats = await client.get(f"{API}/teams/stats")
    assert [row["name"] for row in stats.json()] == ["After"]


async def test_a_change_made_meanwhile_is_not_overwritten(
    client: httpx.AsyncClient, app: FastAPI, admin_headers: Headers
) -> None:
    assert (await sign_in(client, "root")).status_code == 302
    hero = await client.post(
        f"{API}/heroes", json={"name": "Spider", "secret_name": "Peter"}, headers=admin_headers
    )
    hero_id = hero.json()["id"]
    form = {"name": "Spider-Man", "secret_name": "Peter", "age": "", "version": "1"}
    patched = await client.patch(f"{API}/heroes/{hero_id}", json={"age": 18}, headers=admin_headers)
    assert patched.status_code == 200
    response = await client.post(f"{ADMIN}/hero/edit/{hero_id}", data={**form, "save": "Save"})
    assert response.status_code == 400
    assert form_error(response) == CHANGED_MEANWHILE
    assert await stored(app, heroes, "name", hero_id) == "Spider"
    assert await stored(app, heroes, "age", hero_id) == 18
    form["version"] = "2"
    saved = await client.post(f"{ADMIN}/hero/edit/{hero_id}", data={**form, "save": "Save"})
    assert saved.status_code == 302
    assert await stored(app, heroes, "name", hero_id) == "Spider-Man"
    assert await stored(app, heroes, "version", hero_id) == 3


@pytest.mark.parametrize(
    ("path", "form", "sentence"),
    [
        ("/hero/create", {"name": "X", "secret_name": "Y", "age": "-1"}, "age: Input should be"),
        ("/task/create", {"owner_id": "1", "title": "T", "priority": "9"}, "priority: Input"),
        ("/item/create", {"owner_id": "1", "name": "I", "price": "1.005", "stock": "1"}, "price"),
        (
            "/task/create",
            {"owner_id": "2000000000", "title": "T", "priority": "1"},
            "The request refers",
        ),
    ],
)
async def test_what_the_api_refuses_the_admin_refuses(
    client: httpx.AsyncClient, app: FastAPI, path: str, form: dict[str, str], sentence: str
) -> None:
    await signed_in(client, app)
    response = await client.post(ADMIN + path, data={**form, "version": "", "save": "Save"})
    assert response.status_code == 400
    error = form_error(response)
    assert error is not None
    assert error.startswith(sentence), error
    for table in (heroes, items, tasks):
        assert await count_rows(app, table) == 0


async def test_deleting_a_team_takes_its_memberships_and_leaves_its_heroes(
    client: httpx.AsyncClient, app: FastAPI, admin_headers: Headers
) -> None:
    assert (await sign_in(client, "root")).status_code == 302
    team = await new_team(client, admin_headers, "Short-lived")
    await join_heroes(client, admin_headers, team["id"], range(3))
    response = await client.delete(f"{ADMIN}/team/delete", params={"pks": team["id"]})
    assert response.status_code == 200
    assert "error" not in response.text
    assert await count_rows(app, teams) == 0
    assert await count_rows(app, links) == 0
    assert await count_rows(app, heroes) == 3


async def test_a_page_the_database_cannot_serve_is_a_503_with_the_apis_sentence(
    client: httpx.AsyncClient, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    await signed_in(client, app)
    nowhere = make_async_engine(
        EngineSettings(url="postgresql://keel@127.0.0.1:1/keel", connect_timeout=1)
    )
    monkeypatch.setattr(KeelDB.of(app).database, "read_engine", nowhere)
    try:
        for path in ("/team/list", "/user/list"):
            page = await client.get(ADMIN + path)
            assert page.status_code == 503
            assert "The database is not available right now; please retry shortly." in page.text
    finally:
        await nowhere.dispose()


# --- read-only tables -------------------------------------------------------------------


async def books(client: httpx.AsyncClient, admin_headers: Headers) -> tuple[int, int]:
    """An order with a line, a deposit and a transfer, through the API; the ids of
    the order and of the buyer."""
    buyer, headers = await _user_with_token(client)
    item = await client.post(
        f"{API}/items", json={"name": "W", "price": "2.50", "stock": 5}, headers=headers
    )
    order = await client.post(
        f"{API}/orders",
        json={"lines": [{"item_id": item.json()["id"], "quantity": 2}]},
        headers=headers,
    )
    assert order.status_code == 201, order.text
    deposit = await client.post(
        f"{API}/accounts/{buyer}/deposit", json={"amount": "10.00"}, headers=admin_headers
    )
    assert deposit.status_code in (200, 201), deposit.text
    other = await sign_up(client)
    transfer = await client.post(
        f"{API}/transfers", json={"to_user_id": other["id"], "amount": "3.00"}, headers=headers
    )
    assert transfer.status_code == 201, transfer.text
    return int(order.json()["id"]), buyer


async def _user_with_token(client: httpx.AsyncClient) -> tuple[int, Headers]:
    user = await sign_up(client)
    token = await client.post(
        f"{API}/auth/token", data={"username": user["username"], "password": PASSWORD}
    )
    return int(user["id"]), {"Authorization": f"Bearer {token.json()['access_token']}"}


async def test_orders_and_money_cannot_be_created_edited_or_deleted(
    client: httpx.AsyncClient, app: FastAPI, admin_headers: Headers
) -> None:
    order_id, buyer = await books(client, admin_headers)
    assert (await sign_in(client, "root")).status_code == 302
    tables = {
        "order": (Order, order_id),
        "order-line": (OrderLine, await only_id(app, OrderLine)),
        "account": (Account, buyer),
        "deposit": (Deposit, await only_id(app, Deposit)),
        "transfer": (Transfer, await only_id(app, Transfer)),
    }
    before = {name: await _snapshot(app, model) for name, (model, _) in tables.items()}
    for name, (_, pk) in tables.items():
        assert (await client.get(f"{ADMIN}/{name}/list")).status_code == 200
        assert (await client.get(f"{ADMIN}/{name}/details/{pk}")).status_code == 200
        for method, path in [
            ("GET", f"/{name}/create"),
            ("POST", f"/{name}/create"),
            ("GET", f"/{name}/edit/{pk}"),
            ("POST", f"/{name}/edit/{pk}"),
            ("DELETE", f"/{name}/delete?pks={pk}"),
        ]:
            data = {"status": "cancelled", "balance": "1000000.00", "save": "Save"}
            body = {"data": data} if method == "POST" else {}
            response = await client.request(method, ADMIN + path, **body)
            assert response.status_code == 403, (method, path)
    after = {name: await _snapshot(app, model) for name, (model, _) in tables.items()}
    assert after == before


async def _snapshot(app: FastAPI, model: Any) -> list[tuple[Any, ...]]:
    async with KeelDB.of(app).database.engine.connect() as connection:
        return [tuple(row) for row in await connection.execute(select(model.__table__))]


async def test_an_orders_details_embed_its_lines(
    client: httpx.AsyncClient, app: FastAPI, admin_headers: Headers
) -> None:
    order_id, _ = await books(client, admin_headers)
    assert (await sign_in(client, "root")).status_code == 302
    page = await client.get(f"{ADMIN}/order/details/{order_id}")
    assert page.status_code == 200
    assert "2 x W at 2.50" in page.text
