"""What the /admin tests share: its paths and sentences, an administrator made as
operators make one, signing in, the error a page shows, a value read straight
from the database, and a client with cookies of its own."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from keel.context import keel_context
from keel.users.admin import create_admin
from keel_db import KeelDB
from tests.helpers import API, PASSWORD

ADMIN = "/admin"
BASE_URL = "http://keel.test"
BAD_LOGIN = "Incorrect username or password."
THROTTLED = "Too many failed sign-in attempts; try again later."


def make_admin(app: FastAPI, username: str = "root") -> int:
    """An administrator made as operators make one (``keel users create-admin``)."""
    settings = keel_context(app).settings
    return create_admin(
        settings, email=f"{username}@example.com", username=username, password=PASSWORD
    )


async def sign_in(
    client: httpx.AsyncClient, login: str, password: str = PASSWORD, **headers: str
) -> httpx.Response:
    return await client.post(
        f"{ADMIN}/login", data={"username": login, "password": password}, headers=headers
    )


def login_error(page: httpx.Response) -> str | None:
    """The sentence the login page shows, if any."""
    found = re.search(r'id="login-error">([^<]*)<', page.text)
    return found.group(1) if found else None


def form_error(page: httpx.Response) -> str | None:
    """The sentence above a create or edit form, if any."""
    found = re.search(r'class="alert alert-danger" role="alert">([^<]*)<', page.text)
    return found.group(1).strip() if found else None


async def stored(app: FastAPI, table: Any, name: str, row_id: int) -> Any:
    """One stored value, read straight from the database."""
    async with KeelDB.of(app).database.engine.connect() as connection:
        statement = select(table.c[name]).where(table.c.id == row_id)
        return (await connection.execute(statement)).scalar_one()


@asynccontextmanager
async def admin_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A browser of its own (its own cookies) on ``app``."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as browser:
        yield browser


async def signed_in(client: httpx.AsyncClient, app: FastAPI) -> httpx.AsyncClient:
    """``client`` signed in to /admin as a new administrator "root"."""
    make_admin(app)
    response = await sign_in(client, "root")
    assert response.status_code == 302, response.text
    return client


Headers = dict[str, str]


async def new_team(client: httpx.AsyncClient, headers: Headers, name: str) -> dict[str, Any]:
    response = await client.post(
        f"{API}/teams", json={"name": name, "headquarters": "HQ"}, headers=headers
    )
    assert response.status_code == 201, response.text
    team: dict[str, Any] = response.json()
    return team


async def join_heroes(
    client: httpx.AsyncClient, headers: Headers, team_id: int, names: range
) -> None:
    for n in names:
        hero = await client.post(
            f"{API}/heroes", json={"name": f"Hero {n}", "secret_name": "S"}, headers=headers
        )
        assert hero.status_code == 201, hero.text
        joined = await client.put(
            f"{API}/teams/{team_id}/heroes/{hero.json()['id']}",
            json={"is_training": n % 2 == 0},
            headers=headers,
        )
        assert joined.status_code in (200, 201), joined.text


async def only_id(app: FastAPI, model: Any) -> int:
    """The id of the one row of ``model``'s table (ids differ by database)."""
    async with KeelDB.of(app).database.engine.connect() as connection:
        return int((await connection.execute(select(model.__table__.c.id))).scalar_one())
