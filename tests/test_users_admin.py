"""Admin-only user routes: 401 anonymous, 403 non-admin, 404 unknown id."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from keel.users.models import User
from tests.helpers import API, count_rows, sign_up, signed_up_headers

pytestmark = pytest.mark.anyio

users = User.__table__  # type: ignore[attr-defined]

ADMIN_ROUTES = [
    ("GET", "/users"),
    ("GET", "/users/{id}"),
    ("PATCH", "/users/{id}"),
    ("DELETE", "/users/{id}"),
]


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
async def test_admin_routes_are_401_anonymous_and_403_for_users(
    client: httpx.AsyncClient, app: FastAPI, method: str, path: str
) -> None:
    target, headers = await signed_up_headers(client)
    url = API + path.format(id=target["id"])
    body = {"json": {"full_name": "x"}} if method == "PATCH" else {}
    assert (await client.request(method, url, **body)).status_code == 401
    response = await client.request(method, url, headers=headers, **body)
    assert response.status_code == 403
    assert response.json() == {"detail": "This action needs an administrator."}
    assert (
        await count_rows(app, users, users.c.id == target["id"], users.c.full_name.is_(None)) == 1
    )


async def test_admin_lists_users_in_pages_with_a_total(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    for _ in range(4):
        await sign_up(client)
    response = await client.get(
        f"{API}/users", headers=admin_headers, params={"limit": 2, "offset": 1}
    )
    assert response.status_code == 200
    page = response.json()
    assert page["total"] == 5
    assert page["limit"] == 2
    assert page["offset"] == 1
    assert len(page["items"]) == 2
    assert "hashed_password" not in response.text

    everyone = await client.get(f"{API}/users", headers=admin_headers, params={"count": "none"})
    assert everyone.json()["total"] is None
    assert everyone.json()["next_cursor"] is None
    ids = [user["id"] for user in everyone.json()["items"]]
    assert ids == sorted(ids)
    assert len(ids) == 5
    assert [user["id"] for user in page["items"]] == ids[1:3]

    rest = await client.get(
        f"{API}/users", headers=admin_headers, params={"cursor": page["next_cursor"]}
    )
    assert [user["id"] for user in rest.json()["items"]] == ids[3:]
    assert rest.json()["offset"] is None
    assert rest.json()["total"] is None
    assert rest.json()["next_cursor"] is None


@pytest.mark.parametrize(
    "params", [{"limit": 0}, {"limit": 1001}, {"offset": -1}, {"count": "maybe"}]
)
async def test_bad_page_parameters_are_422(
    client: httpx.AsyncClient, admin_headers: dict[str, str], params: dict[str, object]
) -> None:
    response = await client.get(f"{API}/users", headers=admin_headers, params=params)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][0] == "query"


async def test_admin_reads_updates_and_deletes_a_user(
    client: httpx.AsyncClient, app: FastAPI, admin_headers: dict[str, str]
) -> None:
    user = await sign_up(client)
    url = f"{API}/users/{user['id']}"
    assert (await client.get(url, headers=admin_headers)).json() == user
    response = await client.patch(
        url, headers=admin_headers, json={"is_admin": True, "profile": {"bio": "promoted"}}
    )
    assert response.status_code == 200
    assert response.json()["is_admin"] is True
    assert response.json()["profile"]["bio"] == "promoted"
    assert (await client.delete(url, headers=admin_headers)).status_code == 204
    assert await count_rows(app, users, users.c.id == user["id"]) == 0


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
async def test_unknown_user_id_is_404(
    client: httpx.AsyncClient, app: FastAPI, admin_headers: dict[str, str], method: str
) -> None:
    body = {"json": {"full_name": "x"}} if method == "PATCH" else {}
    response = await client.request(method, f"{API}/users/999999", headers=admin_headers, **body)
    assert response.status_code == 404
    assert response.json() == {"detail": "User not found."}
    assert await count_rows(app, users) == 1  # the admin only


async def test_admin_patch_to_a_taken_username_is_409_and_changes_nothing(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    first = await sign_up(client)
    second = await sign_up(client)
    url = f"{API}/users/{second['id']}"
    response = await client.patch(
        url, headers=admin_headers, json={"username": first["username"], "is_admin": True}
    )
    assert response.status_code == 409
    assert response.json() == {"detail": "A user with this username already exists."}
    assert (await client.get(url, headers=admin_headers)).json() == second
