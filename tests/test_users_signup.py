"""POST /users: sign-up, its failures, and that failures write nothing."""

from __future__ import annotations

import json

import httpx
import pytest
from fastapi import FastAPI

from keel.users.models import User, UserProfile
from tests.helpers import API, PASSWORD, count_rows, sign_up, user_payload

pytestmark = pytest.mark.anyio

users = User.__table__  # type: ignore[attr-defined]
profiles = UserProfile.__table__  # type: ignore[attr-defined]


async def test_sign_up_is_201_with_public_fields_only(client: httpx.AsyncClient) -> None:
    response = await client.post(
        f"{API}/users", json=user_payload(email="Ann@Example.COM", username="ann")
    )
    assert response.status_code == 201
    body = response.json()
    assert body["email"] == "ann@example.com"
    assert body["username"] == "ann"
    assert body["is_active"] is True
    assert body["is_admin"] is False
    assert body["profile"] is None
    assert set(body) == {
        "id",
        "email",
        "username",
        "full_name",
        "is_active",
        "is_admin",
        "created_at",
        "profile",
    }
    assert PASSWORD not in response.text
    assert "argon2" not in response.text


async def test_sign_up_with_profile_creates_both_rows(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    profile = {"bio": "Sails.", "location": "Bergen", "website": "https://ann.example"}
    body = await sign_up(client, username="ann", full_name="Ann Sea", profile=profile)
    assert body["full_name"] == "Ann Sea"
    assert body["profile"] == {
        "bio": "Sails.",
        "location": "Bergen",
        "website": "https://ann.example/",
    }
    assert await count_rows(app, profiles, profiles.c.user_id == body["id"]) == 1


@pytest.mark.parametrize(
    ("field", "first", "second", "message"),
    [
        ("email", "same@example.com", "SAME@example.com", "A user with this email already exists."),
        ("username", "same_name", "same_name", "A user with this username already exists."),
    ],
)
async def test_duplicate_is_409_naming_the_field_and_writes_nothing(
    client: httpx.AsyncClient, app: FastAPI, field: str, first: str, second: str, message: str
) -> None:
    await sign_up(client, **{field: first})
    response = await client.post(
        f"{API}/users", json=user_payload(**{field: second}, profile={"bio": "second"})
    )
    assert response.status_code == 409
    assert response.json() == {"detail": message}
    assert await count_rows(app, users) == 1
    assert await count_rows(app, profiles) == 0


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"password": "short"}, "password"),
        ({"password": "x" * 129}, "password"),
        ({"email": "not-an-email"}, "email"),
        ({"username": "ab"}, "username"),
        ({"username": "has space"}, "username"),
        ({"username": "x" * 51}, "username"),
        ({"is_admin": True}, "is_admin"),
        ({"profile": {"website": "not a url"}}, "profile"),
        ({"profile": {"bio": "x" * 2001}}, "profile"),
        ({"full_name": "x" * 256}, "full_name"),
    ],
)
async def test_bad_input_is_422_naming_the_field_and_writes_nothing(
    client: httpx.AsyncClient, app: FastAPI, overrides: dict[str, object], field: str
) -> None:
    payload = user_payload(**overrides)
    response = await client.post(f"{API}/users", json=payload)
    assert response.status_code == 422
    errors = response.json()["detail"]
    assert any(error["loc"][:2] == ["body", field] for error in errors), errors
    assert await count_rows(app, users) == 0
    assert await count_rows(app, profiles) == 0


async def test_422_never_echoes_the_password(client: httpx.AsyncClient) -> None:
    secret = "hunter2!"  # too short: rejected, and must not come back
    payload = user_payload(password=secret, email="broken")
    response = await client.post(f"{API}/users", json=payload)
    assert response.status_code == 422
    assert secret not in response.text
    # A body that is not even an object: the whole input must not be echoed either.
    response = await client.post(
        f"{API}/users", content=json.dumps([payload]), headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert secret not in response.text


async def test_missing_fields_are_named(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{API}/users", json={})
    assert response.status_code == 422
    missing = {tuple(error["loc"]) for error in response.json()["detail"]}
    assert {("body", "email"), ("body", "username"), ("body", "password")} <= missing
