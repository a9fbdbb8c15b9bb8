"""POST /auth/token and the bearer tokens it issues."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI

from keel.dependencies import get_now
from tests.helpers import API, PASSWORD, sign_up, signed_up_headers, token_for

pytestmark = pytest.mark.anyio

BAD_LOGIN = {"detail": "Incorrect username or password."}


async def test_token_by_username_or_email(client: httpx.AsyncClient) -> None:
    user = await sign_up(client)
    response = await client.post(
        f"{API}/auth/token", data={"username": user["username"], "password": PASSWORD}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert set(body) == {"access_token", "token_type", "expires_in"}
    await token_for(client, user["email"].upper())


@pytest.mark.parametrize("login", ["known", "nobody", "nobody@example.com"])
async def test_wrong_user_or_password_is_one_and_the_same_401(
    client: httpx.AsyncClient, login: str
) -> None:
    user = await sign_up(client)
    username = user["username"] if login == "known" else login
    response = await client.post(
        f"{API}/auth/token", data={"username": username, "password": "not the password"}
    )
    assert response.status_code == 401
    assert response.json() == BAD_LOGIN


async def test_token_request_without_form_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{API}/auth/token", data={"username": "x"})
    assert response.status_code == 422
    assert any(error["loc"] == ["body", "password"] for error in response.json()["detail"])


def _forge(token: str, **claims: object) -> str:
    header, payload, signature = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data.update(claims)
    forged = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def _alg_none(token: str) -> str:
    _, payload, _ = token.split(".")
    header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    return f"{header}.{payload}."


@pytest.mark.parametrize("mangle", ["tampered", "alg_none", "garbage", "other_key"])
async def test_bad_tokens_are_401(client: httpx.AsyncClient, mangle: str) -> None:
    import jwt

    other, _ = await signed_up_headers(client)
    user = await sign_up(client)
    token = await token_for(client, user["username"])
    bad = {
        "tampered": _forge(token, sub=str(other["id"])),
        "alg_none": _alg_none(token),
        "garbage": "not.a.token",
        "other_key": jwt.encode(
            {"sub": str(user["id"]), "type": "access", "iat": 1, "exp": 4102444800}, "k" * 40
        ),
    }[mangle]
    response = await client.get(f"{API}/users/me", headers={"Authorization": f"Bearer {bad}"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_expired_token_is_401_using_the_clock_dependency(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    _, headers = await signed_up_headers(client)
    assert (await client.get(f"{API}/users/me", headers=headers)).status_code == 200
    later = datetime.now(UTC) + timedelta(minutes=61)
    app.dependency_overrides[get_now] = lambda: later
    try:
        response = await client.get(f"{API}/users/me", headers=headers)
    finally:
        app.dependency_overrides.clear()
    assert response.status_code == 401


async def test_a_deactivated_user_can_neither_sign_in_nor_use_a_token(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    user, headers = await signed_up_headers(client)
    # Signed in and used, so the caller is cached: the deactivation must still count.
    assert (await client.get(f"{API}/tasks", headers=headers)).status_code == 200
    response = await client.patch(
        f"{API}/users/{user['id']}", headers=admin_headers, json={"is_active": False}
    )
    assert response.status_code == 200
    assert (await client.get(f"{API}/tasks", headers=headers)).status_code == 401
    assert (await client.get(f"{API}/users/me", headers=headers)).status_code == 401
    response = await client.post(
        f"{API}/auth/token", data={"username": user["username"], "password": PASSWORD}
    )
    assert response.status_code == 401
    assert response.json() == BAD_LOGIN


async def test_a_demoted_admin_loses_admin_routes_at_once(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    user, headers = await signed_up_headers(client)
    promote = await client.patch(
        f"{API}/users/{user['id']}", headers=admin_headers, json={"is_admin": True}
    )
    assert promote.status_code == 200
    assert (await client.get(f"{API}/users", headers=headers)).status_code == 200  # cached
    demote = await client.patch(
        f"{API}/users/{user['id']}", headers=admin_headers, json={"is_admin": False}
    )
    assert demote.status_code == 200
    assert (await client.get(f"{API}/users", headers=headers)).status_code == 403


async def test_a_deleted_user_token_is_refused_at_once(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    user, headers = await signed_up_headers(client)
    assert (await client.get(f"{API}/tasks", headers=headers)).status_code == 200
    deleted = await client.delete(f"{API}/users/{user['id']}", headers=admin_headers)
    assert deleted.status_code == 204
    assert (await client.get(f"{API}/tasks", headers=headers)).status_code == 401


async def test_a_password_change_ends_the_tokens_issued_before_it(
    client: httpx.AsyncClient,
) -> None:
    user, old = await signed_up_headers(client)
    assert (await client.get(f"{API}/tasks", headers=old)).status_code == 200  # cached
    changed = await client.patch(
        f"{API}/users/me",
        json={"password": "a brand new passphrase", "current_password": PASSWORD},
        headers=old,
    )
    assert changed.status_code == 200, changed.text
    assert (await client.get(f"{API}/tasks", headers=old)).status_code == 401
    token = await token_for(client, user["username"], "a brand new passphrase")
    new = {"Authorization": f"Bearer {token}"}
    assert (await client.get(f"{API}/tasks", headers=new)).status_code == 200
