"""GET /tasks: filters, sort orders, offset and cursor pages, constant query counts."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.helpers import API, bulk_tasks, create_task, signed_up_headers, statements

# Each test runs on Keel and on the Tortoise example (conftest.tasks_app).
pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("tasks_app")]

Headers = dict[str, str]


async def list_tasks(client: httpx.AsyncClient, headers: Headers, **params: Any) -> dict[str, Any]:
    response = await client.get(f"{API}/tasks", params=params, headers=headers)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def titles(client: httpx.AsyncClient, headers: Headers, **params: Any) -> list[str]:
    return [task["title"] for task in (await list_tasks(client, headers, **params))["items"]]


async def test_only_the_callers_tasks_newest_first(client: httpx.AsyncClient) -> None:
    _, mine = await signed_up_headers(client)
    _, theirs = await signed_up_headers(client)
    for title in ("first", "second", "third"):
        await create_task(client, mine, title=title)
    await create_task(client, theirs, title="not mine")
    page = await list_tasks(client, mine)
    assert [task["title"] for task in page["items"]] == ["third", "second", "first"]
    assert page["total"] == 3
    assert page["limit"] == 50
    assert page["offset"] == 0
    assert page["next_cursor"] is None


async def test_filters(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up_headers(client)
    await create_task(client, headers, title="Buy MILK", priority=1)
    await create_task(client, headers, title="call mum", priority=4, completed=True)
    await create_task(client, headers, title="100% done_ish", description="Milk run", priority=5)
    assert sorted(await titles(client, headers, completed=True)) == ["call mum"]
    assert sorted(await titles(client, headers, completed=False)) == ["100% done_ish", "Buy MILK"]
    assert sorted(await titles(client, headers, priority_min=4)) == ["100% done_ish", "call mum"]
    assert sorted(await titles(client, headers, q="milk")) == ["100% done_ish", "Buy MILK"]
    assert await titles(client, headers, q="0% d") == ["100% done_ish"]
    assert await titles(client, headers, q="%") == ["100% done_ish"]  # % is literal
    assert await titles(client, headers, q="e_i") == ["100% done_ish"]  # so is _
    assert await titles(client, headers, q="MUM", completed=True, priority_min=4) == ["call mum"]
    page = await list_tasks(client, headers, q="milk", priority_min=5)
    assert page["total"] == 1


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("-created_at", ["c", "b", "a"]),
        ("created_at", ["a", "b", "c"]),
        ("priority", ["b", "c", "a"]),
        ("-priority", ["a", "c", "b"]),
        ("title", ["a", "b", "c"]),
    ],
)
async def test_sort_orders(client: httpx.AsyncClient, sort: str, expected: list[str]) -> None:
    _, headers = await signed_up_headers(client)
    for title, priority in (("a", 5), ("b", 0), ("c", 3)):
        await create_task(client, headers, title=title, priority=priority)
    assert await titles(client, headers, sort=sort) == expected


@pytest.mark.parametrize(
    "params",
    [
        {"sort": "owner_id"},
        {"sort": "created_at; DROP TABLE tasks"},
        {"priority_min": 6},
        {"completed": "maybe"},
        {"q": ""},
        {"limit": 0},
        {"limit": 1001},
        {"offset": -1},
        {"count": "roughly"},
        {"offset": 0, "cursor": "abc"},
    ],
)
async def test_bad_list_parameters_are_422(
    client: httpx.AsyncClient, params: dict[str, Any]
) -> None:
    _, headers = await signed_up_headers(client)
    response = await client.get(f"{API}/tasks", params=params, headers=headers)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][0] == "query"


async def test_offset_pages_and_count_modes(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up_headers(client)
    created = await bulk_tasks(client, headers, 7)
    newest_first = [task["id"] for task in reversed(created)]
    page = await list_tasks(client, headers, limit=3, offset=3)
    assert [task["id"] for task in page["items"]] == newest_first[3:6]
    assert page["total"] == 7
    assert (await list_tasks(client, headers, limit=3, count="none"))["total"] is None
    estimated = (await list_tasks(client, headers, count="estimated"))["total"]
    assert isinstance(estimated, int)
    assert estimated >= 0
    last = await list_tasks(client, headers, limit=3, offset=6)
    assert last["next_cursor"] is None
    assert len(last["items"]) == 1


async def walk(
    client: httpx.AsyncClient,
    headers: Headers,
    between_pages: Callable[[], Awaitable[object]] | None = None,
    **params: Any,
) -> list[int]:
    """Every id a cursor walk visits, page by page, running ``between_pages``
    after each page (someone else writing while the client reads)."""
    seen: list[int] = []
    page = await list_tasks(client, headers, **params)
    while True:
        seen += [task["id"] for task in page["items"]]
        if between_pages is not None:
            await between_pages()
        if page["next_cursor"] is None:
            return seen
        page = await list_tasks(client, headers, **params, cursor=page["next_cursor"])
        assert page["offset"] is None
        assert page["total"] is None


@pytest.mark.parametrize("sort", ["-created_at", "created_at", "priority", "-priority", "title"])
async def test_a_cursor_walk_visits_every_task_once(client: httpx.AsyncClient, sort: str) -> None:
    _, headers = await signed_up_headers(client)
    created = await bulk_tasks(client, headers, 60, priority=2)  # equal keys: ids break ties
    created += await bulk_tasks(client, headers, 40, priority=4)
    seen = await walk(client, headers, sort=sort, limit=7)
    assert sorted(seen) == sorted(task["id"] for task in created)
    assert len(seen) == len(set(seen))


async def test_a_500_task_walk_is_exact_while_tasks_are_being_added(
    client: httpx.AsyncClient,
) -> None:
    """Oldest first: the new tasks land at the end, and the walk reaches them too."""
    _, headers = await signed_up_headers(client)
    original = {task["id"] for task in await bulk_tasks(client, headers, 500)}
    added: list[int] = []

    async def someone_adds_a_task() -> None:
        added.append((await create_task(client, headers))["id"])

    seen = await walk(client, headers, someone_adds_a_task, limit=40, sort="created_at")
    assert len(seen) == len(set(seen))  # nothing visited twice
    assert original <= set(seen)  # every original task visited
    assert len(added) >= 13
    assert set(seen) - original <= set(added)


async def test_a_walk_newest_first_skips_nothing_while_tasks_are_added(
    client: httpx.AsyncClient,
) -> None:
    """Newest first: the new tasks sort before the cursor and are not part of the walk."""
    _, headers = await signed_up_headers(client)
    original = {task["id"] for task in await bulk_tasks(client, headers, 120)}

    async def others_add_tasks() -> None:
        await asyncio.gather(*(create_task(client, headers) for _ in range(3)))

    seen = await walk(client, headers, others_add_tasks, limit=25)
    assert len(seen) == len(set(seen))
    assert set(seen) == original


def _tamper(cursor: str) -> str:
    payload, signature = cursor.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data[-1] = data[-1] + 1
    forged = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{forged}.{signature}"


async def test_malformed_tampered_or_foreign_cursors_are_422(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up_headers(client)
    await bulk_tasks(client, headers, 5)
    cursor = (await list_tasks(client, headers, limit=2))["next_cursor"]
    assert cursor is not None
    bad = {
        "garbage": "not-a-cursor",
        "truncated": cursor[:-3],
        "tampered": _tamper(cursor),
        "unicode": "ü.ü",
        "empty payload": "." + cursor.split(".")[1],
    }
    for name, value in bad.items():
        response = await client.get(f"{API}/tasks", params={"cursor": value}, headers=headers)
        assert response.status_code == 422, name
        assert response.json()["detail"][0]["loc"] == ["query", "cursor"]
    other_sort = await client.get(
        f"{API}/tasks", params={"cursor": cursor, "sort": "title"}, headers=headers
    )
    assert other_sort.status_code == 422
    assert "another sort order" in other_sort.json()["detail"][0]["msg"]


async def test_cursors_are_no_key_to_other_users_tasks(client: httpx.AsyncClient) -> None:
    _, mine = await signed_up_headers(client)
    _, theirs = await signed_up_headers(client)
    await bulk_tasks(client, mine, 5)
    cursor = (await list_tasks(client, mine, limit=2))["next_cursor"]
    page = await list_tasks(client, theirs, cursor=cursor)
    assert page["items"] == []


async def _queries_for(
    app: FastAPI, client: httpx.AsyncClient, url: str, headers: Headers, **params: Any
) -> int:
    """Statements run by the second of two identical calls (the first one fills the
    caches, the caller's principal among them, so every count is of a warm call)."""
    await client.get(url, params=params, headers=headers)
    with statements(app) as log:
        response = await client.get(url, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return log.count


@pytest.mark.parametrize(
    "params",
    [{}, {"count": "none"}, {"count": "estimated"}, {"sort": "priority", "q": "bulk"}],
    ids=["offset", "no-count", "estimated", "filtered"],
)
async def test_task_list_runs_the_same_queries_for_1_and_50_rows(
    app: FastAPI, client: httpx.AsyncClient, params: dict[str, Any]
) -> None:
    _, one = await signed_up_headers(client)
    _, fifty = await signed_up_headers(client)
    await bulk_tasks(client, one, 1)
    await bulk_tasks(client, fifty, 51)
    first = await list_tasks(client, fifty, limit=50, **params)
    assert len(first["items"]) == 50
    counts = {
        "1 row": await _queries_for(app, client, f"{API}/tasks", one, **params),
        "50 rows": await _queries_for(app, client, f"{API}/tasks", fifty, **params),
        "50 rows by cursor": await _queries_for(
            app, client, f"{API}/tasks", fifty, cursor=first["next_cursor"], **params
        ),
    }
    assert counts["1 row"] == counts["50 rows"], counts
    assert counts["50 rows"] <= 3  # current user, page, count


async def test_transfer_log_and_user_list_run_constant_queries(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    a, a_headers = await signed_up_headers(client)
    b, b_headers = await signed_up_headers(client)
    task = await create_task(client, a_headers)
    url = f"{API}/tasks/{task['id']}"
    await client.post(f"{url}/transfer", json={"to_user_id": b["id"]}, headers=a_headers)
    one = await _queries_for(app, client, f"{url}/transfers", b_headers)
    for _ in range(25):  # back and forth: 50 more log rows
        await client.post(f"{url}/transfer", json={"to_user_id": a["id"]}, headers=b_headers)
        await client.post(f"{url}/transfer", json={"to_user_id": b["id"]}, headers=a_headers)
    assert one == await _queries_for(app, client, f"{url}/transfers", b_headers)

    few = await _queries_for(app, client, f"{API}/users", admin_headers)
    for _ in range(48):
        await signed_up_headers(client)
    assert few == await _queries_for(app, client, f"{API}/users", admin_headers)
