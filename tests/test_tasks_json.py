"""The caller's unfiltered task list is written as JSON bytes straight from rows:
byte for byte what FastAPI writes for ``Page[TaskPublic]``, in every order, for
offset and cursor pages and each count mode, for every kind of title and
description (non-ASCII, escapes, none), on every database; and so is one task
(``GET /tasks/{id}``). A filtered list (the
other path) is compared with the same rows seen unfiltered."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pydantic import TypeAdapter

from keel.tasks.schemas import TaskPublic, TaskSort
from keel_db import Page
from tests.helpers import API, create_task, signed_up_headers

pytestmark = pytest.mark.anyio

AS_PAGE = TypeAdapter(Page[TaskPublic])
AS_TASK = TypeAdapter(TaskPublic)
TITLES = [
    "plain",
    "Ünïcödé 漢字 😀",
    'quote " backslash \\ slash /',
    "\u2028separators\u2029 and \x7f",
    "<b>&amp;</b>",
]


async def _walk(client: httpx.AsyncClient, headers: dict[str, str], **query: Any) -> list[int]:
    """Every page of a walk, each compared with its model's bytes; the ids seen."""
    seen: list[int] = []
    response = await client.get(f"{API}/tasks", params=query, headers=headers)
    while True:
        assert response.status_code == 200, response.text
        assert response.content == AS_PAGE.dump_json(Page[TaskPublic](**response.json()))
        seen += [task["id"] for task in response.json()["items"]]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return seen
        params = {"limit": query.get("limit", 50), "cursor": cursor, "sort": query["sort"]}
        response = await client.get(f"{API}/tasks", params=params, headers=headers)


@pytest.mark.parametrize("sort", list(TaskSort))
@pytest.mark.parametrize("count", ["exact", "none", "estimated"])
async def test_every_page_is_the_bytes_its_model_would_be(
    client: httpx.AsyncClient, sort: TaskSort, count: str
) -> None:
    _, headers = await signed_up_headers(client)
    _, other = await signed_up_headers(client)
    for n, title in enumerate(TITLES):
        await create_task(
            client,
            headers,
            title=title,
            description=None if n % 2 else f"about {title}",
            priority=n % 4,
            completed=n % 3 == 0,
        )
    await create_task(client, other, title="someone else's")
    seen = await _walk(client, headers, limit=2, sort=sort.value, count=count)
    assert len(seen) == len(TITLES) == len(set(seen))
    offset = await client.get(
        f"{API}/tasks", params={"limit": 2, "offset": 3, "sort": sort.value}, headers=headers
    )
    assert offset.content == AS_PAGE.dump_json(Page[TaskPublic](**offset.json()))
    assert [task["id"] for task in offset.json()["items"]] == seen[3:5]


async def test_a_filtered_list_agrees_with_the_unfiltered_one(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up_headers(client)
    for n in range(6):
        await create_task(client, headers, title=f"t{n}", completed=n % 2 == 0)
    everything = (await client.get(f"{API}/tasks", headers=headers)).json()["items"]
    done = await client.get(f"{API}/tasks", params={"completed": "true"}, headers=headers)
    assert done.json()["items"] == [task for task in everything if task["completed"]]


async def test_one_task_is_the_bytes_its_model_would_be(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up_headers(client)
    _, other = await signed_up_headers(client)
    for n, title in enumerate(TITLES):
        task = await create_task(
            client, headers, title=title, description=None if n % 2 else f"about {title}"
        )
        response = await client.get(f"{API}/tasks/{task['id']}", headers=headers)
        assert response.status_code == 200
        assert response.content == AS_TASK.dump_json(TaskPublic(**response.json()))
        assert response.json() == task
        assert response.headers["etag"] == '"1"'
        # Another user's task is not found, as a missing one is.
        for missing in (task["id"], 10**9):
            refused = await client.get(f"{API}/tasks/{missing}", headers=other)
            assert (refused.status_code, refused.json()) == (404, {"detail": "Task not found."})
    assert (await client.get(f"{API}/tasks/{task['id']}")).status_code == 401


async def test_a_patch_answers_as_the_orm_path_did(client: httpx.AsyncClient) -> None:
    """PostgreSQL changes a task in one UPDATE ... RETURNING; every database must
    answer alike: the same values again change nothing (no new version or
    updated_at), an If-Match of one tag, of several, ``*`` or a weak tag is
    judged as RFC 9110 says, and another user's task is not found."""
    _, headers = await signed_up_headers(client)
    _, other = await signed_up_headers(client)
    task = await create_task(client, headers, title="patched", priority=1)
    url = f"{API}/tasks/{task['id']}"

    same = await client.patch(url, json={"title": "patched", "priority": 1}, headers=headers)
    assert (same.status_code, same.json(), same.headers["etag"]) == (200, task, '"1"')
    nothing = await client.patch(url, json={}, headers=headers)
    assert (nothing.status_code, nothing.json()) == (200, task)

    changed = await client.patch(url, json={"priority": 2}, headers={**headers, "If-Match": '"1"'})
    assert changed.status_code == 200
    assert changed.headers["etag"] == '"2"'
    assert changed.content == AS_TASK.dump_json(TaskPublic(**changed.json()))
    assert changed.json()["updated_at"] > task["updated_at"]
    for stale in ('"1"', 'W/"2"', '"1", "7"'):
        refused = await client.patch(
            url, json={"priority": 3}, headers={**headers, "If-Match": stale}
        )
        assert refused.status_code == 412, stale
    for matching in ('"1", "2"', "*"):
        accepted = await client.patch(
            url, json={"completed": True}, headers={**headers, "If-Match": matching}
        )
        assert accepted.status_code == 200, matching
    assert (await client.get(url, headers=headers)).json()["priority"] == 2

    for headers_ in ({**other}, {**other, "If-Match": '"3"'}):
        missing = await client.patch(url, json={"title": "mine now"}, headers=headers_)
        assert (missing.status_code, missing.json()) == (404, {"detail": "Task not found."})
    assert (await client.get(url, headers=headers)).json()["title"] == "patched"
