"""The statements each route sends, pinned (warm: the caller already known), the
same for 1 task or 50: no route's cost grows with the rows it returns. The README's
table of query counts is this one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tasks_tortoise.monitoring import count_queries
from tests.helpers import API, PASSWORD, bulk_tasks, create_task, signed_up_headers, user_payload

pytestmark = pytest.mark.anyio

Headers = dict[str, str]
Call = Callable[[httpx.AsyncClient, Headers, dict[str, Any]], Awaitable[httpx.Response]]


def _call(method: str, path: str, body: Any = None, **params: Any) -> Call:
    async def call(
        client: httpx.AsyncClient, headers: Headers, ids: dict[str, Any]
    ) -> httpx.Response:
        json = body(ids) if callable(body) else body
        url = API + path.format(**ids)
        query = {name: str(value).format(**ids) for name, value in params.items()}
        return await client.request(method, url, json=json, params=query, headers=headers)

    return call


async def _sign_in(client: httpx.AsyncClient, _: Headers, ids: dict[str, Any]) -> httpx.Response:
    form = {"username": ids["username"], "password": PASSWORD}
    return await client.post(f"{API}/auth/token", data=form)


# route -> (call, statements)
BUDGET: dict[str, tuple[Call, int]] = {
    "POST /users": (_call("POST", "/users", lambda _: user_payload()), 1),
    "POST /users (with profile)": (
        _call("POST", "/users", lambda _: user_payload(profile={"bio": "Hi"})),
        2,
    ),
    "POST /auth/token": (_sign_in, 1),
    "GET /users/me": (_call("GET", "/users/me"), 2),
    "POST /tasks": (_call("POST", "/tasks", lambda _: {"title": f"new {id(_)}"}), 1),
    "GET /tasks (offset page)": (_call("GET", "/tasks"), 2),
    "GET /tasks?count=none": (_call("GET", "/tasks", count="none"), 1),
    "GET /tasks?count=estimated": (_call("GET", "/tasks", count="estimated"), 2),
    "GET /tasks?cursor=": (_call("GET", "/tasks", cursor="{cursor}"), 1),
    "GET /tasks/stats": (_call("GET", "/tasks/stats"), 1),
    "GET /tasks/{id}": (_call("GET", "/tasks/{task}"), 1),
    "PATCH /tasks/{id}": (_call("PATCH", "/tasks/{task}", {"completed": True}), 2),
    "POST /tasks/bulk (atomic)": (
        _call(
            "POST", "/tasks/bulk", lambda ids: {"tasks": [{"title": f"b{n}"} for n in range(50)]}
        ),
        2,
    ),
    "PATCH /tasks/bulk (2 tasks)": (
        _call("PATCH", "/tasks/bulk", lambda ids: [{"id": i, "priority": 1} for i in ids["two"]]),
        3,
    ),
    "POST /tasks/{id}/transfer": (
        _call("POST", "/tasks/{task}/transfer", lambda ids: {"to_user_id": ids["other"]}),
        4,
    ),
    "GET /tasks/{id}/transfers": (_call("GET", "/tasks/{task}/transfers"), 3),
    "DELETE /tasks/{id}": (_call("DELETE", "/tasks/{task}"), 2),
    "DELETE /users/me": (_call("DELETE", "/users/me"), 1),
}


async def _setup(client: httpx.AsyncClient, rows: int) -> tuple[Headers, dict[str, Any]]:
    other, _ = await signed_up_headers(client)
    user, headers = await signed_up_headers(client)
    created = await bulk_tasks(client, headers, rows)
    task = await create_task(client, headers)
    page = (await client.get(f"{API}/tasks", params={"limit": 1}, headers=headers)).json()
    ids = {"task": task["id"], "two": [t["id"] for t in created[:2]], "other": other["id"]}
    ids["username"] = user["username"]
    return headers, ids | {"cursor": page["next_cursor"] or ""}


@pytest.mark.parametrize("route", list(BUDGET))
@pytest.mark.parametrize("rows", [2, 50])
async def test_each_route_sends_its_budget_of_statements(
    client: httpx.AsyncClient, route: str, rows: int
) -> None:
    headers, ids = await _setup(client, rows)
    call, budget = BUDGET[route]
    await client.get(f"{API}/tasks/stats", headers=headers)  # the caller is known now
    with count_queries() as log:
        response = await call(client, headers, ids)
    assert response.status_code < 300, response.text
    assert log.count == budget, log.queries
