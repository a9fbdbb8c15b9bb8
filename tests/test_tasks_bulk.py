"""POST /tasks/bulk (atomic and partial) and PATCH /tasks/bulk."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from keel.tasks.models import Task
from tests.helpers import API, bulk_tasks, count_rows, create_task, signed_up_headers, statements

# Each test runs on Keel and on the Tortoise example (conftest.tasks_app).
pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("tasks_app")]

tasks = Task.__table__  # type: ignore[attr-defined]


def titled(*titles: str, **fields: Any) -> list[dict[str, Any]]:
    return [{"title": title, **fields} for title in titles]


async def test_atomic_bulk_creates_all_in_order_with_multi_row_inserts(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    _, headers = await signed_up_headers(client)
    batch = titled(*(f"t{n:04d}" for n in range(300)), priority=2)
    with statements(app) as log:
        response = await client.post(f"{API}/tasks/bulk", json={"tasks": batch}, headers=headers)
    assert response.status_code == 201
    body = response.json()
    assert body["failed"] == []
    assert [task["title"] for task in body["created"]] == [task["title"] for task in batch]
    assert all(task["priority"] == 2 for task in body["created"])
    inserts = [q for q in log.queries if q.lstrip().upper().startswith("INSERT")]
    assert 1 <= len(inserts) <= 3, f"{len(inserts)} INSERT statements for 300 rows"
    assert await count_rows(app, tasks) == 300


@pytest.mark.parametrize("clash", ["existing title", "twice in the batch"])
async def test_atomic_bulk_with_a_clash_is_409_and_writes_nothing(
    client: httpx.AsyncClient, app: FastAPI, clash: str
) -> None:
    _, headers = await signed_up_headers(client)
    await create_task(client, headers, title="taken")
    batch = titled("a", "b", "taken") if clash == "existing title" else titled("a", "b", "a")
    response = await client.post(f"{API}/tasks/bulk", json={"tasks": batch}, headers=headers)
    assert response.status_code == 409
    assert response.json() == {"detail": "A task with this title already exists for this user."}
    assert await count_rows(app, tasks) == 1


async def test_partial_bulk_keeps_the_good_rows_and_names_the_bad_ones(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    _, headers = await signed_up_headers(client)
    await create_task(client, headers, title="taken")
    batch = titled("one", "taken", "two", "one", "three")
    response = await client.post(
        f"{API}/tasks/bulk", json={"tasks": batch, "mode": "partial"}, headers=headers
    )
    assert response.status_code == 201
    body = response.json()
    assert [task["title"] for task in body["created"]] == ["one", "two", "three"]
    assert body["failed"] == [
        {"index": 1, "detail": "A task with this title already exists for this user."},
        {"index": 3, "detail": "A task with this title already exists for this user."},
    ]
    assert await count_rows(app, tasks) == 4


async def test_partial_bulk_where_everything_fails_is_200_and_writes_nothing(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    _, headers = await signed_up_headers(client)
    await create_task(client, headers, title="taken")
    response = await client.post(
        f"{API}/tasks/bulk", json={"tasks": titled("taken"), "mode": "partial"}, headers=headers
    )
    assert response.status_code == 200
    assert response.json()["created"] == []
    assert [failure["index"] for failure in response.json()["failed"]] == [0]
    assert await count_rows(app, tasks) == 1


@pytest.mark.parametrize(
    "body",
    [
        {"tasks": titled(*(f"t{n}" for n in range(1001)))},
        {"tasks": []},
        {"tasks": titled("ok", "bad", priority=9)},
        {"tasks": [{"title": "ok"}, {"title": ""}]},
        {"tasks": titled("ok"), "mode": "best-effort"},
        {"tasks": titled("ok"), "extra": 1},
    ],
    ids=["1001 rows", "empty", "bad priority", "empty title", "bad mode", "unknown field"],
)
async def test_bad_bulk_is_422_and_writes_nothing(
    client: httpx.AsyncClient, app: FastAPI, body: dict[str, Any]
) -> None:
    _, headers = await signed_up_headers(client)
    response = await client.post(f"{API}/tasks/bulk", json=body, headers=headers)
    assert response.status_code == 422
    assert await count_rows(app, tasks) == 0


async def test_bulk_patch_updates_many_in_one_transaction(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up_headers(client)
    created = await bulk_tasks(client, headers, 30)
    changes = [{"id": task["id"], "completed": True, "priority": 3} for task in created[:20]]
    changes.append({"id": created[20]["id"], "title": "renamed"})
    response = await client.patch(f"{API}/tasks/bulk", json=changes, headers=headers)
    assert response.status_code == 200
    body = response.json()
    assert [task["id"] for task in body] == [change["id"] for change in changes]
    assert all(task["completed"] and task["priority"] == 3 for task in body[:20])
    assert body[20]["title"] == "renamed"
    stats = (await client.get(f"{API}/tasks/stats", headers=headers)).json()
    assert stats["completed"] == 20


async def _snapshot(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = await client.get(f"{API}/tasks", params={"sort": "title"}, headers=headers)
    items: list[dict[str, Any]] = response.json()["items"]
    return items


@pytest.mark.parametrize(
    ("failure", "status"),
    [
        ("unknown id", 404),
        ("other user's id", 404),
        ("title clash", 409),
        ("duplicate id", 422),
        ("bad field", 422),
        ("too many", 422),
    ],
)
async def test_failed_bulk_patch_changes_nothing(
    client: httpx.AsyncClient, failure: str, status: int
) -> None:
    _, headers = await signed_up_headers(client)
    _, other_headers = await signed_up_headers(client)
    mine = await bulk_tasks(client, headers, 3)
    theirs = await create_task(client, other_headers)
    before = await _snapshot(client, headers)
    good = {"id": mine[0]["id"], "completed": True}
    bad = {
        "unknown id": {"id": 999999, "completed": True},
        "other user's id": {"id": theirs["id"], "completed": True},
        "title clash": {"id": mine[1]["id"], "title": mine[2]["title"]},
        "duplicate id": {"id": mine[0]["id"], "priority": 1},
        "bad field": {"id": mine[1]["id"], "priority": 42},
    }
    body = [good] * 1001 if failure == "too many" else [good, bad[failure]]
    response = await client.patch(f"{API}/tasks/bulk", json=body, headers=headers)
    assert response.status_code == status, response.text
    assert await _snapshot(client, headers) == before
    assert (await client.get(f"{API}/tasks/{theirs['id']}", headers=other_headers)).json() == theirs


async def test_bulk_with_an_idempotency_key_inserts_once(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    from tests.helpers import run_concurrently

    _, headers = await signed_up_headers(client)
    keyed = {**headers, "Idempotency-Key": "import-2026-11-22"}
    body = {"tasks": titled("a", "b", "c")}
    answers = await run_concurrently(
        [lambda: client.post(f"{API}/tasks/bulk", json=body, headers=keyed)] * 20, workers=20
    )
    assert {answer.status_code for answer in answers} == {201}
    assert len({answer.text for answer in answers}) == 1
    assert await count_rows(app, tasks) == 3
    other = await client.post(f"{API}/tasks/bulk", json={"tasks": titled("d")}, headers=keyed)
    assert other.status_code == 422
    assert await count_rows(app, tasks) == 3
