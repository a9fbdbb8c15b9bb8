"""Tasks one at a time: create, read, change, delete; 404 for anyone else's."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import exc, insert

from keel.tasks.models import Task, TaskTransfer
from tests.helpers import API, count_rows, create_task, signed_up_headers, sql_engine

# Each test runs on Keel and on the Tortoise example (conftest.tasks_app).
pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("tasks_app")]

tasks = Task.__table__  # type: ignore[attr-defined]
transfers = TaskTransfer.__table__  # type: ignore[attr-defined]


async def test_create_is_201_with_defaults(client: httpx.AsyncClient) -> None:
    user, headers = await signed_up_headers(client)
    response = await client.post(
        f"{API}/tasks", json={"title": "  Write the spec  "}, headers=headers
    )
    assert response.status_code == 201
    task = response.json()
    assert task["title"] == "Write the spec"
    assert task["owner_id"] == user["id"]
    assert task["priority"] == 0
    assert task["completed"] is False
    assert task["description"] is None
    assert task["created_at"] == task["updated_at"]
    assert set(task) == {
        "id",
        "owner_id",
        "title",
        "description",
        "priority",
        "completed",
        "created_at",
        "updated_at",
    }


async def test_same_title_twice_is_409_and_writes_nothing(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    _, headers = await signed_up_headers(client)
    await create_task(client, headers, title="Once")
    response = await client.post(f"{API}/tasks", json={"title": "Once"}, headers=headers)
    assert response.status_code == 409
    assert response.json() == {"detail": "A task with this title already exists for this user."}
    assert await count_rows(app, tasks) == 1


async def test_two_users_may_use_the_same_title(client: httpx.AsyncClient) -> None:
    _, first = await signed_up_headers(client)
    _, second = await signed_up_headers(client)
    await create_task(client, first, title="Shared")
    await create_task(client, second, title="Shared")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 256}, "title"),
        ({"title": "ok", "priority": 6}, "priority"),
        ({"title": "ok", "priority": -1}, "priority"),
        ({"title": "ok", "priority": "high"}, "priority"),
        ({"title": "ok", "description": "x" * 10_001}, "description"),
        ({"title": "ok", "owner_id": 1}, "owner_id"),
        ({}, "title"),
    ],
)
async def test_bad_task_is_422_naming_the_field_and_writes_nothing(
    client: httpx.AsyncClient, app: FastAPI, body: dict[str, object], field: str
) -> None:
    _, headers = await signed_up_headers(client)
    response = await client.post(f"{API}/tasks", json=body, headers=headers)
    assert response.status_code == 422
    assert any(error["loc"][:2] == ["body", field] for error in response.json()["detail"])
    assert await count_rows(app, tasks) == 0


async def test_the_database_enforces_the_priority_range_too(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    user, _ = await signed_up_headers(client)
    row = {"owner_id": user["id"], "title": "direct", "priority": 9, "completed": False}
    from keel_db.models import utcnow

    row |= {"created_at": utcnow(), "updated_at": utcnow()}
    async with sql_engine(app).begin() as connection:
        with pytest.raises(exc.DBAPIError):
            await connection.execute(insert(tasks).values(row))
    assert await count_rows(app, tasks) == 0


async def test_read_update_delete_own_task(client: httpx.AsyncClient, app: FastAPI) -> None:
    _, headers = await signed_up_headers(client)
    task = await create_task(client, headers, title="Draft", priority=1)
    url = f"{API}/tasks/{task['id']}"
    assert (await client.get(url, headers=headers)).json() == task

    response = await client.patch(url, json={"completed": True, "priority": 5}, headers=headers)
    assert response.status_code == 200
    changed = response.json()
    assert changed["completed"] is True
    assert changed["priority"] == 5
    assert changed["title"] == "Draft"
    assert changed["updated_at"] > task["updated_at"]

    assert (await client.delete(url, headers=headers)).status_code == 204
    assert (await client.get(url, headers=headers)).status_code == 404
    assert await count_rows(app, tasks) == 0


@pytest.mark.parametrize("body", [{"title": None}, {"priority": 7}, {"completed": None}, {"id": 5}])
async def test_bad_patch_is_422_and_changes_nothing(
    client: httpx.AsyncClient, body: dict[str, object]
) -> None:
    _, headers = await signed_up_headers(client)
    task = await create_task(client, headers)
    url = f"{API}/tasks/{task['id']}"
    assert (await client.patch(url, json=body, headers=headers)).status_code == 422
    assert (await client.get(url, headers=headers)).json() == task


async def test_patch_to_a_taken_title_is_409_and_changes_nothing(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up_headers(client)
    await create_task(client, headers, title="Taken")
    task = await create_task(client, headers, title="Mine")
    url = f"{API}/tasks/{task['id']}"
    response = await client.patch(url, json={"title": "Taken", "priority": 3}, headers=headers)
    assert response.status_code == 409
    assert (await client.get(url, headers=headers)).json() == task


async def test_every_task_route_answers_404_for_another_users_task(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    owner, owner_headers = await signed_up_headers(client)
    _, other_headers = await signed_up_headers(client)
    task = await create_task(client, owner_headers, title="Private")
    url = f"{API}/tasks/{task['id']}"
    attempts = [
        ("GET", url, None),
        ("PATCH", url, {"title": "Stolen"}),
        ("DELETE", url, None),
        ("POST", f"{url}/transfer", {"to_user_id": owner["id"]}),
        ("GET", f"{url}/transfers", None),
        ("PATCH", f"{API}/tasks/bulk", [{"id": task["id"], "title": "Stolen"}]),
    ]
    for method, target, body in attempts:
        response = await client.request(method, target, json=body, headers=other_headers)
        assert response.status_code == 404, (method, target, response.text)
        assert "Private" not in response.text
    missing = f"{API}/tasks/999999"
    assert (await client.get(missing, headers=other_headers)).json() == (
        await client.get(url, headers=other_headers)
    ).json()
    assert (await client.get(url, headers=owner_headers)).json() == task
    assert await count_rows(app, transfers) == 0


async def test_task_routes_need_a_token(client: httpx.AsyncClient) -> None:
    for method, path in [
        ("GET", "/tasks"),
        ("POST", "/tasks"),
        ("GET", "/tasks/1"),
        ("GET", "/tasks/stats"),
    ]:
        assert (await client.request(method, API + path)).status_code == 401


async def test_deleting_a_user_deletes_their_tasks(client: httpx.AsyncClient, app: FastAPI) -> None:
    _, headers = await signed_up_headers(client)
    await create_task(client, headers)
    await create_task(client, headers)
    assert (await client.delete(f"{API}/users/me", headers=headers)).status_code == 204
    assert await count_rows(app, tasks) == 0


async def test_the_app_under_test_is_the_one_the_parameter_names(
    app: FastAPI, tasks_app: str, client: httpx.AsyncClient
) -> None:
    """So that a fixture that quietly served Keel twice would fail here."""
    title = (await client.get("/openapi.json")).json()["info"]["title"]
    assert title == {"keel": "Keel", "tortoise": "Tasks on Tortoise ORM"}[tasks_app]
