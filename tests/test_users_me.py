"""/users/me: read, change and delete one's own account."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from keel.users.models import User, UserProfile
from tests.helpers import API, PASSWORD, count_rows, signed_up_headers, token_for

pytestmark = pytest.mark.anyio

users = User.__table__  # type: ignore[attr-defined]
profiles = UserProfile.__table__  # type: ignore[attr-defined]


async def test_me_needs_a_token(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{API}/users/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_me_answers_the_callers_account(client: httpx.AsyncClient) -> None:
    user, headers = await signed_up_headers(client, profile={"location": "Oslo"})
    response = await client.get(f"{API}/users/me", headers=headers)
    assert response.status_code == 200
    assert response.json() == user


async def test_patch_me_changes_only_what_was_sent(client: httpx.AsyncClient) -> None:
    user, headers = await signed_up_headers(client, full_name="Old Name", profile={"bio": "old"})
    response = await client.patch(
        f"{API}/users/me",
        headers=headers,
        json={"full_name": "New Name", "profile": {"location": "Rome"}},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["full_name"] == "New Name"
    assert body["email"] == user["email"]
    assert body["profile"] == {"bio": "old", "location": "Rome", "website": None}


async def test_patch_me_creates_a_missing_profile(client: httpx.AsyncClient, app: FastAPI) -> None:
    user, headers = await signed_up_headers(client)
    response = await client.patch(
        f"{API}/users/me", headers=headers, json={"profile": {"bio": "hi"}}
    )
    assert response.status_code == 200
    assert response.json()["profile"]["bio"] == "hi"
    assert await count_rows(app, profiles, profiles.c.user_id == user["id"]) == 1


async def test_password_change_needs_the_current_password(client: httpx.AsyncClient) -> None:
    user, headers = await signed_up_headers(client)
    response = await client.patch(
        f"{API}/users/me", headers=headers, json={"password": "brand new pass"}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "current_password"]

    response = await client.patch(
        f"{API}/users/me",
        headers=headers,
        json={"password": "brand new pass", "current_password": "wrong password"},
    )
    assert response.status_code == 422
    assert "brand new pass" not in response.text
    assert "wrong password" not in response.text
    await token_for(client, user["username"], PASSWORD)  # the old password still works

    response = await client.patch(
        f"{API}/users/me",
        headers=headers,
        json={"password": "brand new pass", "current_password": PASSWORD},
    )
    assert response.status_code == 200
    await token_for(client, user["username"], "brand new pass")
    bad = await client.post(
        f"{API}/auth/token", data={"username": user["username"], "password": PASSWORD}
    )
    assert bad.status_code == 401


async def test_patch_me_to_a_taken_email_is_409_and_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    other, _ = await signed_up_headers(client)
    user, headers = await signed_up_headers(client, full_name="Kept")
    response = await client.patch(
        f"{API}/users/me", headers=headers, json={"email": other["email"], "full_name": "Changed"}
    )
    assert response.status_code == 409
    assert response.json() == {"detail": "A user with this email already exists."}
    me = (await client.get(f"{API}/users/me", headers=headers)).json()
    assert me["email"] == user["email"]
    assert me["full_name"] == "Kept"


@pytest.mark.parametrize(
    "body",
    [{"email": None}, {"username": "no spaces allowed"}, {"is_admin": True}, {"password": None}],
)
async def test_bad_patch_is_422_and_changes_nothing(
    client: httpx.AsyncClient, body: dict[str, object]
) -> None:
    user, headers = await signed_up_headers(client)
    response = await client.patch(f"{API}/users/me", headers=headers, json=body)
    assert response.status_code == 422
    assert (await client.get(f"{API}/users/me", headers=headers)).json() == user


async def test_delete_me_removes_the_user_and_profile(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    user, headers = await signed_up_headers(client, profile={"bio": "bye"})
    response = await client.delete(f"{API}/users/me", headers=headers)
    assert response.status_code == 204
    assert await count_rows(app, users, users.c.id == user["id"]) == 0
    assert await count_rows(app, profiles) == 0
    assert (await client.get(f"{API}/users/me", headers=headers)).status_code == 401
