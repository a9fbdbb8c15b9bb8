"""GET /tasks/stats and moving a task to another user."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from keel.tasks.models import Task, TaskTransfer
from tests.helpers import API, count_rows, create_task, signed_up_headers, statements

# Each test runs on Keel and on the Tortoise example (conftest.tasks_app).
pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("tasks_app")]

tasks = Task.__table__  # type: ignore[attr-defined]
transfers = TaskTransfer.__table__  # type: ignore[attr-defined]


async def test_stats_in_one_query(client: httpx.AsyncClient, app: FastAPI) -> None:
    _, headers = await signed_up_headers(client)
    _, other = await signed_up_headers(client)
    empty = await client.get(f"{API}/tasks/stats", headers=headers)
    assert empty.json() == {"total": 0, "completed": 0, "pending": 0, "avg_priority": None}
    for priority, completed in ((1, True), (2, False), (4, False)):
        await create_task(client, headers, priority=priority, completed=completed)
    await create_task(client, other, priority=5)
    with statements(app) as log:
        response = await client.get(f"{API}/tasks/stats", headers=headers)
    assert response.json() == {"total": 3, "completed": 1, "pending": 2, "avg_priority": 2.33}
    aggregates = [q for q in log.queries if "count(" in q.lower()]
    assert len(aggregates) == 1
    assert log.count == 1  # the aggregate (the caller is cached until users change)


async def test_transfer_moves_the_task_and_logs_it(client: httpx.AsyncClient, app: FastAPI) -> None:
    giver, giver_headers = await signed_up_headers(client)
    taker, taker_headers = await signed_up_headers(client)
    task = await create_task(client, giver_headers, title="Hand over")
    url = f"{API}/tasks/{task['id']}"
    response = await client.post(
        f"{url}/transfer", json={"to_user_id": taker["id"]}, headers=giver_headers
    )
    assert response.status_code == 200
    assert response.json()["owner_id"] == taker["id"]

    assert (await client.get(url, headers=giver_headers)).status_code == 404
    assert (await client.get(url, headers=taker_headers)).json()["title"] == "Hand over"
    log = (await client.get(f"{url}/transfers", headers=taker_headers)).json()
    assert log["total"] == 1
    (entry,) = log["items"]
    assert entry["task_id"] == task["id"]
    assert entry["from_user_id"] == giver["id"]
    assert entry["to_user_id"] == taker["id"]
    assert await count_rows(app, transfers) == 1


async def _unchanged(
    app: FastAPI,
    client: httpx.AsyncClient,
    url: str,
    headers: dict[str, str],
    task: dict[str, object],
) -> None:
    assert (await client.get(url, headers=headers)).json() == task
    assert await count_rows(app, transfers) == 0


async def test_transfer_to_an_unknown_user_is_404_and_changes_nothing(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    _, headers = await signed_up_headers(client)
    task = await create_task(client, headers)
    url = f"{API}/tasks/{task['id']}"
    response = await client.post(f"{url}/transfer", json={"to_user_id": 999999}, headers=headers)
    assert response.status_code == 404
    assert response.json() == {"detail": "User not found."}
    await _unchanged(app, client, url, headers, task)


async def test_transfer_onto_a_title_the_taker_has_is_409_and_changes_nothing(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    _, headers = await signed_up_headers(client)
    taker, taker_headers = await signed_up_headers(client)
    await create_task(client, taker_headers, title="Same")
    task = await create_task(client, headers, title="Same")
    url = f"{API}/tasks/{task['id']}"
    response = await client.post(
        f"{url}/transfer", json={"to_user_id": taker["id"]}, headers=headers
    )
    assert response.status_code == 409
    assert response.json() == {"detail": "A task with this title already exists for this user."}
    await _unchanged(app, client, url, headers, task)


@pytest.mark.parametrize("body", [{"to_user_id": "me"}, {}, {"to_user_id": 1, "note": "x"}, "self"])
async def test_bad_transfer_is_422_and_changes_nothing(
    client: httpx.AsyncClient, app: FastAPI, body: object
) -> None:
    user, headers = await signed_up_headers(client)
    task = await create_task(client, headers)
    url = f"{API}/tasks/{task['id']}"
    payload = {"to_user_id": user["id"]} if body == "self" else body
    response = await client.post(f"{url}/transfer", json=payload, headers=headers)
    assert response.status_code == 422
    await _unchanged(app, client, url, headers, task)


async def test_the_log_outlives_a_deleted_user(client: httpx.AsyncClient, app: FastAPI) -> None:
    _, giver_headers = await signed_up_headers(client)
    taker, taker_headers = await signed_up_headers(client)
    task = await create_task(client, giver_headers)
    url = f"{API}/tasks/{task['id']}"
    await client.post(f"{url}/transfer", json={"to_user_id": taker["id"]}, headers=giver_headers)
    assert (await client.delete(f"{API}/users/me", headers=giver_headers)).status_code == 204
    (entry,) = (await client.get(f"{url}/transfers", headers=taker_headers)).json()["items"]
    assert entry["from_user_id"] is None
    assert entry["to_user_id"] == taker["id"]
    assert await count_rows(app, tasks) == 1
