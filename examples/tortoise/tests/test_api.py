"""Sign-up, tokens and the tasks API through HTTP: the answers Keel gives."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.helpers import (
    API,
    PASSWORD,
    bulk_tasks,
    count_rows,
    create_task,
    sign_up,
    signed_up_headers,
    user_payload,
)

pytestmark = pytest.mark.anyio


async def test_sign_up_sign_in_and_duplicates_are_409_naming_the_field(
    client: httpx.AsyncClient,
) -> None:
    body = await sign_up(client, email="Ann@Example.COM", username="ann", profile={"bio": "Hi"})
    assert body["email"] == "ann@example.com"
    assert body["profile"] == {"bio": "Hi", "location": None, "website": None}
    assert set(body) == {
        *("id", "email", "username", "full_name"),
        *("is_active", "is_admin", "created_at", "profile"),
    }
    for field, value, message in [
        ("email", "ANN@example.com", "A user with this email already exists."),
        ("username", "ann", "A user with this username already exists."),
    ]:
        response = await client.post(f"{API}/users", json=user_payload(**{field: value}))
        assert response.status_code == 409
        assert response.json() == {"detail": message}
    assert await count_rows("users") == 1
    for login in ("ann", "ANN@example.com"):
        form = {"username": login, "password": PASSWORD}
        token = (await client.post(f"{API}/auth/token", data=form)).json()
        assert token["token_type"] == "bearer"
        assert token["expires_in"] == 3600
    for login in ("ann", "nobody"):
        form = {"username": login, "password": "not the password"}
        response = await client.post(f"{API}/auth/token", data=form)
        assert response.status_code == 401
        assert response.json() == {"detail": "Incorrect username or password."}


async def test_422_names_the_field_and_never_echoes_the_input(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{API}/users", json=user_payload(password="hunter2"))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "password"]
    assert "hunter2" not in response.text
    _, headers = await signed_up_headers(client)
    for body, field in [({"title": ""}, "title"), ({"title": "x", "priority": 6}, "priority")]:
        response = await client.post(f"{API}/tasks", json=body, headers=headers)
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"][:2] == ["body", field]
        assert "input" not in response.json()["detail"][0]
    assert await count_rows("tasks") == 0


async def test_task_crud_and_404_for_another_users_task(client: httpx.AsyncClient) -> None:
    owner, headers = await signed_up_headers(client)
    _, other = await signed_up_headers(client)
    response = await client.post(f"{API}/tasks", json={"title": "  Draft  "}, headers=headers)
    assert response.status_code == 201
    task = response.json()
    assert (task["title"], task["owner_id"], task["priority"]) == ("Draft", owner["id"], 0)
    assert task["created_at"] == task["updated_at"]
    url = f"{API}/tasks/{task['id']}"
    read = await client.get(url, headers=headers)
    assert read.json() == task
    assert read.headers["etag"] == '"1"'
    changed = await client.patch(url, json={"completed": True, "priority": 5}, headers=headers)
    assert changed.status_code == 200
    assert changed.json()["updated_at"] > task["updated_at"]
    assert changed.headers["etag"] == '"2"'
    stale = await client.patch(url, json={"title": "x"}, headers={**headers, "If-Match": '"1"'})
    assert stale.status_code == 412
    for method, body in [("GET", None), ("PATCH", {"title": "Stolen"}), ("DELETE", None)]:
        response = await client.request(method, url, json=body, headers=other)
        assert response.status_code == 404
        assert response.json() == {"detail": "Task not found."}
    assert (await client.delete(url, headers=headers)).status_code == 204
    assert (await client.get(url, headers=headers)).status_code == 404
    assert (
        await client.get(f"{API}/tasks", headers={"Authorization": "Bearer x"})
    ).status_code == 401


async def _walk(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> list[int]:
    seen: list[int] = []
    page = (await client.get(f"{API}/tasks", params=params, headers=headers)).json()
    while True:
        seen += [task["id"] for task in page["items"]]
        if page["next_cursor"] is None:
            return seen
        cursor = {**params, "cursor": page["next_cursor"]}
        response = await client.get(f"{API}/tasks", params=cursor, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        assert (page["offset"], page["total"]) == (None, None)


@pytest.mark.parametrize("sort", ["-created_at", "created_at", "priority", "-priority", "title"])
async def test_offset_and_cursor_pages_in_every_order(client: httpx.AsyncClient, sort: str) -> None:
    _, headers = await signed_up_headers(client)
    created = await bulk_tasks(client, headers, 25, priority=2)  # equal keys: ids break ties
    created += await bulk_tasks(client, headers, 12, priority=4)
    seen = await _walk(client, headers, sort=sort, limit=5)
    assert sorted(seen) == sorted(task["id"] for task in created)
    assert len(seen) == len(set(seen))
    page = await client.get(f"{API}/tasks", params={"limit": 3, "offset": 3}, headers=headers)
    assert page.json()["total"] == 37
    assert len(page.json()["items"]) == 3


async def test_filters_and_bad_parameters(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up_headers(client)
    await create_task(client, headers, title="Buy MILK", priority=1)
    await create_task(client, headers, title="100% done_ish", description="Milk run", priority=5)
    await create_task(client, headers, title="call mum", priority=4, completed=True)

    async def titles(**params: Any) -> list[str]:
        response = await client.get(f"{API}/tasks", params=params, headers=headers)
        return sorted(task["title"] for task in response.json()["items"])

    assert await titles(q="milk") == ["100% done_ish", "Buy MILK"]
    assert await titles(q="%") == ["100% done_ish"]  # % and _ are literal
    assert await titles(q="e_i") == ["100% done_ish"]
    assert await titles(completed=True, priority_min=4) == ["call mum"]
    bad: list[dict[str, str | int]] = [
        {"sort": "owner_id"},
        {"limit": 0},
        {"offset": 0, "cursor": "abc"},
    ]
    for params in bad:
        response = await client.get(f"{API}/tasks", params=params, headers=headers)
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"][0] == "query"
    first = (await client.get(f"{API}/tasks", params={"limit": 1}, headers=headers)).json()
    other_sort = {"cursor": first["next_cursor"], "sort": "title"}
    response = await client.get(f"{API}/tasks", params=other_sort, headers=headers)
    assert response.status_code == 422
    assert "another sort order" in response.json()["detail"][0]["msg"]
    tampered = {"cursor": _one_character_changed(first["next_cursor"])}
    response = await client.get(f"{API}/tasks", params=tampered, headers=headers)
    assert response.json()["detail"][0]["loc"] == ["query", "cursor"]


async def test_bulk_atomic_partial_and_patch(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up_headers(client)
    await create_task(client, headers, title="taken")
    clash = {"tasks": [{"title": "a"}, {"title": "taken"}]}
    response = await client.post(f"{API}/tasks/bulk", json=clash, headers=headers)
    assert response.status_code == 409
    assert await count_rows("tasks") == 1
    partial = {"tasks": [{"title": t} for t in ("one", "taken", "two", "one")], "mode": "partial"}
    response = await client.post(f"{API}/tasks/bulk", json=partial, headers=headers)
    assert response.status_code == 201
    assert [task["title"] for task in response.json()["created"]] == ["one", "two"]
    assert [failure["index"] for failure in response.json()["failed"]] == [1, 3]
    created = response.json()["created"]
    changes = [{"id": created[0]["id"], "completed": True}, {"id": created[1]["id"], "title": "x"}]
    response = await client.patch(f"{API}/tasks/bulk", json=changes, headers=headers)
    assert response.status_code == 200
    assert [task["id"] for task in response.json()] == [change["id"] for change in changes]
    bad = [{"id": created[0]["id"], "priority": 3}, {"id": created[1]["id"], "title": "taken"}]
    assert (await client.patch(f"{API}/tasks/bulk", json=bad, headers=headers)).status_code == 409
    read = await client.get(f"{API}/tasks/{created[0]['id']}", headers=headers)
    assert read.json()["priority"] == 0  # the whole bulk PATCH was rolled back
    stats = (await client.get(f"{API}/tasks/stats", headers=headers)).json()
    assert stats == {"total": 3, "completed": 1, "pending": 2, "avg_priority": 0.0}


async def test_transfer_moves_the_task_and_logs_it_or_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    giver, headers = await signed_up_headers(client)
    taker, taker_headers = await signed_up_headers(client)
    await create_task(client, taker_headers, title="Same")
    same = await create_task(client, headers, title="Same")
    task = await create_task(client, headers, title="Hand over")
    url = f"{API}/tasks/{task['id']}"
    for target, status in [(same["id"], 409), (task["id"], 200)]:
        to_taker = {"to_user_id": taker["id"]}
        response = await client.post(
            f"{API}/tasks/{target}/transfer", json=to_taker, headers=headers
        )
        assert response.status_code == status, response.text
    unknown = await client.post(
        f"{API}/tasks/{same['id']}/transfer", json={"to_user_id": 999999}, headers=headers
    )
    assert unknown.json() == {"detail": "User not found."}
    assert (await client.get(url, headers=taker_headers)).json()["owner_id"] == taker["id"]
    log = (await client.get(f"{url}/transfers", headers=taker_headers)).json()
    assert log["total"] == 1
    assert (log["items"][0]["from_user_id"], log["items"][0]["to_user_id"]) == (
        giver["id"],
        taker["id"],
    )
    assert await count_rows("task_transfers") == 1
    assert (await client.delete(f"{API}/users/me", headers=headers)).status_code == 204
    log = (await client.get(f"{url}/transfers", headers=taker_headers)).json()
    assert log["items"][0]["from_user_id"] is None  # the log outlives the user
    assert await count_rows("tasks") == 2


def _one_character_changed(cursor: str) -> str:
    """The cursor with its middle character replaced by another one: six bits of
    it differ, whatever the cursor. (Replacing its last two characters by "AA"
    now and then changed nothing: they already were, or decoded to the same bits.)"""
    middle = len(cursor) // 2
    other = "B" if cursor[middle] == "A" else "A"
    return cursor[:middle] + other + cursor[middle + 1 :]
