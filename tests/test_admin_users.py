"""/admin's users: no password hash on any page, not even in a form; activate,
deactivate and make admin; a password reset hashed by Keel's Argon2id hasher that
refuses the old password and older tokens; new users by the API's sign-up rules."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from keel.context import keel_context
from keel.users.models import User
from keel_db import KeelDB
from tests.admin_helpers import (
    ADMIN,
    admin_client,
    form_error,
    sign_in,
    signed_in,
    stored,
)
from tests.helpers import API, PASSWORD, count_rows, sign_up

pytestmark = pytest.mark.anyio

users = User.__table__  # type: ignore[attr-defined]
HASH = "$argon2"


async def api_token(client: httpx.AsyncClient, login: str, password: str) -> int:
    response = await client.post(
        f"{API}/auth/token", data={"username": login, "password": password}
    )
    return response.status_code


def user_form(user: dict[str, Any], **changes: str) -> dict[str, str]:
    """The edit form of ``user`` as a browser posts it: unchecked boxes are absent."""
    form = {"email": user["email"], "username": user["username"], "full_name": "", "save": "Save"}
    form.update({"is_active": "y"}, **changes)
    return {key: value for key, value in form.items() if value is not None}


# --- users ------------------------------------------------------------------------------


async def test_no_user_page_shows_a_hash(client: httpx.AsyncClient, app: FastAPI) -> None:
    await signed_in(client, app)
    user = await sign_up(client, full_name="Ada Lovelace")
    pages = [
        await client.get(f"{ADMIN}/user/list"),
        await client.get(f"{ADMIN}/user/list", params={"search": "ada"}),
        await client.get(f"{ADMIN}/user/details/{user['id']}"),
        await client.get(f"{ADMIN}/user/edit/{user['id']}"),
        await client.get(f"{ADMIN}/user/create"),
        await client.get(f"{ADMIN}/user/export/csv"),
        await client.get(f"{ADMIN}/user/export/json"),
    ]
    for page in pages:
        assert page.status_code == 200, page.url
        assert HASH not in page.text, page.url
        assert "hashed_password" not in page.text, page.url
    assert "Ada Lovelace" in pages[1].text
    # Sorting by the hash is not offered either.
    sorted_by_hash = await client.get(f"{ADMIN}/user/list", params={"sortBy": "hashed_password"})
    assert sorted_by_hash.status_code == 400


async def test_deactivate_and_activate(client: httpx.AsyncClient, app: FastAPI) -> None:
    await signed_in(client, app)
    user = await sign_up(client)
    url = f"{ADMIN}/user/edit/{user['id']}"
    off = await client.post(url, data=user_form(user, is_active=None))
    assert off.status_code == 302
    assert await stored(app, users, "is_active", user["id"]) is False
    assert await api_token(client, user["username"], PASSWORD) == 401
    on = await client.post(url, data=user_form(user))
    assert on.status_code == 302
    assert await stored(app, users, "is_active", user["id"]) is True
    assert await api_token(client, user["username"], PASSWORD) == 200


async def test_make_admin_lets_them_into_the_admin(client: httpx.AsyncClient, app: FastAPI) -> None:
    await signed_in(client, app)
    user = await sign_up(client)
    made = await client.post(f"{ADMIN}/user/edit/{user['id']}", data=user_form(user, is_admin="y"))
    assert made.status_code == 302
    assert await stored(app, users, "is_admin", user["id"]) is True
    async with admin_client(app) as browser:
        assert (await sign_in(browser, user["username"])).status_code == 302


async def test_a_password_reset_stores_an_argon2_hash_and_the_old_password_stops_working(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    await signed_in(client, app)
    user = await sign_up(client)
    old_token = await client.post(
        f"{API}/auth/token", data={"username": user["username"], "password": PASSWORD}
    )
    new_password = "a brand new passphrase"
    form = user_form(user, new_password=new_password)
    response = await client.post(f"{ADMIN}/user/edit/{user['id']}", data=form)
    assert response.status_code == 302
    hashed = await stored(app, users, "hashed_password", user["id"])
    assert hashed.startswith("$argon2id$")
    assert keel_context(app).passwords.verify(new_password, hashed)
    assert await api_token(client, user["username"], PASSWORD) == 401
    assert await api_token(client, user["username"], new_password) == 200
    # Tokens issued before the reset are refused, as after any password change.
    bearer = {"Authorization": f"Bearer {old_token.json()['access_token']}"}
    assert (await client.get(f"{API}/users/me", headers=bearer)).status_code == 401


async def test_an_edit_without_a_password_keeps_the_hash(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    await signed_in(client, app)
    user = await sign_up(client)
    before = await stored(app, users, "hashed_password", user["id"])
    form = user_form(user, full_name="New Name", new_password="")
    assert (await client.post(f"{ADMIN}/user/edit/{user['id']}", data=form)).status_code == 302
    assert await stored(app, users, "hashed_password", user["id"]) == before
    assert await stored(app, users, "full_name", user["id"]) == "New Name"


async def test_a_new_user_gets_a_hashed_password_never_a_typed_in_hash(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    await signed_in(client, app)
    form = {
        "email": "New@Example.com",
        "username": "newbie",
        "is_active": "y",
        "new_password": "their first password",
        # A hash typed in is no field of the form: it is ignored.
        "hashed_password": "$argon2id$v=19$m=8,t=1,p=1$forged$forged",
        "save": "Save",
    }
    response = await client.post(f"{ADMIN}/user/create", data=form)
    assert response.status_code == 302
    async with KeelDB.of(app).database.engine.connect() as connection:
        row = (await connection.execute(select(users).where(users.c.username == "newbie"))).one()
    assert row.email == "new@example.com"  # the API's rule: emails in lower case
    assert row.is_admin is False
    assert "forged" not in row.hashed_password
    assert keel_context(app).passwords.verify("their first password", row.hashed_password)
    assert await api_token(client, "newbie", "their first password") == 200


@pytest.mark.parametrize(
    ("changes", "sentence"),
    [
        ({"new_password": ""}, "password: Password should have at least 8 characters"),
        ({"new_password": "short"}, "password: Password should have at least 8 characters"),
        ({"username": "no spaces allowed"}, "username: String should match pattern"),
        ({"email": "not-an-email"}, "email: value is not a valid email address"),
    ],
)
async def test_a_new_user_the_api_would_refuse_is_refused_and_not_written(
    client: httpx.AsyncClient, app: FastAPI, changes: dict[str, str], sentence: str
) -> None:
    await signed_in(client, app)
    form = {"email": "x@example.com", "username": "newbie", "new_password": PASSWORD, **changes}
    response = await client.post(f"{ADMIN}/user/create", data={**form, "save": "Save"})
    assert response.status_code == 400
    error = form_error(response)
    assert error is not None
    assert error.startswith(sentence)
    assert PASSWORD not in response.text
    assert "short" not in (error or "")
    assert await count_rows(app, users) == 1


async def test_a_duplicate_username_shows_the_apis_sentence(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    await signed_in(client, app)
    user = await sign_up(client)
    form = user_form(user, username="root")
    response = await client.post(f"{ADMIN}/user/edit/{user['id']}", data=form)
    assert response.status_code == 400
    assert form_error(response) == "A user with this username already exists."
    assert await stored(app, users, "username", user["id"]) == user["username"]


async def test_a_deactivated_users_token_is_refused_at_once(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    """The admin's writes are units of work that tell keel_db's cache what they
    changed: the API's cached view of who is calling is forgotten at the commit."""
    await signed_in(client, app)
    user = await sign_up(client)
    token = await client.post(
        f"{API}/auth/token", data={"username": user["username"], "password": PASSWORD}
    )
    bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
    assert (await client.get(f"{API}/users/me", headers=bearer)).status_code == 200  # cached
    off = await client.post(f"{ADMIN}/user/edit/{user['id']}", data=user_form(user, is_active=None))
    assert off.status_code == 302
    assert (await client.get(f"{API}/users/me", headers=bearer)).status_code == 401
